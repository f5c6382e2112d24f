#!/bin/sh
# merge_archives.sh AR OUT IN... - one static archive (OUT) holding every
# object of the IN archives: libkokoro.a is the façade and the modules it
# calls, as libkokoro.so is. Uses ar's MRI script mode (GNU binutils).
set -eu
ar=$1
out=$2
shift 2
tmp=$out.tmp.$$
rm -f "$tmp"
{
    echo "create $tmp"
    for a in "$@"; do echo "addlib $a"; done
    echo "save"
    echo "end"
} | "$ar" -M
mv "$tmp" "$out"
