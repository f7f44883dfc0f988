//! The questions the dataset and policy training ask about turns: the query split, which of its
//! turns the policy served and training has not seen, what training needs of one, and the
//! outcomes of the turns served under a generation.

use rusqlite::{params, Connection, OptionalExtension};

use crate::agent::AgentId;
use crate::store::StoreError;

/// The query split as a condition on `turns t` joined with `turn_scores sc`; `?1` is the
/// current generation. Export and policy training share this one definition.
const QUERY_SPLIT: &str = "t.generation = ?1 AND t.turn_type = 'main' AND t.status = 'ok'
    AND NOT EXISTS (SELECT 1 FROM candidate_support cs WHERE cs.turn_id = t.id)";

/// The policy answered the turn: it reported sampled tokens, or its adapter is on record.
const POLICY_SERVED: &str =
    "(t.policy_model IS NOT NULL OR EXISTS (SELECT 1 FROM turn_sampled ts WHERE ts.turn_id = t.id))";

/// The query split's turns under `generation` (scored, never support), newest first.
pub fn query_split(conn: &Connection, generation: i64, limit: u32) -> Result<Vec<i64>, StoreError> {
    let sql = format!(
        "SELECT t.id FROM turns t JOIN turn_scores sc ON sc.turn_id = t.id WHERE {QUERY_SPLIT}
         ORDER BY t.id DESC LIMIT ?2"
    );
    Ok(conn.prepare(&sql)?.query_map(params![generation, limit], |r| r.get(0))?.collect::<Result<_, _>>()?)
}

/// Query-split turns under `generation` the policy served and training has not looked at,
/// oldest first, at most `limit`.
pub fn trainable(conn: &Connection, generation: i64, limit: u32) -> Result<Vec<i64>, StoreError> {
    let sql = format!(
        "SELECT t.id FROM turns t JOIN turn_scores sc ON sc.turn_id = t.id
         WHERE {QUERY_SPLIT} AND {POLICY_SERVED} AND NOT EXISTS (SELECT 1 FROM train_samples x WHERE x.turn_id = t.id)
         ORDER BY t.id LIMIT ?2"
    );
    Ok(conn.prepare(&sql)?.query_map(params![generation, limit], |r| r.get(0))?.collect::<Result<_, _>>()?)
}

/// How many turns [`trainable`] would give without a limit.
pub fn trainable_count(conn: &Connection, generation: i64) -> Result<i64, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) FROM turns t JOIN turn_scores sc ON sc.turn_id = t.id
         WHERE {QUERY_SPLIT} AND {POLICY_SERVED} AND NOT EXISTS (SELECT 1 FROM train_samples x WHERE x.turn_id = t.id) AND ?2 = ?2"
    );
    Ok(conn.query_row(&sql, params![generation, 0], |r| r.get(0))?)
}

/// Query-split turns under `generation` another upstream than the policy answered.
pub fn not_policy_served_count(conn: &Connection, generation: i64) -> Result<i64, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) FROM turns t JOIN turn_scores sc ON sc.turn_id = t.id
         WHERE {QUERY_SPLIT} AND NOT {POLICY_SERVED} AND ?2 = ?2"
    );
    Ok(conn.query_row(&sql, params![generation, 0], |r| r.get(0))?)
}

/// A turn's score (0 when unscored), the tokens the policy sampled (JSON) and the adapter that
/// served it.
pub type PolicyFacts = (i64, Option<String>, Option<String>);

/// What training needs of a turn besides its messages (see [`PolicyFacts`]); `None` if the turn
/// is gone.
pub fn policy_facts(conn: &Connection, id: i64) -> Result<Option<PolicyFacts>, StoreError> {
    let mut q = conn.prepare_cached(
        "SELECT COALESCE(sc.score, 0), ts.tokens, t.policy_model FROM turns t
           LEFT JOIN turn_scores sc ON sc.turn_id = t.id LEFT JOIN turn_sampled ts ON ts.turn_id = t.id
         WHERE t.id = ?1",
    )?;
    Ok(q.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?)
}

/// The skills injected (JSON) and the score, if any, of every `main` turn served under
/// `generation`.
pub fn outcomes_under(
    conn: &Connection,
    generation: i64,
    agent: Option<&AgentId>,
) -> Result<Vec<(String, Option<i64>)>, StoreError> {
    let mut turns = conn.prepare_cached(
        "SELECT t.skills, sc.score FROM turns t LEFT JOIN turn_scores sc ON sc.turn_id = t.id
         WHERE t.generation = ?1 AND t.turn_type = 'main' AND (?2 IS NULL OR t.agent = ?2)",
    )?;
    let agent = agent.map(AgentId::as_str);
    let rows = turns
        .query_map(rusqlite::params![generation, agent], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
