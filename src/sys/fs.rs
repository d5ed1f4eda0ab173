//! The one way klp opens anything under `--root`.
//!
//! Everything under the root is untrusted (a container's tree, a copied
//! rootfs, a test's fixture). This layer promises, for every caller:
//!
//! - **No escape.** Paths resolve inside the root: `openat2` with
//!   `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` (Linux 5.6+), else
//!   [`walk`], a component-by-component walk that never lets the kernel
//!   follow a symlink (`O_NOFOLLOW`) and resolves each link itself, with
//!   `..` and absolute targets clamped at the root. Links that stay inside
//!   (usrmerge `lib -> usr/lib`, `proc/self`) keep working; magic links
//!   (`/proc/<pid>/fd/*`, `exe`, `root`) are never followed.
//! - **No hang.** Files are opened `O_NONBLOCK | O_NOCTTY` and checked with
//!   `fstat` before the first read: only regular files (procfs and sysfs
//!   files are regular) are read. A FIFO, socket, device or directory is
//!   [`ReadError::NotRegular`]. The one exception is an explicit
//!   [`Accept::CharDevice`] (the kernel log, `/dev/kmsg`).
//! - **Bounded memory.** Every read takes a limit; [`Contents::truncated`]
//!   says when the file held more, and the caller reports it.
//! - **One classification** of what went wrong ([`Failure`]), with one code
//!   each: gone, denied, not a regular file, too large, loop, other.
//!
//! The API, for every reader (the kernel log reader included):
//!
//! ```no_run
//! # use klp::sys::fs::{Accept, Dir};
//! # fn demo(root: &Dir) -> Result<(), klp::sys::fs::ReadError> {
//! let value = root.read_whole("sys/kernel/livepatch/p/enabled", 4096)?; // regular, bounded, else an error
//! let stack = root.read("proc/1/task/1/stack", 64 * 1024)?; // bounded, `truncated` says if cut
//! let mut kmsg = root.open_file("dev/kmsg", Accept::CharDevice)?; // the one device allowed
//! klp::sys::fs::read_records(&mut kmsg, 8192, 10_000, |record| !record.is_empty())?;
//! # Ok(()) }
//! ```
//!
//! A [`Dir`] is a held directory fd: per-task files are read relative to the
//! task directory whose `patch_state` was read, so a pid reused meanwhile
//! cannot mix two tasks' details. Names opened relative to a [`Dir`] resolve
//! inside that directory.
//!
//! Hand-written over `rustix` (no crate offers an in-root reader with a
//! fallback, bounded non-blocking reads and this error taxonomy).

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

/// What kind of file a caller is prepared to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// A regular file: everything in procfs and sysfs klp reads.
    Regular,
    /// A regular file or a character device (the kernel log reader).
    CharDevice,
}

/// How a read failed, decided once, here. Each has one stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// ENOENT, ESRCH: it does not exist (any more). Callers decide whether
    /// that is absence (an exited task) or an error.
    Gone,
    /// EACCES, EPERM.
    Denied,
    /// A FIFO, socket, device or directory where a file was expected.
    NotRegularFile,
    /// The file holds more than the caller's bound for it.
    TooLarge,
    /// ELOOP: too many symlinks, or a symlink where none may be.
    Loop,
    /// Anything else (EIO, ENOMEM, ENOTDIR...).
    Other,
}

impl Failure {
    /// The stable code of this failure, in errors and warnings alike.
    pub(crate) fn code(self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            Failure::Gone => ErrorCode::MissingFile,
            Failure::Denied => ErrorCode::PermissionDenied,
            Failure::NotRegularFile => ErrorCode::NotRegularFile,
            Failure::TooLarge => ErrorCode::TooLarge,
            Failure::Loop => ErrorCode::SymlinkLoop,
            Failure::Other => ErrorCode::ReadFailed,
        }
    }
}

/// Why a file under the root could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The system call failed.
    Io(io::Error),
    /// Not a regular file; the name of what it is (`fifo`, `socket`...).
    NotRegular(&'static str),
    /// The file is larger than the limit, which is given.
    TooLarge(usize),
}

impl ReadError {
    /// How the failure is reported.
    pub fn failure(&self) -> Failure {
        match self {
            ReadError::Io(e) => classify(e),
            ReadError::NotRegular(_) => Failure::NotRegularFile,
            ReadError::TooLarge(_) => Failure::TooLarge,
        }
    }

    pub(crate) fn is_gone(&self) -> bool {
        self.failure() == Failure::Gone
    }

    /// The program's error for this failure at `path`.
    pub(crate) fn into_error(self, path: &Path) -> crate::Error {
        use crate::Error;
        let path = path.to_path_buf();
        match self {
            ReadError::Io(source) => Error::Read { path, source },
            ReadError::NotRegular(file_type) => Error::NotRegularFile { path, file_type },
            ReadError::TooLarge(limit) => Error::TooLarge { path, limit: limit as u64 },
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<Errno> for ReadError {
    fn from(e: Errno) -> Self {
        ReadError::Io(e.into())
    }
}

/// The classification of an OS error; the only place errnos are mapped.
pub(crate) fn classify(err: &io::Error) -> Failure {
    match err.raw_os_error() {
        Some(libc::ENOENT | libc::ESRCH) => Failure::Gone,
        Some(libc::EACCES | libc::EPERM) => Failure::Denied,
        Some(libc::ELOOP) => Failure::Loop,
        Some(libc::EISDIR | libc::ENXIO) => Failure::NotRegularFile,
        _ if err.kind() == io::ErrorKind::NotFound => Failure::Gone,
        _ if err.kind() == io::ErrorKind::PermissionDenied => Failure::Denied,
        _ => Failure::Other,
    }
}

/// A file's bytes, at most the caller's limit of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// What was read.
    pub bytes: Vec<u8>,
    /// The file held more than the limit; `bytes` is its beginning.
    pub truncated: bool,
}

/// How paths are resolved: chosen once per process (openat2 where the
/// kernel has it), or forced for tests and the fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`.
    Openat2,
    /// A no-follow walk, one component at a time.
    Walk,
}

static OPENAT2: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 works, 2 missing

/// A directory held open; the root itself or one inside it.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    /// For messages: the root's path joined with the names walked.
    path: PathBuf,
    resolver: Option<Resolver>,
}

impl Dir {
    /// Opens the root (following symlinks: the root is the caller's choice,
    /// everything below it is not).
    pub fn open_root(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(Dir { fd, path: path.to_path_buf(), resolver: None })
    }

    /// The same, with a fixed resolver (tests, fuzzing).
    pub fn open_root_with(path: &Path, resolver: Resolver) -> io::Result<Dir> {
        Ok(Dir { resolver: Some(resolver), ..Dir::open_root(path)? })
    }

    /// The path for messages: where this directory is, seen from outside.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// `rel` under this directory, for messages.
    pub(crate) fn display(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }

    /// Opens a directory below this one.
    pub(crate) fn dir(&self, rel: impl AsRef<Path>) -> Result<Dir, ReadError> {
        let rel = rel.as_ref();
        let fd = self.resolve(rel, OFlags::RDONLY | OFlags::DIRECTORY)?;
        Ok(Dir { fd, path: self.path.join(rel), resolver: self.resolver })
    }

    /// Opens a file below this one for reading, non-blocking, refusing what
    /// `accept` does not allow before anything is read.
    pub fn open_file(&self, rel: impl AsRef<Path>, accept: Accept) -> Result<File, ReadError> {
        let fd = self.resolve(rel.as_ref(), OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY)?;
        let kind = FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode);
        match (kind, accept) {
            (FileType::RegularFile, _) | (FileType::CharacterDevice, Accept::CharDevice) => Ok(File::from(fd)),
            (other, _) => Err(ReadError::NotRegular(type_name(other))),
        }
    }

    /// Reads at most `limit` bytes of a regular file below this one.
    pub fn read(&self, rel: impl AsRef<Path>, limit: usize) -> Result<Contents, ReadError> {
        let file = self.open_file(rel, Accept::Regular)?;
        read_bounded(file, limit)
    }

    /// Like [`Dir::read`], but a file over the limit is an error.
    pub fn read_whole(&self, rel: impl AsRef<Path>, limit: usize) -> Result<Vec<u8>, ReadError> {
        let contents = self.read(rel, limit)?;
        if contents.truncated {
            return Err(ReadError::TooLarge(limit));
        }
        Ok(contents.bytes)
    }

    /// Reads a small regular file into `buf` (no allocation: the per-thread
    /// hot path); a file that does not fit is [`ReadError::TooLarge`]. A
    /// short read is the end: regular files (and procfs/sysfs attributes)
    /// return less than asked only there, which saves a read per thread.
    pub fn read_into(&self, rel: impl AsRef<Path>, buf: &mut [u8]) -> Result<usize, ReadError> {
        let mut file = self.open_file(rel, Accept::Regular)?;
        let len = file.read(buf)?;
        if len == buf.len() && file.read(&mut [0u8; 1])? != 0 {
            return Err(ReadError::TooLarge(buf.len()));
        }
        Ok(len)
    }

    /// The entries of this directory (without `.` and `..`), with their
    /// type where the filesystem tells it (`None` when unknown).
    pub(crate) fn entries(&self) -> Result<Vec<(OsString, Option<FileType>)>, ReadError> {
        let mut entries = Vec::new();
        self.for_each_entry(|name, kind| entries.push((name.to_os_string(), kind)))?;
        Ok(entries)
    }

    /// Calls `f` for every entry without collecting them (the task scan
    /// lists a hundred thousand entries and keeps none).
    pub(crate) fn for_each_entry(&self, mut f: impl FnMut(&OsStr, Option<FileType>)) -> Result<(), ReadError> {
        let dir = rustix::fs::Dir::new(rustix::io::dup(&self.fd)?)?;
        for entry in dir {
            let entry = entry?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::Unknown => None,
                kind => Some(kind),
            };
            f(name, kind);
        }
        Ok(())
    }

    /// Subdirectory names, sorted; entries of unknown type are stat'ed
    /// (without following symlinks).
    pub(crate) fn subdirs(&self) -> Result<Vec<OsString>, ReadError> {
        let mut names = Vec::new();
        for (name, kind) in self.entries()? {
            let kind = match kind {
                Some(kind) => kind,
                None => match rustix::fs::statat(&self.fd, name.as_os_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(e.into()),
                },
            };
            if kind == FileType::Directory {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Creates the directory `name` here if it is missing, and opens it
    /// (a symlink at `name` is resolved inside the root, never outside).
    pub(crate) fn create_dir(&self, name: &str) -> Result<Dir, ReadError> {
        match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => self.dir(name),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens `name` in this directory for writing, creating it (mode 0644)
    /// when missing: never through a symlink (`O_NOFOLLOW`: its target is
    /// never created), never blocking (a FIFO), only a regular file.
    pub(crate) fn create_file(&self, name: &str) -> Result<File, ReadError> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = rustix::fs::openat(&self.fd, name, flags | OFlags::CLOEXEC, Mode::from_raw_mode(0o644))?;
        match FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) {
            FileType::RegularFile => Ok(File::from(fd)),
            other => Err(ReadError::NotRegular(type_name(other))),
        }
    }

    /// Whether `rel` exists below this directory (symlinks resolved in the root).
    pub(crate) fn exists(&self, rel: impl AsRef<Path>) -> bool {
        self.resolve(rel.as_ref(), OFlags::PATH).is_ok()
    }

    fn resolver(&self) -> Resolver {
        if let Some(resolver) = self.resolver {
            return resolver;
        }
        match OPENAT2.load(Ordering::Relaxed) {
            2 => Resolver::Walk,
            _ => Resolver::Openat2,
        }
    }

    fn resolve(&self, rel: &Path, flags: OFlags) -> Result<OwnedFd, ReadError> {
        let flags = flags | OFlags::CLOEXEC;
        if self.resolver() == Resolver::Openat2 {
            let how = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
            match rustix::fs::openat2(&self.fd, rel, flags, Mode::empty(), how) {
                Ok(fd) => {
                    OPENAT2.store(1, Ordering::Relaxed);
                    return Ok(fd);
                }
                // Before 5.6, or filtered by a seccomp policy: walk instead.
                Err(Errno::NOSYS) if self.resolver.is_none() => OPENAT2.store(2, Ordering::Relaxed),
                Err(Errno::PERM) if self.resolver.is_none() && OPENAT2.load(Ordering::Relaxed) == 0 => {
                    OPENAT2.store(2, Ordering::Relaxed)
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(walk(self.fd.as_fd(), rel, flags)?)
    }
}

/// The kernel's limit on symlinks in one resolution (MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// Resolves `rel` under `root` as `RESOLVE_IN_ROOT` does, without openat2:
/// every component is opened with `O_NOFOLLOW`, every symlink is read and
/// resolved here, `..` never climbs above `root`, and an absolute target
/// starts again at `root`. Magic links read as paths (`pipe:[1]`,
/// `/etc/shadow`) and are resolved as such, inside the root.
pub(crate) fn walk(root: BorrowedFd<'_>, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    let bytes = rel.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(Errno::NOENT.into()); // as openat2
    }
    // A trailing slash (or `/.`) asks for a directory, as in openat2.
    let flags = if bytes.ends_with(b"/") || bytes.ends_with(b"/.") || bytes == b"." {
        flags | OFlags::DIRECTORY
    } else {
        flags
    };
    let mut stack: Vec<OwnedFd> = Vec::new(); // directories below root
    let mut pending: Vec<OsString> = components(bytes).collect();
    pending.reverse(); // a stack: the next component is last
    let mut links = 0;
    while let Some(name) = pending.pop() {
        let current = stack.last().map_or(root, |fd| fd.as_fd());
        if name == ".." {
            stack.pop();
            continue;
        }
        let last = pending.is_empty();
        let attempt = if last {
            rustix::fs::openat(current, name.as_os_str(), flags | OFlags::NOFOLLOW, Mode::empty())
        } else {
            rustix::fs::openat(
                current,
                name.as_os_str(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
        };
        // O_PATH | O_NOFOLLOW opens a final symlink itself: resolve it too.
        let attempt = match attempt {
            Ok(fd) if last && flags.contains(OFlags::PATH) && is_symlink(&fd) => Err(Errno::LOOP),
            other => other,
        };
        match attempt {
            Ok(fd) if last => return Ok(fd),
            Ok(fd) => stack.push(fd),
            // ELOOP (final, O_NOFOLLOW), ENOTDIR (O_DIRECTORY) or, for O_PATH
            // on a symlink with O_NOFOLLOW, success never: a symlink, maybe.
            Err(e @ (Errno::LOOP | Errno::NOTDIR)) => {
                let Ok(target) = rustix::fs::readlinkat(current, name.as_os_str(), Vec::new()) else {
                    return Err(e.into());
                };
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::LOOP.into());
                }
                let target = target.into_bytes();
                if target.first() == Some(&b'/') {
                    stack.clear();
                }
                let mut parts: Vec<OsString> = components(&target).collect();
                parts.reverse();
                pending.extend(parts);
            }
            Err(e) => return Err(e.into()),
        }
    }
    // The path named a directory (or was empty): open what we are at.
    let current = stack.last().map_or(root, |fd| fd.as_fd());
    Ok(rustix::fs::openat(current, ".", flags, Mode::empty())?)
}

fn is_symlink(fd: &OwnedFd) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Symlink)
}

fn components(path: &[u8]) -> impl Iterator<Item = OsString> + '_ {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").map(|c| OsString::from_vec(c.to_vec()))
}

/// Reads at most `limit` bytes; one more byte is tried to tell whether the
/// file held more. Never trusts `st_size` (procfs and sysfs say 0 or 4096).
pub(crate) fn read_bounded(file: File, limit: usize) -> Result<Contents, ReadError> {
    let mut bytes = Vec::with_capacity(limit.min(4096));
    let read = file.take(limit as u64 + 1).read_to_end(&mut bytes);
    match read {
        Ok(_) => {}
        // A character device with no more records (O_NONBLOCK).
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e.into()),
    }
    let truncated = bytes.len() > limit;
    bytes.truncate(limit);
    Ok(Contents { bytes, truncated })
}

/// Reads a record device (`/dev/kmsg`: one record per `read`) opened with
/// [`Accept::CharDevice`]: at most `max_records` records of at most
/// `record_max` bytes each, until the device has no more (EAGAIN: it was
/// opened non-blocking, so this never waits) or `f` returns false. EPIPE
/// (records overwritten while reading) skips on, as the kernel documents.
pub fn read_records(
    file: &mut File,
    record_max: usize,
    max_records: usize,
    mut f: impl FnMut(&[u8]) -> bool,
) -> Result<usize, ReadError> {
    let mut buf = vec![0u8; record_max];
    let mut records = 0;
    while records < max_records {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                records += 1;
                if !f(&buf[..n]) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(records)
}

fn type_name(kind: FileType) -> &'static str {
    match kind {
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        _ => "unknown",
    }
}

/// A pid or tid from a directory name, only in the kernel's canonical
/// decimal form: `0100` or `+1` are not names the kernel makes.
pub(crate) fn canonical_id(name: &OsStr) -> Option<i32> {
    let bytes = name.as_bytes();
    let canonical = match bytes {
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical_decimal_only() {
        for (name, id) in [("1", Some(1)), ("100", Some(100)), ("2147483647", Some(i32::MAX))] {
            assert_eq!(canonical_id(OsStr::new(name)), id, "{name}");
        }
        for bad in ["0", "0100", "+1", "-1", "1a", "", " 1", "2147483648", "١"] {
            assert_eq!(canonical_id(OsStr::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn errors_are_classified_once() {
        let of = |errno| classify(&io::Error::from_raw_os_error(errno));
        assert_eq!(of(libc::ENOENT), Failure::Gone);
        assert_eq!(of(libc::ESRCH), Failure::Gone);
        assert_eq!(of(libc::EACCES), Failure::Denied);
        assert_eq!(of(libc::EPERM), Failure::Denied);
        assert_eq!(of(libc::ELOOP), Failure::Loop);
        assert_eq!(of(libc::EISDIR), Failure::NotRegularFile);
        assert_eq!(of(libc::ENOMEM), Failure::Other);
        assert_eq!(of(libc::EIO), Failure::Other);
    }
}
