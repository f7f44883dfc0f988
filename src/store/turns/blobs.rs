//! Message blobs: the content hash of a JSON value (remembered by its shape, so a conversation
//! resent every turn is not serialised again) and storing a message or a request's settings as
//! a blob once.

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::store::StoreError;

/// Content hash used for message blobs and for session inference.
pub fn hash_json(v: &Value) -> (u128, String) {
    let text = serde_json::to_string(v).expect("JSON values serialise");
    (xxhash_rust::xxh3::xxh3_128(text.as_bytes()), text)
}

/// Content hashes already computed, by the value's shape: agents resend the whole conversation
/// (and the same tools and settings) every turn, so most blobs of a turn were hashed before and
/// need not be serialised again. A pure function of the content, so it never goes stale; bounded
/// by starting afresh when full.
static KNOWN_HASHES: std::sync::Mutex<Option<std::collections::HashMap<u128, u128>>> = std::sync::Mutex::new(None);

/// Most entries [`KNOWN_HASHES`] holds (32 bytes each).
const MAX_KNOWN_HASHES: usize = 4096;

fn known_hash(shape: u128) -> Option<u128> {
    KNOWN_HASHES.lock().ok()?.as_ref()?.get(&shape).copied()
}

fn remember_hash(shape: u128, hash: u128) {
    if let Ok(mut known) = KNOWN_HASHES.lock() {
        let known = known.get_or_insert_with(Default::default);
        if known.len() >= MAX_KNOWN_HASHES {
            known.clear();
        }
        known.insert(shape, hash);
    }
}

/// A 128-bit fingerprint of a JSON value's content without escaping it: every part tagged and
/// length-prefixed, keys in their order, so two values share it only if they serialise alike.
fn shape<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, len: usize) -> u128 {
    fn put(buf: &mut Vec<u8>, v: &Value) {
        match v {
            Value::Null => buf.push(0),
            Value::Bool(b) => buf.extend_from_slice(&[1, *b as u8]),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    buf.push(2);
                    buf.extend_from_slice(&u.to_le_bytes());
                } else if let Some(i) = n.as_i64() {
                    buf.push(3);
                    buf.extend_from_slice(&i.to_le_bytes());
                } else {
                    buf.push(4);
                    buf.extend_from_slice(&n.as_f64().unwrap_or_default().to_bits().to_le_bytes());
                }
            }
            Value::String(s) => put_str(buf, 5, s),
            Value::Array(a) => {
                buf.push(6);
                buf.extend_from_slice(&(a.len() as u64).to_le_bytes());
                a.iter().for_each(|x| put(buf, x));
            }
            Value::Object(m) => put_object(buf, m.iter(), m.len()),
        }
    }
    fn put_str(buf: &mut Vec<u8>, tag: u8, s: &str) {
        buf.push(tag);
        buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
    }
    fn put_object<'a>(buf: &mut Vec<u8>, entries: impl Iterator<Item = (&'a String, &'a Value)>, len: usize) {
        buf.push(7);
        buf.extend_from_slice(&(len as u64).to_le_bytes());
        for (k, v) in entries {
            put_str(buf, 8, k);
            put(buf, v);
        }
    }
    let mut buf = Vec::with_capacity(1024);
    put_object(&mut buf, entries, len);
    xxhash_rust::xxh3::xxh3_128(&buf)
}

/// The content hash of [`hash_json`], without serialising a message object seen before.
pub fn content_hash(v: &Value) -> u128 {
    let Value::Object(map) = v else { return hash_json(v).0 };
    let seen = shape(map.iter(), map.len());
    known_hash(seen).unwrap_or_else(|| {
        let h = hash_json(v).0;
        remember_hash(seen, h);
        h
    })
}

/// Stores `v` (an object's `entries`, `len` of them) as a blob unless stored already; its hash.
pub(super) fn put_blob<'a>(
    tx: &Connection,
    entries: impl Iterator<Item = (&'a String, &'a Value)> + Clone,
    len: usize,
) -> Result<String, StoreError> {
    let seen = shape(entries.clone(), len);
    if let Some(h) = known_hash(seen) {
        let hash = format!("{h:032x}");
        if tx.prepare_cached("SELECT 1 FROM blobs WHERE hash = ?1")?.exists(params![hash])? {
            return Ok(hash);
        }
    }
    let value = Value::Object(entries.map(|(k, v)| (k.clone(), v.clone())).collect());
    let (h, text) = hash_json(&value);
    remember_hash(seen, h);
    let hash = format!("{h:032x}");
    tx.prepare_cached("INSERT OR IGNORE INTO blobs(hash, body) VALUES (?1, ?2)")?.execute(params![hash, text])?;
    Ok(hash)
}

/// Stores one message (any JSON value) as a blob; its hash.
pub(super) fn put_message(tx: &Connection, m: &Value) -> Result<String, StoreError> {
    match m {
        Value::Object(map) => put_blob(tx, map.iter(), map.len()),
        other => {
            let (h, text) = hash_json(other);
            let hash = format!("{h:032x}");
            tx.prepare_cached("INSERT OR IGNORE INTO blobs(hash, body) VALUES (?1, ?2)")?
                .execute(params![hash, text])?;
            Ok(hash)
        }
    }
}

/// Deletes every message blob (after [`clear`](super::clear) and the sessions went).
pub(in crate::store) fn clear_blobs(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DELETE FROM blobs;")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OptionalExtension;
    use serde_json::json;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        c
    }

    fn stored(c: &Connection, hash: &str) -> Option<String> {
        c.query_row("SELECT body FROM blobs WHERE hash = ?1", [hash], |r| r.get(0)).optional().unwrap()
    }

    #[test]
    fn a_blob_seen_before_keeps_its_hash_and_is_stored_again_once_deleted() {
        let c = db();
        let m = json!({"role": "system", "content": "a prompt seen before \"quoted\" \u{e9}"});
        let want = format!("{:032x}", hash_json(&m).0);
        assert_eq!(put_message(&c, &m).unwrap(), want);
        assert_eq!(put_message(&c, &m).unwrap(), want, "remembered: the same hash");
        c.execute("DELETE FROM blobs", []).unwrap();
        assert_eq!(put_message(&c, &m).unwrap(), want);
        assert_eq!(stored(&c, &want), Some(hash_json(&m).1), "stored again after the blobs were cleared");
    }

    #[test]
    fn values_that_serialise_differently_never_share_a_remembered_hash() {
        let c = db();
        let values = [
            json!({"a": 1}),
            json!({"a": 1.0}),
            json!({"a": -1}),
            json!({"a": "1"}),
            json!({"a": null}),
            json!({"a": false}),
            json!({"a": [1, 2]}),
            json!({"a": [[1], 2]}),
            json!({"a": {"b": 1}}),
            json!({"a": 2, "b": 1}),
            json!({"b": 1, "a": 2}),
            json!({"ab": ""}),
            json!({"a": "b"}),
            json!("a bare string"),
        ];
        for _round in 0..2 {
            for v in &values {
                let want = format!("{:032x}", hash_json(v).0);
                assert_eq!(put_message(&c, v).unwrap(), want, "{v}");
                assert_eq!(stored(&c, &want), Some(hash_json(v).1), "{v}");
            }
        }
        for v in &values {
            assert_eq!(content_hash(v), hash_json(v).0, "{v}");
        }
        // The request's settings (everything but the messages) hash like the object without them.
        let req = json!({"model": "m", "messages": [], "tools": [{"name": "t"}], "stream": true});
        let map = req.as_object().unwrap();
        let rest = map.iter().filter(|(k, _)| k.as_str() != "messages");
        let want = json!({"model": "m", "tools": [{"name": "t"}], "stream": true});
        for _round in 0..2 {
            assert_eq!(put_blob(&c, rest.clone(), 3).unwrap(), format!("{:032x}", hash_json(&want).0));
        }
    }
}
