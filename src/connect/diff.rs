//! Line diffs of small config files: a unified-style preview and a three-way merge (diff3).
//!
//! Lines keep their endings, so joining them gives back the exact bytes. The longest common
//! subsequence table is bounded ([`MAX_CELLS`]); beyond it the whole file counts as replaced.

/// Largest LCS table (lines × lines) computed; config files are far smaller.
const MAX_CELLS: usize = 4_000_000;
/// Lines of unchanged context around each change in a preview.
const CONTEXT: usize = 3;

/// Splits bytes into lines, each with its `\n` (the last one may have none).
pub fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

/// For each line of `a`, the index of the line of `b` it is matched with in a longest common
/// subsequence (increasing), or `None`.
fn matches(a: &[&[u8]], b: &[&[u8]]) -> Vec<Option<usize>> {
    let (n, m) = (a.len(), b.len());
    let mut out = vec![None; n];
    if n == 0 || m == 0 || n.saturating_mul(m) > MAX_CELLS {
        return out;
    }
    // suffix LCS lengths: t[i][j] = LCS(a[i..], b[j..]), stored row-major in one Vec.
    let w = m + 1;
    let mut t = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * w + j] =
                if a[i] == b[j] { t[(i + 1) * w + j + 1] + 1 } else { t[(i + 1) * w + j].max(t[i * w + j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            out[i] = Some(j);
            i += 1;
            j += 1;
        } else if t[(i + 1) * w + j] >= t[i * w + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// One line of an edit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Keep(usize),
    Del(usize),
    Add(usize),
}

fn script(a: &[&[u8]], b: &[&[u8]]) -> Vec<Op> {
    let m = matches(a, b);
    let mut ops = Vec::with_capacity(a.len() + b.len());
    let mut j = 0;
    for (i, mi) in m.iter().enumerate() {
        if let Some(k) = *mi {
            ops.extend((j..k).map(Op::Add));
            ops.push(Op::Keep(i));
            j = k + 1;
        } else {
            ops.push(Op::Del(i));
        }
    }
    ops.extend((j..b.len()).map(Op::Add));
    // Deletions before additions inside each run of changes reads better.
    let mut out = Vec::with_capacity(ops.len());
    let mut run: Vec<Op> = Vec::new();
    for op in ops {
        if let Op::Keep(_) = op {
            run.sort_by_key(|o| matches!(o, Op::Add(_)));
            out.append(&mut run);
            out.push(op);
        } else {
            run.push(op);
        }
    }
    run.sort_by_key(|o| matches!(o, Op::Add(_)));
    out.append(&mut run);
    out
}

fn show(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line);
    let s = s.strip_suffix('\n').unwrap_or(&s);
    s.strip_suffix('\r').unwrap_or(s).to_string()
}

/// A unified-style diff of `before` → `after` (`---`/`+++` header with `label`, `@@` hunks with
/// three lines of context). Empty when they are equal.
pub fn unified(label: &str, before: &[u8], after: &[u8]) -> String {
    if before == after {
        return String::new();
    }
    let (a, b) = (lines(before), lines(after));
    let ops = script(&a, &b);
    let changed: Vec<bool> = ops.iter().map(|o| !matches!(o, Op::Keep(_))).collect();
    let mut out = format!("--- {label}\n+++ {label} (connected)\n");
    let mut k = 0;
    while k < ops.len() {
        if !changed[k] {
            k += 1;
            continue;
        }
        let start = k.saturating_sub(CONTEXT);
        let mut end = k;
        // extend while another change starts within 2×CONTEXT
        loop {
            while end < ops.len() && changed[end] {
                end += 1;
            }
            let next = (end..ops.len().min(end + 2 * CONTEXT + 1)).find(|&x| changed[x]);
            match next {
                Some(x) => end = x,
                None => break,
            }
        }
        let stop = (end + CONTEXT).min(ops.len());
        let (mut a0, mut b0) = (None, None);
        let (mut na, mut nb) = (0, 0);
        for op in &ops[start..stop] {
            match *op {
                Op::Keep(i) => {
                    a0.get_or_insert(i);
                    na += 1;
                    nb += 1;
                }
                Op::Del(i) => {
                    a0.get_or_insert(i);
                    na += 1;
                }
                Op::Add(j) => {
                    b0.get_or_insert(j);
                    nb += 1;
                }
            }
        }
        let a_start = a0.map_or(0, |x| x + 1);
        let b_start = b0.or(a0).map_or(0, |x| x + 1);
        out.push_str(&format!("@@ -{a_start},{na} +{b_start},{nb} @@\n"));
        for op in &ops[start..stop] {
            match *op {
                Op::Keep(i) => out.push_str(&format!(" {}\n", show(a[i]))),
                Op::Del(i) => out.push_str(&format!("-{}\n", show(a[i]))),
                Op::Add(j) => out.push_str(&format!("+{}\n", show(b[j]))),
            }
        }
        k = stop;
    }
    out
}

/// Three-way merge: the changes from `base` to `ours` and from `base` to `theirs`, combined.
/// Where both changed the same lines differently, both versions are kept between conflict
/// markers. Returns the merged bytes and the number of conflicts.
pub fn merge3(base: &[u8], ours: &[u8], theirs: &[u8], ours_label: &str, theirs_label: &str) -> (Vec<u8>, usize) {
    let (o, a, b) = (lines(base), lines(ours), lines(theirs));
    let (ma, mb) = (matches(&o, &a), matches(&o, &b));
    let mut out = Vec::with_capacity(ours.len().max(theirs.len()));
    let mut conflicts = 0;
    let (mut i, mut x, mut y) = (0, 0, 0);
    loop {
        if i < o.len() && ma[i] == Some(x) && mb[i] == Some(y) {
            out.extend_from_slice(o[i]);
            i += 1;
            x += 1;
            y += 1;
            continue;
        }
        let next = (i..o.len()).find(|&k| ma[k].is_some() && mb[k].is_some());
        let (k, xe, ye) = match next {
            Some(k) => (k, ma[k].unwrap_or(a.len()), mb[k].unwrap_or(b.len())),
            None => (o.len(), a.len(), b.len()),
        };
        let (co, ca, cb) = (&o[i..k], &a[x..xe], &b[y..ye]);
        if ca == co {
            cb.iter().for_each(|l| out.extend_from_slice(l));
        } else if cb == co || ca == cb {
            ca.iter().for_each(|l| out.extend_from_slice(l));
        } else if let Some((pre, post)) = wraps(ca, co) {
            // One side only added lines next to lines the other side changed: keep both.
            pre.iter().chain(cb).chain(post).for_each(|l| out.extend_from_slice(l));
        } else if let Some((pre, post)) = wraps(cb, co) {
            pre.iter().chain(ca).chain(post).for_each(|l| out.extend_from_slice(l));
        } else {
            conflicts += 1;
            let mut side = |marker: String, ls: &[&[u8]]| {
                out.extend_from_slice(marker.as_bytes());
                for l in ls {
                    out.extend_from_slice(l);
                    if !l.ends_with(b"\n") {
                        out.push(b'\n');
                    }
                }
            };
            side(format!("<<<<<<< {ours_label}\n"), ca);
            side("=======\n".to_string(), &[]);
            side(String::new(), cb);
            out.extend_from_slice(format!(">>>>>>> {theirs_label}\n").as_bytes());
        }
        if k >= o.len() {
            break;
        }
        (i, x, y) = (k, xe, ye);
    }
    (out, conflicts)
}

/// A run of lines borrowed from a file's bytes.
type Run<'a, 'b> = &'a [&'b [u8]];

/// When `side` is `base` with lines added only before or only after it: those lines.
fn wraps<'a, 'b>(side: Run<'a, 'b>, base: &[&[u8]]) -> Option<(Run<'a, 'b>, Run<'a, 'b>)> {
    if base.is_empty() || side.len() <= base.len() {
        return None;
    }
    if side.starts_with(base) {
        return Some((&[], &side[base.len()..]));
    }
    if side.ends_with(base) {
        return Some((&side[..side.len() - base.len()], &[]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_shows_only_the_changed_lines_with_context() {
        let a = b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        let b = b"a\nb\nc\nd\ne\nF\ng\nh\ni\nj\nk\n";
        let d = unified("x", a, b);
        assert!(d.contains("-f\n+F\n"), "{d}");
        assert!(d.contains("+k\n"), "{d}");
        assert!(!d.contains(" a\n"), "context is limited: {d}");
        assert_eq!(unified("x", a, a), "");
    }

    #[test]
    fn unified_of_a_new_file_adds_every_line() {
        let d = unified("x", b"", b"one\ntwo");
        assert!(d.contains("@@ -0,0 +1,2 @@\n+one\n+two\n"), "{d}");
    }

    #[test]
    fn merge3_keeps_both_sides_changes_when_they_do_not_overlap() {
        let base = b"1\n2\n3\n4\n5\n6\n";
        let ours = b"1\n2x\n3\n4\n5\n6\n7\n"; // the user's edit
        let theirs = b"0\n1\n2\n3\n4\n5\n"; // the original
        let (m, c) = merge3(base, ours, theirs, "now", "original");
        assert_eq!(c, 0);
        assert_eq!(m, b"0\n1\n2x\n3\n4\n5\n7\n");
    }

    #[test]
    fn merge3_marks_overlapping_changes() {
        let (m, c) = merge3(b"a\nb\nc\n", b"a\nB1\nc\n", b"a\nB2\nc\n", "now", "original");
        assert_eq!(c, 1);
        assert_eq!(String::from_utf8(m).unwrap(), "a\n<<<<<<< now\nB1\n=======\nB2\n>>>>>>> original\nc\n");
    }

    #[test]
    fn merge3_of_unchanged_sides_is_exact() {
        let t = b"x\r\ny\r\nno newline";
        assert_eq!(merge3(t, t, t, "a", "b").0, t);
        assert_eq!(merge3(t, t, b"", "a", "b").0, b"");
        assert_eq!(merge3(b"", b"", t, "a", "b").0, t);
    }
}
