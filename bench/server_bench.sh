#!/bin/sh
# server_bench.sh - the studio server under concurrent clients on loopback.
#
#   bench/server_bench.sh [--cues 24] [--connections 16] [--duration 10] [--writers 2]
#                         [--memory-mb 256]
#
# KOKORO_BIN runs another build (build-asan/kokoro: the same load under the
# sanitizers).
# Starts `kokoro serve` on a free port with a fresh data and cache
# directory, creates a project of N subtitle cues and lets the background
# render finish (its time is printed), then drives the server from a second
# process (bench/server_load.mjs, Node's http with keep-alive connections):
#
#   1. GET /api/health;
#   2. GET /api/projects/{id} (the project with its N segments);
#   3. mixed: W more connections PATCH segment texts (each edit sets off
#      a background render that the next edit may cancel) while the C
#      connections GET the project.
#
# For each: requests per second, latency percentiles (p50/p90/p99, ms) and
# failed requests (errors or unexpected statuses; must be 0). Then the
# server is stopped with SIGTERM (exit status 0 expected). The server's
# resident memory (VmRSS) is printed at start, before the load and after
# it (the audio it keeps is bounded by --memory-mb, passed to the server). Needs
# build/kokoro (make build), node and the model.
#
# The reads are driven by wrk (2 threads) when it is installed (Debian:
# apt-get install wrk), else by the Node client, which is the bottleneck
# for the lightest requests (a few thousand per second on 2 cores); the
# edits always come from the Node client (bench/server_load.mjs), a
# process of their own.
set -eu
cd "$(dirname "$0")/.."
CUES=24 CONN=16 DUR=10 WRITERS=2 MEMORY=
while [ $# -gt 0 ]; do
    case $1 in
    --cues) CUES=$2; shift 2 ;;
    --connections) CONN=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --writers) WRITERS=$2; shift 2 ;;
    --memory-mb) MEMORY=$2; shift 2 ;;
    *) echo "usage: $0 [--cues N] [--connections N] [--duration S] [--writers N] [--memory-mb MB]" >&2; exit 2 ;;
    esac
done
command -v node >/dev/null || { echo "server_bench: needs node (apt-get install nodejs)" >&2; exit 2; }
BIN=${KOKORO_BIN:-build/kokoro}
[ -x "$BIN" ] || { echo "server_bench: $BIN is missing (make build)" >&2; exit 2; }
TMP=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

OMP_WAIT_POLICY=passive "$BIN" serve --port 0 --data "$TMP/data" --cache-dir "$TMP/cache" --quiet \
    ${MEMORY:+--memory-mb "$MEMORY"} >"$TMP/out" 2>"$TMP/err" &
PID=$!
rss() { # the server's resident memory, MB
    awk '/^VmRSS:/ { printf "%.0f MB", $2 / 1024 }' "/proc/$PID/status"
}
i=0
until grep -q 'serving the studio at' "$TMP/out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 $PID 2>/dev/null; then
        echo "server_bench: the server did not start:" >&2
        cat "$TMP/err" >&2
        exit 1
    fi
    sleep 0.1
done
BASE=$(sed -n 's|.*serving the studio at \(http://[^/]*\)/.*|\1|p' "$TMP/out")
RSS_START=$(rss)

# A project of N cues, one short sentence each (no two alike), 3 s apart;
# then wait for the background render.
ID=$(BASE=$BASE CUES=$CUES node -e '
const lines = ["The morning light fell softly across the quiet harbour.",
  "She opened the letter and read it twice.", "Nobody expected the storm so early.",
  "We will meet again at the old bridge.", "His voice was calm, but his hands were shaking.",
  "The market was loud with traders.", "Every answer led to another question.",
  "They walked along the river until dark."];
const t = (ms) => new Date(ms).toISOString().slice(11, 23).replace(".", ",");
let srt = "";
for (let i = 0; i < +process.env.CUES; i++)
  srt += `${i + 1}\n${t(i * 3000 + 200)} --> ${t(i * 3000 + 2800)}\n${lines[i % lines.length]} (${i + 1})\n\n`;
(async () => {
  const r = await fetch(process.env.BASE + "/api/projects", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "bench", text: srt, format: "srt" }) });
  const p = await r.json();
  if (r.status !== 201) { console.error(JSON.stringify(p)); process.exit(1); }
  console.log(p.id);
})();')
T0=$(date +%s.%N)
SEGS=$(BASE=$BASE ID=$ID node -e '
(async () => {
  for (;;) {
    const p = await (await fetch(`${process.env.BASE}/api/projects/${process.env.ID}`)).json();
    if (p.render.done === p.render.total && !p.render.rendering) {
      console.log(p.segments.map((s) => s.id).join(","));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
})();')
T1=$(date +%s.%N)
echo "server_bench: $CUES cues rendered in the background in $(awk "BEGIN { printf \"%.1f\", $T1 - $T0 }") s ($(nproc) CPUs)"
BYTES=$(curl -s "$BASE/api/projects/$ID" | wc -c)
echo "server_bench: GET /api/projects/$ID answers $BYTES bytes ($CUES segments with word times)"
if command -v wrk >/dev/null; then
    CLIENT="wrk -t2 (reads), bench/server_load.mjs (edits)"
else
    CLIENT="bench/server_load.mjs (no wrk: apt-get install wrk for a faster client)"
fi
echo "server_bench: $CONN connections, $DUR s each run, client: $CLIENT"
echo "server_bench: RSS $RSS_START at start, $(rss) before the load (--memory-mb ${MEMORY:-256})"
echo

reads() { # path: a read run as JSON
    if command -v wrk >/dev/null; then
        wrk -t2 -c"$CONN" -d"${DUR}s" --latency "$BASE$1" >"$TMP/wrk.txt"
        node bench/server_load.mjs --parse-wrk "$TMP/wrk.txt"
    else
        node bench/server_load.mjs --base "$BASE" --path "$1" --connections "$CONN" --duration "$DUR"
    fi
}
mixed() { # reads of path while W connections edit
    if command -v wrk >/dev/null; then
        node bench/server_load.mjs --base "$BASE" --connections "$WRITERS" --writers "$WRITERS" --duration "$DUR" \
            --edit-project "$ID" --edit-segments "$SEGS" >"$TMP/edits.json" &
        W=$!
        wrk -t2 -c"$CONN" -d"${DUR}s" --latency "$BASE$1" >"$TMP/wrk.txt"
        wait $W
        node -e '
const fs = require("fs");
const r = JSON.parse(process.argv[1]), e = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
console.log(JSON.stringify({ reads: r.reads, edits: e.edits }));' "$(node bench/server_load.mjs --parse-wrk "$TMP/wrk.txt")" "$TMP/edits.json"
    else
        node bench/server_load.mjs --base "$BASE" --path "$1" --connections $((CONN + WRITERS)) --duration "$DUR" \
            --writers "$WRITERS" --edit-project "$ID" --edit-segments "$SEGS"
    fi
}

row() { # name json key
    node -e '
const [name, json, key] = process.argv.slice(1);
const s = JSON.parse(json)[key];
const f = (x) => x.toFixed(2).padStart(8);
console.log(`${name.padEnd(34)} ${s.rps.toFixed(0).padStart(8)} ${f(s.p50)} ${f(s.p90)} ${f(s.p99)} ${String(s.requests).padStart(9)} ${String(s.failed).padStart(7)}`);
' "$1" "$2" "$3"
}
failures() { # json: failed requests of a run
    echo "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.reads.failed+(j.edits?j.edits.failed:0))})'
}
printf '%-34s %8s %8s %8s %8s %9s %7s\n' "run" "req/s" "p50 ms" "p90 ms" "p99 ms" "requests" "failed"
R=$(reads /api/health)
row "GET /api/health" "$R" reads
FAILED=$(failures "$R")
R=$(reads "/api/projects/$ID")
row "GET /api/projects/{id}" "$R" reads
FAILED=$((FAILED + $(failures "$R")))
R=$(mixed "/api/projects/$ID")
row "mixed: GET /api/projects/{id}" "$R" reads
row "mixed: PATCH segment text ($WRITERS conn)" "$R" edits
FAILED=$((FAILED + $(failures "$R")))

# The last edits' renders settle; then an orderly stop.
T0=$(date +%s.%N)
BASE=$BASE ID=$ID node -e '
(async () => {
  for (;;) {
    const p = await (await fetch(`${process.env.BASE}/api/projects/${process.env.ID}`)).json();
    if (p.render.done === p.render.total && !p.render.rendering) return;
    await new Promise((r) => setTimeout(r, 100));
  }
})();'
T1=$(date +%s.%N)
echo
echo "server_bench: after the mixed run the project was up to date again in $(awk "BEGIN { printf \"%.1f\", $T1 - $T0 }") s"
sleep 1 # past the allocator's trim interval
echo "server_bench: RSS $(rss) after the load"
kill -TERM $PID
set +e
wait $PID
CODE=$?
set -e
PID=
echo "server_bench: SIGTERM: exit status $CODE; failed requests in all runs: $FAILED"
[ "$CODE" -eq 0 ] && [ "$FAILED" -eq 0 ]
