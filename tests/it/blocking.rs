use crate::fixture::{scenario, Fixture, Object, Patch, Task};
use crate::support::{assert_result, klp};
use serde_json::json;

fn tids(doc: &serde_json::Value) -> Vec<(i64, i64)> {
    doc["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["pid"].as_i64().unwrap(), t["tid"].as_i64().unwrap()))
        .collect()
}

#[test]
fn nothing_in_transition_means_no_scan_and_no_blockers() {
    let tree = scenario("ready").unwrap().build();
    let doc = klp(&["blocking"]).root(&tree).run().json(0);
    assert_eq!((doc["state"].as_str(), doc["complete"].as_bool()), (Some("ready"), Some(true)));
    assert_eq!(doc["threads"], json!([]));
    assert_eq!(doc["threads_scanned"], 0);
    let text = klp(&["--format", "text", "blocking"]).root(&tree).run();
    assert_result!(text, @r"
        exit: 0
        --- stdout
        --- stderr
    ");
}

#[test]
fn stuck_transition_lists_exactly_the_two_blockers_with_culprits() {
    let tree = scenario("stuck").unwrap().build();
    let doc = klp(&["blocking"]).root(&tree).run().json(0);
    assert_eq!(tids(&doc), [(77, 77), (4242, 4243)]);
    assert_eq!(doc["complete"], true);
    assert_eq!(doc["threads_scanned"], 33);
    let kthread = &doc["threads"][0];
    assert_eq!(
        *kthread,
        json!({
            "pid": 77, "tid": 77, "comm": "klp_busy_thread", "kernel_thread": true, "state": "D", "patch_state": 0,
            "culprits": [{"object": "klp_busy", "function": "busy_sleep", "frame": "[<0>] busy_sleep+0x15/0x30 [klp_busy]"}]
        })
    );
    let user = &doc["threads"][1];
    assert_eq!((user["kernel_thread"].as_bool(), user["state"].as_str()), (Some(false), Some("D")));
    assert_eq!(user["culprits"][0]["function"], "cmdline_proc_show");
    assert_eq!(user["culprits"][0]["object"], "vmlinux");
    assert!(user.get("cmdline").is_none() && user.get("stack").is_none(), "no -v: no cmdline/stack keys");

    let text = klp(&["--format", "text", "blocking"]).root(&tree).run();
    assert_result!(text, @r"
        exit: 0
        --- stdout
        77
        4243
        --- stderr
    ");
}

#[test]
fn verbose_adds_command_lines_and_marks_kernel_threads() {
    let tree = scenario("stuck").unwrap().build();
    let doc = klp(&["-v", "blocking"]).root(&tree).run().json(0);
    assert_eq!(doc["threads"][0]["cmdline"], json!(null));
    assert_eq!(doc["threads"][1]["cmdline"], json!(["cat", "/proc/cmdline"]));
    assert!(doc["threads"][0].get("stack").is_none());

    let text = klp(&["blocking", "-v", "--format", "text"]).root(&tree).run();
    let expected = "\
77 [klp_busy_thread]
    pid: 77
    comm: klp_busy_thread
    state: D
    kernel thread: yes
    culprits: klp_busy:busy_sleep
4243 cat /proc/cmdline
    pid: 4242
    comm: cat
    state: D
    kernel thread: no
    culprits: vmlinux:cmdline_proc_show
";
    assert_eq!(text.stdout, expected);
    assert_eq!(text.code, 0);
}

#[test]
fn very_verbose_adds_stacks() {
    let tree = scenario("stuck").unwrap().build();
    let doc = klp(&["-vv", "blocking"]).root(&tree).run().json(0);
    let stack = doc["threads"][0]["stack"].as_array().unwrap();
    assert_eq!(stack.len(), 5);
    assert_eq!(
        stack[1],
        json!({"text": "[<0>] busy_sleep+0x15/0x30 [klp_busy]", "function": "busy_sleep", "module": "klp_busy"})
    );
    assert_eq!(stack[0]["module"], json!(null));

    let text = klp(&["-vv", "--format", "text", "blocking"]).root(&tree).run();
    assert!(text.stdout.contains(
        "    culprits: klp_busy:busy_sleep\n    stack:\n        [<0>] msleep+0x2a/0x40\n        [<0>] busy_sleep+0x15/0x30 [klp_busy]\n"
    ), "{}", text.stdout);
    assert!(
        text.stdout.contains("ret_from_fork+0x34/0x50\n\n4243 cat /proc/cmdline\n"),
        "blank line between threads: {}",
        text.stdout
    );
}

#[test]
fn reversed_transition_blockers_are_the_patched_tasks() {
    let tree = scenario("reversed").unwrap().build();
    let doc = klp(&["blocking"]).root(&tree).run().json(0);
    assert_eq!(doc["transition"]["direction"], "unpatching");
    assert_eq!(tids(&doc), [(77, 77), (4242, 4243)]);
    assert_eq!(doc["threads"][0]["patch_state"], 1);
}

fn transition_fixture() -> Fixture {
    Fixture::new().patch(Patch::new("lp").transition(true).object(Object::new("vmlinux").function("f", 1)))
}

#[test]
fn running_thread_without_a_stack_has_unknown_culprits_not_none() {
    // What 7.x shows for a kthread spinning on another CPU in the patched
    // function (the vm suite's cond_resched scenario): an empty stack file.
    let tree = transition_fixture().task(Task::kernel(55, "klp_spin").state('R').patch_state(0)).build();
    let doc = klp(&["-vv", "blocking"]).root(&tree).run().json(0);
    assert_eq!(tids(&doc), [(55, 55)]);
    let thread = &doc["threads"][0];
    assert_eq!((&thread["culprits"], &thread["stack"]), (&json!(null), &json!(null)), "{thread}");
    let text = klp(&["-v", "--format", "text", "blocking"]).root(&tree).run();
    assert!(text.stdout.contains("    culprits: (stack unreadable)\n"), "{}", text.stdout);
}

#[test]
fn vanished_threads_are_skipped_and_counted() {
    let tree = transition_fixture()
        .task(Task::user(10, 10, "a", &["a"]).patch_state(0))
        .task(Task::user(10, 11, "a", &["a"]).vanished())
        .task(Task::user(20, 20, "b", &["b"]).patch_state(1))
        .build();
    let doc = klp(&["-vv", "blocking"]).root(&tree).run().json(0);
    assert_eq!(tids(&doc), [(10, 10)]);
    assert_eq!(doc["threads_vanished"], 1);
    assert_eq!(doc["complete"], true, "a vanished thread blocks nothing");
}

#[test]
fn unreadable_states_make_the_answer_incomplete_never_empty_and_ready() {
    let tree = transition_fixture()
        .task(Task::user(10, 10, "a", &["a"]).patch_state(0).root_only())
        .task(Task::user(20, 20, "b", &["b"]).patch_state(1).root_only())
        .build();
    let doc = klp(&["blocking"]).root(&tree).unprivileged().run().json(0);
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["threads_unreadable"], 2);
    assert_eq!(doc["threads"], json!([]));
    assert_eq!(doc["warnings"][0]["code"], "permission_denied");
    assert_eq!(doc["warnings"][0]["count"], 2);

    let text = klp(&["--format", "text", "blocking"]).root(&tree).unprivileged().run();
    assert_result!(text, @r"
        exit: 1
        --- stdout
        --- stderr
        klp: warning: patch_state of some threads could not be read (root is needed); blockers among them are not listed (2 affected)
    ");
}

#[test]
fn hidepid_makes_the_answer_incomplete_for_non_root() {
    let tree = transition_fixture()
        .proc_mount_options("rw,hidepid=invisible")
        .task(Task::user(10, 10, "a", &["a"]).patch_state(1))
        .build();
    let doc = klp(&["blocking"]).root(&tree).unprivileged().run().json(0);
    assert_eq!(doc["complete"], false);
    assert!(doc["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "hidepid"), "{doc}");
}

#[test]
fn garbage_patch_state_is_a_clear_error() {
    let tree = transition_fixture().task(Task::user(10, 10, "a", &["a"]).raw_patch_state("banana\n")).build();
    let out = klp(&["blocking"]).root(&tree).run();
    let doc = out.json(1);
    assert_eq!(doc["error"]["code"], "malformed_value");
    assert!(doc["error"]["path"].as_str().unwrap().ends_with("/proc/10/task/10/patch_state"));
    assert_eq!(doc["error"]["details"]["content"], "banana\n");
}

#[test]
fn odd_command_lines_and_names_survive() {
    let tree = transition_fixture()
        .task(Task::user(10, 10, "we (ird) ) x", &[]).raw_cmdline(b"/bin/x\0caf\xc3\xa9\0\xff\xfe\0").patch_state(0))
        .build();
    let doc = klp(&["-v", "blocking"]).root(&tree).run().json(0);
    assert_eq!(doc["threads"][0]["comm"], "we (ird) ) x");
    assert_eq!(doc["threads"][0]["cmdline"], json!(["/bin/x", "café", "\u{fffd}\u{fffd}"]));
}
