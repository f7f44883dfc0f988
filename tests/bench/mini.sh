#!/usr/bin/env bash
# The learning loop changes the agent's behaviour, end to end (issue 17 part 6): the mini
# benchmark (tests/data/metaclaw-bench-mini) run by `metaclaw bench run` with a real agent on the
# official openai SDK (tests/bench/sdk_agent.py) whose model is the stand-in's instruction
# follower, in `baseline` mode (a plain proxy) and in `skills` mode (judge standin-judge, evolver
# standin-evolver, approval auto), then `bench report`. Prints a per-day table and fails unless
#   - baseline stays flat: the preference (file_check) rounds fail every day;
#   - skills learns: day 1's preference round fails, every later day's passes, and each later
#     day's accuracy is above baseline's;
#   - the multiple-choice distractors pass every day in both modes.
# With OpenClaw installed (scripts/lib.sh need_agents), also one day with `--agent openclaw` as a
# smoke check (its rounds must finish; their scores are shown, not asserted).
#
# Builds nothing: uses METACLAW_BIN and METACLAW_STANDIN_BIN (default: the debug binaries in
# $CARGO_TARGET_DIR). `--keep` keeps the results folder; `--table-only` prints the table of an
# existing results folder (`--out DIR`) without running; `--no-openclaw` skips the OpenClaw smoke;
# METACLAW_BENCH_DATA runs another dataset of the same shape (e.g. one with its rounds reordered).
# Target: both modes and the report in <= 3 minutes.
. "$(dirname "$0")/../../scripts/lib.sh"
CALLER_DIR="$PWD"
cd "$ROOT"

KEEP=0 TABLE_ONLY=0 OUT="" OPENCLAW=1
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --table-only) TABLE_ONLY=1 ;;
    --no-openclaw) OPENCLAW=0 ;;
    --out) OUT="$2"; case "$OUT" in /*) ;; *) OUT="$CALLER_DIR/$OUT" ;; esac; shift ;;
    *) echo "usage: tests/bench/mini.sh [--keep] [--out DIR] [--table-only] [--no-openclaw]" >&2; exit 2 ;;
  esac
  shift
done

DATA="${METACLAW_BENCH_DATA:-$ROOT/tests/data/metaclaw-bench-mini}"
METACLAW_BIN="${METACLAW_BIN:-$CARGO_TARGET_DIR/debug/metaclaw}"
METACLAW_STANDIN_BIN="${METACLAW_STANDIN_BIN:-$CARGO_TARGET_DIR/debug/metaclaw-standin}"
PY="${METACLAW_BENCH_PYTHON:-$VENV/bin/python}"

# The per-day table and the assertions, from <out>/<mode>/<day>/<round>.json.
check_results() {
  python3 - "$1" "$DATA" <<'EOF'
import json, os, sys
out, data = sys.argv[1], sys.argv[2]
days = [t["id"] for t in json.load(open(os.path.join(data, "all_tests.json")))["test"]]

def rounds(mode, day):
    d = os.path.join(out, mode, day)
    if not os.path.isdir(d):
        return []
    rs = []
    for f in sorted(os.listdir(d)):
        if f.endswith(".json") and f != "learned.json":
            r = json.load(open(os.path.join(d, f)))
            if "score" in r:
                rs.append(r)
    return rs

def acc(rs):
    return sum(r["score"] for r in rs) / len(rs) if rs else None

fmt = lambda a: "   -  " if a is None else f"{a * 100:5.1f}%"
print(f"{'day':8} {'baseline':>9} {'skills':>9}   preference round (baseline / skills)")
problems = []
for i, day in enumerate(days):
    b, s = rounds("baseline", day), rounds("skills", day)
    pref = lambda rs: [r for r in rs if r["kind"] == "file_check"]
    mark = lambda rs: "/".join("pass" if r["passed"] else "fail" for r in pref(rs)) or "-"
    print(f"{day:8} {fmt(acc(b)):>9} {fmt(acc(s)):>9}   {mark(b)} / {mark(s)}")
    if not b or not s:
        problems.append(f"{day}: missing results (baseline {len(b)} rounds, skills {len(s)})")
        continue
    for mode, rs in (("baseline", b), ("skills", s)):
        for r in rs:
            if r["kind"] == "multi_choice" and r["score"] < 1:
                problems.append(f"{mode} {day} {r['round']}: a distractor scored {r['score']} ({r.get('agent_error') or r['answer'][:80]!r})")
            if r.get("agent_error"):
                problems.append(f"{mode} {day} {r['round']}: the agent failed: {r['agent_error'][:200]}")
    if any(r["passed"] for r in pref(b)):
        problems.append(f"baseline {day}: a preference round passed (baseline must stay flat)")
    if i == 0 and any(r["passed"] for r in pref(s)):
        problems.append(f"skills {day}: the preference round passed before anything was learned")
    if i > 0 and not all(r["passed"] for r in pref(s)):
        problems.append(f"skills {day}: a preference round failed after day 1's correction")
    if i > 0 and acc(s) <= acc(b):
        problems.append(f"skills {day}: accuracy {fmt(acc(s))} is not above baseline's {fmt(acc(b))}")
flat = {round(acc(rounds("baseline", d)) or 0, 6) for d in days}
if len(flat) != 1:
    problems.append(f"baseline is not flat: {sorted(flat)}")
for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
EOF
}

if [ "$TABLE_ONLY" = 1 ]; then
  [ -n "$OUT" ] || { echo "--table-only needs --out DIR" >&2; exit 2; }
  check_results "$OUT"
  exit $?
fi

for b in "$METACLAW_BIN" "$METACLAW_STANDIN_BIN"; do
  [ -x "$b" ] || { echo "mini.sh: $b is not built (cargo build -p metaclaw -p metaclaw-standin)" >&2; exit 1; }
done
"$PY" -c 'import openai' 2>/dev/null || { echo "mini.sh: $PY has no openai package (scripts/lib.sh need_python_venv)" >&2; exit 1; }

[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/metaclaw-mini.XXXXXX)"
mkdir -p "$OUT/user-home"
OUT="$(cd "$OUT" && pwd)"
STANDIN_PID=""
cleanup() {
  if [ -n "$STANDIN_PID" ]; then kill "$STANDIN_PID" 2>/dev/null || true; fi
  [ "$KEEP" = 1 ] || rm -rf "$OUT"
}
trap cleanup EXIT

# The stand-in, on a free port: it prints its address; the subshell prints its pid.
exec 3< <("$METACLAW_STANDIN_BIN" --no-record 2>/dev/null & echo "pid $!"; wait)
UPSTREAM=""
for _ in 1 2; do
  read -r -t 30 line <&3 || { echo "mini.sh: the stand-in did not start" >&2; exit 1; }
  case "$line" in
    "pid "*) STANDIN_PID="${line#pid }" ;;
    "listening on "*) UPSTREAM="${line#listening on }/v1" ;;
  esac
done
[ -n "$UPSTREAM" ] && [ -n "$STANDIN_PID" ] || { echo "mini.sh: the stand-in did not start" >&2; exit 1; }

AGENT="$PY $ROOT/tests/bench/sdk_agent.py {session} {message_file} {workspace} {base_url} {model}"
# run_mode OUT MODE ARGS...
run_mode() {
  local out="$1" mode="$2"; shift 2
  METACLAW_NO_KEYRING=1 "$METACLAW_BIN" bench run --home "$OUT/user-home" --data "$DATA" --out "$out" \
    --mode "$mode" --upstream "$UPSTREAM" --model standin-follower --agent-timeout 120 "$@"
}

started=$(date +%s)
say "mini benchmark: baseline"
run_mode "$OUT" baseline --agent command --agent-cmd "$AGENT"
say "mini benchmark: skills (judge standin-judge, evolver standin-evolver, approval auto)"
run_mode "$OUT" skills --agent command --agent-cmd "$AGENT" \
  --judge-model standin-judge --evolver-model standin-evolver --approval auto
"$METACLAW_BIN" bench report --out "$OUT" --html "$OUT/report.html" >/dev/null
took=$(( $(date +%s) - started ))

status=0
check_results "$OUT" || status=1
[ -s "$OUT/report.json" ] || { echo "FAIL: bench report wrote no report.json"; status=1; }
echo "mini benchmark: both modes and the report in ${took} s (target: <= 180 s)"

# OpenClaw smoke: one day through the real agent, when it is installed.
if [ "$OPENCLAW" = 1 ] && { [ -x "$HOME/.cache/metaclaw/agents/openclaw/node_modules/.bin/openclaw" ] || command -v openclaw >/dev/null; }; then
  say "mini benchmark: one day with OpenClaw (smoke)"
  t0=$(date +%s)
  if run_mode "$OUT/openclaw" baseline --agent openclaw --days 1; then
    echo "OpenClaw smoke: day01 in $(( $(date +%s) - t0 )) s"
  else
    echo "FAIL: the OpenClaw smoke run failed"
    status=1
  fi
fi
# One line for the suite's closing count (scripts/test.sh).
if [ "$status" = 0 ]; then echo "learning curve: 1 passed, 0 failed"; fi
exit $status
