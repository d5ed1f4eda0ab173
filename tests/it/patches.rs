use crate::fixture::{scenario, Fixture, Object, Patch};
use crate::support::{assert_result, klp};
use serde_json::json;

#[test]
fn names_in_stack_order_with_sysfs_facts() {
    let tree = scenario("several").unwrap().build();
    let doc = klp(&["patches"]).root(&tree).run().json(0);
    let names: Vec<&str> = doc["patches"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["livepatch_1_150600_1_1", "livepatch_9_150600_1_1", "livepatch_10_150600_2_1"]);
    assert_eq!(doc["order"], "stack_order");
    assert_eq!(
        doc["patches"][1],
        json!({
            "name": "livepatch_9_150600_1_1", "enabled": true, "transition": false, "replace": false, "stack_order": 2,
            "objects": [{"name": "klp_busy", "patched": true, "functions": [{"name": "busy_sleep", "sympos": 1}]}],
            "effect": [{"object": "klp_busy", "function": "busy_sleep", "sympos": 1, "effect": "in_effect",
                        "in_effect": "livepatch_9_150600_1_1"}]
        })
    );
    let text = klp(&["--format", "text", "patches"]).root(&tree).run();
    assert_result!(text, @r"
        exit: 0
        --- stdout
        livepatch_1_150600_1_1
        livepatch_9_150600_1_1
        livepatch_10_150600_2_1
        --- stderr
    ");
}

#[test]
fn without_stack_order_sorted_by_name_numbers_as_numbers() {
    let tree = Fixture::new()
        .patch(Patch::new("livepatch_10_1"))
        .patch(Patch::new("livepatch_9_1").stack_order(1))
        .patch(Patch::new("livepatch_2_1"))
        .build();
    let doc = klp(&["patches"]).root(&tree).run().json(0);
    assert_eq!(doc["order"], "name");
    let names: Vec<&str> = doc["patches"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["livepatch_2_1", "livepatch_9_1", "livepatch_10_1"]);
}

#[test]
fn optional_files_absent_are_absent_from_the_report() {
    let tree = Fixture::new().patch(Patch::new("old").object(Object::new("vmlinux").function("f", 0))).build();
    let doc = klp(&["patches"]).root(&tree).run().json(0);
    let patch = &doc["patches"][0];
    assert!(patch.get("replace").is_none() && patch.get("stack_order").is_none(), "{patch}");
    // Without a stack order klp cannot tell which version runs: no claim.
    assert!(patch.get("effect").is_none(), "{patch}");
    assert!(patch["objects"][0].get("patched").is_none());
}

#[test]
fn verbose_text_keeps_the_classic_block_shape() {
    let tree = scenario("several").unwrap().build();
    // A fixture root has no rpm database (and no rpm on PATH): the package
    // lines must say "unknown", never "none".
    let out = klp(&["-v", "--format", "text", "patches"]).root(&tree).env("PATH", "/nonexistent").run();
    let expected = "\
livepatch_1_150600_1_1
    active: 0
    RPM: (unknown)
    CVE: (unknown)
    bug fixes and enhancements: (unknown)
    transition: 0
    replace: 0
    stack_order: 1
    object vmlinux: cmdline_proc_show,1
    inactive: vmlinux:cmdline_proc_show,1
    owner: unknown (rpm could not tell, see the warnings)

livepatch_9_150600_1_1
    active: 1
    RPM: (unknown)
    CVE: (unknown)
    bug fixes and enhancements: (unknown)
    transition: 0
    replace: 0
    stack_order: 2
    object klp_busy: busy_sleep,1
    in effect: klp_busy:busy_sleep,1
    owner: unknown (rpm could not tell, see the warnings)

livepatch_10_150600_2_1
    active: 1
    RPM: (unknown)
    CVE: (unknown)
    bug fixes and enhancements: (unknown)
    transition: 0
    replace: 0
    stack_order: 3
    object vmlinux: cmdline_proc_show,1
    in effect: vmlinux:cmdline_proc_show,1
    owner: unknown (rpm could not tell, see the warnings)
";
    assert_eq!(out.stdout, expected);
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("klp: warning: no rpm database under"), "{}", out.stderr);
    assert_classic_parser_accepts(&out.stdout);
}

/// The parsers in the field (openQA, Uyuni): an unindented line starts a
/// patch, every indented line must be `key: value`, a blank line ends it.
fn assert_classic_parser_accepts(text: &str) {
    let mut in_patch = false;
    for line in text.lines() {
        if line.is_empty() {
            in_patch = false;
        } else if line.starts_with(char::is_whitespace) {
            assert!(in_patch, "indented line outside a patch: {line:?}");
            let (key, _) = line.trim_start().split_once(':').unwrap_or_else(|| panic!("not key: value: {line:?}"));
            assert!(!key.is_empty());
        } else {
            assert!(!in_patch, "patch name without blank line before it: {line:?}");
            in_patch = true;
        }
    }
}

/// Three non-replace patches of one function, as the vm suite loads them on
/// 6.14+, plus one of another function in the middle of the stack.
fn stacked(third_in_transition: bool) -> crate::fixture::Tree {
    let cmdline = || Object::new("vmlinux").patched(true).function("cmdline_proc_show", 1);
    Fixture::new()
        .patch(Patch::new("p3").replace(false).stack_order(3).transition(third_in_transition).object(cmdline()))
        .patch(Patch::new("p1").replace(false).stack_order(1).object(cmdline()))
        .patch(
            Patch::new("other")
                .replace(false)
                .stack_order(2)
                .object(Object::new("ext4").patched(false).function("ext4_f", 1)),
        )
        .patch(Patch::new("p2").replace(false).stack_order(4).object(cmdline()).object(Object::new("vmlinux_x")))
        .build()
}

fn effects(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut all = Vec::new();
    for p in doc["patches"].as_array().unwrap() {
        for e in p["effect"].as_array().unwrap() {
            all.push((
                p["name"].as_str().unwrap().to_string(),
                e["effect"].as_str().unwrap().to_string(),
                e["in_effect"].clone(),
            ));
        }
    }
    all
}

#[test]
fn stacked_patches_name_the_one_in_effect() {
    let tree = stacked(false);
    let doc = klp(&["patches"]).root(&tree).run().json(0);
    assert_eq!(doc["order"], "stack_order");
    let top = json!("p2");
    assert_eq!(
        effects(&doc),
        [
            ("p1".into(), "superseded".into(), top.clone()),
            ("other".into(), "inactive".into(), json!(null)),
            ("p3".into(), "superseded".into(), top.clone()),
            ("p2".into(), "in_effect".into(), top),
        ]
    );
    assert_eq!(doc["patches"][3]["effect"][0]["function"], "cmdline_proc_show");
    let out = klp(&["-v", "--format", "text", "patches"]).root(&tree).env("PATH", "/nonexistent").run();
    for line in [
        "    stack_order: 1\n    object vmlinux: cmdline_proc_show,1\n    superseded: vmlinux:cmdline_proc_show,1 (by p2)\n",
        "    object ext4 (not patched): ext4_f,1\n    inactive: ext4:ext4_f,1\n",
        "    stack_order: 4\n    object vmlinux: cmdline_proc_show,1\n    object vmlinux_x: (none)\n    in effect: vmlinux:cmdline_proc_show,1\n",
    ] {
        assert!(out.stdout.contains(line), "{line:?} not in\n{}", out.stdout);
    }
    assert_classic_parser_accepts(&out.stdout);
    // Plain text stays the classic list of names.
    let plain = klp(&["--format", "text", "patches"]).root(&tree).run();
    assert_eq!(plain.stdout, "p1\nother\np3\np2\n");
}

#[test]
fn transition_below_the_top_changes_nothing_at_the_top() {
    // p3 is in transition but p2 is above it: every task runs p2's version.
    let doc = klp(&["patches"]).root(&stacked(true)).run().json(0);
    assert_eq!(effects(&doc)[3], ("p2".into(), "in_effect".into(), json!("p2")));
    assert_eq!(effects(&doc)[2], ("p3".into(), "superseded".into(), json!("p2")));
}

#[test]
fn top_patch_in_transition_shares_the_function_with_the_one_below() {
    let cmdline = || Object::new("vmlinux").function("cmdline_proc_show", 1);
    let tree = Fixture::new()
        .patch(Patch::new("a").stack_order(1).object(cmdline()))
        .patch(Patch::new("b").stack_order(2).object(cmdline()))
        .patch(Patch::new("c").stack_order(3).enabled(false).transition(true).object(cmdline()))
        .build();
    let doc = klp(&["patches"]).root(&tree).run().json(0);
    assert_eq!(
        effects(&doc),
        [
            ("a".into(), "superseded".into(), json!(null)),
            ("b".into(), "transition".into(), json!(null)),
            ("c".into(), "transition".into(), json!(null)),
        ]
    );
    let out = klp(&["-v", "--format", "text", "patches"]).root(&tree).env("PATH", "/nonexistent").run();
    assert!(
        out.stdout.contains("    superseded: vmlinux:cmdline_proc_show,1 (by a patch in transition)\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("    in transition: vmlinux:cmdline_proc_show,1\n"), "{}", out.stdout);
    assert_classic_parser_accepts(&out.stdout);
}

#[test]
fn unloaded_module_object_is_marked() {
    let tree = Fixture::new()
        .patch(
            Patch::new("p")
                .object(Object::new("vmlinux").patched(true))
                .object(Object::new("ext4").patched(false).function("ext4_f", 1)),
        )
        .build();
    let out = klp(&["-v", "--format", "text", "patches"]).root(&tree).run();
    assert!(
        out.stdout.contains("    object vmlinux: (none)\n    object ext4 (not patched): ext4_f,1\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn unsupported_kernel_lists_nothing() {
    let tree = Fixture::new().unsupported().build();
    let doc = klp(&["patches"]).root(&tree).run().json(0);
    assert_eq!((doc["supported"].as_bool(), doc["patches"].as_array().map(Vec::len)), (Some(false), Some(0)));
}
