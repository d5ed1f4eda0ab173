use super::{SchemaVersion, Warning};
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
    pub(crate) patch_before: Option<String>,
    pub(crate) patch_after: Option<String>,
    pub(crate) warnings: Vec<Warning>,
}

/// The package side of a downgrade: the plan, and what rpm shows after it ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct PackageChange {
    /// Package name (`kernel-livepatch-<kver>-<flavor>`).
    pub(crate) package: String,
    /// Installed edition before (`VERSION-RELEASE`).
    pub(crate) from: String,
    /// Target edition (`VERSION-RELEASE`).
    pub(crate) to: String,
    /// True with `--dry-run`: nothing was run.
    pub(crate) dry_run: bool,
    /// Whether the installed package changed.
    pub(crate) changed: bool,
    /// The package-manager command, as an argv list.
    pub(crate) command: Vec<String>,
    /// The package manager's exit status; null when it was not run.
    pub(crate) zypper_exit_code: Option<i32>,
    /// Installed edition re-read with rpm after the command; null on dry run.
    pub(crate) installed_after: Option<String>,
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
        };
        assert_eq!(change.command_line(), "zypper --root '/tmp/a b' install x=1-2 'it'\\''s'");
    }
}
