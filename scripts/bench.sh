#!/usr/bin/env bash
# Builds release binaries and benchmarks the proxy against the stand-in upstream directly and
# through nginx, in one run, ending with the one-core layout (each proxy pinned to CPU 0, the
# load generator and the stand-in on CPU 1). `--quick` for a short run; `--one-core` for the
# one-core layout alone.
. "$(dirname "$0")/lib.sh"
need_build_deps
# nginx-light for the reference proxy, util-linux for taskset (the one-core layout).
apt_need nginx-light util-linux
cd "$ROOT"
say "building release binaries"
cargo build --release --quiet -p metaclaw -p metaclaw-standin -p metaclaw-bench
R="$CARGO_TARGET_DIR/release"
"$R/metaclaw-bench" --metaclaw "$R/metaclaw" --standin "$R/metaclaw-standin" --nginx "$(command -v nginx || echo /usr/sbin/nginx)" "$@"
case " $* " in *" --one-core "*) exit 0 ;; esac
say "skill library benchmark"
cargo bench --quiet --bench skills
say "per-skill effectiveness: 1,000 skills over 100,000 turns, against a plain count of their rows"
cargo bench --quiet --bench skill_stats

# The learning curve (issue 17): the mini benchmark in baseline and skills mode on the stand-in,
# with its per-day accuracy table (tests/bench/mini.sh; fails when skills does not learn).
say "learning curve: the mini benchmark, baseline and skills"
need_python_venv
METACLAW_BIN="$R/metaclaw" METACLAW_STANDIN_BIN="$R/metaclaw-standin" bash tests/bench/mini.sh --no-openclaw
