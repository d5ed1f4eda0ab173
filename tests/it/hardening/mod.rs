//! Hardening (issues 7 and 10): the parsers' invariants on the committed fuzz corpus
//! and on generated input, races with the real /proc, unprivileged and
//! hidepid runs, hostile and enormous input, broken output channels,
//! concurrent and failing downgrades.
//!
//! Tests marked `#[ignore]` take seconds, need namespaces or real zypper;
//! the hardening suite (`tests/hardening/run.sh`) runs them with
//! `--include-ignored`.

mod corpus;
mod downgrade;
pub mod invariants;
mod privileges;
mod props;
mod race;
mod robustness;
mod untrusted;
