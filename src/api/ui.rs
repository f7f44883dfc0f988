//! The web UI for headless servers and browsers: `metaclaw serve` serves the built `ui/dist`
//! at `/`. The files hold no secrets; the UI reads the admin token from the URL fragment
//! (`/#token=…`, printed by `metaclaw ui`) and every API call still needs it. Every response
//! carries a Content-Security-Policy (scripts only from the engine, no framing) so a page
//! elsewhere can neither inject into nor frame the UI.

use std::path::PathBuf;

use axum::http::header::{
    HeaderValue, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::Response;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

/// The UI's policy: its own scripts and styles (inline style attributes are how it sets sizes),
/// API calls to the engine only, images inline at most, no plugins, no framing, no forms posted
/// anywhere. ui/index.html carries the same policy (looser `connect-src` for the Vite dev server).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                       img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                       form-action 'none'; frame-ancestors 'none'";

/// Adds the security headers to a UI response.
async fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

/// Where the built UI is: `$METACLAW_UI_DIR`, `<exe>/../share/metaclaw/ui`, `<exe>/ui`, or
/// the source tree's `ui/dist` (for builds from a checkout).
pub fn locate() -> Option<PathBuf> {
    let exe_dir = std::env::current_exe().ok().and_then(|e| e.parent().map(PathBuf::from));
    let candidates = [
        std::env::var_os("METACLAW_UI_DIR").map(PathBuf::from),
        exe_dir.as_ref().map(|d| d.join("../share/metaclaw/ui")),
        exe_dir.as_ref().map(|d| d.join("ui")),
        Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/dist"))),
    ];
    candidates.into_iter().flatten().find(|d| d.join("index.html").is_file())
}

/// Routes serving the UI, with `index.html` for unknown paths (client-side routes), each
/// response with the security headers.
pub fn router(dir: Option<PathBuf>) -> Router {
    let routes = match dir {
        Some(d) => {
            let index = d.join("index.html");
            Router::new().fallback_service(ServeDir::new(d).fallback(ServeFile::new(index)))
        }
        None => Router::new().route(
            "/",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::NOT_FOUND,
                    "The MetaClaw web UI is not built. Run `npm ci && npm run build` in the checkout \
                     (or set METACLAW_UI_DIR); the proxy and the admin API work without it.\n",
                )
            }),
        ),
    };
    routes.layer(axum::middleware::map_response(secure))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `ui` the way the admin API does (merged after the API's routes) on a loopback port.
    async fn serve(ui: Router) -> String {
        let app = Router::new().route("/api/ping", axum::routing::get(|| async { "pong" })).merge(ui);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn assert_secured(r: &reqwest::Response, what: &str) {
        let h = r.headers();
        let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(csp, CSP, "{what}: the CSP");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self';"), "{what}");
        assert_eq!(h.get("x-frame-options").map(|v| v.as_bytes()), Some(&b"DENY"[..]), "{what}");
        assert_eq!(h.get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]), "{what}");
    }

    #[tokio::test]
    async fn every_ui_response_carries_the_csp_and_refuses_framing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html><p>MetaClaw</p>").unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/app.js"), "console.log(1)").unwrap();
        let base = serve(router(Some(dir.path().to_path_buf()))).await;
        let http = reqwest::Client::new();
        for (path, body) in [
            ("/", "MetaClaw"),
            ("/assets/app.js", "console.log"),
            // A client-side route falls back to index.html.
            ("/review", "MetaClaw"),
        ] {
            let r = http.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_secured(&r, path);
            assert!(r.text().await.unwrap().contains(body), "{path}");
        }
        // The API's own responses are the API's business (JSON, never rendered as a page).
        let r = http.get(format!("{base}/api/ping")).send().await.unwrap();
        assert!(r.headers().get("content-security-policy").is_none());

        // The page shown when the UI is not built, too.
        let base = serve(router(None)).await;
        let r = http.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_secured(&r, "the not-built page");
    }
}
