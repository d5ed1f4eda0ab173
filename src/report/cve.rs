use super::{CveAssessment, KernelPackage, PackageBackend, SchemaVersion, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp cve ID...`: is each CVE fixed on the running system, by the running
/// kernel or by a live patch?
///
/// Exit status (as `check`): 0 every CVE fixed, 1 at least one `not_fixed`
/// or `pending`, 2 usage error or some status `unknown`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CveReport {
    pub schema_version: SchemaVersion,
    /// One entry per CVE asked for, in the order given (duplicates once).
    pub cves: Vec<CveAssessment>,
    /// The installed package of the running kernel; null when unknown.
    pub running_kernel: Option<KernelPackage>,
    /// The kernel that boots next; null when unknown.
    pub next_boot_kernel: Option<KernelPackage>,
    /// The package backend that answered.
    pub backend: PackageBackend,
    pub warnings: Vec<Warning>,
}
