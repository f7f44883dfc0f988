//! `metaclaw calendar …`: connect ICS addresses and files, CalDAV accounts and Google or Microsoft
//! sign-ins, tick which calendars count, sync, and show busy time, all through the admin API.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use metaclaw::api::client::Client;
use metaclaw::api::types::calendars::{
    CalendarAccount as Account, CalendarAdd, CalendarKind as Kind, CalendarPatch, CalendarState, SignInArg,
    SignInProvider, SignInState,
};
use metaclaw::api::types::scheduler::TimeRange;
use metaclaw::home::Home;

use super::client::{api, print_json};
use super::output::time;
use super::JsonFlag;

#[derive(Debug, Subcommand)]
pub enum CalendarCmd {
    /// Connect a calendar: `caldav <server address or email> --user <name>` (iCloud, Fastmail,
    /// Nextcloud…; the password is read from stdin, or asked for without echo), `google` or
    /// `microsoft` (sign in in the browser), or an ICS source: an https:// or webcal:// address
    /// (a Google "secret address in iCal format", an Outlook published ICS link), a path to an
    /// .ics file, `-` to read the address from stdin, or `env` (address in
    /// METACLAW_CALENDAR_<NAME>_URL).
    Add {
        source: String,
        /// The CalDAV server address (any URL on it) or your email address, after `caldav`.
        server: Option<String>,
        /// CalDAV: your user name on the server.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Your address(es) in the calendar, so invitations you declined don't count as busy.
        #[arg(long = "owner")]
        owner: Vec<String>,
        /// Google or Microsoft: print the sign-in address instead of opening the browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// The connected accounts with their calendars (ticked ones count), last sync and errors.
    List(JsonFlag),
    /// Count a calendar of an account as busy: `include <account id or name> <calendar id or name>`.
    Include {
        account: String,
        calendar: String,
    },
    /// Stop counting a calendar of an account.
    Exclude {
        account: String,
        calendar: String,
    },
    /// Sync an account now (every account without an id) and report what came back.
    Test {
        id: Option<i64>,
    },
    /// The busy blocks of the coming days.
    Busy {
        #[arg(long, default_value_t = 7)]
        days: i64,
        #[command(flatten)]
        json: JsonFlag,
    },
    Rename {
        id: i64,
        name: String,
    },
    Enable {
        id: i64,
    },
    Disable {
        id: i64,
    },
    /// Disconnect an account and forget its address, password or sign-in.
    Remove {
        id: i64,
    },
}

pub async fn run(home: &Home, cmd: CalendarCmd) -> Result<()> {
    let home = &api(home)?;
    match cmd {
        CalendarCmd::Add { source, server, user, name, owner, no_browser } => {
            match (source.to_ascii_lowercase().as_str(), server) {
                ("caldav", Some(server)) => add_caldav(home, server, user, name, owner).await,
                ("caldav", None) => {
                    bail!("give the server: metaclaw calendar add caldav <server address or email> --user <name>")
                }
                ("google", None) => signin(home, SignInProvider::Google, name, no_browser).await,
                ("microsoft", None) => signin(home, SignInProvider::Microsoft, name, no_browser).await,
                (_, Some(extra)) => bail!("unexpected {extra:?}: only `add caldav <server>` takes a second argument"),
                (_, None) => add_ics(home, source, name, owner).await,
            }
        }
        CalendarCmd::List(j) => list(home, j.json).await,
        CalendarCmd::Include { account, calendar } => include(home, &account, &calendar, true).await,
        CalendarCmd::Exclude { account, calendar } => include(home, &account, &calendar, false).await,
        CalendarCmd::Test { id } => test(home, id).await,
        CalendarCmd::Busy { days, json } => busy(home, days, json.json).await,
        CalendarCmd::Rename { id, name } => patch(home, id, CalendarPatch { name: Some(name), enabled: None }).await,
        CalendarCmd::Enable { id } => patch(home, id, CalendarPatch { name: None, enabled: Some(true) }).await,
        CalendarCmd::Disable { id } => patch(home, id, CalendarPatch { name: None, enabled: Some(false) }).await,
        CalendarCmd::Remove { id } => {
            home.remove_calendar(id).await?;
            println!("removed calendar {id}");
            Ok(())
        }
    }
}

async fn add_ics(home: &Client, source: String, name: Option<String>, owner: Vec<String>) -> Result<()> {
    let source = if source == "-" {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the address from stdin")?;
        line.trim().to_string()
    } else if !source.contains("://") && !source.eq_ignore_ascii_case("env") {
        // The engine takes absolute paths only; a path typed here is relative to this shell.
        std::path::absolute(&source).map(|p| p.display().to_string()).unwrap_or(source)
    } else {
        source
    };
    let a = home.add_calendar(&CalendarAdd { source, name, owner, ..Default::default() }).await?;
    println!("added calendar {} {:?} ({}), {} events", a.id, a.name, a.display, a.events);
    for w in &a.warnings {
        println!("warning: {w}");
    }
    Ok(())
}

/// Reads the password: a line from stdin when it is not a terminal, else asked for with echo off.
fn read_password(user: &str, server: &str) -> Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("reading the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    eprint!("password for {user} at {server} (an app-specific password for iCloud, Fastmail…): ");
    std::io::stderr().flush().ok();
    let _echo = EchoOff::new();
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("reading the password")?;
    eprintln!();
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Turns the terminal's echo off (with `stty`) while it lives.
struct EchoOff(bool);

impl EchoOff {
    fn new() -> Self {
        let stty = |arg: &str| {
            std::process::Command::new("stty")
                .arg(arg)
                .stdin(std::process::Stdio::inherit())
                .status()
                .is_ok_and(|s| s.success())
        };
        let off = cfg!(unix) && stty("-echo");
        if !off {
            eprint!("(the password will show as you type) ");
        }
        Self(off)
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if self.0 {
            let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
        }
    }
}

async fn add_caldav(
    home: &Client,
    server: String,
    user: Option<String>,
    name: Option<String>,
    owner: Vec<String>,
) -> Result<()> {
    let Some(user) = user else { bail!("give your user name on the server: --user <name>") };
    let password = read_password(&user, &server)?;
    if password.is_empty() {
        bail!("no password given");
    }
    let a = home
        .add_calendar(&CalendarAdd {
            kind: Some(Kind::Caldav),
            server: Some(server),
            user: Some(user),
            password: Some(password),
            name,
            owner,
            ..Default::default()
        })
        .await?;
    println!("added CalDAV account {} {:?} ({})", a.id, a.name, a.display);
    print_calendars(&a);
    for w in &a.warnings {
        println!("warning: {w}");
    }
    println!("tick others with `metaclaw calendar include {} <calendar>`", a.id);
    Ok(())
}

fn open_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

async fn signin(home: &Client, provider: SignInProvider, name: Option<String>, no_browser: bool) -> Result<()> {
    let s = home.start_signin(&SignInArg { provider, name }).await?;
    if no_browser || !open_browser(&s.url) {
        println!("open this address in a browser on this machine to sign in:\n{}", s.url);
    } else {
        println!("signing in in your browser (if it did not open, use this address):\n{}", s.url);
    }
    loop {
        let st = tokio::select! {
            st = home.signin_status(&s.flow) => st?,
            _ = tokio::signal::ctrl_c() => {
                let _ = home.cancel_signin(&s.flow).await;
                bail!("sign-in cancelled");
            }
        };
        match st.state {
            SignInState::Done => {
                let Some(a) = st.account else { bail!("the sign-in finished without an account") };
                println!("added {} account {} {:?} ({})", a.kind.as_str(), a.id, a.name, a.display);
                print_calendars(&a);
                return Ok(());
            }
            SignInState::Failed => bail!("sign-in failed: {}", st.error.unwrap_or_default()),
            SignInState::Waiting => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

fn print_calendars(a: &Account) {
    for c in &a.calendars {
        println!(
            "     [{}] {:>4}  {:<28} {:>5} events{}{}",
            if c.included { "x" } else { " " },
            c.id,
            c.name,
            c.events,
            if c.own { "" } else { "  (not yours)" },
            c.last_error.as_deref().map(|e| format!("\n           error: {e}")).unwrap_or_default()
        );
    }
}

async fn list(home: &Client, json: bool) -> Result<()> {
    let list = home.calendars().await?;
    if json {
        return print_json(&list);
    }
    if list.is_empty() {
        println!(
            "no calendars; add one with `metaclaw calendar add caldav <server> --user <name>`, \
             `metaclaw calendar add google|microsoft` or `metaclaw calendar add <ics address or file>`"
        );
    }
    for a in list {
        let synced = a.last_sync.map(time).unwrap_or_else(|| "never".into());
        println!(
            "{:>3}  {:<20} {:<9} {:<32} {:>5} events  synced {synced}{}{}",
            a.id,
            a.name,
            a.kind.as_str(),
            a.display,
            a.events,
            if a.enabled { "" } else { "  (disabled)" },
            match a.state {
                CalendarState::SignInAgain => "  SIGN IN AGAIN",
                _ => "",
            }
        );
        if let Some(e) = &a.last_error {
            println!("     error: {e}");
        }
        print_calendars(&a);
    }
    Ok(())
}

/// An account by id or (case-insensitive) name, and one of its calendars by id or name.
fn pick<'a>(list: &'a [Account], account: &str, calendar: &str) -> Result<(&'a Account, i64)> {
    let a = list
        .iter()
        .find(|a| a.id.to_string() == account)
        .or_else(|| list.iter().find(|a| a.name.eq_ignore_ascii_case(account)))
        .with_context(|| format!("no account {account:?}: see `metaclaw calendar list`"))?;
    if !a.kind.has_calendars() {
        bail!(
            "{:?} is an ICS {}: it has no calendars to tick (disable it instead)",
            a.name,
            match a.kind {
                Kind::File => "file",
                _ => "address",
            }
        );
    }
    let c = a
        .calendars
        .iter()
        .find(|c| c.id.to_string() == calendar)
        .or_else(|| a.calendars.iter().find(|c| c.name.eq_ignore_ascii_case(calendar)))
        .with_context(|| format!("{:?} has no calendar {calendar:?}: see `metaclaw calendar list`", a.name))?;
    Ok((a, c.id))
}

async fn include(home: &Client, account: &str, calendar: &str, included: bool) -> Result<()> {
    let list = home.calendars().await?;
    let (a, cid) = pick(&list, account, calendar)?;
    let a = home.include_calendar(a.id, cid, included).await?;
    println!("{} {:?}:", a.id, a.name);
    print_calendars(&a);
    Ok(())
}

async fn test(home: &Client, id: Option<i64>) -> Result<()> {
    let ids: Vec<i64> = match id {
        Some(id) => vec![id],
        None => home.calendars().await?.iter().map(|a| a.id).collect(),
    };
    let mut failed = Vec::new();
    let several = ids.len() > 1;
    for id in ids {
        let r = home.test_calendar(id).await?;
        let who = if several { format!("{id}: ") } else { String::new() };
        match &r.error {
            None => println!(
                "{who}ok: {} events{}",
                r.events,
                r.fetched.map(|n| format!(" ({n} fetched)")).unwrap_or_default()
            ),
            Some(e) => {
                println!("{who}failed: {e}");
                failed.push(id);
            }
        }
        for z in &r.unknown_zones {
            println!("warning: unknown time zone {z:?} (read in your own zone)");
        }
        for s in &r.skipped {
            println!("warning: skipped {s}");
        }
    }
    match failed.as_slice() {
        [] => Ok(()),
        [one] => bail!("calendar {one} could not be fetched"),
        many => bail!("calendars {many:?} could not be synced"),
    }
}

async fn busy(home: &Client, days: i64, json: bool) -> Result<()> {
    let now = jiff::Timestamp::now().as_millisecond();
    let blocks = home.busy(&TimeRange { from: Some(now), to: Some(now + days * 86_400_000) }).await?;
    if json {
        return print_json(&blocks);
    }
    for b in blocks {
        println!("{} → {}  {}", time(b.start), time(b.end), b.summary);
    }
    Ok(())
}

async fn patch(home: &Client, id: i64, body: CalendarPatch) -> Result<()> {
    let a = home.update_calendar(id, &body).await?;
    println!("calendar {} {:?}{}", a.id, a.name, if a.enabled { "" } else { " (disabled)" });
    Ok(())
}
