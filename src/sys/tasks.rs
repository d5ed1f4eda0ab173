//! The per-task scan behind `blocking`.
//!
//! A thread blocks the transition iff its `patch_state` is >= 0 and differs
//! from the target state. The scan walks `/proc/*/task/*` (the leader's
//! `/proc/<pid>/patch_state` hides the other threads) in one pass, reading
//! only `patch_state` for every thread into a stack buffer, so its memory
//! does not grow with the number of non-blocking threads. Only blockers get
//! their `stat`, `cmdline` and `stack` read.
//!
//! Threads exit while we scan: ENOENT/ESRCH anywhere means "gone" and the
//! thread is skipped and counted. EACCES/EPERM (not root, `hidepid`) is
//! counted as unreadable, which makes the result incomplete: the caller must
//! never present an incomplete scan as "nothing blocks".

use super::stack::{self, CulpritIndex};
use super::{malformed, SysRoot};
use crate::error::{is_gone, is_permission_denied, Error, ErrorCode, Result};
use crate::report::{BlockingThread, ThreadScan, Verbose, Warning, WarningCode};
use std::io::Read;
use std::path::{Path, PathBuf};

pub(crate) struct ScanOptions {
    /// The `patch_state` every task must reach.
    pub(crate) target: u8,
    pub(crate) with_cmdline: bool,
    pub(crate) with_stack: bool,
    /// The transitioning patch's functions, for the culprit search.
    pub(crate) culprits: CulpritIndex,
}

/// Counts of one kind of trouble, and one example path.
#[derive(Default)]
struct Tally {
    count: u64,
    example: Option<PathBuf>,
}

impl Tally {
    fn add(&mut self, path: &Path) {
        self.count += 1;
        if self.example.is_none() {
            self.example = Some(path.to_path_buf());
        }
    }
    fn warning(self, code: ErrorCode, message: String) -> Option<Warning> {
        (self.count > 0).then(|| Warning {
            code: WarningCode::Error(code),
            message,
            path: self.example.map(|p| p.display().to_string()),
            count: self.count,
        })
    }
}

/// The blocking threads and the counts, with a warning for each kind of
/// file that could not be read.
pub(crate) fn scan(sys: &SysRoot, opts: &ScanOptions) -> Result<(ThreadScan, Vec<Warning>)> {
    let proc_dir = sys.proc_dir();
    let mut result = ThreadScan::default();
    let mut warnings = Vec::new();
    let mut denied = Tally::default();
    let mut failed = Tally::default();
    let mut missing = Tally::default();
    let mut detail_denied = Tally::default();
    let mut detail_malformed = Tally::default();

    let entries = std::fs::read_dir(&proc_dir).map_err(|e| Error::read(&proc_dir, e))?;
    let mut path = proc_dir.clone();
    let mut buf = [0u8; 16];
    let mut blockers: Vec<(i32, i32, i8)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::read(&proc_dir, e))?;
        let Some(pid) = numeric_name(&entry.file_name()) else { continue };
        path.push(entry.file_name());
        path.push("task");
        match std::fs::read_dir(&path) {
            Ok(tasks) => {
                for task in tasks {
                    let Ok(task) = task else {
                        // The process exited while its task list was read.
                        result.threads_vanished += 1;
                        break;
                    };
                    let Some(tid) = numeric_name(&task.file_name()) else { continue };
                    path.push(task.file_name());
                    path.push("patch_state");
                    match read_into(&path, &mut buf) {
                        Ok(len) => {
                            result.threads_scanned += 1;
                            let state = parse_patch_state(&path, &buf[..len])?;
                            if state >= 0 && state as u8 != opts.target {
                                blockers.push((pid, tid, state));
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            // Every task has patch_state on a kernel with live
                            // patching: if the task is still there, this proc
                            // lacks it (a --root mixing kernels), and the task
                            // must not pass for one that exited.
                            path.pop();
                            if path.exists() {
                                missing.add(&path.join("patch_state"));
                            } else {
                                result.threads_vanished += 1;
                            }
                            path.push("patch_state");
                        }
                        Err(e) if is_gone(&e) => result.threads_vanished += 1,
                        Err(e) if is_permission_denied(&e) => denied.add(&path),
                        Err(_) => failed.add(&path),
                    }
                    path.pop();
                    path.pop();
                }
            }
            Err(e) if is_gone(&e) => result.threads_vanished += 1,
            Err(e) if is_permission_denied(&e) => denied.add(&path),
            Err(_) => failed.add(&path),
        }
        path.pop();
        path.pop();
    }

    blockers.sort_unstable();
    for (pid, tid, patch_state) in blockers {
        match describe(&proc_dir, pid, tid, patch_state, opts, &mut detail_denied, &mut detail_malformed) {
            Some(thread) => result.threads.push(thread),
            None => result.threads_vanished += 1,
        }
    }

    result.threads_unreadable = denied.count + failed.count + missing.count;
    let tallies = [
        (
            denied,
            ErrorCode::PermissionDenied,
            "patch_state of some threads could not be read (root is needed); blockers among them are not listed",
        ),
        (
            failed,
            ErrorCode::ReadFailed,
            "patch_state of some threads could not be read; blockers among them are not listed",
        ),
        (
            missing,
            ErrorCode::ReadFailed,
            "patch_state is missing for some existing threads (is this proc from a kernel without live patching?); \
             blockers among them are not listed",
        ),
        (
            detail_denied,
            ErrorCode::PermissionDenied,
            "details (stat, stack) of some blocking threads could not be read",
        ),
        (
            detail_malformed,
            ErrorCode::ReadFailed,
            "stat of some blocking threads is not in the kernel's format; their comm and state are unknown",
        ),
    ];
    for (tally, code, message) in tallies {
        warnings.extend(tally.warning(code, message.to_string()));
    }
    Ok((result, warnings))
}

/// Reads the details of one blocking thread; `None` if it exited meanwhile.
fn describe(
    proc_dir: &Path,
    pid: i32,
    tid: i32,
    patch_state: i8,
    opts: &ScanOptions,
    denied: &mut Tally,
    malformed: &mut Tally,
) -> Option<BlockingThread> {
    let task_dir = proc_dir.join(pid.to_string()).join("task").join(tid.to_string());
    let stat_path = task_dir.join("stat");
    let (comm, kernel_thread, state) = match std::fs::read(&stat_path) {
        Ok(bytes) => match parse_stat(&bytes) {
            Some(stat) => (Some(stat.comm), Some(stat.flags & PF_KTHREAD != 0), Some(stat.state.to_string())),
            None => {
                malformed.add(&stat_path);
                (None, None, None)
            }
        },
        Err(e) if is_gone(&e) => return None,
        Err(_) => {
            denied.add(&stat_path);
            (None, None, None)
        }
    };

    let stack_text = match std::fs::read(task_dir.join("stack")) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if is_gone(&e) => return None,
        Err(_) => {
            denied.add(&task_dir.join("stack"));
            None
        }
    };
    // A sleeping or preempted task always has frames; none means the kernel
    // showed no stack (the task runs on another CPU): unknown, not "no culprit".
    let frames = stack_text.as_deref().map(stack::parse_stack).filter(|frames| !frames.is_empty());
    let culprits = frames.as_deref().map(|f| opts.culprits.find(f));

    let cmdline = if !opts.with_cmdline {
        Verbose::Absent
    } else if kernel_thread == Some(true) {
        Verbose::Known(None)
    } else {
        match std::fs::read(task_dir.join("cmdline")) {
            Ok(bytes) => Verbose::Known(split_cmdline(&bytes)),
            Err(e) if is_gone(&e) => return None,
            Err(_) => Verbose::Known(None),
        }
    };
    let stack = if opts.with_stack { Verbose::Known(frames) } else { Verbose::Absent };

    Some(BlockingThread { pid, tid, comm, kernel_thread, state, patch_state, culprits, cmdline, stack })
}

/// The fields of `/proc/<pid>/task/<tid>/stat` that klp reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStat {
    /// Field 2, between the first `(` and the last `)`.
    pub comm: String,
    /// Field 3, the scheduler state letter.
    pub state: char,
    /// Field 9, `PF_*` flags.
    pub flags: u32,
}

/// Parses `pid (comm) state ppid pgrp session tty_nr tpgid flags ...`.
///
/// Our own parser rather than the procfs crate's: procfs-core slices the
/// line at fixed offsets and panics on a short or reordered one (`5 (x)`),
/// and under `--root` these files are input that must never crash a scan.
/// Only three fields are needed, and the fuzz target `task_stat` covers it.
/// `comm` may hold spaces, parentheses and non-UTF-8 bytes, so it runs from
/// the first `(` to the last `)`. `None` for anything else: a root's files
/// are input, and a malformed one must not crash the scan.
pub fn parse_stat(bytes: &[u8]) -> Option<TaskStat> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    if close < open || open < 2 || bytes[open - 1] != b' ' || !bytes[..open - 1].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let comm = String::from_utf8_lossy(&bytes[open + 1..close]).into_owned();
    let rest = std::str::from_utf8(bytes[close + 1..].strip_prefix(b" ")?).ok()?;
    let mut fields = rest.split(' ');
    let state = match fields.next()?.as_bytes() {
        &[c] if c.is_ascii_alphabetic() => char::from(c),
        _ => return None,
    };
    // ppid, pgrp, session, tty_nr, tpgid, then flags.
    let flags = fields.nth(5)?.parse().ok()?;
    Some(TaskStat { comm, state, flags })
}

/// PF_KTHREAD in a task's `stat` flags (include/linux/sched.h).
const PF_KTHREAD: u32 = 0x0020_0000;

/// NUL-separated arguments; `None` when empty (kernel threads, zombies).
pub fn split_cmdline(bytes: &[u8]) -> Option<Vec<String>> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return None;
    }
    Some(bytes.split(|&b| b == 0).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect())
}

fn numeric_name(name: &std::ffi::OsStr) -> Option<i32> {
    let name = name.to_str()?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Reads a small file into `buf`, returning how much was read.
fn read_into(path: &Path, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut file = std::fs::File::open(path)?;
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..])? {
            0 => break,
            n => len += n,
        }
    }
    Ok(len)
}

/// `-1`, `0` or `1`, with an optional newline.
pub fn parse_patch_state(path: &Path, bytes: &[u8]) -> Result<i8> {
    match bytes {
        b"-1\n" | b"-1" => Ok(-1),
        b"0\n" | b"0" => Ok(0),
        b"1\n" | b"1" => Ok(1),
        _ => Err(malformed(path, &String::from_utf8_lossy(bytes), "-1, 0 or 1")),
    }
}

/// Whether `/proc` is mounted with `hidepid` (other users' processes hidden
/// from non-root), from `<root>/proc/self/mountinfo`.
pub(crate) fn proc_hides_pids(sys: &SysRoot) -> bool {
    let proc_dir = sys.proc_dir();
    let Ok(text) = std::fs::read_to_string(proc_dir.join("self/mountinfo")) else { return false };
    // The mount that serves <root>/proc, wherever that is (`--root` may
    // hold its own proc mount); mountinfo escapes blanks and backslashes
    // in mount points as octal.
    let mount_point = std::fs::canonicalize(&proc_dir).unwrap_or(proc_dir);
    let mut escaped = String::new();
    for c in mount_point.to_string_lossy().chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => escaped.push_str(&format!("\\{:03o}", c as u32)),
            c => escaped.push(c),
        }
    }
    mountinfo_hides_pids(&text, &escaped)
}

/// Whether a `proc` mount at `mount_point` in this mountinfo text has a
/// `hidepid` option that hides processes.
pub fn mountinfo_hides_pids(text: &str, mount_point: &str) -> bool {
    text.lines().any(|line| {
        let Some((left, right)) = line.split_once(" - ") else { return false };
        let point = left.split(' ').nth(4);
        let mut right = right.split(' ');
        let fs_type = right.next();
        let super_options = right.nth(1).unwrap_or("");
        point == Some(mount_point)
            && fs_type == Some("proc")
            && super_options.split(',').any(|o| {
                matches!(o, "hidepid=1" | "hidepid=2" | "hidepid=noaccess" | "hidepid=invisible" | "hidepid=ptraceable")
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_state_values() {
        let p = Path::new("/x");
        assert_eq!(parse_patch_state(p, b"-1\n").unwrap(), -1);
        assert_eq!(parse_patch_state(p, b"1\n").unwrap(), 1);
        assert!(parse_patch_state(p, b"2\n").is_err());
        assert!(parse_patch_state(p, b"").is_err());
        assert!(parse_patch_state(p, b" 1\n").is_err());
    }

    #[test]
    fn stat_fields_and_malformed_stat() {
        let stat = parse_stat(b"77 (a) b) (c) D 2 0 0 0 -1 2129984 0 0\n").unwrap();
        assert_eq!(stat, TaskStat { comm: "a) b) (c".into(), state: 'D', flags: 2129984 });
        let odd = parse_stat(b"5 (\xff\xfe) S 1 1 1 0 -1 64 0\n").unwrap();
        assert_eq!(odd.comm, "\u{fffd}\u{fffd}");
        for bad in [
            &b"5 (x)"[..],
            b"(x) S 1 2",
            b") 5 (x S",
            b"5 (x) S 1 2 3",
            b"x5 (y) S 1 2 3 4 5 6",
            b"5 (x) SS 1 2 3 4 5 6",
            b"",
        ] {
            assert_eq!(parse_stat(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn cmdline_splits_on_nul() {
        assert_eq!(split_cmdline(b"sleep\x0010\x00"), Some(vec!["sleep".into(), "10".into()]));
        assert_eq!(split_cmdline(b""), None);
        assert_eq!(split_cmdline(b"a b\x00\xff"), Some(vec!["a b".into(), "\u{fffd}".into()]));
    }
}
