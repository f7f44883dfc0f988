//! The built-in skill bank: the repository's `skills/` folder, embedded in the binary.

use include_dir::{include_dir, Dir};

use super::parse::{parse, Parsed};
use super::Origin;

static BANK: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/skills");

/// Parses every built-in skill (problems here are bugs, caught by the tests).
pub fn load() -> Vec<Parsed> {
    let mut out: Vec<Parsed> = BANK
        .dirs()
        .filter_map(|d| {
            let folder = d.path().file_name()?.to_str()?;
            let file = d.get_file(d.path().join("SKILL.md"))?;
            let text = file.contents_utf8()?;
            Some(parse(text, folder, &format!("builtin:{folder}/SKILL.md"), Origin::Builtin))
        })
        .collect();
    out.sort_by(|a, b| a.skill.as_ref().map(|s| &s.name).ok().cmp(&b.skill.as_ref().map(|s| &s.name).ok()));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_skill_is_valid_and_there_are_at_least_forty() {
        let all = super::load();
        assert!(all.len() >= 40, "{} built-in skills", all.len());
        for p in &all {
            let s = p.skill.as_ref().unwrap_or_else(|e| panic!("{e}"));
            assert!(p.warnings.is_empty(), "{}: {:?}", s.name, p.warnings);
            assert!(s.metadata.contains_key("category"), "{} has no category", s.name);
            assert!(s.tokens() < 1200, "{} is {} tokens; keep built-ins concise", s.name, s.tokens());
        }
    }
}
