//! `klp assess --format prometheus`: the Prometheus text exposition format
//! (version 0.0.4) of the assess report, for node_exporter's textfile
//! collector (`--output DIR/klp.prom`).
//!
//! Contract: every metric is named `klp_*`, has `# HELP` and `# TYPE`
//! (all gauges), uses base units (seconds, Unix timestamps), and its labels
//! take few values (finding and reason codes, verdicts, CVE statuses are
//! enums; patch names and CVE ids are as many as the host has loaded or
//! asked for). A fact klp could not tell is an absent series, never a
//! made-up 0: `klp_reboot_required`, `klp_transition_age_seconds`,
//! `klp_blocking_threads` and `klp_patch_support_end_timestamp_seconds` may
//! be missing, and the findings say why. When klp cannot assess at all, the
//! document still says so: `klp_assess_success 0` and `klp_assess_error`.
//! Label values and help texts are escaped as the format requires (patch
//! names come from sysfs directory names: untrusted).
//!
//! [`METRICS`] lists every metric with its labels and meaning; README and
//! man page show the same list, and a test keeps all three in step.
//!
//! Written by hand: the format is a few lines of text, and the client
//! crates bring a registry and global state a one-shot CLI does not need.

use crate::error::Error;
use crate::report::{AssessReport, FindingCode, Severity, Verdict};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Every metric: name, labels, help text (the exposition's `# HELP`).
pub const METRICS: &[(&str, &str, &str)] = &[
    ("klp_assess_success", "", "1 when klp could assess the host (the other klp_ series describe it), 0 when it failed (see klp_assess_error)."),
    ("klp_assess_error", "code", "Why klp could not assess the host, by stable error code (value 1); only when klp_assess_success is 0."),
    ("klp_verdict", "verdict", "The verdict of klp assess as a state set: 1 for the current one of ok, warning, critical, unknown; 0 for the others."),
    ("klp_livepatch_supported", "", "1 when the running kernel supports live patching (/sys/kernel/livepatch exists), else 0."),
    ("klp_transition_in_progress", "", "1 while a live patch transition is in progress, else 0."),
    ("klp_transition_age_seconds", "", "Seconds since the transition in progress started, from the kernel log; absent without a transition or when the log does not tell."),
    ("klp_blocking_threads", "", "Threads blocking the transition in progress (0 without a transition); absent when they could not be counted."),
    ("klp_patches_loaded", "", "Live patches loaded."),
    ("klp_patches_enabled", "", "Live patches loaded and enabled."),
    ("klp_patch_info", "patch, package, version", "One series per loaded live patch (value 1): its sysfs name, its package (name-version-release.arch, empty when none or unknown) and the package version."),
    ("klp_patch_support_end_timestamp_seconds", "patch", "When the live patch's support ends (00:00 UTC after its last day of support), as a Unix timestamp; absent when unknown."),
    ("klp_reboot_required", "", "1 when a finding requires a reboot, 0 when none does; absent when klp could not tell."),
    ("klp_reboot_reason", "reason", "One series per finding code that requires a reboot (value 1)."),
    ("klp_findings", "code, severity", "One series per finding code present: how many findings have it, with the worst severity among them (info, warning, unknown, critical)."),
    ("klp_cve_status", "cve, status", "One series per CVE asked for with --cve (value 1), with its status: fixed, not_fixed, pending or unknown."),
    ("klp_threshold_transition_stuck_seconds", "", "The --stuck-after threshold assessed with: an older transition is stuck."),
    ("klp_threshold_support_warning_seconds", "", "The --expiry-warning threshold, in seconds: support ending sooner is a warning."),
    ("klp_threshold_support_critical_seconds", "", "The --expiry-critical threshold, in seconds: support ending sooner is critical."),
];

const DAY: f64 = 86_400.0;

/// The exposition of an assess report.
pub fn render(report: &AssessReport) -> String {
    let mut out = Exposition::default();
    out.value("klp_assess_success", &[], 1.0);
    for verdict in [Verdict::Ok, Verdict::Warning, Verdict::Critical, Verdict::Unknown] {
        out.value("klp_verdict", &[("verdict", verdict.as_str())], f64::from(u8::from(report.verdict == verdict)));
    }
    let facts = &report.facts;
    out.value("klp_livepatch_supported", &[], flag(facts.supported));
    out.value("klp_transition_in_progress", &[], flag(report.transition.is_some()));
    match &report.transition {
        Some(transition) => {
            if let Some(age) = transition.age.started_seconds_ago {
                out.value("klp_transition_age_seconds", &[], age);
            }
            if let Some(threads) = transition.blocking_threads {
                out.value("klp_blocking_threads", &[], threads as f64);
            }
        }
        None => out.value("klp_blocking_threads", &[], 0.0),
    }
    out.value("klp_patches_loaded", &[], facts.patches.len() as f64);
    out.value("klp_patches_enabled", &[], facts.patches.iter().filter(|p| p.enabled).count() as f64);
    for patch in &facts.patches {
        let package = patch.package.as_deref().unwrap_or("");
        let version = patch.version.as_deref().unwrap_or("");
        out.value("klp_patch_info", &[("patch", &patch.name), ("package", package), ("version", version)], 1.0);
    }
    for patch in &facts.patches {
        let last_day = patch.support_end.as_deref().and_then(crate::pkg::lifecycle::days_from_date);
        if let Some(last_day) = last_day {
            out.value(
                "klp_patch_support_end_timestamp_seconds",
                &[("patch", &patch.name)],
                (last_day + 1) as f64 * DAY,
            );
        }
    }
    if let Some(required) = report.reboot_required {
        out.value("klp_reboot_required", &[], flag(required));
    }
    for reason in &report.reboot_reasons {
        out.value("klp_reboot_reason", &[("reason", reason.as_str())], 1.0);
    }
    for (code, (count, severity)) in findings_by_code(report) {
        out.value("klp_findings", &[("code", code.as_str()), ("severity", severity.as_str())], count as f64);
    }
    for cve in &report.cves {
        out.value("klp_cve_status", &[("cve", &cve.id), ("status", cve.status.as_str())], 1.0);
    }
    let thresholds = &report.thresholds;
    out.value("klp_threshold_transition_stuck_seconds", &[], thresholds.stuck_after_seconds);
    out.value("klp_threshold_support_warning_seconds", &[], f64::from(thresholds.expiry_warning_days) * DAY);
    out.value("klp_threshold_support_critical_seconds", &[], f64::from(thresholds.expiry_critical_days) * DAY);
    out.finish()
}

/// The exposition when klp could not assess: success 0 and the error code.
pub fn render_error(err: &Error) -> String {
    let mut out = Exposition::default();
    out.value("klp_assess_success", &[], 0.0);
    out.value("klp_assess_error", &[("code", err.code())], 1.0);
    out.finish()
}

/// Finding codes present, in code order: how many, and the worst severity.
pub(crate) fn findings_by_code(report: &AssessReport) -> BTreeMap<FindingCode, (usize, Severity)> {
    let mut by_code: BTreeMap<FindingCode, (usize, Severity)> = BTreeMap::new();
    for finding in &report.findings {
        let entry = by_code.entry(finding.code).or_insert((0, finding.severity));
        entry.0 += 1;
        entry.1 = entry.1.max(finding.severity);
    }
    by_code
}

fn flag(value: bool) -> f64 {
    f64::from(u8::from(value))
}

/// Samples grouped by metric, each group under its HELP and TYPE lines,
/// in the order of [`METRICS`].
#[derive(Default)]
struct Exposition {
    samples: BTreeMap<usize, String>,
}

impl Exposition {
    fn value(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let index = METRICS.iter().position(|(n, _, _)| *n == name).expect("every metric is listed in METRICS");
        let lines = self.samples.entry(index).or_default();
        lines.push_str(name);
        if !labels.is_empty() {
            lines.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                let sep = if i > 0 { "," } else { "" };
                write!(lines, "{sep}{label}=\"{}\"", escape_label(text)).unwrap();
            }
            lines.push('}');
        }
        writeln!(lines, " {}", number(value)).unwrap();
    }

    fn finish(self) -> String {
        let mut out = String::new();
        for (index, lines) in self.samples {
            let (name, _, help) = METRICS[index];
            writeln!(out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n")).unwrap();
            writeln!(out, "# TYPE {name} gauge").unwrap();
            out.push_str(&lines);
        }
        out
    }
}

/// Backslash, double quote and line feed are escaped in label values.
fn escape_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Values as Go's parser reads them (`+Inf`, `-Inf`, `NaN`).
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn numbers_use_the_exposition_spelling() {
        assert_eq!(number(600.0), "600");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
    }

    #[test]
    fn an_error_is_success_0_with_its_code() {
        let err = Error::RootNotFound { path: "/nope".into() };
        assert_eq!(
            render_error(&err),
            "# HELP klp_assess_success 1 when klp could assess the host (the other klp_ series describe it), 0 when it failed (see klp_assess_error).\n\
             # TYPE klp_assess_success gauge\nklp_assess_success 0\n\
             # HELP klp_assess_error Why klp could not assess the host, by stable error code (value 1); only when klp_assess_success is 0.\n\
             # TYPE klp_assess_error gauge\nklp_assess_error{code=\"root_not_found\"} 1\n"
        );
    }
}
