use super::*;

#[test]
fn votes_and_majorities() {
    assert_eq!(parse_vote("fine.\nScore: 1"), Some(1));
    assert_eq!(parse_vote("Score: 1 at first, but\nScore: -1"), Some(-1));
    assert_eq!(parse_vote("Score:  0 "), Some(0));
    assert_eq!(parse_vote("fine.\n**Score: +1**\n\n"), Some(1));
    assert_eq!(parse_vote("Score: 7"), None);
    assert_eq!(parse_vote("no verdict"), None);
    assert_eq!(parse_vote(""), None);
    assert_eq!(majority(&[Some(1), Some(-1), Some(-1)]), -1);
    assert_eq!(majority(&[Some(1), Some(-1), Some(0)]), 0, "three-way tie");
    assert_eq!(majority(&[Some(1), None, Some(-1)]), 0, "tie after an abstention");
    assert_eq!(majority(&[None, None, Some(1)]), 1);
    assert_eq!(majority(&[None, None]), 0);
}

#[test]
fn only_a_final_score_line_votes() {
    // A small model echoing the rubric: the last `Score:` is -1, but it is no verdict.
    let echo = "The rubric says `Score: 1` if it fulfilled the request, `Score: 0` if unclear,\nand `Score: -1` if wrong.\nThe user's next message is in English.";
    assert_eq!(parse_vote(echo), None);
    assert_eq!(parse_vote("In this case, the answer is `Score: 0` (not enough evidence)"), None);
    assert_eq!(parse_vote("Score: 1 because it is fine"), None);
    let (score, reason) = parse_answer("## Heading\nIt answered in French.\nScore: 1").unwrap();
    assert_eq!((score, reason.as_str()), (1, "## Heading\nIt answered in French."));
}

#[test]
fn json_answers_vote_and_bad_json_does_not() {
    assert_eq!(parse_answer(r#"{"reason": "wrong language", "score": -1}"#), Some((-1, "wrong language".into())));
    assert_eq!(parse_answer("```json\n{\"score\": 0, \"reason\": \"unclear\"}\n```"), Some((0, "unclear".into())));
    assert_eq!(parse_answer(r#"{"reason": "x", "score": 2}"#), None);
    assert_eq!(parse_answer(r#"{"reason": "x"}"#), None);
}

#[test]
fn the_problem_line_names_unparseable_answers() {
    let st = JudgeStatus {
        pending: 0,
        done: 0,
        failed: 26,
        scored: 0,
        scored_by_judge: 0,
        unparseable: 26,
        timed_out: 0,
        unparseable_answers: 78,
        timed_out_answers: 0,
        last_error: None,
        last_answer: None,
        problem: None,
    };
    assert_eq!(
        problem(&st).unwrap(),
        "this model can't judge: 78 unparseable answers (no `Score:` line); 0 turns scored by it"
    );
    assert_eq!(
        problem(&JudgeStatus { unparseable: 1, unparseable_answers: 1, scored_by_judge: 40, ..st.clone() }),
        None
    );
    let slow = JudgeStatus {
        unparseable: 0,
        unparseable_answers: 0,
        timed_out: 5,
        timed_out_answers: 15,
        scored_by_judge: 10,
        ..st
    };
    assert!(problem(&slow).unwrap().starts_with("the judge is too slow: 15 calls timed out"));
}

#[tokio::test]
async fn with_run_in_idle_the_judge_calls_only_while_its_job_runs_in_a_window() {
    use crate::scheduler::runner::Checkpoint;
    use crate::scheduler::{Job, JobCtx, Outcome};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("metaclaw.db"), Duration::from_millis(20)).unwrap();
    store
        .write(|c| {
            c.execute("INSERT INTO sessions(id, source, started_at, last_at) VALUES ('s', 'client', 0, 0)", [])?;
            c.execute(
                "INSERT INTO turns(session_id, turn_index, turn_type, protocol, upstream, stream, started_at, finished_at,
                    status, latency_ms, upstream_ms, overhead_ms, message_hashes)
                 VALUES ('s', 1, 'main', 'openai', 'u', 0, 0, 0, 'ok', 1, 1, 0, '[]')",
                [],
            )?;
            c.execute("INSERT INTO judge_jobs(turn_id, status, attempts, not_before, updated_at) VALUES (1, 'pending', 0, 0, 0)", [])?;
            Ok(())
        })
        .await
        .unwrap();
    let paused = Arc::new(AtomicBool::new(false));
    let gate = Gate::new(paused.clone(), true);
    assert!(!gate.open(), "outside a window the judge waits");
    let job = Arc::new(JudgeJob { store: store.clone(), gate: gate.clone(), wait_ms: 0 });
    assert!(job.pending().await, "a due turn is work for a window");
    let waiting = JudgeJob { store: store.clone(), gate: gate.clone(), wait_ms: i64::MAX / 4 };
    assert!(!waiting.pending().await, "a turn waiting for the user's next message is no work yet");
    let cancel = tokio_util::sync::CancellationToken::new();
    let ctx = || JobCtx {
        cancel: cancel.clone(),
        checkpoint: Checkpoint::new(store.clone(), "judge"),
        until: None,
        window: "away".into(),
    };
    let running = {
        let (job, ctx) = (job.clone(), ctx());
        tokio::spawn(async move { job.run(ctx).await })
    };
    let opened = async {
        while !gate.open() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), opened).await.expect("the job's run opens the gate");
    paused.store(true, Ordering::SeqCst);
    assert!(!gate.open(), "paused learning closes even an open window");
    paused.store(false, Ordering::SeqCst);
    cancel.cancel();
    assert!(matches!(running.await.unwrap(), Outcome::Paused(_)));
    assert!(!gate.open(), "the window closed");
    // Nothing due: a run ends at once and leaves the gate shut.
    store.write(|c| Ok(c.execute("UPDATE judge_jobs SET status = 'done'", [])?)).await.unwrap();
    assert!(!job.pending().await);
    let fresh = tokio_util::sync::CancellationToken::new();
    let ctx = JobCtx {
        cancel: fresh,
        checkpoint: Checkpoint::new(store.clone(), "judge"),
        until: None,
        window: "away".into(),
    };
    assert!(matches!(job.run(ctx).await, Outcome::Done(_)));
    assert!(!gate.open());
    // run_in = "now": open unless paused.
    assert!(Gate::new(Arc::new(AtomicBool::new(false)), false).open());
}

#[test]
fn the_prompt_shows_the_evidence_and_hides_secrets() {
    let ev = Evidence {
        turn_id: 1,
        upstream: "u".into(),
        request: "deploy with key sk-live-abcdefghijklmnop1234".into(),
        answer: "done".into(),
        next_message: Some("no, timestamps must carry +08:00".into()),
    };
    let p = ev.prompt();
    assert!(p.contains("## The user's next message\nno, timestamps must carry +08:00"));
    assert!(!p.contains("sk-live"));
    let ev = Evidence { next_message: None, ..ev };
    assert!(ev.prompt().contains("(none yet"));
}
