//! Typed reports: the JSON contract.
//!
//! Every command builds one of these values and nothing else; `render` turns
//! it into text and `main` serializes it as JSON. The JSON Schemas committed
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
pub use downgrade::*;
pub use error::*;
pub use patches::*;
pub use status::*;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};

/// What a command hands back to `main`. Serialized untagged: each variant
/// is its own document.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Report {
    Status(StatusReport),
    Check(CheckReport),
    Patches(PatchesReport),
    Blocking(BlockingReport),
    Downgrade(DowngradeReport),
    Assess(Box<AssessReport>),
    Cve(CveReport),
    /// A JSON Schema document (`klp schema`): printed as is in both formats.
    Schema(serde_json::Value),
    /// Generated text (man page, completions): printed as is in both formats.
    Raw(String),
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
            Report::Schema(_) | Report::Raw(_) => &[],
        }
    }
}

/// The documents `klp schema` knows, in the order they are listed.
pub const SCHEMA_NAMES: &[&str] = &["status", "check", "patches", "blocking", "downgrade", "assess", "cve", "error"];

/// JSON Schema (draft 2020-12, describing what we serialize) of one document.
pub fn schema_of(name: &str) -> Option<Schema> {
    Some(match name {
        "status" => generate::<StatusReport>(),
        "check" => generate::<CheckReport>(),
        "patches" => generate::<PatchesReport>(),
        "blocking" => generate::<BlockingReport>(),
        "downgrade" => generate::<DowngradeReport>(),
        "assess" => generate::<AssessReport>(),
        "cve" => generate::<CveReport>(),
        "error" => generate::<ErrorDocument>(),
        _ => return None,
    })
}

fn generate<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>()
}
