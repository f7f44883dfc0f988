//! The review queue's tables: candidates (proposed skills with their evidence, replay verdict,
//! delta edit and decision), their support (the failed turns each was learned from) and their
//! validation sets (`candidate_validation`: a verdict per replayed turn).

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::StoreError;
use crate::evolve::review::{Candidate, CandidateAction, CandidateStatus};
use crate::evolve::validate::{ValidationRole, ValidationSummary, ValidationTurn, ValidationVerdict};

/// A proposed skill to queue for review.
#[derive(Debug, Clone)]
pub struct NewCandidate {
    pub action: CandidateAction,
    pub name: String,
    pub description: String,
    pub category: String,
    pub rationale: String,
    /// The proposed SKILL.md.
    pub content: String,
    /// For edits: the SKILL.md it replaces.
    pub previous: Option<String>,
    /// For edits: the operations on `previous`'s body (JSON of `Vec<EditOp>`).
    pub ops: Option<String>,
    /// For edits: the hash of `previous` (see `evolve::ops::text_hash`).
    pub base_hash: Option<String>,
}

/// One verdict of a candidate's validation set.
#[derive(Debug, Clone)]
pub struct NewValidation {
    pub turn_id: i64,
    pub role: ValidationRole,
    pub verdict: ValidationVerdict,
    pub reason: Option<String>,
    pub answer: Option<String>,
}

/// Queues a candidate of run `run`, learned from `support`; `None` (nothing queued) when one
/// is already waiting under the same name.
pub(super) fn propose(
    c: &Connection,
    run: i64,
    now: i64,
    p: &NewCandidate,
    evidence: &str,
    support: &[i64],
) -> Result<Option<i64>, StoreError> {
    let waiting: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM candidates WHERE name = ?1 AND status = 'pending')",
        [&p.name],
        |r| r.get(0),
    )?;
    if waiting {
        return Ok(None);
    }
    c.execute(
        "INSERT INTO candidates(run_id, created_at, status, action, name, description, category, rationale, content, previous, evidence, ops, base_hash)
         VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            run,
            now,
            p.action,
            p.name,
            p.description,
            p.category,
            p.rationale,
            p.content,
            p.previous,
            evidence,
            p.ops,
            p.base_hash
        ],
    )?;
    let id = c.last_insert_rowid();
    for t in support {
        c.execute("INSERT OR IGNORE INTO candidate_support(candidate_id, turn_id) VALUES (?1, ?2)", params![id, t])?;
    }
    Ok(Some(id))
}

const COLS: &str = "id, run_id, created_at, status, action, name, description, category, rationale, content, previous, evidence, replay, decided_at, decided_by, reason, generation, ops, base_hash";

/// A candidate as stored; its flags and support are filled in by [`get`] and [`list`]'s callers.
fn row(r: &rusqlite::Row) -> rusqlite::Result<Candidate> {
    let evidence: String = r.get(11)?;
    let replay: Option<String> = r.get(12)?;
    let ops: Option<String> = r.get(17)?;
    Ok(Candidate {
        ops: ops.and_then(|o| serde_json::from_str(&o).ok()),
        base_hash: r.get(18)?,
        validation: None,
        removed_share: None,
        flags: Vec::new(),
        id: r.get(0)?,
        run_id: r.get(1)?,
        created_at: r.get(2)?,
        status: r.get(3)?,
        action: r.get(4)?,
        name: r.get(5)?,
        description: r.get(6)?,
        category: r.get(7)?,
        rationale: r.get(8)?,
        content: r.get(9)?,
        previous: r.get(10)?,
        evidence: serde_json::from_str(&evidence).unwrap_or(Value::Null),
        replay: replay.and_then(|r| serde_json::from_str(&r).ok()),
        decided_at: r.get(13)?,
        decided_by: r.get(14)?,
        reason: r.get(15)?,
        generation: r.get(16)?,
        support: Vec::new(),
        agents: Vec::new(),
        merges: Vec::new(),
    })
}

/// The turns a candidate was learned from, oldest first.
pub fn support(c: &Connection, id: i64) -> Result<Vec<i64>, StoreError> {
    let mut st = c.prepare_cached("SELECT turn_id FROM candidate_support WHERE candidate_id = ?1 ORDER BY turn_id")?;
    let rows = st.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The candidates turn `id` taught.
pub fn supported_by(c: &Connection, turn: i64) -> Result<Vec<i64>, StoreError> {
    let mut st =
        c.prepare_cached("SELECT candidate_id FROM candidate_support WHERE turn_id = ?1 ORDER BY candidate_id")?;
    let rows = st.query_map([turn], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Support turns of any candidate, newest first, at most `limit`.
pub fn support_turns(c: &Connection, limit: u32) -> Result<Vec<i64>, StoreError> {
    let mut st = c.prepare("SELECT DISTINCT turn_id FROM candidate_support ORDER BY turn_id DESC LIMIT ?1")?;
    let rows = st.query_map([limit], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One candidate, without flags.
pub fn get(c: &Connection, id: i64) -> Result<Option<Candidate>, StoreError> {
    Ok(c.query_row(&format!("SELECT {COLS} FROM candidates WHERE id = ?1"), [id], row).optional()?)
}

/// The newest 200 candidates, of one status or all, without flags.
pub fn list(c: &Connection, status: Option<CandidateStatus>) -> Result<Vec<Candidate>, StoreError> {
    let mut st = c.prepare(&format!(
        "SELECT {COLS} FROM candidates WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT 200"
    ))?;
    let rows = st.query_map([status], row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many candidates wait for review.
pub fn pending_count(c: &Connection) -> Result<i64, StoreError> {
    Ok(c.query_row("SELECT COUNT(*) FROM candidates WHERE status = 'pending'", [], |r| r.get(0))?)
}

/// The names of the newest 30 rejected candidates, with why.
pub fn rejected(c: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut st = c.prepare(
        "SELECT name, COALESCE(reason, '') FROM candidates WHERE status = 'rejected' ORDER BY id DESC LIMIT 30",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Stores a candidate's replay verdict (JSON).
pub fn set_replay(c: &Connection, id: i64, verdict: &str) -> Result<(), StoreError> {
    c.execute("UPDATE candidates SET replay = ?2 WHERE id = ?1", params![id, verdict])?;
    Ok(())
}

/// Marks a candidate approved by `by`, as the skill `name`, in library generation `generation`;
/// `note` (e.g. a rename) replaces the reason when given.
pub fn approve(
    c: &Connection,
    id: i64,
    by: &str,
    generation: i64,
    name: &str,
    note: Option<&str>,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE candidates SET status = 'approved', decided_at = ?2, decided_by = ?3, generation = ?4, name = ?5,
            reason = COALESCE(?6, reason) WHERE id = ?1",
        params![id, crate::clock::now_ms(), by, generation, name, note],
    )?;
    Ok(())
}

/// Records the user's rejection or deferral of a candidate, with why.
pub fn decide(c: &Connection, id: i64, status: CandidateStatus, reason: Option<&str>) -> Result<(), StoreError> {
    c.execute(
        "UPDATE candidates SET status = ?2, decided_at = ?3, decided_by = 'user', reason = ?4 WHERE id = ?1",
        params![id, status, crate::clock::now_ms(), reason],
    )?;
    Ok(())
}

/// Records one verdict of a candidate's validation set (a turn judged again replaces its verdict).
pub fn add_validation(c: &Connection, id: i64, v: &NewValidation) -> Result<(), StoreError> {
    c.execute(
        "INSERT OR REPLACE INTO candidate_validation(candidate_id, turn_id, role, verdict, reason, answer, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, v.turn_id, v.role, v.verdict, v.reason, v.answer, crate::clock::now_ms()],
    )?;
    Ok(())
}

/// Marks a candidate's validation set finished: every planned turn has its verdict, or
/// `unjudged` were left over, with `note` saying why.
pub fn finish_validation(c: &Connection, id: i64, unjudged: u32, note: Option<&str>) -> Result<(), StoreError> {
    let v = serde_json::json!({"unjudged": unjudged, "note": note, "complete": true}).to_string();
    c.execute("UPDATE candidates SET validation = ?2 WHERE id = ?1", params![id, v])?;
    Ok(())
}

/// A candidate's validation set: its verdicts, failed turns first then by turn, and the note on
/// what was left unjudged (`None` when it was never validated).
pub fn validation(c: &Connection, id: i64) -> Result<Option<ValidationSummary>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT turn_id, role, verdict, reason FROM candidate_validation WHERE candidate_id = ?1
         ORDER BY role = 'earlier', turn_id",
    )?;
    let turns = st
        .query_map([id], |r| {
            Ok(ValidationTurn { turn_id: r.get(0)?, role: r.get(1)?, verdict: r.get(2)?, reason: r.get(3)? })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let note: Option<String> =
        c.query_row("SELECT validation FROM candidates WHERE id = ?1", [id], |r| r.get(0)).optional()?.flatten();
    let mut summary = ValidationSummary::of(turns);
    if let Some(v) = note.and_then(|n| serde_json::from_str::<Value>(&n).ok()) {
        summary.unjudged = v["unjudged"].as_u64().unwrap_or(0) as u32;
        summary.note = v["note"].as_str().map(str::to_string);
        // Sets finished before this flag existed only carry a note when something was left over.
        summary.complete = v["complete"].as_bool().unwrap_or(summary.note.is_some());
    }
    if summary.turns.is_empty() && summary.unjudged == 0 {
        return Ok(None); // never validated, or nothing to validate
    }
    Ok(Some(summary))
}

/// Marks an open candidate stale (its edit no longer applies to the skill), with why.
pub fn mark_stale(c: &Connection, id: i64, reason: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE candidates SET status = 'stale', decided_at = ?2, decided_by = 'policy: stale', reason = ?3 WHERE id = ?1",
        params![id, crate::clock::now_ms(), reason],
    )?;
    Ok(())
}

/// Deletes every candidate, its support and its validation set.
pub(super) fn clear(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch("DELETE FROM candidate_validation; DELETE FROM candidate_support; DELETE FROM candidates;")?;
    Ok(())
}

/// When the first candidate was proposed (ms), if one was.
pub fn first_created_at(c: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row("SELECT created_at FROM candidates ORDER BY id LIMIT 1", [], |r| r.get(0)).optional()?)
}

/// Records the skills a merge candidate replaces.
pub fn set_merges(c: &Connection, id: i64, merges: &[String]) -> Result<(), StoreError> {
    let json = (!merges.is_empty()).then(|| serde_json::to_string(merges).expect("json"));
    c.execute("UPDATE candidates SET merges = ?2 WHERE id = ?1", params![id, json])?;
    Ok(())
}

/// The skills a merge candidate replaces (none for other candidates).
pub fn merges(c: &Connection, id: i64) -> Result<Vec<String>, StoreError> {
    let json: Option<String> = c
        .prepare_cached("SELECT merges FROM candidates WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evolve::validate::{ValidationRole as Role, ValidationVerdict as Verdict};

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        // Validation rows alone: the candidate and turns they point at are beside the point here.
        c.pragma_update(None, "foreign_keys", "OFF").unwrap();
        c
    }

    fn row(turn_id: i64, role: Role, verdict: Verdict) -> NewValidation {
        NewValidation { turn_id, role, verdict, reason: Some("because".into()), answer: None }
    }

    #[test]
    fn validation_verdicts_are_stored_in_their_words_and_read_back_typed() {
        let c = db();
        add_validation(&c, 1, &row(30, Role::Earlier, Verdict::Loss)).unwrap();
        add_validation(&c, 1, &row(20, Role::Failure, Verdict::Win)).unwrap();
        add_validation(&c, 1, &row(10, Role::Failure, Verdict::Error)).unwrap();
        add_validation(&c, 1, &row(40, Role::Earlier, Verdict::Tie)).unwrap();
        // The column values older builds wrote and read: no migration.
        let mut st = c.prepare("SELECT turn_id, role, verdict FROM candidate_validation ORDER BY turn_id").unwrap();
        let stored: Vec<(i64, String, String)> =
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap();
        let words = |t: i64, r: &str, v: &str| (t, r.to_string(), v.to_string());
        assert_eq!(
            stored,
            vec![
                words(10, "failure", "error"),
                words(20, "failure", "win"),
                words(30, "earlier", "loss"),
                words(40, "earlier", "tie")
            ]
        );

        let v = validation(&c, 1).unwrap().unwrap();
        let turns: Vec<_> = v.turns.iter().map(|t| (t.turn_id, t.role, t.verdict)).collect();
        assert_eq!(
            turns,
            vec![
                (10, Role::Failure, Verdict::Error),
                (20, Role::Failure, Verdict::Win),
                (30, Role::Earlier, Verdict::Loss),
                (40, Role::Earlier, Verdict::Tie)
            ],
            "failed turns first, then by turn"
        );
        assert_eq!((v.wins, v.ties, v.losses, v.errors), (1, 1, 1, 1));
        // The API's JSON keeps the same words.
        assert_eq!(
            serde_json::to_value(&v.turns[0]).unwrap(),
            serde_json::json!({"turn_id": 10, "role": "failure", "verdict": "error", "reason": "because"})
        );
    }

    #[test]
    fn an_unknown_stored_verdict_is_a_read_error_in_plain_words() {
        let c = db();
        // The schema's CHECK keeps such a word out; a database edited by hand could still hold one.
        c.pragma_update(None, "ignore_check_constraints", true).unwrap();
        c.execute(
            "INSERT INTO candidate_validation(candidate_id, turn_id, role, verdict, at) VALUES (1, 5, 'failure', 'draw', 0)",
            [],
        )
        .unwrap();
        let e = validation(&c, 1).unwrap_err().to_string();
        assert!(e.contains(r#""draw" is not one of win, tie, loss, error"#), "{e}");
    }
}
