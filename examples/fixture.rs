//! Writes a named fixture root for `klp --root DIR`, for the suites that are
//! not written in Rust (Ansible, Salt): one builder serves every suite.
//!
//!     cargo run --example fixture -- SCENARIO DIR
//!
//! DIR must not exist yet or be empty.

// A test or example binary exports nothing: `pub` marks what its modules share.
#![allow(unreachable_pub)]

#[path = "../tests/it/fixture.rs"]
mod fixture;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, dir] = args.as_slice() else {
        eprintln!("usage: fixture SCENARIO DIR\nscenarios: {}", fixture::SCENARIOS.join(" "));
        return ExitCode::from(2);
    };
    let Some(scenario) = fixture::scenario(name) else {
        eprintln!("fixture: unknown scenario {name:?}; known: {}", fixture::SCENARIOS.join(" "));
        return ExitCode::from(2);
    };
    let dir = std::path::Path::new(dir);
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        eprintln!("fixture: {} exists and is not empty", dir.display());
        return ExitCode::from(2);
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("fixture: cannot create {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    scenario.write_to(dir);
    ExitCode::SUCCESS
}
