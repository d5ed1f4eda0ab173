//! `klp assess` and `klp cve` on fixture trees: the transition and kernel-log
//! rules, exit codes and usage errors. The package rules run against real
//! rpm/zypper roots in `pkg::decisions`.

use crate::fixture::{scenario, Fixture, Object, Patch, Task, TAINT_K};
use crate::support::klp;
use serde_json::{json, Value};

fn codes(doc: &Value) -> Vec<String> {
    doc["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

fn finding<'a>(doc: &'a Value, code: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no finding {code} in {:#}", doc["findings"]))
}

/// A transition of `p` started at `start` s, uptime 1000 s.
fn transition_at(start: f64) -> Fixture {
    Fixture::new()
        .taint(Some(TAINT_K))
        .log(0.0, "Linux version 6.4.0")
        .log(start, "livepatch: 'p': starting patching transition")
        .uptime(1000.0)
        .patch(Patch::new("p").transition(true).object(Object::new("vmlinux").function("f", 1)))
        .idle_tasks(100, 5, 1)
}

#[test]
fn stuck_transition_is_critical_and_requires_a_reboot() {
    let tree = scenario("stuck").unwrap().build();
    let doc = klp(&["assess"]).root(&tree).run().json(2);
    assert_eq!(doc["verdict"], "critical");
    assert_eq!(doc["reboot_required"], true);
    assert_eq!(doc["reboot_reasons"], json!(["transition_stuck"]));
    assert_eq!(doc["transition"]["started_seconds_ago"], 600.0);
    assert_eq!(doc["transition"]["signaled"], true);
    assert_eq!(doc["transition"]["blocking_threads"], 2);
    let stuck = finding(&doc, "transition_stuck");
    assert_eq!(
        (stuck["severity"].as_str(), stuck["subject"].as_str()),
        (Some("critical"), Some("livepatch_2_150600_2_1"))
    );
    assert_eq!(stuck["evidence"]["started_seconds_ago"], 600.0);
    // Findings are sorted most severe first.
    assert_eq!(doc["findings"][0]["code"], "transition_stuck");
    // A longer threshold makes the same transition merely in progress.
    let doc = klp(&["assess", "--stuck-after", "900"]).root(&tree).run().json(3);
    assert_eq!(doc["verdict"], "unknown", "no package data: at best unknown");
    assert!(codes(&doc).contains(&"transition_in_progress".to_string()), "{:?}", codes(&doc));
    assert!(!codes(&doc).contains(&"transition_stuck".to_string()));
}

#[test]
fn young_transition_is_in_progress() {
    let tree = transition_at(990.0).build();
    let doc = klp(&["assess"]).root(&tree).run().parsed();
    let found = finding(&doc, "transition_in_progress");
    assert_eq!(found["severity"], "warning");
    assert_eq!(doc["transition"]["started_seconds_ago"], 10.0);
}

#[test]
fn rotated_log_gives_no_age_and_no_reboot_answer() {
    let tree = Fixture::new().log_rotated(5000).uptime(1000.0).patch(Patch::new("p").transition(true)).build();
    let doc = klp(&["assess"]).root(&tree).run().parsed();
    assert_eq!(doc["transition"]["started_seconds_ago"], json!(null));
    assert_eq!(doc["transition"]["started_unknown_reason"], "no_start_record");
    assert_eq!(finding(&doc, "transition_age_unknown")["severity"], "unknown");
    assert_eq!(doc["reboot_required"], json!(null));
    assert_eq!(doc["facts"]["kernel_log"]["complete"], false);
    assert!(doc["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "transition_age_unknown"));
    let status = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(status["transition"]["started_seconds_ago"], json!(null));
    assert_eq!(status["transition"]["started_unknown_reason"], "no_start_record");
}

#[test]
fn forced_transition_requires_a_reboot() {
    let tree = Fixture::new()
        .taint(Some(TAINT_K))
        .log(0.0, "Linux version 6.4.0")
        .log(10.0, "livepatch: 'p': starting patching transition")
        .log(40.0, "livepatch: forcing remaining tasks to the patched state")
        .log(40.1, "livepatch: 'p': patching complete")
        .uptime(100.0)
        .patch(Patch::new("p"))
        .build();
    let doc = klp(&["assess"]).root(&tree).run().parsed();
    let forced = finding(&doc, "transition_forced");
    assert_eq!((forced["severity"].as_str(), forced["subject"].as_str()), (Some("warning"), Some("p")));
    assert!(doc["reboot_reasons"].as_array().unwrap().contains(&json!("transition_forced")));
    assert_eq!(doc["reboot_required"], true);
    assert_eq!(doc["facts"]["kernel_log"]["forced"][0]["at_seconds"], 40.0);
}

#[test]
fn unreadable_log_is_unknown_never_fine() {
    let tree = Fixture::new().patch(Patch::new("p")).build();
    let doc = klp(&["assess"]).root(&tree).run().json(3);
    assert_eq!(doc["verdict"], "unknown");
    assert_eq!(finding(&doc, "kernel_log_unreadable")["severity"], "unknown");
    assert_eq!(doc["facts"]["kernel_log"]["readable"], false);
}

#[test]
fn unsupported_disabled_and_unowned() {
    let tree = Fixture::new().unsupported().log(0.0, "Linux").build();
    let doc = klp(&["assess"]).root(&tree).run().json(2);
    assert_eq!(finding(&doc, "unsupported")["severity"], "critical");

    let tree = Fixture::new().log(0.0, "Linux").patch(Patch::new("p").enabled(false)).build();
    let doc = klp(&["assess"]).root(&tree).run().parsed();
    assert_eq!(finding(&doc, "patch_disabled")["subject"], "p");
}

#[test]
fn blocking_incomplete_when_states_are_unreadable() {
    let tree = transition_at(990.0).task(Task::user(300, 300, "x", &["x"]).patch_state(0).root_only()).build();
    let doc = klp(&["assess"]).root(&tree).unprivileged().run().parsed();
    assert_eq!(doc["transition"]["blocking_complete"], false);
    assert_eq!(finding(&doc, "blocking_incomplete")["severity"], "info");
}

#[test]
fn without_rpm_every_package_fact_is_unknown() {
    let tree = scenario("ready").unwrap().log(0.0, "Linux").build();
    let doc = klp(&["assess", "--cve", "cve-2025-21050"]).root(&tree).run().json(3);
    assert_eq!(doc["verdict"], "unknown");
    assert_eq!(doc["reboot_required"], json!(null));
    assert!(codes(&doc).contains(&"package_data_unknown".to_string()));
    assert_eq!(doc["cves"][0]["id"], "CVE-2025-21050");
    assert_eq!(doc["cves"][0]["status"], "unknown");
    assert_eq!(finding(&doc, "cve_status_unknown")["subject"], "CVE-2025-21050");

    let cve = klp(&["cve", "CVE-2025-21050"]).root(&tree).run().json(2);
    assert_eq!(
        cve["cves"],
        json!([{"id": "CVE-2025-21050", "status": "unknown", "fixed_by": [], "fixed_after_reboot": null}])
    );
    let text = klp(&["--format", "text", "cve", "cve-2025-21050"]).root(&tree).run();
    assert_eq!((text.code, text.stdout.as_str()), (2, "CVE-2025-21050 unknown\n"));
}

#[test]
fn usage_errors() {
    let tree = Fixture::new().build();
    // assess: UNKNOWN (3), as a monitoring plugin; in JSON mode an error document.
    for args in [&["assess", "--stuck-after", "soon"][..], &["assess", "--cve", "CVE-24-1"], &["assess", "--bogus"]] {
        let out = klp(args).root(&tree).run();
        assert_eq!(out.code, 3, "{args:?}: {}", out.stderr);
        assert_eq!(out.parsed()["error"]["code"], "usage");
        assert_eq!(out.parsed()["error"]["exit_code"], 3);
    }
    let out = klp(&["--format", "text", "assess", "--stuck-after", "-1"]).root(&tree).run();
    assert_eq!(out.code, 3);
    // cve: 2, as check.
    for args in [&["cve"][..], &["cve", "CVE-2024-123"], &["cve", "not-a-cve"]] {
        let out = klp(args).root(&tree).run();
        assert_eq!(out.code, 2, "{args:?}");
        assert_eq!(out.parsed()["error"]["code"], "usage");
    }
    // A root that does not exist is a failure: 3 for assess, 2 for cve.
    let missing = tree.join("nope");
    assert_eq!(klp(&["assess"]).root_path(&missing).run().json(3)["error"]["code"], "root_not_found");
    assert_eq!(klp(&["cve", "CVE-2024-1234"]).root_path(&missing).run().json(2)["error"]["code"], "root_not_found");
}

#[test]
fn text_rendering() {
    let tree = scenario("stuck").unwrap().build();
    let out = klp(&["--format", "text", "assess"]).root(&tree).run();
    assert_eq!(out.code, 2);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "verdict: critical");
    assert_eq!(lines[1], "reboot required: yes (transition_stuck)");
    assert_eq!(lines[2], "transition: livepatch_2_150600_2_1 patching, started 600 s ago");
    assert!(lines[3].starts_with("finding: critical transition_stuck livepatch_2_150600_2_1: "), "{}", lines[3]);
    for line in &lines {
        assert!(line.split_once(": ").is_some(), "not key: value: {line:?}");
    }
}
