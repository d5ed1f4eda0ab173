//! Unprivileged runs (nobody, via setpriv) against roots with root-only
//! modes, and against a real proc mounted with hidepid: every command
//! answers correctly or names what it could not read; never a wrong answer.

use super::{mount_privately, Mount};
use crate::fixture::{scenario, Fixture, Object, Patch, Task};
use crate::support::{assert_valid, is_root, klp};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Runs each command as nobody; each must fail with `permission_denied`
/// naming `path` or a file below it, `check` with exit 2 ("could not
/// determine").
fn assert_every_command_names(tree: &crate::fixture::Tree, path: &Path, commands: &[&str]) {
    for command in commands {
        let code = if *command == "check" { 2 } else { 1 };
        let doc = klp(&[command]).root(tree).unprivileged().run().json(code);
        assert_eq!(doc["error"]["code"], "permission_denied", "{command}: {doc}");
        let named = doc["error"]["path"].as_str().unwrap_or_default();
        assert!(Path::new(named).starts_with(path), "{command}: {named} is not {}", path.display());
    }
}

#[test]
fn root_only_livepatch_dir_is_named_not_taken_for_no_patches() {
    assert!(is_root(), "these tests switch to nobody and need root");
    let tree = scenario("stuck").unwrap().build();
    let lp = tree.join("sys/kernel/livepatch");
    chmod(&lp, 0o700);
    assert_every_command_names(&tree, &lp, &["status", "check", "patches", "blocking"]);
    // Listable but not searchable: the patch directories cannot be stat'ed.
    // This used to report "ready, 0 patches" (and `check` exit 0).
    chmod(&lp, 0o744);
    let patch = lp.join("livepatch_2_150600_2_1");
    assert_every_command_names(&tree, &patch, &["status", "check", "patches", "blocking"]);
}

#[test]
fn root_only_patch_files_are_named() {
    for file in ["enabled", "transition", "replace", "stack_order"] {
        let tree = scenario("ready").unwrap().build();
        let path = tree.join("sys/kernel/livepatch/livepatch_5_150600_2_1").join(file);
        chmod(&path, 0o400);
        // An optional file that exists but cannot be read is not "absent".
        assert_every_command_names(&tree, &path, &["status", "check", "patches"]);
    }
}

#[test]
fn root_only_object_dir_fails_patches_but_not_status() {
    let tree = scenario("stuck").unwrap().build();
    let object = tree.join("sys/kernel/livepatch/livepatch_2_150600_2_1/klp_busy");
    chmod(&object, 0o700);
    assert_every_command_names(&tree, &object, &["patches", "blocking"]);
    // status does not look at objects: its answer is complete and right.
    let doc = klp(&["status"]).root(&tree).unprivileged().run().json(0);
    assert_eq!(
        (doc["state"].as_str(), doc["transition"]["patch"].as_str()),
        (Some("in_progress"), Some("livepatch_2_150600_2_1"))
    );
}

#[test]
fn root_only_stack_leaves_culprits_unknown_not_empty() {
    let tree = Fixture::new()
        .patch(Patch::new("lp").transition(true).object(Object::new("vmlinux").function("f", 1)))
        .task(Task::user(5, 5, "x", &["x"]).patch_state(0).stack(&["[<0>] f+0x1/0x2"]))
        .build();
    chmod(&tree.join("proc/5/task/5/stack"), 0o400);
    let doc = klp(&["-vv", "blocking"]).root(&tree).unprivileged().run().json(0);
    let thread = &doc["threads"][0];
    assert_eq!(thread["tid"], 5);
    assert_eq!(
        (thread["culprits"].clone(), thread["stack"].clone()),
        (Value::Null, Value::Null),
        "unknown, not 'none'"
    );
    assert_eq!(doc["warnings"][0]["code"], "permission_denied");
    assert!(doc["warnings"][0]["path"].as_str().unwrap().ends_with("proc/5/task/5/stack"));
    // As root the same tree gives the culprit.
    let doc = klp(&["-vv", "blocking"]).root(&tree).run().json(0);
    assert_eq!(doc["threads"][0]["culprits"][0]["function"], "f");
}

#[test]
fn root_only_proc_and_task_dirs() {
    let tree = scenario("stuck").unwrap().build();
    chmod(&tree.join("proc/4242/task"), 0o700);
    let doc = klp(&["blocking"]).root(&tree).unprivileged().run().json(0);
    assert_eq!(doc["complete"], false, "a process whose threads cannot be listed makes the scan incomplete");
    assert_eq!(doc["threads_unreadable"], 1);
    assert!(doc["warnings"][0]["path"].as_str().unwrap().ends_with("proc/4242/task"));
    chmod(&tree.join("proc"), 0o700);
    assert_every_command_names(&tree, &tree.join("proc"), &["blocking"]);
    // status reads osrelease and tainted below proc: unknown, not an error.
    let doc = klp(&["status"]).root(&tree).unprivileged().run().json(0);
    assert_eq!((doc["kernel_release"].clone(), doc["taint_mask"].clone()), (Value::Null, Value::Null));
    assert_eq!(doc["state"], "in_progress");
}

#[test]
fn unreadable_root_is_named() {
    let parent = tempfile::tempdir().unwrap();
    chmod(parent.path(), 0o700);
    let root = parent.path().join("root");
    scenario("ready").unwrap().write_to(&{
        std::fs::create_dir(&root).unwrap();
        root.clone()
    });
    let doc = klp(&["status"]).root_path(&root).unprivileged().run().json(1);
    assert_eq!(doc["error"]["code"], "permission_denied", "not 'root_not_found': {doc}");
    assert_eq!(doc["error"]["path"].as_str(), root.to_str());
}

/// Runs `klp ARGS` (as nobody when `unprivileged`) in a private mount
/// namespace where a fresh proc instance (this host's pid namespace) is
/// mounted at `mount_point` with `hidepid=2`. Returns (exit code, document).
fn klp_with_hidepid_proc(root: &Path, mount_point: &Path, unprivileged: bool, args: &[&str]) -> (i32, Value) {
    let mut builder = klp(args).root_path(root);
    if unprivileged {
        builder = builder.unprivileged();
    }
    let mut command = builder.command();
    let proc = Mount {
        source: c"proc",
        fstype: Some(c"proc"),
        flags: libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        data: Some(c"hidepid=2"),
    };
    mount_privately(&mut command, proc, mount_point);
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot mount a private proc with hidepid=2 (needs root with CAP_SYS_ADMIN, unshare(CLONE_NEWNS) and mount(2)): {e}")
    });
    let stdout = String::from_utf8(output.stdout).unwrap();
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout:?}"));
    let schema = if doc.get("error").is_some() {
        "error"
    } else {
        args.iter().find(|a| crate::support::commands().iter().any(|c| c == *a)).unwrap()
    };
    assert_valid(schema, &doc);
    (output.status.code().unwrap(), doc)
}

fn has_warning(doc: &Value, code: &str) -> bool {
    doc["warnings"].as_array().unwrap().iter().any(|w| w["code"] == code)
}

#[test]
#[ignore = "mounts proc in a private mount namespace: run by tests/hardening/run.sh"]
fn hidepid_proc_is_reported_as_incomplete_for_nobody() {
    assert!(is_root(), "mounting proc needs root");
    let tree = Fixture::new()
        .patch(Patch::new("lp").transition(true).object(Object::new("vmlinux").function("cmdline_proc_show", 1)))
        .build();
    // Two layouts: ROOT/proc is itself the hidepid mount; ROOT/proc is a
    // symlink to /proc, over which the hidepid instance is mounted.
    let own = tree.join("proc");
    std::fs::remove_dir_all(&own).unwrap();
    std::fs::create_dir(&own).unwrap();
    let linked = tempfile::tempdir().unwrap();
    chmod(linked.path(), 0o755);
    Fixture::new().patch(Patch::new("lp").transition(true)).write_to(linked.path());
    std::fs::remove_dir_all(linked.path().join("proc")).unwrap();
    std::os::unix::fs::symlink("/proc", linked.path().join("proc")).unwrap();

    // Issue 10: `proc -> /proc` points out of the root, so it resolves to
    // the root's own proc (itself): a loop, named, never the host's proc.
    let (code, doc) = klp_with_hidepid_proc(linked.path(), Path::new("/proc"), true, &["-v", "blocking"]);
    assert_eq!((code, doc["error"]["code"].as_str()), (1, Some("symlink_loop")), "{doc}");
    {
        let (root, mount_point) = (tree.path(), own.as_path());
        let (code, doc) = klp_with_hidepid_proc(root, mount_point, true, &["-v", "blocking"]);
        assert_eq!(code, 0, "{doc}");
        assert_eq!((doc["state"].as_str(), doc["complete"].as_bool()), (Some("in_progress"), Some(false)), "{doc}");
        assert!(has_warning(&doc, "hidepid"), "nobody must be told other users' threads are hidden: {doc}");
        assert_eq!(doc["threads"], serde_json::json!([]));
        // Root sees every process through hidepid: no hidepid warning.
        let (code, doc) = klp_with_hidepid_proc(root, mount_point, false, &["-v", "blocking"]);
        assert_eq!(code, 0, "{doc}");
        assert!(!has_warning(&doc, "hidepid"), "{doc}");
        assert!(
            doc["threads_scanned"].as_u64().unwrap() + doc["threads_unreadable"].as_u64().unwrap() > 10,
            "root sees the host's threads: {doc}"
        );
        // status and patches do not depend on proc's visibility.
        let (code, doc) = klp_with_hidepid_proc(root, mount_point, true, &["status"]);
        assert_eq!((code, doc["state"].as_str()), (0, Some("in_progress")), "{doc}");
        let (code, doc) = klp_with_hidepid_proc(root, mount_point, true, &["--format", "json", "check"]);
        assert_eq!((code, doc["state"].as_str()), (1, Some("in_progress")), "{doc}");
    }
}
