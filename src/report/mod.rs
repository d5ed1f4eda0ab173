//! Typed reports: the JSON contract.
//!
//! Every command builds one of these values and nothing else; `render` turns
//! it into text and `main` serializes it as JSON.
//!
//! The boundary with the readers: the readers (`sys/`, `pkg/`) build these
//! types themselves (a [`PatchInfo`] from sysfs, a [`ThreadScan`] from
//! `/proc`, a [`PackageInfo`] or [`PackageChange`] from rpm and zypper),
//! and the commands put them together. No reader keeps a struct of its own
//! that mirrors one of these and is copied into it; what a reader needs
//! beyond the contract (rpm records, zypper solvables) stays private to it. The JSON Schemas committed
//! under `schemas/` are generated from these types (`klp schema COMMAND`), and
//! a test keeps them in sync, so a change here is a change of the contract.
//!
//! Compatibility rule within `schema_version` 1: fields may be added (schemas
//! allow unknown properties), never removed, renamed or retyped. Fields that
//! depend on `-v` are absent below that level, not `null`, so a consumer can
//! tell "not asked for" from "asked for and unknown" (which is `null`).

mod assess;
mod blocking;
mod common;
mod cve;
mod downgrade;
mod error;
mod patches;
mod status;

pub use assess::*;
pub use blocking::*;
pub use common::*;
pub use cve::*;
pub(crate) use downgrade::*;
pub use error::*;
pub(crate) use patches::*;
pub(crate) use status::*;

use crate::cli::SchemaDocument;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};

/// What a report command hands back to `main`. Serialized untagged: each
/// variant is its own document, validated by `schemas/<command>.json`.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Report {
    /// `klp status`.
    Status(StatusReport),
    /// `klp check`.
    Check(CheckReport),
    /// `klp patches`.
    Patches(PatchesReport),
    /// `klp blocking`.
    Blocking(BlockingReport),
    /// `klp downgrade`.
    Downgrade(DowngradeReport),
    /// `klp assess` (boxed: the largest report).
    Assess(Box<AssessReport>),
    /// `klp cve`.
    Cve(CveReport),
}

impl Report {
    /// What klp could not fully read while making the report.
    pub fn warnings(&self) -> &[Warning] {
        match self {
            Report::Status(r) => &r.warnings,
            Report::Check(r) => &r.status.warnings,
            Report::Patches(r) => &r.warnings,
            Report::Blocking(r) => &r.warnings,
            Report::Downgrade(r) => &r.warnings,
            Report::Assess(r) => &r.warnings,
            Report::Cve(r) => &r.warnings,
        }
    }
}

/// JSON Schema (draft 2020-12, describing what we serialize) of one document.
pub fn schema_of(document: SchemaDocument) -> Schema {
    match document {
        SchemaDocument::Status => generate::<StatusReport>(),
        SchemaDocument::Check => generate::<CheckReport>(),
        SchemaDocument::Patches => generate::<PatchesReport>(),
        SchemaDocument::Blocking => generate::<BlockingReport>(),
        SchemaDocument::Downgrade => generate::<DowngradeReport>(),
        SchemaDocument::Assess => generate::<AssessReport>(),
        SchemaDocument::Cve => generate::<CveReport>(),
        SchemaDocument::Error => generate::<ErrorDocument>(),
    }
}

fn generate<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>()
}
