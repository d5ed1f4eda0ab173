//! klp: the kernel live patching state of a Linux host, as typed reports.
//!
//! The binary (`main.rs`) parses the command line, calls [`cmd::run`], and
//! prints the returned [`report::Report`] as JSON or, through [`render`], as
//! the classic text. Commands never print; only `main` writes to stdout.
//!
//! Items are `pub(crate)` unless the binary, the integration tests, the
//! benchmark or the fuzz targets use them; what is public is documented
//! (`missing_docs`, `unreachable_pub` in Cargo.toml's `[lints]`), so dead
//! code shows as such.

pub mod cli;
pub mod cmd;
pub(crate) mod decide;
pub mod error;
pub mod manpage;
pub mod pkg;
pub mod render;
pub mod report;
pub mod sys;

pub use error::{Error, Result};
