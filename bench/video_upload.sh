#!/bin/sh
# video_upload.sh - a video of several GB attached to a project: the upload
# is streamed to disk, so the server's memory does not grow with it.
#
#   bench/video_upload.sh [SIZE_MB]     (default 2000)
#
# Makes a small valid MP4 (ffmpeg, faststart) padded with SIZE_MB of random
# bytes (FFmpeg reads the head and ignores the rest), starts `kokoro serve`
# on a fresh data directory, creates a project, and PUTs the file with curl
# (a streamed body). Prints the server's RSS before and its highest RSS
# during the upload (sampled every 0.5 s from /proc), the seconds and the
# MB/s, and the answer's status. The machine may be shared: the load average
# is printed with the figures. Needs build/kokoro, ffmpeg, curl, the model.
set -eu
cd "$(dirname "$0")/.."
MB=${1:-2000}
KOKORO=${KOKORO_BIN:-build/kokoro}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=160x120:rate=10:duration=6 -f lavfi -i sine=duration=6 \
    -c:v mpeg4 -c:a aac -shortest -movflags +faststart "$tmp/v.mp4"
cp "$tmp/v.mp4" "$tmp/big.mp4"
head -c "${MB}M" /dev/urandom >>"$tmp/big.mp4"
size=$(stat -c %s "$tmp/big.mp4")
"$KOKORO" serve --port 0 --data "$tmp/data" >"$tmp/out" 2>"$tmp/err" &
pid=$!
url=
for i in $(seq 1 120); do
    url=$(sed -n 's/.*serving the studio at \(http:[^ ]*\)\/.*/\1/p' "$tmp/out" | head -1)
    [ -n "$url" ] && break
    sleep 0.5
done
[ -n "$url" ] || { cat "$tmp/err" >&2; exit 1; }
curl -s -X POST -H 'Content-Type: application/json' -d '{"name":"bench","text":"Hello."}' "$url/api/projects" >/dev/null
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; }
sleep 5 # the project's render (the model's first use) settles
before=$(rss)
(peak=0; while kill -0 "$pid" 2>/dev/null && [ ! -f "$tmp/done" ]; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" >"$tmp/peak"; sleep 0.5; done) &
t0=$(date +%s.%N)
code=$(curl -s -o "$tmp/answer" -w '%{http_code}' -X PUT -H 'Content-Type: video/mp4' -T "$tmp/big.mp4" "$url/api/projects/1/video?name=big.mp4")
t1=$(date +%s.%N)
touch "$tmp/done"
sleep 1
peak=$(cat "$tmp/peak")
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v n="$size" -v a="$t0" -v b="$t1" -v c="$code" 'BEGIN { printf "upload: %d bytes, HTTP %s, %.1f s, %.1f MB/s\n", n, c, b - a, n / 1e6 / (b - a) }'
echo "server RSS: $before MB before, $peak MB at most during the upload (+$((peak - before)) MB)"
