//! The package layer against the real rpm, rpmbuild, createrepo_c and
//! zypper: `patches -v/-vv` and `downgrade` on private roots built by
//! `tests/pkg/mkroot.py` (live patch versions 1..12, releases 150600.N.1).
//! Those tests are `#[ignore]`d, so the core suite counts them as ignored
//! rather than passing them where the tools are absent; tests/pkg/run.sh
//! installs the tools and runs them all (`--include-ignored`), and a run
//! without the tools fails.
//!
//! mkroot's changelogs: version 1 is the initial patch; every third version
//! fixes a bug only (bsc#1240000+10v); the others fix CVE-2025-(21000+10v)
//! and, when v % 3 == 2, also CVE-2025-(21001+10v). Packages are cumulative.

mod decisions;
mod dnf;
pub(crate) mod root;

use root::{edition, hold_lock, patch_name, run_on_terminal, without_terminal, PkgRoot, KERNEL, PACKAGE};
use serde_json::{json, Value};
use std::process::{Command, Stdio};

fn expected_cves(installed: u32) -> Vec<String> {
    let mut cves = Vec::new();
    for v in (2..=installed).rev() {
        if v % 3 == 0 {
            continue;
        }
        cves.push(format!("CVE-2025-{}", 21000 + v * 10));
        if v % 3 == 2 {
            cves.push(format!("CVE-2025-{}", 21001 + v * 10));
        }
    }
    cves
}

fn expected_fixes(installed: u32) -> Vec<String> {
    (2..=installed).rev().filter(|v| v % 3 == 0).map(|v| format!("bsc#{}", 1240000 + v * 10)).collect()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

/// The classic part of a `-v` text block, exactly.
fn classic_block(text: &str) -> Vec<&str> {
    text.lines().take(5).collect()
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn patches_v_names_package_cves_and_fixes() {
    let pkg = PkgRoot::new(&["--installed", "5"]);
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    assert_eq!(doc["warnings"], json!([]));
    let patch = &doc["patches"][0];
    assert_eq!(patch["name"], patch_name(5));
    let package = &patch["package"];
    assert_eq!(package["owner"], "package");
    assert_eq!(package["found_by"], "module_file");
    assert_eq!(package["nevra"], format!("{PACKAGE}-{}.x86_64", edition(5)));
    assert_eq!(
        (package["name"].as_str(), package["version"].as_str(), package["release"].as_str()),
        (Some(PACKAGE), Some("5"), Some("150600.6.1"))
    );
    assert_eq!(package["arch"], "x86_64");
    assert_eq!(package["module_file"], format!("/lib/modules/{KERNEL}/livepatch/livepatch-5-150600_6_1.ko"));
    // Version 5 fixes two CVEs in one entry; 3 is bug-only; 2 has two CVEs.
    assert_eq!(
        strings(&package["cves"]),
        ["CVE-2025-21050", "CVE-2025-21051", "CVE-2025-21040", "CVE-2025-21020", "CVE-2025-21021"]
    );
    assert_eq!(strings(&package["fixes"]), ["bsc#1240030"]);
    assert_eq!(package["initial"], false);
    assert!(package.get("expiration").is_none() && package.get("update").is_none(), "-vv fields at -v: {package}");

    let text = pkg.klp(&["-v", "--format", "text", "patches"]).run();
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(
        classic_block(&text.stdout),
        [
            patch_name(5).as_str(),
            "    active: 1",
            &format!("    RPM: {PACKAGE}-5-150600.6.1.x86_64"),
            "    CVE: CVE-2025-21050 CVE-2025-21051 CVE-2025-21040 CVE-2025-21020 CVE-2025-21021",
            "    bug fixes and enhancements: bsc#1240030",
        ]
    );
    // The field parsers' rule: every indented line is `key: value`.
    for line in text.stdout.lines().skip(1) {
        let (key, _) = line.trim_start().split_once(':').unwrap_or_else(|| panic!("not key: value: {line:?}"));
        assert!(line.starts_with("    ") && !key.is_empty(), "{line:?}");
    }
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn patches_v_versions_two_digit() {
    let pkg = PkgRoot::new(&["--installed", "12"]);
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    let package = &doc["patches"][0]["package"];
    assert_eq!(package["version"], "12");
    assert_eq!(strings(&package["cves"]), expected_cves(12));
    assert_eq!(strings(&package["fixes"]), expected_fixes(12));
    assert_eq!(strings(&package["fixes"]), ["bsc#1240120", "bsc#1240090", "bsc#1240060", "bsc#1240030"]);
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn initial_patch_says_so() {
    let pkg = PkgRoot::new(&["--installed", "1"]);
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    let package = &doc["patches"][0]["package"];
    assert_eq!(
        (package["initial"].as_bool(), package["cves"].clone(), package["fixes"].clone()),
        (Some(true), json!([]), json!([]))
    );
    let text = pkg.klp(&["-v", "--format", "text", "patches"]).run();
    assert_eq!(
        classic_block(&text.stdout)[2..],
        [
            format!("    RPM: {PACKAGE}-1-150600.2.1.x86_64").as_str(),
            "    CVE: (none - this is an initial kernel live patch)",
            "    bug fixes and enhancements: (none)",
        ]
    );
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn unowned_and_module_file_gone() {
    let pkg = PkgRoot::new(&["--installed", "4"]);
    // A patch built and loaded by hand: sysfs dir and a module no package owns.
    let manual = pkg.root.join("sys/kernel/livepatch/livepatch_manual_fix");
    std::fs::create_dir_all(manual.join("vmlinux/cmdline_proc_show,1")).unwrap();
    std::fs::write(manual.join("enabled"), "1\n").unwrap();
    std::fs::write(manual.join("transition"), "0\n").unwrap();
    std::fs::write(pkg.module_dir().join("livepatch-manual-fix.ko"), "by hand\n").unwrap();
    // The packaged patch's module file removed: the patch-name rule finds it.
    std::fs::remove_file(pkg.module_dir().join("livepatch-4-150600_5_1.ko")).unwrap();

    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    let by_name = |name: &str| doc["patches"].as_array().unwrap().iter().find(|p| p["name"] == name).cloned().unwrap();
    let manual = by_name("livepatch_manual_fix")["package"].clone();
    assert_eq!(manual["owner"], "none");
    assert_eq!(manual["nevra"], Value::Null);
    assert_eq!(manual["module_file"], format!("/lib/modules/{KERNEL}/livepatch/livepatch-manual-fix.ko"));
    let packaged = by_name(&patch_name(4))["package"].clone();
    assert_eq!(packaged["owner"], "package");
    assert_eq!(packaged["found_by"], "patch_name");
    assert_eq!(packaged["module_file"], Value::Null);
    assert_eq!(packaged["nevra"], format!("{PACKAGE}-4-150600.5.1.x86_64"));
    assert_eq!(strings(&packaged["cves"]), expected_cves(4));

    let text = pkg.klp(&["-v", "--format", "text", "patches"]).run();
    assert_eq!(text.code, 0);
    let block: Vec<&str> =
        text.stdout.split("\n\n").find(|b| b.starts_with("livepatch_manual_fix")).unwrap().lines().collect();
    assert_eq!(block[2..5], ["    RPM: (none)", "    CVE: (none)", "    bug fixes and enhancements: (none)"]);
    assert!(block.contains(&"    owner: none (no package owns this patch)"), "{block:?}");

    // -vv: no vendor support date and no update for a patch built by hand.
    let doc = pkg.klp(&["-vv", "patches"]).run().json(0);
    let manual = doc["patches"].as_array().unwrap().iter().find(|p| p["name"] == "livepatch_manual_fix").unwrap()
        ["package"]
        .clone();
    assert_eq!(manual["expiration"], json!({"date": null, "source": "unknown", "expired": null, "basis": null}));
    assert!(manual.get("update").is_none(), "{manual}");
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn patches_vv_expiration_and_updates() {
    let pkg = PkgRoot::new(&["--installed", "9"]);
    let doc = pkg.klp(&["-vv", "patches"]).run().json(0);
    let package = &doc["patches"][0]["package"];
    // No lifecycle data: mkroot's kernel package was built 2025-01-15.
    let expiration = &package["expiration"];
    assert_eq!(expiration["source"], "estimate");
    assert_eq!(expiration["date"], "2026-01-15");
    let today = today();
    assert_eq!(expiration["expired"], json!(today.as_str() > "2026-01-15"));
    assert!(expiration["basis"].as_str().unwrap().contains("kernel-default-6.4.0-150600.23.22"), "{expiration}");
    assert_eq!(package["update"], json!({"status": "available", "newest": edition(12), "refreshed": false}));

    // Lifecycle data wins over the estimate.
    let data = pkg.root.join("usr/share/lifecycle/data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("sle-live-patching.lifecycle"), format!("# name, version, date\n{PACKAGE}, 9, 2099-12-31\nkernel-livepatch-*, *, 2000-01-01\n/kernel-livepatch-.*-default/, 9*, 2098-06-30\n")).unwrap();
    let doc = pkg.klp(&["-vv", "patches", "--refresh"]).run().json(0);
    let package = &doc["patches"][0]["package"];
    assert_eq!(
        package["expiration"],
        json!({"date": "2098-06-30", "source": "lifecycle", "expired": false, "basis": "/usr/share/lifecycle/data/sle-live-patching.lifecycle"})
    );
    assert_eq!(package["update"]["refreshed"], true);

    let text = pkg.klp(&["-vv", "--format", "text", "patches"]).run();
    assert!(text.stdout.contains("\n    expires: 2098-06-30 (lifecycle data)\n"), "{}", text.stdout);
    assert!(text.stdout.contains(&format!("\n    update: available ({})\n", edition(12))), "{}", text.stdout);
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn patches_vv_newest_is_up_to_date() {
    let pkg = PkgRoot::new(&["--installed", "12"]);
    let doc = pkg.klp(&["-vv", "patches"]).run().json(0);
    assert_eq!(
        doc["patches"][0]["package"]["update"],
        json!({"status": "up_to_date", "newest": edition(12), "refreshed": false})
    );
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn missing_tools_are_warnings_for_patches_and_errors_for_downgrade() {
    let pkg = PkgRoot::new(&["--installed", "3"]);
    let empty_path = pkg.dir().join("empty-bin");
    std::fs::create_dir_all(&empty_path).unwrap();
    let doc = pkg.klp(&["-v", "patches"]).env("PATH", empty_path.to_str().unwrap()).run().json(0);
    assert_eq!(doc["patches"][0]["package"]["owner"], "unknown");
    assert_eq!(doc["warnings"][0]["code"], "tool_missing");
    let text = pkg.klp(&["-v", "--format", "text", "patches"]).env("PATH", empty_path.to_str().unwrap()).run();
    assert!(text.stdout.contains("\n    RPM: (unknown)\n"), "{}", text.stdout);

    // rpm present, zypper absent.
    std::os::unix::fs::symlink(which("rpm"), empty_path.join("rpm")).unwrap();
    let err = pkg.klp(&["-n", "downgrade"]).env("PATH", empty_path.to_str().unwrap()).run().json(1);
    assert_eq!(err["error"]["code"], "tool_missing");
    assert_eq!(err["error"]["details"]["installed"], edition(3));
    assert_eq!(pkg.installed(), Some(edition(3)));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn broken_rpm_database_is_rpm_failed() {
    let pkg = PkgRoot::new(&["--installed", "3"]);
    let db = pkg.root.join("usr/lib/sysimage/rpm");
    for entry in std::fs::read_dir(&db).unwrap().flatten() {
        std::fs::write(entry.path(), "not a database").unwrap();
    }
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    assert_eq!(doc["warnings"][0]["code"], "rpm_failed", "{doc}");
    assert_eq!(doc["patches"][0]["package"]["owner"], "unknown");
    let err = pkg.klp(&["-n", "downgrade"]).run().json(1);
    assert_eq!(err["error"]["code"], "rpm_failed", "{err}");
}

// ---- downgrade ----

fn assert_downgraded(doc: &Value, from: u32, to: u32) {
    assert_eq!(doc["package"], PACKAGE);
    assert_eq!((doc["from"].clone(), doc["to"].clone()), (json!(edition(from)), json!(edition(to))));
    assert_eq!(doc["changed"], true);
    assert_eq!(doc["dry_run"], false);
    assert_eq!(doc["zypper_exit_code"], 0);
    assert_eq!(doc["installed_after"], edition(to));
    assert_eq!(doc["patch_before"], patch_name(from));
    assert_eq!(doc["patch_after"], patch_name(to));
    let command = strings(&doc["command"]);
    assert_eq!(command[0], "zypper");
    for arg in ["--root", "--non-interactive", "install", "--oldpackage"] {
        assert!(command.iter().any(|a| a == arg), "{arg} missing from {command:?}");
    }
    assert_eq!(command.last().unwrap(), &format!("{PACKAGE}={}", edition(to)));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_n_picks_previous_by_rpm_order() {
    // From 10 the previous is 9: as strings, "1" would be the only older one.
    let pkg = PkgRoot::new(&["--installed", "10"]);
    let doc = pkg.klp(&["-n", "downgrade"]).run().json(0);
    assert_downgraded(&doc, 10, 9);
    assert_eq!(pkg.installed(), Some(edition(9)));
    assert_eq!(pkg.loaded(), [patch_name(9)]);
    let names = pkg.klp(&["--format", "text", "patches"]).run();
    assert_eq!(names.stdout, format!("{}\n", patch_name(9)));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_confirmed_on_terminal() {
    let pkg = PkgRoot::new(&["--installed", "5"]);
    let run = run_on_terminal(&pkg.klp(&["downgrade"]), "y");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_downgraded(&run.doc, 5, 4);
    assert!(run.terminal.contains("Proceed? [y/N]"), "{:?}", run.terminal);
    assert!(run.terminal.contains(&format!("--oldpackage {PACKAGE}={}", edition(4))), "{:?}", run.terminal);
    assert!(!run.stdout.contains("Proceed"), "prompt leaked to stdout");
    assert_eq!(pkg.installed(), Some(edition(4)));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_declined_on_terminal() {
    let pkg = PkgRoot::new(&["--installed", "5"]);
    let run = run_on_terminal(&pkg.klp(&["downgrade"]), "n");
    assert_eq!(run.code, 1);
    assert_eq!(run.doc["error"]["code"], "declined");
    assert_eq!(run.doc["error"]["details"]["installed"], edition(5));
    assert!(run.terminal.contains("Proceed? [y/N]"));
    assert_eq!(pkg.installed(), Some(edition(5)));
    assert_eq!(pkg.loaded(), [patch_name(5)]);
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_without_terminal_refuses() {
    let pkg = PkgRoot::new(&["--installed", "5"]);
    let out = without_terminal(&pkg.klp(&["downgrade"])).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::support::assert_valid("error", &doc);
    assert_eq!(doc["error"]["code"], "no_terminal");
    assert_eq!(doc["error"]["details"]["installed"], edition(5));
    assert_eq!(pkg.installed(), Some(edition(5)));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_to_version_and_to_installed() {
    let pkg = PkgRoot::new(&["--installed", "11"]);
    let doc = pkg.klp(&["-n", "downgrade", "--to", "3"]).run().json(0);
    assert_downgraded(&doc, 11, 3);
    assert_eq!(pkg.loaded(), [patch_name(3)]);
    assert_eq!(pkg.installed(), Some(edition(3)));
    // Again: already there, no change, success (idempotence for Ansible/Salt).
    let again = pkg.klp(&["-n", "downgrade", "--to", &edition(3)]).run().json(0);
    assert_eq!(again["changed"], false);
    assert_eq!((again["from"].clone(), again["to"].clone()), (json!(edition(3)), json!(edition(3))));
    assert_eq!(again["command"], json!([]));
    assert_eq!(again["zypper_exit_code"], Value::Null);
    assert_eq!(again["installed_after"], edition(3));
    let text = pkg.klp(&["-n", "--format", "text", "downgrade", "--to", "3"]).run();
    assert_eq!(text.stdout, format!("{PACKAGE} is already at {}: nothing to do\n", edition(3)));
    // The text summary of a change.
    let text = pkg.klp(&["-n", "--format", "text", "downgrade"]).run();
    assert_eq!((text.code, text.stderr.as_str()), (0, ""));
    let root = pkg.root.display();
    assert_eq!(
        text.stdout,
        format!(
            "downgraded {PACKAGE} from {} to {}\ncommand: zypper --root {root} --non-interactive install --oldpackage {PACKAGE}={}\nlive patch: {} -> {}\n",
            edition(3), edition(2), edition(2), patch_name(3), patch_name(2)
        )
    );
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_dry_run_changes_nothing() {
    let pkg = PkgRoot::new(&["--installed", "7"]);
    let doc = pkg.klp(&["downgrade", "--dry-run"]).run().json(0);
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["changed"], false);
    assert_eq!(doc["to"], edition(6));
    assert_eq!(doc["zypper_exit_code"], Value::Null);
    assert_eq!(doc["installed_after"], Value::Null);
    assert_eq!(strings(&doc["command"]).last().unwrap(), &format!("{PACKAGE}={}", edition(6)));
    let text = pkg.klp(&["--format", "text", "downgrade", "--dry-run", "--to", "2"]).run();
    assert!(
        text.stdout.starts_with(&format!(
            "would downgrade {PACKAGE} from {} to {}\ncommand: zypper ",
            edition(7),
            edition(2)
        )),
        "{}",
        text.stdout
    );
    assert_eq!(pkg.installed(), Some(edition(7)));
    assert_eq!(pkg.loaded(), [patch_name(7)]);
}

/// Runs `klp -n downgrade ARGS` expecting error `code`, and checks that the
/// installed version is unchanged, by rpm and by the error's own details.
fn expect_failure(pkg: &PkgRoot, args: &[&str], code: &str, installed: Option<u32>) -> Value {
    let mut argv = vec!["-n", "downgrade"];
    argv.extend_from_slice(args);
    let doc = pkg.klp(&argv).run().json(1);
    assert_eq!(doc["error"]["code"], code, "{doc}");
    assert_eq!(doc["error"]["exit_code"], 1);
    let want = installed.map(edition);
    assert_eq!(doc["error"]["details"]["installed"], json!(want), "{doc}");
    assert_eq!(pkg.installed(), want);
    doc
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_failures() {
    let pkg = PkgRoot::new(&["--installed", "1"]);
    let doc = expect_failure(&pkg, &[], "no_older_version", Some(1));
    assert_eq!(doc["error"]["details"]["available"].as_array().unwrap().len(), 12);
    expect_failure(&pkg, &["--to", "5"], "version_newer", Some(1));

    let pkg = PkgRoot::new(&["--installed", "6"]);
    let doc = expect_failure(&pkg, &["--to", "0"], "version_not_found", Some(6));
    assert!(doc["error"]["message"].as_str().unwrap().contains("version 0"));
    expect_failure(&pkg, &["--to", "10"], "version_newer", Some(6));
    // A whole edition works too, but it must exist as written.
    expect_failure(&pkg, &["--to", "2-150600.9.9"], "version_not_found", Some(6));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_without_package() {
    let pkg = PkgRoot::new(&["--no-package"]);
    let doc = pkg.klp(&["-n", "downgrade"]).run().json(1);
    assert_eq!(doc["error"]["code"], "no_package");
    assert_eq!(doc["error"]["details"]["package"], PACKAGE);
    assert_eq!(pkg.installed(), None);
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_with_empty_repository() {
    let pkg = PkgRoot::new(&["--installed", "3", "--empty-repo"]);
    let doc = expect_failure(&pkg, &[], "no_older_version", Some(3));
    assert_eq!(doc["error"]["details"]["available"], json!([]));
    expect_failure(&pkg, &["--to", "2"], "version_not_found", Some(3));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_lock_held_by_real_zypper() {
    let pkg = PkgRoot::new(&["--installed", "5"]);
    // `zypper shell` holds the lock while it waits for commands on stdin.
    let mut holder = pkg
        .command("zypper")
        .arg("--root")
        .arg(&pkg.root)
        .arg("shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = pkg.root.join("run/zypp.pid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&pid_file).unwrap_or_default().trim() != holder.id().to_string() {
        assert!(std::time::Instant::now() < deadline, "zypper shell did not take the lock");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let doc = expect_failure(&pkg, &[], "lock_held", Some(5));
    assert!(doc["error"]["message"].as_str().unwrap().contains(&format!("pid {}", holder.id())), "{doc}");
    drop(holder.stdin.take()); // EOF: zypper shell exits and frees the lock
    holder.wait().unwrap();
    // Free again: the same command works.
    assert_downgraded(&pkg.klp(&["-n", "downgrade"]).run().json(0), 5, 4);
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_lock_held_by_lock_file() {
    let pkg = PkgRoot::new(&["--installed", "5"]);
    // A live process named in zypper's lock file, as zypper leaves it.
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(pkg.root.join("run/zypp.pid"), format!("{}\n", sleeper.id())).unwrap();
    let doc = expect_failure(&pkg, &["--to", "2"], "lock_held", Some(5));
    assert_eq!(doc["error"]["details"]["exit_code"], 7);
    // `patches -vv` still answers; only the update status is unknown.
    let patches = pkg.klp(&["-vv", "patches"]).run().json(0);
    assert_eq!(patches["warnings"][0]["code"], "lock_held", "{patches}");
    assert_eq!(patches["patches"][0]["package"]["update"]["status"], "unknown");
    assert_eq!(patches["patches"][0]["package"]["nevra"], format!("{PACKAGE}-{}.x86_64", edition(5)));
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_refuses_while_another_klp_downgrade_holds_the_root() {
    let pkg = PkgRoot::new(&["--installed", "5"]);
    // util-linux flock holds klp's lock as a concurrent `klp downgrade` would.
    let lock_file = pkg.root.join("run/klp-downgrade.lock");
    std::fs::create_dir_all(lock_file.parent().unwrap()).unwrap();
    let mut holder = hold_lock(&lock_file);
    let doc = expect_failure(&pkg, &["--to", "2"], "lock_held", Some(5));
    assert!(doc["error"]["message"].as_str().unwrap().contains("another klp downgrade"), "{doc}");
    assert_eq!(doc["error"]["details"]["installed"], edition(5));
    // A dry run only reads: the lock does not stop it.
    let plan = pkg.klp(&["downgrade", "--dry-run", "--to", "2"]).run().json(0);
    assert_eq!(plan["to"], edition(2));
    holder.kill().unwrap();
    holder.wait().unwrap();
    // Once released, the same downgrade goes through.
    let done = pkg.klp(&["-n", "downgrade", "--to", "2"]).run().json(0);
    assert_eq!(done["changed"], true);
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn downgrade_zypper_failure_carries_exit_code_and_output() {
    let pkg = PkgRoot::new(&["--installed", "5"]);
    // The repository still lists version 4, but its file is gone.
    let rpm_file = pkg.repo.join(format!("{PACKAGE}-{}.x86_64.rpm", edition(4)));
    std::fs::remove_file(&rpm_file).unwrap();
    let doc = expect_failure(&pkg, &[], "zypper_failed", Some(5));
    let details = &doc["error"]["details"];
    let code = details["exit_code"].as_i64().unwrap();
    assert!(code != 0 && code != 7, "{details}");
    assert!(!details["output"].as_str().unwrap().is_empty());
    assert_eq!(strings(&details["command"]).last().unwrap(), &format!("{PACKAGE}={}", edition(4)));
    assert_eq!(pkg.loaded(), [patch_name(5)]);
}

fn which(tool: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file()).unwrap()
}

fn today() -> String {
    let out = Command::new("date").args(["-u", "+%Y-%m-%d"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn root_without_rpm_database_runs_no_rpm() {
    // Debian's rpm creates an empty database on a mere query: klp must not
    // run rpm where there is no database (fixture roots, non-rpm hosts).
    let dir = tempfile::tempdir().unwrap();
    let patch = dir.path().join("sys/kernel/livepatch/livepatch_2_150600_3_1");
    std::fs::create_dir_all(patch.join("vmlinux/f,1")).unwrap();
    std::fs::write(patch.join("enabled"), "1\n").unwrap();
    std::fs::write(patch.join("transition"), "0\n").unwrap();
    std::fs::create_dir_all(dir.path().join("proc/sys/kernel")).unwrap();
    std::fs::write(dir.path().join("proc/sys/kernel/osrelease"), format!("{KERNEL}\n")).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let doc = crate::support::klp(&["-vv", "patches"])
        .root_path(dir.path())
        .env("HOME", home.to_str().unwrap())
        .run()
        .json(0);
    assert_eq!(doc["warnings"][0]["code"], "no_rpm_database");
    assert_eq!(doc["patches"][0]["package"]["owner"], "unknown");
    let err = crate::support::klp(&["-n", "downgrade"])
        .root_path(dir.path())
        .env("HOME", home.to_str().unwrap())
        .run()
        .json(1);
    // One code for one condition: downgrade fails with the warning's code.
    assert_eq!(err["error"]["code"], "no_rpm_database");
    let mut left = Vec::new();
    for sub in ["root", "home", "usr", "var"] {
        if dir.path().join(sub).read_dir().is_ok_and(|mut d| d.next().is_some()) {
            left.push(sub);
        }
    }
    assert!(left.is_empty(), "klp (through rpm) wrote into the root: {left:?}");
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and zypper: run by tests/pkg/run.sh"]
fn usrmerged_root_finds_the_owner() {
    // /lib a symlink to usr/lib (newer SUSE): rpm's file list says /lib/...,
    // the directory walk sees the module under both paths.
    let pkg = PkgRoot::new(&["--installed", "4"]);
    std::fs::rename(pkg.root.join("lib/modules"), pkg.root.join("usr/lib/modules")).unwrap();
    std::fs::remove_dir(pkg.root.join("lib")).unwrap();
    std::os::unix::fs::symlink("usr/lib", pkg.root.join("lib")).unwrap();
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    let package = &doc["patches"][0]["package"];
    assert_eq!(
        (package["owner"].as_str(), package["found_by"].as_str()),
        (Some("package"), Some("module_file")),
        "{doc}"
    );
    assert_eq!(strings(&package["cves"]), expected_cves(4));
}
