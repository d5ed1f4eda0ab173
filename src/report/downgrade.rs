use super::{PackageBackend, SchemaVersion, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp downgrade`: replace the live patch package with an older version.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DowngradeReport {
    pub(crate) schema_version: SchemaVersion,
    /// What happened to the package (`pkg::downgrade::run`).
    #[serde(flatten)]
    pub(crate) change: PackageChange,
    /// Loaded live patch (sysfs) before and after.
    pub patch_before: Option<String>,
    pub patch_after: Option<String>,
    /// The package backend that answered.
    pub(crate) backend: PackageBackend,
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

/// The package side of a downgrade: the plan, and what rpm shows after it ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct PackageChange {
    /// Package name (SUSE `kernel-livepatch-<kver>-<flavor>`, Red Hat
    /// `kpatch-patch-<kver>-<krel>`).
    pub package: String,
    /// Installed edition before (`VERSION-RELEASE`).
    pub(crate) from: String,
    /// Target edition (`VERSION-RELEASE`).
    pub to: String,
    /// True with `--dry-run`: nothing was changed (on Red Hat, dnf checked
    /// the plan with a test transaction, `--setopt=tsflags=test`).
    pub dry_run: bool,
    /// Whether the installed package changed.
    pub(crate) changed: bool,
    /// The package-manager command, as an argv list.
    pub command: Vec<String>,
    /// zypper's exit status; null when it was not run (always null on Red Hat:
    /// see `package_manager_exit_code`).
    pub zypper_exit_code: Option<i32>,
    /// Installed edition re-read with rpm after the command; null on dry run.
    pub installed_after: Option<String>,
    /// `zypper` or `dnf`.
    pub package_manager: String,
    /// The package manager's exit status (on a Red Hat dry run: of the test
    /// transaction); null when it was not run.
    pub package_manager_exit_code: Option<i32>,
}

impl PackageChange {
    /// `command` as a person would type it, for display only: it is never
    /// run by a shell. Our own rather than `shlex` or `shell-words`: both
    /// quote `=`, which would print zypper's `NAME=EDITION` as `'NAME=EDITION'`
    /// in the summary and the prompt that people and scripts already read.
    pub(crate) fn command_line(&self) -> String {
        self.command
            .iter()
            .map(|arg| {
                if !arg.is_empty() && arg.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_./=:+,@%".contains(&c)) {
                    arg.clone()
                } else {
                    format!("'{}'", arg.replace('\'', "'\\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let change = PackageChange {
            package: "x".into(),
            from: "2-1".into(),
            to: "1-2".into(),
            dry_run: true,
            changed: false,
            command: ["zypper", "--root", "/tmp/a b", "install", "x=1-2", "it's"].map(String::from).to_vec(),
            zypper_exit_code: None,
            installed_after: None,
            package_manager: "zypper".into(),
            package_manager_exit_code: None,
        };
        assert_eq!(change.command_line(), "zypper --root '/tmp/a b' install x=1-2 'it'\\''s'");
    }
}
