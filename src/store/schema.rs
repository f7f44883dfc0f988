//! The database schema and its migrations. `PRAGMA user_version` is the schema version; each
//! migration runs once, in order, inside a transaction.

use rusqlite::Connection;

use super::StoreError;

/// Migrations, oldest first. Never edit a released one: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: sessions, content-addressed message blobs, turns.
    r#"
    CREATE TABLE sessions (
        id         TEXT PRIMARY KEY,
        source     TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        last_at    INTEGER NOT NULL,
        turns      INTEGER NOT NULL DEFAULT 0,
        done_at    INTEGER
    );
    CREATE INDEX sessions_last_at ON sessions(last_at);

    -- Messages and request parameters are stored once by content hash, so a long conversation
    -- costs O(n) on disk, not O(n^2).
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );

    CREATE TABLE turns (
        id                INTEGER PRIMARY KEY,
        session_id        TEXT NOT NULL REFERENCES sessions(id),
        turn_index        INTEGER NOT NULL,
        turn_type         TEXT NOT NULL,
        protocol          TEXT NOT NULL,
        upstream          TEXT NOT NULL,
        model             TEXT,
        stream            INTEGER NOT NULL,
        started_at        INTEGER NOT NULL,
        finished_at       INTEGER NOT NULL,
        status            TEXT NOT NULL,
        http_status       INTEGER,
        error             TEXT,
        latency_ms        REAL NOT NULL,
        upstream_ms       REAL NOT NULL,
        overhead_ms       REAL NOT NULL,
        message_hashes    TEXT NOT NULL,
        params_hash       TEXT,
        response_text     TEXT,
        reasoning_text    TEXT,
        tool_calls        TEXT,
        finish_reason     TEXT,
        prompt_tokens     INTEGER,
        completion_tokens INTEGER,
        total_tokens      INTEGER,
        error_body        TEXT,
        skills            TEXT NOT NULL DEFAULT '[]',
        generation        INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX turns_session ON turns(session_id, turn_index);
    CREATE INDEX turns_started ON turns(started_at);
    "#,
    // 2: the skill library mirrored from disk, user choices, and library generations.
    r#"
    CREATE TABLE skills (
        name        TEXT PRIMARY KEY,
        origin      TEXT NOT NULL,
        category    TEXT NOT NULL,
        description TEXT NOT NULL,
        hash        TEXT NOT NULL,
        enabled     INTEGER NOT NULL,
        path        TEXT,
        updated_at  INTEGER NOT NULL
    );
    -- What the user switched off (kept even while the file is absent).
    CREATE TABLE skill_settings (
        name       TEXT PRIMARY KEY,
        enabled    INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    -- Every SKILL.md content that was ever active, by hash, so any generation can be restored.
    CREATE TABLE skill_versions (
        hash       TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        content    TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    -- A generation is one state of the set of active skills; the id never goes back.
    CREATE TABLE generations (
        id         INTEGER PRIMARY KEY,
        created_at INTEGER NOT NULL,
        reason     TEXT NOT NULL,
        changes    TEXT NOT NULL,
        active     TEXT NOT NULL
    );
    "#,
    // 3: cached skill embeddings, by skill content hash and model.
    r#"
    CREATE TABLE embeddings (
        hash   TEXT NOT NULL,
        model  TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (hash, model)
    );
    "#,
    // 4: upstream calls per turn (failover and retries).
    r#"
    ALTER TABLE turns ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
    "#,
    // 5: judging. Jobs are durable (a restart or an outage delays scoring, loses nothing); a
    // turn has at most one score, from the judge or (overriding it) from the user.
    r#"
    CREATE TABLE judge_jobs (
        turn_id    INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
        status     TEXT NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL,
        last_error TEXT,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX judge_jobs_due ON judge_jobs(status, not_before);
    CREATE TABLE turn_scores (
        turn_id    INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
        score      INTEGER NOT NULL,
        source     TEXT NOT NULL,
        votes      TEXT,
        reason     TEXT,
        note       TEXT,
        created_at INTEGER NOT NULL
    );
    "#,
    // 6: evolution. Runs record which failed turns they consumed; candidates wait for review
    // with their evidence; support links a candidate to the turns that taught it.
    r#"
    CREATE TABLE evolve_runs (
        id         INTEGER PRIMARY KEY,
        created_at INTEGER NOT NULL,
        trigger    TEXT NOT NULL,
        session_id TEXT,
        turns      TEXT NOT NULL,
        status     TEXT NOT NULL,
        error      TEXT,
        candidates INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE evolve_consumed (
        turn_id INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
        run_id  INTEGER NOT NULL REFERENCES evolve_runs(id)
    );
    CREATE TABLE candidates (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES evolve_runs(id),
        created_at  INTEGER NOT NULL,
        status      TEXT NOT NULL,
        action      TEXT NOT NULL,
        name        TEXT NOT NULL,
        description TEXT NOT NULL,
        category    TEXT NOT NULL,
        rationale   TEXT NOT NULL,
        content     TEXT NOT NULL,
        previous    TEXT,
        evidence    TEXT NOT NULL,
        replay      TEXT,
        decided_at  INTEGER,
        decided_by  TEXT,
        reason      TEXT,
        generation  INTEGER
    );
    CREATE INDEX candidates_status ON candidates(status);
    CREATE TABLE candidate_support (
        candidate_id INTEGER NOT NULL REFERENCES candidates(id),
        turn_id      INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        PRIMARY KEY (candidate_id, turn_id)
    );
    CREATE INDEX candidate_support_turn ON candidate_support(turn_id);
    "#,
    // 7: calendar accounts and their cached feeds (feed URLs are secrets: they live in the
    // keyring, keyed by `slug`), and the scheduler's job checkpoints and runs.
    r#"
    CREATE TABLE calendars (
        id            INTEGER PRIMARY KEY,
        slug          TEXT NOT NULL UNIQUE,
        name          TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('url', 'file', 'env')),
        display       TEXT NOT NULL,
        path          TEXT,
        owner         TEXT NOT NULL DEFAULT '',
        enabled       INTEGER NOT NULL DEFAULT 1,
        etag          TEXT,
        last_modified TEXT,
        body          TEXT,
        last_sync     INTEGER,
        last_error    TEXT,
        events        INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE job_state (
        name        TEXT PRIMARY KEY,
        checkpoint  TEXT,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE job_runs (
        id          INTEGER PRIMARY KEY,
        job         TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        outcome     TEXT,
        window      TEXT NOT NULL,
        detail      TEXT
    );
    CREATE INDEX job_runs_job ON job_runs(job, started_at);
    "#,
    // 8: policy training. The tokens the policy sampled for a turn (from the serving endpoint's
    // logprobs); training runs (one per scheduler window or manual start), their optimiser
    // steps with the checkpoints they saved, which turn went into which step (a turn is trained
    // at most once: `turn_id` is the key), and every change of the adapter being served.
    r#"
    CREATE TABLE turn_sampled (
        turn_id  INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
        tokens   TEXT NOT NULL
    );
    CREATE TABLE train_runs (
        id          INTEGER PRIMARY KEY,
        started_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        trigger     TEXT NOT NULL,
        window      TEXT NOT NULL,
        base_model  TEXT NOT NULL,
        model_id    TEXT,
        resumed_from TEXT,
        status      TEXT NOT NULL,
        detail      TEXT
    );
    CREATE TABLE train_steps (
        id           INTEGER PRIMARY KEY,
        run_id       INTEGER NOT NULL REFERENCES train_runs(id),
        started_at   INTEGER NOT NULL,
        ended_at     INTEGER,
        status       TEXT NOT NULL,
        batch_size   INTEGER NOT NULL,
        mean_reward  REAL,
        loss         REAL,
        tokens       INTEGER NOT NULL DEFAULT 0,
        cost_usd     REAL NOT NULL DEFAULT 0,
        duration_ms  INTEGER,
        state_path   TEXT,
        sampler_path TEXT,
        error        TEXT
    );
    CREATE INDEX train_steps_run ON train_steps(run_id);
    CREATE TABLE train_samples (
        turn_id    INTEGER PRIMARY KEY,
        step_id    INTEGER REFERENCES train_steps(id),
        status     TEXT NOT NULL CHECK (status IN ('batched', 'trained', 'skipped')),
        reason     TEXT,
        reward     REAL,
        advantage  REAL,
        tokens     INTEGER,
        at         INTEGER NOT NULL
    );
    CREATE INDEX train_samples_step ON train_samples(step_id);
    CREATE TABLE train_serving (
        id       INTEGER PRIMARY KEY,
        at       INTEGER NOT NULL,
        model    TEXT NOT NULL,
        step_id  INTEGER,
        reason   TEXT NOT NULL
    );
    "#,
    // 9: which adapter (or base model) the trained policy served a turn with, so its logprobs
    // can be computed later when the serving endpoint returned none.
    r#"
    ALTER TABLE turns ADD COLUMN policy_model TEXT;
    "#,
    // 10: a judge that answers without a score, or too slowly, fails loudly: what its last
    // attempt ended in, its raw answers, and how many answers had no score or timed out.
    r#"
    ALTER TABLE judge_jobs ADD COLUMN outcome TEXT;
    ALTER TABLE judge_jobs ADD COLUMN last_answer TEXT;
    ALTER TABLE judge_jobs ADD COLUMN unparseable INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE judge_jobs ADD COLUMN timed_out INTEGER NOT NULL DEFAULT 0;
    "#,
    // 11: small engine facts kept across restarts: `turn_ids_reserved` is the end of the block of
    // turn ids handed out (committed before any id in it leaves the process, so ids are never
    // reused, even after a crash).
    r#"
    CREATE TABLE meta (
        key    TEXT PRIMARY KEY,
        value  INTEGER NOT NULL
    );
    "#,
    // 12: calendar accounts of every kind (CalDAV, Google, Microsoft beside ICS addresses and
    // files): the accounts table is rebuilt to widen its `kind` check and gains the user, the
    // account's state and the CalDAV home; each account's calendars (the user ticks which count),
    // the CalDAV objects cached per calendar with their ETags, and the provider events cached per
    // calendar for a window. Passwords and tokens live in the keyring, never here.
    r#"
    CREATE TABLE calendars_v12 (
        id            INTEGER PRIMARY KEY,
        slug          TEXT NOT NULL UNIQUE,
        name          TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('url', 'file', 'env', 'caldav', 'google', 'microsoft')),
        display       TEXT NOT NULL,
        path          TEXT,
        owner         TEXT NOT NULL DEFAULT '',
        enabled       INTEGER NOT NULL DEFAULT 1,
        etag          TEXT,
        last_modified TEXT,
        body          TEXT,
        last_sync     INTEGER,
        last_error    TEXT,
        events        INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        user          TEXT,
        state         TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'error', 'sign_in_again')),
        server        TEXT
    );
    INSERT INTO calendars_v12(id, slug, name, kind, display, path, owner, enabled, etag, last_modified,
                              body, last_sync, last_error, events, created_at, state)
        SELECT id, slug, name, kind, display, path, owner, enabled, etag, last_modified,
               body, last_sync, last_error, events, created_at,
               CASE WHEN last_error IS NULL THEN 'ok' ELSE 'error' END
        FROM calendars;
    DROP TABLE calendars;
    ALTER TABLE calendars_v12 RENAME TO calendars;
    CREATE TABLE calendar_entries (
        id          INTEGER PRIMARY KEY,
        account_id  INTEGER NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,
        remote_id   TEXT NOT NULL,
        name        TEXT NOT NULL,
        color       TEXT,
        own         INTEGER NOT NULL,
        included    INTEGER NOT NULL,
        events      INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        last_sync   INTEGER,
        sync_token  TEXT,
        ctag        TEXT,
        UNIQUE (account_id, remote_id)
    );
    CREATE TABLE calendar_objects (
        entry_id  INTEGER NOT NULL REFERENCES calendar_entries(id) ON DELETE CASCADE,
        href      TEXT NOT NULL,
        etag      TEXT,
        ics       TEXT NOT NULL,
        PRIMARY KEY (entry_id, href)
    );
    CREATE TABLE calendar_events (
        entry_id   INTEGER NOT NULL REFERENCES calendar_entries(id) ON DELETE CASCADE,
        summary    TEXT NOT NULL,
        start_ms   INTEGER NOT NULL,
        end_ms     INTEGER NOT NULL,
        all_day    INTEGER NOT NULL,
        cancelled  INTEGER NOT NULL,
        show       TEXT NOT NULL,
        response   TEXT NOT NULL
    );
    CREATE INDEX calendar_events_entry ON calendar_events(entry_id, start_ms);
    "#,
    // 13: which agent sent each turn (by route, `X-Agent-Id` or user agent; earlier turns are
    // 'unknown'), and whether the client turned skill injection off for it.
    r#"
    ALTER TABLE turns ADD COLUMN agent TEXT NOT NULL DEFAULT 'unknown';
    ALTER TABLE turns ADD COLUMN inject_off INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX turns_agent ON turns(agent, id);
    "#,
    // 14: learning you can measure.
    // - Which skills a main turn carried, and which it would have matched but did not carry
    //   (held out, over the budget or top_k, disabled, not yet written), filled in the background
    //   from the turns (never on the request path); `skill_stats` is its per-day aggregate with
    //   the judged outcome, kept up to date as turns are scored, so statistics over 100,000
    //   turns are a read of a small table.
    // - The skills a turn had withheld from it for comparison (holdout), and how many matches
    //   each new skill version has seen.
    // - Skills the user pinned (immune to the curator and to holdout); the curator's archive.
    // - A candidate's validation set (wins, ties, losses against earlier turns), its delta edit
    //   and the skills a merge replaces.
    r#"
    ALTER TABLE turns ADD COLUMN held_out TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE skill_exposure (
        turn_id  INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        skill    TEXT NOT NULL,
        hash     TEXT,
        state    TEXT NOT NULL CHECK (state IN ('injected', 'held_out', 'budget', 'disabled', 'absent')),
        score    REAL NOT NULL,
        agent    TEXT NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (turn_id, skill)
    );
    CREATE INDEX skill_exposure_skill ON skill_exposure(skill, at);
    CREATE TABLE skill_stats (
        skill    TEXT NOT NULL,
        agent    TEXT NOT NULL,
        day      INTEGER NOT NULL,
        state    TEXT NOT NULL,
        turns    INTEGER NOT NULL DEFAULT 0,
        judged   INTEGER NOT NULL DEFAULT 0,
        wins     INTEGER NOT NULL DEFAULT 0,
        losses   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (skill, agent, day, state)
    );
    CREATE TABLE skill_holdout (
        skill    TEXT NOT NULL,
        hash     TEXT NOT NULL,
        matches  INTEGER NOT NULL DEFAULT 0,
        held_out INTEGER NOT NULL DEFAULT 0,
        since    INTEGER NOT NULL,
        PRIMARY KEY (skill, hash)
    );
    ALTER TABLE skill_settings ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE skill_archive (
        name        TEXT PRIMARY KEY,
        content     TEXT NOT NULL,
        reason      TEXT NOT NULL,
        archived_at INTEGER NOT NULL,
        generation  INTEGER
    );
    CREATE TABLE candidate_validation (
        candidate_id INTEGER NOT NULL REFERENCES candidates(id),
        turn_id      INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        role         TEXT NOT NULL CHECK (role IN ('failure', 'earlier')),
        verdict      TEXT NOT NULL CHECK (verdict IN ('win', 'tie', 'loss', 'error')),
        reason       TEXT,
        answer       TEXT,
        at           INTEGER NOT NULL,
        PRIMARY KEY (candidate_id, turn_id)
    );
    ALTER TABLE candidates ADD COLUMN ops TEXT;
    ALTER TABLE candidates ADD COLUMN base_hash TEXT;
    ALTER TABLE candidates ADD COLUMN merges TEXT;
    -- Why a candidate's validation set is incomplete (JSON {unjudged, note}), e.g. the budget ran out.
    ALTER TABLE candidates ADD COLUMN validation TEXT;
    "#,
    // 15: `skill_exposure` is written for every turn; its state check was an `IN` list, which
    // SQLite evaluates by building a temporary b-tree for every row inserted (more than half
    // of the exposure writer's work). The same check as a chain of `=`, which costs nothing.
    r#"
    CREATE TABLE skill_exposure_v15 (
        turn_id  INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        skill    TEXT NOT NULL,
        hash     TEXT,
        state    TEXT NOT NULL CHECK (state = 'injected' OR state = 'held_out' OR state = 'budget'
                                      OR state = 'disabled' OR state = 'absent'),
        score    REAL NOT NULL,
        agent    TEXT NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (turn_id, skill)
    );
    INSERT INTO skill_exposure_v15(turn_id, skill, hash, state, score, agent, at)
        SELECT turn_id, skill, hash, state, score, agent, at FROM skill_exposure;
    DROP TABLE skill_exposure;
    ALTER TABLE skill_exposure_v15 RENAME TO skill_exposure;
    CREATE INDEX skill_exposure_skill ON skill_exposure(skill, at);
    "#,
];

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`CURRENT_VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > CURRENT_VERSION {
        return Err(StoreError::TooNew { found: version, supported: CURRENT_VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQL of the operations SQLite plans for `sql` (EXPLAIN's opcode column).
    fn opcodes(c: &Connection, sql: &str) -> Vec<String> {
        let mut st = c.prepare(&format!("EXPLAIN {sql}")).unwrap();
        st.query_map([], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn exposure_rows_of_schema_14_survive_and_an_insert_builds_no_temporary_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..14] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 14).unwrap();
        conn.execute_batch(
            "INSERT INTO sessions(id, source, started_at, last_at) VALUES ('s', 'client', 1, 1);
             INSERT INTO turns(id, session_id, turn_index, turn_type, protocol, upstream, stream, started_at,
                 finished_at, status, latency_ms, upstream_ms, overhead_ms, message_hashes)
                 VALUES (7, 's', 0, 'main', 'openai', 'u', 0, 1, 2, 'ok', 1, 1, 0, '[]');
             INSERT INTO skill_exposure(turn_id, skill, hash, state, score, agent, at)
                 VALUES (7, 'iso-dates', 'h', 'held_out', 0.5, 'codex', 3);",
        )
        .unwrap();
        let insert = "INSERT OR IGNORE INTO skill_exposure(turn_id, skill, hash, state, score, agent, at)
                      VALUES (7, 'b', 'h', 'budget', 0.5, 'codex', 3)";
        assert!(opcodes(&conn, insert).contains(&"OpenEphemeral".to_string()), "the case this guards is gone");
        migrate(&mut conn).unwrap();
        let kept: (String, String, f64) = conn
            .query_row("SELECT skill, state, score FROM skill_exposure WHERE turn_id = 7", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(kept, ("iso-dates".into(), "held_out".into(), 0.5));
        assert!(!opcodes(&conn, insert).contains(&"OpenEphemeral".to_string()), "a temporary b-tree per row");
        conn.execute(insert, []).unwrap();
        // (`OR IGNORE` would skip a failed check silently.)
        let bad =
            conn.execute(&insert.replace(" OR IGNORE", "").replace("'b'", "'c'").replace("'budget'", "'maybe'"), []);
        assert!(bad.is_err(), "an unknown state is still refused");
        let plan: String = conn
            .query_row("EXPLAIN QUERY PLAN SELECT turn_id FROM skill_exposure WHERE skill = 'b' AND at > 0", [], |r| {
                r.get(3)
            })
            .unwrap();
        assert!(plan.contains("skill_exposure_skill"), "{plan}");
    }

    #[test]
    fn an_ics_account_of_schema_11_survives_migration_12() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..11] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 11).unwrap();
        conn.execute(
            "INSERT INTO calendars(slug, name, kind, display, owner, body, last_sync, last_error, events, created_at)
             VALUES ('work', 'Work', 'url', 'https://calendar.google.com', 'me@x.org', 'BEGIN:VCALENDAR', 7, 'HTTP 401', 3, 1)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let row: (String, String, Option<String>, i64, String) = conn
            .query_row("SELECT slug, kind, body, events, state FROM calendars WHERE name = 'Work'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap();
        assert_eq!(row, ("work".into(), "url".into(), Some("BEGIN:VCALENDAR".into()), 3, "error".into()));
        conn.execute(
            "INSERT INTO calendars(slug, name, kind, display, created_at) VALUES ('dav', 'Dav', 'caldav', 'dav.example', 1)",
            [],
        )
        .unwrap();
    }
}
