//! What the window may load and which page may use the shell's native powers: only the engine's
//! own origin (scheme, loopback host and the port it got at start). Pure decisions, tested here;
//! shell.rs wires them into the window and the app's capabilities.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tauri::ipc::CapabilityBuilder;
use tauri::Url;

/// The label of the one window that shows the UI.
pub const WINDOW: &str = "main";

/// The native calls the UI may make: the Settings view's start-at-login switch, nothing else.
pub const PERMISSIONS: [&str; 3] = ["autostart:allow-is-enabled", "autostart:allow-enable", "autostart:allow-disable"];

/// The origin the window loads the UI from, e.g. `http://127.0.0.1:9100` (no trailing slash,
/// as `location.origin` spells it). An engine listening on every address is reached over loopback.
pub fn engine_origin(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Whether `url` is on the engine's origin (same scheme, host and port).
pub fn same_origin(url: &Url, origin: &str) -> bool {
    url.origin().ascii_serialization() == origin
}

/// What to do with a navigation of the UI window.
#[derive(Debug, PartialEq, Eq)]
pub enum Navigation {
    /// The engine's own pages.
    Allow,
    /// A web link (a skill's or a hint's): shown in the user's browser, not in the window that
    /// holds the admin token.
    OpenInBrowser,
    /// Anything else (other schemes: file, data, javascript, custom ones).
    Deny,
}

/// Decides a navigation of the UI window to `url`.
pub fn navigation(url: &Url, origin: &str) -> Navigation {
    if same_origin(url, origin) {
        return Navigation::Allow;
    }
    match url.scheme() {
        "http" | "https" => Navigation::OpenInBrowser,
        _ => Navigation::Deny,
    }
}

/// The URL pattern (URLPattern syntax, as Tauri's remote capabilities take) matching every page
/// of the engine's origin and no other. Colons inside an IPv6 host are escaped (they would start a
/// named group).
pub fn capability_pattern(origin: &str) -> String {
    let (scheme, rest) = origin.split_once("://").unwrap_or(("http", origin));
    let rest = match (rest.find('['), rest.find(']')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}{}", &rest[..open], rest[open..close].replace(':', "\\:"), &rest[close..])
        }
        _ => rest.to_string(),
    };
    format!("{scheme}://{rest}/*")
}

/// The capability granting the UI window the start-at-login calls, for pages of the engine's
/// origin only (added at run time: the port is only known once the engine listens).
pub fn capability(origin: &str) -> CapabilityBuilder {
    PERMISSIONS.iter().fold(
        CapabilityBuilder::new("engine-ui").local(false).window(WINDOW).remote(capability_pattern(origin)),
        |c, p| c.permission(*p),
    )
}

/// The script run before every page of the window: hands the engine's address, the admin token
/// and the start-at-login bridge to the UI, on the engine's origin only (a page elsewhere gets
/// nothing).
pub fn init_script(origin: &str, token: &str) -> String {
    let json = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    format!(
        "if (window.location.origin === {origin}) {{
  window.__METACLAW__ = {{ base: {origin}, token: {token}, desktop: true, autostart: {{
    get: () => window.__TAURI_INTERNALS__.invoke('plugin:autostart|is_enabled'),
    set: (on) => window.__TAURI_INTERNALS__.invoke(on ? 'plugin:autostart|enable' : 'plugin:autostart|disable'),
  }} }};
}}",
        origin = json(origin),
        token = json(token),
    )
}

/// Opens a web link in the user's browser (the platform's opener; no shell involved).
pub fn open_in_browser(url: &Url) {
    let (program, args): (&str, &[&str]) = if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(target_os = "windows") {
        ("explorer", &[])
    } else {
        ("xdg-open", &[])
    };
    let spawned = std::process::Command::new(program)
        .args(args)
        .arg(url.as_str())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped off the UI thread; the opener returns at once.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => tracing::warn!(error = %e, %url, "could not open the link in a browser"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tauri::ipc::RuntimeCapability;
    use tauri::utils::acl::capability::CapabilityFile;
    use tauri::utils::acl::RemoteUrlPattern;

    fn url(s: &str) -> Url {
        s.parse().unwrap()
    }

    #[test]
    fn the_window_uses_the_engines_loopback_origin() {
        assert_eq!(engine_origin("127.0.0.1:9100".parse().unwrap()), "http://127.0.0.1:9100");
        assert_eq!(engine_origin("0.0.0.0:9100".parse().unwrap()), "http://127.0.0.1:9100");
        assert_eq!(engine_origin("[::]:9100".parse().unwrap()), "http://[::1]:9100");
        assert_eq!(engine_origin("[::1]:9100".parse().unwrap()), "http://[::1]:9100");
        // Spelt as the page's location.origin is.
        assert_eq!(url("http://127.0.0.1:9100/#/review").origin().ascii_serialization(), "http://127.0.0.1:9100");
    }

    #[test]
    fn navigation_stays_on_the_engines_origin() {
        let o = "http://127.0.0.1:9100";
        for ok in [
            "http://127.0.0.1:9100/",
            "http://127.0.0.1:9100/#/settings",
            "http://127.0.0.1:9100/skills?q=x",
            // Settings' data export: a download of a blob the page made.
            "blob:http://127.0.0.1:9100/4f1c2d3e-0000-4000-8000-000000000000",
        ] {
            assert_eq!(navigation(&url(ok), o), Navigation::Allow, "{ok}");
        }
        // Another port on the same host is another program; another host or scheme too.
        for web in [
            "http://127.0.0.1:9101/",
            "http://localhost:9100/",
            "https://127.0.0.1:9100/",
            "https://example.com/docs",
            "http://127.0.0.1:9100@evil.example/",
        ] {
            assert_eq!(navigation(&url(web), o), Navigation::OpenInBrowser, "{web}");
        }
        for bad in [
            "blob:http://127.0.0.1:9101/4f1c2d3e-0000-4000-8000-000000000000",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,<p>x</p>",
            "ftp://example.com/",
            "tauri://localhost/",
        ] {
            assert_eq!(navigation(&url(bad), o), Navigation::Deny, "{bad}");
        }
    }

    #[test]
    fn the_autostart_capability_names_only_the_engines_origin() {
        for (origin, inside, outside) in [
            ("http://127.0.0.1:9100", "http://127.0.0.1:9100/#/settings", "http://127.0.0.1:9101/"),
            ("http://[::1]:9100", "http://[::1]:9100/index.html", "http://[::1]:9101/"),
        ] {
            let pattern: RemoteUrlPattern = capability_pattern(origin).parse().unwrap();
            assert!(pattern.test(&url(inside)), "{origin} must match {inside}");
            assert!(pattern.test(&url(&format!("{origin}/"))));
            for other in [outside, "http://localhost:9100/", "https://127.0.0.1:9100/", "http://evil.example/"] {
                assert!(!pattern.test(&url(other)), "{origin} must not match {other}");
            }
        }
        let CapabilityFile::Capability(c) = capability("http://127.0.0.1:9100").build() else {
            panic!("one capability expected");
        };
        assert!(!c.local, "no local (bundled) page gets it");
        assert_eq!(c.windows, [WINDOW]);
        assert_eq!(c.remote.unwrap().urls, ["http://127.0.0.1:9100/*"]);
        assert_eq!(c.permissions.len(), PERMISSIONS.len());
    }

    #[test]
    fn the_token_script_runs_only_on_the_engines_origin() {
        let s = init_script("http://127.0.0.1:9100", "tok\"en</script>");
        assert!(s.starts_with("if (window.location.origin === \"http://127.0.0.1:9100\") {"), "{s}");
        assert!(s.trim_end().ends_with('}'));
        // The token is a JSON string literal: it cannot end the string early.
        assert!(s.contains(r#"token: "tok\"en</script>""#), "{s}");
        assert_eq!(s.matches("__METACLAW__").count(), 1);
    }
}
