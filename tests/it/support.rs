//! Running the built binary and checking its whole result.
//!
//! [`klp`] builds an invocation; [`Outcome`] holds exit code, stdout and
//! stderr. Every JSON stdout is validated against the committed schema of
//! its command (or `schemas/error.json` for error documents) inside `run`,
//! so no test can forget it.
#![allow(dead_code)]

use crate::fixture::Tree;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Every document klp prints (`klp schema NAME`), from the one list in the CLI.
pub fn documents() -> Vec<String> {
    use clap::ValueEnum;
    klp::cli::SchemaDocument::value_variants().iter().map(|d| d.name()).collect()
}

/// The report commands: every document but the error document.
pub fn commands() -> Vec<String> {
    documents().into_iter().filter(|name| name != "error").collect()
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn klp(args: &[&str]) -> Klp {
    Klp { args: args.iter().map(|s| s.to_string()).collect(), root: None, unprivileged: false, env: Vec::new() }
}

pub struct Klp {
    args: Vec<String>,
    root: Option<PathBuf>,
    unprivileged: bool,
    env: Vec<(String, String)>,
}

impl Klp {
    pub fn root(mut self, tree: &Tree) -> Self {
        self.root = Some(tree.path().to_path_buf());
        self
    }
    pub fn root_path(mut self, path: &Path) -> Self {
        self.root = Some(path.to_path_buf());
        self
    }
    /// Run as an unprivileged user (nobody when the tests run as root).
    pub fn unprivileged(mut self) -> Self {
        self.unprivileged = true;
        self
    }
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn command(&self) -> Command {
        let binary = env!("CARGO_BIN_EXE_klp");
        let mut cmd = if self.unprivileged && is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", binary]);
            c
        } else {
            Command::new(binary)
        };
        cmd.env_remove("KLP_FORMAT").env_remove("KLP_ROOT");
        if let Some(root) = &self.root {
            cmd.arg("--root").arg(root);
        }
        cmd.args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(self) -> Outcome {
        let output = self.command().output().expect("klp runs");
        let outcome = Outcome {
            code: output.status.code().expect("klp exits, not killed"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
            root: self.root.clone(),
        };
        if self.is_json() {
            let doc = outcome.parsed();
            let schema = if doc.get("error").is_some() { "error" } else { self.command_name().expect("a command") };
            assert_valid(schema, &doc);
        }
        outcome
    }

    fn is_json(&self) -> bool {
        let text_env = self.env.iter().any(|(k, v)| k == "KLP_FORMAT" && v == "text");
        let text_arg = self.args.windows(2).any(|w| w[0] == "--format" && w[1] == "text")
            || self.args.iter().any(|a| a == "--format=text");
        let special = matches!(self.command_name(), Some("schema" | "manpage" | "completions"));
        !text_env && !text_arg && !special && !self.args.iter().any(|a| a == "--help" || a == "-h" || a == "--version")
    }

    fn command_name(&self) -> Option<&str> {
        self.args
            .iter()
            .map(String::as_str)
            .find(|a| commands().iter().any(|c| c == a) || matches!(*a, "schema" | "manpage" | "completions"))
    }
}

#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    root: Option<PathBuf>,
}

impl Outcome {
    pub fn parsed(&self) -> Value {
        let mut docs = serde_json::Deserializer::from_str(&self.stdout).into_iter::<Value>();
        let doc = docs
            .next()
            .unwrap_or_else(|| panic!("no JSON document on stdout; stderr: {}", self.stderr))
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout));
        assert!(docs.next().is_none(), "more than one document on stdout: {:?}", self.stdout);
        doc
    }

    /// The JSON document; fails the test unless the exit code is `code`.
    pub fn json(&self, code: i32) -> Value {
        assert_eq!(self.code, code, "exit code; stdout: {} stderr: {}", self.stdout, self.stderr);
        self.parsed()
    }

    /// Exit code, stdout and stderr in one string, for [`assert_result`].
    pub fn snapshot(&self) -> String {
        format!("exit: {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }

    /// insta settings that show the temp root as `[ROOT]`.
    pub fn snapshot_settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        if let Some(root) = &self.root {
            settings.add_filter(&regex::escape(&root.display().to_string()), "[ROOT]");
        }
        settings
    }
}

/// Asserts a whole result (exit code, stdout, stderr) against an inline
/// insta snapshot, with the temp root filtered to `[ROOT]`. `cargo insta
/// review` (or `INSTA_UPDATE=always`) rewrites the snapshot after an intended
/// change of the output.
macro_rules! assert_result {
    ($outcome:expr, @$snapshot:literal) => {{
        let outcome = &$outcome;
        outcome.snapshot_settings().bind(|| insta::assert_snapshot!(outcome.snapshot(), @$snapshot));
    }};
}
pub(crate) use assert_result;

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Panics with every violation unless `doc` is valid against `schemas/<name>.json`.
pub fn assert_valid(name: &str, doc: &Value) {
    let errors = schema_errors(name, doc);
    assert!(errors.is_empty(), "document violates schemas/{name}.json: {errors:#?}\n{doc:#}");
}

pub fn schema_errors(name: &str, doc: &Value) -> Vec<String> {
    static SCHEMAS: OnceLock<Mutex<HashMap<String, Value>>> = OnceLock::new();
    let schema = SCHEMAS
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_insert_with(|| {
            let path = repo_path(&format!("schemas/{name}.json"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).expect("schema is JSON")
        })
        .clone();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}
