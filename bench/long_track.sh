#!/bin/sh
# long_track.sh - memory of a long render (issue 13: "a 10-hour audiobook
# renders and exports with flat memory"): `kokoro render` of a subtitle file
# spanning HOURS hours, one cue every 9 s (4,000 cues for 10 hours), to an
# MP3, with the default memory limit (--memory-mb 256: the track and the
# segments waiting for placement go to an unlinked file in $TMPDIR) and with
# everything in memory (--memory-mb 0, what every render did before).
#
#   bench/long_track.sh [--hours 10] [--format mp3] [--skip-memory] [--video]
#
# --video: a dub instead (`render --video IN --mix duck -o OUT.mp4`) of a
# video as long as the timeline (a 32x32 picture at 1 frame per second and
# an 8 kHz tone as its own audio, made by ffmpeg): the track, the video's
# audio and the AAC encoder all pass through the muxer a block at a time.
#
# The cues repeat eight sentences, so the model speaks each once (the render
# cache gives the rest): what is measured is the track and the placement, not
# the engine. Prints, for each run, the peak RSS (/usr/bin/time), the wall
# time and the output's length (ffprobe), and the ratio of the peaks.
# --skip-memory skips the in-memory run (it needs ~4.5 GB of RAM for 10 h).
# Needs build/kokoro (make build), the model, ffprobe, /usr/bin/time.
set -eu
cd "$(dirname "$0")/.."
HOURS=10 FORMAT=mp3 SKIP=0 VIDEO=0
while [ $# -gt 0 ]; do
    case $1 in
    --hours) HOURS=$2; shift 2 ;;
    --format) FORMAT=$2; shift 2 ;;
    --skip-memory) SKIP=1; shift ;;
    --video) VIDEO=1; FORMAT=mp4; shift ;;
    *) echo "usage: $0 [--hours N] [--format mp3|wav|flac|m4a] [--skip-memory] [--video]" >&2; exit 2 ;;
    esac
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
node bench/make_srt.mjs --cues "$(awk -v h="$HOURS" 'BEGIN { printf "%d", h * 400 + 0.5 }')" --start 0 --every 9000 \
    --length 8000 > "$TMP/long.srt"
echo "long_track: $(grep -c -- '-->' "$TMP/long.srt") cues over $HOURS h; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
# Warm the cache once (the eight sentences), so that both runs below do the same work.
head -n 32 "$TMP/long.srt" > "$TMP/warm.srt"
build/kokoro render "$TMP/warm.srt" -o "$TMP/warm.wav" --cache-dir "$TMP/cache" >/dev/null 2>&1
DUB=""
if [ "$VIDEO" = 1 ]; then
    secs=$(awk -v h="$HOURS" 'BEGIN { printf "%d", h * 3600 }')
    ffmpeg -nostdin -v error -y -f lavfi -i "color=c=gray:size=32x32:rate=1:duration=$secs" \
        -f lavfi -i "sine=frequency=300:sample_rate=8000:duration=$secs" -c:v mpeg4 -q:v 10 -c:a flac \
        "$TMP/in.mkv"
    DUB="--video $TMP/in.mkv --mix duck"
fi
run() { # label memory-mb
    start=$(date +%s.%N)
    # shellcheck disable=SC2086 # DUB is words
    TMPDIR=$TMP /usr/bin/time -f '%M' -o "$TMP/rss.$1" build/kokoro render "$TMP/long.srt" -o "$TMP/out.$FORMAT" \
        $DUB --cache-dir "$TMP/cache" --memory-mb "$2" >/dev/null 2>"$TMP/err.$1" || { cat "$TMP/err.$1" >&2; exit 1; }
    end=$(date +%s.%N)
    len=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$TMP/out.$FORMAT")
    rss=$(cat "$TMP/rss.$1")
    awk -v l="$1 (--memory-mb $2)" -v r="$rss" -v a="$start" -v b="$end" -v n="$len" \
        'BEGIN { printf "%-24s peak RSS %8.1f MiB   wall %7.1f s   output %.2f h\n", l, r / 1024, b - a, n / 3600 }'
    rm -f "$TMP/out.$FORMAT"
}
run streamed 256
[ "$SKIP" = 1 ] || run in-memory 0
if [ "$SKIP" != 1 ]; then
    awk -v a="$(cat "$TMP/rss.in-memory")" -v b="$(cat "$TMP/rss.streamed")" \
        'BEGIN { printf "peak RSS in memory / streamed: %.1fx\n", a / b }'
fi
