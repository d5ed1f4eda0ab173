//! `klp assess` and `klp cve` on roots built with the real rpm, rpmbuild,
//! createrepo_c and zypper (`tests/pkg/mkroot.py`): kernel-default packages
//! installed side by side by zypper (multiversion), SUSE-style changelogs,
//! live patches whose changelogs name some of the next kernel's CVEs, and
//! lifecycle data ending support in the past, soon, or far away. What the
//! kernel shows (sysfs states, the kernel log, tasks) is laid over the root
//! as a fixture, since no real kernel runs here.
//!
//! mkroot's kernels: the running 23.22 names CVE-2024-50001..50010; 23.25 adds
//! CVE-2025-21020 and CVE-2025-21050 (live patches 2 and 5 fix them); 23.28
//! adds CVE-2025-30001, CVE-2025-30002 and CVE-2025-21110 (live patch 11).
//! Every finding code is produced by one of these scenarios (see
//! `every_finding_code_has_a_scenario`).

use super::root::{edition, patch_name, PkgRoot, KERNEL, PACKAGE};
use crate::fixture::{Fixture, Patch, Task};
use crate::support::repo_path;
use serde_json::{json, Value};

const NEXT: &str = "6.4.0-150600.23.25-default";
const AFTER: &str = "6.4.0-150600.23.28-default";

fn codes(doc: &Value) -> Vec<&str> {
    doc["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect()
}

fn sorted(mut list: Vec<&str>) -> Vec<&str> {
    list.sort();
    list.dedup();
    list
}

fn finding<'a>(doc: &'a Value, code: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no finding {code}: {:#}", doc["findings"]))
}

fn subjects<'a>(doc: &'a Value, code: &str) -> Vec<&'a str> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| f["subject"].as_str().unwrap())
        .collect()
}

/// The kernel as it shows itself: a log that reaches back to boot.
fn booted() -> Fixture {
    Fixture::new().keep_kernel_files().log(0.0, &format!("Linux version {KERNEL}")).uptime(1000.0)
}

fn text(pkg: &PkgRoot, args: &[&str]) -> (i32, String) {
    let mut all = vec!["--format", "text"];
    all.extend_from_slice(args);
    let out = pkg.klp(&all).run();
    (out.code, out.stdout)
}

#[test]
fn healthy_host_is_ok() {
    let Some(pkg) = PkgRoot::new(&["--installed", "12", "--support-ends", "400"]) else { return };
    pkg.overlay(booted());
    let doc = pkg.klp(&["assess"]).run().json(0);
    assert_eq!(doc["verdict"], "ok");
    assert_eq!(doc["reboot_required"], false);
    assert_eq!(doc["reboot_reasons"], json!([]));
    assert_eq!(doc["findings"], json!([]), "{:#}", doc["findings"]);
    assert_eq!(doc["warnings"], json!([]));
    let facts = &doc["facts"];
    assert_eq!(facts["running_kernel"]["nevra"], pkg.kernel_nevra(KERNEL));
    assert_eq!(facts["running_kernel"]["kernel_release"], KERNEL);
    assert_eq!(facts["next_boot_kernel"]["nevra"], pkg.kernel_nevra(KERNEL));
    assert_eq!(facts["next_boot_source"], "boot_symlink");
    assert_eq!(facts["installed_kernels"].as_array().unwrap().len(), 1);
    assert_eq!(facts["installed_livepatch"], format!("{PACKAGE}-{}.x86_64", edition(12)));
    let patch = &facts["patches"][0];
    assert_eq!(patch["name"], patch_name(12));
    assert_eq!((patch["version"].as_str(), patch["days_left"].as_i64()), (Some("12"), Some(400)));
    assert_eq!((patch["support_source"].as_str(), patch["update"].as_str()), (Some("lifecycle"), Some("up_to_date")));
    assert_eq!(facts["kernel_log"]["complete"], true);

    assert_eq!(
        text(&pkg, &["assess"]),
        (0, "verdict: ok\nreboot required: no\ntransition: none\nfindings: (none)\n".into())
    );

    // Fixed by the running kernel and by the live patch (version 11's fix, cumulative in 12).
    let cve = pkg.klp(&["cve", "CVE-2024-50003", "cve-2025-21110"]).run().json(0);
    assert_eq!(
        cve["cves"][0]["fixed_by"],
        json!([{"kind": "running_kernel", "package": pkg.kernel_nevra(KERNEL), "patch": null}])
    );
    assert_eq!(cve["cves"][1]["id"], "CVE-2025-21110");
    assert_eq!(cve["cves"][1]["fixed_by"][0]["patch"], patch_name(12));
    assert_eq!(
        text(&pkg, &["cve", "CVE-2024-50003", "CVE-2025-21110"]),
        (
            0,
            format!(
                "CVE-2024-50003 fixed running_kernel {}\nCVE-2025-21110 fixed live_patch {}\n",
                pkg.kernel_nevra(KERNEL),
                patch_name(12)
            )
        )
    );
    let doc = pkg.klp(&["assess", "--cve", "CVE-2024-50003"]).run().json(0);
    assert_eq!(doc["cves"][0]["status"], "fixed");
}

#[test]
fn newer_kernels_expiring_support_and_cves_only_a_reboot_fixes() {
    let Some(pkg) = PkgRoot::new(&["--installed", "5", "--newer-kernels", "2", "--support-ends", "20"]) else { return };
    pkg.overlay(Fixture::new().keep_kernel_files().log_rotated(9000).uptime(5000.0));
    let doc = pkg.klp(&["assess"]).run().json(1);
    assert_eq!(doc["verdict"], "warning");
    assert_eq!(
        sorted(codes(&doc)),
        [
            "kernel_log_incomplete",
            "newer_kernel_fixes_cves",
            "newer_kernel_installed",
            "support_expiring",
            "update_available"
        ]
    );
    assert_eq!(doc["reboot_required"], true);
    assert_eq!(doc["reboot_reasons"], json!(["newer_kernel_fixes_cves"]));
    let newer = finding(&doc, "newer_kernel_fixes_cves");
    assert_eq!(newer["subject"], pkg.kernel_nevra(AFTER));
    // 23.28 names 21020 and 21050 too, but live patch 5 fixes those already.
    assert_eq!(newer["evidence"]["cves"], json!(["CVE-2025-21110", "CVE-2025-30001", "CVE-2025-30002"]));
    assert_eq!(subjects(&doc, "newer_kernel_installed"), [pkg.kernel_nevra(AFTER), pkg.kernel_nevra(NEXT)]);
    let expiring = finding(&doc, "support_expiring");
    assert_eq!(
        (expiring["severity"].as_str(), expiring["evidence"]["days_left"].as_i64()),
        (Some("warning"), Some(20))
    );
    assert_eq!(finding(&doc, "update_available")["evidence"]["newest"], edition(12));
    let facts = &doc["facts"];
    assert_eq!(
        (facts["next_boot_kernel"]["nevra"].clone(), facts["next_boot_source"].clone()),
        (json!(pkg.kernel_nevra(AFTER)), json!("boot_symlink"))
    );
    let installed: Vec<&str> =
        facts["installed_kernels"].as_array().unwrap().iter().map(|k| k["kernel_release"].as_str().unwrap()).collect();
    assert_eq!(installed, [AFTER, NEXT, KERNEL]);

    // Thresholds: within --expiry-critical it is critical; beyond --expiry-warning nothing.
    let doc = pkg.klp(&["assess", "--expiry-critical", "25"]).run().json(2);
    assert_eq!(finding(&doc, "support_expiring")["severity"], "critical");
    assert_eq!(doc["thresholds"]["expiry_critical_days"], 25);
    let doc = pkg.klp(&["assess", "--expiry-warning", "10"]).run().json(1);
    assert!(!codes(&doc).contains(&"support_expiring"));

    // A CVE asked for that only the next-boot kernel fixes: critical, and a reboot fixes it.
    let doc = pkg.klp(&["assess", "--cve", "CVE-2025-30001", "--cve", "CVE-2025-21050"]).run().json(2);
    let not_fixed = finding(&doc, "cve_not_fixed");
    assert_eq!(
        (not_fixed["subject"].as_str(), not_fixed["severity"].as_str()),
        (Some("CVE-2025-30001"), Some("critical"))
    );
    assert_eq!(not_fixed["evidence"]["fixed_after_reboot"], pkg.kernel_nevra(AFTER));
    assert_eq!(doc["reboot_reasons"], json!(["cve_not_fixed", "newer_kernel_fixes_cves"]));
    assert_eq!(doc["cves"][1]["status"], "fixed");
    let cve = pkg.klp(&["cve", "CVE-2025-30001", "CVE-2025-21050", "CVE-2099-0001"]).run().json(1);
    assert_eq!(cve["cves"][0]["fixed_after_reboot"], pkg.kernel_nevra(AFTER));
    assert_eq!(cve["next_boot_kernel"]["nevra"], pkg.kernel_nevra(AFTER));
    assert_eq!(
        text(&pkg, &["cve", "CVE-2025-30001", "CVE-2025-21050", "CVE-2099-0001"]).1,
        format!(
            "CVE-2025-30001 not_fixed after_reboot {}\nCVE-2025-21050 fixed live_patch {}\nCVE-2099-0001 not_fixed\n",
            pkg.kernel_nevra(AFTER),
            patch_name(5)
        )
    );

    // Booting 23.25 next: the live patch already fixes all its new CVEs, no reboot needed.
    let link = pkg.root.join("boot/vmlinuz");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(format!("vmlinuz-{NEXT}"), &link).unwrap();
    let doc = pkg.klp(&["assess"]).run().json(1);
    assert_eq!(doc["facts"]["next_boot_kernel"]["nevra"], pkg.kernel_nevra(NEXT));
    assert!(!codes(&doc).contains(&"newer_kernel_fixes_cves"), "{:?}", codes(&doc));
    assert_eq!((doc["reboot_required"].clone(), doc["reboot_reasons"].clone()), (json!(false), json!([])));
    // No symlink: the highest installed version boots next.
    std::fs::remove_file(&link).unwrap();
    let doc = pkg.klp(&["assess"]).run().json(1);
    assert_eq!(doc["facts"]["next_boot_source"], "highest_installed");
    assert_eq!(doc["facts"]["next_boot_kernel"]["nevra"], pkg.kernel_nevra(AFTER));
}

#[test]
fn expired_support_forced_transition_and_a_patch_loaded_by_hand() {
    let Some(pkg) = PkgRoot::new(&["--installed", "5", "--support-ends", "-3"]) else { return };
    let lp = patch_name(5);
    pkg.overlay(
        booted()
            .log(10.0, &format!("livepatch: '{lp}': starting patching transition"))
            .log(25.0, "livepatch: signaling remaining tasks")
            .log(40.0, "livepatch: forcing remaining tasks to the patched state")
            .log(40.1, &format!("livepatch: '{lp}': patching complete"))
            .patch(Patch::new("my_hotfix").enabled(false)),
    );
    let doc = pkg.klp(&["assess"]).run().json(2);
    assert_eq!(doc["verdict"], "critical");
    assert_eq!(doc["reboot_required"], true);
    assert_eq!(doc["reboot_reasons"], json!(["support_expired", "transition_forced"]));
    let expired = finding(&doc, "support_expired");
    assert_eq!((expired["subject"].as_str(), expired["evidence"]["days_left"].as_i64()), (Some(lp.as_str()), Some(-3)));
    assert_eq!(finding(&doc, "transition_forced")["subject"], lp);
    assert_eq!(
        doc["facts"]["kernel_log"]["forced"][0]["message"],
        "livepatch: forcing remaining tasks to the patched state"
    );
    assert_eq!(subjects(&doc, "patch_disabled"), ["my_hotfix"]);
    assert_eq!(subjects(&doc, "patch_not_from_package"), ["my_hotfix"]);
    assert_eq!(doc["findings"][0]["severity"], "critical");
}

#[test]
fn upgraded_by_zypper_while_the_old_patch_stays_loaded() {
    let Some(pkg) = PkgRoot::new(&["--installed", "5", "--support-ends", "200"]) else { return };
    let out = pkg
        .command("zypper")
        .arg("--root")
        .arg(&pkg.root)
        .args(["--non-interactive", "install", &format!("{PACKAGE}={}", edition(6))])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(pkg.installed(), Some(edition(6)));
    // The kernel still runs version 5: its sysfs stays, version 6 never loaded.
    std::fs::remove_dir_all(pkg.root.join("sys/kernel/livepatch").join(patch_name(6))).unwrap();
    pkg.overlay(booted().patch(Patch::new(&patch_name(5))));
    let doc = pkg.klp(&["assess"]).run().json(1);
    let v6 = format!("{PACKAGE}-{}.x86_64", edition(6));
    assert_eq!(subjects(&doc, "package_not_loaded"), [v6.as_str()]);
    let older = finding(&doc, "loaded_older_than_installed");
    assert_eq!(
        (older["subject"].as_str(), older["evidence"]["loaded_version"].as_str()),
        (Some(patch_name(5).as_str()), Some("5"))
    );
    // Version 5's package is gone: the loaded patch belongs to none.
    assert_eq!(subjects(&doc, "patch_not_from_package"), [patch_name(5).as_str()]);
    assert_eq!(doc["reboot_required"], false);

    // Nothing loaded at all: only "installed but not loaded".
    std::fs::remove_dir_all(pkg.root.join("sys/kernel/livepatch").join(patch_name(5))).unwrap();
    let doc = pkg.klp(&["assess"]).run().json(1);
    assert_eq!(sorted(codes(&doc)), ["package_not_loaded"]);
}

#[test]
fn transition_on_a_package_root() {
    let Some(pkg) = PkgRoot::new(&["--installed", "5", "--support-ends", "200"]) else { return };
    let lp = patch_name(5);
    let in_transition = || {
        Fixture::new()
            .keep_kernel_files()
            .uptime(1000.0)
            .patch(Patch::new(&lp).transition(true))
            .task(Task::user(500, 500, "sleeper", &["sleeper"]).state('D').patch_state(0))
            .task(Task::user(501, 501, "odd", &["odd"]).without_patch_state())
    };
    pkg.overlay(
        in_transition().log(0.0, "Linux").log(900.0, &format!("livepatch: '{lp}': starting patching transition")),
    );
    let doc = pkg.klp(&["assess"]).run().json(1);
    assert_eq!(sorted(codes(&doc)), ["blocking_incomplete", "transition_in_progress", "update_available"]);
    assert_eq!(doc["transition"]["started_seconds_ago"], 100.0);
    assert_eq!(doc["transition"]["blocking_threads"], 1);
    assert_eq!(doc["transition"]["blocking_complete"], false);
    assert_eq!(doc["reboot_required"], false);
    let status = pkg.klp(&["status"]).run().json(0);
    assert_eq!(status["transition"]["started_seconds_ago"], 100.0);

    let doc = pkg.klp(&["assess", "--stuck-after", "60"]).run().json(2);
    assert_eq!(finding(&doc, "transition_stuck")["subject"], lp);
    assert_eq!(doc["reboot_reasons"], json!(["transition_stuck"]));

    // Named only by the patch still in transition: pending.
    let cve = pkg.klp(&["cve", "CVE-2025-21050"]).run().json(1);
    assert_eq!(cve["cves"][0]["status"], "pending");
    assert_eq!(text(&pkg, &["cve", "CVE-2025-21050"]), (1, "CVE-2025-21050 pending\n".into()));
    let doc = pkg.klp(&["assess", "--cve", "CVE-2025-21050"]).run().json(2);
    assert_eq!(finding(&doc, "cve_not_fixed")["evidence"]["status"], "pending");

    // The start record rotated out: the age is unknown, and so is the reboot answer.
    std::fs::remove_file(pkg.root.join("dev/kmsg")).unwrap();
    pkg.overlay(in_transition().log_rotated(4000));
    let doc = pkg.klp(&["assess"]).run().json(3);
    assert_eq!(doc["verdict"], "unknown");
    assert_eq!(doc["reboot_required"], json!(null));
    assert_eq!(finding(&doc, "transition_age_unknown")["evidence"]["reason"], "no_start_record");
}

#[test]
fn unreadable_rpm_database_is_unknown_never_not_fixed() {
    let Some(pkg) = PkgRoot::new(&["--installed", "3"]) else { return };
    pkg.overlay(booted());
    let db = pkg.root.join("usr/lib/sysimage/rpm");
    for entry in std::fs::read_dir(&db).unwrap().flatten() {
        std::fs::write(entry.path(), "not a database").unwrap();
    }
    let doc = pkg.klp(&["assess", "--cve", "CVE-2024-50001"]).run().json(3);
    assert_eq!(doc["verdict"], "unknown");
    assert_eq!(doc["reboot_required"], json!(null));
    assert!(codes(&doc).contains(&"package_data_unknown"), "{:?}", codes(&doc));
    assert_eq!(finding(&doc, "cve_status_unknown")["subject"], "CVE-2024-50001");
    assert!(doc["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "rpm_failed"), "{:#}", doc["warnings"]);
    let cve = pkg.klp(&["cve", "CVE-2024-50001"]).run().json(2);
    assert_eq!(cve["cves"][0]["status"], "unknown");
    assert_eq!(text(&pkg, &["cve", "CVE-2024-50001"]), (2, "CVE-2024-50001 unknown\n".into()));
}

#[test]
fn kernel_without_live_patching_nor_a_readable_log() {
    let Some(pkg) = PkgRoot::new(&["--installed", "5", "--support-ends", "200"]) else { return };
    // No dev/kmsg in the root: the log cannot be read.
    std::fs::remove_dir_all(pkg.root.join("sys/kernel/livepatch")).unwrap();
    let doc = pkg.klp(&["assess"]).run().json(2);
    assert_eq!(sorted(codes(&doc)), ["kernel_log_unreadable", "package_not_loaded", "unsupported"]);
    assert_eq!(finding(&doc, "kernel_log_unreadable")["severity"], "unknown");
    assert_eq!(doc["reboot_required"], json!(null));
    assert_eq!(finding(&doc, "unsupported")["severity"], "critical");
    assert_eq!(doc["facts"]["supported"], false);
}

/// Each code in the schema's enum is asserted by a scenario in this file.
#[test]
fn every_finding_code_has_a_scenario() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("schemas/assess.json")).unwrap()).unwrap();
    let codes: Vec<String> = schema["$defs"]["FindingCode"]["oneOf"]
        .as_array()
        .expect("FindingCode is an enum")
        .iter()
        .filter_map(|v| v["const"].as_str().map(str::to_string))
        .collect();
    assert!(codes.len() >= 20, "{codes:?}");
    let here = std::fs::read_to_string(repo_path("tests/it/pkg/decisions.rs")).unwrap();
    let missing: Vec<&String> = codes.iter().filter(|code| !here.contains(&format!("\"{code}\""))).collect();
    assert!(missing.is_empty(), "finding codes without a scenario on a real rpm root: {missing:?}");
}
