//! Root-relative readers of the kernel's files.
//!
//! Readers return the report types (`report::PatchInfo`, `report::ThreadScan`,
//! `report::Warning`) directly: see the boundary in `report`.
//!
//! Everything klp knows about the kernel comes from files under one root
//! directory (`--root`, default `/`): `sys/kernel/livepatch`, `proc`. Tests
//! point the root at fixture trees; a container points it at the host.
//!
//! Parsers here are strict: the kernel writes `"%d\n"`, so anything else is
//! a [`Error::MalformedValue`] naming the file, never a guess and never a
//! panic. Files that vanish while we read (a task exits, a replaced patch
//! goes away) are "gone", which callers treat as absence, not as failure.

pub mod livepatch;
pub mod stack;
pub mod tasks;

use crate::error::{is_gone, Error, Result};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The system being inspected.
#[derive(Debug, Clone)]
pub(crate) struct SysRoot {
    root: PathBuf,
}

impl SysRoot {
    pub(crate) fn new(root: &Path) -> Result<Self> {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => {}
            Err(e) if !is_gone(&e) => return Err(Error::read(root, e)),
            _ => return Err(Error::RootNotFound { path: root.to_path_buf() }),
        }
        Ok(SysRoot { root: root.to_path_buf() })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn livepatch_dir(&self) -> PathBuf {
        self.root.join("sys/kernel/livepatch")
    }

    pub(crate) fn proc_dir(&self) -> PathBuf {
        self.root.join("proc")
    }

    /// Running kernel release, None when unreadable.
    pub(crate) fn kernel_release(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.proc_dir().join("sys/kernel/osrelease")).ok()?;
        let release = text.trim();
        (!release.is_empty()).then(|| release.to_string())
    }

    /// Kernel taint mask; None when unreadable, an error when malformed.
    pub(crate) fn taint_mask(&self) -> Result<Option<u64>> {
        let path = self.proc_dir().join("sys/kernel/tainted");
        match read_small(&path) {
            Ok(text) => parse_int::<u64>(&path, &text, "an unsigned integer").map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// Bit 15 of the taint mask, letter `K`: a live patch was loaded since boot.
pub(crate) const TAINT_LIVEPATCH: u64 = 1 << 15;

/// Largest file we read whole; kernel attribute files are one line.
const SMALL_FILE_LIMIT: u64 = 4096;

/// Reads a one-line kernel attribute file.
pub(crate) fn read_small(path: &Path) -> io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(16);
    file.take(SMALL_FILE_LIMIT).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Parses `"%d\n"` as the kernel writes it: one optional trailing newline.
pub fn parse_int<T: std::str::FromStr>(path: &Path, text: &str, expected: &'static str) -> Result<T> {
    let value = text.strip_suffix('\n').unwrap_or(text);
    value.parse::<T>().map_err(|_| malformed(path, text, expected))
}

/// A `0`/`1` attribute.
pub fn parse_bool(path: &Path, text: &str) -> Result<bool> {
    match parse_int::<i64>(path, text, "0 or 1")? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(malformed(path, text, "0 or 1")),
    }
}

pub(crate) fn malformed(path: &Path, text: &str, expected: &'static str) -> Error {
    const SHOWN: usize = 64;
    let mut content: String = text.chars().take(SHOWN).collect();
    if text.chars().count() > SHOWN {
        content.push('…');
    }
    Error::MalformedValue { path: path.to_path_buf(), content, expected }
}

/// Reads an attribute; `Ok(None)` when it does not exist. Whether that is
/// fine (an attribute older kernels lack) or not (its directory is there but
/// a required file is not) is for the caller to say.
pub(crate) fn read_attr(path: &Path) -> Result<Option<String>> {
    match read_small(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if is_gone(&e) => Ok(None),
        Err(e) => Err(Error::read(path, e)),
    }
}
