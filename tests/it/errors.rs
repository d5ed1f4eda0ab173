use crate::fixture::{scenario, Fixture, Patch, Task};
use crate::support::klp;
use std::process::Stdio;

#[test]
fn unknown_command_is_a_usage_error_with_a_document() {
    let out = klp(&["frobnicate"]).run();
    let doc = out.json(2);
    assert_eq!(doc["error"]["code"], "usage");
    assert_eq!(doc["error"]["message"], "unrecognized subcommand 'frobnicate'");
    assert!(out.stderr.contains("unrecognized subcommand"));
}

#[test]
fn usage_errors_in_text_mode_go_to_stderr_only() {
    let out = klp(&["--format", "text", "status", "--bogus"]).run();
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("--bogus"), "{}", out.stderr);
    let out = klp(&["--format", "yaml", "status"]).run();
    assert_eq!(out.json(2)["error"]["code"], "usage");
}

#[test]
fn missing_root_is_an_error_naming_it() {
    let out = klp(&["--root", "/nonexistent/klp-root", "status"]).run();
    let doc = out.json(1);
    assert_eq!(doc["error"]["code"], "root_not_found");
    assert_eq!(doc["error"]["path"], "/nonexistent/klp-root");
    assert_eq!(out.stderr, "klp: error: root directory /nonexistent/klp-root does not exist or is not a directory\n");
}

#[test]
fn malformed_sysfs_value_names_the_file() {
    let tree = Fixture::new().patch(Patch::new("p").raw_enabled("2\n")).build();
    for command in ["status", "patches", "blocking"] {
        let doc = klp(&[command]).root(&tree).run().json(1);
        assert_eq!(doc["error"]["code"], "malformed_value", "{command}");
        assert!(doc["error"]["path"].as_str().unwrap().ends_with("sys/kernel/livepatch/p/enabled"));
    }
}

#[test]
fn missing_enabled_file_in_a_present_patch_dir_is_an_error() {
    let tree = Fixture::new().patch(Patch::new("p")).build();
    std::fs::remove_file(tree.join("sys/kernel/livepatch/p/enabled")).unwrap();
    let doc = klp(&["status"]).root(&tree).run().json(1);
    assert_eq!(doc["error"]["code"], "missing_file");
}

#[test]
fn help_and_version_succeed() {
    let help = klp(&["--help"]).run();
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit status:") && help.stdout.contains("blocking"), "{}", help.stdout);
    let version = klp(&["--version"]).run();
    assert_eq!((version.code, version.stdout.trim()), (0, concat!("klp ", env!("CARGO_PKG_VERSION"))));
    assert_eq!(klp(&["-h"]).run().code, 0);
}

/// Many blockers with stacks: a document far larger than a pipe buffer.
fn big_tree() -> crate::fixture::Tree {
    let frames: Vec<String> = (0..40).map(|i| format!("[<0>] frame_{i}+0x1/0x2")).collect();
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    let mut fixture = Fixture::new().patch(Patch::new("lp").transition(true));
    for pid in 100..600 {
        fixture = fixture.task(Task::user(pid, pid, "w", &["w", "--long-argument"]).patch_state(0).stack(&frames));
    }
    fixture.build()
}

#[test]
fn closed_stdout_ends_quietly() {
    let tree = big_tree();
    let mut child =
        klp(&["-vv", "blocking"]).root(&tree).command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "no panic, no error status");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn full_disk_on_stdout_is_reported() {
    let tree = big_tree();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let output = klp(&["-vv", "blocking"]).root(&tree).command().stdout(full).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "klp: error: cannot write output: No space left on device (os error 28)\n"
    );
}

#[test]
fn text_errors_never_touch_stdout() {
    let tree = scenario("stuck").unwrap().build();
    std::fs::write(tree.join("sys/kernel/livepatch/livepatch_2_150600_2_1/transition"), "x").unwrap();
    let out = klp(&["--format", "text", "-v", "patches"]).root(&tree).run();
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("klp: error: unexpected content in "), "{}", out.stderr);
}
