#!/usr/bin/env bash
# Builds release binaries and benchmarks the proxy against the stand-in upstream directly and
# through nginx, in one run. `--quick` for a short run.
. "$(dirname "$0")/lib.sh"
need_build_deps
apt_need nginx-light
cd "$ROOT"
say "building release binaries"
cargo build --release --quiet -p metaclaw -p metaclaw-standin -p metaclaw-bench
R="$CARGO_TARGET_DIR/release"
"$R/metaclaw-bench" --metaclaw "$R/metaclaw" --standin "$R/metaclaw-standin" --nginx "$(command -v nginx || echo /usr/sbin/nginx)" "$@"
say "skill library benchmark"
cargo bench --quiet --bench skills
