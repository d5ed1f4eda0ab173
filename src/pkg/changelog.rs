//! CVEs and other fixes from a live patch package's changelog.
//!
//! SUSE changelog items name their fixes in the text and in trailers
//! (`KLP: CVE-2024-50115`, `References: bsc#1233019 CVE-2024-50115`). An item
//! that names a CVE is that CVE's fix (its bug numbers track the CVE); bug
//! references of items without a CVE are "bug fixes and enhancements".

use super::rpm::ChangelogEntry;
use regex_lite::Regex;
use std::sync::OnceLock;

/// What a changelog says the package fixes.
/// What a changelog says the package fixes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fixes {
    /// Newest first, each once.
    pub cves: Vec<String>,
    /// Bug references without a CVE, newest first, each once.
    pub fixes: Vec<String>,
}

fn cve_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| Regex::new(r"(?i)\bCVE-\d{4}-\d{4,}\b").expect("valid regex"))
}

fn bug_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| Regex::new(r"(?i)\b(?:bsc|boo|bnc)#\d+|\bjsc#[A-Z]+-\d+").expect("valid regex"))
}

/// Items of one changelog entry: a line starting with `-` opens an item,
/// the lines after it (trailers, wrapped text) belong to it.
fn items(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with('-') || items.is_empty() {
            items.push(line.to_string());
        } else if let Some(last) = items.last_mut() {
            last.push('\n');
            last.push_str(line);
        }
    }
    items
}

/// The CVEs and other fixes of a package's changelog entries.
/// The CVEs and other fixes of a package's changelog entries.
pub fn parse(changelog: &[ChangelogEntry]) -> Fixes {
    let mut fixes = Fixes::default();
    let mut cve_bugs: Vec<String> = Vec::new();
    for entry in changelog {
        for item in items(&entry.text) {
            let cves: Vec<String> = cve_pattern().find_iter(&item).map(|m| m.as_str().to_ascii_uppercase()).collect();
            let bugs = bug_pattern().find_iter(&item).map(|m| normalize_bug(m.as_str()));
            if cves.is_empty() {
                push_unique(&mut fixes.fixes, bugs);
            } else {
                push_unique(&mut fixes.cves, cves.into_iter());
                push_unique(&mut cve_bugs, bugs);
            }
        }
    }
    // A bug that some item ties to a CVE is that CVE's fix, not another one.
    fixes.fixes.retain(|bug| !cve_bugs.contains(bug));
    fixes
}

/// `BSC#1` -> `bsc#1`, `jsc#ped-1` -> `jsc#PED-1`: tracker lowercase, id as SUSE writes it.
fn normalize_bug(reference: &str) -> String {
    let (tracker, id) = reference.split_once('#').unwrap_or((reference, ""));
    format!("{}#{}", tracker.to_ascii_lowercase(), id.to_ascii_uppercase())
}

fn push_unique(list: &mut Vec<String>, values: impl Iterator<Item = String>) {
    for value in values {
        if !list.contains(&value) {
            list.push(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> ChangelogEntry {
        ChangelogEntry { time: 0, text: text.into() }
    }

    #[test]
    fn cves_and_bug_only_fixes() {
        let log = [
            entry("- Fix CVE-2025-21050 and CVE-2025-21051 in net/sched (bsc#1240050 bsc#1240051).\n  KLP: CVE-2025-21050 CVE-2025-21051\n  References: bsc#1240050 bsc#1240051 CVE-2025-21050 CVE-2025-21051"),
            entry("- Fix a crash in ext4 writeback (bsc#1240030).\n  References: bsc#1240030\n- Add a tunable (jsc#PED-1234)."),
            entry("- Fix CVE-2025-21020 (bsc#1240020).\n- Follow-up for bsc#1240020."),
            entry("- Initial live patch for kernel 6.4.0-150600.23.22-default."),
        ];
        let fixes = parse(&log);
        assert_eq!(fixes.cves, ["CVE-2025-21050", "CVE-2025-21051", "CVE-2025-21020"]);
        assert_eq!(fixes.fixes, ["bsc#1240030", "jsc#PED-1234"]);
    }

    #[test]
    fn initial_patch_has_nothing() {
        assert_eq!(parse(&[entry("- Initial live patch.")]), Fixes::default());
        assert_eq!(parse(&[]), Fixes::default());
    }
}
