//! The scheduler's view of the user: how long the keyboard and mouse have been idle, whether the
//! screen is locked, whether the machine runs on battery. Each signal sits behind a small trait
//! with a fake for tests. X11 is read by [`super::x11`] (never without a display).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Time since the user last touched the keyboard or mouse, as the OS knows it.
pub trait IdleSource: Send + Sync {
    fn name(&self) -> &'static str;
    /// `None` when the source can't tell right now.
    fn idle(&self) -> Option<Duration>;
}

/// Whether the machine runs on battery, and whether the screen is locked.
pub trait PowerSource: Send + Sync {
    fn on_battery(&self) -> Option<bool>;
    fn locked(&self) -> Option<bool>;
}

/// One reading of every signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Reading {
    /// Seconds since the last input or proxied request, whichever is more recent.
    pub idle_secs: u64,
    /// Where the idle time came from: an OS source's name, or "requests".
    pub idle_source: String,
    /// The OS's own idle reading, if it has one.
    pub os_idle_secs: Option<u64>,
    /// Seconds since the last proxied request; before the first one, since the engine started.
    pub request_idle_secs: u64,
    /// No request (and no OS input reading) has been seen since the engine started: the idle time
    /// counts from the start, which is not the user's input (a fresh install is not idle since 1970).
    pub idle_from_start: bool,
    pub on_battery: Option<bool>,
    pub locked: Option<bool>,
}

/// The signals together: an optional OS idle source, the proxy's last request, and power.
#[derive(Clone)]
pub struct Signals {
    pub os: Option<Arc<dyn IdleSource>>,
    pub power: Arc<dyn PowerSource>,
    /// When the proxy last served a request (ms since the epoch), kept by the proxy.
    pub last_request: Arc<AtomicI64>,
}

impl Signals {
    /// The best sources this machine offers.
    pub fn detect(last_request: Arc<AtomicI64>) -> Self {
        Self { os: detect_idle(), power: Arc::new(SysPower::default()), last_request }
    }

    /// Reads everything (blocking: D-Bus and X11 calls; run off the async workers). `started_ms`
    /// is when the engine started: with no request recorded yet (the proxy's clock reads 0), idle
    /// time counts from then, never from the epoch.
    pub fn read(&self, now_ms: i64, started_ms: i64) -> Reading {
        let last = self.last_request.load(Ordering::Relaxed);
        let no_request = last <= 0;
        let since = if no_request { started_ms } else { last };
        let request_idle_secs = (now_ms.saturating_sub(since).max(0) / 1000) as u64;
        let os_idle_secs = self.os.as_ref().and_then(|s| s.idle()).map(|d| d.as_secs());
        let (idle_secs, idle_source, idle_from_start) = match os_idle_secs {
            // Before the first request the start time is no evidence of input: the OS knows better.
            Some(os) if no_request || os <= request_idle_secs => {
                (os, self.os.as_ref().map_or("os", |s| s.name()).to_string(), false)
            }
            _ if no_request => (request_idle_secs, "engine start".to_string(), true),
            _ => (request_idle_secs, "requests".to_string(), false),
        };
        Reading {
            idle_secs,
            idle_source,
            os_idle_secs,
            request_idle_secs,
            idle_from_start,
            on_battery: self.power.on_battery(),
            locked: self.power.locked(),
        }
    }
}

/// Picks the OS idle source: X11's screen-saver extension when there is an X display (or on
/// macOS/Windows), else GNOME's idle monitor, else logind's idle hint, else none.
pub fn detect_idle() -> Option<Arc<dyn IdleSource>> {
    if std::env::var_os("METACLAW_NO_OS_IDLE").is_some() {
        return None;
    }
    #[cfg(any(target_os = "macos", target_os = "windows"))]
    {
        return Some(Arc::new(NativeIdle));
    }
    #[cfg(target_os = "linux")]
    {
        let x11 = std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty());
        let wayland = std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
        if x11 && !wayland && NativeIdle.idle().is_some() {
            return Some(Arc::new(NativeIdle));
        }
        let gnome = GnomeIdle::default();
        if gnome.idle().is_some() {
            return Some(Arc::new(gnome));
        }
        let logind = LogindIdle::default();
        if logind.idle().is_some() {
            return Some(Arc::new(logind));
        }
        None
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
    None
}

/// user-idle: X11's MIT-SCREEN-SAVER, macOS's HID idle time, Windows' GetLastInputInfo.
/// Only constructed where a display exists.
pub struct NativeIdle;

impl IdleSource for NativeIdle {
    fn name(&self) -> &'static str {
        if cfg!(target_os = "linux") {
            "x11"
        } else {
            "os"
        }
    }
    fn idle(&self) -> Option<Duration> {
        #[cfg(target_os = "linux")]
        {
            super::x11::idle()
        }
        #[cfg(any(target_os = "macos", target_os = "windows"))]
        {
            user_idle::UserIdle::get_time().ok().map(|t| Duration::from_millis(t.as_milliseconds() as u64))
        }
        #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
        None
    }
}

const DBUS_TIMEOUT: Duration = Duration::from_millis(500);

/// GNOME (Mutter) on Wayland or X11: `org.gnome.Mutter.IdleMonitor.GetIdletime`.
#[derive(Default)]
pub struct GnomeIdle {
    conn: Mutex<Option<dbus::blocking::Connection>>,
}

impl IdleSource for GnomeIdle {
    fn name(&self) -> &'static str {
        "gnome"
    }
    fn idle(&self) -> Option<Duration> {
        let mut guard = self.conn.lock().ok()?;
        if guard.is_none() {
            *guard = dbus::blocking::Connection::new_session().ok();
        }
        let conn = guard.as_ref()?;
        let proxy = conn.with_proxy("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core", DBUS_TIMEOUT);
        let r: Result<(u64,), _> = proxy.method_call("org.gnome.Mutter.IdleMonitor", "GetIdletime", ());
        match r {
            Ok((ms,)) => Some(Duration::from_millis(ms)),
            Err(_) => {
                *guard = None;
                None
            }
        }
    }
}

/// systemd-logind's session idle hint (set by most desktops, Wayland included): idle since
/// `IdleSinceHint` while `IdleHint` is true, else active now.
#[derive(Default)]
pub struct LogindIdle {
    conn: Mutex<Option<dbus::blocking::Connection>>,
}

impl LogindIdle {
    fn get<T: for<'b> dbus::arg::Get<'b> + 'static>(&self, prop: &str) -> Option<T> {
        use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
        let mut guard = self.conn.lock().ok()?;
        if guard.is_none() {
            *guard = dbus::blocking::Connection::new_system().ok();
        }
        let conn = guard.as_ref()?;
        let proxy = conn.with_proxy("org.freedesktop.login1", "/org/freedesktop/login1/session/auto", DBUS_TIMEOUT);
        let r = proxy.get::<T>("org.freedesktop.login1.Session", prop);
        if r.is_err() {
            *guard = None;
        }
        r.ok()
    }
}

impl IdleSource for LogindIdle {
    fn name(&self) -> &'static str {
        "logind"
    }
    fn idle(&self) -> Option<Duration> {
        let idle: bool = self.get("IdleHint")?;
        if !idle {
            return Some(Duration::ZERO);
        }
        let since_us: u64 = self.get("IdleSinceHint")?;
        let now_us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_micros() as u64;
        Some(Duration::from_micros(now_us.saturating_sub(since_us)))
    }
}

/// Linux power supplies from sysfs, and the screen lock from logind.
#[derive(Default)]
pub struct SysPower {
    logind: LogindIdle,
}

impl PowerSource for SysPower {
    fn on_battery(&self) -> Option<bool> {
        on_battery_in(std::path::Path::new("/sys/class/power_supply"))
    }
    fn locked(&self) -> Option<bool> {
        if cfg!(target_os = "linux") {
            self.logind.get("LockedHint")
        } else {
            None
        }
    }
}

/// Reads `power_supply` entries: on mains if any mains supply is online; on battery if a battery
/// discharges; `None` without batteries (a desktop or a server).
pub fn on_battery_in(dir: &std::path::Path) -> Option<bool> {
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    let (mut mains_online, mut discharging, mut batteries) = (false, false, false);
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        match read(p.join("type")).as_deref() {
            Some("Mains") | Some("USB") => mains_online |= read(p.join("online")).as_deref() == Some("1"),
            Some("Battery") => {
                batteries = true;
                discharging |= read(p.join("status")).as_deref() == Some("Discharging");
            }
            _ => {}
        }
    }
    batteries.then_some(discharging && !mains_online)
}

/// A scripted idle source for tests: set the idle time in ms.
#[derive(Default, Clone)]
pub struct FakeIdle(pub Arc<AtomicU64>);

impl IdleSource for FakeIdle {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn idle(&self) -> Option<Duration> {
        Some(Duration::from_millis(self.0.load(Ordering::Relaxed)))
    }
}

/// Power for tests and for machines without the files: unknown.
#[derive(Default, Clone)]
pub struct FakePower {
    pub battery: Arc<Mutex<Option<bool>>>,
    pub locked: Arc<Mutex<Option<bool>>>,
}

impl PowerSource for FakePower {
    fn on_battery(&self) -> Option<bool> {
        *self.battery.lock().expect("fake power")
    }
    fn locked(&self) -> Option<bool> {
        *self.locked.lock().expect("fake power")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn battery_from_sysfs() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(on_battery_in(d.path()), None, "no supplies: a desktop");
        let w = |n: &str, f: &str, v: &str| {
            std::fs::create_dir_all(d.path().join(n)).unwrap();
            std::fs::write(d.path().join(n).join(f), v).unwrap();
        };
        w("BAT0", "type", "Battery\n");
        w("BAT0", "status", "Discharging\n");
        w("AC", "type", "Mains\n");
        w("AC", "online", "0\n");
        assert_eq!(on_battery_in(d.path()), Some(true));
        w("AC", "online", "1\n");
        assert_eq!(on_battery_in(d.path()), Some(false));
    }

    #[test]
    fn the_more_recent_of_os_input_and_requests_wins() {
        let fake = FakeIdle::default();
        let last = Arc::new(AtomicI64::new(1_000_000));
        let s = Signals { os: Some(Arc::new(fake.clone())), power: Arc::new(FakePower::default()), last_request: last };
        fake.0.store(5_000, Ordering::Relaxed);
        let r = s.read(1_000_000 + 60_000, 0);
        assert_eq!((r.idle_secs, r.idle_source.as_str(), r.request_idle_secs), (5, "fake", 60));
        fake.0.store(600_000, Ordering::Relaxed);
        let r = s.read(1_000_000 + 60_000, 0);
        assert_eq!((r.idle_secs, r.idle_source.as_str()), (60, "requests"));
    }

    #[test]
    fn before_the_first_request_idle_time_counts_from_the_engine_start_not_from_1970() {
        let s = Signals { os: None, power: Arc::new(FakePower::default()), last_request: Arc::new(AtomicI64::new(0)) };
        let started = 1_796_542_169_000;
        let r = s.read(started + 90_000, started);
        assert_eq!((r.idle_secs, r.request_idle_secs, r.idle_from_start), (90, 90, true), "{r:?}");
        assert_eq!(r.idle_source, "engine start");
        // An OS reading wins over the start time, even when longer (the user left before the start).
        let idle = FakeIdle::default();
        idle.0.store(600_000, Ordering::Relaxed);
        let with_os = Signals { os: Some(Arc::new(idle)), ..s.clone() };
        let r = with_os.read(started + 90_000, started);
        assert_eq!((r.idle_secs, r.idle_source.as_str(), r.idle_from_start), (600, "fake", false));
        s.last_request.store(started + 80_000, Ordering::Relaxed);
        let r = s.read(started + 90_000, started);
        assert_eq!((r.idle_secs, r.idle_from_start, r.idle_source.as_str()), (10, false, "requests"));
    }
}
