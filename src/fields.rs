//! Fields of the small JSON objects a turn is made of (a request body, a message, a content
//! part), found by comparing names rather than hashing them: with `preserve_order`, every
//! `Map::get` runs SipHash over the name, which for objects of a few keys costs more than reading
//! them all. Large objects are looked up by hash as usual.

use serde_json::{Map, Value};

/// Up to this many keys, a field is found by a scan.
const SCAN_UP_TO: usize = 12;

/// Looking up a field by name, the same answer as `get` (names in a JSON object are unique).
pub trait Fields {
    fn field(&self, key: &str) -> Option<&Value>;
}

impl Fields for Map<String, Value> {
    fn field(&self, key: &str) -> Option<&Value> {
        if self.len() <= SCAN_UP_TO {
            self.iter().find_map(|(k, v)| (k == key).then_some(v))
        } else {
            self.get(key)
        }
    }
}

impl Fields for Value {
    /// The field of an object; `None` for any other value, as `Value::get` answers.
    fn field(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.field(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_what_get_finds_in_small_and_large_objects() {
        let mut large = Map::new();
        for i in 0..40 {
            large.insert(format!("k{i}"), json!(i));
        }
        let small = json!({"role": "user", "content": "hi", "name": null});
        for key in ["role", "content", "name", "missing", ""] {
            assert_eq!(small.field(key), small.get(key), "{key}");
        }
        for key in ["k0", "k39", "k40", "missing"] {
            assert_eq!(large.field(key), large.get(key), "{key}");
        }
        assert_eq!(json!(["role"]).field("role"), None);
        assert_eq!(json!("role").field("role"), None);
    }
}
