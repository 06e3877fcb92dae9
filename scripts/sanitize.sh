#!/usr/bin/env bash
# The unit tests under AddressSanitizer, LeakSanitizer and UBSan: builds build-asan with the
# system compiler (UIO_SANITIZE_ADDRESS; -O1, fast to build, still quick to run) and runs the
# tests labelled "unit" (other ctest options replace that). A sanitizer report fails the test
# that made it. `scripts/sanitize.sh -L gui` runs the window tests there too (slower).
# Needs what scripts/setup.sh installs. Usage: scripts/sanitize.sh [ctest options]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${UIO_ASAN_BUILD_DIR:-$root/build-asan}"

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
    -DUIO_SANITIZE_ADDRESS=ON >/dev/null
fi
cmake --build "$build" --parallel "$(nproc)"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export QT_QPA_PLATFORM=offscreen
[ $# -gt 0 ] || set -- -L unit
exec ctest --test-dir "$build" --output-on-failure --parallel "$(nproc)" -LE package "$@"
