#!/bin/sh
# install_test.sh BUILD_DIR SOURCE_DIR LIBDIR CC WORK - what a user does:
# installs the build into a fresh prefix (cmake --install), compiles
# examples/basic.c against it with nothing but `pkg-config --cflags --libs
# kokoro`, and runs it. Exits 77 (a skip) when the example finds no model,
# after everything up to speaking was checked.
set -eu
build=$1
src=$2
libdir=$3
cc=$4
work=$5
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"

cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    echo "cmake --install failed" >&2
    exit 1
}
for f in "$prefix/include/kokoro.h" "$prefix/$libdir/libkokoro.so" "$prefix/$libdir/libkokoro.a" \
         "$prefix/$libdir/pkgconfig/kokoro.pc" "$prefix/bin/kokoro"; do
    [ -e "$f" ] || { echo "not installed: $f" >&2; exit 1; }
done
# Only the public header: nothing of the modules' is installed.
if [ "$(ls "$prefix/include")" != "kokoro.h" ]; then
    echo "more than kokoro.h installed in $prefix/include: $(ls "$prefix/include")" >&2
    exit 1
fi

# The fresh prefix's pkg-config directory comes first, so that its
# kokoro.pc answers; the system's directories stay after it, for the
# libraries kokoro.pc's private fields require.
export PKG_CONFIG_LIBDIR="$prefix/$libdir/pkgconfig:$(pkg-config --variable pc_path pkg-config)"
unset PKG_CONFIG_PATH
flags=$(pkg-config --cflags --libs kokoro) || { echo "pkg-config does not find kokoro" >&2; exit 1; }
echo "pkg-config --cflags --libs kokoro: $flags"
case "$flags" in
    *"$prefix"*) ;;
    *) echo "kokoro.pc does not point into the prefix $prefix" >&2; exit 1 ;;
esac
# The example is compiled outside the source tree, as a user would, with
# the project's warnings.
cp "$src/examples/basic.c" "$work/basic.c"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -o "$work/basic" "$work/basic.c" $flags

# The same example linked statically against libkokoro.a, with the system
# libraries kokoro.pc's private fields name: it must not need libkokoro.so.
static_flags=$(pkg-config --static --libs kokoro | sed 's/-lkokoro//') ||
    { echo "pkg-config --static does not resolve kokoro's private requirements" >&2; exit 1; }
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror -o "$work/basic-static" "$work/basic.c" $(pkg-config --cflags kokoro) \
    "$prefix/$libdir/libkokoro.a" $static_flags
if ldd "$work/basic-static" | grep -q libkokoro; then
    echo "basic-static still needs libkokoro.so" >&2
    exit 1
fi

# from the source tree, where ../shared/models is found as by the other tests
cd "$src"
set +e
"$work/basic-static" "$work/hello-static.wav" >/dev/null
rc=$?
set -e
[ $rc -eq 0 ] || [ $rc -eq 77 ] || { echo "the statically linked example failed (exit $rc)" >&2; exit 1; }
set +e
LD_LIBRARY_PATH="$prefix/$libdir" "$work/basic" "$work/hello.wav"
rc=$?
set -e
if [ $rc -eq 77 ]; then
    echo "no model: the example was built and linked against the installed library but did not speak"
    exit 77
fi
[ $rc -eq 0 ] || { echo "the example failed (exit $rc)" >&2; exit 1; }
# A real WAV file with some speech in it (44-byte header + at least 0.25 s).
size=$(wc -c <"$work/hello.wav")
if [ "$(head -c 4 "$work/hello.wav")" != "RIFF" ] || [ "$size" -lt 12044 ]; then
    echo "hello.wav is not a WAV file with speech ($size bytes)" >&2
    exit 1
fi
echo "the installed example spoke: hello.wav, $size bytes"
