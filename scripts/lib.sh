# Shared by run.sh, test.sh and bench.sh: install what the project needs on Debian/Ubuntu, as
# root or through sudo, skipping whatever is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/metaclaw/target}"
VENV="${METACLAW_VENV:-$HOME/.cache/metaclaw/venv}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; exit 1; fi
}

# apt_need PKG... installs the Debian packages that are missing.
apt_need() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_rust() {
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
  if ! command -v cargo >/dev/null; then
    say "installing the Rust toolchain (rustup)"
    apt_need curl ca-certificates
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    . "$HOME/.cargo/env"
  fi
}

need_build_deps() {
  # libdbus: keyring (Secret Service) and the GNOME/logind idle signals; libxss/libx11: the X11
  # idle timer (user-idle).
  apt_need build-essential pkg-config libdbus-1-dev libxss-dev libx11-dev ca-certificates
  need_rust
}

# What the desktop-signal tests run under: a virtual X display, xdotool to fake input, a D-Bus
# session and gnome-keyring as the Secret Service.
need_desktop_test_tools() {
  apt_need xvfb xauth xdotool dbus dbus-daemon gnome-keyring python3-xlib
}

need_python_venv() {
  apt_need python3 python3-venv python3-pip
  if [ ! -x "$VENV/bin/pytest" ] || ! "$VENV/bin/python" -c 'import openai, anthropic' 2>/dev/null; then
    say "creating the Python test venv at $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -r "$ROOT/tests/python/requirements.txt"
  fi
}

# What the Tauri desktop shell builds against (WebKitGTK, the tray's appindicator, librsvg).
need_desktop_deps() {
  apt_need libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev file
}

# Node.js and npm for the web UI (Vite + TypeScript); dependencies from package-lock.json.
need_ui_build() {
  command -v npm >/dev/null || apt_need nodejs npm
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    say "installing the web UI's dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
