//! The kernel log (`<root>/dev/kmsg`) as a clock and a witness.
//!
//! The kernel keeps no transition start time; its log does: the latest
//! `livepatch: '<p>': starting patching|unpatching transition` record of the
//! patch in transition, against the first field of `<root>/proc/uptime`,
//! gives the transition's age. The log also witnesses `signaling remaining
//! tasks`, reversals, and forced transitions (`forcing remaining tasks ...`,
//! matched by prefix: its tail has changed between kernel versions).
//!
//! Contract:
//! - `dev/kmsg` is a character device on a real host (one record per
//!   `read`, opened non-blocking: the read that would wait ends the scan,
//!   EPIPE means records were overwritten while we read and is skipped) or a
//!   regular file of the same records, one a line, in fixture trees.
//!   Continuation lines (starting with a space) are skipped.
//! - Not readable (non-root with `kernel.dmesg_restrict=1`, absent) or the
//!   start record rotated out of the ring: the age is `None` with the
//!   reason, never a guess.
//! - Bounded: lines longer than [`LINE_LIMIT`] are cut, at most
//!   [`INPUT_LIMIT`] bytes are read (a ring buffer is at most 32 MiB), and
//!   only the facts about one patch plus at most [`FORCED_KEPT`] force
//!   records are kept, whatever the log holds.
//! - Record times are the kernel's local clock in microseconds since boot;
//!   `/proc/uptime` counts from the same boot (it also counts time spent
//!   suspended, which the log clock does not: after a suspend the age reads
//!   low by the time suspended).

use super::SysRoot;
use crate::report::{AgeUnknownReason, Direction, TransitionAge, Warning, WarningCode};
use std::io::{self, BufReader};

/// Longest record line kept (the kernel's records are at most 8 KiB).
pub(crate) const LINE_LIMIT: usize = 16 * 1024;
/// Most bytes read from the log.
pub(crate) const INPUT_LIMIT: u64 = 64 * 1024 * 1024;
/// Most force records kept (the latest ones).
pub(crate) const FORCED_KEPT: usize = 16;

/// What the log says about one patch's latest transition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TransitionRecord {
    pub start_usec: u64,
    pub direction: Direction,
    pub signaled: bool,
    pub reversed: bool,
    /// A `... complete` record of this patch came after the start.
    pub completed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ForcedRecord {
    /// The patch of the latest start record before the force.
    pub patch: Option<String>,
    pub usec: u64,
    pub message: String,
}

/// One scan of the log.
#[derive(Debug, Default)]
pub(crate) struct KernelLog {
    /// Why the log could not be read; None when it was.
    pub error: Option<io::Error>,
    pub records: u64,
    /// Sequence number of the oldest record read.
    pub first_seq: Option<u64>,
    /// The input limit was reached: later records are missing.
    pub truncated: bool,
    /// The latest transition of the patch asked about.
    pub transition: Option<TransitionRecord>,
    pub forced: Vec<ForcedRecord>,
}

impl KernelLog {
    pub(crate) fn readable(&self) -> bool {
        self.error.is_none()
    }

    /// The log still holds the first record since boot, so a marker's
    /// absence means it was never logged.
    pub(crate) fn complete(&self) -> Option<bool> {
        self.readable().then(|| self.first_seq == Some(0) && !self.truncated)
    }
}

/// Reads the log, keeping what concerns `patch` (the one in transition) and
/// the forced transitions.
pub(crate) fn read(sys: &SysRoot, patch: Option<&str>) -> KernelLog {
    let mut log = KernelLog::default();
    let file = match super::open_log_device(sys) {
        Ok(file) => file,
        Err(e) => {
            log.error = Some(e);
            return log;
        }
    };
    let mut reader = BufReader::with_capacity(LINE_LIMIT, io::Read::take(file, INPUT_LIMIT));
    let mut scan = Scan { wanted: patch, last_start: None, log };
    let mut line = Vec::with_capacity(256);
    loop {
        match super::read_capped_line(&mut reader, &mut line, LINE_LIMIT) {
            Ok(0) => break,
            Ok(_) => scan.record(&line),
            // The next record would need a wait: we have read everything.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            // Records were overwritten while we read: the reader moves on.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // A failure before any record (EACCES on read, EINVAL) is
                // "unreadable"; later, what was read stands but is partial.
                if scan.log.records == 0 {
                    scan.log.error = Some(e);
                } else {
                    scan.log.truncated = true;
                }
                break;
            }
        }
    }
    if reader.into_inner().limit() == 0 {
        scan.log.truncated = true;
    }
    scan.log
}

struct Scan<'a> {
    wanted: Option<&'a str>,
    last_start: Option<String>,
    log: KernelLog,
}

impl Scan<'_> {
    fn record(&mut self, line: &[u8]) {
        // Continuation lines (` KEY=value`) belong to the record before.
        if line.first() == Some(&b' ') || line.is_empty() {
            return;
        }
        let Some((seq, usec, text)) = parse_record(line) else { return };
        self.log.records += 1;
        if self.log.first_seq.is_none() {
            self.log.first_seq = Some(seq);
        }
        let Some(message) = text.strip_prefix("livepatch: ") else { return };
        if let Some((patch, event)) = patch_event(message) {
            self.patch_event(patch, event, usec);
        } else if message.starts_with("signaling remaining tasks") {
            if let Some(record) = self.current_wanted() {
                record.signaled = true;
            }
        } else if message.starts_with("forcing remaining tasks") {
            if self.log.forced.len() == FORCED_KEPT {
                self.log.forced.remove(0);
            }
            self.log.forced.push(ForcedRecord {
                patch: self.last_start.clone(),
                usec,
                message: text.chars().take(256).collect(),
            });
        }
    }

    fn patch_event(&mut self, patch: &str, event: &str, usec: u64) {
        let direction = match event {
            "starting patching transition" => Some(Direction::Patching),
            "starting unpatching transition" => Some(Direction::Unpatching),
            _ => None,
        };
        if let Some(direction) = direction {
            self.last_start = Some(patch.chars().take(256).collect());
            if self.wanted == Some(patch) {
                self.log.transition = Some(TransitionRecord {
                    start_usec: usec,
                    direction,
                    signaled: false,
                    reversed: false,
                    completed: false,
                });
            }
            return;
        }
        if self.wanted != Some(patch) {
            return;
        }
        let Some(record) = self.log.transition.as_mut() else { return };
        if event.starts_with("reversing transition") {
            record.reversed = true;
        } else if event == "patching complete" || event == "unpatching complete" {
            record.completed = true;
        }
    }

    /// The wanted patch's transition, if it is the latest one started.
    fn current_wanted(&mut self) -> Option<&mut TransitionRecord> {
        if self.last_start.as_deref().is_some() && self.last_start.as_deref() == self.wanted {
            self.log.transition.as_mut()
        } else {
            None
        }
    }
}

/// `PRIO,SEQ,USEC,FLAGS[,...];text` -> (seq, usec, text).
fn parse_record(line: &[u8]) -> Option<(u64, u64, &str)> {
    let text = std::str::from_utf8(line).ok()?;
    let (header, message) = text.split_once(';')?;
    let mut fields = header.split(',');
    let _prio: u32 = fields.next()?.parse().ok()?;
    let seq = fields.next()?.parse().ok()?;
    let usec = fields.next()?.parse().ok()?;
    Some((seq, usec, message))
}

/// `'<patch>': <event>` -> (patch, event).
fn patch_event(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix('\'')?;
    let (patch, event) = rest.split_once("': ")?;
    Some((patch, event))
}

/// Seconds since boot (first field of `proc/uptime`); None when unreadable.
pub(crate) fn uptime(sys: &SysRoot) -> Option<f64> {
    let contents = sys.fs().read("proc/uptime", 4096).ok()?;
    let text = String::from_utf8_lossy(&contents.bytes);
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
}

/// The age of the transition of `patch`, and the warning when it cannot be told.
pub(crate) fn transition_age(log: &KernelLog, uptime: Option<f64>) -> (TransitionAge, Option<Warning>) {
    let unknown = |reason: AgeUnknownReason, message: String| {
        let age = TransitionAge {
            started_seconds_ago: None,
            started_unknown_reason: Some(reason),
            signaled: log.transition.as_ref().map(|t| t.signaled).or(log.readable().then_some(false)),
            reversed: log.transition.as_ref().map(|t| t.reversed).or(log.readable().then_some(false)),
        };
        let warning = Warning {
            code: WarningCode::TransitionAgeUnknown,
            message,
            path: Some(match reason {
                AgeUnknownReason::UptimeUnreadable => "/proc/uptime".into(),
                _ => "/dev/kmsg".into(),
            }),
            count: 1,
        };
        (age, Some(warning))
    };
    if let Some(err) = &log.error {
        return unknown(
            AgeUnknownReason::LogUnreadable,
            format!("cannot read the kernel log /dev/kmsg ({err}): the transition's age is unknown"),
        );
    }
    let Some(record) = &log.transition else {
        return unknown(
            AgeUnknownReason::NoStartRecord,
            "the kernel log holds no start record of the transition (rotated out): its age is unknown".into(),
        );
    };
    let Some(uptime) = uptime else {
        return unknown(
            AgeUnknownReason::UptimeUnreadable,
            "cannot read /proc/uptime: the transition's age is unknown".into(),
        );
    };
    let ago = (uptime - record.start_usec as f64 / 1e6).max(0.0);
    let age = TransitionAge {
        started_seconds_ago: Some((ago * 1000.0).round() / 1000.0),
        started_unknown_reason: None,
        signaled: Some(record.signaled),
        reversed: Some(record.reversed),
    };
    (age, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str, patch: &str) -> KernelLog {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        std::fs::write(dir.path().join("dev/kmsg"), text).unwrap();
        read(&SysRoot::new(dir.path()).unwrap(), Some(patch))
    }

    const LOG: &str = "6,0,0,-;Linux version 6.1.0\n\
        5,401,5716450,-;livepatch: enabling patch 'lp_busy'\n\
        5,402,5747076,-;livepatch: 'lp_busy': starting patching transition\n \
        SUBSYSTEM=x\n\
        6,403,20777584,-;livepatch: signaling remaining tasks\n";

    #[test]
    fn start_and_signal_of_the_wanted_patch() {
        let log = scan(LOG, "lp_busy");
        assert!(log.readable());
        assert_eq!(log.records, 4);
        assert_eq!(log.complete(), Some(true));
        let t = log.transition.clone().unwrap();
        assert_eq!((t.start_usec, t.direction, t.signaled, t.reversed), (5_747_076, Direction::Patching, true, false));
        let (age, warning) = transition_age(&log, Some(65.747_076));
        assert_eq!(age.started_seconds_ago, Some(60.0));
        assert!(warning.is_none());
    }

    #[test]
    fn other_patches_and_rotation_give_no_age() {
        let log = scan(LOG, "other");
        assert!(log.transition.is_none());
        let (age, warning) = transition_age(&log, Some(100.0));
        assert_eq!(age.started_unknown_reason, Some(AgeUnknownReason::NoStartRecord));
        assert_eq!(warning.unwrap().code, WarningCode::TransitionAgeUnknown);
        let rotated = scan("6,900,1000,-;livepatch: signaling remaining tasks\n", "lp_busy");
        assert_eq!(rotated.complete(), Some(false));
    }

    #[test]
    fn latest_start_wins_and_force_is_attributed() {
        let log = scan(
            "5,0,1000000,-;livepatch: 'p': starting patching transition\n\
             5,1,2000000,-;livepatch: 'p': patching complete\n\
             5,2,3000000,-;livepatch: 'p': starting unpatching transition\n\
             4,3,4000000,-;livepatch: forcing remaining tasks to the patched state\n\
             5,4,4100000,-;livepatch: 'p': reversing transition from unpatching to patching\n",
            "p",
        );
        let t = log.transition.unwrap();
        assert_eq!((t.start_usec, t.direction, t.reversed), (3_000_000, Direction::Unpatching, true));
        assert_eq!(log.forced.len(), 1);
        assert_eq!(log.forced[0].patch.as_deref(), Some("p"));
        assert_eq!(log.forced[0].usec, 4_000_000);
    }

    #[test]
    fn garbage_and_long_lines_are_bounded() {
        let long = "x".repeat(3 * LINE_LIMIT);
        let log =
            scan(&format!("{long}\nnot a record\n\u{0}\n5,7,1,-;livepatch: 'p': starting patching transition\n"), "p");
        assert_eq!(log.records, 1);
        assert!(log.transition.is_some());
    }

    #[test]
    fn missing_log_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let log = read(&SysRoot::new(dir.path()).unwrap(), Some("p"));
        assert!(!log.readable());
        assert_eq!(log.complete(), None);
        let (age, _) = transition_age(&log, Some(1.0));
        assert_eq!(
            (age.started_seconds_ago, age.started_unknown_reason),
            (None, Some(AgeUnknownReason::LogUnreadable))
        );
    }
}
