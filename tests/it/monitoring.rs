//! `klp assess --format prometheus|nagios` on fixture roots: the series and
//! their values, the plugin's lines, perfdata and exit status, failures,
//! untrusted names, and that every metric is documented. The real engines
//! (promtool, node_exporter, Icinga 2) read these in `tests/monitoring`.

use crate::fixture::{scenario, Fixture, Object, Patch, TAINT_K};
use crate::support::{klp, repo_path};
use klp::render::prometheus::METRICS;
use std::collections::BTreeMap;

/// `name{labels}` -> value, and the names that have HELP and TYPE lines.
struct Exposition {
    samples: BTreeMap<String, f64>,
    described: Vec<String>,
}

fn parse(text: &str) -> Exposition {
    let mut samples = BTreeMap::new();
    let mut described = Vec::new();
    let mut help = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest.split(' ').next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(Some(name), help.as_deref(), "TYPE right after HELP: {line}");
            assert_eq!(kind, "gauge");
            described.push(name.to_string());
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample line: {line:?}"));
            let name = series.split('{').next().unwrap();
            assert!(name.starts_with("klp_"), "{line}");
            assert_eq!(described.last().map(String::as_str), Some(name), "sample under its own HELP/TYPE: {line}");
            assert!(samples.insert(series.to_string(), value.parse().unwrap()).is_none(), "duplicate {series}");
        }
    }
    Exposition { samples, described }
}

fn assess(tree: &crate::fixture::Tree, format: &str, extra: &[&str]) -> crate::support::Outcome {
    let mut args = vec!["assess", "--format", format];
    args.extend_from_slice(extra);
    klp(&args).root(tree).run()
}

#[test]
fn a_stuck_transition_in_prometheus_series() {
    let tree = scenario("stuck").unwrap().build();
    let out = assess(&tree, "prometheus", &["--cve", "cve-2024-50115"]);
    assert_eq!(out.code, 2, "critical: {}", out.stderr);
    let e = parse(&out.stdout);
    let s = |series: &str| e.samples.get(series).copied().unwrap_or_else(|| panic!("no {series} in\n{}", out.stdout));
    assert_eq!(s("klp_assess_success"), 1.0);
    assert_eq!(s(r#"klp_verdict{verdict="critical"}"#), 1.0);
    for other in ["ok", "warning", "unknown"] {
        assert_eq!(s(&format!(r#"klp_verdict{{verdict="{other}"}}"#)), 0.0);
    }
    assert_eq!(s("klp_livepatch_supported"), 1.0);
    assert_eq!(s("klp_transition_in_progress"), 1.0);
    assert_eq!(s("klp_transition_age_seconds"), 600.0, "log start at 400 s, uptime 1000 s");
    assert_eq!(s("klp_blocking_threads"), 2.0);
    assert_eq!((s("klp_patches_loaded"), s("klp_patches_enabled")), (1.0, 1.0));
    assert_eq!(s(r#"klp_patch_info{patch="livepatch_2_150600_2_1",package="",version=""}"#), 1.0);
    assert_eq!(s("klp_reboot_required"), 1.0);
    assert_eq!(s(r#"klp_reboot_reason{reason="transition_stuck"}"#), 1.0);
    assert_eq!(s(r#"klp_findings{code="transition_stuck",severity="critical"}"#), 1.0);
    assert_eq!(s(r#"klp_cve_status{cve="CVE-2024-50115",status="unknown"}"#), 1.0);
    assert_eq!(s("klp_threshold_transition_stuck_seconds"), 300.0);
    assert_eq!(s("klp_threshold_support_warning_seconds"), 30.0 * 86400.0);
    assert_eq!(s("klp_threshold_support_critical_seconds"), 7.0 * 86400.0);
    assert!(!e.samples.keys().any(|k| k.starts_with("klp_patch_support_end")), "no support data: no series");
}

#[test]
fn unknowns_are_absent_series_not_zeros() {
    let tree = scenario("ready").unwrap().build();
    let out = assess(&tree, "prometheus", &[]);
    assert_eq!(out.code, 3);
    let e = parse(&out.stdout);
    assert_eq!(e.samples.get(r#"klp_verdict{verdict="unknown"}"#), Some(&1.0));
    assert_eq!(e.samples.get("klp_transition_in_progress"), Some(&0.0));
    assert_eq!(e.samples.get("klp_blocking_threads"), Some(&0.0), "no transition: nothing blocks");
    assert!(!e.samples.contains_key("klp_transition_age_seconds"));
    assert!(!e.samples.contains_key("klp_reboot_required"), "reboot_required is null: {}", out.stdout);
    let json = klp(&["assess"]).root(&tree).run().json(3);
    assert_eq!(json["reboot_required"], serde_json::Value::Null);
    // Every finding code of the JSON report has its series, counted.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for finding in json["findings"].as_array().unwrap() {
        *counts.entry(finding["code"].as_str().unwrap().to_string()).or_default() += 1;
    }
    let exported: BTreeMap<String, usize> = e
        .samples
        .iter()
        .filter(|(k, _)| k.starts_with("klp_findings{"))
        .map(|(k, v)| (k.split('"').nth(1).unwrap().to_string(), *v as usize))
        .collect();
    assert_eq!(exported, counts);
}

#[test]
fn every_scenario_has_help_and_type_for_every_series_and_only_listed_metrics() {
    let listed: Vec<&str> = METRICS.iter().map(|(name, _, _)| *name).collect();
    for name in crate::fixture::SCENARIOS {
        let tree = scenario(name).unwrap().build();
        let out = assess(&tree, "prometheus", &["--cve", "CVE-2024-1234"]);
        let e = parse(&out.stdout);
        for metric in &e.described {
            assert!(listed.contains(&metric.as_str()), "{name}: {metric} not in METRICS");
        }
        assert_eq!(e.samples.get("klp_assess_success"), Some(&1.0), "{name}");
        assert_eq!(e.samples.keys().filter(|k| k.starts_with("klp_cve_status{")).count(), 1, "{name}");
        let json = klp(&["assess", "--cve", "CVE-2024-1234"]).root(&tree).run();
        assert_eq!(out.code, json.code, "{name}: the same verdict exit status in both formats");
    }
}

#[test]
fn nagios_first_line_perfdata_findings_and_exit_status() {
    let tree = scenario("stuck").unwrap().build();
    let out = assess(&tree, "nagios", &[]);
    assert_eq!(out.code, 2);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("KLP CRITICAL - transition stuck, package data unknown (2) | "), "{}", lines[0]);
    let perfdata = lines[0].split_once(" | ").unwrap().1;
    assert_eq!(
        perfdata,
        "transition_age=600s;0;300;0 blocking_threads=2;;;0 support_days_left=U;31:;8: patches_loaded=1;;;0"
    );
    let json = klp(&["assess"]).root(&tree).run().json(2);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(lines.len(), 1 + findings.len(), "one line per finding:\n{}", out.stdout);
    assert!(lines[1].starts_with("[critical] transition_stuck (livepatch_2_150600_2_1): "), "{}", lines[1]);
    assert!(out.stderr.is_empty(), "a plugin's stderr may be merged into its output: {}", out.stderr);

    let custom =
        assess(&tree, "nagios", &["--stuck-after", "900", "--expiry-warning", "60", "--expiry-critical", "10"]);
    // Younger than 900 s: in progress is a warning, below the unknown package data.
    assert_eq!(custom.code, 3, "{}", custom.stdout);
    assert!(
        custom.stdout.starts_with("KLP UNKNOWN - package data unknown (2), transition in progress | "),
        "{}",
        custom.stdout
    );
    assert!(custom.stdout.contains("transition_age=600s;0;900;0"), "{}", custom.stdout);
    assert!(custom.stdout.contains("support_days_left=U;61:;11:"), "{}", custom.stdout);
}

#[test]
fn nagios_states_follow_the_verdict_for_every_scenario() {
    for name in crate::fixture::SCENARIOS {
        let tree = scenario(name).unwrap().build();
        let json = klp(&["assess"]).root(&tree).run();
        let verdict = json.parsed()["verdict"].as_str().unwrap().to_uppercase();
        let out = assess(&tree, "nagios", &[]);
        assert_eq!(out.code, json.code, "{name}");
        assert!(out.stdout.starts_with(&format!("KLP {verdict} - ")), "{name}: {}", out.stdout);
        assert_eq!(out.stdout.matches(" | ").count(), 1, "{name}: one perfdata separator");
    }
}

#[test]
fn failures_still_tell_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-root");
    let prom = klp(&["assess", "--format", "prometheus"]).root_path(&missing).run();
    assert_eq!(prom.code, 3);
    let e = parse(&prom.stdout);
    assert_eq!(e.samples.get("klp_assess_success"), Some(&0.0));
    assert_eq!(e.samples.get(r#"klp_assess_error{code="root_not_found"}"#), Some(&1.0));
    assert_eq!(e.samples.len(), 2, "nothing else is claimed: {}", prom.stdout);

    let nagios = klp(&["assess", "--format", "nagios"]).root_path(&missing).run();
    assert_eq!(nagios.code, 3);
    assert!(nagios.stdout.starts_with("KLP UNKNOWN - cannot assess: root directory "), "{}", nagios.stdout);
    assert!(nagios.stdout.ends_with("(root_not_found)\n"));

    for format in ["prometheus", "nagios"] {
        let usage = klp(&["assess", "--format", format, "--stuck-after", "-1"]).run();
        assert_eq!(usage.code, 3, "{format}: usage errors are UNKNOWN for a plugin");
        let expected = if format == "nagios" { "KLP UNKNOWN - cannot assess: " } else { "# HELP klp_assess_success" };
        assert!(usage.stdout.starts_with(expected), "{format}: {}", usage.stdout);
        assert!(usage.stdout.contains("usage"), "{}", usage.stdout);
    }
}

#[test]
fn untrusted_patch_names_cannot_forge_series_lines_or_states() {
    let evil = "lp_\"x\\\n|KLP OK - fine";
    let tree = Fixture::new()
        .taint(Some(TAINT_K))
        .patch(Patch::new(evil).object(Object::new("vmlinux").patched(true).function("f", 1)))
        .build();
    let prom = assess(&tree, "prometheus", &[]);
    let e = parse(&prom.stdout);
    let info: Vec<_> = e.samples.keys().filter(|k| k.starts_with("klp_patch_info")).collect();
    assert_eq!(info, [r#"klp_patch_info{patch="lp_\"x\\\n|KLP OK - fine",package="",version=""}"#]);
    let nagios = assess(&tree, "nagios", &[]);
    assert_eq!(nagios.stdout.lines().filter(|l| l.starts_with("KLP ")).count(), 1, "{}", nagios.stdout);
    assert_eq!(nagios.stdout.matches('|').count(), 1, "{}", nagios.stdout);
}

#[test]
fn prometheus_to_a_textfile_with_the_verdict_exit_status() {
    let tree = scenario("stuck").unwrap().build();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("klp.prom");
    let out = klp(&["assess", "--format", "prometheus", "--output", file.to_str().unwrap()])
        .root(&tree)
        .command()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let e = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(e.samples.get("klp_transition_in_progress"), Some(&1.0));
    // A failure overwrites the file with success 0: the alert fires, no stale "fine".
    let missing = dir.path().join("gone");
    let out = klp(&["assess", "--format", "prometheus", "--output", file.to_str().unwrap()])
        .root_path(&missing)
        .command()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let e = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(e.samples.get("klp_assess_success"), Some(&0.0));
}

#[test]
fn every_metric_is_documented_in_the_readme_and_the_man_page() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let man = std::fs::read_to_string(repo_path("man/klp.8")).unwrap();
    for (name, labels, help) in METRICS {
        let labels = if labels.is_empty() { "(none)" } else { labels };
        let row = format!("| `{name}` | {labels} | {help} |");
        assert!(readme.contains(&row), "README lacks the row {row:?}");
        assert!(man.contains(&format!("\\fB{name}\\fR")), "man page lacks {name}");
    }
}
