//! The one integration test binary: runs the built `klp` against fixture
//! roots and checks whole process results (exit code, stdout, stderr), with
//! every JSON document validated against the committed schema.

mod fixture;
mod support;

mod assess;
mod blocking;
mod check;
mod errors;
mod generated;
mod hardening;
mod patches;
mod pkg;
mod status;
