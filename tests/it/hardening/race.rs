//! `klp -vv blocking` in a loop while threads and processes come and go.
//!
//! Two races, a few seconds each (`KLP_RACE_SECONDS`, default 3):
//! - over the real `/proc` of the test machine (`ROOT/proc -> /proc`, and
//!   a sysfs fixture with a patch in transition): kernel readdir/open races,
//!   ENOENT/ESRCH from exiting threads, while this process spawns and joins
//!   thousands of threads and spawns short-lived child processes;
//! - over a fixture proc whose blocking processes are renamed in and out
//!   atomically during the scans: blockers that vanish between their
//!   `patch_state` read and their details (stat, cmdline, stack).
//!
//! Every run must exit 0 with one schema-valid document (checked by
//! `support::klp`), and no thread may be reported half-read.

use super::{mount_privately, Mount};
use crate::fixture::{Fixture, Object, Patch, Task};
use crate::support::klp;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn race_duration() -> Duration {
    let seconds = std::env::var("KLP_RACE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    Duration::from_secs_f64(seconds)
}

/// A root whose sysfs shows `lp` patching `vmlinux:cmdline_proc_show`.
fn write_transition_sysfs(root: &Path) {
    let lp = root.join("sys/kernel/livepatch/lp");
    std::fs::create_dir_all(lp.join("vmlinux/cmdline_proc_show,1")).unwrap();
    std::fs::write(lp.join("enabled"), "1\n").unwrap();
    std::fs::write(lp.join("transition"), "1\n").unwrap();
}

/// Spawns and joins short-lived threads (in this process) and short-lived
/// child processes until `stop`; returns (threads, processes) churned.
fn churn(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let threads = Arc::new(AtomicU64::new(0));
        let spawners: Vec<_> = (0..2)
            .map(|_| {
                let (stop, threads) = (stop.clone(), threads.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let batch: Vec<_> = (0..16)
                            .map(|_| std::thread::spawn(|| std::thread::sleep(Duration::from_micros(200))))
                            .collect();
                        for thread in batch {
                            thread.join().unwrap();
                        }
                        threads.fetch_add(16, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let mut processes = 0;
        while !stop.load(Ordering::Relaxed) {
            std::process::Command::new("true").status().unwrap();
            processes += 1;
        }
        for spawner in spawners {
            spawner.join().unwrap();
        }
        (threads.load(Ordering::Relaxed), processes)
    })
}

/// A listed thread is described completely, or not listed at all.
fn assert_fully_described(doc: &Value) {
    for thread in doc["threads"].as_array().unwrap() {
        for key in ["comm", "state", "kernel_thread", "culprits", "stack"] {
            assert!(!thread[key].is_null(), "half-read thread ({key} null): {thread}");
        }
    }
}

#[test]
#[ignore = "seconds of thread churn: run by tests/hardening/run.sh"]
fn blocking_over_the_real_proc_survives_thread_churn() {
    let root = tempfile::tempdir().unwrap();
    // The host's proc bind-mounted at ROOT/proc in klp's own mount
    // namespace: a `proc -> /proc` symlink points out of the root, which
    // klp never follows (issue 10).
    std::fs::create_dir(root.path().join("proc")).unwrap();
    write_transition_sysfs(root.path());
    // On a kernel with live patching every task has patch_state; this
    // host's kernel may lack it, and then nothing can be read (never "none").
    let kernel_has_patch_state = Path::new("/proc/self/patch_state").exists();

    let stop = Arc::new(AtomicBool::new(false));
    let churner = churn(stop.clone());
    let (mut runs, mut vanished, mut unreadable, mut scanned) = (0u64, 0u64, 0u64, 0u64);
    let deadline = Instant::now() + race_duration();
    while Instant::now() < deadline {
        let doc = blocking_over_real_proc(root.path());
        runs += 1;
        assert_eq!(doc["state"], "in_progress");
        assert_fully_described(&doc);
        let (s, u, v) = (
            doc["threads_scanned"].as_u64().unwrap(),
            doc["threads_unreadable"].as_u64().unwrap(),
            doc["threads_vanished"].as_u64().unwrap(),
        );
        assert!(s + u > 0, "this process's own threads are always there: {doc}");
        if kernel_has_patch_state {
            assert_eq!(doc["complete"], true, "root reads everything: {doc}");
        } else {
            assert_eq!((s, doc["complete"].as_bool()), (0, Some(false)), "{doc}");
            assert_eq!(doc["threads"], serde_json::json!([]));
            assert!(doc["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "read_failed"), "{doc}");
        }
        (scanned, unreadable, vanished) = (scanned + s, unreadable + u, vanished + v);
    }
    stop.store(true, Ordering::Relaxed);
    let (threads, processes) = churner.join().unwrap();
    println!(
        "race(real /proc): {runs} klp -vv blocking runs; churned {threads} threads and {processes} processes; \
         thread visits: {scanned} scanned, {unreadable} unreadable, {vanished} vanished"
    );
    assert!(runs >= 5 && threads >= 1000, "too little happened: {runs} runs, {threads} threads");
    assert!(vanished > 0, "no exiting thread was ever met: the race was not exercised");
}

const BLOCKER_STACK: &[&str] = &["[<0>] cmdline_proc_show+0x1a/0x40", "[<0>] seq_read_iter+0x11d/0x4a0"];

/// Writes a blocking process with `threads` threads into `dir` (a staging
/// directory later renamed to `proc/<pid>`).
fn write_blocking_process(dir: &Path, pid: u32, threads: u32) {
    for tid in pid..pid + threads {
        let task = dir.join("task").join(tid.to_string());
        std::fs::create_dir_all(&task).unwrap();
        std::fs::write(
            task.join("stat"),
            format!("{tid} (churn) D 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0\n"),
        )
        .unwrap();
        std::fs::write(task.join("cmdline"), b"churn\0--busy\0").unwrap();
        std::fs::write(task.join("stack"), BLOCKER_STACK.iter().map(|f| format!("{f}\n")).collect::<String>()).unwrap();
        std::fs::write(task.join("patch_state"), "0\n").unwrap();
    }
}

#[test]
#[ignore = "seconds of churn: run by tests/hardening/run.sh"]
fn blocking_survives_blockers_vanishing_mid_scan() {
    let tree = Fixture::new()
        .patch(Patch::new("lp").transition(true).object(Object::new("vmlinux").function("cmdline_proc_show", 1)))
        .idle_tasks(1000, 300, 1)
        .task(Task::user(100, 100, "stuck", &["stuck"]).state('D').patch_state(0).stack(BLOCKER_STACK))
        .build();
    let (proc_dir, staging) = (tree.join("proc"), tree.join("staging"));
    std::fs::create_dir(&staging).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let churner = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // Processes 5000.. come (renamed in whole) and go (renamed out,
            // then deleted): a scan never sees one half-written.
            let mut live = std::collections::VecDeque::new();
            let mut next_pid = 5000u32;
            while !stop.load(Ordering::Relaxed) {
                let pid = next_pid;
                next_pid += 4;
                let staged = staging.join(pid.to_string());
                write_blocking_process(&staged, pid, 1 + pid % 3);
                std::fs::rename(&staged, proc_dir.join(pid.to_string())).unwrap();
                live.push_back(pid);
                if live.len() > 20 {
                    let old = live.pop_front().unwrap();
                    let gone = staging.join(format!("gone-{old}"));
                    std::fs::rename(proc_dir.join(old.to_string()), &gone).unwrap();
                    std::fs::remove_dir_all(&gone).unwrap();
                }
            }
            (next_pid - 5000) / 4
        })
    };
    let (mut runs, mut vanished, mut churned_seen) = (0u64, 0u64, 0u64);
    let deadline = Instant::now() + race_duration();
    while Instant::now() < deadline {
        let doc = klp(&["-vv", "blocking"]).root(&tree).run().json(0);
        runs += 1;
        assert_eq!((doc["complete"].as_bool(), doc["threads_unreadable"].as_u64()), (Some(true), Some(0)), "{doc}");
        assert_fully_described(&doc);
        let threads = doc["threads"].as_array().unwrap();
        assert_eq!(threads[0]["tid"], 100, "the permanent blocker is always found: {doc}");
        assert_eq!(threads[0]["culprits"][0]["function"], "cmdline_proc_show");
        for thread in &threads[1..] {
            assert_eq!((thread["comm"].as_str(), thread["state"].as_str()), (Some("churn"), Some("D")));
            assert_eq!(thread["cmdline"], serde_json::json!(["churn", "--busy"]));
        }
        churned_seen += threads.len() as u64 - 1;
        vanished += doc["threads_vanished"].as_u64().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let processes = churner.join().unwrap();
    println!(
        "race(fixture proc): {runs} klp -vv blocking runs; {processes} blocking processes came and went; \
         {churned_seen} churned blockers reported, {vanished} vanished mid-scan"
    );
    assert!(runs >= 5 && processes >= 20, "too little happened: {runs} runs, {processes} processes");
    assert!(churned_seen > 0, "churned blockers were never listed");
}

/// `klp -vv blocking` with the host's /proc bind-mounted at `root/proc` in
/// a private mount namespace of klp's own (nothing stays mounted).
fn blocking_over_real_proc(root: &Path) -> serde_json::Value {
    let mut command = klp(&["-vv", "blocking"]).root_path(root).command();
    let bind = Mount { source: c"/proc", fstype: None, flags: libc::MS_BIND | libc::MS_REC, data: None };
    mount_privately(&mut command, bind, &root.join("proc"));
    let output = command.output().expect("klp runs in its own mount namespace (needs root)");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    crate::support::assert_valid("blocking", &doc);
    doc
}
