//! Issue 10: an untrusted root and untrusted arguments. Every finding of the
//! issue is one test here: FIFOs, sparse files and devices in place of the
//! files klp reads, symlinks out of the root (a canary that must never
//! appear), the downgrade lock as a symlink, no sysfs, non-canonical pid
//! names, non-UTF-8 names and arguments, hostile names in text mode, every
//! argument edge, and `check --wait` interrupted.
//!
//! Every run here is bounded by its own deadline ([`bounded`]): a hang is a
//! failure after a few seconds, never a test that waits forever. Peak
//! memory is measured with `wait4`'s `ru_maxrss` of the one child.

use crate::fixture::{Fixture, Object, Patch, Task, Tree};
use crate::support::{assert_valid, is_root, klp, Klp};
use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one bounded run gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    /// Peak resident set of the child, KiB (-1 when not measured).
    max_rss_kib: i64,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} {}", self.stdout, self.stderr))
    }
    fn no_panic(&self) {
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert_ne!(self.code, 101, "{}", self.stderr);
    }
}

/// Runs `cmd` with a deadline; a child still running at the deadline is
/// killed (its whole process group) and the test fails ("hung").
/// stdout/stderr go to files so that a full pipe cannot block the child.
/// Peak RSS comes from GNU time (`%M`, its child's `ru_maxrss`): a child
/// spawned from this big multi-threaded test process directly would
/// inherit the test's own high-water mark across exec.
fn bounded(cmd: Command, limit: Duration) -> Run {
    bounded_run(cmd, limit, false)
}

/// [`bounded`], with the peak RSS measured (needs GNU time).
fn measured(klp: Klp) -> Run {
    bounded_run(klp.command(), DEADLINE, true)
}

fn bounded_run(cmd: Command, limit: Duration, measure: bool) -> Run {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let (out, err, rss) = (dir.path().join("out"), dir.path().join("err"), dir.path().join("rss"));
    let mut timed = if measure {
        let mut timed = Command::new("/usr/bin/time");
        timed.arg("-f").arg("%M").arg("-o").arg(&rss).arg("--").arg(cmd.get_program());
        timed
    } else {
        Command::new(cmd.get_program())
    };
    timed.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    timed
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let mut child = timed.spawn().expect("/usr/bin/time (package time) runs klp");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            // SAFETY: killing our own child's process group.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            child.wait().unwrap();
            panic!("hung: still running after {limit:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let rss_text = read(&rss);
    assert!(!rss_text.contains("signal"), "killed by a signal: {rss_text} {cmd:?}");
    let max_rss_kib = match measure {
        true => rss_text.lines().last().and_then(|l| l.trim().parse().ok()).expect("time -f %M"),
        false => -1,
    };
    Run { code: status.code().expect("exits, not killed"), stdout: read(&out), stderr: read(&err), max_rss_kib }
}

const DEADLINE: Duration = Duration::from_secs(20);

fn run(klp: Klp) -> Run {
    bounded(klp.command(), DEADLINE)
}

/// A JSON run whose document is checked against its schema.
fn run_json(klp: Klp, schema: &str) -> (i32, Value) {
    let result = run(klp);
    result.no_panic();
    let doc = result.json();
    assert_valid(if doc.get("error").is_some() { "error" } else { schema }, &doc);
    (result.code, doc)
}

/// A tree with one patch in transition, one blocking user thread with
/// stack, cmdline and stat, and a second, non-blocking one.
fn stuck() -> Fixture {
    Fixture::new()
        .patch(
            Patch::new("lp")
                .transition(true)
                .replace(true)
                .stack_order(1)
                .object(Object::new("vmlinux").patched(true).function("f", 1)),
        )
        .task(Task::user(5, 5, "x", &["sleep", "10"]).state('D').patch_state(0).stack(&["[<0>] f+0x1/0x2"]))
        .task(Task::user(6, 6, "y", &["y"]).patch_state(1))
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

fn mknod_char(path: &Path, major: u32, minor: u32) {
    let _ = std::fs::remove_file(path);
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string and device number.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(major, minor)) };
    assert_eq!(rc, 0, "mknod {}: {}", path.display(), std::io::Error::last_os_error());
}

/// The commands that read a root, each with the schema of its report.
const READERS: &[(&[&str], &str)] = &[
    (&["status"], "status"),
    (&["check"], "check"),
    (&["-v", "patches"], "patches"),
    (&["-vv", "blocking"], "blocking"),
    (&["check", "--wait", "--timeout", "1", "--interval", "0.05"], "check"),
];

#[test]
fn a_fifo_in_place_of_any_file_never_hangs() {
    let files = [
        ("sys/kernel/livepatch/lp/enabled", true),
        ("sys/kernel/livepatch/lp/transition", true),
        ("sys/kernel/livepatch/lp/replace", true),
        ("sys/kernel/livepatch/lp/stack_order", true),
        ("sys/kernel/livepatch/lp/vmlinux/patched", false),
        ("proc/5/task/5/patch_state", false),
        ("proc/5/task/5/stat", false),
        ("proc/5/task/5/stack", false),
        ("proc/5/task/5/cmdline", false),
        ("proc/sys/kernel/tainted", false),
        ("proc/sys/kernel/osrelease", false),
    ];
    for (file, fails_status) in files {
        let tree = stuck().build();
        mkfifo(&tree.join(file));
        for (args, schema) in READERS {
            let started = Instant::now();
            let (code, doc) = run_json(klp(args).root(&tree), schema);
            assert!(started.elapsed() < Duration::from_secs(10), "{file} {args:?}: {:?}", started.elapsed());
            if let Some(error) = doc.get("error") {
                assert_eq!(error["code"], "not_regular_file", "{file} {args:?}: {doc}");
                assert!(error["path"].as_str().unwrap().ends_with(file), "{file}: {doc}");
                assert_eq!(error["details"]["file_type"], "fifo");
                assert!(code == 1 || code == 2, "{file} {args:?}: {code}");
            } else {
                assert!(!fails_status || args[0] == "-vv", "{file} {args:?} must fail: {doc}");
                let text = doc.to_string();
                if !file.ends_with("patched") {
                    assert!(
                        text.contains("not_regular_file") || !text.contains(file) || schema == &"patches",
                        "{file} {args:?}: a FIFO is said to be one: {doc}"
                    );
                }
            }
        }
    }
}

#[test]
fn fifo_patch_state_and_details_are_named_warnings() {
    for file in ["patch_state", "stat", "stack", "cmdline"] {
        let tree = stuck().build();
        mkfifo(&tree.join(&format!("proc/5/task/5/{file}")));
        let (code, doc) = run_json(klp(&["-vv", "blocking"]).root(&tree), "blocking");
        assert_eq!(code, 0, "{doc}");
        let warning = doc["warnings"].as_array().unwrap().iter().find(|w| w["code"] == "not_regular_file");
        let warning = warning.unwrap_or_else(|| panic!("{file}: {doc}"));
        assert!(warning["path"].as_str().unwrap().ends_with(&format!("proc/5/task/5/{file}")), "{warning}");
        if file == "patch_state" {
            assert_eq!(doc["complete"], false, "an unread thread makes the scan incomplete");
            assert_eq!(doc["threads_unreadable"], 1);
        } else {
            assert_eq!(doc["threads"][0]["tid"], 5, "{file}: the blocker is still listed");
        }
    }
}

#[test]
fn a_fifo_lifecycle_file_is_skipped_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("usr/share/lifecycle/data");
    std::fs::create_dir_all(&data).unwrap();
    mkfifo(&data.join("a.lifecycle"));
    std::fs::write(data.join("b.lifecycle"), "kernel-livepatch-*, *, 2030-01-01\n").unwrap();
    let root = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(klp::pkg::lifecycle::lookup(&root, "kernel-livepatch-x", "1", "1")));
    let found = rx.recv_timeout(Duration::from_secs(10)).expect("lifecycle lookup hung on a FIFO");
    assert_eq!(found.map(|f| f.date).as_deref(), Some("2030-01-01"));
}

#[test]
fn check_wait_timeout_bounds_a_fifo_transition() {
    let tree = stuck().build();
    mkfifo(&tree.join("sys/kernel/livepatch/lp/transition"));
    let started = Instant::now();
    let (code, doc) = run_json(klp(&["check", "--wait", "--timeout", "1"]).root(&tree), "check");
    assert_eq!((code, doc["error"]["code"].as_str()), (2, Some("not_regular_file")), "{doc}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn sparse(path: &Path, size: u64) {
    let _ = std::fs::remove_file(path);
    let file = std::fs::File::create(path).unwrap();
    file.set_len(size).unwrap();
}

const GIB: u64 = 1 << 30;
/// What a bounded klp may take at most, whatever the tree holds.
const RSS_BOUND_KIB: i64 = 64 * 1024;

#[test]
#[ignore = "measures peak memory with GNU time: run by tests/hardening/run.sh"]
fn sparse_gigabyte_files_are_cut_and_memory_stays_bounded() {
    for file in ["cmdline", "stack", "stat"] {
        let tree = stuck().build();
        sparse(&tree.join(&format!("proc/5/task/5/{file}")), GIB);
        let result = measured(klp(&["-vv", "blocking"]).root(&tree));
        result.no_panic();
        assert_eq!(result.code, 0, "{file}: {}", result.stderr);
        assert!(result.max_rss_kib < RSS_BOUND_KIB, "{file}: peak RSS {} KiB", result.max_rss_kib);
        let doc = result.json();
        assert_valid("blocking", &doc);
        let codes: Vec<&str> =
            doc["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap()).collect();
        let expected = if file == "stat" { "read_failed" } else { "truncated" };
        assert!(codes.contains(&expected), "{file}: what was cut is reported: {doc}");
        if file == "cmdline" {
            let args = doc["threads"][0]["cmdline"].as_array().unwrap();
            let shown: usize = args.iter().map(|a| a.as_str().unwrap().len()).sum();
            assert!(shown <= 256 * 1024, "cut at the bound: {shown}");
        }
    }
    for file in ["proc/sys/kernel/osrelease", "sys/kernel/livepatch/lp/enabled"] {
        let tree = stuck().build();
        sparse(&tree.join(file), GIB);
        let result = measured(klp(&["status"]).root(&tree));
        result.no_panic();
        assert!(result.max_rss_kib < RSS_BOUND_KIB, "{file}: peak RSS {} KiB", result.max_rss_kib);
        let doc = result.json();
        let text = doc.to_string();
        assert!(text.contains("too_large"), "{file}: {doc}");
    }
}

#[test]
#[ignore = "measures peak memory with GNU time: run by tests/hardening/run.sh"]
fn devices_are_refused_before_any_read() {
    assert!(is_root(), "mknod needs root");
    // /dev/zero (1,5) as a file inside the tree, and a symlink to the tree's
    // own dev/zero from osrelease: both refused. A task's files resolve
    // inside the task directory, so its cmdline -> /dev/zero is missing
    // (and said so), while the blocker stays listed.
    let tree = stuck().build();
    std::fs::create_dir_all(tree.join("dev")).unwrap();
    mknod_char(&tree.join("dev/zero"), 1, 5);
    mknod_char(&tree.join("proc/5/task/5/stack"), 1, 5);
    std::fs::remove_file(tree.join("proc/5/task/5/cmdline")).unwrap();
    symlink("/dev/zero", tree.join("proc/5/task/5/cmdline")).unwrap();
    std::fs::remove_file(tree.join("proc/sys/kernel/osrelease")).unwrap();
    symlink("../../../dev/zero", tree.join("proc/sys/kernel/osrelease")).unwrap();
    let result = measured(klp(&["-vv", "blocking"]).root(&tree));
    result.no_panic();
    assert!(result.max_rss_kib < RSS_BOUND_KIB, "peak RSS {} KiB", result.max_rss_kib);
    let doc = result.json();
    let warning = |code: &str| doc["warnings"].as_array().unwrap().iter().find(|w| w["code"] == code).cloned();
    let refused = warning("not_regular_file").unwrap_or_else(|| panic!("{doc}"));
    assert!(refused["path"].as_str().unwrap().ends_with("proc/5/task/5/stack"), "{doc}");
    let missing = warning("missing_file").unwrap_or_else(|| panic!("{doc}"));
    assert!(missing["path"].as_str().unwrap().ends_with("proc/5/task/5/cmdline"), "{doc}");
    assert_eq!(doc["threads"][0]["tid"], 5, "{doc}");
    assert_eq!(doc["threads"][0]["culprits"], Value::Null, "stack unreadable: culprits unknown");
    let (_, status) = run_json(klp(&["status"]).root(&tree), "status");
    assert_eq!(status["kernel_release"], Value::Null);
    assert_eq!(status["warnings"][0]["code"], "not_regular_file", "{status}");
    // The same with /dev/zero outside the tree: the link resolves inside,
    // where there is none.
    std::fs::remove_file(tree.join("dev/zero")).unwrap();
    let (code, doc) = run_json(klp(&["-vv", "blocking"]).root(&tree), "blocking");
    assert_eq!(code, 0, "{doc}");
}

/// A file outside the root that must never show up in any output.
struct Canary {
    _dir: tempfile::TempDir,
    file: std::path::PathBuf,
    dir: std::path::PathBuf,
    secret: String,
}

fn canary() -> Canary {
    let dir = tempfile::tempdir().unwrap();
    let secret = format!("CANARY{}x{}", std::process::id(), Instant::now().elapsed().as_nanos());
    let file = dir.path().join("shadow");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    // A directory outside, shaped like a patch, a task and a proc.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("lp_out/vmlinux/f,1")).unwrap();
    std::fs::write(outside.join("lp_out/enabled"), format!("{secret}\n")).unwrap();
    std::fs::write(outside.join("lp_out/transition"), "1\n").unwrap();
    Canary { file, dir: outside, secret, _dir: dir }
}

#[test]
fn symlinks_out_of_the_root_never_leak_a_byte() {
    let canary = canary();
    let tree = stuck().build();
    let relative_escape = "../../../../../../../../../../../../../../..";
    let links: Vec<(&str, String)> = vec![
        ("proc/sys/kernel/osrelease", canary.file.display().to_string()),
        ("proc/sys/kernel/tainted", format!("{relative_escape}{}", canary.file.display())),
        ("proc/5/task/5/stack", canary.file.display().to_string()),
        ("proc/5/task/5/cmdline", format!("{relative_escape}{}", canary.file.display())),
        ("proc/5/task/5/stat", canary.file.display().to_string()),
        ("proc/6/task/6/patch_state", canary.file.display().to_string()),
        ("sys/kernel/livepatch/lp/replace", canary.file.display().to_string()),
        ("sys/kernel/livepatch/lp_out", canary.dir.join("lp_out").display().to_string()),
    ];
    for (file, target) in &links {
        let _ = std::fs::remove_file(tree.join(file));
        symlink(target, tree.join(file)).unwrap();
    }
    for (args, schema) in READERS {
        for format in ["json", "text"] {
            let mut all: Vec<&str> = vec!["--format", format];
            all.extend_from_slice(args);
            let result = run(klp(&all).root(&tree));
            result.no_panic();
            for output in [&result.stdout, &result.stderr] {
                assert!(!output.contains(&canary.secret), "{all:?} leaked the canary: {output}");
                assert!(!output.contains("lp_out"), "{all:?}: an outside patch dir is not a patch: {output}");
            }
            if format == "json" {
                let doc = result.json();
                assert_valid(if doc.get("error").is_some() { "error" } else { schema }, &doc);
            }
        }
    }
}

#[test]
fn symlinks_that_stay_inside_the_root_keep_working() {
    let tree = stuck().build();
    std::fs::create_dir_all(tree.join("usr/lib/release")).unwrap();
    std::fs::write(tree.join("usr/lib/release/osrelease"), "6.4.0-150600.23.22-default\n").unwrap();
    symlink("usr/lib", tree.join("lib")).unwrap();
    std::fs::remove_file(tree.join("proc/sys/kernel/osrelease")).unwrap();
    // Absolute: resolved from the root, as the tree's own system would.
    symlink("/lib/release/osrelease", tree.join("proc/sys/kernel/osrelease")).unwrap();
    // proc/self, as on a real host.
    symlink("5", tree.join("proc/self")).unwrap();
    let (_, doc) = run_json(klp(&["status"]).root(&tree), "status");
    assert_eq!(doc["kernel_release"], "6.4.0-150600.23.22-default", "{doc}");
    assert!(doc["warnings"].as_array().unwrap().is_empty(), "{doc}");
    // A loop is its own error, not permission_denied.
    std::fs::remove_file(tree.join("sys/kernel/livepatch/lp/enabled")).unwrap();
    symlink("enabled2", tree.join("sys/kernel/livepatch/lp/enabled")).unwrap();
    symlink("enabled", tree.join("sys/kernel/livepatch/lp/enabled2")).unwrap();
    let (code, doc) = run_json(klp(&["status"]).root(&tree), "status");
    assert_eq!((code, doc["error"]["code"].as_str()), (1, Some("symlink_loop")), "{doc}");
}

#[test]
fn errnos_are_classified_never_all_permission_denied() {
    // EISDIR: a directory where a value belongs.
    let tree = stuck().build();
    std::fs::remove_file(tree.join("sys/kernel/livepatch/lp/transition")).unwrap();
    std::fs::create_dir(tree.join("sys/kernel/livepatch/lp/transition")).unwrap();
    let (code, doc) = run_json(klp(&["status"]).root(&tree), "status");
    assert_eq!((code, doc["error"]["code"].as_str()), (1, Some("not_regular_file")), "{doc}");
    assert_eq!(doc["error"]["details"]["file_type"], "directory");
    // ENOTDIR: a file where a directory belongs.
    let tree = stuck().build();
    std::fs::remove_dir_all(tree.join("proc/5/task")).unwrap();
    std::fs::write(tree.join("proc/5/task"), "x").unwrap();
    let (_, doc) = run_json(klp(&["blocking"]).root(&tree), "blocking");
    let codes: Vec<&str> = doc["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap()).collect();
    assert!(!codes.contains(&"permission_denied"), "{doc}");
    assert_eq!(doc["complete"], false, "an unreadable task list is not 'nothing blocks': {doc}");
}

#[test]
fn downgrade_lock_symlink_target_is_never_created() {
    let canary = canary();
    let target = canary.dir.join("nologin");
    let tree = Fixture::new().build();
    std::fs::create_dir_all(tree.join("var/lib/rpm")).unwrap();
    std::fs::write(tree.join("var/lib/rpm/Packages"), "x").unwrap();
    for (run_dir_link, lock_link) in [(false, true), (true, false)] {
        let _ = std::fs::remove_dir_all(tree.join("run"));
        let _ = std::fs::remove_file(tree.join("run"));
        if run_dir_link {
            // run itself points out of the root: resolved inside, where
            // that path does not exist, so nothing is created anywhere.
            symlink(&canary.dir, tree.join("run")).unwrap();
        } else {
            std::fs::create_dir_all(tree.join("run")).unwrap();
        }
        if lock_link {
            symlink(&target, tree.join("run/klp-downgrade.lock")).unwrap();
        }
        for args in [&["-n", "downgrade"][..], &["-n", "downgrade", "--to", "1"]] {
            let result = run(klp(args).root(&tree).env("PATH", "/nonexistent"));
            result.no_panic();
            let doc = result.json();
            assert!(doc.get("error").is_some(), "{doc}");
            assert!(!target.exists(), "{args:?}: the lock's symlink target was created");
            assert!(!canary.dir.join("klp-downgrade.lock").exists(), "{args:?}: a lock outside the root");
        }
    }
    // Where nothing stands in the way, the lock is created inside the root.
    let _ = std::fs::remove_file(tree.join("run"));
    let result = run(klp(&["-n", "downgrade"]).root(&tree).env("PATH", "/nonexistent"));
    result.no_panic();
    assert!(tree.join("run/klp-downgrade.lock").is_file());
}

#[test]
fn no_sysfs_is_an_error_not_unsupported_and_ready() {
    for remove in ["sys", "sys/kernel"] {
        let tree = Fixture::new().unsupported().build();
        std::fs::remove_dir_all(tree.join(remove)).unwrap();
        let (code, doc) = run_json(klp(&["check"]).root(&tree), "check");
        assert_eq!((code, doc["error"]["code"].as_str()), (2, Some("sysfs_missing")), "{remove}: {doc}");
        assert!(doc["error"]["path"].as_str().unwrap().ends_with(remove));
        let (code, doc) = run_json(klp(&["status"]).root(&tree), "status");
        assert_eq!((code, doc["error"]["code"].as_str()), (1, Some("sysfs_missing")), "{doc}");
        let text = run(klp(&["--format", "text", "status"]).root(&tree));
        assert!(!text.stdout.contains("ready"), "{}", text.stdout);
    }
    // sys/kernel without livepatch: a kernel without CONFIG_LIVEPATCH.
    let tree = Fixture::new().unsupported().build();
    let (code, doc) = run_json(klp(&["check"]).root(&tree), "check");
    assert_eq!((code, doc["supported"].as_bool()), (0, Some(false)), "{doc}");
}

#[test]
fn livepatch_dir_vanishing_during_wait_is_could_not_determine() {
    let tree = stuck().build();
    let mut cmd = klp(&["check", "--wait", "--timeout", "15", "--interval", "0.05"]).root(&tree).command();
    let path = tree.join("sys/kernel/livepatch");
    let remover = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        std::fs::remove_dir_all(path).unwrap();
    });
    cmd.env("KLP_FORMAT", "json");
    let result = bounded(cmd, DEADLINE);
    remover.join().unwrap();
    result.no_panic();
    let doc = result.json();
    assert_eq!(result.code, 2, "{doc}");
    assert!(doc.get("error").is_some(), "not 'unsupported, ready': {doc}");
}

#[test]
fn reformatted_pid_names_are_not_tasks() {
    // 0100 is not a name the kernel makes; 100 beside it is read from its
    // own directory only.
    let tree = Fixture::new()
        .patch(Patch::new("lp").transition(true).object(Object::new("vmlinux").function("f", 1)))
        .task(Task::user(100, 100, "real", &["real"]).patch_state(0).stack(&["[<0>] f+0x1/0x2"]))
        .build();
    let proc_dir = tree.join("proc");
    std::fs::create_dir_all(proc_dir.join("0100/task/0100")).unwrap();
    std::fs::write(proc_dir.join("0100/task/0100/patch_state"), "0\n").unwrap();
    std::fs::write(proc_dir.join("0100/task/0100/stat"), "100 (forged) R 1 1 1 0 -1 0 0 0\n").unwrap();
    std::fs::create_dir_all(proc_dir.join("100/task/+100")).unwrap();
    std::fs::write(proc_dir.join("100/task/+100/patch_state"), "0\n").unwrap();
    let (code, doc) = run_json(klp(&["-v", "blocking"]).root(&tree), "blocking");
    assert_eq!(code, 0);
    let threads = doc["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 1, "{doc}");
    assert_eq!((threads[0]["tid"].as_i64(), threads[0]["comm"].as_str()), (Some(100), Some("real")));
    assert_eq!(doc["threads_scanned"], 1);
    let warning = doc["warnings"].as_array().unwrap().iter().find(|w| w["code"] == "ignored_entries").unwrap();
    assert!(warning["path"].as_str().unwrap().ends_with("proc/0100"), "{warning}");
}

#[test]
fn values_must_be_exactly_what_the_kernel_writes() {
    for (file, content) in [
        ("enabled", "+1\n"),
        ("enabled", "01\n"),
        ("enabled", "1 \n"),
        ("enabled", "-0\n"),
        ("transition", "1\n\n"),
        ("stack_order", "0\n"),
        ("stack_order", "-1\n"),
        ("replace", "0x1\n"),
    ] {
        let tree = stuck().build();
        std::fs::write(tree.join(&format!("sys/kernel/livepatch/lp/{file}")), content).unwrap();
        let (code, doc) = run_json(klp(&["patches"]).root(&tree), "patches");
        assert_eq!((code, doc["error"]["code"].as_str()), (1, Some("malformed_value")), "{file} {content:?}");
        assert!(doc["error"]["path"].as_str().unwrap().ends_with(file));
    }
}

#[test]
fn unreadable_cmdline_and_mountinfo_are_said_so_as_non_root() {
    assert!(is_root(), "switches to nobody");
    let tree = stuck().proc_mount_options("rw").build();
    let chmod = |p: &str, mode| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tree.join(p), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    chmod("proc/5/task/5/cmdline", 0o400);
    let (_, doc) = run_json(klp(&["-v", "blocking"]).root(&tree).unprivileged(), "blocking");
    let thread = &doc["threads"][0];
    assert_eq!((thread["kernel_thread"].as_bool(), &thread["cmdline"]), (Some(false), &Value::Null), "{doc}");
    let warning = doc["warnings"].as_array().unwrap().iter().find(|w| w["code"] == "permission_denied");
    assert!(warning.unwrap()["path"].as_str().unwrap().ends_with("proc/5/task/5/cmdline"), "{doc}");
    assert_eq!(doc["complete"], true, "the thread list itself is whole");

    chmod("proc/self/mountinfo", 0o400);
    let (_, doc) = run_json(klp(&["blocking"]).root(&tree).unprivileged(), "blocking");
    assert_eq!(doc["complete"], false, "unknown hidepid is not 'no hidepid': {doc}");
    let warning = doc["warnings"].as_array().unwrap().iter().find(|w| w["code"] == "permission_denied").unwrap();
    assert!(warning["path"].as_str().unwrap().ends_with("proc/self/mountinfo"), "{warning}");
    let text = run(klp(&["--format", "text", "blocking"]).root(&tree).unprivileged());
    assert_eq!(text.code, 1, "text mode: incomplete is an exit status");
}

fn with_raw_args(args: &[&OsStr]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_klp"));
    cmd.env_remove("KLP_FORMAT").env_remove("KLP_ROOT").args(args);
    cmd
}

#[test]
fn non_utf8_arguments_are_usage_errors_not_panics() {
    let bad = OsStr::from_bytes(b"\xff");
    let tree = stuck().build();
    let root = tree.path().as_os_str();
    for args in [
        vec![bad],
        vec![OsStr::new("--format"), OsStr::new("text"), bad],
        vec![OsStr::new("status"), bad],
        vec![OsStr::new("--root"), root, OsStr::new("check"), OsStr::new("--timeout"), bad],
        vec![OsStr::new("--format"), bad, OsStr::new("status")],
        vec![OsStr::new("downgrade"), OsStr::new("--to"), bad],
    ] {
        let result = bounded(with_raw_args(&args), DEADLINE);
        result.no_panic();
        assert_eq!(result.code, 2, "{args:?}: {}", result.stderr);
        if !args.starts_with(&[OsStr::new("--format"), OsStr::new("text")]) {
            let doc = result.json();
            assert_valid("error", &doc);
        } else {
            assert_eq!(result.stdout, "", "text mode: errors on stderr only");
        }
    }
    // A non-UTF-8 root that does not exist is named, not a panic.
    let missing = OsStr::from_bytes(b"/nonexistent/\xff\xfe");
    let result = bounded(with_raw_args(&[OsStr::new("--root"), missing, OsStr::new("status")]), DEADLINE);
    result.no_panic();
    assert_eq!((result.code, result.json()["error"]["code"].as_str()), (1, Some("root_not_found")));
}

#[test]
fn non_utf8_patch_names_are_listed_not_lost() {
    let tree = stuck().build();
    let lp = tree.join("sys/kernel/livepatch");
    let name = OsStr::from_bytes(b"lp_\xff");
    std::fs::create_dir_all(lp.join(name).join("vmlinux/g,1")).unwrap();
    std::fs::write(lp.join(name).join("enabled"), "1\n").unwrap();
    std::fs::write(lp.join(name).join("transition"), "0\n").unwrap();
    let (code, doc) = run_json(klp(&["patches"]).root(&tree), "patches");
    assert_eq!(code, 0, "{doc}");
    let names: Vec<&str> = doc["patches"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"lp_\u{fffd}"), "{names:?}");
    let patch = doc["patches"].as_array().unwrap().iter().find(|p| p["name"] == "lp_\u{fffd}").unwrap();
    assert_eq!(patch["objects"][0]["functions"][0]["name"], "g", "read through its real name: {patch}");
}

#[test]
fn hostile_names_cannot_forge_lines_in_text_mode() {
    let patch = "lp\n4242 forged\x1b[31m";
    let tree = Fixture::new()
        .patch(
            Patch::new(patch)
                .transition(true)
                .object(Object::new("vm\nlinux\x07").function("g\x1b]0;t\x07", 1))
                .object(Object::new("vmlinux").function("f\x1b[2J", 1)),
        )
        .task(Task::user(5, 5, "x", &["x"]).patch_state(0).stack(&["[<0>] f\x1b[2J+0x1/0x2"]))
        .build();
    let patches = run(klp(&["--format", "text", "patches"]).root(&tree));
    assert_eq!(patches.code, 0, "{}", patches.stderr);
    assert_eq!(patches.stdout, "lp\\n4242 forged\\u{1b}[31m\n");
    let verbose = run(klp(&["--format", "text", "-v", "patches"]).root(&tree));
    let blocking = run(klp(&["--format", "text", "-vv", "blocking"]).root(&tree));
    for out in [&patches.stdout, &verbose.stdout, &blocking.stdout] {
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out}");
        assert!(!out.lines().any(|l| l.starts_with("4242") || l.starts_with("linux")), "{out}");
    }
    assert!(verbose.stdout.contains("    object vm\\nlinux\\u{7}: g\\u{1b}]0;t\\u{7},1\n"), "{}", verbose.stdout);
    assert!(blocking.stdout.contains("    culprits: vmlinux:f\\u{1b}[2J\n"), "{}", blocking.stdout);
    // JSON keeps the exact names.
    let (_, doc) = run_json(klp(&["patches"]).root(&tree), "patches");
    assert_eq!(doc["patches"][0]["name"], patch);
}

#[test]
fn every_argument_edge_is_invalid_argument_with_a_document() {
    let tree = stuck().build();
    for args in [
        &["check", "--wait", "--timeout", "1e19"][..],
        &["check", "--wait", "--interval", "1e20"],
        &["check", "--wait", "--interval", "1e-10"],
        &["check", "--wait", "--interval", "0.009"],
        &["check", "--wait", "--interval", "0"],
        &["check", "--wait", "--interval", "-1"],
        &["check", "--wait", "--timeout", "-1"],
        &["check", "--wait", "--timeout", "-0.5"],
        &["check", "--wait", "--timeout", "31536001"],
        &["check", "--wait", "--timeout", "inf"],
        &["check", "--wait", "--timeout", "NaN"],
        &["check", "--wait", "--timeout", "1s"],
        &["downgrade", "--to", "99999999999999999999:3"],
        &["downgrade", "--to", "4294967296:3"],
        &["downgrade", "--to", "-1"],
        &["downgrade", "--to", ""],
    ] {
        let (code, doc) = run_json(klp(args).root(&tree), "error");
        assert_eq!((code, doc["error"]["code"].as_str()), (2, Some("invalid_argument")), "{args:?}: {doc}");
        assert_eq!(doc["error"]["exit_code"], 2);
    }
    // The bounds themselves are accepted.
    let ready = Fixture::new().build();
    for args in [
        &["check", "--wait", "--interval", "0.01", "--timeout", "31536000"][..],
        &["check", "--wait", "--timeout", "0"],
    ] {
        let (code, doc) = run_json(klp(args).root(&ready), "check");
        assert_eq!(code, 0, "{args:?}: {doc}");
    }
}

#[test]
fn a_tiny_interval_does_not_spin() {
    let tree = stuck().build();
    let (code, doc) = run_json(klp(&["check", "--wait", "--timeout", "1", "--interval", "0.01"]).root(&tree), "check");
    assert_eq!(code, 1, "{doc}");
    let polls = doc["wait"]["polls"].as_u64().unwrap();
    assert!(polls <= 102, "at most one poll per 10 ms: {polls}");
}

#[test]
fn check_wait_interrupted_prints_one_document() {
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let tree = stuck().build();
        let cmd = klp(&["check", "--wait", "--timeout", "60", "--interval", "0.05"]).root(&tree).command();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut cmd = cmd;
        cmd.stdout(std::fs::File::create(&out).unwrap()).stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("hung after signal {signal}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(status.code(), Some(code), "exits with 128 + signal");
        let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_valid("check", &doc);
        assert_eq!(
            (doc["wait"]["interrupted"].as_bool(), doc["wait"]["signal"].as_i64()),
            (Some(true), Some(signal.into()))
        );
        assert_eq!(doc["wait"]["timed_out"], false);
        assert_eq!(doc["state"], "in_progress", "the last state read");
    }
}

#[test]
fn check_whose_answer_cannot_be_written_exits_2() {
    let tree = Fixture::new().build();
    for args in [&["check"][..], &["check", "--wait", "--timeout", "0"]] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let output = klp(args).root(&tree).command().stdout(full).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: a ready answer that was not written is no answer");
        let mut child = klp(args).root(&tree).command().stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        drop(child.stdout.take());
        assert_eq!(child.wait().unwrap().code(), Some(2), "{args:?}: closed stdout");
    }
    // Other commands keep their exit status on a closed pipe.
    let mut child =
        klp(&["status"]).root(&tree).command().stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn both_resolvers_agree_and_stay_inside() {
    for path in super::invariants::RESOLVE_SEEDS {
        super::invariants::path_resolution(path.as_bytes());
    }
}

#[test]
fn tree_without_the_stuck_thread_is_unchanged() {
    // The reader layer keeps ordinary trees as they were.
    let tree: Tree = stuck().build();
    let (_, doc) = run_json(klp(&["-vv", "blocking"]).root(&tree), "blocking");
    assert_eq!(doc["threads"][0]["cmdline"], serde_json::json!(["sleep", "10"]));
    assert_eq!(doc["threads"][0]["culprits"][0]["function"], "f");
    assert!(doc["warnings"].as_array().unwrap().is_empty(), "{doc}");
    assert_eq!(doc["complete"], true);
}

#[test]
fn the_kernel_log_is_the_one_device_a_reader_may_ask_for() {
    use klp::sys::fs::{read_records, Accept, Dir, ReadError};
    assert!(is_root(), "mknod needs root");
    let tree = Fixture::new().build();
    std::fs::create_dir_all(tree.join("dev")).unwrap();
    mknod_char(&tree.join("dev/kmsg"), 1, 11);
    let root = Dir::open_root(tree.path()).unwrap();
    assert!(matches!(root.read("dev/kmsg", 4096), Err(ReadError::NotRegular("character device"))));
    assert!(matches!(root.open_file("dev/kmsg", Accept::Regular), Err(ReadError::NotRegular(_))));
    let mut kmsg = root.open_file("dev/kmsg", Accept::CharDevice).expect("a character device, when asked for");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sizes = Vec::new();
        let n = read_records(&mut kmsg, 8192, 1_000_000, |r| {
            sizes.push(r.len());
            true
        });
        tx.send((n.map_err(|e| format!("{e:?}")), sizes)).unwrap();
    });
    let (n, sizes) = rx.recv_timeout(Duration::from_secs(10)).expect("reading the kernel log ends (EAGAIN)");
    let n = n.unwrap();
    assert_eq!(n, sizes.len());
    assert!(sizes.iter().all(|&s| s > 0 && s <= 8192));
    // A FIFO asked for as a character device is still refused.
    mkfifo(&tree.join("dev/fifo"));
    assert!(matches!(root.open_file("dev/fifo", Accept::CharDevice), Err(ReadError::NotRegular("fifo"))));
}
