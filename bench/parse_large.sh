#!/usr/bin/env bash
# Parsing benchmark: a 100,000-cue SRT (about 9 MB) through `kokoro parse`,
# which reads it twice (validate, then print) and writes the JSON to
# /dev/null. Prints CPU time and peak resident memory. Bounded memory means
# the peak stays flat when the file grows: the 10x smaller file is run too.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${KOKORO_BIN:-build/kokoro}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

make_srt() { # cues file
  awk -v n="$1" 'function t(ms) { return sprintf("%02d:%02d:%02d,%03d", int(ms/3600000), int(ms/60000)%60, int(ms/1000)%60, ms%1000) }
    BEGIN { for (i = 0; i < n; i++) { s = i * 2000
      printf "%d\n%s --> %s\n<i>Line %d of the big file,</i>\nwith a second line.\n\n", i+1, t(s), t(s+1500), i } }' >"$2"
}

for n in 10000 100000; do
  make_srt "$n" "$TMP/big.srt"
  size=$(stat -c %s "$TMP/big.srt")
  best=""
  for run in 1 2 3; do
    /usr/bin/time -f "%U %S %M" -o "$TMP/time" "$BIN" parse "$TMP/big.srt" >"$TMP/out.json"
    read -r user sys rss <"$TMP/time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')
    if [ -z "$best" ] || awk -v a="$cpu" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$cpu; best_rss=$rss; fi
  done
  segs=$(grep -c '"index"' "$TMP/out.json")
  printf 'parse %6d cues (%5.1f MB): %d segments, CPU %s s (best of 3), peak RSS %s KiB\n' \
    "$n" "$(awk -v s="$size" 'BEGIN { print s / 1e6 }')" "$segs" "$best" "$best_rss"
done
