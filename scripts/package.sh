#!/usr/bin/env bash
# Builds the Debian package of UIO Desk: build/uio-desk_<version>_<arch>.deb (Release build).
#   scripts/package.sh            then, as root:  apt-get install ./build/uio-desk_*.deb
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${UIO_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh" build
cd "$build"
cpack -G DEB
ls "$build"/uio-desk_*.deb
