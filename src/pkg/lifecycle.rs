//! Support end dates: vendor lifecycle data, else an estimate.
//!
//! Lifecycle files (`*.lifecycle`) hold CSV lines `name, version, date[, successor]`;
//! `name` may be a glob (`*`, `?`) or `/regex/`, `version` a glob matched
//! against `VERSION` or `VERSION-RELEASE`, `date` is `YYYY-MM-DD`. `#` starts
//! a comment. Later lines and later directories override earlier ones.

use regex_lite::Regex;
use std::path::Path;

/// Where lifecycle data lives, inside the root, in order of precedence (lowest first).
pub const DATA_DIRS: [&str; 3] = ["usr/share/lifecycle/data", "usr/lib/lifecycle/data", "var/lib/lifecycle/data"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub date: String,
    /// The file, as seen inside the root.
    pub file: String,
}

/// The end-of-support date that lifecycle data gives the package, if any.
pub fn lookup(root: &Path, name: &str, version: &str, release: &str) -> Option<Found> {
    let mut found = None;
    for dir in DATA_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        let mut files: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "lifecycle")).collect();
        files.sort();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
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
        Some(regex) => Regex::new(&format!("^(?:{regex})$")).is_ok_and(|re| re.is_match(name)),
        None => glob(pattern, name),
    }
}

/// Shell-style `*` and `?` matching of a whole string.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

pub fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn date_of(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The same day one year later (29 February becomes 28 February).
pub fn plus_one_year(date: &str) -> String {
    let year: i64 = date[..4].parse().unwrap_or(0) + 1;
    let mut rest = date[4..].to_string();
    if rest == "-02-29" {
        rest = "-02-28".into();
    }
    format!("{year:04}{rest}")
}

/// Today's date (UTC).
pub fn today() -> String {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    date_of(now)
}

/// Days from today (UTC) to `YYYY-MM-DD`; negative once it has passed.
pub fn days_until(date: &str) -> Option<i64> {
    let today = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64 / 86_400;
    Some(days_from_date(date)? - today)
}

/// Days since 1970-01-01 of `YYYY-MM-DD`; None when not such a date.
pub fn days_from_date(date: &str) -> Option<i64> {
    if !is_date(date) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (date[..4].parse().ok()?, date[5..7].parse().ok()?, date[8..].parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days-from-civil algorithm.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(1_736_942_400), "2025-01-15");
        assert_eq!(date_of(951_782_400), "2000-02-29");
        assert_eq!(plus_one_year("2025-01-15"), "2026-01-15");
        assert_eq!(plus_one_year("2024-02-29"), "2025-02-28");
        assert!(is_date("2026-01-15") && !is_date("2026-1-15") && !is_date("soon"));
        for days in [0, 1, 59, 60, 365, 10_957, 20_000, 20_513] {
            assert_eq!(days_from_date(&date_of(days * 86_400)), Some(days));
        }
        assert_eq!(days_from_date("2026-13-01"), None);
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
    }
}
