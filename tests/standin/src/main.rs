//! `metaclaw-standin [--port N] [--require-key KEY] [--no-record] [--chat-only]`: runs the stand-in LLM API and
//! prints `listening on http://ADDR` once it accepts connections.
//! `metaclaw-standin --tinker DIR`: runs the Tinker stand-in instead (no key), writing the test
//! tokenizer into DIR, and prints its address the same way.
//! `metaclaw-standin --google` / `--microsoft`: the calendar sign-in stand-ins (client ids
//! `standin-client` with secret `standin-secret`, and `standin-ms-client`), same output.

use std::net::SocketAddr;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut port = 0u16;
    let mut opts = metaclaw_standin::Options { record: true, ..Default::default() };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).expect("--port takes a number"),
            "--require-key" => opts.require_key = args.next(),
            "--no-record" => opts.record = false,
            "--chat-only" => opts.chat_only = true,
            "--tinker" => {
                let dir = std::path::PathBuf::from(args.next().expect("--tinker takes a folder for the tokenizer"));
                metaclaw_standin::tinker::write_tokenizer(&dir);
                let t = metaclaw_standin::tinker::spawn(Default::default()).await.expect("stand-in binds");
                println!("listening on {}", t.base_url());
                tokio::signal::ctrl_c().await.ok();
                return;
            }
            "--google" => {
                let g = metaclaw_standin::google::spawn(Default::default()).await.expect("stand-in binds");
                println!("listening on {}", g.base_url());
                tokio::signal::ctrl_c().await.ok();
                return;
            }
            "--microsoft" => {
                let m = metaclaw_standin::microsoft::spawn(Default::default()).await.expect("stand-in binds");
                println!("listening on {}", m.base_url());
                tokio::signal::ctrl_c().await.ok();
                return;
            }
            other => {
                eprintln!(
                    "unknown argument {other}; usage: metaclaw-standin [--port N] [--require-key KEY] [--no-record] [--chat-only]"
                );
                std::process::exit(2);
            }
        }
    }
    let s = metaclaw_standin::spawn(SocketAddr::from(([127, 0, 0, 1], port)), opts).await.expect("stand-in binds");
    println!("listening on http://{}", s.addr);
    tokio::signal::ctrl_c().await.ok();
}
