#!/usr/bin/env bash
# Core suite: unit tests, the fixture-tree integration tests (tests/it),
# schema and man page sync. Built in release once: the other suites use the
# same target/release/klp.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
cargo test --release --locked --all-targets 2>&1
