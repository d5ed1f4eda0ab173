use super::{SchemaVersion, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp downgrade`: replace the live patch package with an older version.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DowngradeReport {
    pub schema_version: SchemaVersion,
    /// Package name (`kernel-livepatch-<kver>-<flavor>`).
    pub package: String,
    /// Installed edition before (`VERSION-RELEASE`).
    pub from: String,
    /// Target edition (`VERSION-RELEASE`).
    pub to: String,
    /// True with `--dry-run`: nothing was run.
    pub dry_run: bool,
    /// Whether the installed package changed.
    pub changed: bool,
    /// The package-manager command, as an argv list.
    pub command: Vec<String>,
    /// The package manager's exit status; null when it was not run.
    pub zypper_exit_code: Option<i32>,
    /// Installed edition re-read with rpm after the command; null on dry run.
    pub installed_after: Option<String>,
    /// Loaded live patch (sysfs) before and after.
    pub patch_before: Option<String>,
    pub patch_after: Option<String>,
    pub warnings: Vec<Warning>,
}
