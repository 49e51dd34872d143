#!/usr/bin/env bash
# Runs the test suites of real crates built on tiny_http 0.12 against this checkout, through
# `[patch.crates-io]`, exactly as a user would switch: rouille 3.6 and upstream tiny_http
# 0.12.0's own tests/ (built as an external test crate). Nothing is copied into this
# repository: the sources are fetched from crates.io into a scratch directory at run time.
#
#   compat/run.sh            # all suites
#   compat/run.sh rouille    # one suite (rouille | upstream)
#
# Needs network access to crates.io. Not part of .ci/run, so that a registry outage cannot
# fail CI; run it before a release or after changing behaviour users rely on.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${COMPAT_DIR:-$(mktemp -d -t tiny-http-compat.XXXXXX)}"
suites=("${@:-rouille upstream}")
suites=(${suites[@]})
export CARGO_TARGET_DIR="$work/target"

fetch() { # fetch <crate> <version>: prints the unpacked source directory
    local crate=$1 version=$2 dir="$work/fetch-$1"
    rm -rf "$dir" && mkdir -p "$dir/src" && echo "" > "$dir/src/lib.rs"
    printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' \
        "$crate" "$crate" "$version" > "$dir/Cargo.toml"
    (cd "$dir" && cargo fetch -q)
    local src
    src=$(cd "$dir" && cargo metadata --format-version 1 | python3 -c \
        "import json,sys; m=json.load(sys.stdin); print([p['manifest_path'] for p in m['packages'] if p['name']=='$crate'][0])")
    dirname "$src"
}

patch_to_here() { # patch_to_here <Cargo.toml>
    printf '\n[patch.crates-io]\ntiny_http = { path = "%s" }\n' "$here" >> "$1"
}

status=0
for suite in "${suites[@]}"; do
    echo "==> $suite"
    case $suite in
        rouille)
            src=$(fetch rouille 3.6.2)
            rm -rf "$work/rouille" && cp -r "$src" "$work/rouille" && chmod -R u+w "$work/rouille"
            rm -f "$work/rouille/Cargo.lock"
            patch_to_here "$work/rouille/Cargo.toml"
            (cd "$work/rouille" && cargo tree -i tiny_http | head -1 | grep -q "$here") \
                || { echo "patch not applied"; exit 1; }
            (cd "$work/rouille" && cargo test) || status=1
            ;;
        upstream)
            src=$(fetch tiny_http 0.12.0)
            dir="$work/upstream-tests"
            rm -rf "$dir" && mkdir -p "$dir/src" && echo "" > "$dir/src/lib.rs"
            cp -r "$src/tests" "$dir/tests" && chmod -R u+w "$dir"
            printf '[package]\nname = "upstream-tests"\nversion = "0.0.0"\nedition = "2018"\n[dependencies]\ntiny_http = { path = "%s" }\n[dev-dependencies]\nrustc-serialize = "0.3"\nsha1 = "0.6.0"\nfdlimit = "0.1"\n' \
                "$here" > "$dir/Cargo.toml"
            (cd "$dir" && cargo test) || status=1
            ;;
        *) echo "unknown suite: $suite (rouille | upstream)"; exit 2 ;;
    esac
done
echo "compat: $([ $status = 0 ] && echo all suites passed || echo FAILURES) (scratch dir: $work)"
exit $status
