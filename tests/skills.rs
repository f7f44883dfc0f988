//! The skill library end to end: injection into real proxied turns, live reload from disk,
//! generations, management through the admin API, and hot reload under concurrent load.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{turn_id, Harness};
use metaclaw::api::types::learning::{Candidate, CandidateStatus};
use metaclaw::api::types::skills::{ExplainArg, Origin, PathArg, SkillList, SkillWrite};
use metaclaw::api::types::ErrorCode;
use metaclaw::evolve::review::FlagKind;
use metaclaw::skills::{Injected, Problem};
use serde_json::{json, Value};

fn skill_md(name: &str, description: &str, body: &str) -> String {
    format!("---\nname: {name}\ndescription: {description:?}\nmetadata:\n  category: agentic\n---\n\n{body}\n")
}

async fn create(h: &Harness, name: &str, description: &str, body: &str) -> i64 {
    common::create_skill(h, name, &skill_md(name, description, body)).await
}

/// The skills a turn carried.
async fn injected(h: &Harness, turn: i64) -> Vec<Injected> {
    let t = h.turn_detail(turn).await;
    serde_json::from_value(t.summary.skills).unwrap()
}

/// The library as listed.
async fn list(h: &Harness) -> SkillList {
    h.client().skills(&Default::default()).await.unwrap()
}

/// `POST /api/skills/explain` for `query`.
async fn explain(h: &Harness, query: &str) -> metaclaw::api::types::skills::Explanation {
    h.client().explain(&ExplainArg { query: query.into() }).await.unwrap()
}

fn path_arg(path: &Path) -> PathArg {
    PathArg { path: path.to_path_buf(), overwrite: None }
}

fn ask(text: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": text}]})
}

fn system_sent(h: &Harness) -> String {
    let last = h.standin.requests().last().unwrap().json();
    last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "system")
        .map(|m| m["content"].as_str().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn matching_main_turns_get_the_skill_side_and_unrelated_turns_do_not() {
    let h = Harness::start(|_| {}).await;
    let g = create(
        &h,
        "iso-timestamps",
        "Use whenever writing timestamps or dates: ISO 8601 with the +08:00 offset.",
        "Write 2026-03-16T09:00:00+08:00.",
    )
    .await;
    create(&h, "cat-facts", "Use when asked about cats and their habits.", "Cats sleep a lot.").await;

    let r = h.chat(ask("add the timestamps to the report please")).await;
    assert_eq!(r.status(), 200);
    let id = turn_id(&r);
    let sys = system_sent(&h);
    assert!(sys.starts_with("You are an agent.\n\n## Skills"), "{sys}");
    assert!(sys.contains("### iso-timestamps") && sys.contains("+08:00"), "{sys}");
    assert!(!sys.contains("cat-facts"));
    let t = h.turn_detail(id).await;
    let skills: Vec<Injected> = serde_json::from_value(t.summary.skills.clone()).unwrap();
    assert_eq!(skills[0].name, "iso-timestamps");
    assert!(skills[0].score > 0.0);
    assert!(skills[0].terms.iter().any(|x| x == "timestamp"));
    assert_eq!(t.summary.generation, g + 1, "stamped with the generation it was served under");

    let r = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-turn-type", "side")
        .json(&ask("timestamps heartbeat"))
        .send()
        .await
        .unwrap();
    let t = h.turn_detail(turn_id(&r)).await;
    assert_eq!(t.summary.skills, json!([]));
    assert_eq!(system_sent(&h), "You are an agent.");

    h.chat(ask("what's the capital of France?")).await;
    assert_eq!(system_sent(&h), "You are an agent.");
    h.stop().await;
}

#[tokio::test]
async fn late_placement_keeps_the_system_prompt_untouched() {
    let h = Harness::start(|c| c.skills.placement = metaclaw::skills::Placement::Late).await;
    create(&h, "iso-timestamps", "Use whenever writing timestamps: ISO 8601.", "Body.").await;
    h.chat(json!({"model": "m", "messages": [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"}, {"role": "user", "content": "fix the timestamps"}]}))
        .await;
    let sent = h.standin.requests().last().unwrap().json();
    let m = sent["messages"].as_array().unwrap();
    assert_eq!(m[0]["content"], "sys");
    assert_eq!(m[3]["role"], "system");
    assert!(m[3]["content"].as_str().unwrap().contains("### iso-timestamps"));
    assert_eq!(m[4]["content"], "fix the timestamps");
    h.stop().await;
}

/// Writes `<dir>/<name>/SKILL.md`.
fn write_skill(dir: &Path, name: &str, text: &str) {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("SKILL.md"), text).unwrap();
}

async fn skill_names(h: &Harness) -> Vec<String> {
    list(h).await.skills.into_iter().map(|s| s.name).collect()
}

#[tokio::test]
async fn a_dropped_in_skill_applies_on_the_next_turn_and_broken_files_are_reported() {
    let h = Harness::start(|_| {}).await;
    write_skill(
        &h.home.path().join("skills"),
        "backup-first",
        &skill_md("backup-first", "Use before modifying a file: keep a .bak backup copy.", "cp f f.bak"),
    );
    write_skill(&h.home.path().join("skills"), "broken", "---\nname: broken\ndescription: [oops\n---\n");
    let names = || async { skill_names(&h).await };
    let mut ok = false;
    for _ in 0..100 {
        if names().await.contains(&"backup-first".to_string()) {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "the watcher picked the new file up");
    h.chat(ask("modify the config file, keep a backup")).await;
    assert!(system_sent(&h).contains("### backup-first"));

    let listed = list(&h).await;
    let p = &listed.problems[0];
    assert!(p.file.ends_with("broken/SKILL.md"), "{p}");
    assert_eq!(p.line, Some(4));
    assert!(p.reason.contains("not valid YAML"));

    // Removing the file removes the skill, again without a restart.
    std::fs::remove_dir_all(h.home.path().join("skills/backup-first")).unwrap();
    for _ in 0..100 {
        if !names().await.contains(&"backup-first".to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.chat(ask("modify the config file, keep a backup")).await;
    assert!(!system_sent(&h).contains("backup-first"));
    h.stop().await;
}

#[tokio::test]
async fn managing_skills_makes_generations_and_they_survive_a_restart() {
    let mut h = Harness::start(|_| {}).await;
    let api = h.client();
    let g0 = list(&h).await.generation;
    let g1 = create(&h, "tidy-notes", "Use when tidying meeting notes into action items.", "List owners.").await;
    assert_eq!(g1, g0 + 1);
    let again = SkillWrite {
        name: Some("tidy-notes".into()),
        content: Some(skill_md("tidy-notes", "d", "b")),
        ..Default::default()
    };
    let e = api.create_skill(&again).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(409), Some(ErrorCode::Conflict)), "{e}");
    let bad =
        SkillWrite { name: Some("bad".into()), content: Some("---\nname: bad\n---\n".into()), ..Default::default() };
    let e = api.create_skill(&bad).await.unwrap_err();
    assert_eq!(e.status(), Some(422), "{e}");
    let metaclaw::api::client::ClientError::Api { problems, .. } = &e else { panic!("{e:?}") };
    assert!(problems[0].reason.contains("description"), "{problems:?}");

    let g2 = api.enable_skill("tidy-notes", false).await.unwrap().generation;
    assert_eq!(g2, g1 + 1);
    h.chat(ask("tidy these meeting notes into action items")).await;
    assert!(!system_sent(&h).contains("tidy-notes"), "a disabled skill is not injected");
    let g3 = api.enable_skill("tidy-notes", true).await.unwrap().generation;
    assert_eq!(g3, g2 + 1);

    let edit = SkillWrite { body: Some("List owners and due dates.".into()), ..Default::default() };
    let g4 = api.update_skill("tidy-notes", &edit).await.unwrap().generation;
    assert_eq!(g4, g3 + 1);
    let shown = api.skill("tidy-notes").await.unwrap();
    assert!(shown.content.contains("due dates"));
    assert_eq!(shown.entry.skill.metadata.get("category").map(String::as_str), Some("agentic"));
    // The wire shape: no top-level `category` (it lives in metadata).
    let (s, raw) = common::api(&h, reqwest::Method::GET, "/api/skills/tidy-notes", None).await;
    assert_eq!((s, &raw["category"]), (200, &Value::Null), "category lives in metadata: {raw}");

    let g5 = api.delete_skill("tidy-notes").await.unwrap().generation;
    assert!(!skill_names(&h).await.contains(&"tidy-notes".to_string()));
    let trash = api.skills_trash().await.unwrap();
    assert_eq!(trash.trash[0].name, "tidy-notes");
    let g6 = api.restore_skill("tidy-notes").await.unwrap().generation;
    assert!(g5 > g4 && g6 > g5);
    let e = api.enable_skill("nope", false).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");

    let history = api.generations(&Default::default()).await.unwrap();
    let reasons: Vec<&str> = history.generations.iter().map(|g| g.reason.as_str()).collect();
    assert_eq!(
        &reasons[..7],
        &[
            "restored tidy-notes",
            "deleted tidy-notes",
            "edited tidy-notes",
            "enabled tidy-notes",
            "disabled tidy-notes",
            "created tidy-notes",
            "start"
        ]
    );
    let edited: Vec<metaclaw::api::types::skills::GenerationChangeEntry> =
        serde_json::from_value(history.generations[2].changes.clone()).unwrap();
    assert_eq!(edited[0].change, metaclaw::dataset::ChangeKind::Modified);

    // A restart keeps the generation; the next change continues the count.
    h.restart(|_| {}).await;
    assert_eq!(list(&h).await.generation, g6);
    let g7 = create(&h, "another-one", "Use when testing restarts.", "x").await;
    assert_eq!(g7, g6 + 1);
    h.stop().await;
}

#[tokio::test]
async fn builtin_skills_can_be_disabled_and_overridden_by_the_users_folder() {
    let h = Harness::start(|c| c.skills.builtin = true).await;
    let api = h.client();
    let skills = list(&h).await.skills;
    assert!(skills.len() >= 40);
    assert!(skills.iter().all(|s| s.origin == Origin::Builtin));
    let mine = SkillWrite { body: Some("MY OWN LOG RULES".into()), ..Default::default() };
    api.update_skill("keep-completion-log", &mine).await.unwrap();
    let e = api.skill("keep-completion-log").await.unwrap().entry;
    assert_eq!((e.skill.origin, e.overrides_builtin), (Origin::User, true));
    // Deleting a built-in disables it (it lives in the binary).
    api.delete_skill("profile-performance").await.unwrap();
    assert!(!api.skill("profile-performance").await.unwrap().entry.enabled);
    let ex = explain(&h, "the dashboard is slow, profile it").await;
    assert!(ex.candidates.iter().all(|c| c.name != "profile-performance"));
    h.stop().await;
}

#[tokio::test]
async fn import_validate_export_and_explain() {
    let h = Harness::start(|_| {}).await;
    let src = tempfile::tempdir().unwrap();
    // The reference implementation's format: top-level `category`.
    write_skill(src.path(), "debug-systematically", "---\nname: debug-systematically\ndescription: Use when debugging a failing program step by step.\ncategory: coding\n---\n\n# Debug\n1. Reproduce.\n");
    std::fs::create_dir_all(src.path().join("debug-systematically/scripts")).unwrap();
    std::fs::write(src.path().join("debug-systematically/scripts/run.sh"), "echo hi").unwrap();
    write_skill(src.path(), "Bad_Name", "---\nname: Bad_Name\ndescription: x\n---\n");
    let api = h.client();
    let results = api.validate_skills(&path_arg(src.path())).await.unwrap().skills;
    assert_eq!(results.iter().filter(|r| r.ok).count(), 1);
    let bad = results.iter().find(|r| !r.ok).unwrap();
    assert_eq!(bad.problem.as_ref().unwrap().line, Some(2));

    let v = api.import_skills(&path_arg(src.path())).await.unwrap().report;
    assert_eq!(v.imported, ["debug-systematically"]);
    assert_eq!(v.invalid.len(), 1);
    assert!(v.warnings[0].reason.contains("metadata.category"));
    let dest = h.home.path().join("skills/debug-systematically");
    assert!(dest.join("scripts/run.sh").exists(), "the whole skill folder is imported");
    let text = std::fs::read_to_string(dest.join("SKILL.md")).unwrap();
    assert!(text.contains("metadata:\n  category: coding") && !text.contains("\ncategory:"), "{text}");
    let v = api.import_skills(&path_arg(src.path())).await.unwrap().report;
    assert_eq!(v.skipped_existing, ["debug-systematically"]);

    let out = tempfile::tempdir().unwrap();
    assert_eq!(api.export_skills(&path_arg(out.path())).await.unwrap().exported, 1);
    assert!(out.path().join("debug-systematically/SKILL.md").exists());

    let v = explain(&h, "help me debug this failing program").await;
    assert_eq!(v.candidates[0].name, "debug-systematically");
    assert!(v.candidates[0].injected);
    assert!(v.block.contains("### debug-systematically"));
    assert!(v.query_terms.iter().any(|t| t == "debug"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_reload_under_load_never_fails_a_request_or_mixes_library_states() {
    let h = Arc::new(Harness::start(|_| {}).await);
    create(&h, "release-notes", "Use when writing release notes for a version.", "VERSION-0").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (h, stop) = (h.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = h.chat(ask("write the release notes for version 2.1")).await;
                assert_eq!(r.status(), 200, "no request fails during reloads");
                ids.push(turn_id(&r));
                r.bytes().await.unwrap();
            }
            ids
        }));
    }
    // Edit the file on disk repeatedly: every write is a new version of the skill. Each is
    // written whole and renamed into place, as editors save: a plain write truncates first, and a
    // reload that reads the empty file in between rightly serves a library without the skill.
    let dir = h.home.path().join("skills/release-notes");
    for v in 1..=15 {
        let text = skill_md("release-notes", "Use when writing release notes for a version.", &format!("VERSION-{v}"));
        std::fs::write(dir.join(".SKILL.md.tmp"), text).unwrap();
        std::fs::rename(dir.join(".SKILL.md.tmp"), dir.join("SKILL.md")).unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    let mut ids = Vec::new();
    for c in clients {
        ids.extend(c.await.unwrap());
    }
    assert!(ids.len() > 50, "enough load: {}", ids.len());
    h.flush().await;

    // Which version each generation served, from the database.
    let db = rusqlite::Connection::open(h.home.path().join("metaclaw.db")).unwrap();
    let mut versions: HashMap<i64, String> = HashMap::new();
    let mut st = db.prepare("SELECT g.id, v.content FROM generations g, json_each(g.active) a JOIN skill_versions v ON v.hash = a.value WHERE a.key = 'release-notes'").unwrap();
    for row in st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).unwrap() {
        let (g, content) = row.unwrap();
        let marker = content.split_whitespace().find(|w| w.starts_with("VERSION-")).unwrap().to_string();
        versions.insert(g, marker);
    }
    assert!(versions.len() >= 5, "the edits made several generations: {}", versions.len());
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        let t = h.client().turn(id).await.unwrap();
        let sys = t.messages[0]["content"].as_str().unwrap();
        let served: Vec<&str> = sys.split_whitespace().filter(|w| w.starts_with("VERSION-")).collect();
        assert_eq!(served.len(), 1, "exactly one version of the skill per turn: {sys}");
        let g = t.summary.generation;
        assert_eq!(
            Some(served[0]),
            versions.get(&g).map(String::as_str),
            "turn {id}: the stamped generation is the one served"
        );
        seen.insert(served[0].to_string());
    }
    assert!(seen.len() >= 3, "turns saw several versions while the file changed: {seen:?}");
    assert!(seen.contains("VERSION-15"), "the last edit applied");
}

fn embedding_batches(h: &Harness) -> usize {
    // Skill vectors are requested in batches (an array input); request vectors one string each.
    h.standin
        .requests()
        .iter()
        .filter(|r| {
            r.path == "/v1/embeddings"
                && r.json()["input"].is_array()
                && r.json()["input"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i.as_str().unwrap_or("").contains("car maintenance"))
        })
        .count()
}

#[tokio::test]
async fn semantic_retrieval_matches_by_meaning_caches_vectors_and_falls_back() {
    let mut h = Harness::start(|c| c.skills.embedding_model = Some("standin-embed".into())).await;
    create(&h, "car-maintenance", "Use when the car needs care.", "Car care: oil, tyres.").await;
    create(&h, "tidy-notes", "Use when tidying meeting notes into action items.", "List owners.").await;
    // Wait for the skill vectors (embedded in the background after the reload).
    let mut ready = false;
    for _ in 0..100 {
        let v = explain(&h, "automobile trouble again").await;
        if v.candidates.iter().any(|c| c.name == "car-maintenance" && c.injected) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ready, "skill vectors were computed");
    // No word in common with the skill: only meaning connects them.
    let r = h.chat(ask("automobile trouble again")).await;
    let t = injected(&h, turn_id(&r)).await;
    assert_eq!(t[0].name, "car-maintenance", "{t:?}");
    assert!(t[0].similarity.unwrap() > 0.3);
    assert_eq!(t[0].terms, Vec::<String>::new());
    assert_eq!(embedding_batches(&h), 1);

    // The embeddings call fails: the turn still succeeds, ranked lexically.
    let r = h.chat(ask("tidy the meeting notes into action items [[embed_status:500]]")).await;
    assert_eq!(r.status(), 200);
    let t = injected(&h, turn_id(&r)).await;
    assert_eq!(t[0].name, "tidy-notes");
    assert_eq!(t[0].similarity, None);

    // Vectors are cached by content hash: a restart embeds nothing again.
    h.restart(|c| c.skills.embedding_model = Some("standin-embed".into())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(embedding_batches(&h), 1, "cached vectors are reused");
    h.stop().await;

    // Without a model, the same request finds nothing.
    let h = Harness::start(|_| {}).await;
    create(&h, "car-maintenance", "Use when the car needs care.", "Car care: oil, tyres.").await;
    let r = h.chat(ask("automobile trouble again")).await;
    assert_eq!(injected(&h, turn_id(&r)).await, []);
    h.stop().await;
}

/// The findings' alias bomb: one anchor of 5000 scalars referenced 20000 times.
fn alias_bomb(name: &str) -> String {
    format!(
        "---\nname: {name}\ndescription: d\nz: &a [{}]\nzz: [{}]\n---\nx\n",
        vec!["x"; 5000].join(", "),
        vec!["*a"; 20000].join(", ")
    )
}

fn problem_for<'a>(list: &'a SkillList, folder: &str) -> &'a Problem {
    list.problems
        .iter()
        .find(|p| p.file.ends_with(&format!("{folder}/SKILL.md")))
        .unwrap_or_else(|| panic!("no problem for {folder}: {list:?}"))
}

#[tokio::test]
async fn a_yaml_alias_bomb_is_a_problem_at_start_on_reload_through_the_api_and_in_validate() {
    let mut h = Harness::start(|_| {}).await;
    let skills = h.home.path().join("skills");
    write_skill(&skills, "bomb", &alias_bomb("bomb"));
    write_skill(&skills, "fine", &skill_md("fine", "Use when checking that good skills still load.", "Check."));
    // At start: the engine comes up, loads the good skill and lists the bad one as a problem.
    h.restart(|_| {}).await;
    let listed = list(&h).await;
    assert!(problem_for(&listed, "bomb").reason.contains("anchors"), "{listed:?}");
    assert!(skill_names(&h).await.contains(&"fine".to_string()));

    let api = h.client();
    let bomb = SkillWrite { name: Some("bomb2".into()), content: Some(alias_bomb("bomb2")), ..Default::default() };
    let e = api.create_skill(&bomb).await.unwrap_err();
    assert_eq!(e.status(), Some(422), "{e}");
    let metaclaw::api::client::ClientError::Api { problems, .. } = &e else { panic!("{e:?}") };
    assert!(problems[0].reason.contains("anchors"), "{e}");

    let results = api.validate_skills(&path_arg(&skills)).await.unwrap().skills;
    let bad: Vec<_> = results.iter().filter(|r| !r.ok).collect();
    assert_eq!(bad.len(), 1, "{results:?}");
    assert!(bad[0].problem.as_ref().unwrap().reason.contains("anchors"));

    let src = tempfile::tempdir().unwrap();
    write_skill(src.path(), "bomb3", &alias_bomb("bomb3"));
    let v = api.import_skills(&path_arg(src.path())).await.unwrap().report;
    assert_eq!(v.imported, Vec::<String>::new());
    assert!(v.invalid[0].reason.contains("anchors"), "{v:?}");

    // On reload (the file watcher): a new bomb dropped in while running is reported too.
    write_skill(&skills, "bomb4", &alias_bomb("bomb4"));
    common::wait_until_async("the watcher reports the new bomb", || async { list(&h).await.problems.len() == 2 }).await;
    h.stop().await;
}

#[tokio::test]
async fn a_skill_file_linked_to_a_device_or_ten_megabytes_long_is_a_problem_and_never_read() {
    let mut h = Harness::start(|_| {}).await;
    let skills = h.home.path().join("skills");
    std::fs::create_dir_all(skills.join("zero")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/dev/zero", skills.join("zero/SKILL.md")).unwrap();
    std::fs::create_dir_all(skills.join("big")).unwrap();
    let mut big = skill_md("big", "Use when testing a very large skill file.", "x");
    big.push_str(&"padding line\n".repeat(10 * 1024 * 1024 / 13));
    std::fs::write(skills.join("big/SKILL.md"), big).unwrap();
    h.restart(|_| {}).await;
    let listed = list(&h).await;
    #[cfg(unix)]
    assert_eq!(problem_for(&listed, "zero").reason, "not a regular file", "{listed:?}");
    assert!(problem_for(&listed, "big").reason.contains("the limit is 128 KiB"), "{listed:?}");

    let results = h.client().validate_skills(&path_arg(&skills)).await.unwrap().skills;
    assert!(results.iter().all(|r| !r.ok), "{results:?}");
    h.stop().await;
}

/// One corrected session (the judge scores the first answer -1; the session ends), with
/// `directive` telling the stand-in evolver what to propose.
async fn corrected_session(h: &Harness, session: &str, directive: &str) {
    let first = format!("set up my new laptop for the project {directive}");
    let history = [first.as_str(), &format!("Echo: {first}"), "no, that missed the toolchain [[judge_score:-1]]"];
    for (n, done) in [(1, false), (3, true)] {
        common::say(h, session, &history[..n], done).await;
    }
}

async fn candidate_named(h: &Harness, name: &str) -> Option<Candidate> {
    let all = h.client().candidates(&Default::default()).await.unwrap().candidates;
    all.into_iter().find(|c| c.name == name)
}

#[tokio::test]
async fn a_flagged_candidate_is_never_auto_approved_and_review_shows_its_flags() {
    let h = Harness::start(|c| {
        common::learning(c);
        c.evolve.approval = metaclaw::config::Approval::Auto;
    })
    .await;
    // A clean candidate is approved by the policy...
    corrected_session(&h, "clean", "[[evolve:timestamps]]").await;
    common::wait_until_async("the clean candidate is decided", || async {
        candidate_named(&h, "timestamp-offsets").await.is_some_and(|c| c.status != CandidateStatus::Pending)
    })
    .await;
    let clean = candidate_named(&h, "timestamp-offsets").await.unwrap();
    assert_eq!((clean.status, clean.decided_by.as_deref()), (CandidateStatus::Approved, Some("policy: auto")));
    // ...a risky one waits for a person, with its flags.
    corrected_session(&h, "risky", "[[evolve:risky]]").await;
    common::wait_until_async("the risky candidate", || async { candidate_named(&h, "quick-setup").await.is_some() })
        .await;
    // Runs are one at a time, and a run applies the policy to its candidates before it ends: once
    // a third run is recorded, the risky candidate's fate is settled.
    corrected_session(&h, "after", "").await;
    let db = rusqlite::Connection::open(h.home.path().join("metaclaw.db")).unwrap();
    let runs = || db.query_row("SELECT COUNT(*) FROM evolve_runs", [], |r| r.get::<_, i64>(0)).unwrap();
    common::wait_until_async("a third evolution run", || async {
        h.flush().await;
        runs() >= 3
    })
    .await;
    let risky = candidate_named(&h, "quick-setup").await.unwrap();
    assert_eq!(risky.status, CandidateStatus::Pending, "{risky:?}");
    let kinds: Vec<FlagKind> = risky.flags.iter().map(|f| f.kind).collect();
    for kind in [FlagKind::FetchExecute, FlagKind::HideFromUser, FlagKind::Url] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    let fetch = risky.flags.iter().find(|f| f.kind == FlagKind::FetchExecute).unwrap();
    assert!(fetch.excerpt.contains("| sh"), "{fetch:?}");
    assert!(!skill_names(&h).await.contains(&"quick-setup".to_string()));
    assert_eq!(clean.flags, []);
    h.stop().await;
}

/// A deeply nested SKILL.md (the reviewer's repro: 130k opening brackets, seconds of YAML
/// parsing) is refused with 422 at once, and the engine keeps answering meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_skill_is_refused_quickly_and_healthz_answers_meanwhile() {
    let h = Harness::start(|_| {}).await;
    let content = format!("---\nname: deep\ndescription: d\nz: {}\n---\n\nbody\n", "[".repeat(130_000));
    let started = std::time::Instant::now();
    let post = {
        let (client, url, token) = (h.http.clone(), h.url("/api/skills"), h.token.clone());
        tokio::spawn(async move {
            let r = client.post(url).bearer_auth(token).json(&json!({"name": "deep", "content": content})).send().await;
            let r = r.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    let health = h.http.get(h.url("/healthz")).timeout(Duration::from_secs(5)).send().await;
    assert!(health.is_ok_and(|r| r.status() == 200), "/healthz did not answer while the skill was parsed");
    let (s, v) = post.await.unwrap();
    assert_eq!(s, 422, "{v}");
    assert!(v["error"]["problems"][0]["reason"].as_str().unwrap().contains("levels deep"), "{v}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(!skill_names(&h).await.contains(&"deep".to_string()));
}
