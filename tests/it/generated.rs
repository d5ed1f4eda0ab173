//! Generated files stay in sync with the code: the JSON Schemas under
//! `schemas/` and the man page `man/klp.8`. Run with UPDATE_SCHEMAS=1 to
//! rewrite them after an intended change of the contract.

use crate::support::{klp, repo_path, schema_errors};
use serde_json::{json, Value};

fn check_generated(rel: &str, generated: &str) {
    let path = repo_path(rel);
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{rel} is out of date: run `UPDATE_SCHEMAS=1 cargo test --test it generated` and commit it"
    );
}

#[test]
fn committed_schemas_match_the_code() {
    for name in crate::support::documents() {
        let out = klp(&["schema", &name]).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let schema: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        check_generated(&format!("schemas/{name}.json"), &out.stdout);
    }
}

#[test]
fn committed_man_page_matches_the_cli() {
    let out = klp(&["manpage"]).run();
    assert_eq!(out.code, 0);
    for section in [".SH COMMANDS", ".SH CAVEATS", ".SH \"EXIT STATUS\"", "\\fBblocking\\fR", "\\-\\-non\\-interactive"]
    {
        assert!(out.stdout.contains(section), "man page lacks {section}");
    }
    check_generated("man/klp.8", &out.stdout);
}

#[test]
fn completions_are_generated() {
    let out = klp(&["completions", "bash"]).run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("blocking") && out.stdout.contains("--format"));
}

fn valid_status() -> Value {
    json!({
        "schema_version": 1, "state": "in_progress", "supported": true, "kernel_release": "6.1.0",
        "patches_loaded": 1, "patches_enabled": 1,
        "transition": {"patch": "p", "direction": "patching", "target_state": 1, "started_seconds_ago": 12.5,
            "started_unknown_reason": null, "signaled": false, "reversed": false},
        "livepatch_tainted": true, "taint_mask": 32768, "warnings": []
    })
}

#[test]
fn schemas_accept_a_valid_document() {
    assert_eq!(schema_errors("status", &valid_status()), Vec::<String>::new());
}

#[test]
fn schemas_reject_wrong_documents() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("unknown state", Box::new(|d| d["state"] = json!("done"))),
        ("string for boolean", Box::new(|d| d["supported"] = json!("yes"))),
        ("missing schema_version", Box::new(|d| drop(d.as_object_mut().unwrap().remove("schema_version")))),
        ("schema_version 2", Box::new(|d| d["schema_version"] = json!(2))),
        ("bad direction", Box::new(|d| d["transition"]["direction"] = json!("sideways"))),
        ("negative count", Box::new(|d| d["patches_loaded"] = json!(-1))),
        ("human units", Box::new(|d| d["taint_mask"] = json!("32k"))),
    ];
    for (what, mutate) in mutations {
        let mut doc = valid_status();
        mutate(&mut doc);
        assert!(!schema_errors("status", &doc).is_empty(), "schema accepted a document with {what}");
    }
    let bad_thread = json!({"schema_version": 1, "state": "ready", "supported": true, "transition": null, "verbosity": 0,
        "complete": true, "threads_scanned": 0, "threads_unreadable": 0, "threads_vanished": 0,
        "threads": [{"pid": "1", "tid": 1}], "warnings": []});
    assert!(!schema_errors("blocking", &bad_thread).is_empty());
    let bad_error = json!({"schema_version": 1, "error": {"code": "x", "message": "m"}});
    assert!(!schema_errors("error", &bad_error).is_empty(), "exit_code is required");
}

#[test]
fn readme_states_the_assess_rules_as_the_help_does() {
    let out = klp(&["assess", "--help"]).run();
    assert_eq!(out.code, 0);
    let rules = &out.stdout[out.stdout.find("Rules (finding code").expect("the rules are in --help")..];
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    assert!(readme.contains(rules.trim_end()), "README.md's rules differ from `klp assess --help`: copy them over");
    let man = klp(&["manpage"]).run().stdout;
    assert!(man.contains("transition_stuck: critical, reboot"), "the man page lacks the rules");
}

fn committed(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_path(&format!("schemas/{name}.json"))).unwrap()).unwrap()
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

#[test]
fn codes_are_enums_in_the_schemas() {
    let error = committed("error");
    let body = &error["$defs"]["ErrorBody"];
    let codes = strings(&body["properties"]["code"]["enum"]);
    assert!(codes.contains(&"malformed_value") && codes.contains(&"no_rpm_database"), "{codes:?}");
    assert!(!codes.contains(&"not_implemented"), "a code nothing returns is not advertised");
    // Every code has its own `details` shape, and every shape belongs to a listed code.
    let mut branches: Vec<String> = Vec::new();
    let mut pending: Vec<&Value> = body["anyOf"].as_array().unwrap().iter().collect();
    while let Some(branch) = pending.pop() {
        if let Some(reference) = branch["$ref"].as_str() {
            let name = reference.rsplit('/').next().unwrap();
            let def = &error["$defs"][name];
            pending.extend(def["oneOf"].as_array().or(def["anyOf"].as_array()).unwrap());
            continue;
        }
        assert!(branch["properties"]["details"].is_object(), "{branch}");
        branches.push(branch["properties"]["code"]["const"].as_str().unwrap().to_string());
    }
    branches.sort();
    let mut listed: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
    listed.sort();
    assert_eq!(branches, listed);

    for name in crate::support::commands() {
        let schema = committed(&name);
        let warning_codes = strings(&schema["$defs"]["WarningCode"]["enum"]);
        for code in ["hidepid", "several_transitions", "permission_denied", "no_rpm_database"] {
            assert!(warning_codes.contains(&code), "{name}: warning code {code} not listed: {warning_codes:?}");
        }
    }
}

#[test]
fn error_details_are_typed_per_code() {
    let doc = |code: &str, details: Value| json!({"schema_version": 1, "error": {"code": code, "message": "m", "exit_code": 1, "path": null, "details": details}});
    assert!(schema_errors("error", &doc("malformed_value", json!({"content": "x", "expected": "0 or 1"}))).is_empty());
    assert!(!schema_errors("error", &doc("malformed_value", json!({"content": 5}))).is_empty());
    assert!(!schema_errors("error", &doc("no_such_code", Value::Null)).is_empty());
    assert!(!schema_errors("error", &doc("usage", json!({"x": 1}))).is_empty(), "usage has no details");
    let declined = json!({"to": "2-1", "command": ["zypper"], "package": "p", "from": "3-1", "installed": "3-1"});
    assert!(schema_errors("error", &doc("declined", declined.clone())).is_empty());
    let mut no_command = declined;
    no_command.as_object_mut().unwrap().remove("command");
    assert!(!schema_errors("error", &doc("declined", no_command)).is_empty());
}
