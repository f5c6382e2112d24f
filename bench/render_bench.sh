#!/bin/sh
# render_bench.sh - what the render cache buys: `kokoro render` on a subtitle
# file three times against one fresh cache directory.
#
#   bench/render_bench.sh [--cues 24] [--workers 2] [--format wav]
#
#   1. first render: every cue synthesised;
#   2. the same file again: nothing synthesised (the issue asks for at least
#      20 times faster than 1);
#   3. one cue's text edited: one cue synthesised (about one cue's cost).
#
# Prints the wall time of each whole command (process start, model mapping,
# phonemizing, the cache, the export), the renderer's own time from the
# report, and the ratios. Needs build/kokoro (make build) and the model.
set -eu
cd "$(dirname "$0")/.."
CUES=24 WORKERS=2 FORMAT=wav
while [ $# -gt 0 ]; do
    case $1 in
    --cues) CUES=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --format) FORMAT=$2; shift 2 ;;
    *) echo "usage: $0 [--cues N] [--workers N] [--format wav|mp3|m4a|flac]" >&2; exit 2 ;;
    esac
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# N cues of one sentence each, 4.5 s apart, each its own render.
node bench/make_srt.mjs --cues "$CUES" --start 500 --every 4500 --length 4000 --unique >"$TMP/a.srt"
sed '0,/quiet harbour/s/quiet harbour/quiet old harbour/' "$TMP/a.srt" >"$TMP/b.srt"
now() { date +%s.%N; }
run() { # name file
    t0=$(now)
    build/kokoro render "$2" -o "$TMP/out.$FORMAT" --workers "$WORKERS" --cache-dir "$TMP/cache" \
        --report "$TMP/$1.json" 2>"$TMP/$1.log" || { cat "$TMP/$1.log" >&2; exit 1; }
    t1=$(now)
    echo "$t0 $t1" >"$TMP/$1.time"
}
echo "machine: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg); $CUES cues, $WORKERS workers, $FORMAT"
run first "$TMP/a.srt"
run again "$TMP/a.srt"
run edited "$TMP/b.srt"
node -e '
const fs = require("fs"), dir = process.argv[1];
const row = (name) => { const [a, b] = fs.readFileSync(`${dir}/${name}.time`, "utf8").trim().split(" ").map(Number);
  const r = JSON.parse(fs.readFileSync(`${dir}/${name}.json`, "utf8"));
  return {name, wall_s: b - a, render_s: r.render_s, synthesized: r.synthesized, from_cache: r.from_cache,
          audio_s: r.duration_s}; };
const rows = ["first", "again", "edited"].map(row);
console.table(rows.map((r) => ({run: r.name, "wall s": r.wall_s.toFixed(3), "render s": r.render_s.toFixed(3),
  synthesized: r.synthesized, "from cache": r.from_cache, "audio s": r.audio_s.toFixed(1)})));
const [f, a, e] = rows, per = f.render_s / f.synthesized;
console.log(`unchanged re-render: ${(f.wall_s / a.wall_s).toFixed(1)}x faster (whole command), ` +
            `${(f.render_s / a.render_s).toFixed(0)}x (renderer alone); the issue asks for >= 20x`);
console.log(`one edited cue: ${e.render_s.toFixed(2)} s of rendering = ${(e.render_s / per).toFixed(2)} cues ` +
            `(one cue costs ${per.toFixed(2)} s on average in the first render)`);' "$TMP"
