//! The first-run guide's API against a real engine: its state (open until done or dismissed,
//! reopened from Settings, kept across restarts), the live checklist (key works, first turn,
//! first judged, first skill), and `POST /api/setup/test` against the stand-in and deliberately
//! broken addresses (closed port, unresolvable host, plain HTTP on an https address, a 401, a web
//! page, a silent server, a redirect), each explained in plain words, the key never stored.

mod common;

use std::time::Duration;

use common::{say, Harness};
use metaclaw::api::client::Client;
use metaclaw::api::types::setup::{
    ChecklistStep, Provider, SetupAction, SetupState, SetupStatus, SetupTest, SetupTestResult, TestOutcome,
};
use metaclaw_standin::Options;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client(h: &Harness) -> Client {
    Client::new(h.base.clone(), h.token.clone())
}

fn custom(base_url: &str, key: Option<&str>) -> SetupTest {
    SetupTest {
        provider: Provider::Custom,
        base_url: Some(base_url.into()),
        protocol: None,
        key: key.map(str::to_string),
        stored_key: None,
        timeout_secs: Some(3),
    }
}

async fn test(h: &Harness, t: &SetupTest) -> SetupTestResult {
    client(h).setup_test(t).await.unwrap()
}

fn done_at(s: &SetupStatus, step: ChecklistStep) -> Option<i64> {
    s.checklist.iter().find(|i| i.step == step).unwrap().done_at
}

/// A loopback server that answers every connection with `answer` (after reading the request),
/// or never answers when `answer` is `None`; counts connections.
async fn fake(answer: Option<&'static str>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else { return };
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                match answer {
                    Some(a) => {
                        let _ = s.write_all(a.as_bytes()).await;
                        let _ = s.shutdown().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            });
        }
    });
    (addr.to_string(), hits)
}

#[tokio::test]
async fn the_guide_stays_open_until_done_or_dismissed_reopens_and_survives_a_restart() {
    let mut h = Harness::start(|_| {}).await;
    let c = client(&h);
    let s = c.setup().await.unwrap();
    assert_eq!((s.state, s.changed_at), (SetupState::Open, None));
    assert_eq!(s.checklist.len(), 4);
    assert!(s.checklist.iter().all(|i| i.done_at.is_none()), "{:?}", s.checklist);
    let names: Vec<_> = s.providers.iter().map(|p| p.label.as_str()).collect();
    for want in ["OpenAI", "Anthropic", "OpenRouter", "Ollama", "LM Studio", "llama.cpp", "Another server"] {
        assert!(names.iter().any(|n| n.starts_with(want)), "{want} missing from {names:?}");
    }

    assert_eq!(c.set_setup(SetupAction::Dismissed).await.unwrap().state, SetupState::Dismissed);
    assert_eq!(c.set_setup(SetupAction::Reopen).await.unwrap().state, SetupState::Open);
    let done = c.set_setup(SetupAction::Done).await.unwrap();
    assert_eq!(done.state, SetupState::Done);
    assert!(done.changed_at.is_some());

    h.restart(|_| {}).await;
    assert_eq!(client(&h).setup().await.unwrap().state, SetupState::Done, "kept in the store");
    // A wrong action is refused with the API's error, not stored.
    let r = h
        .http
        .put(h.url("/api/setup"))
        .bearer_auth(&h.token)
        .json(&serde_json::json!({"action": "finished"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    h.stop().await;
}

#[tokio::test]
async fn a_working_key_lists_the_models_ticks_key_works_and_is_never_stored() {
    let h = Harness::start_with(
        |_| {},
        metaclaw::engine::Keys::none(),
        Options { record: true, require_key: Some("sk-good-key-1234".into()), ..Default::default() },
    )
    .await;
    let r = test(&h, &custom(&h.standin.base_url(), Some("sk-good-key-1234"))).await;
    assert_eq!(r.outcome, TestOutcome::Ok, "{}", r.message);
    assert_eq!(r.http_status, Some(200));
    let ids: Vec<_> = r.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["standin-follower", "standin-judge", "standin-large", "standin-small"]);
    assert_eq!(r.models[2].cheaper.as_deref(), Some("standin-small"), "a cheaper sibling for the judge");
    assert_eq!(r.models[3].cheaper, None, "already the cheap one");
    assert_eq!(r.base_url, h.standin.base_url());

    // The key went to that address once, as the protocol wants it.
    let seen: Vec<_> = h.standin.requests().into_iter().filter(|q| q.path == "/v1/models").collect();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some("Bearer sk-good-key-1234"));

    let s = client(&h).setup().await.unwrap();
    assert!(done_at(&s, ChecklistStep::KeyWorks).is_some(), "{:?}", s.checklist);
    // Testing stored nothing: no key is set, and the key is nowhere in the home.
    let keys = client(&h).keys().await.unwrap();
    let default = keys.iter().find(|k| k.name == "upstream.default").unwrap();
    assert!(!default.set, "{default:?}");
    h.flush().await;
    for entry in std::fs::read_dir(h.home.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains("sk-good-key-1234"), "the key is in {}", p.display());
        }
    }
    h.stop().await;
}

#[tokio::test]
async fn a_refused_or_missing_key_is_explained_without_showing_the_key() {
    let h = Harness::start_with(
        |_| {},
        metaclaw::engine::Keys::none(),
        Options { record: true, require_key: Some("sk-good-key-1234".into()), ..Default::default() },
    )
    .await;
    let r = test(&h, &custom(&h.standin.base_url(), Some("sk-wrong-key-9876"))).await;
    assert_eq!((r.outcome, r.http_status), (TestOutcome::KeyRefused, Some(401)));
    assert!(
        r.message.starts_with("The server at 127.0.0.1:") && r.message.contains("refused the key"),
        "{}",
        r.message
    );
    assert!(!r.message.contains("sk-wrong"), "{}", r.message);
    let r = test(&h, &custom(&h.standin.base_url(), None)).await;
    assert_eq!(r.outcome, TestOutcome::KeyRefused);
    assert!(r.message.contains("needs a key"), "{}", r.message);
    assert!(r.models.is_empty());
    let s = client(&h).setup().await.unwrap();
    assert_eq!(done_at(&s, ChecklistStep::KeyWorks), None, "a refused key ticks nothing");
    h.stop().await;
}

#[tokio::test]
async fn the_anthropic_protocol_sends_its_own_key_header_and_version() {
    let h = Harness::start(|_| {}).await;
    let t = SetupTest { provider: Provider::Anthropic, ..custom(&h.standin.base_url(), Some("sk-ant-test-1")) };
    let r = test(&h, &t).await;
    assert_eq!(r.outcome, TestOutcome::Ok, "{}", r.message);
    assert_eq!(r.protocol, metaclaw::config::Protocol::Anthropic);
    let q = h.standin.requests().into_iter().find(|q| q.path == "/v1/models").unwrap();
    assert_eq!(q.header("x-api-key"), Some("sk-ant-test-1"));
    assert!(q.header("anthropic-version").is_some());
    assert_eq!(q.header("authorization"), None);
    h.stop().await;
}

#[tokio::test]
async fn broken_addresses_are_explained_in_plain_words_within_the_time_limit() {
    let h = Harness::start(|_| {}).await;
    // A closed port: bind, note the port, close.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let r = test(&h, &custom(&format!("http://{closed}/v1"), Some("k-1234"))).await;
    assert_eq!(r.outcome, TestOutcome::ConnectionRefused, "{}", r.message);
    assert!(r.message.contains("connection refused"), "{}", r.message);

    let r = test(&h, &custom("http://no-such-host.invalid/v1", Some("k-1234"))).await;
    assert_eq!(r.outcome, TestOutcome::HostNotFound, "{}", r.message);
    assert!(r.message.contains("Can't find the host \"no-such-host.invalid\""), "{}", r.message);

    // An https address whose server speaks plain HTTP.
    let (plain, _) = fake(Some("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")).await;
    let r = test(&h, &custom(&format!("https://{plain}/v1"), Some("k-1234"))).await;
    assert_eq!(r.outcome, TestOutcome::Tls, "{}", r.message);
    assert!(r.message.contains("http:// instead of https://"), "{}", r.message);

    // A web page where the API should be.
    let page = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 27\r\nconnection: close\r\n\r\n<html><body>Hi</body></html";
    let (web, _) = fake(Some(page)).await;
    let r = test(&h, &custom(&format!("http://{web}"), None)).await;
    assert_eq!(r.outcome, TestOutcome::NotLlm, "{}", r.message);
    assert!(r.message.contains("a web page") && r.message.contains("usually ends in /v1"), "{}", r.message);

    // JSON that is not a model list.
    let other = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}";
    let (json, _) = fake(Some(other)).await;
    assert_eq!(test(&h, &custom(&format!("http://{json}/v1"), None)).await.outcome, TestOutcome::NotLlm);

    // A server that never answers: given up after the test's time limit.
    let (silent, _) = fake(None).await;
    let mut t = custom(&format!("http://{silent}/v1"), Some("k-1234"));
    t.timeout_secs = Some(1);
    let started = std::time::Instant::now();
    let r = test(&h, &t).await;
    assert_eq!(r.outcome, TestOutcome::Timeout, "{}", r.message);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    // A redirect is not followed: the key goes to the address given and nowhere else.
    let (elsewhere, hits) = fake(Some("HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"data\":[]}")).await;
    let redirect: &'static str = Box::leak(
        format!("HTTP/1.1 302 Found\r\nlocation: http://{elsewhere}/v1/models\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .into_boxed_str(),
    );
    let (moved, _) = fake(Some(redirect)).await;
    let r = test(&h, &custom(&format!("http://{moved}/v1"), Some("k-1234"))).await;
    assert_eq!(r.outcome, TestOutcome::NotLlm, "{}", r.message);
    assert!(r.message.contains(&elsewhere), "{}", r.message);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect was followed");

    // Addresses that are not http(s) URLs never leave the engine.
    for bad in ["ftp://example.com/v1", "http://user:pw@example.com/v1", "not a url"] {
        let e = client(&h).setup_test(&custom(bad, None)).await.unwrap_err();
        assert_eq!(e.status(), Some(400), "{bad}: {e}");
    }
    let mut odd = custom(&h.standin.base_url(), None);
    odd.stored_key = Some("../Default".into());
    assert_eq!(client(&h).setup_test(&odd).await.unwrap_err().status(), Some(400), "not an upstream name");
    let s = client(&h).setup().await.unwrap();
    assert_eq!(done_at(&s, ChecklistStep::KeyWorks), None);
    h.stop().await;
}

#[tokio::test]
async fn the_checklist_ticks_as_turns_are_seen_judged_and_turned_into_skills() {
    let h = Harness::start(|c| {
        c.judge.model = Some("standin-judge".into());
        c.judge.wait_for_next_secs = 1;
        c.evolve.model = Some("standin-evolver".into());
    })
    .await;
    let c = client(&h);
    let first = "put the standup time in the notes [[evolve:timestamps]]";
    say(&h, "guide", &[first], false).await;
    say(&h, "guide", &[first, &format!("Echo: {first}"), "no, timestamps must carry +08:00 [[judge_score:-1]]"], true)
        .await;
    h.flush().await;
    let s = c.setup().await.unwrap();
    assert!(done_at(&s, ChecklistStep::FirstTurn).is_some());
    assert!(done_at(&s, ChecklistStep::KeyWorks).is_some(), "an answered turn proves the upstream works");
    let mut last = s;
    for _ in 0..400 {
        if done_at(&last, ChecklistStep::FirstJudged).is_some() && done_at(&last, ChecklistStep::FirstSkill).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        h.flush().await;
        last = c.setup().await.unwrap();
    }
    assert!(done_at(&last, ChecklistStep::FirstJudged).is_some(), "{:?}", last.checklist);
    assert!(done_at(&last, ChecklistStep::FirstSkill).is_some(), "{:?}", last.checklist);
    assert_eq!(last.state, SetupState::Open, "ticks don't close the guide");
    h.stop().await;
}
