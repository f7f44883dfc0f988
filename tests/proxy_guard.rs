//! Who may use the proxy and what leaves it, over real loopback HTTP: web pages, rebound host
//! names and non-JSON posts are refused; the proxy key, MetaClaw's own headers and upstream CORS
//! headers never travel on; passthrough can't climb out of the base path; slow, idle and silent
//! sockets can't starve the listener; credentials in an upstream address never show.

mod common;

use std::time::{Duration, Instant};

use common::{user, Harness};
use metaclaw::config::Auth;
use metaclaw::engine::Keys;
use metaclaw_standin::Options;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn port(h: &Harness) -> u16 {
    h.engine.as_ref().unwrap().addr().port()
}

/// Sends `raw` as is and reads until the server closes (or `limit` passes); returns the text.
async fn raw(h: &Harness, raw: &str, limit: Duration) -> String {
    let mut s = TcpStream::connect(h.engine.as_ref().unwrap().addr()).await.unwrap();
    s.write_all(raw.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(resp: &str) -> u16 {
    resp.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

async fn recorded_turns(h: &Harness) -> usize {
    h.flush().await;
    h.client().turns(&Default::default()).await.unwrap().turns.len()
}

#[tokio::test]
async fn web_pages_and_rebound_host_names_cannot_use_the_proxy() {
    let h = Harness::start(|_| {}).await;
    let p = port(&h);
    let chat = h.url("/v1/chat/completions");
    let body = user("hi").to_string();
    let post = |url: &str| h.http.post(url).header("content-type", "application/json").body(body.clone());

    // The finding's repro: a simple text/plain POST from a page on a rebound name.
    let r = h
        .http
        .post(&chat)
        .header("content-type", "text/plain")
        .header("origin", "http://evil.example")
        .header("host", format!("x.evil:{p}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "permission_error", "{v}");

    // A rebound host name alone.
    for host in [format!("x.evil:{p}"), "evil.example".into(), format!("127.0.0.1:{}", p.wrapping_add(1))] {
        let r = post(&chat).header("host", host.clone()).send().await.unwrap();
        assert_eq!(r.status(), 403, "Host {host}");
    }
    // A foreign page on the right host: every route, both error formats, `null` included.
    for origin in ["http://evil.example", "null", "https://localhost:1.evil.example", "file://"] {
        let r = post(&chat).header("origin", origin).send().await.unwrap();
        assert_eq!(r.status(), 403, "Origin {origin}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["message"].as_str().unwrap().contains("web pages"), "{v}");
    }
    let anthropic = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    for path in ["/v1/messages", "/v1/messages/count_tokens"] {
        let r = h.http.post(h.url(path)).header("origin", "http://evil.example").json(&anthropic).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["type"], "error", "{path}: {v}");
        assert_eq!(v["error"]["type"], "permission_error", "{path}: {v}");
    }
    let r = h.http.get(h.url("/v1/models")).header("origin", "http://evil.example").send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = post(&h.url("/v1/embeddings")).header("origin", "http://evil.example").send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = h
        .http
        .request(reqwest::Method::OPTIONS, &chat)
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().keys().all(|k| !k.as_str().starts_with("access-control-")));

    // Loads that carry no Origin (`<img>`, `<script>`, links) are still labelled by the browser.
    for site in ["cross-site", "same-site"] {
        let r = h.http.get(h.url("/v1/models")).header("sec-fetch-site", site).send().await.unwrap();
        assert_eq!(r.status(), 403, "Sec-Fetch-Site {site}");
    }
    assert!(h.standin.requests().is_empty(), "a refused request reached the upstream");
    assert_eq!(recorded_turns(&h).await, 0, "a refused request was recorded");

    // Local agents still get through, whichever loopback name they use.
    for host in [format!("127.0.0.1:{p}"), format!("localhost:{p}"), format!("[::1]:{p}"), "localhost".into()] {
        let r = post(&chat).header("host", host.clone()).send().await.unwrap();
        assert_eq!(r.status(), 200, "Host {host}");
    }
    let r = post(&chat).header("origin", format!("http://localhost:{p}")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the engine's own origin");
    h.stop().await;
}

#[tokio::test]
async fn bodies_that_are_not_json_get_415_in_the_callers_format() {
    let h = Harness::start(|_| {}).await;
    let body = user("hi").to_string();
    let chat = h.url("/v1/chat/completions");
    for ct in
        [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None]
    {
        let mut rb = h.http.post(&chat).body(body.clone());
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 415, "{ct:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("application/json"), "{v}");
    }
    let r = h
        .http
        .post(h.url("/v1/messages"))
        .header("content-type", "text/plain")
        .body(json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error", "{v}");
    let r = h.http.post(h.url("/v1/embeddings")).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(r.status(), 415);
    assert!(h.standin.requests().is_empty());
    assert_eq!(recorded_turns(&h).await, 0);

    // JSON with parameters is JSON, and the upstream gets exactly one Content-Type.
    let r =
        h.http.post(&chat).header("content-type", "Application/JSON; charset=utf-8").body(body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let seen = h.standin.requests();
    let cts: Vec<&String> = seen[0].headers.iter().filter(|(k, _)| k == "content-type").map(|(_, v)| v).collect();
    assert_eq!(cts, ["application/json"], "duplicate or foreign Content-Type upstream");
    h.stop().await;
}

#[tokio::test]
async fn cors_headers_from_the_upstream_never_reach_the_client() {
    let h = Harness::start(|_| {}).await;
    // The stand-in allows every origin, as public APIs do.
    assert!(h.chat_direct(&user("hi")).await.headers().contains_key("access-control-allow-origin"));
    let no_cors = |r: &reqwest::Response| r.headers().keys().all(|k| !k.as_str().starts_with("access-control-"));
    let r = h.chat(user("hi")).await;
    assert_eq!(r.status(), 200);
    assert!(no_cors(&r), "{:?}", r.headers());
    let mut stream = user("hi");
    stream["stream"] = json!(true);
    let r = h.chat(stream).await;
    assert!(no_cors(&r), "{:?}", r.headers());
    let r = h.http.post(h.url("/v1/embeddings")).json(&json!({"model": "e", "input": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(no_cors(&r), "passthrough: {:?}", r.headers());
    let r = h.http.get(h.url("/v1/models")).send().await.unwrap();
    assert!(no_cors(&r), "models: {:?}", r.headers());
    let r = h.chat(user("[[status:500]]")).await;
    assert!(no_cors(&r), "error: {:?}", r.headers());
    h.stop().await;
}

#[tokio::test]
async fn the_proxy_key_and_metaclaw_headers_never_reach_the_upstream() {
    let key = "k12345678-proxy";
    let keys = Keys { proxy: Some(key.into()), ..Keys::none() }.with_upstream("default", "sk-upstream");
    let h = Harness::start_with(|_| {}, keys, Options { record: true, ..Default::default() }).await;
    let r = h
        .http
        .post(h.url("/v1/chat/completions"))
        .header("x-metaclaw-key", key)
        .header("x-metaclaw-trace", "t")
        .header("x-session-id", "s1")
        .header("x-turn-type", "main")
        .header("x-session-done", "0")
        .json(&user("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r =
        h.http.post(h.url("/v1/embeddings")).bearer_auth(key).json(&json!({"model": "e", "input": "x"})).send().await;
    assert_eq!(r.unwrap().status(), 200);
    let seen = h.standin.requests();
    assert_eq!(seen.len(), 2);
    for req in &seen {
        for (k, v) in &req.headers {
            assert!(!v.contains(key), "the proxy key went upstream in {k}");
            assert!(
                !k.starts_with("x-metaclaw-") && !k.starts_with("x-session-") && k != "x-turn-type",
                "{k} forwarded"
            );
        }
        assert_eq!(req.header("authorization"), Some("Bearer sk-upstream"));
    }
    h.stop().await;
}

#[tokio::test]
async fn with_a_passthrough_upstream_the_proxy_key_is_never_the_callers_credential() {
    let key = "k12345678-proxy";
    let keys = Keys { proxy: Some(key.into()), ..Keys::none() };
    let h = Harness::start_with(
        |c| c.upstream.auth = Auth::Passthrough,
        keys,
        Options { record: true, ..Default::default() },
    )
    .await;
    let chat = h.url("/v1/chat/completions");
    // The proxy key in the caller's credential header is not accepted, and never forwarded.
    let r = h.http.post(&chat).bearer_auth(key).json(&user("hi")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("x-metaclaw-key"), "{v}");
    let r = h.http.post(&chat).header("x-metaclaw-key", key).bearer_auth(key).json(&user("hi")).send().await.unwrap();
    assert_eq!(r.status(), 401, "the proxy key was taken as the caller's upstream credential");
    let r = h.http.post(&chat).header("x-metaclaw-key", key).header("x-api-key", key).json(&user("hi")).send().await;
    assert_eq!(r.unwrap().status(), 401);
    assert!(h.standin.requests().is_empty(), "the proxy key reached the upstream");
    // The caller's own key goes through; the proxy key does not.
    let r =
        h.http.post(&chat).header("x-metaclaw-key", key).bearer_auth("sk-user").json(&user("hi")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let seen = h.standin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some("Bearer sk-user"));
    assert!(seen[0].headers.iter().all(|(_, v)| !v.contains(key)));
    h.stop().await;
}

#[tokio::test]
async fn passthrough_paths_with_dot_segments_are_refused() {
    let h = Harness::start(|_| {}).await;
    let p = port(&h);
    for path in [
        "/v1/../x",
        "/v1/%2e%2e/%2e%2e/x",
        "/v1/%2E%2E/x",
        "/v1/%2e./x",
        "/v1/.%2E/x",
        "/v1/./embeddings",
        "/v1/a/%2e",
        "/v1/..%5cx",
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nConnection: close\r\n\r\n");
        let resp = raw(&h, &req, Duration::from_secs(10)).await;
        assert_eq!(status_of(&resp), 400, "{path}: {resp}");
    }
    assert!(h.standin.requests().is_empty(), "{:?}", h.standin.requests());
    // Dots inside names and queries are fine.
    let req = format!("GET /v1/models/gpt-4.1?x=.. HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nConnection: close\r\n\r\n");
    let resp = raw(&h, &req, Duration::from_secs(10)).await;
    assert_ne!(status_of(&resp), 400, "{resp}");
    assert_eq!(h.standin.requests()[0].path, "/v1/models/gpt-4.1");
    h.stop().await;
}

#[tokio::test]
async fn two_hundred_slow_sockets_do_not_starve_healthz() {
    let h = Harness::start(|_| {}).await;
    let addr = h.engine.as_ref().unwrap().addr();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    let health = tokio::time::timeout(Duration::from_secs(5), h.http.get(h.url("/healthz")).send()).await;
    let r = health.expect("/healthz did not answer within 5 s").unwrap();
    assert_eq!(r.status(), 200);
    eprintln!("/healthz with 200 slow sockets open: {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(2), "/healthz took {:?}", started.elapsed());
    drop(slow);
    h.stop().await;
}

#[tokio::test]
async fn silent_idle_and_slow_header_sockets_are_closed_within_the_header_timeout() {
    let h = Harness::start(|c| c.proxy.header_timeout_secs = 1).await;
    let addr = h.engine.as_ref().unwrap().addr();
    let closed_within = |mut s: TcpStream, what: &'static str| async move {
        let started = Instant::now();
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "{what}: still open after 5 s");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(500), "{what}: closed at once ({took:?})");
        buf
    };
    // Sends nothing at all.
    let silent = TcpStream::connect(addr).await.unwrap();
    // Sends a few bytes of headers, then nothing.
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127").await.unwrap();
    // Sends a single byte: not even enough to tell HTTP/1 from HTTP/2.
    let mut one = TcpStream::connect(addr).await.unwrap();
    one.write_all(b"P").await.unwrap();
    let (a, b, c) = tokio::join!(
        closed_within(silent, "silent socket"),
        closed_within(partial, "partial headers"),
        closed_within(one, "one byte")
    );
    assert!(a.is_empty() && c.is_empty());
    let _ = b;
    // A keep-alive socket left idle after an answer is closed too.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    closed_within(idle, "idle keep-alive socket").await;
    // And the listener still answers.
    assert_eq!(h.http.get(h.url("/healthz")).send().await.unwrap().status(), 200);
    h.stop().await;
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_408() {
    let h = Harness::start(|c| c.proxy.body_timeout_secs = 1).await;
    let p = port(&h);
    let started = Instant::now();
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"model\": \"m\", "
    );
    let resp = raw(&h, &req, Duration::from_secs(10)).await;
    assert_eq!(status_of(&resp), 408, "{resp}");
    assert!(resp.contains("proxy.body_timeout_secs"), "{resp}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(h.standin.requests().is_empty());
    // Passthrough streams the body on as it comes: still the client's 408, not a 502.
    let req = format!(
        "POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"model\": \"e\", "
    );
    let resp = raw(&h, &req, Duration::from_secs(10)).await;
    assert_eq!(status_of(&resp), 408, "{resp}");
    h.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_request_finish() {
    let mut h = Harness::start(|_| {}).await;
    let http = h.http.clone();
    let url = h.url("/v1/chat/completions");
    let inflight = tokio::spawn(async move { http.post(url).json(&user("slow [[delay_ms:600]]")).send().await });
    common::wait_until("the request reaches the upstream", || !h.standin.requests().is_empty()).await;
    h.engine.take().unwrap().shutdown().await;
    let r = inflight.await.unwrap().expect("the in-flight request was cut off");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains("slow"), "{v}");
}

#[tokio::test]
async fn ipv4_mapped_loopback_clients_count_as_local() {
    // Listening on `::` (dual stack), an IPv4 client on 127.0.0.1 shows up as ::ffff:127.0.0.1.
    let h = Harness::start(|c| c.proxy.host = "::".parse().unwrap()).await;
    let p = port(&h);
    let base = format!("http://127.0.0.1:{p}");
    let r = h.http.post(format!("{base}/v1/chat/completions")).json(&user("hi")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = h.http.get(format!("{base}/api/status")).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .http
        .post(format!("{base}/v1/chat/completions"))
        .header("host", format!("[::ffff:127.0.0.1]:{p}"))
        .json(&user("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.stop().await;
}

#[tokio::test]
async fn credentials_inside_an_upstream_url_never_show() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let h = Harness::start(|c| c.upstream.base_url = format!("http://alice:hunter22@{closed}/v1")).await;
    let r = h.chat(user("hi")).await;
    assert_eq!(r.status(), 502);
    let text = r.text().await.unwrap();
    assert!(text.contains(&format!("***@{closed}")), "{text}");
    assert!(!text.contains("hunter22") && !text.contains("alice"), "{text}");
    h.flush().await;
    let page = h.client().turns(&Default::default()).await.unwrap();
    let id = page.turns[0].id;
    assert_eq!(h.turn_detail(id).await.summary.http_status, Some(502));
    // The raw answers, every field the UI gets, not only those the client reads.
    let t = h.admin(&format!("/api/turns/{id}")).await;
    assert!(!t.to_string().contains("hunter22"), "{t}");
    let status = h.admin("/api/status").await;
    assert!(!status.to_string().contains("hunter22"), "{status}");
    h.stop().await;
}

#[tokio::test]
async fn the_admin_apis_401_shows_no_machine_path() {
    let h = Harness::start(|_| {}).await;
    let r = h.http.get(h.url("/api/status")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let text = r.text().await.unwrap();
    let home = h.home.path().display().to_string();
    assert!(!text.contains(&home) && !text.contains("/tmp") && !text.contains("/home/"), "{text}");
    assert!(text.contains("admin.token"), "{text}");
    h.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot_instead_of_piling_up() {
    let h = Harness::start(|c| {
        c.proxy.max_connections = 2;
        c.proxy.header_timeout_secs = 1;
    })
    .await;
    let addr = h.engine.as_ref().unwrap().addr();
    // Both slots are taken by sockets that never send a request.
    let held = [TcpStream::connect(addr).await.unwrap(), TcpStream::connect(addr).await.unwrap()];
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(10), h.http.get(h.url("/healthz")).send())
        .await
        .expect("/healthz never got a slot")
        .unwrap();
    assert_eq!(r.status(), 200);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(500), "served past the cap after {waited:?}");
    drop(held);
    h.stop().await;
}

#[tokio::test]
async fn http2_clients_are_served_and_checked_by_their_authority() {
    let h = Harness::start(|_| {}).await;
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let r = h2.get(h.url("/healthz")).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    let r = h2.post(h.url("/v1/chat/completions")).json(&user("over h2")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = h2
        .post(h.url("/v1/chat/completions"))
        .header("origin", "http://evil.example")
        .json(&user("over h2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    h.stop().await;
}

#[tokio::test]
async fn idle_http2_connections_that_answer_pings_are_closed_and_free_their_slot() {
    let h = Harness::start(|c| {
        c.proxy.max_connections = 2;
        c.proxy.header_timeout_secs = 1;
    })
    .await;
    // Both slots are taken by HTTP/2 clients that made one request and now only answer pings.
    let mut held = Vec::new();
    for _ in 0..2 {
        let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
        let r = h2.get(h.url("/healthz")).send().await.unwrap();
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        assert_eq!(r.status(), 200);
        held.push(h2);
    }
    let fresh = reqwest::Client::builder().http1_only().build().unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), fresh.get(h.url("/healthz")).send())
        .await
        .expect("/healthz never got a slot: idle HTTP/2 connections held them")
        .unwrap();
    assert_eq!(r.status(), 200);
    // A request in flight is never cut: an answer slower than the idle deadline arrives whole.
    let h2 = &held[0];
    let r = h2.post(h.url("/v1/chat/completions")).json(&user("slow [[delay_ms:2500]]")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    drop(held);
    h.stop().await;
}

#[tokio::test]
async fn the_header_deadline_never_cuts_a_slow_answer_or_a_long_stream() {
    let h = Harness::start(|c| c.proxy.header_timeout_secs = 1).await;
    // The upstream thinks for 2 s: the request's headers arrived long ago.
    let r = h.chat(user("slow [[delay_ms:2000]]")).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap()["choices"][0]["message"]["content"].is_string());
    // A stream that lasts well past the header deadline arrives whole.
    let body = json!({"model": "m", "stream": true,
        "messages": [{"role": "user", "content": "a b c d e f [[chunk_delay_ms:400]]"}]});
    let r = h.chat(body).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    h.stop().await;
}

#[tokio::test]
async fn requests_refused_or_relayed_without_a_turn_are_counted_in_status() {
    let h = Harness::start(|_| {}).await;
    let post = |path: &str, ct: &str, body: &str| {
        h.http
            .post(h.url(path))
            .header("content-type", ct)
            .header("anthropic-version", "2023-06-01")
            .body(body.to_string())
    };
    let r = post("/v1/chat/completions", "application/json", "{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let bad_role = r#"{"model": "m", "max_tokens": 5, "messages": [{"role": "tool", "content": "x"}]}"#;
    assert_eq!(post("/v1/messages", "application/json", bad_role).send().await.unwrap().status(), 400);
    assert_eq!(post("/v1/chat/completions", "text/plain", "hi").send().await.unwrap().status(), 415);
    let count = r#"{"model": "m", "messages": [{"role": "user", "content": "one two"}]}"#;
    assert_eq!(post("/v1/messages/count_tokens", "application/json", count).send().await.unwrap().status(), 200);
    let emb = r#"{"model": "e", "input": "x"}"#;
    assert_eq!(post("/v1/embeddings", "application/json", emb).send().await.unwrap().status(), 200);

    let status = h.client().status().await.unwrap();
    let want = [
        ("refused_invalid_request", 2),
        ("refused_not_json", 1),
        ("relayed_count_tokens", 1),
        ("relayed_passthrough", 1),
    ];
    let want: std::collections::BTreeMap<String, u64> = want.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    assert_eq!(status.unrecorded, want);
    assert_eq!(recorded_turns(&h).await, 0);
    h.stop().await;
}

/// The turn endpoints are served straight from the listener, everything else through the router:
/// a turn reached either way (`/v1/...` or an agent's `/agents/<name>/v1/...`, which goes
/// through the router) is checked, answered and recorded the same.
#[tokio::test]
async fn turn_endpoints_answer_the_same_from_the_listener_as_through_the_router() {
    let h = Harness::start(|_| {}).await;
    let p = port(&h);
    let body = user("same either way");
    let anthropic = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let mut answers = Vec::new();
    for (chat, messages) in [
        ("/v1/chat/completions", "/v1/messages?beta=true"),
        ("/agents/lanes/v1/chat/completions", "/agents/lanes/v1/messages?beta=true"),
    ] {
        let r = h.http.post(h.url(chat)).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{chat}");
        assert!(r.headers().contains_key("x-metaclaw-turn-id"), "{chat}");
        let openai: Value = r.json().await.unwrap();
        let r = h.http.post(h.url(messages)).json(&anthropic).send().await.unwrap();
        assert_eq!(r.status(), 200, "{messages}");
        let claude: Value = r.json().await.unwrap();
        // A foreign Host is refused the same way on both, in each caller's format.
        let foreign = |path: &str| h.http.post(h.url(path)).header("host", format!("x.evil:{p}"));
        let r = foreign(chat).json(&body).send().await.unwrap();
        let refused_openai = (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"]["type"].clone());
        let r = foreign(messages).json(&anthropic).send().await.unwrap();
        let refused_claude = (r.status().as_u16(), r.json::<Value>().await.unwrap()["type"].clone());
        answers.push((
            openai["choices"][0]["message"].clone(),
            claude["content"].clone(),
            refused_openai,
            refused_claude,
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].2, (403, json!("permission_error")));
    assert_eq!(answers[0].3, (403, json!("error")));
    // Another method on a turn path is the router's to answer, and records nothing.
    let r = h.http.get(h.url("/v1/chat/completions")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(recorded_turns(&h).await, 4, "two turns each way; refusals and a GET record none");
    h.stop().await;
}

#[test]
fn refusals_are_logged_at_info_with_the_reason_but_never_the_body_or_a_key() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let standin = rt.block_on(common::standin(Options::default()));
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("config.toml"), format!("[upstream]\nbase_url = \"{}\"\n", standin.base_url()))
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_metaclaw"))
        .args(["serve", "--port", "0"])
        .env("METACLAW_HOME", home.path())
        .env("METACLAW_NO_KEYRING", "1")
        .env_remove("METACLAW_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let base = line.trim().trim_start_matches("MetaClaw listening on ").to_string();
    rt.block_on(async {
        let http = reqwest::Client::new();
        // Claude Code 2.1's request as MetaClaw refused it before system messages were accepted.
        let body = json!({"model": "claude-x", "max_tokens": 5, "messages": [
            {"role": "user", "content": "body-secret-words"}, {"role": "tool", "content": "x"}]});
        let r = http
            .post(format!("{base}/messages?beta=true"))
            .header("x-api-key", "sk-ant-header-secret")
            .header("user-agent", "claude-cli/2.1.332 (external, sdk-cli)")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let r =
            http.post(format!("{base}/embeddings")).json(&json!({"model": "e", "input": "x"})).send().await.unwrap();
        assert_eq!(r.status(), 200);
    });
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    let refused = logs.lines().find(|l| l.contains("request refused")).unwrap_or_else(|| panic!("{logs}"));
    assert!(refused.contains("INFO"), "{refused}");
    for needle in ["refused_invalid_request", "/v1/messages", "messages[1].role", "claude-cli/2.1.332", "400"] {
        assert!(refused.contains(needle), "{needle} missing from {refused}");
    }
    let relayed = logs.lines().find(|l| l.contains("without a turn record")).unwrap_or_else(|| panic!("{logs}"));
    assert!(relayed.contains("relayed_passthrough") && relayed.contains("/v1/embeddings"), "{relayed}");
    assert!(!logs.contains("body-secret-words") && !logs.contains("sk-ant-header-secret"), "{logs}");
}
