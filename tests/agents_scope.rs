//! Per-agent scope end to end: turns attributed by route (`/agents/<name>/v1/...`), the
//! `X-Agent-Id` header, the client's user agent or "unknown"; skills scoped to one agent;
//! `X-MetaClaw-Inject: off`; filters by agent.

mod common;

use common::{turn_id, user, Harness};
use metaclaw::agent::AgentId;
use metaclaw::api::types::learning::{
    ApprovalScope, ApproveArg, Candidate, CandidateFilter, CandidateStatus, LearningList, LearningQuery,
};
use metaclaw::api::types::status::{TurnDetail, TurnFilter, TurnPage};
use metaclaw::skills::Injected;
use metaclaw::turn::TurnType;
use serde_json::{json, Value};

fn agent(name: &str) -> AgentId {
    AgentId::parse(name).unwrap()
}

/// Turn `id` as the typed client reads it, once recorded.
async fn turn(h: &Harness, id: i64) -> TurnDetail {
    h.flush().await;
    h.client().turn(id).await.unwrap()
}

/// The names of the skills injected into a turn.
fn injected(t: &TurnDetail) -> Vec<String> {
    let skills: Vec<Injected> = serde_json::from_value(t.summary.skills.clone()).unwrap();
    skills.into_iter().map(|s| s.name).collect()
}

/// Sends a chat completion to `path` with `headers`; asserts 200 and returns the turn's id.
async fn chat_at(h: &Harness, path: &str, headers: &[(&str, &str)], body: &Value) -> i64 {
    let mut rb = h.http.post(h.url(path)).json(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    turn_id(&r)
}

#[tokio::test]
async fn every_endpoint_answers_under_an_agent_route() {
    let h = Harness::start(|_| {}).await;
    chat_at(&h, "/agents/codex/v1/chat/completions", &[], &user("hello")).await;
    assert_eq!(h.standin.requests().last().unwrap().path, "/v1/chat/completions");
    let anthropic =
        json!({"model": "standin-small", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]});
    let r = h.http.post(h.url("/agents/claude-code/v1/messages")).json(&anthropic).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .http
        .post(h.url("/agents/codex/v1/responses"))
        .json(&json!({"model": "standin-small", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = h.http.get(h.url("/agents/openclaw/v1/models")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Anything else under /v1 is relayed from an agent route too.
    let r = h
        .http
        .post(h.url("/agents/openclaw/v1/embeddings"))
        .json(&json!({"model": "standin-embed", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 404, "relayed, not refused by MetaClaw");
    assert!(h.standin.requests().last().unwrap().path.ends_with("/embeddings"));
    h.stop().await;
}

#[tokio::test]
async fn a_route_with_a_bad_agent_name_is_a_404_in_the_callers_protocol() {
    let h = Harness::start(|_| {}).await;
    let r = h.http.post(h.url("/agents/Not_An!Agent/v1/chat/completions")).json(&user("hi")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("agent name"), "{v}");
    let r = h.http.post(h.url("/agents/bad_name/v1/messages")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error", "Anthropic-style: {v}");
    let r = h.http.post(h.url("/agents/unknown/v1/chat/completions")).json(&user("hi")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(h.standin.requests().is_empty(), "nothing reached the upstream");
    h.stop().await;
}

#[tokio::test]
async fn an_agent_route_keeps_the_proxy_checks() {
    // A web page cannot reach the proxy by an agent route either.
    let h = Harness::start(|_| {}).await;
    let r = h
        .http
        .post(h.url("/agents/codex/v1/chat/completions"))
        .header("origin", "https://evil.example")
        .json(&user("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(h.standin.requests().is_empty());
    h.stop().await;
}

#[tokio::test]
async fn turns_are_attributed_by_route_header_user_agent_or_unknown() {
    let h = Harness::start(|_| {}).await;
    let body = user("hello");
    // The route wins over the header, which wins over the user agent.
    let by_route = chat_at(
        &h,
        "/agents/openclaw/v1/chat/completions",
        &[("x-agent-id", "mine"), ("user-agent", "codex_exec/1")],
        &body,
    )
    .await;
    let by_header =
        chat_at(&h, "/v1/chat/completions", &[("x-agent-id", "Mine"), ("user-agent", "codex_exec/1")], &body).await;
    let by_ua = chat_at(&h, "/v1/chat/completions", &[("user-agent", "codex_cli_rs/0.171.0 (Debian 13)")], &body).await;
    let claude =
        chat_at(&h, "/v1/chat/completions", &[("user-agent", "claude-cli/2.1.332 (external, cli)")], &body).await;
    let sdk = chat_at(&h, "/v1/chat/completions", &[("user-agent", "OpenAI/Python 1.99.0")], &body).await;
    let unknown = chat_at(&h, "/v1/chat/completions", &[("user-agent", "curl/8.5.0")], &body).await;
    for (id, agent) in [
        (by_route, "openclaw"),
        (by_header, "mine"),
        (by_ua, "codex"),
        (claude, "claude-code"),
        (sdk, "sdk"),
        (unknown, "unknown"),
    ] {
        assert_eq!(turn(&h, id).await.summary.agent.as_str(), agent, "turn {id}");
    }
    // Neither the header nor the route's name goes upstream.
    for r in h.standin.requests() {
        assert!(r.header("x-agent-id").is_none(), "{:?}", r.headers);
        assert!(r.header("x-metaclaw-agent").is_none(), "{:?}", r.headers);
    }
    // The Responses and Messages APIs record their agent too.
    let r = h
        .http
        .post(h.url("/agents/codex/v1/responses"))
        .json(&json!({"model": "standin-small", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(turn(&h, turn_id(&r)).await.summary.agent, agent("codex"));
    let anthropic =
        json!({"model": "standin-small", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]});
    let r = h.http.post(h.url("/agents/claude-code/v1/messages")).json(&anthropic).send().await.unwrap();
    assert_eq!(turn(&h, turn_id(&r)).await.summary.agent, agent("claude-code"));
    // Turns filter by agent.
    let c = h.client();
    let page = c.turns(&TurnFilter { agent: Some(agent("codex")), ..Default::default() }).await.unwrap();
    let ids: Vec<i64> = page.turns.iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), 2, "{page:?}");
    assert!(ids.contains(&by_ua));
    assert!(page.turns.iter().all(|t| t.agent == agent("codex")));
    // Every agent seen, with its turn count and last turn, the latest first.
    let seen = c.agents().await.unwrap();
    let agents = &seen.agents;
    assert_eq!(agents[0].agent, agent("claude-code"), "{seen:?}");
    let codex = agents.iter().find(|a| a.agent == agent("codex")).unwrap();
    assert_eq!(codex.turns, 2, "{seen:?}");
    assert!(codex.last_seen_ms >= turn(&h, by_ua).await.summary.started_at);
    assert_eq!(agents.len(), 6, "openclaw, mine, codex, claude-code, sdk, unknown: {seen:?}");
    let r = h.http.get(h.url("/api/turns?agent=Not%20valid")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 400, "a bad agent name is refused, not ignored");
    h.stop().await;
}

fn skill_md(name: &str, description: &str, agents: Option<&str>, body: &str) -> String {
    let agents = agents.map(|a| format!("agents: [{a}]\n")).unwrap_or_default();
    format!("---\nname: {name}\ndescription: {description:?}\n{agents}---\n\n{body}\n")
}

async fn create_skill(h: &Harness, name: &str, content: String) {
    let r = h
        .http
        .post(h.url("/api/skills"))
        .bearer_auth(&h.token)
        .json(&json!({"name": name, "content": content}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
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
async fn a_skill_scoped_to_codex_is_injected_for_codex_and_not_for_claude_code() {
    let h = Harness::start(|_| {}).await;
    let md = skill_md(
        "iso-timestamps",
        "Use whenever writing timestamps or dates: ISO 8601 with the +08:00 offset.",
        Some("codex"),
        "Write 2026-03-16T09:00:00+08:00.",
    );
    create_skill(&h, "iso-timestamps", md).await;
    let c = h.client();
    let shown = c.skill("iso-timestamps").await.unwrap();
    assert_eq!(shown.entry.skill.agents, [agent("codex")], "the scope is shown: {shown:?}");
    let listed = c.skills(&Default::default()).await.unwrap();
    let row = listed.skills.iter().find(|s| s.name == "iso-timestamps").unwrap();
    assert_eq!(row.agents, [agent("codex")], "and in the list: {row:?}");
    let ask = json!({"model": "m", "messages": [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "add the timestamps to the report please"}]});
    let codex = chat_at(&h, "/agents/codex/v1/chat/completions", &[], &ask).await;
    assert!(system_sent(&h).contains("### iso-timestamps"), "injected for codex");
    assert_eq!(injected(&turn(&h, codex).await).first().map(String::as_str), Some("iso-timestamps"));
    let cc = chat_at(&h, "/agents/claude-code/v1/chat/completions", &[], &ask).await;
    assert_eq!(system_sent(&h), "You are an agent.", "not injected for claude-code");
    assert!(injected(&turn(&h, cc).await).is_empty());
    let none = chat_at(&h, "/v1/chat/completions", &[], &ask).await;
    assert_eq!(system_sent(&h), "You are an agent.", "nor for an unknown agent");
    assert_eq!(turn(&h, none).await.summary.agent, AgentId::UNKNOWN);
    h.stop().await;
}

#[tokio::test]
async fn the_no_inject_header_records_the_turn_without_skills_and_is_not_forwarded() {
    let h = Harness::start(|_| {}).await;
    let md = skill_md(
        "iso-timestamps",
        "Use whenever writing timestamps or dates: ISO 8601 with the +08:00 offset.",
        None,
        "Write 2026-03-16T09:00:00+08:00.",
    );
    create_skill(&h, "iso-timestamps", md).await;
    let ask = json!({"model": "m", "messages": [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "add the timestamps to the report please"}]});
    let id = chat_at(&h, "/agents/openclaw/v1/chat/completions", &[("X-MetaClaw-Inject", "off")], &ask).await;
    let seen = h.standin.requests().last().unwrap().clone();
    assert_eq!(system_sent(&h), "You are an agent.", "not injected");
    assert!(seen.header("x-metaclaw-inject").is_none(), "the header stays here: {:?}", seen.headers);
    let t = turn(&h, id).await;
    assert!(injected(&t).is_empty());
    assert!(t.summary.inject_off);
    assert_eq!(t.summary.agent, agent("openclaw"));
    assert_eq!(t.summary.turn_type, TurnType::Main, "still a main turn: judged and learned from");
    // Without the header the same request gets the skill.
    let on = chat_at(&h, "/agents/openclaw/v1/chat/completions", &[], &ask).await;
    assert!(system_sent(&h).contains("### iso-timestamps"));
    assert!(!turn(&h, on).await.summary.inject_off);
    // The Messages API honours it too.
    let anthropic = json!({"model": "standin-small", "max_tokens": 16, "system": "You are an agent.",
        "messages": [{"role": "user", "content": "add the timestamps to the report please"}]});
    let r = h
        .http
        .post(h.url("/agents/claude-code/v1/messages"))
        .header("x-metaclaw-inject", "off")
        .json(&anthropic)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = turn(&h, turn_id(&r)).await;
    assert!(injected(&t).is_empty() && t.summary.inject_off, "{t:?}");
    h.stop().await;
}

fn learning(c: &mut metaclaw::config::Config) {
    c.judge.model = Some("standin-judge".into());
    c.judge.wait_for_next_secs = 1;
    c.evolve.model = Some("standin-evolver".into());
}

/// One chat turn of `history` in `session` from `agent` (by its route); returns the turn's id.
async fn say_as(h: &Harness, agent: &str, session: &str, history: &[&str], done: bool) -> i64 {
    let messages: Vec<Value> = history
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": t}))
        .collect();
    let mut headers = vec![("x-session-id", session)];
    if done {
        headers.push(("x-session-done", "true"));
    }
    chat_at(h, &format!("/agents/{agent}/v1/chat/completions"), &headers, &json!({"model": "m", "messages": messages}))
        .await
}

/// Codex fails a turn and is corrected; returns the evolver's pending candidate, scoped to codex.
async fn codex_candidate(h: &Harness) -> Candidate {
    let first = "put the standup time in the notes [[evolve:timestamps]]";
    say_as(h, "codex", "fix", &[first], false).await;
    say_as(
        h,
        "codex",
        "fix",
        &[first, &format!("Echo: {first}"), "no, timestamps must carry +08:00 [[judge_score:-1]]"],
        true,
    )
    .await;
    let pending = CandidateFilter { status: Some(CandidateStatus::Pending), agent: None };
    for _ in 0..400 {
        let list = h.client().candidates(&pending).await.unwrap();
        if let Some(c) = list.candidates.into_iter().next() {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no candidate from codex's failure");
}

#[tokio::test]
async fn approving_a_codex_skill_as_shared_widens_it_to_claude_code_and_the_default_keeps_it_codexs() {
    for (scope, claude_gets_it) in
        [(None, false), (Some(ApprovalScope::Agent), false), (Some(ApprovalScope::Shared), true)]
    {
        let h = Harness::start(learning).await;
        let c = h.client();
        let cand = codex_candidate(&h).await;
        assert!(cand.content.contains("agents:\n- codex"), "{cand:?}");
        let reply = c.approve(cand.id, &ApproveArg { content: None, scope }).await.unwrap();
        assert_eq!(reply.status, CandidateStatus::Approved, "{reply:?}");
        let skill = c.skill(&cand.name).await.unwrap();
        let want = if claude_gets_it { vec![] } else { vec![agent("codex")] };
        assert_eq!(skill.entry.skill.agents, want, "scope {scope:?}: {skill:?}");
        let name = &skill.entry.skill.name;
        let ask = "what time is the standup tomorrow? give me the timestamp";
        let codex = say_as(&h, "codex", "next-codex", &[ask], false).await;
        assert!(injected(&turn(&h, codex).await).contains(name), "codex keeps it");
        let cc = say_as(&h, "claude-code", "next-cc", &[ask], false).await;
        let got = injected(&turn(&h, cc).await).contains(name);
        assert_eq!(got, claude_gets_it, "scope {scope:?}: claude-code injected {got}");
        h.stop().await;
    }
}

/// Runs the CLI against the harness's engine (same home): (success, stdout, stderr).
fn cli(h: &Harness, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_metaclaw"))
        .args(args)
        .env("METACLAW_HOME", h.home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_one_agents_turns_and_approves_a_candidate_as_shared() {
    let h = Harness::start(learning).await;
    let cand = codex_candidate(&h).await;
    let other = chat_at(&h, "/agents/openclaw/v1/chat/completions", &[], &user("hello")).await;
    let (ok, out, err) = cli(&h, &["turns", "--agent", "codex", "--json"]);
    assert!(ok, "{err}");
    let page: TurnPage = serde_json::from_str(&out).unwrap();
    assert_eq!(page.turns.len(), 2, "{page:?}");
    assert!(page.turns.iter().all(|t| t.agent == agent("codex") && t.id != other), "{page:?}");
    let (ok, out, _) = cli(&h, &["turns", "--agent", "openclaw"]);
    assert!(ok && out.contains("AGENT") && out.contains("openclaw") && !out.contains("codex"), "{out}");
    let (ok, _, err) = cli(&h, &["turns", "--agent", "Not Valid"]);
    assert!(!ok && err.contains("agent"), "{err}");
    // Candidates know the agents of the turns they came from, and filter by them.
    assert_eq!(cand.agents, [agent("codex")], "{cand:?}");
    let c = h.client();
    let pending = |a: &str| CandidateFilter { status: Some(CandidateStatus::Pending), agent: Some(agent(a)) };
    let mine = c.candidates(&pending("codex")).await.unwrap();
    assert_eq!(mine.candidates.len(), 1, "{mine:?}");
    let theirs = c.candidates(&pending("openclaw")).await.unwrap();
    assert!(theirs.candidates.is_empty(), "{theirs:?}");
    let listed = |out: &str| serde_json::from_str::<metaclaw::api::types::learning::CandidateList>(out).unwrap();
    let (ok, out, err) = cli(&h, &["review", "list", "--agent", "openclaw", "--json"]);
    assert!(ok, "{err}");
    assert!(listed(&out).candidates.is_empty(), "{out}");
    let (ok, out, err) = cli(&h, &["review", "list", "--agent", "codex", "--json"]);
    assert!(ok, "{err}");
    assert_eq!(listed(&out).candidates[0].id, cand.id);
    let id = cand.id.to_string();
    let (ok, out, err) = cli(&h, &["review", "approve", &id, "--shared"]);
    assert!(ok, "{out}{err}");
    let skill = c.skill(&cand.name).await.unwrap();
    assert!(skill.entry.skill.agents.is_empty(), "shared: {skill:?}");
    h.stop().await;
}

/// Marks turn `id` good (1) or failed (-1) as the user.
async fn feedback(h: &Harness, id: i64, score: i64) {
    let r = h
        .http
        .post(h.url(&format!("/api/turns/{id}/feedback")))
        .bearer_auth(&h.token)
        .json(&json!({"score": score}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_learning_signal_counts_only_the_chosen_agents_turns() {
    let h = Harness::start(|_| {}).await;
    let codex = chat_at(&h, "/agents/codex/v1/chat/completions", &[], &user("hello")).await;
    let claude = chat_at(&h, "/agents/claude-code/v1/chat/completions", &[], &user("hello")).await;
    chat_at(&h, "/agents/openclaw/v1/chat/completions", &[], &user("hello")).await;
    feedback(&h, codex, 1).await;
    feedback(&h, claude, -1).await;
    let signal = |v: &LearningList| {
        let g = &v.generations[0];
        (g.turns, g.scored, g.mean_score, g.failure_rate)
    };
    let c = h.client();
    let of = |a: Option<&str>| LearningQuery { limit: None, agent: a.map(agent) };
    let all = c.learning(&of(None)).await.unwrap();
    assert_eq!(signal(&all), (3, 2, Some(0.0), Some(0.5)), "{all:?}");
    let mine = c.learning(&of(Some("codex"))).await.unwrap();
    assert_eq!(signal(&mine), (1, 1, Some(1.0), Some(0.0)), "{mine:?}");
    let theirs = c.learning(&of(Some("claude-code"))).await.unwrap();
    assert_eq!(signal(&theirs), (1, 1, Some(-1.0), Some(1.0)), "{theirs:?}");
    assert_eq!(theirs.generations[0].generation, all.generations[0].generation);
    let none = c.learning(&of(Some("hermes"))).await.unwrap();
    assert_eq!(signal(&none), (0, 0, None, None), "{none:?}");
    let r = h.http.get(h.url("/api/learning?agent=Not%20Valid")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 400, "a bad agent name is refused");
    let (ok, out, err) = cli(&h, &["generations", "list", "--agent", "codex", "--json"]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<LearningList>(&out).unwrap(), mine);
    // Field for field what the API answers, not only what this client reads.
    let raw = h.admin("/api/learning?agent=codex").await;
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), raw, "the CLI prints the API's answer");
    let (ok, _, err) = cli(&h, &["generations", "list", "--agent", "Not Valid"]);
    assert!(!ok && err.contains("agent"), "{err}");
    h.stop().await;
}
