#!/usr/bin/env bash
# The install test: MetaClaw's .deb on a clean Debian bookworm root, as a new user gets it.
#
#   tests/install/install.sh [PACKAGE.deb]
#
# Builds the .deb cheaply when none is given (scripts/package.sh --debug: the suite's debug build,
# stripped), unpacks the cached clean root (scripts/lib.sh need_debian_root: debootstrap from
# Debian's own packages), installs the package there with `apt-get install ./metaclaw_*.deb` (real
# dependency resolution against Debian's archive), then launches the installed app in the chroot on
# a virtual display (Xvfb) with a D-Bus session bus that a stand-in tray host watches, and checks:
# the engine answers, the web UI and a JS asset load, the tray item is registered on the bus,
# start-at-login was registered on first run, a proxied turn to the stand-in upstream is recorded;
# then `apt-get remove` leaves the user's data. Ends with "install: N passed, N failed".
# Needs root (chroot, mounts). Prints the stage's timings.
. "$(dirname "$0")/../../scripts/lib.sh"
set +e
cd "$ROOT" || exit 1
T_START=$(date +%s.%N)
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(date +%s.%N)"; }

PASSED=0
FAILED=0
# check NAME CMD...: one test; its output is kept quiet unless it fails.
check() {
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    PASSED=$((PASSED + 1))
    echo "ok - $name"
  else
    FAILED=$((FAILED + 1))
    echo "FAIL - $name"
    [ -n "$out" ] && printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
  fi
}
finish() {
  echo "install: ${PASSED} passed, ${FAILED} failed (stage $(elapsed "$T_START") s)"
  [ "$FAILED" = 0 ]
  exit $?
}

apt_need debootstrap xvfb dbus-daemon python3-gi gir1.2-glib-2.0 curl

DEB="${1:-}"
if [ -z "$DEB" ]; then
  t=$(date +%s.%N)
  PKG_OUT="$CARGO_TARGET_DIR/package-test"
  rm -f "$PKG_OUT"/*.deb
  if ! bash "$ROOT/scripts/package.sh" --debug --bundles deb --out "$PKG_OUT"; then
    check "scripts/package.sh builds the .deb" false
    finish
  fi
  DEB="$(ls "$PKG_OUT"/metaclaw_*.deb | head -n 1)"
  echo "# package: $(basename "$DEB"), $(du -m "$DEB" | cut -f1) MB, built in $(elapsed "$t") s"
fi
check "the package is named metaclaw_<version>_<arch>.deb" test -f "$DEB"
[ -f "$DEB" ] || finish
check "the .deb declares its dependencies" bash -c "dpkg-deb -f '$DEB' Depends | grep -q libwebkit2gtk-4.1-0"

t=$(date +%s.%N)
if ! need_debian_root; then
  check "a clean Debian root (debootstrap)" false
  finish
fi
echo "# clean root ready in $(elapsed "$t") s"

WORK="$(mktemp -d /var/tmp/metaclaw-install.XXXXXX)"
R="$WORK/root"
mkdir -p "$R"
# The root lives in memory (about 1 GB once installed): unpacking, installing and throwing it
# away cost no disk writes, which on a busy 2-core machine were most of the stage's time.
mount -t tmpfs -o size=3g,mode=0755 metaclaw-install "$R"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  # Everything mounted under the root comes off before anything is deleted, and the delete never
  # crosses into another filesystem (a leftover bind mount of /dev must not be emptied).
  for m in $(awk -v r="$R" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  if awk -v r="$R" 'index($2, r) == 1 {found=1} END {exit !found}' /proc/mounts; then
    echo "# left $WORK in place: something is still mounted under it" >&2
  else
    rm -rf --one-file-system "$WORK"  # the tmpfs root is gone with its unmount
  fi
}
trap cleanup EXIT

t=$(date +%s.%N)
tar -C "$R" -xf "$DEBIAN_ROOT_TAR"
mount -t proc proc "$R/proc"
mount -t sysfs sys "$R/sys"
mount --rbind /dev "$R/dev" && mount --make-rslave "$R/dev"
mkdir -p "$R/tmp/.X11-unix" "$R/var/cache/apt/archives" "$R/run/metaclaw-test"
mount --bind "$HOME/.cache/metaclaw/debootstrap/archives" "$R/var/cache/apt/archives"
cp /etc/resolv.conf "$R/etc/resolv.conf"
cp "$DEB" "$R/tmp/"
echo "# root unpacked in $(elapsed "$t") s"

in_root() { chroot "$R" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
apt_install() {
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-unsafe-io "/tmp/$(basename "$DEB")"
}

# Install: apt resolves the .deb's Depends against Debian's archive (downloads are cached between
# runs; a stale package list is refreshed once).
T_INSTALL=$(date +%s.%N)
if ! apt_install >"$WORK/apt.log" 2>&1; then
  in_root apt-get update -qq >>"$WORK/apt.log" 2>&1
  apt_install >>"$WORK/apt.log" 2>&1
fi
installed() { [ "$(in_root dpkg-query -W -f='${Status}' metaclaw)" = "install ok installed" ]; }
check "apt-get install ./$(basename "$DEB") on clean bookworm" installed
[ "$FAILED" = 0 ] || { tail -n 30 "$WORK/apt.log"; finish; }
echo "# installed with $(grep -oE '[0-9]+ newly installed' "$WORK/apt.log") packages in $(elapsed "$T_INSTALL") s"
check "the app, the CLI, the web UI and the menu entry are installed" \
  test -x "$R/usr/bin/metaclaw-desktop" -a -x "$R/usr/bin/metaclaw" -a -f "$R/usr/share/metaclaw/ui/index.html" \
  -a -f "$R/usr/share/applications/metaclaw.desktop"
check "the menu entry names MetaClaw and starts the app" \
  grep -qx 'Exec=metaclaw-desktop' "$R/usr/share/applications/metaclaw.desktop"
check "the installed CLI runs" in_root /usr/bin/metaclaw --version
check "every library the app links is installed" bash -c "! chroot '$R' ldd /usr/bin/metaclaw-desktop | grep 'not found'"

# The session: a virtual display and a session bus, each reached from inside the root through a
# bind mount or a socket placed in it; a stand-in tray host on the bus; the stand-in upstream on
# loopback (the root shares the host's network).
# The socket dir exists before Xvfb starts, so the bind mount below never races its creation.
mkdir -p /tmp/.X11-unix && chmod 1777 /tmp/.X11-unix
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
mount --bind /tmp/.X11-unix "$R/tmp/.X11-unix"
BUS="$R/run/metaclaw-test/bus"
dbus-daemon --session --nofork --address="unix:path=$BUS" >"$WORK/dbus.log" 2>&1 &
PIDS+=($!)
/usr/bin/python3 "$ROOT/tests/install/sni_watcher.py" "unix:path=$BUS" "$WORK/tray.jsonl" >"$WORK/watcher.log" 2>&1 &
WATCHER=$!
PIDS+=("$WATCHER")
"$CARGO_TARGET_DIR/debug/metaclaw-standin" --port 0 >"$WORK/standin.log" 2>&1 &
PIDS+=($!)
wait_for() { # wait_for SECONDS CMD...: polls CMD every 0.1 s
  local end=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}
wait_for 15 grep -q . "$WORK/display" || { check "Xvfb starts" false; finish; }
wait_for 15 grep -q "watcher ready" "$WORK/watcher.log" || { cat "$WORK/watcher.log" "$WORK/dbus.log"; check "the session bus and tray host start" false; finish; }
wait_for 15 grep -q "listening on" "$WORK/standin.log" || { check "the stand-in upstream starts" false; finish; }
DISPLAY_NUM="$(head -n 1 "$WORK/display")"
UPSTREAM="$(grep -oE 'listening on http://[^ ]+' "$WORK/standin.log" | head -n 1 | cut -d' ' -f3)"

# The user's own data dir inside the root; only the upstream differs from a fresh install.
DATA="$R/root/.local/share/metaclaw"
mkdir -p "$DATA"
printf '[proxy]\nport = 0\n[upstream]\nbase_url = "%s/v1"\n[store]\nflush_interval_ms = 20\n' "$UPSTREAM" >"$DATA/config.toml"
mkdir -p -m 0700 "$R/run/metaclaw-test/xdg"

T_LAUNCH=$(date +%s.%N)
chroot "$R" env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 USER=root DISPLAY=":$DISPLAY_NUM" \
  DBUS_SESSION_BUS_ADDRESS=unix:path=/run/metaclaw-test/bus XDG_RUNTIME_DIR=/run/metaclaw-test/xdg \
  NO_AT_BRIDGE=1 METACLAW_LOG=info /usr/bin/metaclaw-desktop >"$WORK/app.log" 2>&1 &
APP=$!
PIDS+=("$APP")
address() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$DATA/serve.json"; }
if ! wait_for 60 address; then
  check "the installed app starts its engine" false
  tail -n 30 "$WORK/app.log"
  finish
fi
BASE="$(address)"
wait_for 30 curl -fsS "$BASE/healthz"
echo "# launch to a healthy proxy: $(elapsed "$T_LAUNCH") s"
TOKEN="$(cat "$DATA/admin.token")"
api() { curl -fsS -H "authorization: Bearer $TOKEN" "$BASE$1"; }

check "the engine answers /api/status" bash -c "curl -fsS -H 'authorization: Bearer $TOKEN' '$BASE/api/status' | grep -q turns_today"
ui_loads() {
  local html asset
  html="$(curl -fsS "$BASE/")" || return 1
  grep -q '<div id="app"\|<title>MetaClaw' <<<"$html" || { echo "not the app's page: ${html:0:300}"; return 1; }
  asset="$(grep -oE 'src="(\./|/)?assets/[^"]+\.js"' <<<"$html" | head -n 1 | sed -E 's/^src="(\.\/|\/)?//; s/"$//')"
  [ -n "$asset" ] || { echo "no JS asset in the page"; return 1; }
  curl -fsS -D - -o "$WORK/asset.js" "$BASE/$asset" | grep -qi '^content-type: .*javascript' && [ -s "$WORK/asset.js" ]
}
check "the web UI loads from /usr/share/metaclaw/ui (page and a JS asset)" ui_loads
check "the window's web process runs (WebKitGTK from Debian's packages)" \
  wait_for 30 bash -c "ps -eo pid,ppid,args | awk -v p=$APP '\$2 == p' | grep -q WebKitWebProcess"
tray_registered() {
  wait_for 30 grep -q . "$WORK/tray.jsonl" || { echo "no StatusNotifierItem registered"; return 1; }
  /usr/bin/python3 -c '
import json, sys
item = json.loads(open(sys.argv[1]).readline())
print(item)
assert not str(item.get("Id", "")).startswith("error"), item
assert item.get("Status") in ("Active", "Passive", "NeedsAttention"), item' "$WORK/tray.jsonl"
}
check "the tray item is registered on the session bus (StatusNotifierItem)" tray_registered
[ -s "$WORK/tray.jsonl" ] && echo "# tray item: $(head -n 1 "$WORK/tray.jsonl")"
check "start-at-login is registered on first run (XDG autostart entry)" \
  grep -q 'Exec=.*/usr/bin/metaclaw-desktop' "$R/root/.config/autostart/MetaClaw.desktop"

turn_recorded() {
  local r
  r="$(curl -fsS -H 'content-type: application/json' -H 'x-session-id: install-test' "$BASE/v1/chat/completions" \
    -d '{"model":"install-model","messages":[{"role":"user","content":"hello from the clean Debian root"}]}')" || return 1
  grep -q 'hello from the clean Debian root' <<<"$r" || { echo "upstream answer: $r"; return 1; }
  wait_for 10 bash -c "curl -fsS -H 'authorization: Bearer $TOKEN' '$BASE/api/turns' | grep -q '\"session_id\":\"install-test\"'"
}
check "a proxied turn to the stand-in upstream is recorded (GET /api/turns)" turn_recorded
echo "# install to first recorded turn: $(elapsed "$T_INSTALL") s (apt downloads included unless cached)"

# Quit as logout does; then uninstall.
kill -TERM "$APP" 2>/dev/null
check "the app quits cleanly on SIGTERM" wait_for 20 bash -c "! kill -0 $APP"
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q metaclaw >"$WORK/remove.log" 2>&1
check "apt-get remove takes the program away" bash -c "! test -e '$R/usr/bin/metaclaw-desktop' && ! test -e '$R/usr/bin/metaclaw'"
check "the user's data stays after uninstall (config, database, token)" \
  test -s "$DATA/config.toml" -a -s "$DATA/metaclaw.db" -a -s "$DATA/admin.token"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q metaclaw >>"$WORK/remove.log" 2>&1
purged_data_kept() {
  local st
  st="$(in_root dpkg-query -W -f='${Status}' metaclaw 2>/dev/null)"
  [ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] || { echo "after purge: $st"; return 1; }
  test -s "$DATA/metaclaw.db" -a -s "$DATA/config.toml"
}
check "apt-get purge leaves the user's data too (the package never touches a home)" purged_data_kept
finish
