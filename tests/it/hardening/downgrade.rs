//! Downgrades racing each other and failing midway, on private roots from
//! `tests/pkg/mkroot.py` (real rpm and zypper). After every failure the
//! installed version klp reports must be the one rpm really has.
//! (zypper missing, a garbage rpm database, a repository file gone and a
//! held lock are covered in tests/it/pkg.rs.)

use crate::pkg::root::{edition, PkgRoot, PACKAGE};
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts `klp -n downgrade ARGS` without waiting.
fn start(pkg: &PkgRoot, args: &[&str]) -> Child {
    let mut argv = vec!["-n", "downgrade"];
    argv.extend_from_slice(args);
    pkg.klp(&argv).command().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn finish(child: Child) -> (i32, Value) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let doc: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout:?}"));
    crate::support::assert_valid(if doc.get("error").is_some() { "error" } else { "downgrade" }, &doc);
    (out.status.code().expect("klp exits, not killed"), doc)
}

/// `rpm --verifydb` on the root: the database survived.
fn assert_rpmdb_intact(pkg: &PkgRoot) {
    let out = pkg.command("rpm").arg("--root").arg(&pkg.root).arg("--verifydb").output().unwrap();
    assert!(out.status.success(), "rpm --verifydb: {}", String::from_utf8_lossy(&out.stderr));
    let out = pkg.command("rpm").arg("--root").arg(&pkg.root).args(["-q", PACKAGE]).output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 1, "exactly one version installed: {}", String::from_utf8_lossy(&out.stdout));
}

/// Version number of an edition `V-150600.R.1`.
fn version_of(edition: &Value) -> u32 {
    edition.as_str().unwrap().split('-').next().unwrap().parse().unwrap()
}

#[test]
#[ignore = "real zypper, tens of seconds: run by tests/hardening/run.sh"]
fn concurrent_downgrades_change_the_system_once() {
    let pkg = PkgRoot::new(&["--installed", "12"]);
    let mut installed = 12;
    let (mut runs, mut lock_errors) = (0, 0);
    // The second klp starts 0-150 ms after the first: both inside each
    // other's zypper calls, or just after.
    for stagger in [0u64, 0, 50, 100, 150] {
        let a = start(&pkg, &[]);
        std::thread::sleep(Duration::from_millis(stagger));
        let b = start(&pkg, &[]);
        let results = [finish(a), finish(b)];
        runs += 2;
        let now = pkg.installed();
        let summary = format!("stagger {stagger} ms: {results:?}; rpm says {now:?}");
        let mut changes = 0;
        for (code, doc) in &results {
            match (code, doc["changed"].as_bool(), doc["error"]["code"].as_str()) {
                (0, Some(true), None) => {
                    // A real step down by one version, as rpm saw it.
                    assert_eq!(version_of(&doc["from"]), version_of(&doc["installed_after"]) + 1, "{summary}");
                    changes += 1;
                }
                (1, None, Some("lock_held")) => {
                    lock_errors += 1;
                    let reported = version_of(&doc["error"]["details"]["installed"]);
                    assert!(reported <= installed && reported + 2 >= installed, "a real version: {summary}");
                }
                _ => panic!("neither a change nor lock_held: {summary}"),
            }
        }
        // Never two reports of a change for one step (both planned from the
        // same version): the versions rpm went through equal the changes.
        assert!(changes >= 1, "{summary}");
        installed -= changes;
        assert_eq!(now, Some(edition(installed)), "one step per reported change: {summary}");
        assert_rpmdb_intact(&pkg);
    }
    println!(
        "concurrent downgrades: {runs} klp -n downgrade runs in pairs; {lock_errors} lock_held; 12 -> {installed}"
    );
    assert!(lock_errors >= 1, "the pairs never overlapped");
}

/// The pid of a child of `parent` whose command line holds `word`.
fn child_with(parent: u32, word: &str) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if ppid == Some(parent) && cmdline.split(|&b| b == 0).any(|arg| arg == word.as_bytes()) {
            return Some(pid);
        }
    }
    None
}

/// Checks a failed downgrade: `code`, and the installed version it reports
/// is the one rpm has now (re-read, never assumed).
fn assert_failed_with_real_version(pkg: &PkgRoot, result: &(i32, Value), code: &str) {
    let (exit, doc) = result;
    assert_eq!((*exit, doc["error"]["code"].as_str()), (1, Some(code)), "{doc}");
    assert_eq!(doc["error"]["details"]["installed"], serde_json::json!(pkg.installed()), "{doc}");
}

#[test]
#[ignore = "real zypper: run by tests/hardening/run.sh"]
fn zypper_killed_mid_install_is_reported_with_the_real_version() {
    let pkg = PkgRoot::new(&["--installed", "10"]);
    let mut killed = 0;
    // Killed as soon as it is seen, and a little later (inside the rpm
    // transaction or after it).
    for delay in [0u64, 15, 30, 45] {
        let before = pkg.installed();
        let klp = start(&pkg, &[]);
        let deadline = Instant::now() + Duration::from_secs(60);
        let zypper = loop {
            if let Some(pid) = child_with(klp.id(), "install") {
                break pid;
            }
            assert!(Instant::now() < deadline, "klp never ran zypper install");
            std::thread::sleep(Duration::from_millis(2));
        };
        std::thread::sleep(Duration::from_millis(delay));
        // SAFETY: kill(2) on a pid we just found as klp's child.
        let signalled = unsafe { libc::kill(zypper, libc::SIGKILL) } == 0;
        let result = finish(klp);
        if signalled && result.0 != 0 {
            killed += 1;
            assert_failed_with_real_version(&pkg, &result, "zypper_failed");
            assert_eq!(result.1["error"]["details"]["exit_code"], -1, "killed by a signal: {}", result.1);
        } else {
            // zypper had finished already: a normal, verified success.
            assert_eq!(result.1["installed_after"], serde_json::json!(pkg.installed()), "{}", result.1);
        }
        assert_rpmdb_intact(&pkg);
        let number = |e: Option<String>| version_of(&serde_json::json!(e.expect("installed")));
        assert!(number(pkg.installed()) <= number(before.clone()), "never upgraded");
    }
    // zypper's stale lock (a dead pid) does not block the next run.
    let (code, doc) = finish(start(&pkg, &["--to", "2"]));
    assert_eq!((code, doc["installed_after"].as_str()), (0, Some(edition(2).as_str())), "{doc}");
    assert_eq!(pkg.installed(), Some(edition(2)));
    println!("zypper killed mid-install: {killed} of 4 kills landed; recovered to {}", edition(2));
    assert!(killed >= 1, "no kill landed while zypper ran");
}

#[test]
#[ignore = "real zypper: run by tests/hardening/run.sh"]
fn repository_gone_is_reported_with_the_real_version() {
    let pkg = PkgRoot::new(&["--installed", "6"]);
    std::fs::remove_dir_all(&pkg.repo).unwrap();
    let result = finish(start(&pkg, &[]));
    assert_failed_with_real_version(&pkg, &result, "zypper_failed");
    assert_eq!(pkg.installed(), Some(edition(6)));
    let result = finish(start(&pkg, &["--to", "3"]));
    assert_failed_with_real_version(&pkg, &result, "zypper_failed");
    assert_rpmdb_intact(&pkg);
}

#[test]
#[ignore = "real zypper: run by tests/hardening/run.sh"]
fn unprivileged_downgrade_changes_nothing_and_says_so() {
    let pkg = PkgRoot::new_for_everyone(&["--installed", "6"]);
    let mut argv = pkg.klp(&["-n", "downgrade"]).unprivileged().command();
    let out = argv.stdin(Stdio::null()).output().unwrap();
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    crate::support::assert_valid("error", &doc);
    println!("as nobody: {doc}");
    assert_eq!(out.status.code(), Some(1), "{doc}");
    assert_eq!(pkg.installed(), Some(edition(6)), "nothing changed");
    let reported = &doc["error"]["details"]["installed"];
    assert!(reported.is_null() || *reported == edition(6), "a version rpm has, or unknown: {doc}");
}
