#!/usr/bin/env bash
# Builds the web UI and runs its browser tests: Debian's Chromium (driven by playwright-core)
# against the UI served by a real `metaclaw serve` in front of the stand-in upstream.
# Screenshots of every view (light and dark) land in tests/ui/artifacts/.
#
# Needs the debug binaries `metaclaw` and `metaclaw-standin` in $CARGO_TARGET_DIR/debug (built by
# ./scripts/test.sh or `cargo build --workspace`). Extra arguments go to `node --test` (e.g. a
# single file: ./scripts/ui-test.sh tests/ui/review.test.mjs).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v chromium >/dev/null || apt_need chromium
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "the UI needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
for b in metaclaw metaclaw-standin; do
  if [ ! -x "$CARGO_TARGET_DIR/debug/$b" ]; then
    echo "missing $CARGO_TARGET_DIR/debug/$b: run \`cargo build --workspace\` (or ./scripts/test.sh) first" >&2
    exit 1
  fi
done

say "npm ci"
npm ci --no-audit --no-fund --loglevel=error
say "npm run build (ui/dist)"
npm run build --silent

say "browser tests (tests/ui)"
export METACLAW_UI_DIR="$ROOT/ui/dist"
TAP="$(mktemp)"
trap 'rm -f "$TAP"' EXIT
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(tests/ui/*.test.mjs)
set +e
node --test --test-concurrency=1 --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$TAP" \
  "${files[@]}"
status=$?
set -e

passed=$(grep -E '^# pass ' "$TAP" | awk '{s+=$3} END {print s+0}')
failed=$(grep -E '^# fail ' "$TAP" | awk '{s+=$3} END {print s+0}')
cancelled=$(grep -E '^# cancelled ' "$TAP" | awk '{s+=$3} END {print s+0}')
failed=$((failed + cancelled))
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "screenshots: tests/ui/artifacts/"
echo "ui: ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
