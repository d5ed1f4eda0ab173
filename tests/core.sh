#!/usr/bin/env bash
# Core suite: formatting and lints, unit tests, the fixture-tree integration
# tests (tests/it), schema and man page sync. Built in release once: the
# other suites use the same target/release/klp.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo build --release --locked
cargo clippy --release --locked --all-targets -- -D warnings
cargo test --release --locked --all-targets 2>&1
