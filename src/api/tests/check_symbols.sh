#!/bin/sh
# check_symbols.sh LIB HEADER - libkokoro.so exports exactly the KK_API
# functions of kokoro.h: each one declared is defined and exported, and no
# other symbol is (the modules' kk_* functions, the façade's own helpers
# kk_api_*, stay hidden by -fvisibility=hidden).
set -eu
lib=$1
header=$2
tmp=${TMPDIR:-/tmp}/kk_api_symbols.$$
trap 'rm -f "$tmp".*' EXIT

# Declared: the name before the first "(" of every KK_API declaration
# (they may wrap, but the name is always on the KK_API line).
sed -n 's/^KK_API[^(]*[ *]\([a-z_][a-z0-9_]*\)(.*/\1/p' "$header" | sort -u >"$tmp.declared"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRtW]$/ { print $3 }' | sort -u >"$tmp.exported"

n=$(wc -l <"$tmp.declared")
if [ "$n" -lt 30 ]; then
    echo "only $n KK_API declarations read from $header: the pattern no longer matches the header" >&2
    exit 1
fi
status=0
missing=$(comm -23 "$tmp.declared" "$tmp.exported")
if [ -n "$missing" ]; then
    echo "declared KK_API in kokoro.h but not exported by $lib:" >&2
    echo "$missing" >&2
    status=1
fi
extra=$(comm -13 "$tmp.declared" "$tmp.exported")
if [ -n "$extra" ]; then
    echo "exported by $lib but not part of kokoro.h (should be hidden):" >&2
    echo "$extra" >&2
    status=1
fi
# Named internal symbols, checked on their own so the test says which.
for sym in kk_tts_new kk_render kk_error_set kk_api_error; do
    if grep -qx "$sym" "$tmp.exported"; then
        echo "internal symbol $sym is exported" >&2
        status=1
    fi
done
# And they are in the library, only local: the façade does use them.
for sym in kk_tts_new kk_render; do
    if ! nm "$lib" | grep -q " [tT] $sym\$"; then
        echo "$sym is not in $lib at all: the check above proves nothing" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "$n KK_API functions exported, nothing else"
exit $status
