use crate::fixture::{scenario, Fixture, Object, Patch, TAINT_K};
use crate::support::{assert_result, klp};
use serde_json::json;

#[test]
fn no_patches_is_ready_and_supported() {
    let tree = Fixture::new().build();
    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(doc["state"], "ready");
    assert_eq!(doc["supported"], true);
    assert_eq!(doc["patches_loaded"], 0);
    assert_eq!(doc["transition"], json!(null));
    assert_eq!(doc["livepatch_tainted"], false);
    assert_eq!(doc["kernel_release"], "6.4.0-150600.23.22-default");
}

#[test]
fn missing_livepatch_dir_is_unsupported_not_an_error() {
    let tree = Fixture::new().unsupported().build();
    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!((doc["state"].as_str(), doc["supported"].as_bool()), (Some("ready"), Some(false)));
    let text = klp(&["--format", "text", "status"]).root(&tree).run();
    assert_result!(text, @r"
        exit: 0
        --- stdout
        ready
        --- stderr
    ");
}

#[test]
fn one_patch_ready() {
    let tree = scenario("ready").unwrap().build();
    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(doc["state"], "ready");
    assert_eq!(doc["patches_loaded"], 1);
    assert_eq!(doc["patches_enabled"], 1);
    assert_eq!(doc["livepatch_tainted"], true);
    assert_eq!(doc["taint_mask"], TAINT_K);
}

#[test]
fn transition_in_progress_names_patch_and_direction() {
    let tree = scenario("stuck").unwrap().build();
    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(doc["state"], "in_progress");
    // The age comes from the fixture's kernel log: started at 400 s, uptime 1000 s.
    assert_eq!(
        doc["transition"],
        json!({"patch": "livepatch_2_150600_2_1", "direction": "patching", "target_state": 1,
            "started_seconds_ago": 600.0, "started_unknown_reason": null, "signaled": true, "reversed": false})
    );
    assert_eq!(doc["warnings"], json!([]));
    let text = klp(&["status", "--format", "text"]).root(&tree).run();
    assert_result!(text, @r"
        exit: 0
        --- stdout
        in_progress
        --- stderr
    ");
}

#[test]
fn reversed_transition_targets_unpatched() {
    let tree = scenario("reversed").unwrap().build();
    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(doc["transition"]["direction"], "unpatching");
    assert_eq!(doc["transition"]["target_state"], 0);
    assert_eq!(doc["patches_enabled"], 0);
}

#[test]
fn kernel_without_transition_file_counts_as_settled() {
    let tree = Fixture::new().patch(Patch::new("old_style").without_transition_file()).build();
    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(doc["state"], "ready");
    assert_eq!(doc["patches_loaded"], 1);
}

#[test]
fn two_transitions_are_reported_as_a_warning() {
    let tree = Fixture::new()
        .patch(Patch::new("a").transition(true))
        .patch(Patch::new("b").transition(true).object(Object::new("vmlinux")))
        .build();
    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(doc["transition"]["patch"], "a");
    assert_eq!(doc["warnings"][0]["code"], "several_transitions");
    assert_eq!(doc["warnings"][0]["count"], 2);
    let text = klp(&["--format=text", "status"]).root(&tree).run();
    assert_eq!(text.stdout, "in_progress\n");
    assert!(text.stderr.starts_with("klp: warning: 2 patches claim to be in transition"), "{}", text.stderr);
}

#[test]
fn unreadable_taint_is_null_not_false() {
    let tree = Fixture::new().taint(None).build();
    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(doc["livepatch_tainted"], json!(null));
    assert_eq!(doc["taint_mask"], json!(null));
}

#[test]
fn status_works_unprivileged() {
    let tree = scenario("stuck").unwrap().build();
    let doc = klp(&["status"]).root(&tree).unprivileged().run().json(0);
    assert_eq!(doc["state"], "in_progress");
}

#[test]
fn options_work_before_and_after_the_command_and_from_env() {
    let tree = scenario("stuck").unwrap().build();
    let root = tree.path().to_str().unwrap();
    let after = klp(&["status", "--format", "text", "--root", root]).run();
    let env = klp(&["status"]).env("KLP_FORMAT", "text").env("KLP_ROOT", root).run();
    assert_eq!((after.code, after.stdout.as_str()), (0, "in_progress\n"));
    assert_eq!((env.code, env.stdout.as_str()), (0, "in_progress\n"));
}
