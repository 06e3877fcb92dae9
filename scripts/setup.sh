#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages), builds UIO Desk in Release, then
#   scripts/setup.sh run [uio-desk options]   starts the application
#   scripts/setup.sh test [ctest options]     runs the whole test suite
#   scripts/setup.sh build                    only builds
# Idempotent: a second run with nothing changed installs nothing and rebuilds nothing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${UIO_BUILD_DIR:-$root/build}"
action="${1:-build}"
[ $# -gt 0 ] && shift

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6svg6 libqt6sql6-sqlite qt6-qpa-plugins libqt6opengl6-dev libgl-dev libxkbcommon-dev
  libtorch-dev libopenblas0-pthread
  libpoppler-qt6-dev poppler-utils libsqlite3-dev sentencepiece libquazip1-qt6-dev nlohmann-json3-dev qtkeychain-qt6-dev libpcre2-dev
  fonts-dejavu-core xvfb xauth
  dpkg-dev lintian appstream desktop-file-utils
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer, ASan and UBSan
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
jobs=$(nproc)
cmake --build "$build" --parallel "$jobs"

case "$action" in
  build) ;;
  run)
    exec "$build/bin/uio-desk" "$@"
    ;;
  test)
    # Tests draw on the offscreen platform; no display is needed.
    export QT_QPA_PLATFORM=offscreen
    exec ctest --test-dir "$build" --output-on-failure --parallel "$jobs" "$@"
    ;;
  *)
    echo "usage: scripts/setup.sh [build|run|test] [arguments]" >&2
    exit 2
    ;;
esac
