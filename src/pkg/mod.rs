//! The package layer (rpm, zypper): which package shipped a live patch,
//! what it fixes, and rolling it back. External programs are always run
//! with argv lists, never through a shell.

/// Stable error codes of the package layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No live patch package is installed for the running kernel.
    NoPackage,
    /// No version older than the installed one is available.
    NoOlderVersion,
    /// The requested version does not exist in any repository.
    VersionNotFound,
    /// The requested version is newer than the installed one.
    VersionNewer,
    /// Another process holds the package manager's lock.
    LockHeld,
    /// zypper failed; its exit code and output are in the details.
    ZypperFailed,
    /// rpm failed; its exit code and output are in the details.
    RpmFailed,
    /// A needed program (rpm, zypper) is not installed.
    ToolMissing,
    /// The user answered "no".
    Declined,
    /// Confirmation is needed but there is no terminal, and no `-n`.
    NoTerminal,
}

impl ErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::NoPackage => "no_package",
            ErrorKind::NoOlderVersion => "no_older_version",
            ErrorKind::VersionNotFound => "version_not_found",
            ErrorKind::VersionNewer => "version_newer",
            ErrorKind::LockHeld => "lock_held",
            ErrorKind::ZypperFailed => "zypper_failed",
            ErrorKind::RpmFailed => "rpm_failed",
            ErrorKind::ToolMissing => "tool_missing",
            ErrorKind::Declined => "declined",
            ErrorKind::NoTerminal => "no_terminal",
        }
    }
}
