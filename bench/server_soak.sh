#!/bin/sh
# server_soak.sh - the studio server under mixed clients for a long while
# (issue 13; by hand, not in CI): does anything grow?
#
#   bench/server_soak.sh [--minutes 30] [--interval 10]
#
# Starts `kokoro serve` on a free loopback port with a fresh data and cache
# directory, then runs bench/soak_clients.mjs for the given minutes (edits
# with undo and redo, exports in three formats, uploads, event streams,
# and requests abandoned half way: exports cut, uploads cut mid-body, idle
# sockets, projects deleted while exported). Every --interval seconds it
# samples the server's resident memory (VmRSS), its open files
# (/proc/PID/fd) and the size of the data directory's tmp/ (exports in
# flight). At the end: the table, the clients' counts (no request may
# fail), and for each measure whether it stayed flat: the largest value of
# the last third of the run against the largest of the middle third (the
# first third is the warm-up: the model, caches, SQLite's pages), within
# 10% plus a small allowance (RSS 16 MB, files 8, tmp 1 MB); beside RSS
# the server's own account of it (anonymous and file-backed memory, the
# heap in use and kept free, the studio's audio). The server is
# stopped with SIGTERM (exit status 0 expected). Exit status: 0 when all
# is flat and nothing failed, else 1. KOKORO_BIN runs another build.
set -eu
cd "$(dirname "$0")/.."
MINUTES=30 INTERVAL=10
while [ $# -gt 0 ]; do
    case $1 in
    --minutes) MINUTES=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    *) echo "usage: $0 [--minutes N] [--interval S]" >&2; exit 2 ;;
    esac
done
command -v node >/dev/null || { echo "server_soak: needs node (apt-get install nodejs)" >&2; exit 2; }
BIN=${KOKORO_BIN:-build/kokoro}
[ -x "$BIN" ] || { echo "server_soak: $BIN is missing (make build)" >&2; exit 2; }
[ -d /proc/self/fd ] || { echo "server_soak: needs /proc (Linux)" >&2; exit 2; }
TMP=$(mktemp -d)
PID= CLIENTS=
cleanup() {
    [ -n "$CLIENTS" ] && kill "$CLIENTS" 2>/dev/null || true
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

OMP_WAIT_POLICY=passive "$BIN" serve --port 0 --data "$TMP/data" --cache-dir "$TMP/cache" --quiet \
    >"$TMP/out" 2>"$TMP/err" &
PID=$!
i=0
until grep -q 'serving the studio at' "$TMP/out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 "$PID" 2>/dev/null; then
        echo "server_soak: the server did not start:" >&2
        cat "$TMP/err" >&2
        exit 1
    fi
    sleep 0.1
done
BASE=$(sed -n 's|.*serving the studio at \(http://[^/]*\)/.*|\1|p' "$TMP/out")
echo "server_soak: $BASE (pid $PID), $MINUTES min of mixed clients, a sample every $INTERVAL s"

SECONDS_TOTAL=$((MINUTES * 60))
node bench/soak_clients.mjs --base "$BASE" --seconds "$SECONDS_TOTAL" >"$TMP/clients" 2>&1 &
CLIENTS=$!

# The server's own account of its memory (GET /api/activity's "memory"),
# in KB: anonymous and file-backed resident memory, the heap in use and
# kept free by malloc, the studio's audio held: where a growth comes from.
mem_kb() {
    curl -s --max-time 5 "$BASE/api/activity" 2>/dev/null | tr ',{}' '\n\n\n' | awk -F: '
        { gsub(/"/, "", $1); v[$1] = $2 }
        END { printf "%d %d %d %d %d", v["anon_bytes"] / 1024, v["file_bytes"] / 1024, v["heap_used_bytes"] / 1024,
                     v["heap_free_bytes"] / 1024, v["audio_bytes"] / 1024 }'
}
sample() { # elapsed seconds, RSS KB, open files, tmp/ KB, then mem_kb's
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$PID/fd" 2>/dev/null | wc -l)
    tmp=$(du -sk "$TMP/data/tmp" 2>/dev/null | cut -f1)
    echo "$1 ${rss:-0} $fds ${tmp:-0} $(mem_kb)" >>"$TMP/samples"
}
START=$(date +%s)
sample 0
# Bounded: one sample an interval until the clients are done, and never
# past the run's length plus two minutes (an export in flight at the end).
LIMIT=$((SECONDS_TOTAL + 120))
while kill -0 "$CLIENTS" 2>/dev/null; do
    sleep "$INTERVAL"
    NOW=$(($(date +%s) - START))
    kill -0 "$PID" 2>/dev/null || { echo "server_soak: the server died" >&2; cat "$TMP/err" >&2; exit 1; }
    sample "$NOW"
    [ "$NOW" -lt "$LIMIT" ] || { echo "server_soak: the clients overran by 2 min" >&2; break; }
done
set +e
wait "$CLIENTS"
CLIENTS_RC=$?
CLIENTS=
set -e
sleep "$INTERVAL" # the idle server after the load
sample "$(($(date +%s) - START))"

printf '%8s %10s %8s %10s %9s %9s %9s %9s %9s\n' 's' 'RSS MB' 'files' 'tmp MB' 'anon MB' 'file MB' 'heap MB' \
    'kept MB' 'audio MB'
awk '{ printf "%8d %10.1f %8d %10.2f %9.1f %9.1f %9.1f %9.1f %9.1f\n", $1, $2 / 1024, $3, $4 / 1024, $5 / 1024,
             $6 / 1024, $7 / 1024, $8 / 1024, $9 / 1024 }' "$TMP/samples"
cat "$TMP/clients"
FLAT=$(awk '
    { t[NR] = $1; v[2, NR] = $2; v[3, NR] = $3; v[4, NR] = $4 }
    END {
        split("RSS files tmp", name, " ")
        slack[2] = 16384; slack[3] = 8; slack[4] = 1024; unit[2] = 1024; unit[3] = 1; unit[4] = 1024
        a = int(NR / 3) + 1; b = int(2 * NR / 3)
        ok = 1
        for (k = 2; k <= 4; k++) {
            mid = 0; last = 0
            for (i = a; i <= b; i++) if (v[k, i] > mid) mid = v[k, i]
            for (i = b + 1; i <= NR; i++) if (v[k, i] > last) last = v[k, i]
            flat = NR >= 6 && last <= mid * 1.1 + slack[k]
            if (!flat) ok = 0
            printf "%s: the middle third peaks at %.1f, the last third at %.1f%s: %s\n", name[k - 1], mid / unit[k],
                   last / unit[k], k == 3 ? "" : " MB", NR < 6 ? "too few samples" : flat ? "flat" : "GREW"
        }
        print ok ? "all flat" : "not flat"
    }' "$TMP/samples")
echo "$FLAT"

kill -TERM "$PID"
set +e
wait "$PID"
RC=$?
set -e
PID=
echo "server_soak: the server exited with status $RC after SIGTERM"
[ "$RC" -eq 0 ] && [ "$CLIENTS_RC" -eq 0 ] && echo "$FLAT" | grep -q '^all flat$'
