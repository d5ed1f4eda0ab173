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
