#!/usr/bin/env bash
# Runs the whole test command (scripts/test.sh) while a CPU hog keeps every core busy, several
# times in a row, to show the suite does not depend on a quiet machine. Stops at the first
# failing run; prints each run's time and the total.
#
#   ./scripts/stress-test.sh             # 3 runs
#   ./scripts/stress-test.sh --runs 5
#   STRESS_CMD=true ./scripts/stress-test.sh --runs 2   # check the script itself (no suite)
#
# STRESS_CMD replaces the command run each time (default: scripts/test.sh); STRESS_HOGS the
# number of busy loops (default: one per core, `nproc`). The hogs run at normal priority and are
# stopped when the script exits, however it exits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --runs)
      [ $# -ge 2 ] || { echo "--runs needs a number" >&2; exit 2; }
      runs="$2"
      shift 2
      ;;
    --runs=*)
      runs="${1#--runs=}"
      shift
      ;;
    -h | --help)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $1 (usage: $0 [--runs N])" >&2
      exit 2
      ;;
  esac
done
case "$runs" in
  '' | *[!0-9]* | 0)
    echo "--runs must be a positive whole number, not '$runs'" >&2
    exit 2
    ;;
esac

cmd="${STRESS_CMD:-\"$ROOT/scripts/test.sh\"}"
hogs="${STRESS_HOGS:-$(nproc)}"

hog_pids=()
stop_hogs() {
  local p
  for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${hog_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  hog_pids=()
}
trap stop_hogs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$hogs"); do
  # A busy loop in its own bash process; killed by its pid on exit.
  bash -c 'while :; do :; done' &
  hog_pids+=("$!")
done
echo "stress: ${#hog_pids[@]} busy loops running (pids ${hog_pids[*]}); $runs run(s) of: $cmd" >&2

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
total_start=$SECONDS
times=()
for i in $(seq "$runs"); do
  echo "stress: run $i of $runs" >&2
  start=$SECONDS
  set +e
  bash -c "$cmd"
  status=$?
  set -e
  took=$((SECONDS - start))
  times+=("run $i: $(fmt "$took")")
  if [ "$status" != 0 ]; then
    printf 'stress: %s\n' "${times[@]}"
    echo "stress: run $i of $runs FAILED (exit $status) after $(fmt "$took"); total $(fmt $((SECONDS - total_start)))"
    exit 1
  fi
  echo "stress: run $i of $runs passed in $(fmt "$took")" >&2
done
printf 'stress: %s\n' "${times[@]}"
echo "stress: all $runs runs passed under load; total $(fmt $((SECONDS - total_start)))"
