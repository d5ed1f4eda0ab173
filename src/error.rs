//! One error type for the whole program, and its place in the contract.
//!
//! Every variant knows its stable code ([`ErrorCode`], listed as an `enum` in
//! the committed schemas) and its exit status, and [`Error::problem`] gives
//! the code together with its typed `details` ([`Problem`]): the error
//! document's schema says, per code, which facts `details` holds. Messages
//! are for people; codes and details are for programs, so a code never
//! changes once released, while wording may.
//!
//! The package layer's failures ([`PackageFailure`]) are defined here, not in
//! `pkg/`, so that this module depends on no reader.

use crate::sys::fs::Failure;
use schemars::JsonSchema;
use serde::Serialize;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Exit status of a successful command (and of `check` when ready).
pub const EXIT_OK: u8 = 0;
/// Runtime error (classic `klp`); for `check`, "a transition is in progress".
pub const EXIT_FAILURE: u8 = 1;
/// Usage error; for `check`, "the state could not be determined".
pub const EXIT_USAGE: u8 = 2;
/// `assess` only (monitoring-plugin convention): UNKNOWN, for failures and usage errors.
pub const EXIT_UNKNOWN: u8 = 3;

/// Everything that makes a command fail.
#[derive(Debug)]
#[allow(missing_docs)] // the fields: each variant's doc says what it holds
pub enum Error {
    /// The command line could not be parsed.
    Usage { message: String },
    /// `--root` does not name a directory.
    RootNotFound { path: PathBuf },
    /// A file that must be readable could not be read.
    Read { path: PathBuf, source: io::Error },
    /// A kernel file held something other than what the kernel writes there.
    MalformedValue { path: PathBuf, content: String, expected: &'static str },
    /// A required sysfs file is missing from a patch directory that still exists.
    MissingFile { path: PathBuf },
    /// A FIFO, socket, device or directory where a regular file was expected.
    NotRegularFile { path: PathBuf, file_type: &'static str },
    /// A file holding more than klp reads of it (kernel files are small).
    TooLarge { path: PathBuf, limit: u64 },
    /// `sys/` or `sys/kernel` is missing under the root: sysfs is not
    /// mounted there, so whether live patching is supported is unknown.
    SysfsMissing { path: PathBuf },
    /// Waiting for the transition was given impossible bounds.
    InvalidArgument { message: String },
    /// Package-layer failures (rpm, zypper), each with its typed details
    /// (boxed: they are large, and errors travel in every `Result`).
    Package { message: String, failure: Box<PackageFailure> },
    /// `--output FILE` could not be written; FILE is left as it was.
    Output { path: PathBuf, source: io::Error },
    /// `--format` names a format this command has no rendering for.
    FormatUnsupported { format: &'static str, command: &'static str, supported_by: &'static [&'static str] },
}

/// The stable error codes (`error.code`); a failure that does not stop a
/// command becomes a warning under the same code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = consts_to_enum)]
pub(crate) enum ErrorCode {
    /// The command line could not be parsed.
    Usage,
    /// `--root` does not name a directory.
    RootNotFound,
    /// A file could not be read for lack of permission (EACCES, EPERM).
    PermissionDenied,
    /// A file could not be read for another reason.
    ReadFailed,
    /// A kernel file held something other than what the kernel writes there.
    MalformedValue,
    /// A required sysfs file is missing (as a warning: a file that is gone
    /// while its directory is still there).
    MissingFile,
    /// A FIFO, socket, device or directory where a regular file belongs.
    NotRegularFile,
    /// A file holding more than the kernel ever writes there.
    TooLarge,
    /// A symlink loop (ELOOP) on the way to a file.
    SymlinkLoop,
    /// No `sys/` or `sys/kernel` under the root: sysfs is not mounted.
    SysfsMissing,
    /// An argument is out of its range.
    InvalidArgument,
    /// No live patch package is installed for the running kernel (or its
    /// release names none).
    NoPackage,
    /// The system has no rpm database: rpm cannot be asked.
    NoRpmDatabase,
    /// No version older than the installed one is available.
    NoOlderVersion,
    /// The requested version does not exist in any repository.
    VersionNotFound,
    /// The requested version is newer than the installed one.
    VersionNewer,
    /// Another process holds the package manager's lock, or klp's own.
    LockHeld,
    /// zypper failed.
    ZypperFailed,
    /// dnf failed.
    DnfFailed,
    /// The distribution family is not one klp has a package backend for
    /// (`--backend` chooses one).
    BackendUnknown,
    /// rpm failed.
    RpmFailed,
    /// A needed program (rpm, zypper) is not installed.
    ToolMissing,
    /// The user answered "no".
    Declined,
    /// Confirmation is needed but there is no terminal, and no `-n`.
    NoTerminal,
    /// `--output FILE` could not be written; FILE is left as it was.
    OutputFailed,
    /// `--format` names a format this command has no rendering for.
    FormatUnsupported,
}

impl ErrorCode {
    /// The code as it appears in the JSON documents.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Usage => "usage",
            ErrorCode::RootNotFound => "root_not_found",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::ReadFailed => "read_failed",
            ErrorCode::MalformedValue => "malformed_value",
            ErrorCode::MissingFile => "missing_file",
            ErrorCode::NotRegularFile => "not_regular_file",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::SymlinkLoop => "symlink_loop",
            ErrorCode::SysfsMissing => "sysfs_missing",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::NoPackage => "no_package",
            ErrorCode::NoRpmDatabase => "no_rpm_database",
            ErrorCode::NoOlderVersion => "no_older_version",
            ErrorCode::VersionNotFound => "version_not_found",
            ErrorCode::VersionNewer => "version_newer",
            ErrorCode::LockHeld => "lock_held",
            ErrorCode::ZypperFailed => "zypper_failed",
            ErrorCode::DnfFailed => "dnf_failed",
            ErrorCode::BackendUnknown => "backend_unknown",
            ErrorCode::RpmFailed => "rpm_failed",
            ErrorCode::ToolMissing => "tool_missing",
            ErrorCode::Declined => "declined",
            ErrorCode::NoTerminal => "no_terminal",
            ErrorCode::OutputFailed => "output_failed",
            ErrorCode::FormatUnsupported => "format_unsupported",
        }
    }
}

/// Every error code, in the order [`ErrorCode`] declares them.
pub(crate) fn error_codes() -> Vec<serde_json::Value> {
    schemars::schema_for!(ErrorCode).get("enum").and_then(|v| v.as_array()).cloned().unwrap_or_default()
}

/// Schema transform: an enum documented per value (`oneOf`/`anyOf` of
/// `const`s) becomes one `enum` list, which is what consumers look for;
/// the per-value docs stay in the code.
pub(crate) fn consts_to_enum(schema: &mut schemars::Schema) {
    let branches = ["oneOf", "anyOf"].iter().find_map(|key| schema.remove(*key));
    let Some(serde_json::Value::Array(branches)) = branches else { return };
    let values: Vec<serde_json::Value> = branches.iter().filter_map(|b| b.get("const").cloned()).collect();
    schema.insert("type".into(), "string".into());
    schema.insert("enum".into(), values.into());
}

/// The `code` and `details` of an error document: one typed shape per code.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "code", content = "details", rename_all = "snake_case")]
pub enum Problem {
    /// The command line could not be parsed (no details).
    Usage(()),
    /// `--root` does not name a directory (no details).
    RootNotFound(()),
    /// A file could not be read for lack of permission.
    PermissionDenied(OsError),
    /// A file could not be read for another reason.
    ReadFailed(OsError),
    /// A kernel file held something the kernel does not write.
    MalformedValue(Malformed),
    /// A required sysfs file is missing (no details).
    MissingFile(()),
    /// Something other than a regular file where one was expected.
    NotRegularFile(NotRegular),
    /// A file larger than klp reads.
    TooLarge(Limit),
    /// A symlink loop under the root.
    SymlinkLoop(OsError),
    /// sysfs is not mounted under the root (no details).
    SysfsMissing(()),
    /// An argument is out of its range (no details).
    InvalidArgument(()),
    /// `--output FILE` could not be written.
    OutputFailed(OsError),
    /// `--format` has no rendering for this command.
    FormatUnsupported(UnsupportedFormat),
    /// A package-layer failure, under its own code.
    #[serde(untagged)]
    Package(PackageFailure),
}

/// Details of `permission_denied` and `read_failed`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OsError {
    /// The OS error number (`errno`), when there is one.
    pub(crate) os_error: Option<i32>,
}

/// Details of `not_regular_file`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NotRegular {
    /// What is there instead: `fifo`, `socket`, `character device`,
    /// `block device`, `directory`.
    pub(crate) file_type: &'static str,
    /// The OS error number, when the kernel reported it (EISDIR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) os_error: Option<i32>,
}

/// Details of `format_unsupported`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UnsupportedFormat {
    /// The format asked for.
    pub format: &'static str,
    /// The command that has no rendering in it.
    pub command: &'static str,
    /// The commands that do.
    pub supported_by: &'static [&'static str],
}

/// Details of `too_large`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Limit {
    /// The most klp reads of that file, in bytes.
    pub(crate) limit_bytes: u64,
}

/// Details of `malformed_value`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Malformed {
    /// The start of what the file held (at most 64 characters, then `…`).
    pub(crate) content: String,
    /// What the kernel writes there.
    pub(crate) expected: &'static str,
}

/// A package-layer failure: its code with its details.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "code", content = "details", rename_all = "snake_case")]
pub enum PackageFailure {
    /// No live patch package is installed for the running kernel.
    NoPackage(NoPackage),
    /// The system has no rpm database.
    NoRpmDatabase(NoRpmDatabase),
    /// No version older than the installed one is available.
    NoOlderVersion(NoOlderVersion),
    /// The requested version is in no repository.
    VersionNotFound(VersionNotFound),
    /// The requested version is newer than the installed one.
    VersionNewer(VersionNewer),
    /// zypper's lock or klp's own is held.
    LockHeld(LockHeld),
    /// zypper failed.
    ZypperFailed(CommandFailed),
    /// dnf failed.
    DnfFailed(CommandFailed),
    /// The root's distribution family is unknown: no package backend.
    BackendUnknown(BackendUnknown),
    /// rpm failed.
    RpmFailed(CommandFailed),
    /// rpm or zypper is not installed.
    ToolMissing(ToolMissing),
    /// The user answered "no".
    Declined(Confirmation),
    /// Confirmation is needed and there is no terminal.
    NoTerminal(Confirmation),
}

/// What rpm says is installed, re-read after a downgrade failed: present in
/// the details of every failure of `downgrade` once it knows its package.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct DowngradeState {
    /// The live patch package of the running kernel.
    pub(crate) package: String,
    /// The installed edition the downgrade started from; absent when the
    /// failure came before it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
    /// The installed edition now (null: not installed).
    pub(crate) installed: Option<String>,
}

/// Details of `no_package`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoPackage {
    /// The running kernel release; null when unreadable.
    pub kernel_release: Option<String>,
    /// Red Hat: true when only the `0-0` placeholder is installed (it ships
    /// no live patch); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<bool>,
    #[serde(flatten)]
    pub(crate) state: Option<DowngradeState>,
}

/// Details of `backend_unknown`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BackendUnknown {
    /// `ID` of the system's os-release; null when there is none.
    pub os_release_id: Option<String>,
}

/// Details of `no_rpm_database`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoRpmDatabase {
    /// The system root that was looked at.
    pub(crate) root: String,
    /// The database directories looked for, relative to the root.
    pub(crate) looked_in: Vec<String>,
}

/// Details of `no_older_version`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoOlderVersion {
    /// Every edition the repositories offer, oldest first.
    pub available: Vec<String>,
    /// Red Hat: the older `0-0` placeholder (ships no live patch), which a
    /// downgrade installs only when asked for by `--to`; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(flatten)]
    pub(crate) state: DowngradeState,
}

/// Details of `version_not_found`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VersionNotFound {
    /// `--to` as given.
    pub(crate) requested: String,
    /// Every edition the repositories offer, oldest first.
    pub(crate) available: Vec<String>,
    #[serde(flatten)]
    pub(crate) state: DowngradeState,
}

/// Details of `version_newer`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VersionNewer {
    /// `--to` as given.
    pub(crate) requested: String,
    #[serde(flatten)]
    pub(crate) state: DowngradeState,
}

/// Details of `lock_held`: klp's own lock (`lock_file`), zypper's (exit
/// status 7) or dnf's (exit status 200 with `exit_on_lock`): `command`,
/// `exit_code`, `output`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LockHeld {
    /// klp's downgrade lock, as a path on the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lock_file: Option<String>,
    /// zypper's argv, when zypper found its lock held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) command: Option<Vec<String>>,
    #[serde(flatten)]
    pub(crate) run: Option<ExitAndOutput>,
    #[serde(flatten)]
    pub(crate) state: Option<DowngradeState>,
}

/// Details of `rpm_failed`, `zypper_failed` and `dnf_failed`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CommandFailed {
    /// The argv that failed, or could not be started.
    pub(crate) command: Vec<String>,
    /// Exit status and output; absent when the program could not be started.
    #[serde(flatten)]
    pub(crate) run: Option<ExitAndOutput>,
    /// The edition zypper was to install (a downgrade that zypper reported
    /// done but rpm does not show).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<String>,
    #[serde(flatten)]
    pub(crate) state: Option<DowngradeState>,
}

/// How a program that ran ended.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ExitAndOutput {
    /// Its exit status; -1 when killed by a signal.
    pub(crate) exit_code: i32,
    /// Its stdout and stderr, cut to 8 KiB.
    pub(crate) output: String,
}

/// Details of `tool_missing`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ToolMissing {
    /// The program not found in PATH.
    pub(crate) program: String,
    #[serde(flatten)]
    pub(crate) state: Option<DowngradeState>,
}

/// Details of `declined` and `no_terminal`: what would have run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Confirmation {
    /// The edition the downgrade was to install.
    pub(crate) to: String,
    /// The zypper argv it was to run.
    pub(crate) command: Vec<String>,
    #[serde(flatten)]
    pub(crate) state: DowngradeState,
}

impl PackageFailure {
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            PackageFailure::NoPackage(_) => ErrorCode::NoPackage,
            PackageFailure::NoRpmDatabase(_) => ErrorCode::NoRpmDatabase,
            PackageFailure::NoOlderVersion(_) => ErrorCode::NoOlderVersion,
            PackageFailure::VersionNotFound(_) => ErrorCode::VersionNotFound,
            PackageFailure::VersionNewer(_) => ErrorCode::VersionNewer,
            PackageFailure::LockHeld(_) => ErrorCode::LockHeld,
            PackageFailure::ZypperFailed(_) => ErrorCode::ZypperFailed,
            PackageFailure::DnfFailed(_) => ErrorCode::DnfFailed,
            PackageFailure::BackendUnknown(_) => ErrorCode::BackendUnknown,
            PackageFailure::RpmFailed(_) => ErrorCode::RpmFailed,
            PackageFailure::ToolMissing(_) => ErrorCode::ToolMissing,
            PackageFailure::Declined(_) => ErrorCode::Declined,
            PackageFailure::NoTerminal(_) => ErrorCode::NoTerminal,
        }
    }

    /// Where a downgrade stood, for the failures that can carry it: set once
    /// the installed version has been re-read after the failure.
    pub(crate) fn state_mut(&mut self) -> Option<&mut Option<DowngradeState>> {
        match self {
            PackageFailure::NoPackage(d) => Some(&mut d.state),
            PackageFailure::LockHeld(d) => Some(&mut d.state),
            PackageFailure::ZypperFailed(d) | PackageFailure::DnfFailed(d) | PackageFailure::RpmFailed(d) => {
                Some(&mut d.state)
            }
            PackageFailure::ToolMissing(d) => Some(&mut d.state),
            PackageFailure::NoRpmDatabase(_)
            | PackageFailure::BackendUnknown(_)
            | PackageFailure::NoOlderVersion(_)
            | PackageFailure::VersionNotFound(_)
            | PackageFailure::VersionNewer(_)
            | PackageFailure::Declined(_)
            | PackageFailure::NoTerminal(_) => None,
        }
    }
}

impl Error {
    pub(crate) fn read(path: &Path, source: io::Error) -> Self {
        Error::Read { path: path.to_path_buf(), source }
    }

    /// A package-layer error.
    pub(crate) fn package(failure: PackageFailure, message: impl Into<String>) -> Self {
        Error::Package { message: message.into(), failure: Box::new(failure) }
    }

    /// Stable machine-readable code; never reworded.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The stable code, typed.
    pub(crate) fn error_code(&self) -> ErrorCode {
        match self {
            Error::Usage { .. } => ErrorCode::Usage,
            Error::RootNotFound { .. } => ErrorCode::RootNotFound,
            Error::Read { source, .. } => match crate::sys::fs::classify(source) {
                Failure::Denied => ErrorCode::PermissionDenied,
                Failure::Loop => ErrorCode::SymlinkLoop,
                Failure::NotRegularFile => ErrorCode::NotRegularFile,
                Failure::Gone | Failure::TooLarge | Failure::Other => ErrorCode::ReadFailed,
            },
            Error::NotRegularFile { .. } => ErrorCode::NotRegularFile,
            Error::TooLarge { .. } => ErrorCode::TooLarge,
            Error::SysfsMissing { .. } => ErrorCode::SysfsMissing,
            Error::MalformedValue { .. } => ErrorCode::MalformedValue,
            Error::MissingFile { .. } => ErrorCode::MissingFile,
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Error::Package { failure, .. } => failure.code(),
            Error::Output { .. } => ErrorCode::OutputFailed,
            Error::FormatUnsupported { .. } => ErrorCode::FormatUnsupported,
        }
    }

    /// Exit status for every command but `check`, which maps all errors to
    /// [`EXIT_USAGE`] ("could not determine"), see `main.rs`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::InvalidArgument { .. } | Error::FormatUnsupported { .. } => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }

    /// The file the error is about, where there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::RootNotFound { path }
            | Error::Read { path, .. }
            | Error::MalformedValue { path, .. }
            | Error::MissingFile { path }
            | Error::NotRegularFile { path, .. }
            | Error::TooLarge { path, .. }
            | Error::SysfsMissing { path }
            | Error::Output { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The code with its typed details, as the error document shows them.
    pub fn problem(&self) -> Problem {
        match self {
            Error::Usage { .. } => Problem::Usage(()),
            Error::RootNotFound { .. } => Problem::RootNotFound(()),
            Error::Read { source, .. } => {
                let details = OsError { os_error: source.raw_os_error() };
                match self.error_code() {
                    ErrorCode::PermissionDenied => Problem::PermissionDenied(details),
                    ErrorCode::SymlinkLoop => Problem::SymlinkLoop(details),
                    ErrorCode::NotRegularFile => {
                        Problem::NotRegularFile(NotRegular { file_type: "directory", os_error: details.os_error })
                    }
                    _ => Problem::ReadFailed(details),
                }
            }
            Error::NotRegularFile { file_type, .. } => {
                Problem::NotRegularFile(NotRegular { file_type, os_error: None })
            }
            Error::TooLarge { limit, .. } => Problem::TooLarge(Limit { limit_bytes: *limit }),
            Error::SysfsMissing { .. } => Problem::SysfsMissing(()),
            Error::MalformedValue { content, expected, .. } => {
                Problem::MalformedValue(Malformed { content: content.clone(), expected })
            }
            Error::MissingFile { .. } => Problem::MissingFile(()),
            Error::InvalidArgument { .. } => Problem::InvalidArgument(()),
            Error::Package { failure, .. } => Problem::Package((**failure).clone()),
            Error::Output { source, .. } => Problem::OutputFailed(OsError { os_error: source.raw_os_error() }),
            Error::FormatUnsupported { format, command, supported_by } => {
                Problem::FormatUnsupported(UnsupportedFormat { format, command, supported_by })
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message } => write!(f, "{message}"),
            Error::RootNotFound { path } => {
                write!(f, "root directory {} does not exist or is not a directory", path.display())
            }
            Error::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::MalformedValue { path, content, expected } => {
                write!(f, "unexpected content in {}: {content:?} (expected {expected})", path.display())
            }
            Error::MissingFile { path } => write!(f, "required file {} is missing", path.display()),
            Error::NotRegularFile { path, file_type } => {
                write!(f, "{} is a {file_type}, not a regular file: refused", path.display())
            }
            Error::TooLarge { path, limit } => {
                write!(f, "{} holds more than {limit} bytes, more than the kernel ever writes there", path.display())
            }
            Error::SysfsMissing { path } => write!(
                f,
                "{} is missing: sysfs is not mounted under the root, so live patching support is unknown",
                path.display()
            ),
            Error::InvalidArgument { message } => write!(f, "{message}"),
            Error::Package { message, .. } => write!(f, "{message}"),
            Error::Output { path, source } => write!(f, "cannot write {}: {source}", path.display()),
            Error::FormatUnsupported { format, command, supported_by } => write!(
                f,
                "--format {format} is not available for `{command}` (supported by: {})",
                supported_by.join(", ")
            ),
        }
    }
}

impl std::error::Error for Error {}

/// klp's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The tag `Problem` serializes is the code `error_code` names.
    #[test]
    fn problem_and_code_agree() {
        let state = || DowngradeState { package: "p".into(), from: Some("2-1".into()), installed: None };
        let errors = [
            Error::Usage { message: "m".into() },
            Error::RootNotFound { path: "/x".into() },
            Error::read(Path::new("/x"), io::Error::from_raw_os_error(libc::EACCES)),
            Error::read(Path::new("/x"), io::Error::from_raw_os_error(libc::EIO)),
            Error::MalformedValue { path: "/x".into(), content: "c".into(), expected: "e" },
            Error::MissingFile { path: "/x".into() },
            Error::read(Path::new("/x"), io::Error::from_raw_os_error(libc::ELOOP)),
            Error::read(Path::new("/x"), io::Error::from_raw_os_error(libc::EISDIR)),
            Error::NotRegularFile { path: "/x".into(), file_type: "fifo" },
            Error::TooLarge { path: "/x".into(), limit: 1 },
            Error::SysfsMissing { path: "/x".into() },
            Error::InvalidArgument { message: "m".into() },
            Error::package(
                PackageFailure::NoPackage(NoPackage { kernel_release: None, placeholder: None, state: None }),
                "m",
            ),
            Error::package(PackageFailure::NoRpmDatabase(NoRpmDatabase { root: "/".into(), looked_in: vec![] }), "m"),
            Error::package(
                PackageFailure::NoOlderVersion(NoOlderVersion { available: vec![], placeholder: None, state: state() }),
                "m",
            ),
            Error::package(
                PackageFailure::VersionNotFound(VersionNotFound {
                    requested: "1".into(),
                    available: vec![],
                    state: state(),
                }),
                "m",
            ),
            Error::package(PackageFailure::VersionNewer(VersionNewer { requested: "1".into(), state: state() }), "m"),
            Error::package(
                PackageFailure::LockHeld(LockHeld { lock_file: None, command: None, run: None, state: None }),
                "m",
            ),
            Error::package(
                PackageFailure::ZypperFailed(CommandFailed { command: vec![], run: None, to: None, state: None }),
                "m",
            ),
            Error::package(
                PackageFailure::RpmFailed(CommandFailed { command: vec![], run: None, to: None, state: None }),
                "m",
            ),
            Error::package(PackageFailure::ToolMissing(ToolMissing { program: "rpm".into(), state: None }), "m"),
            Error::package(
                PackageFailure::Declined(Confirmation { to: "1".into(), command: vec![], state: state() }),
                "m",
            ),
            Error::package(
                PackageFailure::NoTerminal(Confirmation { to: "1".into(), command: vec![], state: state() }),
                "m",
            ),
        ];
        for err in &errors {
            let value = serde_json::to_value(err.problem()).unwrap();
            assert_eq!(value["code"], err.code(), "{value}");
            assert_eq!(serde_json::to_value(err.error_code()).unwrap(), err.code());
            assert!(value.get("details").is_some(), "details always present: {value}");
        }
    }
}
