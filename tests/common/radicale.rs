//! A real CalDAV server for tests: Radicale (from the test venv) on 127.0.0.1 with a free port, a
//! temporary storage folder and one htpasswd user, stopped when dropped; plus helpers that seed it
//! over CalDAV itself (MKCALENDAR, MKCOL, PUT, DELETE).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "ada";
pub const PASSWORD: &str = "correct horse battery staple";
/// The user's address in the seeded invitations.
pub const EMAIL: &str = "ada@example.com";

pub struct Radicale {
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `radicale` executable of the test venv (`$METACLAW_VENV`, else ~/.cache/metaclaw/venv).
pub fn binary() -> PathBuf {
    let venv = std::env::var_os("METACLAW_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::home_dir().expect("a home directory").join(".cache/metaclaw/venv"));
    let bin = venv.join("bin/radicale");
    assert!(
        bin.is_file(),
        "Radicale is not installed at {}: run ./scripts/test.sh once, or `{}/bin/pip install radicale`",
        bin.display(),
        venv.display()
    );
    bin
}

impl Radicale {
    /// Starts Radicale and waits (up to 30 s) until it accepts connections.
    pub async fn start() -> Self {
        Self::launch(false).await
    }

    /// Like [`Radicale::start`], plus a calendar Ada may only read, `/ada/team/` ("Team", green,
    /// one event: `standup.ics`, 2026-01-09 09:00–09:30 UTC), as a calendar shared with her
    /// read-only looks. Radicale reads its rights at start, so the calendar is written to its
    /// storage before.
    pub async fn start_with_read_only_calendar() -> Self {
        Self::launch(true).await
    }

    async fn launch(read_only: bool) -> Self {
        let bin = binary();
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::write(dir.path().join("users"), format!("{USER}:{PASSWORD}\n")).unwrap();
        let storage = dir.path().join("collections");
        let rights = if read_only {
            let team = storage.join("collection-root").join(USER).join("team");
            std::fs::create_dir_all(&team).unwrap();
            let props = r##"{"tag": "VCALENDAR", "D:displayname": "Team", "ICAL:calendar-color": "#2ca02cff", "C:supported-calendar-component-set": "VEVENT"}"##;
            std::fs::write(team.join(".Radicale.props"), props).unwrap();
            std::fs::write(team.join("standup.ics"), cal("BEGIN:VEVENT\r\nUID:standup@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260109T090000Z\r\nDTEND:20260109T093000Z\r\nSUMMARY:Team stand-up\r\nEND:VEVENT\r\n")).unwrap();
            // Owner-only rights, except the team calendar: read only.
            let file = dir.path().join("rights");
            std::fs::write(
                &file,
                "[team]\nuser: .+\ncollection: {user}/team\npermissions: Rr\n\n\
                 [root]\nuser: .+\ncollection:\npermissions: R\n\n\
                 [principal]\nuser: .+\ncollection: {user}\npermissions: RW\n\n\
                 [calendars]\nuser: .+\ncollection: {user}/[^/]+\npermissions: rw\n",
            )
            .unwrap();
            format!("type = from_file\nfile = {}", file.display())
        } else {
            "type = owner_only".to_string()
        };
        let config = format!(
            "[server]\nhosts = 127.0.0.1:{port}\n\
             [auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\ndelay = 0\n\
             [rights]\n{rights}\n\
             [storage]\nfilesystem_folder = {storage}\n\
             [web]\ntype = none\n\
             [logging]\nlevel = warning\n",
            users = dir.path().join("users").display(),
            storage = storage.display(),
        );
        let config_path = dir.path().join("config");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("radicale.log")).unwrap();
        let child = Command::new(&bin)
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", bin.display()));
        let mut me = Self { child, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new(), _dir: dir };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("Radicale exited ({status}): {}", me.log());
            }
            assert!(Instant::now() < deadline, "Radicale did not start within 30 s: {}", me.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        me
    }

    /// Radicale's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("radicale.log")).unwrap_or_default()
    }

    /// The absolute URL of a path on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, method: &str, path: &str, body: String, content_type: &str) -> reqwest::Response {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = self
            .http
            .request(m, self.url(path))
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{method} {path}: {} {}", resp.status(), self.log());
        resp
    }

    /// MKCALENDAR with a display name and an Apple calendar-color.
    pub async fn mkcalendar(&self, path: &str, name: &str, color: &str) {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/">
  <D:set><D:prop><D:displayname>{name}</D:displayname><A:calendar-color>{color}</A:calendar-color>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"#
        );
        self.send("MKCALENDAR", path, body, "application/xml").await;
    }

    /// A subscribed calendar (CalendarServer's `subscribed` resource type), as Apple Calendar
    /// makes for a holidays feed.
    pub async fn mksubscribed(&self, path: &str, name: &str, source: &str) {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
  <D:set><D:prop><D:resourcetype><D:collection/><CS:subscribed/></D:resourcetype>
    <D:displayname>{name}</D:displayname><CS:source><D:href>{source}</D:href></CS:source>
  </D:prop></D:set>
</D:mkcol>"#
        );
        self.send("MKCOL", path, body, "application/xml").await;
    }

    /// PUT of one calendar object; returns its ETag.
    pub async fn put(&self, path: &str, ics: &str) -> String {
        let resp = self.send("PUT", path, ics.to_string(), "text/calendar; charset=utf-8").await;
        resp.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    pub async fn delete(&self, path: &str) {
        self.send("DELETE", path, String::new(), "text/plain").await;
    }

    /// Seeds the standard account: `/ada/work/` (red, with the events below), `/ada/personal/`
    /// (blue, empty) and `/ada/holidays/` (subscribed).
    pub async fn seed(&self) {
        self.mkcalendar("/ada/work/", "Work", "#FF2968FF").await;
        self.mkcalendar("/ada/personal/", "Personal", "#1badf8").await;
        self.mksubscribed("/ada/holidays/", "Holidays", "https://example.com/holidays.ics").await;
        for (name, ics) in seed_events() {
            self.put(&format!("/ada/work/{name}"), &ics).await;
        }
    }
}

fn cal(body: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//MetaClaw tests//EN\r\n{body}END:VCALENDAR\r\n")
}

/// The work calendar's objects: a weekly meeting (Mondays 10:00–11:00 UTC from 2026-01-05) whose
/// 2026-01-12 occurrence moved to Tuesday 2026-01-13 14:00–15:00; an invitation Ada declined
/// (2026-01-06 09:00); an all-day busy day (2026-01-07, TRANSP:OPAQUE); a tentative meeting
/// (2026-01-08 16:00).
pub fn seed_events() -> Vec<(&'static str, String)> {
    vec![
        (
            "weekly.ics",
            cal("BEGIN:VEVENT\r\nUID:weekly@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Weekly sync\r\nEND:VEVENT\r\n\
                 BEGIN:VEVENT\r\nUID:weekly@test\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260112T100000Z\r\nDTSTART:20260113T140000Z\r\nDTEND:20260113T150000Z\r\nSUMMARY:Weekly sync (moved)\r\nEND:VEVENT\r\n"),
        ),
        (
            "declined.ics",
            cal(&format!("BEGIN:VEVENT\r\nUID:declined@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260106T090000Z\r\nDTEND:20260106T100000Z\r\nSUMMARY:Declined pitch\r\nORGANIZER:mailto:bob@example.com\r\nATTENDEE;PARTSTAT=DECLINED:mailto:{EMAIL}\r\nEND:VEVENT\r\n")),
        ),
        (
            "allday.ics",
            cal("BEGIN:VEVENT\r\nUID:allday@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260107\r\nDTEND;VALUE=DATE:20260108\r\nSUMMARY:Offsite\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\n"),
        ),
        (
            "tentative.ics",
            cal("BEGIN:VEVENT\r\nUID:tentative@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260108T160000Z\r\nDTEND:20260108T170000Z\r\nSUMMARY:Maybe lunch talk\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\n"),
        ),
    ]
}
