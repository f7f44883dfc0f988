#!/usr/bin/env bash
# Builds MetaClaw's Linux packages with Tauri's bundler: the desktop app (tray + engine + web UI)
# with the headless `metaclaw` CLI beside it, as .deb and .rpm (and an AppImage where its tools
# can be had: see README "Install the packages").
#
#   scripts/package.sh [--debug] [--bundles deb,rpm] [--out DIR]
#
# Default: a release build (cargo build --release, the app with tauri/custom-protocol), bundles
# deb,rpm, packages in $CARGO_TARGET_DIR/package/. --debug bundles the debug build the test
# command already made (stripped), which is what tests/install/ installs: cheap, same layout.
# Version: the workspace's ([workspace.package] version in Cargo.toml).
. "$(dirname "$0")/lib.sh"

PROFILE=release
BUNDLES=deb,rpm
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) PROFILE=debug ;;
    --release) PROFILE=release ;;
    --bundles) BUNDLES="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
OUT="${OUT:-$CARGO_TARGET_DIR/package}"

case ",$BUNDLES," in
  *,appimage,*)
    # Tauri's AppImage bundler downloads linuxdeploy, its GTK plugin and the AppImage runtime
    # from GitHub at bundle time; none of them is in Debian's packages, crates.io, PyPI or npm.
    if ! curl -fsS -m 10 -o /dev/null https://github.com 2>/dev/null; then
      echo "package.sh: an AppImage needs linuxdeploy and the AppImage runtime, which Tauri's bundler" \
        "downloads from GitHub, and GitHub cannot be reached from here; build deb,rpm instead" >&2
      exit 1
    fi
    ;;
esac

need_build_deps
need_desktop_deps
need_package_tools
need_ui_build
need_tauri_cli
cd "$ROOT" || exit 1

VERSION="$(cargo metadata --no-deps --format-version 1 --offline 2>/dev/null \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="metaclaw-desktop"))')"


say "building metaclaw and metaclaw-desktop ($PROFILE)"
if [ "$PROFILE" = release ]; then
  cargo build --release --quiet -p metaclaw --bin metaclaw
  # What `cargo tauri build` adds: the app serves its bundled assets itself, not a dev server.
  cargo build --release --quiet -p metaclaw-desktop --features tauri/custom-protocol
else
  # The same command as scripts/test.sh, so a warm suite pays nothing here.
  cargo build --workspace --quiet
fi

# The bundler reads the app from <target>/<profile>/ and patches it in place (it records the
# package type for the updater), so it gets a stripped copy in a staging dir of its own, never
# the shared build. Symbols and debug info are most of a debug binary.
STAGE="$OUT/stage"
rm -rf "$STAGE"
mkdir -p "$STAGE/$PROFILE" "$OUT"

say "building the web UI (shipped as /usr/share/metaclaw/ui, where the engine looks beside its binary)"
# Into the staging dir, so a UI test reading ui/dist meanwhile is not disturbed.
(cd "$ROOT" && npx --no-install vite build --config ui/vite.config.ts --outDir "$STAGE/ui" --emptyOutDir --logLevel warn)
for bin in metaclaw metaclaw-desktop; do
  strip --strip-all -o "$STAGE/$PROFILE/$bin" "$CARGO_TARGET_DIR/$PROFILE/$bin"
done

# Real Depends for the .deb: what the binaries link (dpkg-shlibdeps, with the versions they
# need; the app links every library the CLI does). The bundler itself adds libwebkit2gtk-4.1-0,
# libgtk-3-0 and the tray's libayatana-appindicator3-1, which is loaded at run time (dlopen).
shlibs="$(
  cd "$STAGE" && mkdir -p debian && printf 'Source: metaclaw\n\nPackage: metaclaw\nArchitecture: any\n' >debian/control \
    && dpkg-shlibdeps -O "$PROFILE/metaclaw-desktop" 2>/dev/null | sed -n 's/^shlibs:Depends=//p'
)"
[ -n "$shlibs" ] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
DEPENDS_JSON="$(printf '%s' "$shlibs" \
  | python3 -c 'import json,sys; print(json.dumps([d.strip() for d in sys.stdin.read().split(",") if d.strip()]))')"

# The bundle-time config, merged over src-tauri/tauri.conf.json: the package is named
# "metaclaw" (the app keeps its name MetaClaw), the CLI goes to /usr/bin/metaclaw.
CONFIG="$(
  cat <<JSON
{
  "productName": "metaclaw",
  "version": "$VERSION",
  "bundle": {
$([ -n "${TAURI_SIGNING_PRIVATE_KEY:-}" ] || echo '"createUpdaterArtifacts": false,')
    "linux": {
      "deb": { "depends": $DEPENDS_JSON,
               "files": { "/usr/bin/metaclaw": "$STAGE/$PROFILE/metaclaw", "/usr/share/metaclaw/ui": "$STAGE/ui" } },
      "rpm": { "files": { "/usr/bin/metaclaw": "$STAGE/$PROFILE/metaclaw", "/usr/share/metaclaw/ui": "$STAGE/ui" } }
    }
  }
}
JSON
)"

say "bundling $BUNDLES with tauri-cli $TAURI_CLI_VERSION"
flags=()
[ "$PROFILE" = debug ] && flags+=(--debug)
# CARGO_TARGET_DIR points the bundler at the staged binaries; nothing is compiled there.
(cd "$ROOT/src-tauri" && CARGO_TARGET_DIR="$STAGE" "$TAURI_CLI" bundle "${flags[@]}" --bundles "$BUNDLES" \
  --config "$CONFIG" --no-sign)

found=0
for f in "$STAGE/$PROFILE"/bundle/deb/*.deb "$STAGE/$PROFILE"/bundle/rpm/*.rpm "$STAGE/$PROFILE"/bundle/appimage/*.AppImage; do
  [ -f "$f" ] || continue
  mv "$f" "$OUT/"
  found=$((found + 1))
  say "built $OUT/$(basename "$f") ($(du -h "$OUT/$(basename "$f")" | cut -f1))"
done
rm -rf "$STAGE"
[ "$found" -gt 0 ] || { echo "package.sh: the bundler made no package" >&2; exit 1; }
