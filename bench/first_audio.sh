#!/bin/sh
# first_audio.sh - time to first audio for a long text (issue 12 item 5).
#
#   bench/first_audio.sh [--threads 2] [--repeat 2] [--words 2000] [--chunks 5] [--no-packed]
#
# The text: bench/first_audio.txt (it opens with a sentence of ten words,
# in a paragraph of ~120), its paragraphs after the first repeated until the
# text has --words words (the file holds ~630 words of prose; repetition does not
# change the cost of a chunk, and g2p of the whole text is ~10 ms). For each
# precision (exact, then fast) `kokoro bench --first-audio` speaks the whole
# text with streaming chunks, stopping after --chunks chunks (the ramp's
# first five reach its full size; 0: the whole text, ~14 minutes of audio),
# and prints the time from the call to the first
# chunk (best of --repeat runs, and the first run's time from the program's
# start, model load included), the first chunk's size, how often a player
# started at the first chunk would have waited for a later one, and the CPU
# time to the first chunk. Then, unless --no-packed, the same first chunk
# time with packed chunks (sentences up to 510 ids: what `kokoro say` did
# before), stopped after that chunk, for the ratio. The machine and its
# load average (before and after each run) are printed: it may be shared,
# and only runs under similar load compare.
#
# Needs build/kokoro (cmake build in build/) and the model.
set -eu
cd "$(dirname "$0")/.."
THREADS=2 REPEAT=2 WORDS=2000 PACKED=1 CHUNKS=5
while [ $# -gt 0 ]; do
    case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --words) WORDS=$2; shift 2 ;;
    --chunks) CHUNKS=$2; shift 2 ;;
    --no-packed) PACKED=; shift ;;
    *) echo "usage: $0 [--threads N] [--repeat N] [--words N] [--chunks N] [--no-packed]" >&2; exit 2 ;;
    esac
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TEXT=$TMP/text.txt
awk -v want="$WORDS" 'BEGIN { RS = ""; ORS = "\n\n" }
    NR == 1 { print; n = NF; next }
    { p[++np] = $0 }
    END { while (n < want) for (i = 1; i <= np && n < want; i++) { print p[i]; k = split(p[i], w, /[ \n]+/); n += k } }' \
    bench/first_audio.txt > "$TEXT"
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs; text: $(wc -w < "$TEXT") words, first sentence: $(head -1 "$TEXT" | cut -d. -f1)."
for P in exact fast; do
    echo "load before: $(load)"
    MAX=
    [ "$CHUNKS" -gt 0 ] && MAX="--max-chunks $CHUNKS"
    # shellcheck disable=SC2086
    build/kokoro bench --first-audio -f "$TEXT" --threads "$THREADS" --repeat "$REPEAT" --precision "$P" $MAX |
        grep '^first audio'
done
if [ -n "$PACKED" ]; then
    for P in exact fast; do
        echo "load before: $(load)"
        build/kokoro bench --first-audio -f "$TEXT" --threads "$THREADS" --chunks packed --max-chunks 1 \
            --precision "$P" | grep '^first audio'
    done
fi
echo "load after: $(load)"
