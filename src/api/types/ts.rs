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
        text.push_str(&T::decl(&cfg));
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

/// `index.ts`: every generated file, re-exported.
fn index(files: &[File]) -> String {
    let mut out = String::from(NOTE);
    out.push('\n');
    for f in files {
        out.push_str(&format!("export type * from \"./{}\";\n", f.name));
    }
    out
}
