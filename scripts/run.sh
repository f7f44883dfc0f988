#!/usr/bin/env bash
# Sets up everything MetaClaw needs on Debian/Ubuntu, builds it, and starts it:
#   - with a display: the desktop tray app (engine inside, window with the UI);
#   - without one (a server over SSH): `metaclaw serve`, which serves the same UI.
# Arguments go to `metaclaw serve`, e.g. scripts/run.sh --upstream http://127.0.0.1:11434/v1
# (set METACLAW_HEADLESS=1 to run the server even where there is a display).
. "$(dirname "$0")/lib.sh"
need_build_deps
need_ui_build
cd "$ROOT"
say "building the web UI"
npm run --silent build
if [ -z "${METACLAW_HEADLESS:-}" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ $# -eq 0 ]; then
  need_desktop_deps
  say "building the desktop app (release; the first build takes a while)"
  cargo build --release -p metaclaw-desktop --features tauri/custom-protocol
  say "starting MetaClaw in the tray: point your agent at the address below"
  exec "$CARGO_TARGET_DIR/release/metaclaw-desktop"
fi
say "building metaclaw (release)"
cargo build --release --bin metaclaw
say "starting: point your agent at the address below; \`metaclaw ui\` prints the web UI's link (Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/release/metaclaw" serve "$@"
