#!/usr/bin/env bash
# Builds the library with the toolchain named by `rust-version` in Cargo.toml, with default
# features and with each TLS feature, as an application pinned to that Rust would: a scratch
# crate depending on this checkout, its lock resolved by a current cargo with
# `CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback` (dependencies whose own rust-version is
# newer are skipped), then built by the old toolchain.
#
#   .ci/msrv.sh            # installs the toolchain with rustup when missing
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$here/Cargo.toml")
[ -n "$msrv" ] || { echo "no rust-version in Cargo.toml" >&2; exit 1; }
if ! cargo "+$msrv" --version >/dev/null 2>&1; then
    rustup toolchain install "$msrv" --profile minimal
fi
scratch="${MSRV_DIR:-$(mktemp -d -t tiny-http-msrv.XXXXXX)}"
mkdir -p "$scratch/src"
echo "" > "$scratch/src/lib.rs"
cat > "$scratch/Cargo.toml" <<TOML
[package]
name = "msrv-check"
version = "0.0.0"
edition = "2021"
rust-version = "$msrv"

[dependencies]
tiny_http = { path = "$here" }

[features]
ssl-rustls = ["tiny_http/ssl-rustls"]
ssl-openssl = ["tiny_http/ssl-openssl"]

[workspace]
TOML
cd "$scratch"
rm -f Cargo.lock
CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo generate-lockfile --quiet
for features in "" ssl-rustls ssl-openssl; do
    echo "--> cargo +$msrv build --features '$features' (tiny_http with ${features:-default features})"
    cargo "+$msrv" build --quiet --features "$features"
done
echo "msrv: tiny_http builds with Rust $msrv (default, ssl-rustls, ssl-openssl)"
