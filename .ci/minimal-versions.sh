#!/usr/bin/env bash
# Runs the test suite against the lowest versions Cargo.toml allows for our direct
# dependencies (`cargo +nightly update -Z direct-minimal-versions`), so that the declared
# lower bounds are real: an application whose lock file holds those versions (rouille's
# published lock holds httparse 1.8.0, for example) switches with `cargo update -p tiny_http`.
#
#   .ci/minimal-versions.sh     # installs a nightly toolchain with rustup when missing
#
# Works on a copy of the checkout (tracked and untracked, not ignored files), without the
# bench crate (a workspace member with its own, unrelated dependencies).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
scratch="${MINIMAL_DIR:-$(mktemp -d -t tiny-http-minimal.XXXXXX)}"
mkdir -p "$scratch"
rm -rf "$scratch/src" "$scratch/tests"
(cd "$here" && git ls-files -co --exclude-standard | grep -v '^bench/' | tar -cf - -T -) |
    (cd "$scratch" && tar -xf -)
cd "$scratch"
sed -i 's/^members = \[".", "bench"\]/members = ["."]/' Cargo.toml
export CARGO_TARGET_DIR="${MINIMAL_TARGET_DIR:-$scratch/target}"
versions() {
    for dep in ascii httparse log mio socket2 libc rustls rustls-pki-types openssl; do
        version=$(grep -A1 "^name = \"$dep\"$" Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1 || true)
        if [ -n "$version" ]; then echo "    $dep $version"; fi
    done
}

# 1. The library alone (no dev-dependencies, whose own needs may raise a shared floor such
#    as libc's): every direct dependency at its lowest declared version; it must build with
#    every feature, for every platform.
cp Cargo.toml Cargo.toml.full
python3 - <<'PY'
import re
text = open("Cargo.toml").read()
# Drop every [dev-dependencies] / [target...dev-dependencies] table, [[bench]] and [[example]].
out, skip = [], False
for line in text.splitlines(keepends=True):
    if line.startswith("["):
        skip = "dev-dependencies" in line or line.startswith("[[bench]]") or line.startswith("[[example]]")
    if not skip:
        out.append(line)
open("Cargo.toml", "w").write("".join(out))
PY
rm -f Cargo.lock
cargo +nightly update -Z direct-minimal-versions --quiet
echo "lowest versions resolved (library):"
versions
cargo build --lib --all-features --quiet
cargo build --lib --features ssl-openssl --quiet
# The other platforms' code paths compile against the same floors (the portable path uses
# mio's and socket2's Windows and BSD APIs).
for target in x86_64-pc-windows-msvc aarch64-apple-darwin x86_64-unknown-freebsd; do
    rustup target add "$target" >/dev/null 2>&1 || true
    cargo check --lib --quiet --target "$target"
done

# 2. The test suite on that resolution: cargo adds the dev-dependencies, moving a locked
#    package only where one of them needs a newer version (listed below).
mv Cargo.toml.full Cargo.toml
cargo test --all-features --no-run --quiet
echo "versions the tests ran with:"
versions
cargo test --all-features --quiet
cargo test --features ssl-openssl --test tls --quiet
echo "minimal-versions: the library builds with the lowest declared dependency versions, and the test suite passes on them"
