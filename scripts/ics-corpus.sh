#!/usr/bin/env bash
# Checks the ICS reader against your own directory of real-world .ics files (none are in the
# repository): every file is parsed and expanded under catch_unwind and timed (see
# src/calendar/ics/corpus.rs), then each file's occurrences over the year from its first event
# are compared with Python's recurring-ical-events (installed in its own venv on first use).
#
#   scripts/ics-corpus.sh /path/to/ics [report-dir]
#
# Prints the checker's summary, then one line per file whose occurrences differ, and a count.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:?usage: scripts/ics-corpus.sh /path/to/ics [report-dir]}"
OUT="${2:-${TMPDIR:-/tmp}/metaclaw-ics-corpus}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/metaclaw/target}"
REF_VENV="${METACLAW_ICS_REF_VENV:-$HOME/.cache/metaclaw/ics-ref-venv}"
mkdir -p "$OUT"

cd "$ROOT"
METACLAW_ICS_CORPUS="$CORPUS" METACLAW_ICS_REPORT="$OUT/occurrences.jsonl" \
  cargo test --lib calendar::ics::corpus -- --ignored --nocapture >"$OUT/checker.txt" 2>&1 || true
grep -E '^[0-9]+ files:' "$OUT/checker.txt" || { tail -30 "$OUT/checker.txt"; exit 1; }

if [ ! -x "$REF_VENV/bin/python" ]; then
  python3 -m venv "$REF_VENV"
  "$REF_VENV/bin/pip" install -q recurring-ical-events
fi

"$REF_VENV/bin/python" -W ignore - "$OUT/occurrences.jsonl" >"$OUT/differences.txt" <<'EOF'
import datetime as dt, json, sys
import icalendar, recurring_ical_events

UTC = dt.timezone.utc

def ms(v, zone):
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=zone)
        return int(v.timestamp() * 1000)
    return int(dt.datetime(v.year, v.month, v.day, tzinfo=zone).timestamp() * 1000)

def occurrences(path, lo, hi):
    cal = icalendar.Calendar.from_ical(open(path, "rb").read().decode("utf-8", "replace"))
    zone = UTC
    name = cal.get("X-WR-TIMEZONE")
    if name:
        try:
            import zoneinfo
            zone = zoneinfo.ZoneInfo(str(name))
        except Exception:
            pass
    a = dt.datetime.fromtimestamp(lo / 1000, UTC)
    b = dt.datetime.fromtimestamp(hi / 1000, UTC)
    out = set()
    for e in recurring_ical_events.of(cal, components=["VEVENT"]).between(a, b):
        if str(e.get("STATUS", "")).upper() == "CANCELLED":
            continue
        s = e.get("DTSTART").dt
        end = e.get("DTEND")
        if end is not None:
            f = end.dt
        elif e.get("DURATION") is not None:
            f = s + e.get("DURATION").dt
        elif isinstance(s, dt.datetime):
            f = s
        else:
            f = s + dt.timedelta(days=1)
        s_ms, f_ms = ms(s, zone), ms(f, zone)
        if f_ms > s_ms and f_ms > lo and s_ms < hi:
            out.add((s_ms, f_ms))
    return out

import signal

def too_slow(*_):
    raise TimeoutError("over 20 s")

signal.signal(signal.SIGALRM, too_slow)
same = differ = failed = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    ours = {tuple(o) for o in r["occurrences"]}
    try:
        signal.alarm(20)
        ref = occurrences(r["file"], r["from"], r["to"])
        signal.alarm(0)
    except Exception as e:
        signal.alarm(0)
        failed += 1
        print(f"REFERENCE-FAILED\t{r['file']}\t{type(e).__name__}: {str(e)[:120]}")
        continue
    if ours == ref:
        same += 1
    else:
        differ += 1
        only_ours = sorted(ours - ref)[:3]
        only_ref = sorted(ref - ours)[:3]
        fmt = lambda xs: [dt.datetime.fromtimestamp(s / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ") + f"+{(f - s) // 60000}m" for s, f in xs]
        print(f"DIFFER\t{r['file']}\tours {len(ours)} ref {len(ref)}\tonly ours {fmt(only_ours)}\tonly ref {fmt(only_ref)}")
print(f"{same} files agree with recurring-ical-events, {differ} differ, {failed} the reference could not read")
EOF
tail -1 "$OUT/differences.txt"
echo "details: $OUT/checker.txt $OUT/differences.txt"
