use super::{PackageBackend, SchemaVersion, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp downgrade`: replace the live patch package with an older version.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DowngradeReport {
    pub schema_version: SchemaVersion,
    /// Package name (SUSE `kernel-livepatch-<kver>-<flavor>`, Red Hat
    /// `kpatch-patch-<kver>-<krel>`).
    pub package: String,
    /// Installed edition before (`VERSION-RELEASE`).
    pub from: String,
    /// Target edition (`VERSION-RELEASE`).
    pub to: String,
    /// True with `--dry-run`: nothing was changed (on Red Hat, dnf checked
    /// the plan with a test transaction, `--setopt=tsflags=test`).
    pub dry_run: bool,
    /// Whether the installed package changed.
    pub changed: bool,
    /// The package-manager command, as an argv list.
    pub command: Vec<String>,
    /// zypper's exit status; null when it was not run (always null on Red Hat:
    /// see `package_manager_exit_code`).
    pub zypper_exit_code: Option<i32>,
    /// Installed edition re-read with rpm after the command; null on dry run.
    pub installed_after: Option<String>,
    /// Loaded live patch (sysfs) before and after.
    pub patch_before: Option<String>,
    pub patch_after: Option<String>,
    /// The package backend that answered.
    pub backend: PackageBackend,
    /// `zypper` or `dnf`.
    pub package_manager: String,
    /// The package manager's exit status (on a Red Hat dry run: of the test
    /// transaction); null when it was not run.
    pub package_manager_exit_code: Option<i32>,
    /// Whether the loaded live patch (sysfs, re-read after the change) differs
    /// from before: on SUSE the package's scriptlets load the new module; on
    /// Red Hat the package changes and what is loaded changes only through the
    /// scriptlets or a reboot. Null when nothing was changed.
    pub loaded_patch_changed: Option<bool>,
    /// Whether the vendor supports replacing the loaded live patch with an
    /// older one without a reboot (Red Hat: no).
    pub live_revert_supported: bool,
    /// What a person must know about the result (e.g. that a reboot is
    /// needed to run the older patch); null when nothing.
    pub note: Option<String>,
    pub warnings: Vec<Warning>,
}
