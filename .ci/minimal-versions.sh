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
cargo +nightly update -Z direct-minimal-versions --quiet
echo "lowest versions resolved:"
for dep in ascii httparse httpdate log mio socket2 rustix rustls rustls-pki-types openssl; do
    version=$(grep -A1 "^name = \"$dep\"$" Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1 || true)
    if [ -n "$version" ]; then echo "    $dep $version"; fi
done
export CARGO_TARGET_DIR="${MINIMAL_TARGET_DIR:-$scratch/target}"
# The other platforms' code paths compile against the same floors (the portable path uses
# mio's and socket2's Windows and BSD APIs).
for target in x86_64-pc-windows-msvc aarch64-apple-darwin x86_64-unknown-freebsd; do
    rustup target add "$target" >/dev/null 2>&1 || true
    cargo check --lib --quiet --target "$target"
done
cargo test --all-features --quiet
cargo test --features ssl-openssl --test tls --quiet
echo "minimal-versions: the test suite passes with the lowest declared dependency versions"
