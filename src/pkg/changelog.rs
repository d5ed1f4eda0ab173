//! CVEs and other fixes from a live patch package's changelog.
//!
//! SUSE changelog items name their fixes in the text and in trailers
//! (`KLP: CVE-2024-50115`, `References: bsc#1233019 CVE-2024-50115`). An item
//! that names a CVE is that CVE's fix (its bug numbers track the CVE); bug
//! references of items without a CVE are "bug fixes and enhancements".
//!
//! Red Hat items (kpatch-patch and kernel packages) name CVEs in braces, a
//! list that may wrap to the next line (`{CVE-2024-1, \n CVE-2024-2}`), and
//! bugs as bare Bugzilla numbers or `RHEL-n` in brackets (`[2056875]`,
//! `[RHEL-23500 2056876]`).

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
    parse_with(changelog, suse_bugs)
}

/// CVEs and other fixes from a Red Hat changelog (`{CVE-...}`, `[NNNNNNN]`, `[RHEL-n]`).
pub(crate) fn parse_redhat(changelog: &[ChangelogEntry]) -> Fixes {
    parse_with(changelog, redhat_bugs)
}

fn suse_bugs(item: &str) -> Vec<String> {
    bug_pattern().find_iter(item).map(|m| normalize_bug(m.as_str())).collect()
}

fn bracket_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| Regex::new(r"\[([^\[\]\n]{1,200})\]").expect("valid regex"))
}

/// `[2056875]`, `[RHEL-23500 2056876]`: ids in brackets; other bracketed
/// text (`[1-2.el8_5]`, `[x86]`) is not a bug reference.
fn redhat_bugs(item: &str) -> Vec<String> {
    let mut bugs = Vec::new();
    for inside in bracket_pattern().captures_iter(item).filter_map(|c| c.get(1)) {
        let words: Vec<&str> =
            inside.as_str().split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).collect();
        let is_bug = |w: &&str| {
            let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|c| c.is_ascii_digit());
            digits(w) || w.strip_prefix("RHEL-").is_some_and(digits)
        };
        if !words.is_empty() && words.iter().all(is_bug) {
            bugs.extend(words.iter().map(|w| w.to_string()));
        }
    }
    bugs
}

/// A brace list wrapped across lines is joined first, so a CVE id broken
/// at its dash (`CVE-2024-\n  1086`) is whole again.
fn unwrap_braces(item: &str) -> String {
    let mut out = String::with_capacity(item.len());
    let mut depth = 0usize;
    let mut chars = item.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '\n' if depth > 0 => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if !out.ends_with('-') {
                    out.push(' ');
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

fn parse_with(changelog: &[ChangelogEntry], bugs_of: fn(&str) -> Vec<String>) -> Fixes {
    let mut fixes = Fixes::default();
    let mut cve_bugs: Vec<String> = Vec::new();
    for entry in changelog {
        for item in items(&entry.text) {
            let item = unwrap_braces(&item);
            let cves: Vec<String> = cve_pattern().find_iter(&item).map(|m| m.as_str().to_ascii_uppercase()).collect();
            let bugs = bugs_of(&item).into_iter();
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
    fn redhat_braces_and_brackets() {
        let log = [
            entry("- kernel: net/sched: out-of-bounds write [RHEL-30011] {CVE-2024-26600}\n- kernel: nfsd: fix a leak [RHEL-30010]"),
            entry("- kernel: two fixes [RHEL-30003 2270100] {CVE-2024-26585,\n  CVE-2024-26586}\n- kernel: ext4 [RHEL-30002]\n- kernel: wrapped id {CVE-2024-\n  26999} [2270101]"),
            entry("- An empty patch to subscribe to kpatch stream [2270000]\n- x86: [x86] not a bug, nor [1-2.el8_5] [RHEL-x]"),
            entry("- netfilter: nf_tables: reject QUEUE/DROP verdict parameters (Florian Westphal) [RHEL-23500] {CVE-2024-1086}"),
        ];
        let fixes = parse_redhat(&log);
        assert_eq!(
            fixes.cves,
            ["CVE-2024-26600", "CVE-2024-26585", "CVE-2024-26586", "CVE-2024-26999", "CVE-2024-1086"]
        );
        assert_eq!(fixes.fixes, ["RHEL-30010", "RHEL-30002", "2270000"]);
        // SUSE's parser does not read bracketed ids.
        assert_eq!(parse(&log).fixes, Vec::<String>::new());
    }

    #[test]
    fn initial_patch_has_nothing() {
        assert_eq!(parse(&[entry("- Initial live patch.")]), Fixes::default());
        assert_eq!(parse(&[]), Fixes::default());
    }
}
