//! Support end dates: vendor lifecycle data, else an estimate.
//!
//! Lifecycle files (`*.lifecycle`) hold CSV lines `name, version, date[, successor]`;
//! `name` may be a glob (`*`, `?`) or `/regex/`, `version` a glob matched
//! against `VERSION` or `VERSION-RELEASE`, `date` is `YYYY-MM-DD`. `#` starts
//! a comment. Later lines and later directories override earlier ones.
//!
//! Dates are `jiff` civil dates (UTC). Globs are matched by `regex-lite`,
//! already here for the `/regex/` names, rather than `globset`, which would
//! add seven crates to the binary for two metacharacters.

use jiff::civil::Date;
use jiff::tz::Offset;
use jiff::{Timestamp, ToSpan};
use regex_lite::Regex;
use std::path::Path;

/// Where lifecycle data lives, inside the root, in order of precedence (lowest first).
pub(crate) const DATA_DIRS: [&str; 3] =
    ["usr/share/lifecycle/data", "usr/lib/lifecycle/data", "var/lib/lifecycle/data"];

/// A lifecycle entry that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The end of support, `YYYY-MM-DD`.
    pub date: String,
    /// The file, as seen inside the root.
    pub(crate) file: String,
}

/// The end-of-support date that lifecycle data gives the package, if any.
pub fn lookup(root: &Path, name: &str, version: &str, release: &str) -> Option<Found> {
    let mut found = None;
    // Through the root-relative reader: never out of the root, never a
    // FIFO, bounded; an unusable file is skipped like an unreadable one.
    let Ok(root_dir) = crate::sys::fs::Dir::open_root(root) else { return None };
    for dir in DATA_DIRS {
        let Ok(data) = root_dir.dir(dir) else { continue };
        let Ok(entries) = data.entries() else { continue };
        let mut files: Vec<_> = entries
            .into_iter()
            .map(|(name, _)| root.join(dir).join(name))
            .filter(|p| p.extension().is_some_and(|e| e == "lifecycle"))
            .collect();
        files.sort();
        for file in files {
            let Some(file_name) = file.file_name() else { continue };
            let Ok(bytes) = data.read_whole(file_name, crate::sys::limits::LIFECYCLE) else { continue };
            let Ok(text) = String::from_utf8(bytes) else { continue };
            if let Some(date) = lookup_in(&text, name, version, release) {
                let inside = file.strip_prefix(root).unwrap_or(&file);
                found = Some(Found { date, file: format!("/{}", inside.display()) });
            }
        }
    }
    found
}

/// The last matching line's date in one file's text.
pub fn lookup_in(text: &str, name: &str, version: &str, release: &str) -> Option<String> {
    let full = format!("{version}-{release}");
    let mut date = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() < 3 || !is_date(fields[2]) {
            continue;
        }
        if name_matches(fields[0], name) && (glob(fields[1], version) || glob(fields[1], &full)) {
            date = Some(fields[2].to_string());
        }
    }
    date
}

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
        Some(regex) => whole_match(regex, name),
        None => glob(pattern, name),
    }
}

/// Shell-style `*` and `?` matching of a whole string.
fn glob(pattern: &str, text: &str) -> bool {
    let mut regex = String::with_capacity(pattern.len() * 2);
    for c in pattern.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            c => regex.push_str(&regex_lite::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    whole_match(&regex, text)
}

/// Whether the regex matches all of `text`; an invalid one matches nothing.
fn whole_match(regex: &str, text: &str) -> bool {
    Regex::new(&format!("(?s)^(?:{regex})$")).is_ok_and(|re| re.is_match(text))
}

/// A valid `YYYY-MM-DD` date.
pub fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-' && text.parse::<Date>().is_ok()
}

/// `YYYY-MM-DD` (UTC) of a Unix time; None outside the years 0001-9999.
pub(crate) fn date_of(seconds: i64) -> Option<String> {
    let date = Offset::UTC.to_datetime(Timestamp::from_second(seconds).ok()?).date();
    (date.year() >= 1).then(|| date.to_string())
}

/// The same day one year later (29 February becomes 28 February); the
/// date itself in the year 9999.
pub fn plus_one_year(date: &str) -> String {
    match date.parse::<Date>().and_then(|d| d.checked_add(1.year())) {
        Ok(next) => next.to_string(),
        Err(_) => date.to_string(),
    }
}

/// Days from today (UTC) to `YYYY-MM-DD`; negative once it has passed.
pub fn days_until(date: &str) -> Option<i64> {
    let today = Timestamp::now().as_second().div_euclid(86_400);
    Some(days_from_date(date)? - today)
}

/// Days since 1970-01-01 of `YYYY-MM-DD`; None when not such a date.
pub fn days_from_date(date: &str) -> Option<i64> {
    let date: Date = date.parse().ok()?;
    let epoch = Date::constant(1970, 1, 1);
    Some(i64::from(epoch.until(date).ok()?.get_days()))
}

/// Today's date (UTC).
pub(crate) fn today() -> String {
    Offset::UTC.to_datetime(Timestamp::now()).date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_of(0).as_deref(), Some("1970-01-01"));
        assert_eq!(date_of(1_736_942_400).as_deref(), Some("2025-01-15"));
        assert_eq!(date_of(951_782_400).as_deref(), Some("2000-02-29"));
        assert_eq!(date_of(i64::MAX), None);
        assert_eq!(plus_one_year("2025-01-15"), "2026-01-15");
        assert_eq!(plus_one_year("2024-02-29"), "2025-02-28");
        assert!(is_date("2026-01-15") && !is_date("2026-1-15") && !is_date("soon") && !is_date("2026-02-30"));
        assert_eq!(days_from_date("2026-13-01"), None);
        assert_eq!(days_from_date("1970-01-02"), Some(1));
    }

    #[test]
    fn matching_lines() {
        let data = "# comment\n\
                    kernel-livepatch-*-default, *, 2026-03-01\n\
                    /kernel-livepatch-6_4_0-150600_23_\\d+-default/, 5, 2026-06-30, kernel-livepatch-x\n\
                    other, *, 2030-01-01\n\
                    broken line\n";
        let name = "kernel-livepatch-6_4_0-150600_23_22-default";
        assert_eq!(lookup_in(data, name, "5", "150600.6.1").as_deref(), Some("2026-06-30"));
        assert_eq!(lookup_in(data, name, "6", "150600.7.1").as_deref(), Some("2026-03-01"));
        assert_eq!(lookup_in(data, "kernel-default", "6", "1"), None);
        assert_eq!(lookup_in("x, 5-150600.*, 2027-01-01", "x", "5", "150600.6.1").as_deref(), Some("2027-01-01"));
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a*d", "abc"));
        assert!(glob("*-default", "kernel-livepatch-x-default"));
        assert!(glob("5-150600.*", "5-150600.6.1") && !glob("5-150600.*", "5-150600x6"), "`.` is literal");
        assert!(glob("a(b", "a(b") && glob("*", "multi\nline"));
    }
}
