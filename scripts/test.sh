#!/usr/bin/env bash
# Sets up everything the tests need on Debian/Ubuntu and runs the whole suite: formatting, lints,
# Rust unit and integration tests, and the official Python SDKs against the real binary.
. "$(dirname "$0")/lib.sh"
need_build_deps
need_desktop_deps
need_desktop_test_tools
need_ui_build
need_python_venv
cd "$ROOT"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
say "cargo test"
cargo build --workspace --quiet
cargo test --workspace 2>&1 | tee -a "$LOG"
say "desktop signals: X11 idle timer under Xvfb; keyring and notifications on a D-Bus session"
KEYRING_DATA="$(mktemp -d)"
XDG_DATA_HOME="$KEYRING_DATA" xvfb-run -a -s "-screen 0 1024x768x24" dbus-run-session -- bash -c '
  eval "$(printf metaclaw-ci | gnome-keyring-daemon --unlock --components=secrets)"
  export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
  cargo test --test desktop -- --ignored --test-threads 1 &&
  cargo test -p metaclaw-desktop -- --ignored' 2>&1 | grep -v "Failed to set fd limit" | tee -a "$LOG"
rm -rf "$KEYRING_DATA"
say "Python SDK tests (openai, anthropic)"
METACLAW_BIN="$CARGO_TARGET_DIR/debug/metaclaw" METACLAW_STANDIN_BIN="$CARGO_TARGET_DIR/debug/metaclaw-standin" \
  "$VENV/bin/pytest" -q -p no:cacheprovider tests/python 2>&1 | tee -a "$LOG"

say "web UI: type-check, build, browser tests (Debian's Chromium via playwright-core)"
bash scripts/ui-test.sh 2>&1 | tee -a "$LOG"

say "desktop app: the real app under Xvfb, driven by tauri-driver + WebKitWebDriver"
apt_need webkit2gtk-driver
command -v tauri-driver >/dev/null || [ -x "$HOME/.cargo/bin/tauri-driver" ] || cargo install tauri-driver --locked --quiet
DESKTOP_LOG="$(mktemp)"
xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- node --test tests/app/desktop.test.mjs 2>&1 \
  | grep -v -e "fd limit" -e "dbus-daemon" -e "SpiRegistry" | tee "$DESKTOP_LOG" || true
d_pass=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$DESKTOP_LOG")
d_fail=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$DESKTOP_LOG")
[ "${d_pass:-0}" -ge 1 ] || d_fail=1  # no test ran: that is a failure too
echo "desktop: ${d_pass:-0} passed, ${d_fail:-1} failed" | tee -a "$LOG"
rm -f "$DESKTOP_LOG"

# One closing line for the whole suite.
passed=$(grep -oE '([0-9]+) passed' "$LOG" | awk '{s+=$1} END {print s+0}')
failed=$(grep -oE '([0-9]+) failed' "$LOG" | awk '{s+=$1} END {print s+0}')
echo
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
