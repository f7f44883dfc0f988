#!/usr/bin/env bash
# Sets up everything MetaClaw needs on Debian/Ubuntu, builds it, and starts the proxy:
#   scripts/run.sh [metaclaw serve options]   e.g. --upstream http://127.0.0.1:11434/v1
. "$(dirname "$0")/lib.sh"
need_build_deps
say "building metaclaw (release)"
cd "$ROOT"
cargo build --release --bin metaclaw
say "starting: point your agent at the address below (Ctrl-C stops it)"
exec "$CARGO_TARGET_DIR/release/metaclaw" serve "$@"
