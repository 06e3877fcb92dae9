#!/usr/bin/env bash
# The Debian package, built and installed for real: lintian finds no errors, the desktop entry and
# AppStream metadata validate, the installed programs run (uio makes a tiny model and generates
# with it, and adds a document through the installed reader process; uio-desk starts, saves its window and writes only to the user's XDG folders), and the
# package removes cleanly. It installs into /usr, so it runs only as root where that is wanted:
# in CI (CI=true) or with UIO_TEST_PACKAGE=1. Otherwise it is skipped (exit 77).
#   test_package.sh BUILD_DIR
set -euo pipefail

build=$1
if [ "$(id -u)" -ne 0 ] || { [ "${CI:-}" != "true" ] && [ "${UIO_TEST_PACKAGE:-}" != "1" ]; }; then
  echo "skipped: installs a package into /usr; runs as root with CI=true or UIO_TEST_PACKAGE=1"
  exit 77
fi
if dpkg-query -W -f='${Status}' uio-desk 2>/dev/null | grep -q 'install ok installed'; then
  echo "uio-desk is installed on this machine already; not touching it" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'apt-get remove -y -qq uio-desk >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

step() { echo "== $*"; }

step "building the package"
cpack -G DEB -B "$work/out" --config "$build/CPackConfig.cmake" >"$work/cpack.log" 2>&1 || {
  cat "$work/cpack.log"
  exit 1
}
deb=$(ls "$work"/out/uio-desk_*_*.deb)
echo "$deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'

step "lintian (no errors; warnings are listed)"
lintian --fail-on error --no-tag-display-limit "$deb"

step "desktop entry and AppStream metadata"
dpkg-deb -x "$deb" "$work/tree"
desktop-file-validate "$work"/tree/usr/share/applications/*.desktop
appstreamcli validate --no-net "$work"/tree/usr/share/metainfo/*.metainfo.xml

step "install"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log"
  exit 1
}
test -x /usr/bin/uio && test -x /usr/bin/uio-desk

step "the installed programs"
version=$(dpkg-deb --field "$deb" Version)
/usr/bin/uio --version | tee "$work/version"
grep -q "$version" "$work/version"
/usr/bin/uio make-model --preset tiny --out "$work/tiny"
/usr/bin/uio generate --model "$work/tiny" --prompt "Once upon a time" --max-new-tokens 8 --seed 1
/usr/bin/uio-desk --version | grep -q "$version"
test -x /usr/libexec/uio-desk/uio-reader
printf '# Notes\n\nRead by the installed reader process.\n' >"$work/notes.md"
env -u UIO_READER_PROGRAM /usr/bin/uio ingest --db "$work/library.sqlite3" "$work/notes.md" | tee "$work/ingest"
grep -q "added" "$work/ingest"

step "uio-desk writes only to the user's XDG folders"
mkdir -p "$work/home" "$work/cwd"
(cd "$work/cwd" && env -i PATH=/usr/bin:/bin HOME="$work/home" QT_QPA_PLATFORM=offscreen \
  /usr/bin/uio-desk --screenshot "$work/window.png")
test -s "$work/window.png"
test -z "$(ls -A "$work/cwd")"
outside=$(cd "$work/home" && find . -type f | grep -v -E '^\./\.(local/share|config|cache)/' || true)
if [ -n "$outside" ]; then
  echo "uio-desk wrote outside the XDG folders: $outside" >&2
  exit 1
fi
(cd "$work/home" && find . -type f | sort)

step "remove"
apt-get remove -y -qq uio-desk >/dev/null
test ! -e /usr/bin/uio && test ! -e /usr/bin/uio-desk && test ! -e /usr/libexec/uio-desk
test ! -e /usr/share/applications/io.github.uio_desk.UioDesk.desktop
echo "package test passed"
