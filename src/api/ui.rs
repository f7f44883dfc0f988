//! The web UI for headless servers and browsers: `metaclaw serve` serves the built `ui/dist`
//! at `/`. The files hold no secrets; the UI reads the admin token from the URL fragment
//! (`/#token=…`, printed by `metaclaw ui`) and every API call still needs it.

use std::path::PathBuf;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

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

/// Routes serving the UI, with `index.html` for unknown paths (client-side routes).
pub fn router(dir: Option<PathBuf>) -> Router {
    match dir {
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
    }
}
