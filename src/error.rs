//! One error type for the whole program.
//!
//! Every variant knows its stable `code` string (part of the JSON contract, see
//! `schemas/error.json`) and its exit status. Messages are for people; codes are
//! for programs, so a code never changes once released, while wording may.

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

#[derive(Debug)]
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
    /// Waiting for the transition was given impossible bounds.
    InvalidArgument { message: String },
    /// The command exists in the interface but has no implementation yet.
    NotImplemented { what: &'static str },
    /// Package-layer failures (rpm, zypper); `code` is one of the stable
    /// `pkg::ErrorKind` strings.
    Package { kind: crate::pkg::ErrorKind, message: String, details: Option<serde_json::Value> },
}

impl Error {
    pub fn read(path: &Path, source: io::Error) -> Self {
        Error::Read { path: path.to_path_buf(), source }
    }

    /// Stable machine-readable code; never reworded.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Usage { .. } => "usage",
            Error::RootNotFound { .. } => "root_not_found",
            Error::Read { source, .. } if is_permission_denied(source) => "permission_denied",
            Error::Read { .. } => "read_failed",
            Error::MalformedValue { .. } => "malformed_value",
            Error::MissingFile { .. } => "missing_file",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::NotImplemented { .. } => "not_implemented",
            Error::Package { kind, .. } => kind.code(),
        }
    }

    /// Exit status for every command but `check`, which maps all errors to
    /// [`EXIT_USAGE`] ("could not determine"), see `main.rs`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::InvalidArgument { .. } => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }

    /// The file the error is about, where there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::RootNotFound { path }
            | Error::Read { path, .. }
            | Error::MalformedValue { path, .. }
            | Error::MissingFile { path } => Some(path),
            _ => None,
        }
    }

    /// Structured extra facts for the JSON error document.
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            Error::MalformedValue { content, expected, .. } => {
                Some(serde_json::json!({ "content": content, "expected": expected }))
            }
            Error::Read { source, .. } => Some(serde_json::json!({
                "os_error": source.raw_os_error(),
            })),
            Error::Package { details, .. } => details.clone(),
            _ => None,
        }
    }
}

pub fn is_permission_denied(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::PermissionDenied || err.raw_os_error() == Some(libc::EPERM)
}

/// A task or patch that disappeared while we looked at it: not an error.
pub fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
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
            Error::InvalidArgument { message } => write!(f, "{message}"),
            Error::NotImplemented { what } => write!(f, "{what} is not implemented yet"),
            Error::Package { message, .. } => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
