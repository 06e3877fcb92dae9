#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and PyTorch (but no Debian desktop stack): builds the engine and
# the `uio` command line against PyTorch's CUDA libtorch, runs the test suite (CUDA tests
# included), checks the engine against Hugging Face transformers, and benchmarks the
# llama2-7b-shape preset on cuda in bf16. Results go to $OUT (or ./gpu-results).
#
#   scripts/bench-gpu.sh [all|check|bench]   check: build, tests, comparison; bench: benchmarks
#
# The Debian packages this build needs are fetched beforehand, on a Debian 12 machine:
#   scripts/bench-gpu.sh --fetch-debs        (writes .debs/, which git ignores)
# and carried along with the tree; they are unpacked under /tmp, never into /. Copies of
# ../shared/models in .shared-models/ (also ignored) are compared too when present.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

debs=(libqt6core6 libqt6test6 qt6-base-dev qt6-base-dev-tools libicu72 libdouble-conversion3 libb2-1
      libpcre2-16-0 nlohmann-json3-dev libsqlite3-dev libsqlite3-0 qmake6 libglib2.0-0)
if [ "${1:-}" = "--fetch-debs" ]; then
  mkdir -p .debs && (cd .debs && apt-get download "${debs[@]}")
  exit 0
fi

stage="${1:-all}"
out="${OUT:-$root/gpu-results}"
mkdir -p "$out"
prefix=/tmp/uio-debroot
for f in .debs/*.deb; do dpkg -x "$f" "$prefix"; done
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')

cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DUIO_BUILD_DESKTOP=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr/lib/x86_64-linux-gnu/cmake;$prefix/usr/share/cmake" \
  -DSQLite3_INCLUDE_DIR="$prefix/usr/include" -DSQLite3_LIBRARY="$prefix/usr/lib/x86_64-linux-gnu/libsqlite3.so" \
  > "$out/configure.log"
cmake --build build-cuda --parallel "$(nproc)" > "$out/build.log"
uio=build-cuda/bin/uio
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/gpu.txt"
$uio info --json > "$out/info.json"

if [ "$stage" = all ] || [ "$stage" = check ]; then
QT_QPA_PLATFORM=offscreen ctest --test-dir build-cuda --output-on-failure --parallel 8 > "$out/ctest.log" 2>&1 \
  || { tail -50 "$out/ctest.log"; exit 1; }
build-cuda/tests/model/test_llama cudaMatchesCpu > "$out/cuda-vs-cpu.log" 2>&1

$uio make-model --preset tiny --out /tmp/uio-tiny --seed 3 2> /dev/null
models=(/tmp/uio-tiny)
[ -d .shared-models ] && models+=(.shared-models/*)
python3 scripts/hf_compare.py "$uio" cpu "${models[@]}" > "$out/hf-compare-cpu.json"
python3 scripts/hf_compare.py "$uio" cuda "${models[@]}" > "$out/hf-compare-cuda.json"
python3 scripts/import_check.py "$uio" /tmp/uio-tiny > "$out/import-check.json"
fi

if [ "$stage" = all ] || [ "$stage" = bench ]; then
$uio make-model --preset llama2-7b-shape --dtype bf16 --out /tmp/uio-7b 2> /dev/null
{
  $uio bench gemm --device cuda --dtype bf16 --size 8192
  $uio bench generate --model /tmp/uio-7b --device cuda --dtype bf16 --prompt-tokens 2048 --new-tokens 64
  $uio bench generate --model /tmp/uio-7b --device cuda --dtype bf16 --prompt-tokens 512 --new-tokens 64
  $uio bench compress --model /tmp/uio-7b --device cuda --dtype bf16 --segments 32 --batch 8
  $uio bench decode-memory --model /tmp/uio-7b --device cuda --dtype bf16 --segments 0,10,90 --new-tokens 64
  $uio bench chat --model /tmp/uio-7b --device cuda --dtype bf16 --tokens 10000,95000
  $uio bench compress --model /tmp/uio-7b --device cuda --dtype bf16 --batch 8 --sizes 1024,4096,16384,65536,102400
  $uio bench memory --model /tmp/uio-7b --device cuda --dtype bf16 --mode uio \
    --contexts 1024,2048,4096,8192,16384,32768,65536,102400
  $uio bench memory --model /tmp/uio-7b --device cuda --dtype bf16 --mode plain \
    --contexts 1024,2048,4096,8192,16384,32768,65536,102400
  $uio bench train --model /tmp/uio-7b --device cuda --dtype bf16 --segments 2,4,8,16
  $uio bench train --model /tmp/uio-7b --device cuda --dtype bf16 --segments 2,4,8,16 --recompute
} > "$out/bench-cuda-bf16.jsonl"
fi
cat "$out"/*.json* "$out/gpu.txt"
