#!/usr/bin/env bash
# Core suite: unit tests, the fixture-tree integration tests (tests/it),
# schema and man page sync, clippy-free build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
cargo test --locked --all-targets 2>&1
