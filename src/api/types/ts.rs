//! Renders API types into TypeScript files with ts-rs (test builds only): one file per resource,
//! imports between them, and a check that the checked-in files match.

use std::collections::BTreeMap;
use std::path::Path;

use ts_rs::{Config, TS};

/// The header of every generated file.
const NOTE: &str = "// Generated from the Rust types in src/api/types/ by ts-rs: do not edit by hand.\n\
// Regenerate with: METACLAW_WRITE_TS=1 cargo test --lib api::types\n";

fn config() -> Config {
    // JSON numbers: i64 counts and millisecond times are well inside 2^53.
    Config::new().with_large_int("number")
}

/// One declaration: its TS name, its text and the TS names it refers to.
struct Decl {
    name: String,
    text: String,
    deps: Vec<String>,
}

/// One generated file, `ui/src/api/generated/<name>.ts`.
pub struct File {
    name: &'static str,
    decls: Vec<Decl>,
}

impl File {
    pub fn new(name: &'static str) -> Self {
        Self { name, decls: Vec::new() }
    }

    /// Declares `T` in this file.
    pub fn add<T: TS + 'static + ?Sized>(&mut self) {
        let cfg = config();
        let mut text = T::docs().unwrap_or_default();
        text.push_str("export ");
        text.push_str(&pretty(&T::decl(&cfg)));
        let name = T::ident(&cfg);
        let deps = T::dependencies(&cfg).into_iter().map(|d| d.ts_name).filter(|d| *d != name).collect();
        self.decls.push(Decl { name, text, deps });
    }
}

/// Renders `files`, compares each with its checked-in copy in `dir` (writing it instead when
/// `write`), and returns what is stale or wrong: files that differ or are missing, files in `dir`
/// no resource generates, and types used but declared nowhere or twice.
pub fn check(dir: &Path, files: Vec<File>, write: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut home: BTreeMap<&str, &str> = BTreeMap::new();
    for f in &files {
        for d in &f.decls {
            if let Some(other) = home.insert(&d.name, f.name) {
                problems.push(format!("{} is declared in both {other}.ts and {}.ts", d.name, f.name));
            }
        }
    }
    for f in &files {
        let mut imports: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for d in &f.decls {
            for dep in &d.deps {
                match home.get(dep.as_str()) {
                    None => problems.push(format!(
                        "{} (used by {}) is in no generated file: list it in a resource's `typescript` function",
                        dep, d.name
                    )),
                    Some(&other) if other != f.name => imports.entry(other).or_default().push(dep),
                    Some(_) => {}
                }
            }
        }
        let mut out = String::from(NOTE);
        for (from, mut names) in imports {
            names.sort_unstable();
            names.dedup();
            out.push_str(&format!("import type {{ {} }} from \"./{from}\";\n", names.join(", ")));
        }
        for d in &f.decls {
            out.push('\n');
            out.push_str(&d.text);
            out.push('\n');
        }
        let path = dir.join(format!("{}.ts", f.name));
        if write {
            if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, &out)) {
                problems.push(format!("cannot write {}: {e}", path.display()));
            }
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(out.as_str()) {
            problems.push(format!("{}.ts", f.name));
        }
    }
    let index = index(&files);
    let path = dir.join("index.ts");
    if write {
        let _ = std::fs::write(&path, &index);
    } else if std::fs::read_to_string(&path).ok().as_deref() != Some(index.as_str()) {
        problems.push("index.ts".into());
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let generated = name == "index.ts" || files.iter().any(|f| format!("{}.ts", f.name) == name);
        if !generated {
            if write {
                let _ = std::fs::remove_file(entry.path());
            } else {
                problems.push(format!("{name} (no resource generates it any more)"));
            }
        }
    }
    problems
}

/// Lays a ts-rs declaration (`type X = …;`, all on one line with its doc comments inline) out the
/// way a person would write it: one member of a long union per line, one field of an object per
/// line with its doc comment above it; short types stay on one line.
fn pretty(decl: &str) -> String {
    let Some(eq) = decl.find(" = ") else { return decl.to_string() };
    let (head, rhs) = (&decl[..eq], decl[eq + 3..].trim_end());
    let rhs = rhs.strip_suffix(';').unwrap_or(rhs);
    let body = layout(rhs, 0);
    let gap = if body.starts_with('\n') { "" } else { " " };
    format!("{head} ={gap}{body};")
}

/// Width under which a type stays on one line.
const LINE: usize = 100;

fn layout(ty: &str, indent: usize) -> String {
    let ty = ty.trim();
    let pad = " ".repeat(indent);
    let members = split_top(ty, b'|');
    if members.len() > 1 {
        let one = members.iter().map(|m| layout(m, indent)).collect::<Vec<_>>().join(" | ");
        if one.len() + indent <= LINE && !one.contains('\n') {
            return one;
        }
        return members.iter().map(|m| format!("\n{pad}  | {}", layout(m, indent + 4))).collect();
    }
    if ty.starts_with('{') && ty.ends_with('}') && closing(ty) == Some(ty.len() - 1) {
        let fields: Vec<&str> =
            split_top(&ty[1..ty.len() - 1], b',').into_iter().map(str::trim).filter(|f| !f.is_empty()).collect();
        if fields.is_empty() {
            return "{}".into();
        }
        let laid: Vec<(Option<String>, String)> = fields
            .iter()
            .map(|f| {
                let (doc, field) = doc_comment(f);
                let field = match field.split_once(": ") {
                    Some((name, t)) => format!("{name}: {}", layout(t, indent + 2)),
                    None => field.to_string(),
                };
                (doc, field)
            })
            .collect();
        let one = format!("{{ {} }}", laid.iter().map(|(_, f)| f.as_str()).collect::<Vec<_>>().join(", "));
        if laid.iter().all(|(d, _)| d.is_none()) && one.len() + indent <= LINE && !one.contains('\n') {
            return one;
        }
        let mut out = String::from("{");
        for (doc, field) in laid {
            if let Some(doc) = doc {
                for line in doc.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let line = if line.starts_with('*') { format!(" {line}") } else { line.to_string() };
                    out.push_str(&format!("\n{pad}  {line}"));
                }
            }
            out.push_str(&format!("\n{pad}  {field},"));
        }
        out.push_str(&format!("\n{pad}}}"));
        return out;
    }
    ty.to_string()
}

/// A field's leading `/** … */`, if any, and the field after it.
fn doc_comment(field: &str) -> (Option<String>, &str) {
    match field.strip_prefix("/**").and_then(|rest| rest.find("*/").map(|end| (rest, end))) {
        Some((rest, end)) => (Some(format!("/**{}*/", &rest[..end])), rest[end + 2..].trim()),
        None => (None, field),
    }
}

/// Where the bracket opening `s` closes.
fn closing(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut found = None;
    scan(s, |i, b| {
        match b {
            b'{' | b'[' | b'(' | b'<' => depth += 1,
            b'}' | b']' | b')' | b'>' => {
                depth -= 1;
                if depth == 0 && found.is_none() {
                    found = Some(i);
                }
            }
            _ => {}
        }
        false
    });
    found
}

/// Splits `s` at `sep` where it is outside brackets, strings and comments.
fn split_top(s: &str, sep: u8) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    scan(s, |i, b| {
        match b {
            b'{' | b'[' | b'(' | b'<' => depth += 1,
            b'}' | b']' | b')' | b'>' => depth -= 1,
            _ if b == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        false
    });
    parts.push(&s[start..]);
    parts
}

/// Calls `f` with each byte of `s` that is code (not inside a string literal or a comment),
/// except `>` of `=>`.
fn scan(s: &str, mut f: impl FnMut(usize, u8) -> bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = s[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 1);
            }
            b'>' if i > 0 && b[i - 1] == b'=' => {}
            c => {
                if f(i, c) {
                    return;
                }
            }
        }
        i += 1;
    }
}

/// `index.ts`: every generated file, re-exported.
fn index(files: &[File]) -> String {
    let mut out = String::from(NOTE);
    out.push('\n');
    for f in files {
        out.push_str(&format!("export type * from \"./{}\";\n", f.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn long_unions_and_documented_objects_are_laid_out_one_item_per_line() {
        let decl = "type E = { \"type\": \"a\", n: number, } | { \"type\": \"b\", reason: string | null, detail: string, explanation: string, } | { \"type\": \"c\" };";
        assert_eq!(
            pretty(decl),
            "type E =\n  | { \"type\": \"a\", n: number }\n  | { \"type\": \"b\", reason: string | null, detail: string, explanation: string }\n  | { \"type\": \"c\" };"
        );
        let decl = "type H = { \n/**\n * The worst state, a | b.\n */\noverall: State, parts: Array<{ a: number, b: string }>, };";
        assert_eq!(
            pretty(decl),
            "type H = {\n  /**\n   * The worst state, a | b.\n   */\n  overall: State,\n  parts: Array<{ a: number, b: string }>,\n};"
        );
        assert_eq!(pretty("type S = \"ok\" | \"failed\";"), "type S = \"ok\" | \"failed\";");
        assert_eq!(pretty("type F = (x: number) => string;"), "type F = (x: number) => string;");
    }
}
