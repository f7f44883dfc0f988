//! Delta edits: the evolver edits an existing skill with small operations on its current body
//! (add a step after an anchor line, replace a line, remove a line), each naming the line it
//! applies to, instead of rewriting the whole text. Applying them to a changed text either works
//! (every anchor is still there) or says which anchor is gone; a whole new body from a model that
//! ignored the contract is turned into the same operations by a line diff.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most operations one edit may carry.
pub const MAX_OPS: usize = 40;
/// Longest text (anchor or new line) one operation may carry, in bytes.
pub const MAX_OP_TEXT: usize = 2000;
/// Largest line diff (old lines × new lines) worked out for a whole-body edit.
const MAX_DIFF_CELLS: usize = 250_000;

/// One operation on a skill's body. An anchor is the text of a line of the current body
/// (compared with surrounding whitespace ignored; a unique line containing it also matches).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum EditOp {
    /// Adds `text` (one or more lines) after the line `after`, or at the end when `after` is absent.
    AddStep {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        after: Option<String>,
        text: String,
    },
    /// Replaces the line `anchor` with `text`.
    ReplaceLine { anchor: String, text: String },
    /// Removes the line `anchor`.
    RemoveLine { anchor: String },
}

impl EditOp {
    /// The line this operation applies to, if it names one.
    pub fn anchor(&self) -> Option<&str> {
        match self {
            Self::AddStep { after, .. } => after.as_deref(),
            Self::ReplaceLine { anchor, .. } | Self::RemoveLine { anchor } => Some(anchor),
        }
    }

    /// One readable line: `+ after "…": …`, `~ "…" → …`, `- "…"`.
    pub fn describe(&self) -> String {
        let short = |s: &str| {
            let s = s.trim();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s.to_string()
            }
        };
        match self {
            Self::AddStep { after: Some(a), text } => format!("+ after {:?}: {}", short(a), short(text)),
            Self::AddStep { after: None, text } => format!("+ at the end: {}", short(text)),
            Self::ReplaceLine { anchor, text } => format!("~ {:?} → {}", short(anchor), short(text)),
            Self::RemoveLine { anchor } => format!("- {:?}", short(anchor)),
        }
    }
}

/// Why operations could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    #[error("operation {index} names the line {anchor:?}, which the skill does not have (or has more than once)")]
    Anchor { index: usize, anchor: String },
    #[error("the edit has {0} operations; at most {MAX_OPS} are accepted")]
    TooMany(usize),
    #[error("operation {0} carries more than {MAX_OP_TEXT} bytes of text")]
    TooLong(usize),
    #[error("operation {0} has an empty anchor")]
    EmptyAnchor(usize),
}

/// The result of applying operations to a body.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The new body.
    pub text: String,
    /// Operations that changed nothing (a step already there, a line replaced by itself).
    pub noops: usize,
    /// Lines of the old body the operations removed.
    pub removed: usize,
}

impl Applied {
    /// Whether the body came out as it went in.
    pub fn unchanged(&self, before: &str) -> bool {
        norm(&self.text) == norm(before)
    }
}

/// The body with trailing whitespace of each line and surrounding blank lines taken off.
fn norm(text: &str) -> String {
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim().to_string()
}

/// The line an anchor names: the first whose trimmed text equals it, else the only one
/// containing it.
fn find(lines: &[String], anchor: &str) -> Option<usize> {
    let a = anchor.trim();
    if a.is_empty() {
        return None;
    }
    if let Some(i) = lines.iter().position(|l| l.trim() == a) {
        return Some(i);
    }
    let mut containing = lines.iter().enumerate().filter(|(_, l)| l.contains(a)).map(|(i, _)| i);
    match (containing.next(), containing.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}

/// Applies `ops` in order to `body`. An anchor that no line matches is an error: nothing is
/// forced.
pub fn apply(body: &str, ops: &[EditOp]) -> Result<Applied, OpError> {
    if ops.len() > MAX_OPS {
        return Err(OpError::TooMany(ops.len()));
    }
    let mut lines: Vec<String> = body.lines().map(str::to_string).collect();
    let (mut noops, mut removed) = (0, 0);
    for (index, op) in ops.iter().enumerate() {
        let texts = match op {
            EditOp::AddStep { after, text } => [after.as_deref().unwrap_or(""), text.as_str()],
            EditOp::ReplaceLine { anchor, text } => [anchor.as_str(), text.as_str()],
            EditOp::RemoveLine { anchor } => [anchor.as_str(), ""],
        };
        if texts.iter().any(|t| t.len() > MAX_OP_TEXT) {
            return Err(OpError::TooLong(index));
        }
        if op.anchor().is_some_and(|a| a.trim().is_empty()) {
            return Err(OpError::EmptyAnchor(index));
        }
        let at = |lines: &[String]| {
            let anchor = op.anchor().unwrap_or_default();
            find(lines, anchor).ok_or_else(|| OpError::Anchor { index, anchor: anchor.to_string() })
        };
        match op {
            EditOp::AddStep { after, text } => {
                let new: Vec<String> = text.lines().map(str::to_string).collect();
                let have: std::collections::HashSet<&str> = lines.iter().map(|l| l.trim()).collect();
                let already = new.iter().all(|n| n.trim().is_empty() || have.contains(n.trim()));
                let pos = match after {
                    Some(_) => at(&lines)? + 1,
                    None => lines.len(),
                };
                drop(have);
                if already {
                    noops += 1;
                    continue;
                }
                lines.splice(pos..pos, new);
            }
            EditOp::ReplaceLine { text, .. } => {
                let i = at(&lines)?;
                if lines[i].trim() == text.trim() {
                    noops += 1;
                    continue;
                }
                let new: Vec<String> = text.lines().map(str::to_string).collect();
                lines.splice(i..=i, new);
            }
            EditOp::RemoveLine { .. } => {
                let i = at(&lines)?;
                lines.remove(i);
                removed += 1;
            }
        }
    }
    Ok(Applied { text: lines.join("\n"), noops, removed })
}

/// Share (0..1) of the old body's non-blank lines that `removed` lines are.
pub fn removed_share(before: &str, removed: usize) -> f32 {
    let total = before.lines().filter(|l| !l.trim().is_empty()).count();
    if total == 0 {
        0.0
    } else {
        (removed as f32 / total as f32).min(1.0)
    }
}

/// The operations that turn `old` into `new` (a line diff), or why they can't: too large to
/// diff, or lines repeated so that anchors would be ambiguous. Checked by applying them.
pub fn diff(old: &str, new: &str) -> Result<Vec<EditOp>, String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if (a.len() + 1).saturating_mul(b.len() + 1) > MAX_DIFF_CELLS {
        return Err(format!(
            "the new text ({} lines against {}) is too large to turn into line edits",
            b.len(),
            a.len()
        ));
    }
    // Longest common subsequence of trimmed lines, from the ends.
    let eq = |i: usize, j: usize| a[i].trim() == b[j].trim();
    let w = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * w];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * w + j] =
                if eq(i, j) { lcs[(i + 1) * w + j + 1] + 1 } else { lcs[(i + 1) * w + j].max(lcs[i * w + j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    // The last line of the new text written so far: where the next insertion goes.
    let mut last: Option<&str> = None;
    // Lines to insert before the first old line (no anchor above them).
    let mut head: Vec<&str> = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && eq(i, j) {
            if !head.is_empty() {
                ops.push(EditOp::ReplaceLine {
                    anchor: a[i].to_string(),
                    text: format!("{}\n{}", head.join("\n"), b[j]),
                });
                head.clear();
            }
            if !b[j].trim().is_empty() {
                last = Some(b[j]);
            }
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            // An old line goes: replaced by the new line here when one is inserted at the same point.
            let replaced_by = (j < b.len() && lcs[(i + 1) * w + j + 1] == lcs[i * w + j]).then(|| b[j]);
            match replaced_by {
                Some(text) if !a[i].trim().is_empty() => {
                    ops.push(EditOp::ReplaceLine { anchor: a[i].to_string(), text: text.to_string() });
                    last = Some(text);
                    j += 1;
                }
                _ if a[i].trim().is_empty() => {} // blank lines are layout, not content
                _ => ops.push(EditOp::RemoveLine { anchor: a[i].to_string() }),
            }
            i += 1;
        } else {
            match last {
                _ if b[j].trim().is_empty() => {}
                Some(after) => {
                    ops.push(EditOp::AddStep { after: Some(after.to_string()), text: b[j].to_string() });
                    last = Some(b[j]);
                }
                None => head.push(b[j]),
            }
            j += 1;
        }
    }
    if !head.is_empty() {
        ops.push(EditOp::AddStep { after: None, text: head.join("\n") });
    }
    if ops.len() > MAX_OPS {
        return Err(format!("the new text differs in {} places; at most {MAX_OPS} line edits are accepted", ops.len()));
    }
    let applied = apply(old, &ops).map_err(|e| format!("the new text can't be expressed as line edits: {e}"))?;
    let content = |t: &str| t.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
    if content(&applied.text) != content(new) {
        return Err("the new text can't be expressed as line edits (its lines repeat, so anchors are ambiguous)".into());
    }
    Ok(ops)
}

/// The hash a delta records of the SKILL.md it applies to (hex, 16 bytes of SHA-256).
pub fn text_hash(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads an `ops` list as the evolver (or a stored candidate) wrote it.
pub fn parse(v: &serde_json::Value) -> Result<Vec<EditOp>, String> {
    let list = v.as_array().ok_or("`ops` is not a list")?;
    if list.len() > MAX_OPS {
        return Err(OpError::TooMany(list.len()).to_string());
    }
    list.iter()
        .enumerate()
        .map(|(i, o)| {
            serde_json::from_value::<EditOp>(o.clone())
                .map_err(|e| format!("operation {} is not an edit operation: {e}", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "# Timestamps\n\n1. Use ISO 8601.\n2. Never a bare local time.";

    fn add(after: Option<&str>, text: &str) -> EditOp {
        EditOp::AddStep { after: after.map(str::to_string), text: text.into() }
    }

    #[test]
    fn operations_apply_in_order_to_their_anchor_lines() {
        let ops = vec![
            add(Some("1. Use ISO 8601."), "2. Include seconds."),
            EditOp::ReplaceLine { anchor: "2. Never a bare local time.".into(), text: "3. Never a bare time.".into() },
            add(None, "4. Always +08:00."),
        ];
        let a = apply(BODY, &ops).unwrap();
        assert_eq!(
            a.text,
            "# Timestamps\n\n1. Use ISO 8601.\n2. Include seconds.\n3. Never a bare time.\n4. Always +08:00."
        );
        assert_eq!((a.noops, a.removed), (0, 0));
        // A unique line containing the anchor matches too; surrounding spaces don't matter.
        let a = apply(BODY, &[EditOp::RemoveLine { anchor: "  bare local ".into() }]).unwrap();
        assert_eq!(a.text, "# Timestamps\n\n1. Use ISO 8601.");
        assert_eq!(a.removed, 1);
    }

    #[test]
    fn a_missing_anchor_is_an_error_not_forced() {
        let e = apply(BODY, &[add(Some("3. Something else"), "x")]).unwrap_err();
        assert_eq!(e, OpError::Anchor { index: 0, anchor: "3. Something else".into() });
        // "." is in every line: ambiguous, so not applied.
        assert!(apply(BODY, &[EditOp::RemoveLine { anchor: ".".into() }]).is_err());
        assert_eq!(apply(BODY, &[EditOp::RemoveLine { anchor: " ".into() }]).unwrap_err(), OpError::EmptyAnchor(0));
    }

    #[test]
    fn noop_operations_are_counted_and_change_nothing() {
        let ops = vec![
            add(Some("# Timestamps"), "1. Use ISO 8601."),
            EditOp::ReplaceLine { anchor: "1. Use ISO 8601.".into(), text: " 1. Use ISO 8601. ".into() },
        ];
        let a = apply(BODY, &ops).unwrap();
        assert_eq!(a.noops, 2);
        assert!(a.unchanged(BODY));
    }

    #[test]
    fn a_whole_new_body_becomes_line_edits_that_reproduce_it() {
        let new = "# Timestamps\n\n1. Use ISO 8601 with seconds.\n2. Never a bare local time.\n3. Say the offset.";
        assert_eq!(
            diff(BODY, new).unwrap(),
            vec![
                EditOp::ReplaceLine { anchor: "1. Use ISO 8601.".into(), text: "1. Use ISO 8601 with seconds.".into() },
                add(Some("2. Never a bare local time."), "3. Say the offset."),
            ]
        );
        let lines =
            |t: &str| t.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect::<Vec<_>>();
        for new in [
            "Intro.\n# Timestamps\n1. Use ISO 8601.",
            "# Timestamps\n\nWrite this first.\n1. Use ISO 8601 with seconds.\n2. Never a bare local time.",
            "Something else entirely.",
            "",
        ] {
            let ops = diff(BODY, new).unwrap();
            assert_eq!(lines(&apply(BODY, &ops).unwrap().text), lines(new), "{ops:?}");
        }
        assert_eq!(diff(BODY, BODY).unwrap(), vec![]);
    }

    #[test]
    fn ops_json_has_the_documented_shape() {
        let v = serde_json::json!([
            {"op": "add_step", "after": "1. Use ISO 8601.", "text": "2. Seconds."},
            {"op": "add_step", "text": "3. End."},
            {"op": "replace_line", "anchor": "a", "text": "b"},
            {"op": "remove_line", "anchor": "c"}
        ]);
        let ops = parse(&v).unwrap();
        assert_eq!(ops[1], add(None, "3. End."));
        assert_eq!(serde_json::to_value(&ops).unwrap(), v);
        assert!(parse(&serde_json::json!([{"op": "rewrite", "text": "x"}])).unwrap_err().contains("operation 1"));
        assert!(parse(&serde_json::json!("x")).is_err());
    }

    #[test]
    fn removed_share_counts_non_blank_lines() {
        assert_eq!(removed_share(BODY, 2), 2.0 / 3.0);
        assert_eq!(removed_share("", 1), 0.0);
    }
}
