//! The demo system under `examples/demo` (README: "A first run") is the
//! fixture builder's `demo` scenario, committed: a test fails when they
//! drift. Regenerate with `UPDATE_DEMO=1 cargo test --test it demo`. Git
//! keeps no empty directories (sysfs function directories are empty), so
//! the committed tree has a `.keep` file in each; klp ignores them.

use crate::fixture::scenario;
use crate::support::{klp, repo_path};
use std::collections::BTreeMap;
use std::path::Path;

const KEEP: &str = ".keep";

/// Relative path -> file content (None for a directory), `.keep` files left out.
fn tree(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                found.insert(rel, None);
                pending.push(path);
            } else if path.file_name().is_some_and(|n| n != KEEP) {
                found.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    found
}

fn write_keep_files(dir: &Path) {
    let mut empty = true;
    for entry in std::fs::read_dir(dir).unwrap() {
        empty = false;
        let path = entry.unwrap().path();
        if path.is_dir() {
            write_keep_files(&path);
        }
    }
    if empty {
        std::fs::write(dir.join(KEEP), "").unwrap();
    }
}

#[test]
fn demo_is_the_fixture_builders_demo_scenario() {
    let demo = repo_path("examples/demo");
    let built = scenario("demo").unwrap().build();
    if std::env::var_os("UPDATE_DEMO").is_some() {
        let _ = std::fs::remove_dir_all(&demo);
        std::fs::create_dir_all(&demo).unwrap();
        scenario("demo").unwrap().write_to(&demo);
        write_keep_files(&demo);
    }
    let (committed, expected) = (tree(&demo), tree(built.path()));
    let differ: Vec<&String> =
        committed.keys().chain(expected.keys()).filter(|path| committed.get(*path) != expected.get(*path)).collect();
    assert!(
        differ.is_empty(),
        "examples/demo drifted from the fixture builder at {differ:?}: run `UPDATE_DEMO=1 cargo test --test it demo`"
    );
}

#[test]
fn readme_demo_commands_show_what_klp_tells() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let demo = repo_path("examples/demo");
    for args in [
        &["--format", "text", "status"][..],
        &["-vv", "--format", "text", "blocking"],
        &["-v", "--format", "text", "patches"],
        &["blocking"],
    ] {
        let shown = format!("klp --root examples/demo {}", args.join(" "));
        assert!(readme.contains(&shown), "README does not show `{shown}`");
    }

    let status = klp(&["--format", "text", "status"]).root_path(&demo).run();
    assert_eq!((status.code, status.stdout.as_str()), (0, "in_progress\n"));
    let blocking = klp(&["-vv", "--format", "text", "blocking"]).root_path(&demo).run();
    assert_eq!(blocking.code, 0, "{}", blocking.stderr);
    for line in [
        "77 [klp_busy_thread]",
        "    kernel thread: yes",
        "    culprits: klp_busy:busy_sleep",
        "4243 cat /proc/cmdline",
        "    state: D",
        "    culprits: vmlinux:cmdline_proc_show",
        "        [<0>] cmdline_proc_show+0x1a/0x40",
    ] {
        assert!(blocking.stdout.lines().any(|l| l == line), "no line {line:?} in\n{}", blocking.stdout);
    }
    let patches = klp(&["-v", "--format", "text", "patches"]).root_path(&demo).run();
    assert_eq!(patches.code, 0);
    assert!(
        patches.stdout.starts_with("livepatch_1_150600_1_1\n    active: 1\n    RPM: (unknown)\n"),
        "{}",
        patches.stdout
    );
    assert!(patches.stderr.contains("no rpm database"), "{}", patches.stderr);
    let doc = klp(&["blocking"]).root_path(&demo).run().json(0);
    assert_eq!((doc["complete"].as_bool(), doc["threads"].as_array().map(Vec::len)), (Some(true), Some(2)));
}
