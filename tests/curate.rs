//! The curator end to end (real engine, real SQLite, the stand-in as evolver): unused evolved
//! skills are archived with their reason as a generation and restored; pinned and hand-written
//! skills are immune (unless opted in); a skill with a "hurts" verdict gets a Disable proposal
//! that disables it as a generation on approval; near-duplicates become a Merge proposal from the
//! evolver that leaves one skill; a dry run changes nothing and prints the plan. Time is
//! simulated by dating the library's history back in the database, never by sleeping.

mod common;

use common::{cli, say, Harness};
use metaclaw::api::types::curate::{CurateAction, CurateArg, CurateKind, CurateReport};
use metaclaw::api::types::learning::{ApproveArg, CandidateAction, CandidateStatus, Limit};
use metaclaw::api::types::skills::{Generation, GenerationChangeEntry};
use metaclaw::dataset::ChangeKind;
use metaclaw::store::effect::{Exposure, ExposureState};

const DAY_MS: i64 = 86_400_000;

fn skill_md(name: &str, description: &str, body: &str, evolved: bool) -> String {
    let meta = if evolved { "metadata:\n  origin: evolved\n" } else { "" };
    format!("---\nname: {name}\ndescription: {description}\n{meta}---\n{body}\n")
}

async fn create(h: &Harness, name: &str, description: &str, body: &str, evolved: bool) {
    common::create_skill(h, name, &skill_md(name, description, body, evolved)).await;
}

/// Dates every generation so far back by `days`: the skills have been active that much longer.
async fn age_library(h: &Harness, days: i64) {
    h.engine
        .as_ref()
        .unwrap()
        .store()
        .write(move |c| Ok(c.execute("UPDATE generations SET created_at = created_at - ?1", [days * DAY_MS])?))
        .await
        .unwrap();
}

async fn names(h: &Harness) -> Vec<String> {
    let list = h.client().skills(&Default::default()).await.unwrap();
    list.skills.into_iter().map(|s| s.name).collect()
}

async fn newest_generation(h: &Harness) -> Generation {
    h.client().generations(&Limit { limit: Some(1) }).await.unwrap().generations.remove(0)
}

/// What a generation changed, typed.
fn changes(g: &Generation) -> Vec<GenerationChangeEntry> {
    serde_json::from_value(g.changes.clone()).unwrap_or_else(|e| panic!("changes of generation {}: {e}", g.id))
}

/// Runs the curator (`dry_run`: only the plan).
async fn curate(h: &Harness, dry_run: bool) -> CurateReport {
    h.client().curate(&CurateArg { dry_run }).await.unwrap()
}

fn actions(report: &CurateReport, kind: CurateKind) -> Vec<&CurateAction> {
    report.actions.iter().filter(|a| a.kind == kind).collect()
}

/// The archived skills' names and reasons, newest first.
async fn archive(h: &Harness) -> Vec<metaclaw::api::types::curate::ArchivedSkill> {
    h.client().skills_archive().await.unwrap().skills
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_evolved_skill_is_archived_with_its_reason_as_a_generation_then_restored() {
    let h = Harness::start(|_| {}).await;
    create(&h, "weekly-totals", "Use when writing the weekly report.", "Put the totals first.", true).await;
    create(&h, "fresh-habit", "Use when naming files.", "Use dates in file names.", true).await;
    age_library(&h, 90).await;
    create(&h, "newer-habit", "Use when naming branches.", "Prefix branches with the ticket.", true).await;
    let before = newest_generation(&h).await.id;

    // A turn carried fresh-habit yesterday: it is in use.
    let turn = say(&h, "s1", &["hello there"], false).await;
    h.flush().await;
    let at = metaclaw::clock::now_ms() - DAY_MS;
    h.engine
        .as_ref()
        .unwrap()
        .store()
        .write(move |c| {
            let row = Exposure {
                turn_id: turn,
                skill: "fresh-habit".into(),
                hash: None,
                state: ExposureState::Injected,
                score: 0.5,
                agent: "unknown".into(),
                at,
            };
            metaclaw::store::effect::insert(c, &[row])
        })
        .await
        .unwrap();

    // The dry run: the plan, nothing changed.
    let (ok, out, err) = cli(&h, &["curate", "--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("would archive weekly-totals") && out.contains("dry run: nothing was changed"), "{out}");
    let plan = curate(&h, true).await;
    assert!(plan.dry_run);
    let planned = actions(&plan, CurateKind::Archive);
    assert_eq!(planned.len(), 1, "only the unused, old skill: {plan:?}");
    assert_eq!((planned[0].skills[0].as_str(), planned[0].applied), ("weekly-totals", false));
    assert!(names(&h).await.contains(&"weekly-totals".to_string()));
    assert_eq!(newest_generation(&h).await.id, before, "a dry run makes no generation");

    let report = curate(&h, false).await;
    let g = report.generation.expect("archiving made a generation");
    assert!(g > before);
    assert!(actions(&report, CurateKind::Archive)[0].applied);
    let gen = newest_generation(&h).await;
    assert_eq!((gen.id, gen.reason.as_str()), (g, "curator: archived 1 unused for 60 days"));
    let changed = changes(&gen);
    assert_eq!((changed[0].skill.as_str(), changed[0].change), ("weekly-totals", ChangeKind::Removed));
    let left = names(&h).await;
    assert!(!left.contains(&"weekly-totals".to_string()) && left.contains(&"fresh-habit".to_string()), "{left:?}");
    let archived = archive(&h).await;
    assert_eq!(archived[0].name, "weekly-totals");
    assert_eq!(archived[0].description, "Use when writing the weekly report.");
    assert!(archived[0].reason.contains("no turn carried it"), "{archived:?}");
    let (ok, out, _) = cli(&h, &["skills", "archive"]);
    assert!(ok && out.contains("weekly-totals"), "{out}");

    // Restored as a new generation; the curator does not archive it again at once.
    let (ok, out, err) = cli(&h, &["skills", "archive", "restore", "weekly-totals"]);
    assert!(ok, "{err}");
    assert!(out.contains("weekly-totals restored"), "{out}");
    assert!(names(&h).await.contains(&"weekly-totals".to_string()));
    assert_eq!(newest_generation(&h).await.reason, "restored weekly-totals from the archive");
    assert!(archive(&h).await.is_empty());
    let e = h.client().unarchive_skill("weekly-totals").await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    let again = curate(&h, true).await;
    assert!(
        actions(&again, CurateKind::Archive).is_empty(),
        "a restored skill counts as active from its restoring: {again:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_and_hand_written_skills_are_not_archived_unless_the_user_opts_in() {
    let mut h = Harness::start(|_| {}).await;
    create(&h, "kept-habit", "Use when writing release notes.", "List breaking changes first.", true).await;
    create(&h, "my-own-rule", "Use when replying to email.", "Sign with my first name.", false).await;
    let pin = h.client().pin_skill("kept-habit", true).await.unwrap();
    assert_eq!((pin.name.as_str(), pin.pinned), ("kept-habit", true));
    let (ok, out, err) = cli(&h, &["skills", "list"]);
    assert!(ok && out.contains("on, pinned"), "{out}{err}");
    let listed = h.client().skills(&Default::default()).await.unwrap();
    let kept = listed.skills.iter().find(|s| s.name == "kept-habit").unwrap();
    assert!(kept.pinned, "{kept:?}");
    age_library(&h, 400).await;

    let report = curate(&h, false).await;
    assert!(actions(&report, CurateKind::Archive).is_empty(), "{report:?}");
    assert_eq!(report.generation, None);

    h.restart(|c| c.curator.include_hand_written = true).await;
    let report = curate(&h, false).await;
    let archived: Vec<&str> = actions(&report, CurateKind::Archive).iter().map(|a| a.skills[0].as_str()).collect();
    assert_eq!(archived, ["my-own-rule"], "the opt-in covers hand-written skills, never pinned ones");

    // Unpinned, the evolved one goes too.
    let (ok, _, err) = cli(&h, &["skills", "unpin", "kept-habit"]);
    assert!(ok, "{err}");
    let report = curate(&h, false).await;
    assert_eq!(actions(&report, CurateKind::Archive)[0].skills, ["kept-habit"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skill_that_hurts_gets_a_disable_proposal_and_approving_it_disables_it_as_a_generation() {
    let h = Harness::start(|_| {}).await;
    create(&h, "quarterly-tax-forms", "Use when filling quarterly tax forms.", "Round every amount up.", true).await;
    // Ten turns carried it and went badly; ten comparable turns held it out and went well.
    let mut rows = Vec::new();
    for i in 0..20 {
        let turn = say(&h, &format!("s{i}"), &[&format!("hello number {i}")], true).await;
        h.flush().await;
        let carried = i < 10;
        common::feedback(&h, turn, if carried { -1 } else { 1 }).await;
        rows.push(Exposure {
            turn_id: turn,
            skill: "quarterly-tax-forms".into(),
            hash: None,
            state: if carried { ExposureState::Injected } else { ExposureState::HeldOut },
            score: 0.5,
            agent: "unknown".into(),
            at: metaclaw::clock::now_ms(),
        });
    }
    h.flush().await;
    h.engine.as_ref().unwrap().store().write(move |c| metaclaw::store::effect::insert(c, &rows)).await.unwrap();

    let plan = curate(&h, true).await;
    assert_eq!(actions(&plan, CurateKind::Disable).len(), 1, "{plan:?}");
    assert_eq!(actions(&plan, CurateKind::Disable)[0].candidate, None);

    let report = curate(&h, false).await;
    let disable = actions(&report, CurateKind::Disable);
    assert_eq!(disable.len(), 1, "{report:?}");
    let evidence = &disable[0].evidence;
    assert!(evidence.starts_with("hurts") && evidence.contains("0 of 10"), "{evidence}");
    let id = disable[0].candidate.expect("a Review candidate");
    let cand = h.client().candidate(id).await.unwrap();
    assert_eq!((cand.action, cand.status), (CandidateAction::Disable, CandidateStatus::Pending));
    assert!(cand.rationale.contains("0 of 10"), "{cand:?}");
    // Proposed once: the next run leaves it waiting.
    assert!(actions(&curate(&h, false).await, CurateKind::Disable).is_empty());

    let g = h.client().approve(id, &ApproveArg::default()).await.unwrap().generation.unwrap();
    let gen = newest_generation(&h).await;
    assert_eq!(gen.id, g);
    assert!(gen.reason.starts_with(&format!("approved candidate #{id}: disabled quarterly-tax-forms")), "{gen:?}");
    assert!(!h.client().skill("quarterly-tax-forms").await.unwrap().entry.enabled);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_duplicates_become_a_merge_proposal_and_approving_it_leaves_one_skill_in_one_generation() {
    let h = Harness::start(|c| c.evolve.model = Some("standin-evolver".into())).await;
    let description = "Use when writing timestamps in reports and logs.";
    create(&h, "iso-timestamps", description, "Write timestamps in ISO 8601 with the offset.\nUse the same format in reports, logs and file names.\nInclude seconds.", true)
        .await;
    create(&h, "timestamp-format", description, "Write timestamps in ISO 8601 with the offset.\nUse the same format in reports, logs and file names.\nNever drop the offset.", true)
        .await;
    create(&h, "grocery-lists", "Use when writing a shopping list.", "Group items by aisle.", true).await;

    let (ok, out, err) = cli(&h, &["curate", "--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("would ask the evolver to merge iso-timestamps, timestamp-format"), "{out}");
    let evolver_calls = || h.standin.requests().iter().filter(|r| r.json()["model"] == "standin-evolver").count();
    assert_eq!(evolver_calls(), 0, "a dry run calls no model");

    let report = curate(&h, false).await;
    let merge = actions(&report, CurateKind::Merge);
    assert_eq!(merge.len(), 1, "{report:?}");
    assert_eq!(evolver_calls(), 1);
    let id = merge[0].candidate.expect("a Review candidate");
    let cand = h.client().candidate(id).await.unwrap();
    assert_eq!(cand.action, CandidateAction::Merge);
    assert_eq!(cand.merges, ["iso-timestamps", "timestamp-format"]);
    let content = &cand.content;
    assert!(content.contains("Include seconds.") && content.contains("Never drop the offset."), "{content}");
    let before = newest_generation(&h).await.id;

    let g = h.client().approve(id, &ApproveArg::default()).await.unwrap().generation.unwrap();
    assert_eq!(g, before + 1, "one generation");
    let gen = newest_generation(&h).await;
    assert_eq!(
        gen.reason,
        format!("approved candidate #{id}: merged iso-timestamps, timestamp-format into iso-timestamps by user")
    );
    let mut left = names(&h).await;
    left.sort();
    assert_eq!(left, ["grocery-lists", "iso-timestamps"]);
    let merged = h.client().skill("iso-timestamps").await.unwrap();
    assert!(merged.content.contains("Never drop the offset."));
    let archived = archive(&h).await;
    let reasons: Vec<(&str, &str)> = archived.iter().map(|s| (s.name.as_str(), s.reason.as_str())).collect();
    assert!(
        reasons.contains(&("timestamp-format", &*format!("merged into iso-timestamps (candidate #{id})"))),
        "{reasons:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curator_job_archives_in_a_window_once_the_curator_is_switched_on_live() {
    use std::sync::atomic::{AtomicI64, AtomicU64};
    use std::sync::Arc;
    use std::time::Duration;

    use metaclaw::scheduler::runner::Timing;
    use metaclaw::scheduler::signals::{FakeIdle, FakePower, Signals};

    // The user is away: the scheduler's window is open.
    let signals = Signals {
        os: Some(Arc::new(FakeIdle(Arc::new(AtomicU64::new(10 * 60_000))))),
        power: Arc::new(FakePower::default()),
        last_request: Arc::new(AtomicI64::new(0)),
    };
    let timing = Timing {
        idle_poll: Duration::from_millis(100),
        running_poll: Duration::from_millis(250),
        pause_grace: Duration::from_secs(2),
        relearn: Duration::from_secs(600),
    };
    let hooks = metaclaw::engine::Hooks { signals: Some(signals), timing: Some(timing), jobs: vec![] };
    let edit = |c: &mut metaclaw::config::Config| {
        c.scheduler.sleep = [("default".to_string(), "off".to_string())].into();
        c.scheduler.idle_minutes = 5;
        c.curator.enabled = false;
    };
    let h = Harness::start_hooked(edit, metaclaw::engine::Keys::none(), Default::default(), hooks).await;
    create(&h, "weekly-totals", "Use when writing the weekly report.", "Put the totals first.", true).await;
    age_library(&h, 90).await;

    let mut cfg = common::config_for(&h.standin);
    edit(&mut cfg);
    cfg.curator.enabled = true;
    h.engine.as_ref().unwrap().reloader().save(cfg).await.expect("the curator is switched on live");
    common::wait_until_async("the curator job to archive the unused skill", || async { !archive(&h).await.is_empty() })
        .await;
    assert_eq!(newest_generation(&h).await.reason, "curator: archived 1 unused for 60 days");
    let scheduler = h.client().scheduler().await.unwrap();
    assert!(scheduler.jobs.iter().any(|j| j.name == "curate"), "{scheduler:?}");
    h.stop().await;
}
