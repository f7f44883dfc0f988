//! The one-core layout: each proxy (nginx, the bare proxy of [`crate::floor`], then MetaClaw)
//! pinned to CPU 0, the load generator and the stand-in upstream on CPU 1, the same 1,922-byte
//! request (skills injected by MetaClaw, every turn recorded) sent to the stand-in directly and
//! through each proxy, in one run: added p50/p99 at one connection and requests per second at 32
//! connections, with ratios. The stand-in is also asked MetaClaw's upstream request (the skills
//! injected) directly, so the upstream's extra work on the longer prompt can be told apart.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{first_line, free_port, pct, start_nginx, wait_healthy, Proc};

/// Size of the measured request, in bytes (the figure the targets were set with).
pub const BODY_BYTES: usize = 1922;

/// The measured request: an agent's system prompt and a question the built-in skills answer,
/// padded to exactly [`BODY_BYTES`].
pub fn body() -> Vec<u8> {
    let build = |pad: usize| {
        let system =
            format!("You are a helpful agent working in the user's repository.{}", " Keep it short.".repeat(pad));
        serde_json::to_vec(&json!({"model": "standin-small", "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": "the checkout page got really slow after the deploy, can you profile it?"}]}))
        .unwrap()
    };
    let mut pad = 0;
    while build(pad + 1).len() <= BODY_BYTES {
        pad += 1;
    }
    let mut b = build(pad);
    // Top up with spaces inside the system prompt (after its first word) to the exact size.
    let short = BODY_BYTES - b.len();
    let at = b.windows(4).position(|w| w == b"You ").unwrap() + 3;
    b.splice(at..at, std::iter::repeat_n(b' ', short));
    assert_eq!(b.len(), BODY_BYTES);
    b
}

/// Pins `pid` (all its threads) to `cpu`.
fn pin(pid: u32, cpu: u32) {
    let ok = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "taskset could not pin process {pid} to CPU {cpu} (is util-linux installed?)");
}

/// `cmd` started on `cpu` only (so every thread it starts stays there).
fn on_cpu(cpu: u32, bin: &Path) -> Command {
    let mut c = Command::new("taskset");
    c.args(["-c", &cpu.to_string()]).arg(bin);
    c
}

/// Sequential latencies (ms) of `n` requests on one keep-alive connection.
pub async fn latencies(client: &reqwest::Client, url: &str, body: &[u8], n: usize) -> Vec<f64> {
    let body = bytes_of(body);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.post(url).header("content-type", "application/json").body(body).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.unwrap();
        out.push(t.elapsed().as_secs_f64() * 1e3);
    }
    out
}

/// A request body that costs no copy per request.
fn bytes_of(b: &[u8]) -> &'static [u8] {
    Box::leak(b.to_vec().into_boxed_slice())
}

/// Requests per second with `conns` keep-alive connections for `dur`, or until `total` requests
/// when given.
pub async fn load(url: &str, body: &[u8], conns: usize, dur: Duration, total: Option<u64>) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let body = bytes_of(body);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (done, stop, url) = (done.clone(), stop.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().http1_only().build().unwrap();
            while !stop.load(Ordering::Relaxed) {
                if total.is_some_and(|t| done.fetch_add(1, Ordering::Relaxed) >= t) {
                    break;
                }
                let r = client.post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
                if total.is_none() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let t = Instant::now();
    if total.is_none() {
        tokio::time::sleep(dur).await;
        stop.store(true, Ordering::Relaxed);
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = match total {
        Some(t) => t,
        None => done.load(Ordering::Relaxed),
    };
    n as f64 / t.elapsed().as_secs_f64()
}

/// The stand-in's count of prompt words for one request to `url` (more through MetaClaw than
/// directly when skills were injected).
async fn prompt_words(client: &reqwest::Client, url: &str, body: &[u8]) -> i64 {
    let r = client.post(url).header("content-type", "application/json").body(body.to_vec()).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    v["usage"]["prompt_tokens"].as_i64().unwrap_or(0)
}

/// `metaclaw serve` on `cpu` whose one upstream is `upstream` (a base URL ending in `/v1`).
async fn start_metaclaw(bin: &Path, cpu: u32, home: &Path, upstream: &str, client: &reqwest::Client) -> (Proc, String) {
    let config = format!(
        "[log]\nlevel = \"warn\"\n[[upstreams]]\nname = \"local\"\nbase_url = \"{upstream}\"\ndefault = true\n"
    );
    crate::start_metaclaw(on_cpu(cpu, bin), home, &config, &[], client).await
}

/// The request MetaClaw sends upstream for `body` (the skills block injected), learnt from a
/// second MetaClaw in front of a recording stand-in, both on CPU 1 and gone before measuring. The
/// stand-in answered directly with it is the baseline that leaves out the upstream's own extra
/// work on the longer prompt, which is the model's time, not the proxy's.
async fn injected_body(metaclaw: &Path, standin: &Path, dir: &Path, body: &[u8]) -> Vec<u8> {
    let mut rec = on_cpu(1, standin).stdout(Stdio::piped()).spawn().unwrap();
    let rec_url = first_line(&mut rec).trim_start_matches("listening on ").to_string();
    let _rec = Proc(rec);
    let client = reqwest::Client::builder().http1_only().build().unwrap();
    let (_mc, mc_base) = start_metaclaw(metaclaw, 1, &dir.join("probe-home"), &format!("{rec_url}/v1"), &client).await;
    let url = format!("{mc_base}/v1/chat/completions");
    let r = client.post(url).header("content-type", "application/json").body(body.to_vec()).send().await.unwrap();
    assert!(r.status().is_success(), "the probe MetaClaw answered {}", r.status());
    let seen: Value = client.get(format!("{rec_url}/_standin/requests")).send().await.unwrap().json().await.unwrap();
    let sent = seen
        .as_array()
        .and_then(|all| all.iter().rev().find(|r| r["path"] == "/v1/chat/completions"))
        .and_then(|r| r["body"].as_str())
        .expect("the recording stand-in saw the probe's turn");
    sent.as_bytes().to_vec()
}

/// Runs the one-core layout; prints its table and returns its figures.
pub async fn run(metaclaw: &Path, standin: &Path, nginx: Option<&Path>, tmp: &Path, quick: bool) -> Value {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        println!("one-core layout skipped: it needs two CPUs, this machine offers {cpus}");
        return Value::Null;
    }
    // This process (and the stand-in it starts) on CPU 1; the proxies on CPU 0.
    pin(std::process::id(), 1);
    let dir = tmp.join("one-core");
    std::fs::create_dir_all(&dir).unwrap();
    let standin_bin = standin;
    let mut standin = Command::new(standin_bin).arg("--no-record").stdout(Stdio::piped()).spawn().unwrap();
    let standin_url = first_line(&mut standin).trim_start_matches("listening on ").to_string() + "/v1";
    let _standin = Proc(standin);

    let client = reqwest::Client::builder().http1_only().build().unwrap();
    let (_mc, mc_base) = start_metaclaw(metaclaw, 0, &dir.join("home"), &standin_url, &client).await;

    let mut targets = vec![("direct", standin_url.clone())];
    let _nginx = nginx.map(|bin| {
        let ngx_dir = dir.join("nginx");
        std::fs::create_dir_all(&ngx_dir).unwrap();
        let (p, url) = start_nginx(bin, &standin_url, &ngx_dir, Some(0));
        targets.push(("nginx", url));
        p
    });
    // The bare proxy (same runtime, server and client as MetaClaw, none of its work) on CPU 0.
    let floor_port = free_port();
    let mut floor = on_cpu(0, &std::env::current_exe().unwrap())
        .args(["--floor", &floor_port.to_string(), standin_url.trim_end_matches("/v1")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(first_line(&mut floor), "listening", "the bare proxy did not start");
    let _floor = Proc(floor);
    targets.push(("floor", format!("http://127.0.0.1:{floor_port}/v1")));
    targets.push(("metaclaw", format!("{mc_base}/v1")));
    for (_, url) in &targets {
        wait_healthy(&client, &format!("{url}/models")).await;
    }

    let body = body();
    let chat = |url: &str| format!("{url}/chat/completions");
    let direct_words = prompt_words(&client, &chat(&standin_url), &body).await;
    let mc_words = prompt_words(&client, &chat(&format!("{mc_base}/v1")), &body).await;
    assert!(mc_words > direct_words, "MetaClaw injected no skills into the measured request");
    let injected = injected_body(metaclaw, standin_bin, &dir, &body).await;
    assert_eq!(prompt_words(&client, &chat(&standin_url), &injected).await, mc_words, "the probe saw another request");
    // "direct+skills": the stand-in answering MetaClaw's upstream request itself.
    targets.insert(1, ("direct+skills", standin_url.clone()));
    let body_of = |name: &str| if name == "direct+skills" { &injected[..] } else { &body[..] };

    let (rounds, per_round, secs) = if quick { (3, 300, 2) } else { (7, 600, 5) };
    let mut lat: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    for (name, url) in &targets {
        latencies(&client, &chat(url), body_of(name), 300).await; // warm up
    }
    for _ in 0..rounds {
        for (i, (name, url)) in targets.iter().enumerate() {
            lat[i].extend(latencies(&client, &chat(url), body_of(name), per_round).await);
        }
    }
    let mut rps = vec![0f64; targets.len()];
    // Two passes each, interleaved; the better one counts (drift on a shared machine only slows).
    for _ in 0..2 {
        for (i, (name, url)) in targets.iter().enumerate() {
            rps[i] = rps[i].max(load(&chat(url), body_of(name), 32, Duration::from_secs(secs), None).await);
        }
    }
    for v in &mut lat {
        v.sort_by(f64::total_cmp);
    }
    let stat = |v: &[f64]| (pct(v, 0.5), pct(v, 0.99));
    let (d50, d99) = stat(&lat[0]);
    println!(
        "\nOne-core layout: each proxy on CPU 0, load generator and stand-in on CPU 1; the same {BODY_BYTES}-byte \
         request (MetaClaw injects skills: {} prompt words upstream instead of {}; every turn recorded); {} samples \
         per target at 1 connection, {secs} s at 32 connections (best of 2)",
        mc_words,
        direct_words,
        lat[0].len()
    );
    println!("{:<14} {:>9} {:>9} {:>10} {:>10} {:>10}", "target", "p50 ms", "p99 ms", "+p50 ms", "+p99 ms", "req/s@32");
    let mut out = serde_json::Map::new();
    for (i, (name, _)) in targets.iter().enumerate() {
        let (p50, p99) = stat(&lat[i]);
        println!("{:<14} {:>9.3} {:>9.3} {:>10.3} {:>10.3} {:>10.0}", name, p50, p99, p50 - d50, p99 - d99, rps[i]);
        out.insert((*name).into(), json!({"p50_ms": p50, "p99_ms": p99, "overhead_p50_ms": p50 - d50, "overhead_p99_ms": p99 - d99, "rps_32": rps[i]}));
    }
    let mc = targets.len() - 1;
    if let Some(n) = targets.iter().position(|(name, _)| *name == "nginx") {
        let added = |i: usize| stat(&lat[i]).0 - d50;
        let ratio = added(mc) / added(n).max(1e-6);
        let share = rps[mc] / rps[n];
        println!(
            "metaclaw vs nginx (one core each): added p50 {:.3} ms = {ratio:.2}x nginx's {:.3} ms (targets: <= 0.3 ms and \
             <= 1.5x); throughput at 32 connections {:.0}% of nginx's (target >= 25%)",
            added(mc),
            added(n),
            100.0 * share
        );
        // The same, with the upstream's extra work on the injected skills left out of MetaClaw's share.
        let with_skills = targets.iter().position(|(name, _)| *name == "direct+skills").expect("measured above");
        let skilled = stat(&lat[with_skills]).0;
        let proxy_only = stat(&lat[mc]).0 - skilled;
        let same_work = proxy_only / added(n).max(1e-6);
        println!(
            "the upstream reading the injected skills takes {:.3} ms of that (direct+skills over direct); MetaClaw's own \
             added p50 over the stand-in answering the same request: {proxy_only:.3} ms = {same_work:.2}x nginx's",
            skilled - d50
        );
        out.insert(
            "vs_nginx".into(),
            json!({"overhead_p50_ratio": ratio, "rps_share": share, "same_upstream_work_p50_ms": proxy_only,
                   "same_upstream_work_ratio": same_work}),
        );
    }
    if let Some(f) = targets.iter().position(|(n, _)| *n == "floor") {
        let own = stat(&lat[mc]).0 - stat(&lat[f]).0;
        println!(
            "metaclaw's own work on a turn (its added p50 over the bare proxy's, which uses the same runtime, server \
             and client): {own:.3} ms; the bare proxy adds {:.3} ms",
            stat(&lat[f]).0 - d50
        );
        out.insert("own_work_p50_ms".into(), json!(own));
    }
    Value::Object(out)
}
