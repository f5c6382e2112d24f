#!/usr/bin/env bash
# Render workers on a real Redis: starts redis-server on a free loopback
# port in a temporary directory, kokoro workers against it, and checks one
# case (docs/workers.md; issue 17):
#   identical  a 60-cue file through 3 workers is bit-identical to the local render
#              (short cues, to keep the suite short: plain, sped-up and stretched
#              speech, and every worker gets jobs)
#   kill9      a worker killed (-9) in the middle of a job: the job is reclaimed
#              (XAUTOCLAIM) and finished, the output still identical; and a
#              worker given two SIGTERMs mid-job releases it and exits
#   restart    Redis stopped and restarted mid-render: the render completes, identical
#   refuse     a job for another model identity is refused (the client is told
#              why); malformed job messages are dead-lettered with a reason; the
#              worker lives on and renders a real job after them
#   serve      kokoro serve --redis: /api/health counts the live workers, and a
#              project's track is rendered on them
# usage: redis_integration.sh KOKORO_BIN CASE [REFUSE_HELPER]
# Needs redis-server and redis-cli (scripts/install-deps.sh) and the model.
set -euo pipefail
KOKORO=$1
CASE=$2
HELPER=${3:-}
command -v redis-server >/dev/null || { echo "redis-server is missing: run scripts/install-deps.sh" >&2; exit 1; }
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/redis-it.XXXXXX")
PIDS=()
REDIS_PID=
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$REDIS_PID" ]; then kill -9 "$REDIS_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL ($CASE): $*" >&2; for f in "$TMP"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=redis://127.0.0.1:$PORT/0
RCLI=(redis-cli -h 127.0.0.1 -p "$PORT")
start_redis() {
  redis-server --port "$PORT" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
    --maxmemory 256mb --maxmemory-policy volatile-lru >>"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do "${RCLI[@]}" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  fail "redis-server did not start"
}
# start_worker NAME ARGS...: a worker process, its pid in W_<NAME>
start_worker() {
  local name=$1; shift
  "$KOKORO" worker --redis "$URL" "$@" >"$TMP/worker-$name.log" 2>&1 &
  PIDS+=($!)
  eval "W_$name=$!"
}
workers_alive() { "${RCLI[@]}" --scan --pattern 'kk:worker:*' 2>/dev/null | wc -l; }
wait_workers() { # N
  for _ in $(seq 600); do [ "$(workers_alive)" -ge "$1" ] && return 0; sleep 0.1; done
  fail "$1 workers did not come up"
}
# make_srt FILE N: N short cues, some too short for their speech (the fit
# speeds them up and stretches them), one with a pitch-free blend of voices.
make_srt() {
  python3 - "$1" "$2" <<'PY'
import sys
words = ["Hello there.", "Yes.", "Go now.", "Thank you.", "Not today.", "Look out!", "Why not?", "All right.",
         "See you soon.", "Good night.", "Over here.", "Come in.", "Wait for me.", "That is all.", "Of course."]
out, n = sys.argv[1], int(sys.argv[2])
with open(out, "w") as f:
    for i in range(n):
        s = i * 2000
        d = 500 if i % 5 == 3 else 1500          # every fifth cue is too short: the fit works
        t = lambda ms: "%02d:%02d:%02d,%03d" % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)
        text = words[i % len(words)] if i < len(words) else words[i % len(words)].rstrip(".!?") + ", %d." % i
        f.write("%d\n%s --> %s\n%s\n\n" % (i + 1, t(s), t(s + d), text))
PY
}
local_render() { # FILE OUT
  "$KOKORO" render "$1" -o "$2" --no-cache --no-redis >"$TMP/local.log" 2>&1 || fail "local render failed"
}
remote_render() { # FILE OUT LOG
  "$KOKORO" render "$1" -o "$2" --no-cache --redis "$URL" >"$3" 2>&1 || fail "render through Redis failed"
}
stats_line() { grep 'kokoro: redis: .* jobs queued' "$1" || fail "no backend summary in $1"; }

start_redis
case "$CASE" in
identical)
  N=60
  make_srt "$TMP/in.srt" $N
  start_worker a --threads 1
  start_worker b --threads 1
  start_worker c --threads 1
  local_render "$TMP/in.srt" "$TMP/local.wav"
  wait_workers 3
  remote_render "$TMP/in.srt" "$TMP/remote.wav" "$TMP/remote.log"
  cmp "$TMP/local.wav" "$TMP/remote.wav" || fail "the render through 3 workers differs from the local one"
  line=$(stats_line "$TMP/remote.log")
  echo "$line"
  echo "$line" | grep -q " 0 rendered here for want of a worker" || fail "segments were rendered locally: $line"
  echo "$line" | grep -q "$N rendered by workers" || fail "not every job went to a worker: $line"
  kill -TERM "$W_a" "$W_b" "$W_c"
  wait "$W_a" "$W_b" "$W_c" || fail "a worker did not stop cleanly on SIGTERM"
  for w in a b c; do
    grep -q 'stopped after [1-9][0-9]* jobs' "$TMP/worker-$w.log" || fail "worker $w rendered nothing"
  done
  [ "$(workers_alive)" -eq 0 ] || fail "a stopped worker left its heartbeat"
  ;;
kill9)
  # three workers: one killed -9 holding a job (reclaimed after the
  # visibility time), one stopped with two SIGTERMs holding a job (it
  # releases the job at once, or finishes it, and exits), one that stays
  N=12
  make_srt "$TMP/in.srt" $N
  start_worker a --threads 1 --visibility 3
  start_worker b --threads 1 --visibility 3
  start_worker c --threads 1 --visibility 3
  local_render "$TMP/in.srt" "$TMP/local.wav"
  wait_workers 3
  "$KOKORO" render "$TMP/in.srt" -o "$TMP/remote.wav" --no-cache --redis "$URL" >"$TMP/remote.log" 2>&1 &
  RENDER=$!
  PIDS+=($RENDER)
  holder() { # the pid of a worker other than $1 with a job in hand (consumer "host-PID-0")
    local cs c p
    for _ in $(seq 600); do
      cs=$("${RCLI[@]}" xpending kk:jobs kk:workers - + 10 2>/dev/null | sed -n '2~4p')
      for c in $cs; do p=${c%-*}; p=${p##*-}; [ "$p" != "$1" ] && kill -0 "$p" 2>/dev/null && { echo "$p"; return; }; done
      sleep 0.05
    done
  }
  victim=$(holder none)
  [ -n "$victim" ] || fail "no worker ever held a job"
  kill -9 "$victim"
  echo "killed worker $victim in the middle of a job"
  stopped=$(holder "$victim")
  [ -n "$stopped" ] || fail "no second worker held a job"
  kill -TERM "$stopped"; sleep 0.2; kill -TERM "$stopped"
  t0=$(date +%s)
  wait "$stopped" || fail "worker $stopped did not exit cleanly on two SIGTERMs"
  [ $(($(date +%s) - t0)) -le 10 ] || fail "worker $stopped took too long to stop"
  echo "stopped worker $stopped (two SIGTERMs) in the middle of a job"
  wait "$RENDER" || fail "the render failed after the workers were stopped"
  cmp "$TMP/local.wav" "$TMP/remote.wav" || fail "the output differs after a worker was killed"
  line=$(stats_line "$TMP/remote.log")
  echo "$line"
  echo "$line" | grep -q " 0 rendered here for want of a worker" || fail "the jobs were not reclaimed: $line"
  grep -h "released\|stopped after" "$TMP"/worker-*.log || true
  for w in a b c; do eval p=\$W_$w; [ "$p" = "$victim" ] || [ "$p" = "$stopped" ] || survivor=$p; done
  kill -TERM "$survivor"; wait "$survivor" || fail "the last worker did not stop cleanly"
  [ "$("${RCLI[@]}" xlen kk:jobs)" -eq 0 ] || fail "jobs left on the stream"
  [ "$("${RCLI[@]}" xpending kk:jobs kk:workers | head -1)" -eq 0 ] || fail "jobs left pending"
  ;;
restart)
  N=12
  make_srt "$TMP/in.srt" $N
  start_worker a --threads 1
  start_worker b --threads 1
  local_render "$TMP/in.srt" "$TMP/local.wav"
  wait_workers 2
  "$KOKORO" render "$TMP/in.srt" -o "$TMP/remote.wav" --no-cache --redis "$URL" >"$TMP/remote.log" 2>&1 &
  RENDER=$!
  PIDS+=($RENDER)
  for _ in $(seq 600); do
    [ "$("${RCLI[@]}" --scan --pattern 'kk:done:*' | wc -l)" -ge 2 ] && break
    sleep 0.05
  done
  "${RCLI[@]}" shutdown nosave >/dev/null 2>&1 || true
  wait "$REDIS_PID" 2>/dev/null || true
  echo "Redis stopped mid-render"
  sleep 1
  start_redis
  echo "Redis restarted (empty)"
  wait "$RENDER" || fail "the render failed across a Redis restart"
  cmp "$TMP/local.wav" "$TMP/remote.wav" || fail "the output differs across a Redis restart"
  grep -E "reconnected|lost Redis" "$TMP/remote.log" || fail "the client did not notice the restart"
  stats_line "$TMP/remote.log"
  ;;
refuse)
  [ -x "$HELPER" ] || fail "no refuse helper"
  start_worker a --threads 1
  wait_workers 1
  "$HELPER" 127.0.0.1 "$PORT" || fail "the refusal and dead-letter checks failed"
  "${RCLI[@]}" xrange kk:dead - + | grep -q "not a JSON object" || fail "no reason on the dead letters"
  kill -0 "$W_a" 2>/dev/null || fail "the worker died on a malformed job"
  grep -q "refusing jobs: the job is for model" "$TMP/worker-a.log" || fail "the worker did not say why it refused"
  # and it still works
  make_srt "$TMP/in.srt" 3
  local_render "$TMP/in.srt" "$TMP/local.wav"
  remote_render "$TMP/in.srt" "$TMP/remote.wav" "$TMP/remote.log"
  cmp "$TMP/local.wav" "$TMP/remote.wav" || fail "the worker's render after the bad jobs differs"
  stats_line "$TMP/remote.log" | grep -q "3 rendered by workers" || fail "the worker did not render after the bad jobs"
  ;;
serve)
  # kokoro serve --redis: /api/health counts the workers, a project's track
  # is rendered on them
  make_srt "$TMP/in.srt" 3
  start_worker a --threads 1
  wait_workers 1
  "$KOKORO" serve --port 0 --data "$TMP/data" --cache-dir "$TMP/cache" --redis "$URL" >"$TMP/serve.out" 2>"$TMP/serve.log" &
  SERVE=$!
  PIDS+=($SERVE)
  for _ in $(seq 300); do grep -q 'serving the studio at' "$TMP/serve.out" && break; sleep 0.1; done
  BASE=$(sed -n 's/.*serving the studio at \(http[^ ]*\)/\1/p' "$TMP/serve.out")
  [ -n "$BASE" ] || fail "the server did not start"
  python3 - "$BASE" "$TMP/in.srt" <<'PY' || fail "the server did not render on the workers"
import json, sys, urllib.request, uuid
base, srt = sys.argv[1].rstrip("/"), sys.argv[2]
h = json.load(urllib.request.urlopen(base + "/api/health"))
assert h.get("workers", {}).get("alive") == 1, h
b = uuid.uuid4().hex
body = (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.srt\"\r\n"
        f"Content-Type: application/x-subrip\r\n\r\n").encode() + open(srt, "rb").read() + f"\r\n--{b}--\r\n".encode()
rq = urllib.request.Request(base + "/api/projects", data=body, method="POST",
                            headers={"Content-Type": f"multipart/form-data; boundary={b}", "Origin": base})
p = json.load(urllib.request.urlopen(rq))
wav = urllib.request.urlopen(f"{base}/api/projects/{p['id']}/track?format=wav", timeout=240).read()
assert len(wav) > 44, len(wav)
print("health:", h["workers"], "; track:", len(wav), "bytes")
PY
  kill -TERM "$W_a"; wait "$W_a" || true
  grep -Eq 'stopped after [3-9][0-9]* jobs \([1-9]' "$TMP/worker-a.log" || fail "the worker rendered none of the server's segments"
  python3 -c "import json,sys,urllib.request; h=json.load(urllib.request.urlopen(sys.argv[1].rstrip('/')+'/api/health')); assert h['workers']['alive']==0, h" "$BASE" ||
    fail "/api/health still counts a stopped worker"
  kill -TERM "$SERVE"; wait "$SERVE" || fail "the server did not stop cleanly"
  ;;
*) fail "unknown case $CASE" ;;
esac
echo "ok ($CASE)"
