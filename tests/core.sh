#!/usr/bin/env bash
# Core suite: formatting and lints, unit tests, the fixture-tree integration
# tests (tests/it), schema and man page sync. Built in release once: the
# other suites use the same target/release/klp.
set -euo pipefail
cd "$(dirname "$0")/.."

# rustfmt and clippy come with the machine's toolchain; rustup cannot fetch
# them here, so a machine without them says so instead of failing the run.
if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --check
else
    echo "core: rustfmt not installed: formatting NOT checked" >&2
fi
cargo build --release --locked
if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --release --locked --all-targets -- -D warnings
else
    echo "core: clippy not installed: lints NOT checked" >&2
fi
# A snapshot that differs fails and writes nothing (no .snap.new in the tree).
export INSTA_UPDATE=no
cargo test --release --locked --all-targets 2>&1
