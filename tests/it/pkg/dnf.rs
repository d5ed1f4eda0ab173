//! The Red Hat backend against the real rpm, rpmbuild, createrepo_c and
//! dnf, on private roots from `tests/pkg/mkroot_dnf.py`: kernel-core
//! 427.13.1 (running) and 427.20.1, `kpatch-patch-5_14_0-427_13_1` 0-0 (the
//! placeholder) and 1-1..1-3, the installed one loaded as kpatch leaves it.
//!
//! mkroot_dnf's changelogs: 1-1 fixes CVE-2024-1086 [2262126]; 1-2 fixes
//! RHEL-30002 (no CVE) and CVE-2024-26585/26586 (a wrapped brace list,
//! [RHEL-30003 2270100]); 1-3 fixes RHEL-30010 (no CVE) and CVE-2024-26600
//! [RHEL-30011]; 0-0 names [2270000]. Packages are cumulative.

use super::root::{hold_lock, run_on_terminal, without_terminal, PkgRoot};
use serde_json::{json, Value};
use std::process::{Command, Stdio};

const KERNEL: &str = "5.14.0-427.13.1.el9_4.x86_64";
const PACKAGE: &str = "kpatch-patch-5_14_0-427_13_1";

fn edition(v: &str) -> String {
    format!("{v}.el9_4")
}

/// `kpatch_5_14_0_427_13_1_1_3` for `1-3`.
fn patch_name(v: &str) -> String {
    format!("kpatch_5_14_0_427_13_1_{}", v.replace('-', "_"))
}

fn module(v: &str) -> String {
    format!("/usr/lib/kpatch/{KERNEL}/kpatch-5_14_0-427_13_1-{v}.ko")
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

fn dnf_root(installed: &str) -> PkgRoot {
    PkgRoot::new_dnf(&["--installed", installed])
}

fn installed(pkg: &PkgRoot) -> Option<String> {
    pkg.installed_of(PACKAGE)
}

const REDHAT: &str = r#"{"name": "redhat", "chosen_by": "os_release", "os_release_id": "rhel"}"#;

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_patches_v_reads_kpatch_package_and_rhel_changelog() {
    let pkg = dnf_root("1-3");
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    assert_eq!(doc["warnings"], json!([]));
    assert_eq!(doc["backend"], serde_json::from_str::<Value>(REDHAT).unwrap());
    let patch = &doc["patches"][0];
    assert_eq!(patch["name"], patch_name("1-3"));
    let package = &patch["package"];
    assert_eq!(
        (package["owner"].as_str(), package["found_by"].as_str(), package["module_file"].as_str()),
        (Some("package"), Some("module_file"), Some(module("1-3").as_str()))
    );
    assert_eq!(package["nevra"], format!("{PACKAGE}-{}.x86_64", edition("1-3")));
    assert_eq!((package["version"].as_str(), package["release"].as_str()), (Some("1"), Some("3.el9_4")));
    assert_eq!(strings(&package["cves"]), ["CVE-2024-26600", "CVE-2024-26585", "CVE-2024-26586", "CVE-2024-1086"]);
    assert_eq!(strings(&package["fixes"]), ["RHEL-30010", "RHEL-30002", "2270000"]);
    assert_eq!(package["initial"], false);
    assert!(package.get("expiration").is_none() && package.get("update").is_none(), "{package}");

    let text = pkg.klp(&["-v", "--format", "text", "patches"]).run();
    assert_eq!((text.code, text.stderr.as_str()), (0, ""));
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(
        lines[..5],
        [
            patch_name("1-3").as_str(),
            "    active: 1",
            &format!("    RPM: {PACKAGE}-1-3.el9_4.x86_64"),
            "    CVE: CVE-2024-26600 CVE-2024-26585 CVE-2024-26586 CVE-2024-1086",
            "    bug fixes and enhancements: RHEL-30010 RHEL-30002 2270000",
        ]
    );
    for line in &lines[1..] {
        assert!(line.starts_with("    ") && line.contains(": "), "not an indented key: value line: {line:?}");
    }
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_patches_vv_estimate_and_updates_from_the_cache() {
    let pkg = dnf_root("1-1");
    let doc = pkg.klp(&["-vv", "patches"]).run().json(0);
    assert_eq!(doc["warnings"], json!([]), "{doc}");
    let package = &doc["patches"][0]["package"];
    assert_eq!(strings(&package["cves"]), ["CVE-2024-1086"]);
    assert_eq!(strings(&package["fixes"]), ["2270000"]);
    // No lifecycle data on Red Hat: the running kernel-core's build (2025-04-10) plus a year.
    let expiration = &package["expiration"];
    assert_eq!((expiration["source"].as_str(), expiration["date"].as_str()), (Some("estimate"), Some("2026-04-10")));
    assert!(expiration["basis"].as_str().unwrap().starts_with(&format!("kernel-core-{KERNEL} built 2025-04-10")));
    assert_eq!(package["update"], json!({"status": "available", "newest": edition("1-3"), "refreshed": false}));
    // Lifecycle files are SUSE's: on Red Hat they do not turn the estimate into vendor data.
    let data = pkg.root.join("usr/share/lifecycle/data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("x.lifecycle"), format!("{PACKAGE}, *, 2099-01-01\n")).unwrap();
    let doc = pkg.klp(&["-vv", "patches", "--refresh"]).run().json(0);
    let package = &doc["patches"][0]["package"];
    assert_eq!(package["expiration"]["source"], "estimate");
    assert_eq!(package["update"]["refreshed"], true);
    assert_eq!(package["update"]["status"], "available");

    let text = pkg.klp(&["-vv", "--format", "text", "patches"]).run();
    assert!(
        text.stdout.contains("\n    expires: 2026-04-10 (estimate: kernel release date plus one year)\n"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains(&format!("\n    update: available ({})\n", edition("1-3"))), "{}", text.stdout);
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_updates_are_cache_only_without_refresh() {
    let pkg = dnf_root("1-3");
    // With the cache gone, only --refresh may fetch metadata again.
    std::fs::remove_dir_all(pkg.root.join("var/cache/dnf")).unwrap();
    let doc = pkg.klp(&["-vv", "patches"]).run().json(0);
    assert_eq!(doc["warnings"][0]["code"], "dnf_failed", "{doc}");
    assert_eq!(doc["patches"][0]["package"]["update"]["status"], "unknown");
    assert!(!pkg.root.join("var/cache/dnf/klp-test.solv").exists(), "dnf -C fetched metadata");
    let doc = pkg.klp(&["-vv", "patches", "--refresh"]).run().json(0);
    assert_eq!(doc["warnings"], json!([]), "{doc}");
    assert_eq!(
        doc["patches"][0]["package"]["update"],
        json!({"status": "up_to_date", "newest": edition("1-3"), "refreshed": true})
    );
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_module_file_gone_uses_the_name_rule_and_unowned_is_none() {
    let pkg = dnf_root("1-2");
    // kpatch's copy under /var/lib/kpatch stays; no package owns it.
    std::fs::remove_file(pkg.root.join(module("1-2").trim_start_matches('/'))).unwrap();
    let manual = pkg.root.join("sys/kernel/livepatch/kpatch_manual_fix");
    std::fs::create_dir_all(manual.join("vmlinux/cmdline_proc_show,1")).unwrap();
    std::fs::write(manual.join("enabled"), "1\n").unwrap();
    std::fs::write(manual.join("transition"), "0\n").unwrap();
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    let by_name = |name: &str| doc["patches"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap().clone();
    let packaged = by_name(&patch_name("1-2"))["package"].clone();
    assert_eq!((packaged["owner"].as_str(), packaged["found_by"].as_str()), (Some("package"), Some("patch_name")));
    assert_eq!(packaged["module_file"], format!("/var/lib/kpatch/{KERNEL}/kpatch-5_14_0-427_13_1-1-2.ko"));
    assert_eq!(strings(&packaged["cves"]), ["CVE-2024-26585", "CVE-2024-26586", "CVE-2024-1086"]);
    assert_eq!(by_name("kpatch_manual_fix")["package"]["owner"], "none");
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn unknown_family_gets_unknown_package_fields_and_the_option_overrides() {
    let pkg = PkgRoot::new_dnf(&["--installed", "1-2", "--os-release", "debian"]);
    let doc = pkg.klp(&["-vv", "patches"]).run().json(0);
    assert_eq!(doc["backend"], json!({"name": "unknown", "chosen_by": "os_release", "os_release_id": "debian"}));
    assert_eq!(doc["warnings"][0]["code"], "backend_unknown", "{doc}");
    let package = &doc["patches"][0]["package"];
    assert_eq!((package["owner"].as_str(), package["nevra"].clone()), (Some("unknown"), Value::Null));
    let text = pkg.klp(&["-v", "--format", "text", "patches"]).run();
    assert!(text.stdout.contains("\n    RPM: (unknown)\n    CVE: (unknown)\n"), "{}", text.stdout);
    assert!(text.stderr.contains("distribution family is unknown (os-release ID=debian)"), "{}", text.stderr);
    let err = pkg.klp(&["-n", "downgrade"]).run().json(1);
    assert_eq!(err["error"]["code"], "backend_unknown");
    assert_eq!(installed(&pkg), Some(edition("1-2")));

    // Forced, by option or environment: the Red Hat backend answers.
    for forced in
        [pkg.klp(&["--backend", "redhat", "-v", "patches"]), pkg.klp(&["-v", "patches"]).env("KLP_BACKEND", "redhat")]
    {
        let doc = forced.run().json(0);
        assert_eq!(doc["backend"], json!({"name": "redhat", "chosen_by": "option", "os_release_id": "debian"}));
        assert_eq!(doc["patches"][0]["package"]["nevra"], format!("{PACKAGE}-{}.x86_64", edition("1-2")));
    }
    // No os-release at all: unknown too.
    std::fs::remove_file(pkg.root.join("etc/os-release")).unwrap();
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    assert_eq!(doc["backend"]["os_release_id"], Value::Null);
    assert_eq!(doc["warnings"][0]["code"], "backend_unknown");
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn backend_choice_both_ways() {
    // Rocky's os-release (ID_LIKE "rhel centos fedora") is Red Hat.
    let rocky = PkgRoot::new_dnf(&["--installed", "1-1", "--os-release", "rocky"]);
    let doc = rocky.klp(&["-v", "patches"]).run().json(0);
    assert_eq!(
        (doc["backend"]["name"].as_str(), doc["backend"]["os_release_id"].as_str()),
        (Some("redhat"), Some("rocky"))
    );
    assert_eq!(doc["patches"][0]["package"]["owner"], "package");
    // Forced to SUSE, a Red Hat root has no SUSE live patch package: rpm still owns the file.
    let doc = rocky.klp(&["--backend", "suse", "-v", "patches"]).run().json(0);
    assert_eq!(doc["backend"], json!({"name": "suse", "chosen_by": "option", "os_release_id": "rocky"}));
    assert_eq!(doc["patches"][0]["package"]["owner"], "none", "{doc}");
    let err = rocky.klp(&["--backend", "suse", "-n", "downgrade"]).run().json(1);
    assert_eq!(err["error"]["code"], "no_package");

    // A SUSE root (mkroot.py ships SLES's os-release) picks SUSE; forced to Red Hat it finds no kpatch package.
    let suse = PkgRoot::new(&["--installed", "3"]);
    let doc = suse.klp(&["-v", "patches"]).run().json(0);
    assert_eq!(doc["backend"], json!({"name": "suse", "chosen_by": "os_release", "os_release_id": "sles"}));
    assert_eq!(doc["patches"][0]["package"]["owner"], "package");
    let doc = suse.klp(&["--backend", "redhat", "-v", "patches"]).run().json(0);
    assert_eq!(doc["backend"]["name"], "redhat");
    assert_eq!(doc["patches"][0]["package"]["owner"], "none", "{doc}");
    let plan = suse.klp(&["downgrade", "--dry-run"]).run().json(0);
    assert_eq!((plan["package_manager"].as_str(), plan["backend"]["name"].as_str()), (Some("zypper"), Some("suse")));
    assert_eq!(plan["live_revert_supported"], true);
}

// ---- downgrade ----

fn assert_downgraded(pkg: &PkgRoot, doc: &Value, from: &str, to: &str, loaded: &str) {
    assert_eq!(doc["package"], PACKAGE);
    assert_eq!((doc["from"].clone(), doc["to"].clone()), (json!(edition(from)), json!(edition(to))));
    assert_eq!((doc["changed"].as_bool(), doc["dry_run"].as_bool()), (Some(true), Some(false)));
    assert_eq!((doc["package_manager"].as_str(), doc["package_manager_exit_code"].as_i64()), (Some("dnf"), Some(0)));
    assert_eq!(doc["zypper_exit_code"], Value::Null);
    assert_eq!(doc["installed_after"], edition(to));
    assert_eq!(doc["backend"]["name"], "redhat");
    // What is loaded did not change: no scriptlet loaded the older module.
    assert_eq!((doc["patch_before"].as_str(), doc["patch_after"].as_str()), (Some(loaded), Some(loaded)));
    assert_eq!(doc["loaded_patch_changed"], false);
    assert_eq!(doc["live_revert_supported"], false);
    assert!(
        doc["note"].as_str().unwrap().contains("does not support reverting a live patch without a reboot"),
        "{doc}"
    );
    let command = strings(&doc["command"]);
    assert_eq!(command[0], "dnf");
    assert_eq!(command[1], format!("--installroot={}", pkg.root.display()));
    for arg in ["-y", "--setopt=exit_on_lock=True", "downgrade"] {
        assert!(command.contains(&arg.to_string()), "{arg} missing from {command:?}");
    }
    assert_eq!(command.last().unwrap(), &format!("{PACKAGE}-{}", edition(to)));
    assert_eq!(installed(pkg), Some(edition(to)));
    assert_eq!(pkg.loaded(), [loaded]);
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_downgrade_n_and_text() {
    let pkg = dnf_root("1-3");
    let doc = pkg.klp(&["-n", "downgrade"]).run().json(0);
    assert_downgraded(&pkg, &doc, "1-3", "1-2", &patch_name("1-3"));
    let text = pkg.klp(&["-n", "--format", "text", "downgrade"]).run();
    assert_eq!((text.code, text.stderr.as_str()), (0, ""));
    let root = pkg.root.display();
    assert_eq!(
        text.stdout,
        format!(
            "downgraded {PACKAGE} from 1-2.el9_4 to 1-1.el9_4\n\
             command: dnf --installroot={root} -y --setopt=exit_on_lock=True downgrade -- {PACKAGE}-1-1.el9_4\n\
             live patch: {p} -> {p}\n\
             note: Red Hat does not support reverting a live patch without a reboot: the package is now 1-1.el9_4, \
             but the loaded live patch is still {p}; the installed package takes effect at the next boot\n",
            p = patch_name("1-3")
        )
    );
    // The loaded patch's package is gone: `patches -v` says so rather than name the installed one.
    let doc = pkg.klp(&["-v", "patches"]).run().json(0);
    assert_eq!(doc["patches"][0]["package"]["owner"], "none", "{doc}");
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_downgrade_confirmed_and_declined_on_terminal() {
    let pkg = dnf_root("1-3");
    let run = run_on_terminal(&pkg.klp(&["downgrade"]), "n");
    assert_eq!((run.code, run.doc["error"]["code"].as_str()), (1, Some("declined")));
    assert_eq!(run.doc["error"]["details"]["installed"], edition("1-3"));
    assert_eq!(installed(&pkg), Some(edition("1-3")));
    let run = run_on_terminal(&pkg.klp(&["downgrade", "--to", "1-1"]), "y");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.terminal.contains("Proceed? [y/N]"), "{:?}", run.terminal);
    assert!(run.terminal.contains(&format!("downgrade -- {PACKAGE}-1-1.el9_4")), "{:?}", run.terminal);
    assert_downgraded(&pkg, &run.doc, "1-3", "1-1", &patch_name("1-3"));
    let out = without_terminal(&pkg.klp(&["downgrade", "--to", "0-0"])).stdin(Stdio::null()).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "no_terminal");
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_downgrade_to_versions() {
    let pkg = dnf_root("1-3");
    let bad = pkg.klp(&["-n", "downgrade", "--to", "1"]).run().json(2);
    assert_eq!(bad["error"]["code"], "invalid_argument");
    for (to, code) in [("1-9", "version_newer"), ("1-0", "version_not_found"), ("1-2.el8_1", "version_not_found")] {
        let err = pkg.klp(&["-n", "downgrade", "--to", to]).run().json(1);
        assert_eq!(err["error"]["code"], code, "--to {to}: {err}");
        assert_eq!(err["error"]["details"]["installed"], edition("1-3"));
    }
    let doc = pkg.klp(&["-n", "downgrade", "--to", "1-1"]).run().json(0);
    assert_downgraded(&pkg, &doc, "1-3", "1-1", &patch_name("1-3"));
    // Already there (either spelling): success without change, dnf not run.
    for to in ["1-1", "1-1.el9_4"] {
        let again = pkg.klp(&["-n", "downgrade", "--to", to]).run().json(0);
        assert_eq!((again["changed"].as_bool(), again["command"].clone()), (Some(false), json!([])));
        assert_eq!(
            (again["package_manager_exit_code"].clone(), again["loaded_patch_changed"].clone()),
            (Value::Null, Value::Null)
        );
    }
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_downgrade_dry_run_is_a_test_transaction() {
    let pkg = dnf_root("1-3");
    let doc = pkg.klp(&["downgrade", "--dry-run"]).run().json(0);
    assert_eq!((doc["dry_run"].as_bool(), doc["changed"].as_bool()), (Some(true), Some(false)));
    assert_eq!(
        (doc["to"].as_str(), doc["package_manager_exit_code"].as_i64()),
        (Some(edition("1-2").as_str()), Some(0))
    );
    assert!(!strings(&doc["command"]).iter().any(|a| a.contains("tsflags")), "the plan is the real command");
    assert_eq!(installed(&pkg), Some(edition("1-3")));
    // The test transaction notices what a plan alone cannot: the package file is gone.
    std::fs::remove_file(pkg.repo.join(format!("{PACKAGE}-1-2.el9_4.x86_64.rpm"))).unwrap();
    let err = pkg.klp(&["downgrade", "--dry-run"]).run().json(1);
    assert_eq!(err["error"]["code"], "dnf_failed", "{err}");
    assert!(strings(&err["error"]["details"]["command"]).contains(&"--setopt=tsflags=test".to_string()));
    assert_eq!(installed(&pkg), Some(edition("1-3")));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_downgrade_never_lands_on_the_placeholder_by_accident() {
    let pkg = dnf_root("1-1");
    let err = pkg.klp(&["-n", "downgrade"]).run().json(1);
    assert_eq!(err["error"]["code"], "no_older_version");
    assert_eq!(err["error"]["details"]["placeholder"], edition("0-0"));
    assert!(err["error"]["message"].as_str().unwrap().contains("placeholder"), "{err}");
    assert_eq!(installed(&pkg), Some(edition("1-1")));
    // Asked for by name, it is installed (and the loaded patch stays until a reboot).
    let doc = pkg.klp(&["-n", "downgrade", "--to", "0-0"]).run().json(0);
    assert_downgraded(&pkg, &doc, "1-1", "0-0", &patch_name("1-1"));
    // From the placeholder there is nothing to go back from.
    let err = pkg.klp(&["-n", "downgrade", "--to", "0-0.el9_4"]).run().json(0);
    assert_eq!(err["changed"], false);
    let err = pkg.klp(&["-n", "downgrade"]).run().json(1);
    assert_eq!(
        (err["error"]["code"].as_str(), err["error"]["details"]["placeholder"].as_bool()),
        (Some("no_package"), Some(true))
    );
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_downgrade_lock_held() {
    let pkg = dnf_root("1-3");
    // dnf's rpmdb lock as a running dnf leaves it: a live pid in its pid file.
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(pkg.root.join("var/lib/dnf/rpmdb_lock.pid"), sleeper.id().to_string()).unwrap();
    let err = pkg.klp(&["-n", "downgrade"]).run().json(1);
    assert_eq!(err["error"]["code"], "lock_held", "{err}");
    assert_eq!(err["error"]["details"]["exit_code"], 200);
    assert_eq!(err["error"]["details"]["installed"], edition("1-3"));
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();

    // klp's own lock, held as a concurrent `klp downgrade` would.
    let lock_file = pkg.root.join("run/klp-downgrade.lock");
    let mut holder = hold_lock(&lock_file);
    let err = pkg.klp(&["-n", "downgrade"]).run().json(1);
    assert_eq!(err["error"]["code"], "lock_held");
    holder.kill().unwrap();
    holder.wait().unwrap();
    let doc = pkg.klp(&["-n", "downgrade"]).run().json(0);
    assert_downgraded(&pkg, &doc, "1-3", "1-2", &patch_name("1-3"));
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_downgrade_failure_carries_exit_code_and_output() {
    let pkg = dnf_root("1-3");
    std::fs::remove_file(pkg.repo.join(format!("{PACKAGE}-1-2.el9_4.x86_64.rpm"))).unwrap();
    let err = pkg.klp(&["-n", "downgrade"]).run().json(1);
    assert_eq!(err["error"]["code"], "dnf_failed", "{err}");
    let details = &err["error"]["details"];
    assert_eq!(details["exit_code"], 1);
    assert!(!details["output"].as_str().unwrap().is_empty());
    assert_eq!(details["installed"], edition("1-3"));
    assert_eq!(installed(&pkg), Some(edition("1-3")));
    assert_eq!(pkg.loaded(), [patch_name("1-3")]);
}

// ---- cve and assess ----

fn today() -> String {
    let out = Command::new("date").args(["-u", "+%Y-%m-%d"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_cve_reads_kernel_core_and_kpatch_changelogs() {
    let pkg = dnf_root("1-2");
    let ids = ["CVE-2024-1086", "cve-2024-1085", "CVE-2024-26586", "CVE-2024-26600", "CVE-2024-9999"];
    let mut args = vec!["cve"];
    args.extend(ids);
    let doc = pkg.klp(&args).run().json(1);
    assert_eq!(doc["backend"], serde_json::from_str::<Value>(REDHAT).unwrap());
    assert_eq!(doc["warnings"], json!([]), "{doc}");
    assert_eq!(doc["running_kernel"]["nevra"], format!("kernel-core-{KERNEL}"));
    assert_eq!(doc["next_boot_kernel"]["nevra"], "kernel-core-5.14.0-427.20.1.el9_4.x86_64");
    let status = |i: usize| (doc["cves"][i]["id"].as_str().unwrap(), doc["cves"][i]["status"].as_str().unwrap());
    assert_eq!(
        (0..5).map(status).collect::<Vec<_>>(),
        [
            ("CVE-2024-1086", "fixed"),
            ("CVE-2024-1085", "fixed"),
            ("CVE-2024-26586", "fixed"),
            ("CVE-2024-26600", "not_fixed"),
            ("CVE-2024-9999", "not_fixed")
        ]
    );
    let package = format!("{PACKAGE}-{}.x86_64", edition("1-2"));
    assert_eq!(
        doc["cves"][0]["fixed_by"],
        json!([{"kind": "live_patch", "package": package, "patch": patch_name("1-2")}])
    );
    assert_eq!(doc["cves"][1]["fixed_by"][0]["kind"], "running_kernel");
    // 1-3 would fix it, but is not installed; the next-boot kernel does.
    assert_eq!(doc["cves"][3]["fixed_after_reboot"], "kernel-core-5.14.0-427.20.1.el9_4.x86_64");

    let text = pkg.klp(&["--format", "text", "cve", "CVE-2024-1086", "CVE-2024-26600"]).run();
    assert_eq!(text.code, 1);
    assert_eq!(
        text.stdout,
        format!(
            "CVE-2024-1086 fixed live_patch {}\nCVE-2024-26600 not_fixed after_reboot kernel-core-5.14.0-427.20.1.el9_4.x86_64\n",
            patch_name("1-2")
        )
    );
    // Unknown family: never "not fixed" by a guess.
    std::fs::write(pkg.root.join("etc/os-release"), "ID=debian\n").unwrap();
    let doc = pkg.klp(&["cve", "CVE-2024-9999"]).run().json(2);
    assert_eq!(doc["cves"][0]["status"], "unknown", "{doc}");
    assert!(doc["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "backend_unknown"), "{doc}");
}

#[test]
#[ignore = "needs real rpm, rpmbuild, createrepo_c and dnf: run by tests/pkg/run.sh"]
fn dnf_assess_same_fields_and_codes() {
    let pkg = dnf_root("1-2");
    let doc = pkg.klp(&["assess", "--cve", "CVE-2024-1086"]).run().parsed();
    let facts = &doc["facts"];
    assert_eq!(facts["backend"]["name"], "redhat");
    assert_eq!(facts["installed_livepatch"], format!("{PACKAGE}-{}.x86_64", edition("1-2")));
    assert_eq!(facts["running_kernel"]["name"], "kernel-core");
    assert_eq!(facts["next_boot_source"], "highest_installed");
    assert_eq!(facts["installed_kernels"].as_array().unwrap().len(), 2);
    let patch = &facts["patches"][0];
    assert_eq!(
        (patch["support_source"].as_str(), patch["support_end"].as_str()),
        (Some("estimate"), Some("2026-04-10"))
    );
    assert_eq!(patch["update"], "available");
    let codes: Vec<&str> = doc["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    for code in ["update_available", "newer_kernel_fixes_cves", "newer_kernel_installed"] {
        assert!(codes.contains(&code), "{code} missing: {codes:?}");
    }
    let expired = today().as_str() > "2026-04-10";
    assert_eq!(codes.contains(&"support_expired"), expired, "{codes:?}");
    assert_eq!(doc["cves"][0]["status"], "fixed");
    assert_eq!(doc["reboot_required"], true);
    let newer = doc["findings"].as_array().unwrap().iter().find(|f| f["code"] == "newer_kernel_fixes_cves").unwrap();
    assert_eq!(newer["evidence"]["cves"], json!(["CVE-2024-26600", "CVE-2024-26700"]));
}
