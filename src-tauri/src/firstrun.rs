//! First run of an installed app: register start-at-login once, so "install it and leave it in
//! the tray" survives a reboot. The user turns it off in the tray, Settings or the guide, and it
//! is never turned back on: the choice is remembered in the shell's prefs (`desktop.json`).

use std::path::Path;

/// Where an installed MetaClaw lives: a package puts the app under one of these, and the
/// AppImage runtime sets `APPIMAGE`. A development build (in a cargo target dir) does not
/// register itself: its path moves with every checkout.
const INSTALLED_UNDER: [&str; 3] = ["/usr/", "/opt/", "/Applications/"];

/// Whether this start should register start-at-login: not yet decided for this home, and
/// the app is installed (or `METACLAW_AUTOSTART=1` asks for it; `=0` never registers).
pub fn should_register(already_decided: bool, exe: &Path, appimage: bool, setting: Option<&str>) -> bool {
    if already_decided {
        return false;
    }
    match setting {
        Some("0") => false,
        Some("1") => true,
        _ => appimage || INSTALLED_UNDER.iter().any(|p| exe.starts_with(p)),
    }
}

/// [`should_register`] for this process: its executable and environment.
pub fn should_register_now(already_decided: bool) -> bool {
    let exe = std::env::current_exe().unwrap_or_default();
    let setting = std::env::var("METACLAW_AUTOSTART").ok();
    should_register(already_decided, &exe, std::env::var_os("APPIMAGE").is_some(), setting.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_app_registers_start_at_login_on_its_first_run_only() {
        let exe = Path::new("/usr/bin/metaclaw-desktop");
        assert!(should_register(false, exe, false, None));
        assert!(!should_register(true, exe, false, None), "the user's later choice stands");
        assert!(!should_register(false, exe, false, Some("0")));
        assert!(should_register(false, Path::new("/tmp/.mount_x/usr/bin/metaclaw-desktop"), true, None));
    }

    #[test]
    fn a_development_build_does_not_register_start_at_login() {
        let exe = Path::new("/root/.cache/metaclaw/target/debug/metaclaw-desktop");
        assert!(!should_register(false, exe, false, None));
        assert!(should_register(false, exe, false, Some("1")));
    }
}
