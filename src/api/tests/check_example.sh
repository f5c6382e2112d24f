#!/bin/sh
# check_example.sh HEADER EXAMPLE - the "basic usage" example in kokoro.h's
# top comment is EXAMPLE line for line: the lines after the blank " *" that
# follows "Basic usage", up to the blank " *" before "(end of basic usage)",
# without the comment's " *     " indent. (The install test then builds
# EXAMPLE against the installed library, so the header's example compiles.)
set -eu
header=$1
example=$2
got=${TMPDIR:-/tmp}/kk_api_example.$$
trap 'rm -f "$got"' EXIT
awk '
    /^ \* \(end of basic usage\)/ { state = 0; next }
    state == 2 { if ($0 == " *") state = 1; next }
    state == 1 {
        if ($0 == " *") { pending++; next }        # blank lines: held until more code follows
        if (substr($0, 1, 7) != " *     ") { print "bad indent: " $0 > "/dev/stderr"; exit 1 }
        for (; pending > 0; pending--) print ""
        print substr($0, 8)
        next
    }
    /^ \* Basic usage/ { state = 2 }
' "$header" >"$got"
if [ "$(wc -l <"$got")" -lt 10 ]; then
    echo "$header: no basic usage example found" >&2
    exit 1
fi
if ! diff -u "$example" "$got"; then
    echo "kokoro.h's basic usage (+) and $example (-) differ: keep them identical" >&2
    exit 1
fi
echo "kokoro.h's basic usage is $example ($(wc -l <"$example") lines)"
