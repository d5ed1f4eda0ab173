//! The one integration test binary: runs the built `klp` against fixture
//! roots and checks whole process results (exit code, stdout, stderr), with
//! every JSON document validated against the committed schema.

// A test or example binary exports nothing: `pub` marks what its modules share.
#![allow(unreachable_pub)]

mod fixture;
mod support;

mod assess;
mod blocking;
mod check;
mod demo;
mod errors;
mod generated;
mod hardening;
mod monitoring;
mod output;
mod patches;
mod pkg;
mod status;
