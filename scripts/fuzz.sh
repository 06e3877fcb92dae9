#!/usr/bin/env bash
# The code that reads untrusted bytes, under AddressSanitizer and UBSan: builds build-fuzz with
# Clang (fuzz/CMakeLists.txt), runs the tests labelled "untrusted" there, then every libFuzzer
# target for SECONDS (default 60) from its seeds (fuzz/corpus/<target>/) and the corpus earlier runs
# grew (build-fuzz/corpus/<target>/). An input that crashes, trips a sanitizer, leaks or hangs is
# kept in build-fuzz/findings/<target>/ and makes the script fail; reproduce it with
#   build-fuzz/fuzz/<target> build-fuzz/findings/<target>/<file>
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${UIO_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
    -DUIO_BUILD_FUZZERS=ON >/dev/null
fi
cmake --build "$build" --parallel "$(nproc)" --target uio_fuzzers uio_untrusted_tests

# Sanitizer reports fail loudly; LeakSanitizer is on for the fuzzers (libFuzzer's default) and the
# tests alike.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
QT_QPA_PLATFORM=offscreen ctest --test-dir "$build" -L untrusted --output-on-failure --parallel "$(nproc)"

if [ ${#targets[@]} -eq 0 ]; then
  for program in "$build"/fuzz/fuzz_*; do
    [ -x "$program" ] && targets+=("$(basename "$program")")
  done
fi
failed=0
printf '%-22s %12s %10s %8s  %s\n' target executions "exec/s" corpus findings
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target" findings="$build/findings/$target" log="$build/fuzz/$target.log"
  mkdir -p "$corpus" "$findings"
  seeds=()
  [ -d "$root/fuzz/corpus/$target" ] && seeds=("$root/fuzz/corpus/$target")
  # -rss_limit_mb: a parser may use memory, not all of it; -timeout: seconds one input may take.
  status=0
  "$build/fuzz/$target" "$corpus" "${seeds[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -rss_limit_mb=3072 -timeout=30 -max_len=262144 -artifact_prefix="$findings/" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  found=$(find "$findings" -type f | wc -l)
  printf '%-22s %12s %10s %8s  %s\n' "$target" "${runs:-?}" "${speed:-?}" "$size" "$found"
  if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
    failed=1
    echo "--- $target (exit $status): the end of $log" >&2
    tail -40 "$log" >&2
  fi
done
exit "$failed"
