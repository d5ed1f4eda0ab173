//! `--output FILE` (atomic replacement, mode 0644, the same document as
//! stdout would get) and the refusal of the monitoring formats by the
//! commands that have no rendering for them.

use crate::fixture::scenario;
use crate::support::{assert_valid, commands, klp};
use std::os::unix::fs::PermissionsExt;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn output_file_holds_what_stdout_would_hold() {
    let tree = scenario("several").unwrap().build();
    let dir = tempfile::tempdir().unwrap();
    for args in [&["status"][..], &["--format", "text", "-v", "patches"], &["patches"], &["blocking"]] {
        let expected = klp(args).root(&tree).run();
        let file = dir.path().join("doc");
        let mut with_output = args.to_vec();
        let file_arg = file.to_str().unwrap().to_string();
        with_output.extend(["--output", &file_arg]);
        let out = klp(&with_output).root(&tree).command().output().unwrap();
        assert_eq!(out.status.code(), Some(expected.code), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: stdout must stay empty with --output");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), expected.stdout, "{args:?}");
        assert_eq!(mode(&file), 0o644);
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["doc"], "no temporary file left behind");
}

#[test]
fn output_replaces_an_existing_file_and_a_relative_path_works() {
    let tree = scenario("ready").unwrap().build();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("klp.json");
    std::fs::write(&file, "stale and longer than the new document ".repeat(50)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = klp(&["status", "--output", "klp.json"]).root(&tree).command().current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_valid("status", &doc);
    assert_eq!(doc["state"], "ready");
    assert_eq!(mode(&file), 0o644);
}

#[test]
fn an_error_document_goes_to_the_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("klp.json");
    let missing = dir.path().join("no-such-root");
    let out = klp(&["status", "--output", file.to_str().unwrap()]).root_path(&missing).command().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_valid("error", &doc);
    assert_eq!(doc["error"]["code"], "root_not_found");
}

#[test]
fn an_unwritable_output_is_output_failed_and_leaves_the_target_alone() {
    let tree = scenario("ready").unwrap().build();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a-directory");
    std::fs::create_dir(&target).unwrap();
    let no_parent = dir.path().join("missing/klp.json");
    for path in [&target, &no_parent] {
        let out = klp(&["status", "--output", path.to_str().unwrap()]).root(&tree).run();
        let doc = out.json(1);
        assert_eq!(doc["error"]["code"], "output_failed", "{}", path.display());
        assert_eq!(doc["error"]["path"], path.to_str().unwrap());
        assert!(out.stderr.contains("cannot write"), "{}", out.stderr);
        let text = klp(&["--format", "text", "status", "--output", path.to_str().unwrap()]).root(&tree).run();
        assert_eq!((text.code, text.stdout.as_str()), (1, ""));
    }
    assert!(target.is_dir());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing created beside the target");
}

#[test]
fn monitoring_formats_are_refused_by_every_other_command_before_it_runs() {
    let tree = scenario("stuck").unwrap().build();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("never-written");
    let file_arg = file.to_str().unwrap();
    let names = commands();
    let singles: Vec<[&str; 1]> =
        names.iter().map(String::as_str).filter(|c| !["assess", "cve"].contains(c)).map(|c| [c]).collect();
    let others: Vec<&[&str]> = singles
        .iter()
        .map(|single| &single[..])
        .chain([
            &["cve", "CVE-2024-50115"][..],
            &["schema", "status"],
            &["manpage"],
            &["completions", "bash"],
            &["-n", "downgrade"],
        ])
        .collect();
    for format in ["prometheus", "nagios"] {
        for args in &others {
            let mut argv = vec!["--format", format, "--output", file_arg];
            argv.extend_from_slice(args);
            let out = klp(&argv).root(&tree).command().output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{format} {args:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{format} {args:?}: nothing else printed instead");
            let command = args.iter().find(|a| !a.starts_with('-')).unwrap();
            let expected = format!("--format {format} is not available for `{command}`");
            assert!(stderr.contains(&expected), "{format} {args:?}: {stderr}");
            assert!(stderr.contains("supported by: assess"), "{stderr}");
        }
        // Also through the environment, as KLP_FORMAT.
        let out = klp(&["status"]).root(&tree).env("KLP_FORMAT", format).command().output().unwrap();
        assert_eq!((out.status.code(), out.stdout.is_empty()), (Some(2), true));
    }
    assert!(!file.exists(), "a refused command writes no file");
}
