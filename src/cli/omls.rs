//! `metaclaw omls status`: whether learning work may run now, why, and until or from when.

use anyhow::Result;
use reqwest::Method;

use metaclaw::home::Home;

use super::client::call;
use super::output::time;

pub async fn status(home: &Home, json: bool) -> Result<()> {
    let v = call(home, Method::GET, "/api/omls", None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let d = &v["decision"];
    let state = if d["open"] == true { "OPEN" } else { "closed" };
    println!("learning window {state}: {}", d["explanation"].as_str().unwrap_or(""));
    if let Some(until) = d["until"].as_i64() {
        println!("until          {}", time(until));
    }
    if let Some(next) = d["next"].as_i64() {
        println!("next window    {} (predicted)", time(next));
    }
    let s = &v["signals"];
    println!("idle           {} s ({})", s["idle_secs"], s["idle_source"].as_str().unwrap_or(""));
    if let Some(n) = s["next_sleep"].as_i64() {
        println!("sleep hours    next from {} ({})", time(n), v["timezone"].as_str().unwrap_or("local time"));
    }
    println!("activity model {} week(s) of history", v["activity"]["weeks"]);
    Ok(())
}
