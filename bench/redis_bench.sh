#!/usr/bin/env bash
# redis_bench.sh - render workers on Redis Streams against the local
# backend, on one subtitle file, side by side in one run:
#
#   bench/redis_bench.sh [--cues 16] [--workers "1 2 4"]
#
#   local      kokoro render --no-cache (the thread pool, one worker per core)
#   redis W    W worker processes (kokoro worker, cores / W engine threads
#              each) on a fresh redis-server, kokoro render --no-cache --redis
#   overhead   the same file again with --redis-no-lookup: every job is queued,
#              and every worker finds it done (a cached job): the queue's cost,
#              enqueue -> answer -> entries fetched, per job
#
# Prints audio seconds rendered per wall second for each, and per core the
# workers have (on one machine they share its cores: W workers on 2 cores
# get 2 cores, not W). Wall times are whole commands (process start and
# model mapping included), workers already up. Needs build/kokoro, the
# model and redis-server (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
CUES=16 WORKERS="1 2 4"
while [ $# -gt 0 ]; do
  case $1 in
  --cues) CUES=$2; shift 2 ;;
  --workers) WORKERS=$2; shift 2 ;;
  *) echo "usage: $0 [--cues N] [--workers \"1 2 4\"]" >&2; exit 2 ;;
  esac
done
K=$PWD/build/kokoro
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export OMP_WAIT_POLICY=passive
CORES=$(nproc)
python3 - "$TMP/in.srt" "$CUES" <<'PY'
import sys
lines = ["The morning light fell softly across the quiet harbour.",
         "She opened the letter and read it twice before she spoke.",
         "Nobody expected the storm to arrive so early in the season.",
         "We will meet again at the old bridge when the bells ring.",
         "His voice was calm, but his hands were shaking.",
         "Every answer led to another question, and then another."]
t = lambda ms: "%02d:%02d:%02d,%03d" % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        s = 500 + i * 4500
        text = lines[i % len(lines)] + ("" if i < len(lines) else " Take %d." % (i // len(lines) + 1))
        f.write("%d\n%s --> %s\n%s\n\n" % (i + 1, t(s), t(s + 4000), text))
PY
now() { date +%s.%N; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=redis://127.0.0.1:$PORT/0
RCLI=(redis-cli -h 127.0.0.1 -p "$PORT")
start_redis() {
  redis-server --port "$PORT" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
    --maxmemory 512mb --maxmemory-policy volatile-lru >>"$TMP/redis.log" 2>&1 &
  REDIS=$!
  PIDS+=($REDIS)
  for _ in $(seq 100); do "${RCLI[@]}" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "redis-server did not start" >&2; exit 1
}
stop_all() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
# timed NAME ARGS...: a render, its wall time in $TMP/NAME.time, its report in $TMP/NAME.json
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(now)
  "$K" render "$TMP/in.srt" -o "$TMP/$name.wav" --report "$TMP/$name.json" "$@" 2>"$TMP/$name.log" ||
    { cat "$TMP/$name.log" >&2; exit 1; }
  t1=$(now)
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$t1" >"$TMP/$name.time"
}
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $CORES cpus, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "file: $CUES cues of one sentence each"
timed local --no-cache --no-redis
ROWS="local 0 $(cat "$TMP/local.time")"
for w in $WORKERS; do
  start_redis
  th=$((CORES / w)); [ "$th" -ge 1 ] || th=1
  for i in $(seq "$w"); do "$K" worker --redis "$URL" --threads "$th" >"$TMP/worker-$w-$i.log" 2>&1 & PIDS+=($!); done
  for _ in $(seq 600); do [ "$("${RCLI[@]}" --scan --pattern 'kk:worker:*' | wc -l)" -ge "$w" ] && break; sleep 0.1; done
  timed "redis$w" --no-cache --redis "$URL"
  cmp -s "$TMP/local.wav" "$TMP/redis$w.wav" || { echo "redis $w: the track differs from the local one" >&2; exit 1; }
  grep 'jobs queued' "$TMP/redis$w.log" | sed "s/^kokoro: redis:/  redis $w:/"
  ROWS="$ROWS
redis$w $w $(cat "$TMP/redis$w.time")"
  if [ "$w" = "$(echo "$WORKERS" | awk '{print $NF}')" ]; then
    # The queue's overhead on cached jobs: the file with every job queued
    # and found done by a worker (--redis-no-lookup), against the same
    # render with the entries fetched from Redis directly (no queue); the
    # best of three of each.
    for r in 1 2 3; do
      timed "overhead$r" --no-cache --redis "$URL" --redis-no-lookup
      timed "fetched$r" --no-cache --redis "$URL"
    done
    OVER_LINE=$(grep 'jobs queued' "$TMP/overhead1.log")
  fi
  stop_all
done
python3 - "$TMP" "$CORES" "$CUES" <<PY
import json, sys
tmp, cores, cues = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [l.split() for l in """$ROWS""".strip().splitlines()]
def audio(name):
    r = json.load(open(f"{tmp}/{name}.json"))
    return sum(c["end_s"] - c["start_s"] for c in r["cues"])
a = audio("local")
print(f"\n{'backend':<10} {'workers':>7} {'wall s':>8} {'audio s':>8} {'audio s/wall s':>15} {'per core':>9} {'vs local':>9}")
base = None
for name, w, wall in rows:
    w, wall = int(w), float(wall)
    used = cores if w == 0 else min(w * max(1, cores // w), cores)
    rate = a / wall
    base = base or rate
    print(f"{name:<10} {w if w else '-':>7} {wall:8.2f} {a:8.2f} {rate:15.3f} {rate / used:9.3f} {rate / base:8.2f}x")
ov = min(float(open(f"{tmp}/overhead{r}.time").read()) for r in (1, 2, 3))
fe = min(float(open(f"{tmp}/fetched{r}.time").read()) for r in (1, 2, 3))
print(f"\nqueue overhead per cached job: ({ov:.3f} s with every job queued - {fe:.3f} s fetched without the queue)"
      f" / {cues} jobs = {1000 * (ov - fe) / cues:.1f} ms (best of 3 each)")
PY
echo "  (${OVER_LINE#kokoro: redis: })"
