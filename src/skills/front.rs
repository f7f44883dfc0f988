//! Bounded reading of SKILL.md front matter: YAML into a small tree of strings, refused as soon
//! as its expanded size (anchors and aliases replayed) passes a fixed budget, so a few KiB of
//! aliases can never become gigabytes of nodes.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Visitor};

/// Most bytes the expanded front matter may take (each node counts [`NODE_COST`] plus its text).
pub const BUDGET: usize = 1 << 20;
/// What one node counts against [`BUDGET`] besides its text.
const NODE_COST: usize = 32;

/// The front matter as read: scalars kept as text (numbers and booleans as written).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// A value with a YAML tag (`!thing`); never a valid field.
    Tagged,
}

impl Node {
    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

/// Why the front matter could not be read.
#[derive(Debug)]
pub enum FrontError {
    /// Its expansion passed [`BUDGET`].
    TooLarge,
    /// Nested deeper than [`MAX_DEPTH`] (refused before the YAML parser sees it).
    TooDeep,
    /// Not valid YAML (the error carries the location).
    Yaml(serde_yaml_ng::Error),
}

/// Deepest nesting (flow `[`/`{` plus block indentation levels) front matter may use. The YAML
/// parser is quadratic in flow nesting depth and only reports its recursion limit after the
/// whole parse, so deeper text is refused by a linear pre-scan first.
pub const MAX_DEPTH: usize = 64;

/// Whether `front` nests deeper than [`MAX_DEPTH`]: one linear pass counting open flow
/// collections (outside quoted scalars and comments) and block indentation levels (each
/// deeper indent, and each compact `- ` / `? ` on a line, is a level).
pub fn too_deep(front: &str) -> bool {
    let mut flow: usize = 0;
    let mut indents: Vec<usize> = Vec::new();
    for line in front.lines() {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        if flow == 0 && !body.is_empty() && !body.starts_with('#') {
            while indents.last().is_some_and(|&top| top > indent) {
                indents.pop();
            }
            if indents.last().is_none_or(|&top| top < indent) {
                indents.push(indent);
            }
            let mut rest = body;
            let mut compact = 0;
            while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
                compact += 1;
                rest = r.trim_start_matches(' ');
            }
            if indents.len() + compact > MAX_DEPTH {
                return true;
            }
        }
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if prev == ' ' || prev == '\t' => break,
                    '"' | '\'' if matches!(prev, ' ' | '\t' | '[' | '{' | ',' | ':') => quote = Some(c),
                    '[' | '{' => {
                        flow += 1;
                        if flow > MAX_DEPTH {
                            return true;
                        }
                    }
                    ']' | '}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            prev = c;
        }
    }
    false
}

/// Reads `front` (the YAML between the `---` lines) within [`BUDGET`].
pub fn read(front: &str) -> Result<Node, FrontError> {
    if too_deep(front) {
        return Err(FrontError::TooDeep);
    }
    let state = State { spent: Cell::new(0), over: Cell::new(false) };
    let de = serde_yaml_ng::Deserializer::from_str(front);
    match Seed(&state).deserialize(de) {
        Ok(node) => Ok(node),
        Err(_) if state.over.get() => Err(FrontError::TooLarge),
        Err(e) => Err(FrontError::Yaml(e)),
    }
}

struct State {
    spent: Cell<usize>,
    over: Cell<bool>,
}

impl State {
    fn spend<E: de::Error>(&self, text: usize) -> Result<(), E> {
        let spent = self.spent.get().saturating_add(NODE_COST).saturating_add(text);
        self.spent.set(spent);
        if spent > BUDGET {
            self.over.set(true);
            return Err(E::custom("front matter expands past its size budget"));
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Seed<'a>(&'a State);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("YAML front matter")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.visit_string(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.visit_string(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.visit_string(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        self.visit_string(serde_yaml_ng::Number::from(v).to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.0.spend(v.len())?;
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        self.0.spend(v.len())?;
        Ok(Node::Scalar(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.0.spend(0)?;
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.0.spend(0)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.0.spend(0)?;
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        while let Some(k) = map.next_key_seed(self)? {
            if let Node::Scalar(s) = &k {
                if !seen.insert(s.clone()) {
                    return Err(de::Error::custom(format_args!("duplicate key `{s}`")));
                }
            }
            let v = map.next_value_seed(self)?;
            entries.push((k, v));
        }
        Ok(Node::Map(entries))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // A tagged value: read it within the budget, keep only that it was tagged.
        use de::VariantAccess;
        self.0.spend(0)?;
        let (_, variant): (de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant_seed(self)?;
        Ok(Node::Tagged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_sequences_and_maps_read_as_text() {
        let n = read("a: 1\nb: true\nc: [x, 2.5]\nd:\n  e: f\ng:\n").unwrap();
        let Node::Map(m) = n else { panic!() };
        assert_eq!(m[0], (Node::Scalar("a".into()), Node::Scalar("1".into())));
        assert_eq!(m[1].1, Node::Scalar("true".into()));
        assert_eq!(m[2].1, Node::Seq(vec![Node::Scalar("x".into()), Node::Scalar("2.5".into())]));
        assert_eq!(m[3].1, Node::Map(vec![(Node::Scalar("e".into()), Node::Scalar("f".into()))]));
        assert_eq!(m[4].1, Node::Null);
        assert_eq!(read("").unwrap(), Node::Null);
        assert_eq!(read("a: !x 1\n").unwrap(), Node::Map(vec![(Node::Scalar("a".into()), Node::Tagged)]));
    }

    #[test]
    fn small_aliases_are_fine_and_an_alias_bomb_is_refused_quickly() {
        let n = read("a: &x [1, 2]\nb: *x\n").unwrap();
        let Node::Map(m) = n else { panic!() };
        assert_eq!(m[0].1, m[1].1);
        // The findings' repro: 5000 scalars referenced 20000 times (100M nodes if expanded).
        let bomb = format!(
            "name: b\ndescription: d\nz: &a [{}]\nzz: [{}]\n",
            vec!["x"; 5000].join(", "),
            vec!["*a"; 20000].join(", ")
        );
        let t = std::time::Instant::now();
        assert!(matches!(read(&bomb), Err(FrontError::TooLarge)));
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
        // A long string replayed by aliases counts its length.
        let long = format!("a: &s \"{}\"\nb: [{}]\n", "y".repeat(100_000), vec!["*s"; 20].join(", "));
        assert!(matches!(read(&long), Err(FrontError::TooLarge)));
    }

    #[test]
    fn duplicate_keys_and_bad_yaml_are_errors_with_a_location() {
        assert!(matches!(read("a: 1\na: 2\n"), Err(FrontError::Yaml(_))));
        let Err(FrontError::Yaml(e)) = read("a: [unclosed\n") else { panic!() };
        assert!(e.location().is_some());
    }

    #[test]
    fn deep_nesting_is_refused_quickly_before_parsing() {
        // The reviewer's repro: 130k opening brackets took the parser many seconds.
        let t = std::time::Instant::now();
        let deep = format!("z: {}\n", "[".repeat(130_000));
        assert!(matches!(read(&deep), Err(FrontError::TooDeep)));
        let deep_map = format!("z: {}\n", "{a: ".repeat(1000));
        assert!(matches!(read(&deep_map), Err(FrontError::TooDeep)));
        let mut block = String::new();
        for i in 0..100 {
            block.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert!(matches!(read(&block), Err(FrontError::TooDeep)));
        let dashes = format!("a: \n{}x\n", "- ".repeat(100));
        assert!(matches!(read(&dashes), Err(FrontError::TooDeep)));
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
        // Ordinary nesting, and brackets inside quotes or comments, are fine.
        assert!(read(
            "a: [[1, 2], {b: [3]}]\nd: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n"
        )
        .is_ok());
        assert!(read(&format!("a: '{}'\n# {}\nb: 1\n", "{".repeat(200), "[".repeat(200))).is_ok());
        assert!(read("m:\n  n:\n    o:\n      - p\n      - q: r\n").is_ok());
    }
}
