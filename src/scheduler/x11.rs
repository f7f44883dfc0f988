//! The X11 idle timer (the MIT-SCREEN-SAVER extension), read safely: a display that cannot be
//! opened, a server without the extension or a failed query is "no reading", never a crash.
//! user-idle's reader dereferences a failed `XOpenDisplay` (seen as a SIGSEGV under Xvfb, which
//! refuses connections while it resets after its last client left), so Linux reads X11 here. One reading at a time; each opens and closes its
//! own connection, so a display that goes away later (the user logs out) cannot take the engine
//! down through Xlib's fatal I/O error handler.

use std::ptr;
use std::sync::Mutex;
use std::time::Duration;

use x11::{xlib, xss};

/// Xlib is initialised for threads by libX11 ≥ 1.8 itself; this lock also covers older ones.
static READING: Mutex<()> = Mutex::new(());

/// Time since the last input on the X display named by `DISPLAY`, or `None`.
pub fn idle() -> Option<Duration> {
    if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
        return None;
    }
    let _one_at_a_time = READING.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: every pointer Xlib hands back is checked for null before use; the display is closed
    // and the info freed on every path after they were obtained.
    unsafe {
        let display = open()?;
        let reading = query(display);
        xlib::XCloseDisplay(display);
        reading
    }
}

/// Opens the display, trying again at once a few times: an X server that just lost its last
/// client resets and drops new connections meanwhile (a bare Xvfb: 15% of 300 quick opens), and
/// that moment must not read as "no X11 idle timer".
///
/// # Safety
/// Calls Xlib; the display returned is open and must be closed by the caller.
unsafe fn open() -> Option<*mut xlib::Display> {
    const ATTEMPTS: usize = 5;
    (0..ATTEMPTS).map(|_| xlib::XOpenDisplay(ptr::null())).find(|d| !d.is_null())
}

/// # Safety
/// `display` is an open, non-null display.
unsafe fn query(display: *mut xlib::Display) -> Option<Duration> {
    let (mut event_base, mut error_base) = (0, 0);
    if xss::XScreenSaverQueryExtension(display, &mut event_base, &mut error_base) == 0 {
        return None;
    }
    let info = xss::XScreenSaverAllocInfo();
    if info.is_null() {
        return None;
    }
    let root = xlib::XDefaultRootWindow(display);
    let ok = xss::XScreenSaverQueryInfo(display, root, info);
    let idle_ms = (*info).idle;
    xlib::XFree(info.cast());
    (ok != 0).then(|| Duration::from_millis(idle_ms as u64))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_display_that_does_not_exist_is_no_reading_not_a_crash() {
        // Display 9999 is never served here. The variable is process-wide: run this test's body
        // in a child process so no other test sees it.
        if std::env::var_os("METACLAW_X11_CHILD").is_some() {
            use crate::scheduler::signals::{IdleSource as _, NativeIdle};
            assert_eq!(NativeIdle.idle(), None);
            return;
        }
        let me = std::env::current_exe().unwrap();
        let out = std::process::Command::new(me)
            .args(["--exact", "scheduler::x11::tests::a_display_that_does_not_exist_is_no_reading_not_a_crash"])
            .env("METACLAW_X11_CHILD", "1")
            .env("DISPLAY", ":9999")
            .output()
            .unwrap();
        assert!(out.status.success(), "{:?}\n{}", out.status, String::from_utf8_lossy(&out.stdout));
    }
}
