#!/usr/bin/env bash
# Runs the test suite as a Windows program under Wine (issue: the event loop owns every
# socket, "Portable"): target x86_64-pc-windows-gnu, linked with MinGW, Wine as cargo's
# runner. Needs Debian's `wine` and `gcc-mingw-w64-x86-64` (installed here when missing
# and running as root).
#
# Wine 8 has no bcryptprimitives.dll, from which Rust's std imports ProcessPrng: a stand-in
# (.ci/wine/processprng.c) forwards it to BCryptGenRandom and sits beside the test
# binaries. Every test binary runs under a time limit.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu
LIMIT=${WINE_TEST_LIMIT:-600}

need_apt=()
command -v wine >/dev/null || need_apt+=(wine)
command -v x86_64-w64-mingw32-gcc >/dev/null || need_apt+=(gcc-mingw-w64-x86-64)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "wine.sh: missing ${need_apt[*]} (apt-get install ${need_apt[*]})" >&2
        exit 1
    fi
fi
rustup target add "$TARGET" >/dev/null

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="timeout -k 10 $LIMIT wine"
export WINEDEBUG=-all
export WINEPREFIX=${WINEPREFIX:-${TMPDIR:-/tmp}/tiny_http-wine}
# The first start of a fresh prefix takes a while; do it once, outside the time limits.
timeout -k 10 300 wineboot --init >/dev/null 2>&1 || true
# One persistent wineserver for the whole run: by default it exits a moment after its last
# client, and a test program starting just then dies with "wine client error: recvmsg:
# Connection reset by peer" (seen once in CI here). Stopped again on exit.
wineserver -p >/dev/null 2>&1 || true
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT

cargo build --target "$TARGET" --examples
cargo test --target "$TARGET" --lib --tests --no-run
deps="target/$TARGET/debug/deps"
x86_64-w64-mingw32-gcc -O2 -shared -o "$deps/bcryptprimitives.dll" \
    .ci/wine/processprng.c .ci/wine/bcryptprimitives.def -lbcrypt
cp "$deps/bcryptprimitives.dll" "target/$TARGET/debug/examples/"

# Everything that builds for Windows with default features: the library's unit tests and
# every integration test (the unix-socket and /proc tests compile to nothing there; the
# examples test runs the example programs under Wine too). Not the doctests: rustdoc puts
# their binaries in temporary directories, away from the stand-in DLL.
cargo test --target "$TARGET" --lib --tests -- --test-threads 2
