//! Hardening (issue 7): the parsers' invariants on the committed fuzz corpus
//! and on generated input, races with the real /proc, unprivileged runs,
//! hostile and enormous input, broken output channels.
//!
//! Tests marked `#[ignore]` take seconds or need namespaces; the hardening
//! suite (`tests/hardening/run.sh`) runs them with `--include-ignored`.

mod robustness;
mod corpus;
pub mod invariants;
mod props;
mod race;
mod privileges;
mod downgrade;
