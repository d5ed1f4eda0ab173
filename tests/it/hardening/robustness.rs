//! Hostile and enormous input from a root's files, and broken output channels.

use crate::fixture::{Fixture, Object, Patch, Task};
use crate::support::klp;

fn one_blocker(stat: &[u8]) -> crate::fixture::Tree {
    let tree = Fixture::new()
        .patch(Patch::new("lp").transition(true).object(Object::new("vmlinux").function("f", 1)))
        .task(Task::user(5, 5, "x", &["x"]).patch_state(0).stack(&["[<0>] f+0x1/0x2"]))
        .build();
    std::fs::write(tree.join("proc/5/task/5/stat"), stat).unwrap();
    tree
}

#[test]
fn malformed_stat_of_a_blocker_is_a_warning_not_a_crash() {
    for stat in [&b"5 (x)"[..], b"(x) S 1 2", b"5 (x) \xff", b") 5 (", b""] {
        let tree = one_blocker(stat);
        let doc = klp(&["-vv", "blocking"]).root(&tree).run().json(0);
        let thread = &doc["threads"][0];
        assert_eq!((thread["tid"].as_i64(), thread["comm"].as_str(), thread["state"].as_str()), (Some(5), None, None));
        assert_eq!(thread["culprits"][0]["function"], "f", "the stack is still read");
        let warning = &doc["warnings"][0];
        assert_eq!(warning["code"], "read_failed", "{doc}");
        assert!(warning["path"].as_str().unwrap().ends_with("proc/5/task/5/stat"));
    }
}

#[test]
fn odd_comm_in_stat_is_kept() {
    let tree = one_blocker(b"5 (a) (b \xff) R 1 5 5 0 -1 4194560 0 0 0\n");
    let doc = klp(&["blocking"]).root(&tree).run().json(0);
    assert_eq!(doc["threads"][0]["comm"], "a) (b \u{fffd}");
    assert_eq!(doc["threads"][0]["state"], "R");
    assert_eq!(doc["threads"][0]["kernel_thread"], false);
    assert!(doc["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn missing_patch_state_of_a_live_thread_is_unreadable_not_vanished() {
    // A root whose proc lacks patch_state (a kernel without live patching)
    // while its sysfs shows a transition: no thread may pass as gone.
    let tree = Fixture::new()
        .patch(Patch::new("lp").transition(true).object(Object::new("vmlinux").function("f", 1)))
        .task(Task::user(5, 5, "x", &["x"]).patch_state(0))
        .task(Task::user(5, 6, "x", &["x"]).patch_state(0))
        .task(Task::user(7, 7, "y", &["y"]).vanished())
        .build();
    std::fs::remove_file(tree.join("proc/5/task/6/patch_state")).unwrap();
    let doc = klp(&["blocking"]).root(&tree).run().json(0);
    assert_eq!((doc["threads_scanned"].as_u64(), doc["threads_unreadable"].as_u64(), doc["threads_vanished"].as_u64()), (Some(1), Some(1), Some(1)));
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["threads"][0]["tid"], 5);
    let warning = &doc["warnings"][0];
    assert_eq!(warning["code"], "read_failed");
    assert!(warning["path"].as_str().unwrap().ends_with("proc/5/task/6/patch_state"), "{warning}");
    let text = klp(&["--format", "text", "blocking"]).root(&tree).run();
    assert_eq!(text.code, 1, "text mode: incomplete is an exit status");
}

#[test]
fn command_lines_cannot_forge_lines_in_text_output() {
    // Any user picks their own argv and comm; a newline must not start what
    // a script reading one thread a line would take for another PID.
    let tree = Fixture::new()
        .patch(Patch::new("lp").transition(true).object(Object::new("vmlinux").function("f", 1)))
        .task(Task::user(5, 5, "x", &[]).raw_cmdline(b"sleep\0x\n4242 forged\0\x1b[31mred\0").patch_state(0).stack(&["[<0>] f+0x1/0x2"]))
        .build();
    std::fs::write(tree.join("proc/5/task/5/stat"), b"5 (a\nb\x07) D 1 5 5 0 -1 4194560 0 0\n").unwrap();
    for verbosity in ["-v", "-vv"] {
        let text = klp(&[verbosity, "--format", "text", "blocking"]).root(&tree).run();
        assert_eq!(text.code, 0);
        let unindented: Vec<&str> = text.stdout.lines().filter(|l| !l.starts_with(' ') && !l.is_empty()).collect();
        assert_eq!(unindented, ["5 sleep x\\n4242 forged \\u{1b}[31mred"], "{}", text.stdout);
        assert!(text.stdout.contains("    comm: a\\nb\\u{7}\n"), "{}", text.stdout);
        assert!(!text.stdout.contains('\x1b') && !text.stdout.contains('\x07'));
    }
    // JSON keeps the exact strings (escaped by JSON itself).
    let doc = klp(&["-v", "blocking"]).root(&tree).run().json(0);
    assert_eq!(doc["threads"][0]["cmdline"][1], "x\n4242 forged");
    assert_eq!(doc["threads"][0]["comm"], "a\nb\u{7}");
}
