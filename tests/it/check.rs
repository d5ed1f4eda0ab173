use crate::fixture::{scenario, Fixture, Patch};
use crate::support::{assert_result, klp};
use std::time::{Duration, Instant};

#[test]
fn ready_exits_0_and_text_prints_nothing() {
    let tree = scenario("ready").unwrap().build();
    assert_eq!(klp(&["check"]).root(&tree).run().json(0)["state"], "ready");
    let text = klp(&["--format", "text", "check"]).root(&tree).run();
    assert_result!(text, @r"
        exit: 0
        --- stdout
        --- stderr
    ");
}

#[test]
fn in_progress_exits_1() {
    let tree = scenario("stuck").unwrap().build();
    assert_eq!(klp(&["check"]).root(&tree).run().json(1)["state"], "in_progress");
    let text = klp(&["--format", "text", "check"]).root(&tree).run();
    assert_result!(text, @r"
        exit: 1
        --- stdout
        --- stderr
    ");
}

#[test]
fn undeterminable_state_exits_2_with_error_document() {
    let tree = Fixture::new().patch(Patch::new("p").raw_enabled("maybe\n")).build();
    let out = klp(&["check"]).root(&tree).run();
    let doc = out.json(2);
    assert_eq!(doc["error"]["code"], "malformed_value");
    assert_eq!(doc["error"]["exit_code"], 2);
    let text = klp(&["--format", "text", "check"]).root(&tree).run();
    assert_result!(text, @r#"
        exit: 2
        --- stdout
        --- stderr
        klp: error: unexpected content in [ROOT]/sys/kernel/livepatch/p/enabled: "maybe\n" (expected 0 or 1)
    "#);
}

#[test]
fn wait_times_out_with_exit_1() {
    let tree = scenario("stuck").unwrap().build();
    let start = Instant::now();
    let doc = klp(&["check", "--wait", "--timeout", "0.5", "--interval", "0.1"]).root(&tree).run().json(1);
    assert!(start.elapsed() >= Duration::from_millis(500));
    assert_eq!(doc["wait"]["timed_out"], true);
    assert!(doc["wait"]["polls"].as_u64().unwrap() >= 3, "{doc}");
    assert!(doc["wait"]["waited_seconds"].as_f64().unwrap() >= 0.5);
}

#[test]
fn wait_returns_when_the_transition_finishes() {
    let tree = scenario("stuck").unwrap().build();
    let transition = tree.join("sys/kernel/livepatch/livepatch_2_150600_2_1/transition");
    let child = klp(&["check", "--wait", "--timeout", "30", "--interval", "0.05"])
        .root(&tree)
        .command()
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&transition, "0\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    crate::support::assert_valid("check", &doc);
    assert_eq!(doc["wait"]["timed_out"], false);
    assert_eq!(doc["state"], "ready");
    assert!(doc["wait"]["waited_seconds"].as_f64().unwrap() < 30.0);
}

#[test]
fn wait_bounds_are_checked() {
    let tree = scenario("ready").unwrap().build();
    let doc = klp(&["check", "--wait", "--interval", "0"]).root(&tree).run().json(2);
    assert_eq!(doc["error"]["code"], "invalid_argument");
    let doc = klp(&["check", "--wait", "--timeout", "-1"]).root(&tree).run().json(2);
    assert_eq!(doc["error"]["code"], "invalid_argument", "-1 reaches the value parser (issue 10)");
    let doc = klp(&["check", "--timeout", "5"]).root(&tree).run().json(2);
    assert_eq!(doc["error"]["code"], "usage", "--timeout needs --wait");
}
