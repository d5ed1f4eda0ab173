//! `klp assess --format nagios`: monitoring-plugin output (Nagios, Icinga,
//! checkmk's MRPE), with the exit status of the verdict (0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN, set by `main`).
//!
//! Contract: the first line is `KLP <STATE> - <summary> | <perfdata>`, the
//! summary naming the finding codes worst first (a few words each, counts
//! for repeated codes, at most [`SUMMARY_CODES`] of them); then one line per
//! finding, `[severity] code (subject): message`. Perfdata (plugin
//! guidelines' range syntax, `U` for a value klp could not tell):
//!
//! - `transition_age=Ns;0;STUCK;0`: seconds since the transition started
//!   (0 without one); any transition warns, an older one than `--stuck-after`
//!   is critical;
//! - `blocking_threads=N;;;0`;
//! - `support_days_left=N;W:;C:;` the fewest days of support left among
//!   the loaded patches; the ranges alert below `--expiry-warning` + 1 and
//!   `--expiry-critical` + 1 days, which is klp's rule (30 days left warns);
//! - `patches_loaded=N;;;0`.
//!
//! Messages and subjects carry text read from the system (patch names are
//! sysfs directory names): control characters are shown escaped and `|`
//! (the perfdata separator, in every line of a plugin's output) becomes
//! `/`, so nothing read can forge a line, a state or perfdata.

use crate::error::Error;
use crate::render::prometheus::findings_by_code;
use crate::report::{AssessReport, Verdict};
use std::fmt::Write;

/// Finding codes named on the first line; more are counted.
pub const SUMMARY_CODES: usize = 3;

/// The monitoring-plugin output of an assessment.
pub fn render(report: &AssessReport) -> String {
    let mut findings: Vec<_> = findings_by_code(report).into_iter().collect();
    findings.sort_by_key(|(code, (_, severity))| (std::cmp::Reverse(*severity), *code));
    let loaded = report.facts.patches.len();
    let mut summary: Vec<String> = findings
        .iter()
        .take(SUMMARY_CODES)
        .map(|(code, (count, _))| {
            let words = code.as_str().replace('_', " ");
            if *count > 1 {
                format!("{words} ({count})")
            } else {
                words
            }
        })
        .collect();
    if findings.len() > SUMMARY_CODES {
        summary.push(format!("{} more", findings.len() - SUMMARY_CODES));
    }
    if summary.is_empty() {
        let s = if loaded == 1 { "" } else { "es" };
        summary.push(format!("{loaded} live patch{s} loaded, no findings"));
    }
    let mut out = format!("KLP {} - {} | {}\n", state(report.verdict), summary.join(", "), perfdata(report));
    for finding in &report.findings {
        let subject = finding.subject.as_deref().map(|s| format!(" ({})", clean(s))).unwrap_or_default();
        writeln!(
            out,
            "[{}] {}{subject}: {}",
            finding.severity.as_str(),
            finding.code.as_str(),
            clean(&finding.message)
        )
        .unwrap();
    }
    out
}

/// What a plugin says when it cannot check at all (exit 3).
pub fn render_error(err: &Error) -> String {
    format!("KLP UNKNOWN - cannot assess: {} ({})\n", clean(&err.to_string()), err.code())
}

fn state(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "OK",
        Verdict::Warning => "WARNING",
        Verdict::Critical => "CRITICAL",
        Verdict::Unknown => "UNKNOWN",
    }
}

fn perfdata(report: &AssessReport) -> String {
    let t = &report.thresholds;
    let (age, blocking) = match &report.transition {
        None => ("0s".to_string(), "0".to_string()),
        Some(tr) => (
            tr.age.started_seconds_ago.map_or("U".into(), |a| format!("{}s", a.floor())),
            tr.blocking_threads.map_or("U".into(), |n| n.to_string()),
        ),
    };
    let days_left = report.facts.patches.iter().filter_map(|p| p.days_left).min().map_or("U".into(), |d| d.to_string());
    format!(
        "transition_age={age};0;{};0 blocking_threads={blocking};;;0 support_days_left={days_left};{}:;{}: patches_loaded={};;;0",
        t.stuck_after_seconds,
        u64::from(t.expiry_warning_days) + 1,
        u64::from(t.expiry_critical_days) + 1,
        report.facts.patches.len()
    )
}

/// One line of plain text: control characters escaped (as in text mode),
/// no perfdata separator.
fn clean(text: &str) -> String {
    crate::render::text::printable(text).replace('|', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_text_cannot_forge_lines_or_perfdata() {
        assert_eq!(clean("p\nKLP OK - fine | x=1"), "p\\nKLP OK - fine / x=1");
        assert_eq!(clean("tab\there"), "tab\\there");
    }

    #[test]
    fn an_error_is_unknown_with_its_code() {
        let err = Error::RootNotFound { path: "/no\nwhere".into() };
        assert_eq!(
            render_error(&err),
            "KLP UNKNOWN - cannot assess: root directory /no\\nwhere does not exist or is not a directory (root_not_found)\n"
        );
    }
}
