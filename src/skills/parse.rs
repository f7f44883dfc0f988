//! SKILL.md parsing and validation, following the Agent Skills spec: YAML frontmatter with
//! `name` and `description` (required), `license`, `compatibility`, `allowed-tools` and a
//! string-to-string `metadata` map, plus MetaClaw's `agents` (the agents a skill is for; absent,
//! it is shared). Problems are reported with file, line and reason.

use std::collections::BTreeMap;
use std::fmt;

use super::front::{self, FrontError, Node};

use super::{Origin, Skill};
use crate::agent::AgentId;

pub const MAX_NAME: usize = 64;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_COMPATIBILITY: usize = 500;
/// Largest SKILL.md accepted; skills are short instructions, not documents.
pub const MAX_FILE_BYTES: usize = 128 * 1024;

/// A problem with one SKILL.md, located for the user.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// A parsed skill, or why it can't be used; warnings never stop a skill from loading.
#[derive(Debug)]
pub struct Parsed {
    pub skill: Result<Skill, Problem>,
    pub warnings: Vec<Problem>,
}

/// True for a valid skill name: 1–64 of `a-z`, `0-9` and single inner hyphens.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Splits `---\nfrontmatter\n---\nbody`. Returns (frontmatter, body, line where the body starts).
fn split(text: &str) -> Option<(&str, &str, usize)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" {
            let body = &rest[offset + line.len()..];
            return Some((&rest[..offset], body, i + 3));
        }
        offset += line.len();
    }
    None
}

/// Line (1-based, in the file) of a top-level frontmatter key, for messages.
fn key_line(front: &str, key: &str) -> Option<usize> {
    front.lines().position(|l| l.starts_with(&format!("{key}:"))).map(|i| i + 2)
}

/// Rewrites "line N" in a YAML error (counted from the frontmatter) to count from the file.
fn shift_lines(msg: &str, by: usize) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("line ") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

fn scalar(v: &Node) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Parses SKILL.md `text`. `folder` is the name of the directory holding it (must equal `name`);
/// `file` is used in messages only.
pub fn parse(text: &str, folder: &str, file: &str, origin: Origin) -> Parsed {
    let mut warnings = Vec::new();
    let problem = |line: Option<usize>, reason: String| Problem { file: file.to_string(), line, reason };
    let skill = (|| {
        if text.len() > MAX_FILE_BYTES {
            return Err(problem(
                None,
                format!("file is {} KiB; the limit is {} KiB", text.len() / 1024, MAX_FILE_BYTES / 1024),
            ));
        }
        let (front, body, _) = split(text).ok_or_else(|| {
            problem(
                Some(1),
                "no frontmatter: the file must start with a line `---`, then YAML, then a closing `---`".into(),
            )
        })?;
        let yaml = front::read(front).map_err(|e| match e {
            FrontError::TooLarge => problem(
                Some(2),
                format!(
                    "frontmatter expands to more than {} KiB (YAML anchors and aliases repeat text); write the values out",
                    front::BUDGET / 1024
                ),
            ),
            FrontError::TooDeep => problem(
                Some(2),
                format!("frontmatter nests more than {} levels deep; flatten it", front::MAX_DEPTH),
            ),
            FrontError::Yaml(e) => {
                let line = e.location().map(|l| l.line() + 1);
                problem(line, format!("frontmatter is not valid YAML: {}", shift_lines(&e.to_string(), 1)))
            }
        })?;
        let Node::Map(map) = yaml else {
            return Err(problem(Some(2), "frontmatter must be a YAML mapping of keys to values".into()));
        };
        let mut name = None;
        let mut description = None;
        let mut license = None;
        let mut compatibility = None;
        let mut allowed_tools = Vec::new();
        let mut metadata = BTreeMap::new();
        let mut legacy_category = None;
        let mut agents = Vec::new();
        for (k, v) in &map {
            let Some(key) = k.as_str() else {
                return Err(problem(Some(2), "frontmatter keys must be strings".into()));
            };
            let line = key_line(front, key);
            let need_str = |what: &str| scalar(v).ok_or_else(|| problem(line, format!("`{what}` must be a string")));
            match key {
                "name" => name = Some(need_str("name")?),
                "description" => description = Some(need_str("description")?),
                "license" => license = Some(need_str("license")?),
                "compatibility" => compatibility = Some(need_str("compatibility")?),
                "allowed-tools" => {
                    allowed_tools = match v {
                        Node::Scalar(s) => s.split_whitespace().map(str::to_string).collect(),
                        Node::Seq(items) => items
                            .iter()
                            .map(|i| {
                                scalar(i).ok_or_else(|| problem(line, "`allowed-tools` entries must be strings".into()))
                            })
                            .collect::<Result<_, _>>()?,
                        _ => return Err(problem(line, "`allowed-tools` must be a string or a list of strings".into())),
                    }
                }
                "metadata" => {
                    let Node::Map(m) = v else {
                        return Err(problem(line, "`metadata` must be a mapping of strings to strings".into()));
                    };
                    for (mk, mv) in m {
                        let (Some(mk), Some(mv)) = (scalar(mk), scalar(mv)) else {
                            return Err(problem(line, "`metadata` values must be strings".into()));
                        };
                        metadata.insert(mk, mv);
                    }
                }
                "agents" => agents = parse_agents(v).map_err(|reason| problem(line, reason))?,
                "category" => {
                    legacy_category = scalar(v);
                    warnings.push(problem(
                        line,
                        "top-level `category` is not in the Agent Skills spec; read as `metadata.category`".into(),
                    ));
                }
                other => warnings.push(problem(line, format!("unknown frontmatter key `{other}` ignored"))),
            }
        }
        let name = name.ok_or_else(|| problem(Some(2), "`name` is required".into()))?;
        let name_line = key_line(front, "name");
        if !valid_name(&name) {
            return Err(problem(
                name_line,
                format!("name {name:?} must be 1-{MAX_NAME} lowercase letters, digits and single hyphens, not starting or ending with one"),
            ));
        }
        if name != folder {
            return Err(problem(name_line, format!("name {name:?} must equal its folder name {folder:?}")));
        }
        let description = description.map(|d| d.trim().to_string()).unwrap_or_default();
        let desc_line = key_line(front, "description");
        if description.is_empty() {
            return Err(problem(
                desc_line.or(Some(2)),
                "`description` is required: say what the skill does and when to use it".into(),
            ));
        }
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(problem(
                desc_line,
                format!("description has {} characters; the limit is {MAX_DESCRIPTION}", description.chars().count()),
            ));
        }
        if compatibility.as_ref().is_some_and(|c| c.chars().count() > MAX_COMPATIBILITY) {
            return Err(problem(
                key_line(front, "compatibility"),
                format!("compatibility is longer than {MAX_COMPATIBILITY} characters"),
            ));
        }
        if let Some(c) = legacy_category {
            metadata.entry("category".into()).or_insert(c);
        }
        let body = body.trim().to_string();
        if body.is_empty() {
            warnings.push(problem(None, "the skill has no instructions below the frontmatter".into()));
        }
        let skill = Skill::new(name, description, body, license, compatibility, allowed_tools, metadata, origin);
        Ok(if agents.is_empty() { skill } else { skill.with_agents(agents) })
    })();
    Parsed { skill, warnings }
}

/// The `agents:` scope: one name or a list of names (an empty list is shared, like no key).
fn parse_agents(v: &Node) -> Result<Vec<AgentId>, String> {
    let names: Vec<&Node> = match v {
        Node::Null => Vec::new(),
        Node::Scalar(_) => vec![v],
        Node::Seq(items) => items.iter().collect(),
        _ => return Err("`agents` must be an agent name or a list of them".into()),
    };
    names
        .into_iter()
        .map(|n| {
            let name = n.as_str().ok_or("`agents` entries must be agent names")?;
            AgentId::parse(name).map_err(|e| format!("`agents`: {name:?}: {e}"))
        })
        .collect()
}

/// Renders a skill back to SKILL.md text (spec fields, `category` in `metadata`, and MetaClaw's
/// `agents` scope when it has one).
pub fn render(skill: &Skill) -> String {
    #[derive(serde::Serialize)]
    struct Front<'a> {
        name: &'a str,
        description: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        license: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        compatibility: Option<&'a str>,
        #[serde(rename = "allowed-tools", skip_serializing_if = "Vec::is_empty")]
        allowed_tools: &'a Vec<String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        metadata: &'a BTreeMap<String, String>,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        agents: &'a [AgentId],
    }
    let front = Front {
        name: &skill.name,
        description: &skill.description,
        license: skill.license.as_deref(),
        compatibility: skill.compatibility.as_deref(),
        allowed_tools: &skill.allowed_tools,
        metadata: &skill.metadata,
        agents: &skill.agents,
    };
    let yaml = serde_yaml_ng::to_string(&front).expect("frontmatter serialises");
    format!("---\n{yaml}---\n\n{}\n", skill.body.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str, folder: &str) -> Parsed {
        parse(text, folder, "skills/x/SKILL.md", Origin::User)
    }

    #[test]
    fn valid_skill_with_all_fields() {
        let text = "---\nname: tidy-files\ndescription: \"Use when: tidying\"\nlicense: MIT\nallowed-tools: Bash Read\nmetadata:\n  category: automation\n  generation: 3\n---\n\n# Tidy\n1. do it\n";
        let r = p(text, "tidy-files");
        let s = r.skill.unwrap();
        assert_eq!(s.name, "tidy-files");
        assert_eq!(s.description, "Use when: tidying");
        assert_eq!(s.category(), "automation");
        assert_eq!(s.metadata["generation"], "3");
        assert_eq!(s.allowed_tools, vec!["Bash", "Read"]);
        assert_eq!(s.body, "# Tidy\n1. do it");
        assert!(r.warnings.is_empty());
        // Rendering and parsing again gives the same skill.
        let again = p(&render(&s), "tidy-files").skill.unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn reference_style_category_loads_with_a_warning() {
        let r = p("---\nname: a\ndescription: d\ncategory: coding\n---\nbody\n", "a");
        assert_eq!(r.skill.unwrap().category(), "coding");
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].line, Some(4));
        assert!(r.warnings[0].reason.contains("metadata.category"));
    }

    #[test]
    fn problems_name_the_line_and_reason() {
        let cases: &[(&str, &str, Option<usize>, &str)] = &[
            ("no frontmatter", "a", Some(1), "no frontmatter"),
            ("---\nname: a\n", "a", Some(1), "no frontmatter"),
            ("---\nname: a\ndescription: [unclosed\n---\n", "a", Some(4), "flow sequence at line 3"),
            ("---\n- a\n---\n", "a", Some(2), "mapping"),
            ("---\ndescription: d\n---\n", "a", Some(2), "`name` is required"),
            ("---\nname: Bad_Name\ndescription: d\n---\n", "Bad_Name", Some(2), "lowercase"),
            ("---\nname: a--b\ndescription: d\n---\n", "a--b", Some(2), "single hyphens"),
            ("---\nname: -a\ndescription: d\n---\n", "-a", Some(2), "lowercase"),
            ("---\nname: ../../etc\ndescription: d\n---\n", "etc", Some(2), "lowercase"),
            ("---\nname: other\ndescription: d\n---\n", "a", Some(2), "folder name"),
            ("---\nname: a\n---\n", "a", Some(2), "`description` is required"),
            ("---\nname: a\ndescription: d\nmetadata: [1]\n---\n", "a", Some(4), "metadata"),
            ("---\nname: a\ndescription: {x: 1}\n---\n", "a", Some(3), "must be a string"),
        ];
        for (text, folder, line, needle) in cases {
            let err = p(text, folder).skill.unwrap_err();
            assert!(err.reason.contains(needle), "{text:?}: {err}");
            assert_eq!(err.line, *line, "{text:?}: {err}");
            assert_eq!(err.file, "skills/x/SKILL.md");
        }
        let long = format!("---\nname: a\ndescription: {}\n---\nb", "x".repeat(MAX_DESCRIPTION + 1));
        assert!(p(&long, "a").skill.unwrap_err().reason.contains("limit is 1024"));
        let huge = format!("---\nname: a\ndescription: d\n---\n{}", "x".repeat(MAX_FILE_BYTES));
        assert!(p(&huge, "a").skill.unwrap_err().reason.contains("KiB"));
    }

    #[test]
    fn unknown_keys_warn_and_code_blocks_with_dashes_in_the_body_survive() {
        let r = p("---\nname: a\ndescription: d\nversion: 2\n---\n```\n---\nx: 1\n---\n```\n", "a");
        assert!(r.skill.unwrap().body.contains("x: 1"));
        assert!(r.warnings[0].reason.contains("version"));
    }

    #[test]
    fn an_agents_key_scopes_the_skill_and_survives_rendering() {
        let s = p("---\nname: a\ndescription: d\nagents: [codex, Claude-Code, codex]\n---\nbody\n", "a").skill.unwrap();
        let names: Vec<&str> = s.agents.iter().map(|a| a.as_str()).collect();
        assert_eq!(names, ["claude-code", "codex"]);
        assert!(s.serves(&AgentId::parse("codex").unwrap()));
        assert!(!s.serves(&AgentId::parse("openclaw").unwrap()));
        assert!(!s.serves(&AgentId::UNKNOWN));
        let again = p(&render(&s), "a").skill.unwrap();
        assert_eq!(again, s);
        let one = p("---\nname: a\ndescription: d\nagents: openclaw\n---\nbody\n", "a").skill.unwrap();
        assert_eq!(one.agents, [AgentId::parse("openclaw").unwrap()]);
        // No key, or an empty list: shared, and rendered without the key.
        let shared = p("---\nname: a\ndescription: d\nagents: []\n---\nbody\n", "a").skill.unwrap();
        assert!(shared.agents.is_empty() && shared.serves(&AgentId::UNKNOWN));
        assert!(!render(&shared).contains("agents"));
        assert_ne!(s.hash, shared.hash, "the scope is part of the skill");
    }

    #[test]
    fn bad_agent_names_are_problems_on_their_line() {
        for (text, needle) in [
            ("---\nname: a\ndescription: d\nagents: [no_way]\n---\nb", "\"no_way\""),
            ("---\nname: a\ndescription: d\nagents: {x: 1}\n---\nb", "list"),
            ("---\nname: a\ndescription: d\nagents: [[x]]\n---\nb", "agent names"),
        ] {
            let err = p(text, "a").skill.unwrap_err();
            assert!(err.reason.contains(needle), "{text:?}: {err}");
            assert_eq!(err.line, Some(4), "{text:?}");
        }
    }

    #[test]
    fn names() {
        for ok in ["a", "a1", "tidy-files-2", &"x".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "A", "a_b", "a b", "-a", "a-", "a--b", "a/b", "..", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
