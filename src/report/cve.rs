use super::{CveAssessment, CveState, KernelPackage, PackageBackend, SchemaVersion, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp cve ID...`: is each CVE fixed on the running system, by the running
/// kernel or by a live patch?
///
/// Exit status (as `check`): 0 every CVE fixed, 1 at least one `not_fixed`
/// or `pending`, 2 usage error or some status `unknown`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CveReport {
    pub(crate) schema_version: SchemaVersion,
    /// One entry per CVE asked for, in the order given (duplicates once).
    pub(crate) cves: Vec<CveAssessment>,
    /// The installed package of the running kernel; null when unknown.
    pub(crate) running_kernel: Option<KernelPackage>,
    /// The kernel that boots next; null when unknown.
    pub(crate) next_boot_kernel: Option<KernelPackage>,
    /// The package backend that answered.
    pub(crate) backend: PackageBackend,
    pub(crate) warnings: Vec<Warning>,
}

impl CveReport {
    /// 1 when some CVE is known not to be fixed (or only pending); else 2
    /// when some is unknown; 0 when every one is fixed.
    pub fn exit_code(&self) -> u8 {
        if self.cves.iter().any(|c| matches!(c.status, CveState::NotFixed | CveState::Pending)) {
            crate::error::EXIT_FAILURE
        } else if self.cves.iter().any(|c| c.status == CveState::Unknown) {
            crate::error::EXIT_USAGE
        } else {
            crate::error::EXIT_OK
        }
    }
}
