#!/usr/bin/env bash
# Crash campaigns against a built tree (not part of ctest; takes several minutes):
#  1. `uio compress` SIGKILLed 100 times at random points (half after a random time, half right
#     after a progress line), then let finish: its memories must be byte-identical to an
#     uninterrupted run in another library, and PRAGMA integrity_check ok.
#  2. uio-desk's window and services (tests/ui/desk_driver) killed 20 times in the middle of a
#     streamed answer: after each restart the question and the partial answer are there, unfinished.
#  3. The disk fills (a 24 MB tmpfs; needs root) during compression and during a chat: a clear
#     message, nothing saved before is lost, and the work goes on once space is freed.
# Usage: scripts/soak.sh [BUILD_DIR]   (python3 reads the library files for the comparisons;
#        SOAK_PARTS="1 3" runs only those parts)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
uio="$build/bin/uio"
driver="$build/tests/ui/desk_driver"
for program in "$uio" "$driver"; do
  [ -x "$program" ] || { echo "soak: $program is missing; build first (scripts/setup.sh build)" >&2; exit 2; }
done
work=$(mktemp -d)
cleanup() {
  if mountpoint -q "$work/full" 2>/dev/null; then umount "$work/full"; fi
  rm -rf "$work"
}
trap cleanup EXIT
export QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data"

# The libraries' memories as (document, model, adapter, index, sha256 of the blob), and the check.
memories() {
  python3 - "$1" <<'EOF'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check failed"
rows = db.execute("SELECT k.document_sha256, k.model_fingerprint, k.adapter_fingerprint, s.segment_index, s.blob "
                  "FROM memory_segments s JOIN memory_keys k ON k.id = s.key_id ORDER BY 1, 2, 3, 4")
for document, model, adapter, index, blob in rows:
    print(document[:12], model[:12], adapter[:12], index, hashlib.sha256(blob).hexdigest())
EOF
}
segments() { memories "$1" | wc -l; }
count() {
  python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM memory_segments").fetchone()[0])' "$1"
}

echo "== a tiny model, an adapter, a long text (about 40,000 segments) and a short one"
"$uio" make-model --preset tiny --out "$work/tiny" --seed 7 >/dev/null 2>&1
"$uio" adapter new --model "$work/tiny" --out "$work/adapter.safetensors" --segment-length 64 --memory-tokens 8 \
  --rank 4 >/dev/null
for i in $(seq 100); do cat "$root/LICENSE"; done >"$work/book.txt"
for i in $(seq 4); do cat "$root/LICENSE"; done >"$work/short.txt"
model=(--model "$work/tiny" --adapter "$work/adapter.safetensors")
for library in killed whole; do
  "$uio" ingest --db "$work/$library.sqlite3" "$work/book.txt" >/dev/null
done
"$uio" ingest --db "$work/short.sqlite3" "$work/short.txt" >/dev/null
"$uio" compress --db "$work/short.sqlite3" --doc 1 "${model[@]}" >/dev/null  # the full disk's reference

parts=" ${SOAK_PARTS:-1 2 3} "
if [[ "$parts" == *" 1 "* ]]; then
echo "== 1. uio compress killed 100 times"
SECONDS=0
# How long this machine takes to start compressing: the kills by time fall in [0.2, 1.6] times that,
# so that they land in start-up and in the work alike, on a fast machine or a slow one.
start=$(date +%s%N)
coproc PROBE { exec "$uio" compress --db "$work/whole.sqlite3" --doc 1 "${model[@]}" --json 2>/dev/null; }
read -r -u "${PROBE[0]}" line
startup_ms=$((($(date +%s%N) - start) / 1000000))
kill -9 "$PROBE_PID"; wait "$PROBE_PID" 2>/dev/null || true
rm -f "$work"/whole.sqlite3*
"$uio" ingest --db "$work/whole.sqlite3" "$work/book.txt" >/dev/null
mid_work=0
for round in $(seq 100); do
  stored=$(count "$work/killed.sqlite3")
  coproc COMPRESS { exec "$uio" compress --db "$work/killed.sqlite3" --doc 1 "${model[@]}" --json 2>/dev/null; }
  pid=$COMPRESS_PID
  if [ $((round % 2)) -eq 0 ]; then
    ms=$((startup_ms * (RANDOM % 15 + 2) / 10))
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  else
    read -r -u "${COMPRESS[0]}" line || true     # right after a progress line
  fi
  kill -9 "$pid" 2>/dev/null || true
  status=0
  wait "$pid" 2>/dev/null || status=$?
  [ "$status" -eq 137 ] || { echo "round $round: compression ended (exit $status) before its kill" >&2; exit 1; }
  [ "$(count "$work/killed.sqlite3")" -gt "$stored" ] && mid_work=$((mid_work + 1))
done
before=$(segments "$work/killed.sqlite3")
"$uio" compress --db "$work/killed.sqlite3" --doc 1 "${model[@]}" >/dev/null
"$uio" compress --db "$work/whole.sqlite3" --doc 1 "${model[@]}" >/dev/null
memories "$work/killed.sqlite3" >"$work/killed.txt"
memories "$work/whole.sqlite3" >"$work/whole.txt"
cmp -s "$work/killed.txt" "$work/whole.txt" || { echo "memories differ after the kills" >&2; exit 1; }
echo "start-up ${startup_ms} ms; $mid_work of 100 runs killed after storing segments, the rest in start-up;" \
  "$before segments stored by then; after finishing, $(wc -l <"$work/whole.txt") segments byte-identical to an" \
  "uninterrupted run; integrity ok (${SECONDS} s)"

fi

if [[ "$parts" == *" 2 "* ]]; then
echo "== 2. uio-desk killed 20 times in the middle of an answer"
SECONDS=0
printf 'A short story about a lighthouse keeper who counted ships every night.\n' >"$work/story.txt"
"$uio" ingest --db "$work/desk.sqlite3" "$work/story.txt" >/dev/null
for round in $(seq 20); do
  question="Question $round: what did the keeper count?"
  coproc DESK { exec "$driver" ask "$work/tiny" "$work/adapter.safetensors" "$work/desk.sqlite3" "$question" 2>/dev/null; }
  pid=$DESK_PID
  wanted=$((RANDOM % 5 + 2))
  for _ in $(seq "$wanted"); do read -r -u "${DESK[0]}" line; done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  "$driver" check "$work/tiny" "$work/adapter.safetensors" "$work/desk.sqlite3" "$question" >/dev/null
done
echo "20 kills after 2 to 6 streamed pieces: every question and partial answer there, unfinished (${SECONDS} s)"

fi

[[ "$parts" == *" 3 "* ]] || exit 0
echo "== 3. a full disk"
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: mounting a small tmpfs needs root"
  exit 0
fi
mkdir -p "$work/full"
mount -t tmpfs -o size=160m tmpfs "$work/full"
printf 'A note on the lighthouse: it was painted red in the spring.\n' >"$work/note.txt"
"$uio" ingest --db "$work/full/uio.sqlite3" "$work/short.txt" "$work/note.txt" >/dev/null
coproc PART { exec "$uio" compress --db "$work/full/uio.sqlite3" --doc 1 "${model[@]}" --json 2>/dev/null; }
for _ in 1 2 3; do read -r -u "${PART[0]}" line; done
kill -9 "$PART_PID"; wait "$PART_PID" 2>/dev/null || true
saved=$(segments "$work/full/uio.sqlite3")
# Leave 3 MB: compression runs out of space in the middle of its work, and must say so.
free=$(df --output=avail -B1M "$work/full" | tail -1)
dd if=/dev/zero of="$work/full/filler" bs=1M count=$((free - 3)) 2>/dev/null
status=0
"$uio" compress --db "$work/full/uio.sqlite3" --doc 1 "${model[@]}" --json 2>"$work/full-compress.err" \
  >"$work/full-compress.out" || status=$?
[ "$status" -ne 0 ] || { echo "compression on a full disk did not fail" >&2; exit 1; }
grep -q "the disk is full" "$work/full-compress.err" || { cat "$work/full-compress.err" >&2; exit 1; }
echo "compression, after $(grep -c segments_done "$work/full-compress.out") more batches:" \
  "'$(tail -1 "$work/full-compress.err")'"
# Then no space at all: a chat cannot even start, and says why.
dd if=/dev/zero of="$work/full/filler2" bs=1M count=64 2>/dev/null || true
status=0
"$uio" chat --db "$work/full/uio.sqlite3" --doc 2 "${model[@]}" --max-new-tokens 5 "Anyone there?" \
  >/dev/null 2>"$work/full-chat.err" || status=$?
[ "$status" -ne 0 ] && grep -q "the disk is full" "$work/full-chat.err" || {
  echo "a chat on a full disk did not say so (exit $status):" >&2; cat "$work/full-chat.err" >&2; exit 1; }
echo "chat: '$(tail -1 "$work/full-chat.err")'"
# Space freed (the library cannot even be opened without room for its -wal and -shm files).
rm "$work/full/filler" "$work/full/filler2"
after=$(segments "$work/full/uio.sqlite3")
[ "$after" -ge "$saved" ] || { echo "segments were lost: $saved before, $after after" >&2; exit 1; }
echo "space freed: the $saved segments stored before the disk filled are all there, integrity ok"
"$uio" compress --db "$work/full/uio.sqlite3" --doc 1 "${model[@]}" >/dev/null 2>"$work/full-resume.err" ||
  { echo "compression did not go on once space was freed:" >&2; cat "$work/full-resume.err" >&2; exit 1; }
memories "$work/full/uio.sqlite3" | grep -v "^$(sha256sum "$work/note.txt" | cut -c1-12) " >"$work/full.txt"
memories "$work/short.sqlite3" >"$work/short-memories.txt"
cmp "$work/full.txt" "$work/short-memories.txt" || { echo "memories differ after the full disk" >&2; exit 1; }
"$uio" chat --db "$work/full/uio.sqlite3" --doc 2 "${model[@]}" --max-new-tokens 5 "Anyone there?" >/dev/null \
  2>"$work/full-chat-again.err" || { echo "the chat did not answer once space was freed:" >&2;
                                     cat "$work/full-chat-again.err" >&2; exit 1; }
echo "compression then finished byte-identical to the uninterrupted run, and the chat answers"
echo "soak passed"
