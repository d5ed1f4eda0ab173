//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) through the
//! same checks the fuzz targets run, on stable Rust: CI never fuzzes, but
//! every seed and every past finding stays a regression test.

use super::invariants::TARGETS;
use crate::support::repo_path;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn every_parser_has_a_fuzz_target_and_a_seed_corpus() {
    for (name, _) in TARGETS {
        let target = repo_path(&format!("fuzz/fuzz_targets/{name}.rs"));
        let source = std::fs::read_to_string(&target).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
        assert!(source.contains("invariants::"), "{name} runs the shared checks");
        let seeds = std::fs::read_dir(repo_path(&format!("fuzz/corpus/{name}"))).map(|d| d.count()).unwrap_or(0);
        assert!(seeds >= 5, "fuzz/corpus/{name} has {seeds} seeds");
    }
    let targets = std::fs::read_dir(repo_path("fuzz/fuzz_targets")).unwrap().count();
    assert_eq!(targets, TARGETS.len(), "a fuzz target without a replayed corpus");
}

#[test]
fn committed_corpus_passes_every_check() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, check) in TARGETS {
        let dir = repo_path(&format!("fuzz/corpus/{name}"));
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            replayed += 1;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                failures.push(format!("{}: {}", file.display(), message.unwrap_or_default()));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {replayed} corpus files fail:\n{}", failures.len(), failures.join("\n"));
    println!("corpus replay: {replayed} files through {} parser checks", TARGETS.len());
}
