//! Hostile and enormous input from a root's files, and broken output channels.

use crate::fixture::{Fixture, Object, Patch, Task};
use crate::support::klp;
use std::io::Read;
use std::process::Stdio;

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
    assert_eq!(
        (doc["threads_scanned"].as_u64(), doc["threads_unreadable"].as_u64(), doc["threads_vanished"].as_u64()),
        (Some(1), Some(1), Some(1))
    );
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
        .task(
            Task::user(5, 5, "x", &[])
                .raw_cmdline(b"sleep\0x\n4242 forged\0\x1b[31mred\0")
                .patch_state(0)
                .stack(&["[<0>] f+0x1/0x2"]),
        )
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

/// 10,000 patches; one of them in transition with 10,000 objects, one
/// object of which has 10,000 functions.
fn huge_tree() -> crate::fixture::Tree {
    let mut fixture = Fixture::new();
    for i in 0..9_999 {
        fixture = fixture.patch(Patch::new(&format!("livepatch_{i}_150600_1_1")));
    }
    let mut big = Patch::new("livepatch_big").transition(true);
    let mut functions = Object::new("vmlinux");
    for f in 0..10_000 {
        functions = functions.function(&format!("func_{f}"), f % 3);
    }
    big = big.object(functions);
    for o in 1..10_000 {
        big = big.object(Object::new(&format!("mod_{o}")).function("f", 1));
    }
    let frames: Vec<String> = (0..100_000).map(|i| format!("[<0>] f+0x{i:x}/0x2 [mod_{}]", i % 10_000)).collect();
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    fixture.patch(big).task(Task::user(5, 5, "deep", &["deep"]).state('D').patch_state(0).stack(&frames)).build()
}

#[test]
#[ignore = "writes 70,000 fixture files: run by tests/hardening/run.sh"]
fn ten_thousand_patches_objects_functions_and_a_huge_stack_to_any_stdout() {
    let tree = huge_tree();
    let doc = klp(&["patches"]).root(&tree).run().json(0);
    let patches = doc["patches"].as_array().unwrap();
    assert_eq!(patches.len(), 10_000);
    assert_eq!(patches[0]["name"], "livepatch_0_150600_1_1", "numeric order");
    assert_eq!(patches[9_998]["name"], "livepatch_9998_150600_1_1");
    let big = patches.iter().find(|p| p["name"] == "livepatch_big").unwrap();
    let objects = big["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 10_000);
    assert_eq!(objects[0]["name"], "vmlinux", "vmlinux first");
    assert_eq!(objects[0]["functions"].as_array().unwrap().len(), 10_000);

    let text = klp(&["--format", "text", "patches"]).root(&tree).run();
    assert_eq!(text.stdout.lines().count(), 10_000);

    let doc = klp(&["status"]).root(&tree).run().json(0);
    assert_eq!(
        (doc["patches_loaded"].as_u64(), doc["transition"]["patch"].as_str()),
        (Some(10_000), Some("livepatch_big"))
    );

    // A 100,000-frame stack (the kernel prints at most 64): every frame
    // kept, culprits found among 10,000 patched objects.
    let doc = klp(&["-vv", "blocking"]).root(&tree).run().json(0);
    let thread = &doc["threads"][0];
    assert_eq!(thread["stack"].as_array().unwrap().len(), 100_000);
    assert_eq!(
        thread["culprits"].as_array().unwrap().len(),
        100_000 - 100_000 / 10_000,
        "every frame in a patched module but mod_0's"
    );

    // The same big documents to a reader that goes away, and to a full disk.
    for args in [
        &["patches"][..],
        &["-vv", "blocking"],
        &["--format", "text", "-vv", "blocking"],
        &["--format", "text", "patches"],
    ] {
        // The reader takes the first 1000 bytes and goes away.
        let mut child = klp(args).root(&tree).command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut head = vec![0u8; 1000];
        child.stdout.as_mut().unwrap().read_exact(&mut head).unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}: quiet end, no panic");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{args:?}");
        assert!(serde_json::from_slice::<serde_json::Value>(&head).is_err(), "a cut document never parses");

        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let output = klp(args).root(&tree).command().stdout(full).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("cannot write output: No space left on device"));
    }
}

#[test]
fn error_documents_to_a_full_disk_and_a_closed_pipe() {
    for args in [
        &["--root", "/nonexistent/klp", "status"][..],
        &["frobnicate"],
        &["--root", "/nonexistent/klp", "--format", "text", "patches"],
        &["check", "--timeout", "-1"],
    ] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let output = klp(args).command().stdout(full).output().unwrap();
        let code = output.status.code().expect("exits, not killed");
        assert!(code == 1 || code == 2, "{args:?}: {code}");
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"), "{args:?}");
        let mut child = klp(args).command().stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        drop(child.stdout.take());
        let status = child.wait().unwrap();
        assert!(matches!(status.code(), Some(1 | 2)), "{args:?}: {status:?}");
    }
}
