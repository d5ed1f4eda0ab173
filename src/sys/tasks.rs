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

use super::fs::{canonical_id, Dir, Failure, ReadError};
use super::stack::{self, CulpritIndex};
use super::{limits, malformed, SysRoot};
use crate::error::{Error, ErrorCode, Result};
use crate::report::{BlockingThread, ThreadScan, Verbose, Warning, WarningCode};
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
}

/// What went wrong where, in the order the warnings are reported.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Trouble {
    /// A thread's `patch_state` could not be read: the scan is incomplete.
    PatchState(FailureKey),
    /// `patch_state` missing in a task directory that exists.
    PatchStateMissing,
    /// `stat`, `stack` or `cmdline` of a blocker could not be read.
    Details(FailureKey),
    /// A blocker's `stat` is not in the kernel's format.
    StatMalformed,
    /// A blocker's `stack` or `cmdline` held more than klp reads.
    Truncated,
    /// Directories under proc with numeric but non-canonical names (`0100`).
    NonCanonical,
}

/// [`Failure`] with an order, for the report's warning order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FailureKey(u8);

impl FailureKey {
    fn of(failure: Failure) -> Self {
        FailureKey(failure as u8)
    }
    fn failure(self) -> Failure {
        [Failure::Gone, Failure::Denied, Failure::NotRegularFile, Failure::TooLarge, Failure::Loop, Failure::Other]
            [usize::from(self.0)]
    }
}

#[derive(Default)]
struct Tallies(std::collections::BTreeMap<Trouble, Tally>);

impl Tallies {
    fn add(&mut self, trouble: Trouble, path: &Path) {
        self.0.entry(trouble).or_default().add(path);
    }

    fn count(&self, pick: impl Fn(&Trouble) -> bool) -> u64 {
        self.0.iter().filter(|(t, _)| pick(t)).map(|(_, tally)| tally.count).sum()
    }

    fn warnings(self) -> Vec<Warning> {
        self.0
            .into_iter()
            .map(|(trouble, tally)| {
                let (code, message) = match trouble {
                    Trouble::PatchState(key) => (
                        WarningCode::Error(key.failure().code()),
                        format!(
                            "patch_state of some threads could not be read{}; blockers among them are not listed",
                            reason(key.failure())
                        ),
                    ),
                    Trouble::PatchStateMissing => (
                        WarningCode::Error(ErrorCode::ReadFailed),
                        "patch_state is missing for some existing threads (is this proc from a kernel without live \
                         patching?); blockers among them are not listed"
                            .to_string(),
                    ),
                    Trouble::Details(key) => (
                        WarningCode::Error(key.failure().code()),
                        format!(
                            "details (stat, stack, cmdline) of some blocking threads could not be read{}",
                            reason(key.failure())
                        ),
                    ),
                    Trouble::StatMalformed => (
                        WarningCode::Error(ErrorCode::ReadFailed),
                        "stat of some blocking threads is not in the kernel's format; their comm and state are unknown"
                            .to_string(),
                    ),
                    Trouble::Truncated => (
                        WarningCode::Truncated,
                        "the stack or command line of some blocking threads is longer than klp reads; it is cut"
                            .to_string(),
                    ),
                    Trouble::NonCanonical => (
                        WarningCode::IgnoredEntries,
                        "entries under proc with names that are not canonical pids or tids (leading zeros) \
                         are not tasks the kernel made; ignored"
                            .to_string(),
                    ),
                };
                Warning { code, message, path: tally.example.map(|p| p.display().to_string()), count: tally.count }
            })
            .collect()
    }
}

fn reason(failure: Failure) -> &'static str {
    match failure {
        Failure::Denied => " (root is needed)",
        Failure::NotRegularFile => " (not a regular file)",
        Failure::TooLarge => " (larger than the kernel writes)",
        Failure::Loop => " (a symlink loop)",
        Failure::Gone => " (missing)",
        Failure::Other => "",
    }
}

/// A name that is all digits but not canonical: worth a warning.
fn non_canonical(name: &std::ffi::OsStr) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let bytes = name.as_bytes();
    !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) && canonical_id(name).is_none()
}

/// The blocking threads and the counts, with a warning for each kind of
/// file that could not be read.
pub(crate) fn scan(sys: &SysRoot, opts: &ScanOptions) -> Result<(ThreadScan, Vec<Warning>)> {
    let proc_dir = sys.fs().dir("proc").map_err(|e| e.into_error(&sys.proc_dir()))?;
    let mut result = ThreadScan::default();
    let mut tallies = Tallies::default();

    let mut pids: Vec<i32> = Vec::new();
    proc_dir
        .for_each_entry(|name, _| match canonical_id(name) {
            Some(pid) => pids.push(pid),
            None if non_canonical(name) => tallies.add(Trouble::NonCanonical, &proc_dir.display(name)),
            None => {}
        })
        .map_err(|e| e.into_error(proc_dir.path()))?;

    let mut buf = [0u8; 16];
    let mut tids: Vec<i32> = Vec::new();
    let mut name = String::new();
    for pid in pids {
        let tasks = match proc_dir.dir(format!("{pid}/task")) {
            Ok(tasks) => tasks,
            Err(e) if e.is_gone() => continue,
            Err(e) => {
                tallies.add(Trouble::PatchState(FailureKey::of(e.failure())), &proc_dir.display(format!("{pid}/task")));
                continue;
            }
        };
        tids.clear();
        let listed = tasks.for_each_entry(|name, _| match canonical_id(name) {
            Some(tid) => tids.push(tid),
            None if non_canonical(name) => tallies.add(Trouble::NonCanonical, &tasks.display(name)),
            None => {}
        });
        if listed.is_err() {
            // The process exited while its task list was read.
            result.threads_vanished += 1;
            continue;
        }
        for &tid in &tids {
            use std::fmt::Write;
            name.clear();
            write!(name, "{tid}/patch_state").expect("a String takes any write");
            match tasks.read_into(&name, &mut buf) {
                Ok(len) => {
                    result.threads_scanned += 1;
                    let state = parse_patch_state(&tasks.display(&name), &buf[..len])?;
                    if state >= 0 && state as u8 != opts.target {
                        match describe(&tasks, tid, pid, opts, &mut tallies)? {
                            Some(thread) => result.threads.push(thread),
                            None => result.threads_vanished += 1,
                        }
                    }
                }
                Err(ReadError::TooLarge(limit)) => {
                    return Err(Error::TooLarge { path: tasks.display(&name), limit: limit as u64 })
                }
                // Every task has patch_state on a kernel with live patching:
                // if the task is still there, this proc lacks it (a --root
                // mixing kernels), and the task must not pass for one that
                // exited.
                Err(e) if e.is_gone() && tasks.exists(tid.to_string()) => {
                    tallies.add(Trouble::PatchStateMissing, &tasks.display(&name))
                }
                Err(e) if e.is_gone() => result.threads_vanished += 1,
                Err(e) => tallies.add(Trouble::PatchState(FailureKey::of(e.failure())), &tasks.display(&name)),
            }
        }
    }

    result.threads.sort_unstable_by_key(|t| (t.pid, t.tid));
    result.threads_unreadable = tallies.count(|t| matches!(t, Trouble::PatchState(_) | Trouble::PatchStateMissing));
    Ok((result, tallies.warnings()))
}

/// Reads the details of one blocking thread from its own task directory,
/// held open, after reading its `patch_state` again from there (the name
/// may have been reused meanwhile); `None` if it exited or no longer blocks.
fn describe(
    tasks: &Dir,
    tid: i32,
    pid: i32,
    opts: &ScanOptions,
    tallies: &mut Tallies,
) -> Result<Option<BlockingThread>> {
    let task = match tasks.dir(tid.to_string()) {
        Ok(task) => task,
        Err(e) if e.is_gone() => return Ok(None),
        Err(e) => {
            tallies.add(Trouble::Details(FailureKey::of(e.failure())), &tasks.display(tid.to_string()));
            return Ok(None);
        }
    };
    let mut buf = [0u8; 16];
    let patch_state = match task.read_into("patch_state", &mut buf) {
        Ok(len) => parse_patch_state(&task.display("patch_state"), &buf[..len])?,
        Err(e) if e.is_gone() => return Ok(None),
        Err(e) => return Err(e.into_error(&task.display("patch_state"))),
    };
    if patch_state < 0 || patch_state as u8 == opts.target {
        return Ok(None);
    }

    // A detail file gone while its task directory is still listed is not
    // an exited task (a hostile root cannot hide a blocker that way).
    let exited = || !tasks.exists(tid.to_string());

    let (comm, kernel_thread, state) = match task.read("stat", limits::STAT) {
        Ok(stat) => match parse_stat(&stat.bytes).filter(|_| !stat.truncated) {
            Some(stat) => (Some(stat.comm), Some(stat.flags & PF_KTHREAD != 0), Some(stat.state.to_string())),
            None => {
                tallies.add(Trouble::StatMalformed, &task.display("stat"));
                (None, None, None)
            }
        },
        Err(e) if e.is_gone() && exited() => return Ok(None),
        Err(e) => {
            tallies.add(Trouble::Details(FailureKey::of(e.failure())), &task.display("stat"));
            (None, None, None)
        }
    };

    let stack_text = match task.read("stack", limits::STACK) {
        Ok(mut stack) => {
            if stack.truncated {
                tallies.add(Trouble::Truncated, &task.display("stack"));
                // Keep whole lines only: a cut frame is no frame.
                let end = stack.bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                stack.bytes.truncate(end);
            }
            Some(String::from_utf8_lossy(&stack.bytes).into_owned())
        }
        Err(e) if e.is_gone() && exited() => return Ok(None),
        Err(e) => {
            tallies.add(Trouble::Details(FailureKey::of(e.failure())), &task.display("stack"));
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
        match task.read("cmdline", limits::CMDLINE) {
            Ok(cmdline) => {
                if cmdline.truncated {
                    tallies.add(Trouble::Truncated, &task.display("cmdline"));
                }
                Verbose::Known(split_cmdline(&cmdline.bytes))
            }
            Err(e) if e.is_gone() && exited() => return Ok(None),
            // Unreadable is not "a kernel thread": null, and said so.
            Err(e) => {
                tallies.add(Trouble::Details(FailureKey::of(e.failure())), &task.display("cmdline"));
                Verbose::Known(None)
            }
        }
    };
    let stack = if opts.with_stack { Verbose::Known(frames) } else { Verbose::Absent };

    Ok(Some(BlockingThread { pid, tid, comm, kernel_thread, state, patch_state, culprits, cmdline, stack }))
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
/// from non-root), from `<root>/proc/self/mountinfo`; an error when that
/// cannot be read or is cut, as "no hidepid" would then be a guess.
pub(crate) fn proc_hides_pids(sys: &SysRoot) -> std::result::Result<bool, (Failure, PathBuf)> {
    const MOUNTINFO: &str = "proc/self/mountinfo";
    let path = sys.fs().display(MOUNTINFO);
    let text = match sys.fs().read(MOUNTINFO, limits::MOUNTINFO) {
        Ok(contents) if contents.truncated => return Err((Failure::TooLarge, path)),
        Ok(contents) => String::from_utf8_lossy(&contents.bytes).into_owned(),
        // A proc without mountinfo (a fixture tree) has no mount options.
        Err(e) if e.is_gone() => return Ok(false),
        Err(e) => return Err((e.failure(), path)),
    };
    // The mount that serves <root>/proc, wherever that is (`--root` may
    // hold its own proc mount); mountinfo escapes blanks and backslashes
    // in mount points as octal.
    let proc_dir = sys.proc_dir();
    let mount_point = std::fs::canonicalize(&proc_dir).unwrap_or(proc_dir);
    let mut escaped = String::new();
    for c in mount_point.to_string_lossy().chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => escaped.push_str(&format!("\\{:03o}", c as u32)),
            c => escaped.push(c),
        }
    }
    Ok(mountinfo_hides_pids(&text, &escaped))
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
