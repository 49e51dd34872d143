#!/usr/bin/env bash
# Switches real crates built on tiny_http 0.12 to this checkout exactly as a user would, and
# runs their test suites:
#
#   1. the crate's published source, with its published Cargo.lock;
#   2. `[patch.crates-io] tiny_http = { path = "<this checkout>" }` added to its Cargo.toml;
#   3. `cargo update -p tiny_http` (the README's command; nothing else in the lock may move
#      except what our dependencies need) -- a "patch ... was not used" warning is a failure.
#      Where the README documents an extra package for a known lock (rouille's: its optional
#      rustls needs newer `subtle`/`zeroize`, reached through `digest` and `zeroize`), that
#      package is named too, and said so in the output;
#   4. `cargo test --locked`.
#
# Suites: rouille 3.6.2, minreq 2.14.1, bitreq 0.4.3, metrics_server 0.17.0 (lock files and
# test suites), and upstream tiny_http 0.12.0's own tests/ built as an external test crate
# against this checkout.
#
#   compat/run.sh                   # every suite
#   compat/run.sh rouille upstream  # some
#   COMPAT_SWITCH_ONLY=1 compat/run.sh   # only steps 1-3 (no builds): does every lock switch?
#
# Needs network access to crates.io. Not part of .ci/run, so that a registry outage cannot
# fail CI; run it before a release and after changing dependencies or behaviour users rely on.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${COMPAT_DIR:-$(mktemp -d -t tiny-http-compat.XXXXXX)}"
all=(rouille minreq bitreq metrics_server upstream)
suites=("${@:-${all[@]}}")
export CARGO_TARGET_DIR="$work/target"
mkdir -p "$work"

fetch() { # fetch <crate> <version>: prints the unpacked source directory
    local crate=$1 version=$2 dir="$work/fetch-$1"
    rm -rf "$dir" && mkdir -p "$dir/src" && echo "" > "$dir/src/lib.rs"
    printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n[workspace]\n' \
        "$crate" "$crate" "$version" > "$dir/Cargo.toml"
    (cd "$dir" && cargo fetch -q)
    local src
    src=$(cd "$dir" && cargo metadata --format-version 1 | python3 -c \
        "import json,sys; m=json.load(sys.stdin); print([p['manifest_path'] for p in m['packages'] if p['name']=='$crate'][0])")
    dirname "$src"
}

# switch <dir> [package...]: the user's steps 2 and 3 on the published lock (naming the extra
# packages the README documents for that lock); fails when cargo does not use the patch.
switch() {
    local dir=$1
    shift
    [ -f "$dir/Cargo.lock" ] || { echo "no published Cargo.lock in $dir"; return 1; }
    printf '\n[patch.crates-io]\ntiny_http = { path = "%s" }\n' "$here" >> "$dir/Cargo.toml"
    local args=(-p tiny_http) extra log
    for extra in "$@"; do args+=(-p "$extra"); done
    echo "    cargo update ${args[*]}"
    log=$(cd "$dir" && cargo update "${args[@]}" 2>&1) || { echo "$log"; return 1; }
    echo "$log" | sed 's/^/    /'
    if echo "$log" | grep -q "was not used in the crate graph"; then
        echo "FAIL: cargo did not use the patch (see above)"
        return 1
    fi
    if ! (cd "$dir" && cargo tree --locked -e normal,dev -i tiny_http 2>/dev/null | head -1 | grep -q "$here"); then
        echo "FAIL: the lock does not point tiny_http at $here"
        return 1
    fi
    echo "    switched: tiny_http -> $here"
}

# crate_suite <crate> <version> [package...]: published source and lock, switch, test.
# `test_args` (an array, set by the caller) goes to `cargo test`: it leaves out the tests
# that fail with upstream tiny_http too, each for a reason given where it is set.
crate_suite() {
    local crate=$1 version=$2 src dir="$work/$1"
    shift 2
    src=$(fetch "$crate" "$version")
    rm -rf "$dir" && cp -r "$src" "$dir" && chmod -R u+w "$dir"
    switch "$dir" "$@" || return 1
    [ -n "${COMPAT_SWITCH_ONLY:-}" ] && return 0
    echo "    cargo test --locked ${test_args[*]}"
    (cd "$dir" && cargo test --locked "${test_args[@]}")
}
# Their doctests fetch http://example.com and the like: no network here, nothing of ours.
offline=(--lib --bins --tests)

status=0
for suite in "${suites[@]}"; do
    echo "==> $suite"
    test_args=()
    case $suite in
        # README, "patch was not used": rouille's lock needs digest and zeroize moved.
        rouille) crate_suite rouille 3.6.2 digest zeroize || status=1 ;;
        minreq) test_args=("${offline[@]}"); crate_suite minreq 2.14.1 || status=1 ;;
        bitreq) test_args=("${offline[@]}"); crate_suite bitreq 0.4.3 || status=1 ;;
        # test_parse_path checks the `http` crate's URI parsing and fails with the published
        # lock and upstream tiny_http alike.
        metrics_server)
            test_args=(-- --skip server::tests::test_parse_path)
            crate_suite metrics_server 0.17.0 || status=1
            ;;
        upstream)
            [ -n "${COMPAT_SWITCH_ONLY:-}" ] && continue
            src=$(fetch tiny_http 0.12.0)
            dir="$work/upstream-tests"
            rm -rf "$dir" && mkdir -p "$dir/src" && echo "" > "$dir/src/lib.rs"
            cp -r "$src/tests" "$dir/tests" && chmod -R u+w "$dir"
            printf '[package]\nname = "upstream-tests"\nversion = "0.0.0"\nedition = "2018"\n[dependencies]\ntiny_http = { path = "%s" }\n[dev-dependencies]\nrustc-serialize = "0.3"\nsha1 = "0.6.0"\nfdlimit = "0.1"\n[workspace]\n' \
                "$here" > "$dir/Cargo.toml"
            (cd "$dir" && cargo test) || status=1
            ;;
        *) echo "unknown suite: $suite (${all[*]})"; exit 2 ;;
    esac
done
echo "compat: $([ $status = 0 ] && echo all suites passed || echo FAILURES) (scratch dir: $work)"
exit $status
