//! Root-relative readers of the kernel's files.
//!
//! Readers return the report types (`report::PatchInfo`, `report::ThreadScan`,
//! `report::Warning`) directly: see the boundary in `report`.
//!
//! Everything klp knows about the kernel comes from files under one root
//! directory (`--root`, default `/`): `sys/kernel/livepatch`, `proc`. Tests
//! point the root at fixture trees; a container points it at the host. All
//! of it is opened through [`fs`], which keeps every path inside the root,
//! never blocks, reads only regular files and bounds every read.
//!
//! Parsers here are strict: the kernel writes `"%d\n"`, so anything else
//! (a sign, leading zeros, trailing bytes) is a [`Error::MalformedValue`]
//! naming the file, never a guess and never a panic. Files that vanish while
//! we read (a task exits, a replaced patch goes away) are "gone", which
//! callers treat as absence, not as failure.

pub mod fs;
pub(crate) mod kmsg;
pub mod livepatch;
pub mod stack;
pub mod tasks;

use crate::error::{Error, Result};
use crate::report::Warning;
use fs::{Dir, Failure};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The system being inspected.
#[derive(Debug, Clone)]
pub(crate) struct SysRoot {
    root: PathBuf,
    dir: Arc<Dir>,
}

/// Bounds of the files klp reads (the kernel's own sizes, with room).
pub(crate) mod limits {
    /// A sysfs or procfs attribute: one page, the most `show()` can write.
    pub(crate) const ATTR: usize = 4096;
    /// `osrelease`: the kernel's limit is 64 bytes and a newline.
    pub(crate) const OSRELEASE: usize = 256;
    /// A task's `stat` line (comm is 16 bytes at most; 52 numbers).
    pub(crate) const STAT: usize = 4096;
    /// A task's `cmdline`: enough for any real command line to be shown
    /// (one argument is at most 128 KiB, MAX_ARG_STRLEN); longer ones are
    /// cut and reported.
    pub(crate) const CMDLINE: usize = 256 * 1024;
    /// A task's `stack`: the kernel prints at most 64 frames (a few KiB);
    /// this keeps a hostile 100,000-frame stack whole yet bounded.
    pub(crate) const STACK: usize = 4 * 1024 * 1024;
    /// `proc/self/mountinfo`: hosts with thousands of mounts stay whole.
    pub(crate) const MOUNTINFO: usize = 4 * 1024 * 1024;
    /// A lifecycle data file.
    pub(crate) const LIFECYCLE: usize = 1024 * 1024;
}

impl SysRoot {
    pub(crate) fn new(root: &Path) -> Result<Self> {
        match Dir::open_root(root) {
            Ok(dir) => Ok(SysRoot { root: root.to_path_buf(), dir: Arc::new(dir) }),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                Err(Error::RootNotFound { path: root.to_path_buf() })
            }
            Err(e) => Err(Error::read(root, e)),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The reader of everything under the root.
    pub(crate) fn fs(&self) -> &Dir {
        &self.dir
    }

    pub(crate) fn livepatch_dir(&self) -> PathBuf {
        self.root.join("sys/kernel/livepatch")
    }

    pub(crate) fn proc_dir(&self) -> PathBuf {
        self.root.join("proc")
    }

    /// Running kernel release, None when unreadable.
    pub(crate) fn kernel_release(&self) -> Option<String> {
        self.kernel_release_checked().0
    }

    /// The kernel release, and a warning when `osrelease` exists but could
    /// not be used (a FIFO, too large, unreadable).
    pub(crate) fn kernel_release_checked(&self) -> (Option<String>, Option<Warning>) {
        const FILE: &str = "proc/sys/kernel/osrelease";
        match self.dir.read_whole(FILE, limits::OSRELEASE) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let release = text.trim();
                ((!release.is_empty()).then(|| release.to_string()), None)
            }
            Err(e) if e.is_gone() => (None, None),
            Err(e) => {
                let warning = Warning {
                    code: crate::report::WarningCode::Error(e.failure().code()),
                    message: format!("the kernel release is unknown: {}", e.into_error(&self.dir.display(FILE))),
                    path: Some(self.dir.display(FILE).display().to_string()),
                    count: 1,
                };
                (None, Some(warning))
            }
        }
    }

    /// Kernel taint mask; None when unreadable, an error when malformed.
    pub(crate) fn taint_mask(&self) -> Result<Option<u64>> {
        let dir = match self.dir.dir("proc/sys/kernel") {
            Ok(dir) => dir,
            Err(_) => return Ok(None),
        };
        match read_attr(&dir, "tainted") {
            Ok(Some(text)) => parse_int::<u64>(&dir.display("tainted"), &text, "an unsigned integer").map(Some),
            _ => Ok(None),
        }
    }

    /// Fails unless sysfs is there: `sys/kernel` exists under the root.
    /// Without it, "no livepatch directory" would say nothing.
    pub(crate) fn require_sysfs(&self) -> Result<()> {
        for rel in ["sys", "sys/kernel"] {
            match self.dir.dir(rel) {
                Ok(_) => {}
                Err(e) if matches!(e.failure(), Failure::Gone) => {
                    return Err(Error::SysfsMissing { path: self.dir.display(rel) })
                }
                Err(e) => return Err(e.into_error(&self.dir.display(rel))),
            }
        }
        Ok(())
    }
}

/// Bit 15 of the taint mask, letter `K`: a live patch was loaded since boot.
pub(crate) const TAINT_LIVEPATCH: u64 = 1 << 15;

/// Whether `value` is a decimal as `"%d"` prints it: an optional `-`, no
/// `+`, no leading zeros, no `-0`, digits only.
pub(crate) fn is_kernel_decimal(value: &str) -> bool {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, value),
    };
    match digits.as_bytes() {
        [b'0'] => !negative,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Parses `"%d\n"` as the kernel writes it: one optional trailing newline,
/// nothing else around the canonical decimal.
pub fn parse_int<T: std::str::FromStr>(path: &Path, text: &str, expected: &'static str) -> Result<T> {
    let value = text.strip_suffix('\n').unwrap_or(text);
    if !is_kernel_decimal(value) {
        return Err(malformed(path, text, expected));
    }
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

/// `stack_order`: 1-based, so positive.
pub(crate) fn parse_stack_order(path: &Path, text: &str) -> Result<u32> {
    match parse_int::<u32>(path, text, "a positive integer")? {
        0 => Err(malformed(path, text, "a positive integer")),
        order => Ok(order),
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

/// Reads an attribute of `dir`; `Ok(None)` when it does not exist. Whether
/// that is fine (an attribute older kernels lack) or not (its directory is
/// there but a required file is not) is for the caller to say. A file over
/// one page is [`Error::TooLarge`]: sysfs never writes more.
pub(crate) fn read_attr(dir: &Dir, name: &str) -> Result<Option<String>> {
    match dir.read_whole(name, limits::ATTR) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.is_gone() => Ok(None),
        Err(e) => Err(e.into_error(&dir.display(name))),
    }
}

/// Opens the kernel log `dev/kmsg` inside the root: a character device on
/// a real host, a regular file in fixture trees; anything else is refused
/// (through [`fs::Dir::open_file`]: in-root resolution, non-blocking, so the
/// read past the newest record fails with EAGAIN rather than waiting).
pub(crate) fn open_log_device(sys: &SysRoot) -> std::io::Result<std::fs::File> {
    sys.fs().open_file("dev/kmsg", fs::Accept::CharDevice).map_err(|e| match e {
        fs::ReadError::Io(e) => e,
        other => std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{:?}", other.failure())),
    })
}

/// One line into `line` (without its newline), at most `limit` bytes kept;
/// the rest of an overlong line is skipped. Ok(0) at the end of the input.
/// For inputs klp does not control (the kernel log, rpm's output): memory
/// stays bounded whatever the line lengths.
pub fn read_capped_line(
    reader: &mut impl std::io::BufRead,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    line.clear();
    let mut total = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (chunk, used) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (&buf[..at], at + 1),
            None => (buf, buf.len()),
        };
        let room = limit.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let ended = used > chunk.len();
        reader.consume(used);
        total += used;
        if ended {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_parsed_as_the_kernel_prints_them() {
        let p = Path::new("/x");
        for (text, value) in [("0\n", 0), ("1\n", 1), ("-1\n", -1), ("42", 42), ("-17\n", -17)] {
            assert_eq!(parse_int::<i64>(p, text, "n").unwrap(), value, "{text:?}");
        }
        for bad in ["+1\n", "01\n", "-0\n", "00\n", "1\n\n", " 1\n", "1 \n", "", "\n", "-", "1x", "0x10"] {
            assert!(parse_int::<i64>(p, bad, "n").is_err(), "{bad:?}");
        }
        assert!(parse_stack_order(p, "0\n").is_err());
        assert_eq!(parse_stack_order(p, "3\n").unwrap(), 3);
        assert!(parse_bool(p, "01\n").is_err() && parse_bool(p, "+1\n").is_err());
    }
}
