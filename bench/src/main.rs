//! `metaclaw-bench`: measures what MetaClaw adds on the request path, against the stand-in
//! upstream directly and against nginx as a plain reverse proxy, all in one run on one machine
//! (figures are reported as differences and ratios, since the machine is shared and noisy).
//!
//! Usage: metaclaw-bench --metaclaw BIN --standin BIN [--nginx BIN] [--quick] [--one-core]
//! (`--one-core`: only the one-core layout of [`one_core`]), or
//! `metaclaw-bench --load URL --requests N [--connections C]`: sends the one-core layout's
//! request N times to URL (a `/v1` base) and prints the rate, e.g. to profile a running proxy, or
//! `metaclaw-bench --floor PORT UPSTREAM`: serves the bare proxy of [`floor`] (the one-core layout
//! starts it so).

mod floor;
mod one_core;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

struct Args {
    metaclaw: PathBuf,
    standin: PathBuf,
    nginx: Option<PathBuf>,
    quick: bool,
    one_core_only: bool,
    /// `--load URL --requests N [--connections C]`.
    load: Option<(String, u64, usize)>,
}

fn args() -> Args {
    let mut a = Args {
        metaclaw: PathBuf::new(),
        standin: PathBuf::new(),
        nginx: None,
        quick: false,
        one_core_only: false,
        load: None,
    };
    let (mut load_url, mut requests, mut conns) = (None, 10_000u64, 32usize);
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--metaclaw" => a.metaclaw = it.next().expect("--metaclaw BIN").into(),
            "--standin" => a.standin = it.next().expect("--standin BIN").into(),
            "--nginx" => a.nginx = it.next().map(Into::into),
            "--quick" => a.quick = true,
            "--one-core" => a.one_core_only = true,
            "--load" => load_url = it.next(),
            "--requests" => requests = it.next().and_then(|n| n.parse().ok()).expect("--requests N"),
            "--connections" => conns = it.next().and_then(|n| n.parse().ok()).expect("--connections N"),
            o => panic!("unknown argument {o}"),
        }
    }
    if let Some(url) = load_url {
        a.load = Some((url, requests, conns));
        return a;
    }
    assert!(a.metaclaw.exists() && a.standin.exists(), "--metaclaw and --standin must name built binaries");
    a
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn first_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    line.trim().to_string()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        })
        .unwrap_or(0)
}

/// `metaclaw serve` started by `cmd` (the binary, or `taskset` in front of it) with a home at
/// `home` holding `config`, plus `extra` arguments; returns it (stopped when dropped) and its base
/// URL once it is healthy.
async fn start_metaclaw(
    mut cmd: Command,
    home: &Path,
    config: &str,
    extra: &[&str],
    client: &reqwest::Client,
) -> (Proc, String) {
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(home.join("config.toml"), config).unwrap();
    let port = free_port();
    let mc = cmd
        .args(["serve", "--port", &port.to_string()])
        .args(extra)
        .env("METACLAW_HOME", home)
        .env("METACLAW_NO_KEYRING", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mc = Proc(mc);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(client, &format!("{base}/healthz")).await;
    (mc, base)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// nginx as a plain reverse proxy to `upstream`, with one worker (on `cpu` when given).
fn start_nginx(bin: &Path, upstream: &str, dir: &Path, cpu: Option<u32>) -> (Proc, String) {
    let port = free_port();
    let host = upstream.trim_start_matches("http://").trim_end_matches("/v1");
    let conf = format!(
        "worker_processes 1;\nerror_log stderr error;\npid {dir}/nginx.pid;\nevents {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n\
         fastcgi_temp_path {dir}/fcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
         upstream standin {{ server {host}; keepalive 64; keepalive_requests 1000000; }}\n\
         server {{\n    listen 127.0.0.1:{port};\n    client_max_body_size 32m;\n    keepalive_requests 1000000;\n\
         location / {{ proxy_pass http://standin; proxy_http_version 1.1; proxy_set_header Connection \"\";\n\
         proxy_buffering off; proxy_request_buffering off; }}\n  }}\n}}\n",
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let mut cmd = match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu.to_string()]).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let child = cmd
        .args(["-c", path.to_str().unwrap(), "-p", dir.to_str().unwrap(), "-g", "daemon off;"])
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx starts");
    (Proc(child), format!("http://127.0.0.1:{port}/v1"))
}

async fn wait_healthy(client: &reqwest::Client, url: &str) {
    let t = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{url} never became healthy");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn small_body() -> Value {
    json!({"model": "standin-small", "messages": [{"role": "user", "content": "hello benchmark"}]})
}

/// An agent-sized request: a ~40 KB system prompt and a dozen tools, as OpenClaw sends.
fn agent_body() -> Value {
    let system = "You are a capable personal agent. Follow the workspace rules carefully. ".repeat(560);
    let tools: Vec<Value> = (0..12)
        .map(|i| json!({"type": "function", "function": {"name": format!("tool_{i}"), "description": "Does a thing with files and the shell. ".repeat(6),
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}}}))
        .collect();
    json!({"model": "standin-small", "tools": tools, "messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": "please tidy the reports folder"},
        {"role": "assistant", "content": "Sure, which files?"},
        {"role": "user", "content": "all csv files from last week"}]})
}

/// A request that gets built-in skills injected (through MetaClaw).
fn skills_body() -> Value {
    json!({"model": "standin-small", "messages": [
        {"role": "system", "content": "You are a helpful agent."},
        {"role": "user", "content": "the checkout page got really slow after the deploy, can you profile it?"}]})
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Sequential latencies (ms) for `n` requests on one keep-alive connection.
async fn latencies(client: &reqwest::Client, url: &str, body: &Value, n: usize) -> Vec<f64> {
    let body = serde_json::to_vec(body).unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.post(url).header("content-type", "application/json").body(body.clone()).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.unwrap();
        out.push(t.elapsed().as_secs_f64() * 1e3);
    }
    out
}

/// Sequential latencies (ms) of Anthropic Messages calls to `url` (a `/v1/messages` endpoint).
async fn latencies_messages(client: &reqwest::Client, url: &str, model: &str, n: usize) -> Vec<f64> {
    let body = serde_json::to_vec(&json!({"model": model, "max_tokens": 64, "system": "You are terse.",
        "messages": [{"role": "user", "content": "hello benchmark"}]}))
    .unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .header("anthropic-version", "2023-06-01")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.unwrap();
        out.push(t.elapsed().as_secs_f64() * 1e3);
    }
    out
}

/// Time to the first body byte of a paced stream (ms).
async fn ttfb(client: &reqwest::Client, url: &str, n: usize) -> Vec<f64> {
    let body = serde_json::to_vec(&json!({"model": "m", "stream": true,
        "messages": [{"role": "user", "content": "one two three four [[chunk_delay_ms:5]]"}]}))
    .unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.post(url).header("content-type", "application/json").body(body.clone()).send().await.unwrap();
        let mut s = r.bytes_stream();
        s.next().await.unwrap().unwrap();
        out.push(t.elapsed().as_secs_f64() * 1e3);
        while s.next().await.is_some() {}
    }
    out
}

/// Requests per second with `conns` concurrent connections for `dur`; also samples `pid`'s peak RSS.
async fn throughput(url: &str, conns: usize, dur: Duration, pid: Option<u32>) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let body = serde_json::to_vec(&small_body()).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (done, stop, body, url) = (done.clone(), stop.clone(), body.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().http1_only().build().unwrap();
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let t = Instant::now();
    let mut peak = 0;
    while t.elapsed() < dur {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(p) = pid {
            peak = peak.max(rss_kib(p));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    (done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64(), peak)
}

struct Target {
    name: &'static str,
    url: String,
}

/// Keeps policy training busy until `on` goes false; returns the optimiser steps done meanwhile.
async fn feed_training(base: String, token_path: PathBuf, on: Arc<AtomicBool>) -> u64 {
    let client = reqwest::Client::new();
    let token = std::fs::read_to_string(&token_path).unwrap_or_default().trim().to_string();
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
    let mut i = 0usize;
    let steps = |v: &Value| v["today"]["steps"].as_u64().unwrap_or(0);
    let before = match client.get(format!("{base}/api/train")).bearer_auth(&token).send().await {
        Ok(r) => steps(&r.json().await.unwrap_or(Value::Null)),
        Err(_) => 0,
    };
    while on.load(Ordering::SeqCst) {
        i += 1;
        let body = json!({"model": "train-bench", "messages": [{"role": "user", "content": format!("{} please", words[i % words.len()])}]});
        let Ok(r) = client.post(format!("{base}/v1/chat/completions")).json(&body).send().await else { continue };
        let id =
            r.headers().get("x-metaclaw-turn-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
        let _ = r.bytes().await;
        if let Some(id) = id {
            let score = if i.is_multiple_of(3) { -1 } else { 1 };
            // The turn reaches the database within the flush interval.
            for _ in 0..5 {
                let sent = client
                    .post(format!("{base}/api/turns/{id}/feedback"))
                    .bearer_auth(&token)
                    .json(&json!({"score": score}))
                    .send()
                    .await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if i.is_multiple_of(2) {
            let _ = client.post(format!("{base}/api/train/run-now")).bearer_auth(&token).send().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    match client.get(format!("{base}/api/train")).bearer_auth(&token).send().await {
        Ok(r) => steps(&r.json().await.unwrap_or(Value::Null)).saturating_sub(before),
        Err(_) => 0,
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if let [_, flag, port, upstream] = argv.as_slice() {
        if flag == "--floor" {
            // The floor runs on the runtime MetaClaw serves with (multi-threaded, one worker per CPU).
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            rt.block_on(floor::serve(port.parse().expect("--floor PORT UPSTREAM"), upstream.clone()));
            return;
        }
    }
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run());
}

async fn run() {
    let a = args();
    if let Some((url, n, conns)) = &a.load {
        let url = format!("{}/chat/completions", url.trim_end_matches('/'));
        let rps = one_core::load(&url, &one_core::body(), *conns, Duration::ZERO, Some(*n)).await;
        println!("{n} requests over {conns} connections: {rps:.0} req/s");
        return;
    }
    let tmp = std::env::temp_dir().join(format!("metaclaw-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    if a.one_core_only {
        let one = one_core::run(&a.metaclaw, &a.standin, a.nginx.as_deref(), &tmp, a.quick).await;
        println!("json: {}", json!({"one_core": one}));
        let _ = std::fs::remove_dir_all(&tmp);
        return;
    }
    let client = reqwest::Client::builder().http1_only().build().unwrap();

    let mut standin = Command::new(&a.standin).arg("--no-record").stdout(Stdio::piped()).spawn().unwrap();
    let standin_url = first_line(&mut standin).trim_start_matches("listening on ").to_string() + "/v1";
    let _standin = Proc(standin);

    let home = tmp.join("home");
    // Two upstreams on the same stand-in: claude-* models over the Messages API, the rest over
    // Chat Completions (the default), so both protocols and the translation can be measured.
    let config = format!(
        "[log]\nlevel = \"warn\"\n[[upstreams]]\nname = \"claude\"\nkind = \"anthropic\"\nbase_url = \"{standin_url}\"\nmodels = [\"claude-*\"]\n\n[[upstreams]]\nname = \"local\"\nbase_url = \"{standin_url}\"\ndefault = true\n"
    );
    let spawned = Instant::now();
    let (served, mc_base) = start_metaclaw(Command::new(&a.metaclaw), &home, &config, &[], &client).await;
    let mc_pid = served.0.id();
    let start_to_healthy = spawned.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = rss_kib(mc_pid);

    let mut targets = vec![Target { name: "direct", url: standin_url.clone() }];
    let _nginx = a.nginx.as_ref().map(|bin| {
        let (p, url) = start_nginx(bin, &standin_url, &tmp, None);
        targets.push(Target { name: "nginx", url });
        p
    });
    targets.push(Target { name: "metaclaw", url: format!("{mc_base}/v1") });

    // The same engine with the learning loop busy: every turn is judged at once (3 calls each),
    // so the judge works throughout the measurement.
    let loop_home = tmp.join("loop-home");
    let loop_config = "[log]\nlevel = \"warn\"\n[judge]\nmodel = \"standin-judge\"\nwait_for_next_secs = 0\n[evolve]\nmodel = \"standin-evolver\"\n";
    let upstream = ["--upstream", standin_url.as_str()];
    let (_looping, loop_base) =
        start_metaclaw(Command::new(&a.metaclaw), &loop_home, loop_config, &upstream, &client).await;
    targets.push(Target { name: "mc+judge", url: format!("{loop_base}/v1") });

    // And with policy training stepping throughout: a feeder sends turns to the policy (model
    // `train-*`, served by the Tinker stand-in), scores them and starts a run whenever none is
    // going, so batches are tokenized, trained, saved and hot-swapped during the measurement.
    let tok_dir = tmp.join("tokenizer");
    let mut tinker = Command::new(&a.standin).args(["--tinker"]).arg(&tok_dir).stdout(Stdio::piped()).spawn().unwrap();
    let tinker_url = first_line(&mut tinker).trim_start_matches("listening on ").to_string();
    let _tinker = Proc(tinker);
    let train_home = tmp.join("train-home");
    let train_config = format!(
        "[log]\nlevel = \"warn\"\n[store]\nflush_interval_ms = 10\n[train]\nenabled = true\nbase_model = \"standin/tiny-chat\"\nbase_url = \"{tinker_url}\"\nserve_models = [\"train-*\"]\nmin_batch = 2\nmax_steps_per_day = 1000000\nmax_spend_per_day_usd = 1000000.0\ntokenizer_dir = \"{}\"\n",
        tok_dir.display()
    );
    let (_training, train_base) =
        start_metaclaw(Command::new(&a.metaclaw), &train_home, &train_config, &upstream, &client).await;
    targets.push(Target { name: "mc+train", url: format!("{train_base}/v1") });
    let feeding = Arc::new(AtomicBool::new(true));
    // Its own thread and runtime, so it never competes with the measuring client.
    let feeder = {
        let (base, token, on) = (train_base.clone(), train_home.join("admin.token"), feeding.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(feed_training(base, token, on))
        })
    };
    for t in &targets {
        wait_healthy(&client, &format!("{}/models", t.url)).await;
    }

    let (rounds, per_round, tput_secs) = if a.quick { (3, 150, 2) } else { (7, 400, 5) };
    let mut lat: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut lat_big: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut first: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut lat_skills: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    for t in &targets {
        latencies(&client, &format!("{}/chat/completions", t.url), &small_body(), 200).await;
        // warm up
    }
    // Interleave targets round by round so drift on the shared machine hits all of them alike.
    for _ in 0..rounds {
        for (i, t) in targets.iter().enumerate() {
            let url = format!("{}/chat/completions", t.url);
            lat[i].extend(latencies(&client, &url, &small_body(), per_round).await);
            lat_big[i].extend(latencies(&client, &url, &agent_body(), per_round / 4).await);
            first[i].extend(ttfb(&client, &url, per_round / 8).await);
            lat_skills[i].extend(latencies(&client, &url, &skills_body(), per_round / 4).await);
        }
    }
    // The Messages API: relayed to an Anthropic upstream, and translated for an OpenAI one.
    let (mut an_direct, mut an_relay, mut oa_chat, mut an_translated) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mc_messages = format!("{mc_base}/v1/messages");
    let mc_chat = format!("{mc_base}/v1/chat/completions");
    let plain = json!({"model": "standin-small", "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hello benchmark"}]});
    for _ in 0..rounds {
        an_direct.extend(
            latencies_messages(&client, &format!("{standin_url}/messages"), "claude-bench", per_round / 2).await,
        );
        an_relay.extend(latencies_messages(&client, &mc_messages, "claude-bench", per_round / 2).await);
        oa_chat.extend(latencies(&client, &mc_chat, &plain, per_round / 2).await);
        an_translated.extend(latencies_messages(&client, &mc_messages, "standin-small", per_round / 2).await);
    }
    for v in [&mut an_direct, &mut an_relay, &mut oa_chat, &mut an_translated] {
        v.sort_by(f64::total_cmp);
    }

    feeding.store(false, Ordering::SeqCst);
    let steps = feeder.join().unwrap_or(0);

    let mut tput = Vec::new();
    let mut rss_load = 0;
    for t in &targets {
        let pid = (t.name == "metaclaw").then_some(mc_pid);
        let (rps, peak) =
            throughput(&format!("{}/chat/completions", t.url), 32, Duration::from_secs(tput_secs), pid).await;
        if pid.is_some() {
            rss_load = peak;
        }
        tput.push(rps);
    }

    for v in lat.iter_mut().chain(lat_big.iter_mut()).chain(first.iter_mut()).chain(lat_skills.iter_mut()) {
        v.sort_by(f64::total_cmp);
    }
    let stat = |v: &Vec<f64>| (pct(v, 0.5), pct(v, 0.99));
    let (d50, d99) = stat(&lat[0]);
    let (b50, b99) = stat(&lat_big[0]);
    let (f50, _) = stat(&first[0]);
    println!(
        "MetaClaw proxy benchmark ({} samples per target at 1 connection, {} s at 32 connections)",
        lat[0].len(),
        tput_secs
    );
    println!(
        "{:<10} {:>9} {:>9} {:>13} {:>13} {:>13} {:>13} {:>11} {:>14} {:>10}",
        "target",
        "p50 ms",
        "p99 ms",
        "+p50 ms",
        "+p99 ms",
        "+p50 40KB ms",
        "+p99 40KB ms",
        "+TTFB p50",
        "+p50 skills",
        "req/s@32"
    );
    let (s50, _) = stat(&lat_skills[0]);
    let mut out = serde_json::Map::new();
    for (i, t) in targets.iter().enumerate() {
        let (p50, p99) = stat(&lat[i]);
        let (q50, q99) = stat(&lat_big[i]);
        let (t50, _) = stat(&first[i]);
        let (k50, _) = stat(&lat_skills[i]);
        println!(
            "{:<10} {:>9.3} {:>9.3} {:>13.3} {:>13.3} {:>13.3} {:>13.3} {:>11.3} {:>14.3} {:>10.0}",
            t.name,
            p50,
            p99,
            p50 - d50,
            p99 - d99,
            q50 - b50,
            q99 - b99,
            t50 - f50,
            k50 - s50,
            tput[i]
        );
        out.insert(t.name.into(), json!({"p50_ms": p50, "p99_ms": p99, "overhead_p50_ms": p50 - d50, "overhead_p99_ms": p99 - d99,
            "agent_body_overhead_p50_ms": q50 - b50, "agent_body_overhead_p99_ms": q99 - b99, "ttfb_overhead_p50_ms": t50 - f50,
            "skills_overhead_p50_ms": k50 - s50, "rps_32": tput[i]}));
    }
    let mc = targets.iter().position(|t| t.name == "metaclaw").unwrap();
    if let Some(l) = targets.iter().position(|t| t.name == "mc+judge") {
        let (a, b) = (stat(&lat[mc]), stat(&lat[l]));
        println!(
            "with the judge scoring every turn in the background: added p50 {:.3} ms, p99 {:.3} ms (vs {:.3} / {:.3} without)",
            b.0 - d50,
            b.1 - d99,
            a.0 - d50,
            a.1 - d99
        );
    }
    if let Some(l) = targets.iter().position(|t| t.name == "mc+train") {
        let (a, b) = (stat(&lat[mc]), stat(&lat[l]));
        println!(
            "with policy training stepping in the background ({steps} optimiser steps during the measurement): added p50 {:.3} ms, p99 {:.3} ms (vs {:.3} / {:.3} without); p50 ratio {:.2}",
            b.0 - d50,
            b.1 - d99,
            a.0 - d50,
            a.1 - d99,
            (b.0 - d50) / (a.0 - d50).max(1e-6)
        );
        out.insert(
            "training".into(),
            json!({"steps": steps, "overhead_p50_ms": b.0 - d50, "overhead_p99_ms": b.1 - d99}),
        );
    }
    if targets.iter().any(|t| t.name == "nginx") {
        let over = |i: usize| stat(&lat[i]).0 - d50;
        println!(
            "metaclaw vs nginx: overhead p50 {:.2}x nginx's, throughput at 32 connections {:.0}% of nginx's",
            over(mc) / over(1).max(1e-6),
            100.0 * tput[mc] / tput[1]
        );
    }
    println!(
        "metaclaw process: start to healthy {:.0} ms, RSS idle {:.1} MB, RSS peak under 32-connection load {:.1} MB",
        start_to_healthy.as_secs_f64() * 1e3,
        rss_idle as f64 / 1024.0,
        rss_load as f64 / 1024.0
    );
    let (a50, a99) = (pct(&an_direct, 0.5), pct(&an_direct, 0.99));
    let (r50, r99) = (pct(&an_relay, 0.5), pct(&an_relay, 0.99));
    let (c50, _) = (pct(&oa_chat, 0.5), pct(&oa_chat, 0.99));
    let (x50, _) = (pct(&an_translated, 0.5), pct(&an_translated, 0.99));
    println!(
        "/v1/messages relayed to an Anthropic upstream: added p50 {:.3} ms, p99 {:.3} ms; translated for an OpenAI upstream: {:.3} ms p50 more than the same turn as a chat completion",
        r50 - a50,
        r99 - a99,
        x50 - c50
    );
    out.insert(
        "anthropic".into(),
        json!({"relay_overhead_p50_ms": r50 - a50, "relay_overhead_p99_ms": r99 - a99, "translation_p50_ms": x50 - c50}),
    );
    out.insert(
        "process".into(),
        json!({"start_to_healthy_ms": start_to_healthy.as_secs_f64() * 1e3,
        "rss_idle_mb": rss_idle as f64 / 1024.0, "rss_load_mb": rss_load as f64 / 1024.0}),
    );
    // Last, since it pins this process to one CPU.
    let one = one_core::run(&a.metaclaw, &a.standin, a.nginx.as_deref(), &tmp, a.quick).await;
    out.insert("one_core".into(), one);
    println!("json: {}", Value::Object(out));
    // Stopped before their folder goes (nginx removes its pid file on the way out).
    drop((_nginx, _training, _tinker, _looping, served, _standin));
    let _ = std::fs::remove_dir_all(&tmp);
}
