//! The rules of `klp assess`, written down once: [`RULES`] is the table in
//! `klp assess --help`, the man page and the README (a test keeps the README's
//! copy equal), and [`findings`] is its implementation.
//!
//! The verdict is the worst severity among the findings, `critical` over
//! `unknown` over `warning` over `ok` (`info` leaves it `ok`): an unknown is
//! never counted as fine, and it outweighs a known warning because what
//! could not be read may hide something critical. `reboot_required` is true
//! when a finding requires a reboot, else null when a finding is `unknown`
//! (what could not be read might require one), else false.

use crate::report::{
    AssessTransition, CveAssessment, CveState, Finding, FindingCode, Ownership, PatchFacts, Severity, Thresholds,
    UpdateState, Verdict,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The rules, one finding code a line: severity, whether it requires a
/// reboot, and when it is raised.
pub(crate) const RULES: &str = "\
Rules (finding code: severity, reboot):
  unsupported: critical, no reboot
      the kernel has no live patching (/sys/kernel/livepatch is missing)
  transition_in_progress: warning, no reboot
      a transition runs, for less than --stuck-after seconds
  transition_stuck: critical, reboot
      a transition runs for more than --stuck-after seconds (default 300)
  transition_age_unknown: unknown, reboot unknown
      a transition runs and the kernel log does not say since when
  transition_forced: warning, reboot
      the kernel log records a forced transition since boot (the kernel docs say: plan a reboot)
  patch_disabled: warning, no reboot
      a loaded live patch is disabled and not in transition
  blocking_incomplete: info, no reboot
      some threads' states could not be read: the blocking threads listed may be incomplete
  package_data_unknown: unknown, reboot unknown
      rpm or zypper could not tell a package fact these rules need
  patch_not_from_package: warning, no reboot
      a loaded live patch belongs to no installed package (no vendor support)
  package_not_loaded: warning, no reboot
      the running kernel's live patch package is installed, but no patch of it is loaded
  loaded_older_than_installed: warning, no reboot
      an installed live patch package version is newer than the loaded patch
  support_expired: critical, reboot
      a loaded live patch's support has ended: reboot into a supported kernel
  support_expiring: warning (critical within --expiry-critical days, default 7), no reboot
      a loaded live patch's support ends within --expiry-warning days (default 30)
  update_available: warning, no reboot
      a newer version of a loaded live patch's package is in the repositories
  cve_not_fixed: critical, reboot when the next-boot kernel fixes it
      a CVE asked for (--cve) is not fixed, or only by a live patch still in transition
  cve_status_unknown: unknown, reboot unknown
      whether a CVE asked for is fixed cannot be told (package data unknown)
  newer_kernel_fixes_cves: warning, reboot
      the next-boot kernel fixes CVEs that neither the running kernel nor an applied patch fixes
  newer_kernel_installed: info, no reboot
      a kernel of the running flavour newer than the running one is installed
  kernel_log_unreadable: unknown, reboot unknown
      the kernel log cannot be read (non-root with kernel.dmesg_restrict=1)
  kernel_log_incomplete: info, no reboot
      the kernel log no longer reaches back to boot: an earlier forced transition is not seen
Verdict: the worst severity, critical > unknown > warning > ok (info counts as ok).
reboot_required: true when a finding requires a reboot; else null when a finding is
unknown (\"reboot unknown\"); else false.
A CVE is fixed when the running kernel's changelog names it, or an enabled live patch
whose transition has completed names it (KLP:, References:); pending when only a patch
still in transition does; unknown when a source could not be read (or an enabled patch
has no package), never \"not fixed\".";

/// Whether a finding code requires a reboot.
fn requires_reboot(finding: &Finding) -> bool {
    match finding.code {
        FindingCode::TransitionStuck
        | FindingCode::TransitionForced
        | FindingCode::SupportExpired
        | FindingCode::NewerKernelFixesCves => true,
        FindingCode::CveNotFixed => finding.evidence.get("fixed_after_reboot").is_some_and(|v| !v.is_null()),
        _ => false,
    }
}

/// The verdict, `reboot_required` and `reboot_reasons` of a set of findings.
pub(crate) fn verdict(findings: &[Finding]) -> (Verdict, Option<bool>, Vec<FindingCode>) {
    let worst = findings.iter().map(|f| f.severity).max();
    let verdict = match worst {
        None | Some(Severity::Info) => Verdict::Ok,
        Some(Severity::Warning) => Verdict::Warning,
        Some(Severity::Unknown) => Verdict::Unknown,
        Some(Severity::Critical) => Verdict::Critical,
    };
    let mut reasons: Vec<FindingCode> = Vec::new();
    for finding in findings.iter().filter(|f| requires_reboot(f)) {
        if !reasons.contains(&finding.code) {
            reasons.push(finding.code);
        }
    }
    let reboot = if !reasons.is_empty() {
        Some(true)
    } else if findings.iter().any(|f| f.severity == Severity::Unknown) {
        None
    } else {
        Some(false)
    };
    (verdict, reboot, reasons)
}

/// Builds one finding.
pub(crate) fn finding(
    code: FindingCode,
    severity: Severity,
    subject: Option<&str>,
    message: String,
    evidence: &[(&str, Value)],
) -> Finding {
    Finding {
        code,
        severity,
        message,
        subject: subject.map(str::to_string),
        evidence: evidence.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>(),
    }
}

/// The kernel-log facts the rules read.
pub(crate) struct LogFacts<'a> {
    pub readable: bool,
    pub complete: Option<bool>,
    pub forced: &'a [crate::report::ForcedTransition],
}

/// What the rules look at; all gathered beforehand (see `decide::assess`).
pub(crate) struct Inputs<'a> {
    pub thresholds: &'a Thresholds,
    pub supported: bool,
    pub transition: Option<&'a AssessTransition>,
    pub log: LogFacts<'a>,
    pub patches: &'a [PatchFacts],
    /// (subject, message) of every package fact that could not be read.
    pub package_unknowns: &'a [(String, String)],
    /// Installed live patch packages of the running kernel: (nevra, edition,
    /// patch name); None when unknown.
    pub installed_livepatches: Option<&'a [crate::pkg::kernels::InstalledLivepatch]>,
    /// Newer installed kernels than the running one (nevras).
    pub newer_kernels: &'a [String],
    /// CVEs only the next-boot kernel fixes, and its nevra.
    pub next_only_cves: Option<(&'a str, &'a BTreeSet<String>)>,
    pub cves: &'a [CveAssessment],
}

/// Applies [`RULES`]; most severe first, then in rule order.
pub(crate) fn findings(inputs: &Inputs) -> Vec<Finding> {
    use FindingCode as C;
    use Severity as S;
    let mut out = Vec::new();
    let t = inputs.thresholds;
    if !inputs.supported {
        out.push(finding(
            C::Unsupported,
            S::Critical,
            None,
            "the running kernel does not support live patching: fixes arrive only by reboot".into(),
            &[],
        ));
    }
    if let Some(transition) = inputs.transition {
        transition_findings(&mut out, transition, t);
    }
    if inputs.log.readable {
        for forced in inputs.log.forced {
            let name = forced.patch.as_deref();
            out.push(finding(
                C::TransitionForced,
                S::Warning,
                name,
                format!(
                    "the kernel log records a forced transition{} {:.0} s after boot: plan a reboot",
                    name.map(|p| format!(" of {p}")).unwrap_or_default(),
                    forced.at_seconds
                ),
                &[("at_seconds", json!(forced.at_seconds)), ("message", json!(forced.message))],
            ));
        }
        if inputs.log.complete == Some(false) && inputs.log.forced.is_empty() {
            out.push(finding(
                C::KernelLogIncomplete,
                S::Info,
                None,
                "the kernel log no longer reaches back to boot: a forced transition before its oldest record would not be seen".into(),
                &[],
            ));
        }
    } else {
        out.push(finding(
            C::KernelLogUnreadable,
            S::Unknown,
            Some("/dev/kmsg"),
            "the kernel log cannot be read (klp needs root when kernel.dmesg_restrict=1): forced transitions are unknown"
                .into(),
            &[],
        ));
    }
    for (subject, message) in inputs.package_unknowns {
        out.push(finding(C::PackageDataUnknown, S::Unknown, Some(subject), message.clone(), &[]));
    }
    for patch in inputs.patches {
        patch_findings(&mut out, patch, t);
    }
    if let Some(installed) = inputs.installed_livepatches {
        livepatch_package_findings(&mut out, installed, inputs.patches);
    }
    for cve in inputs.cves {
        cve_finding(&mut out, cve);
    }
    if let Some((next, cves)) = inputs.next_only_cves {
        if !cves.is_empty() {
            let list: Vec<&String> = cves.iter().collect();
            let shown: Vec<&str> = list.iter().take(10).map(|s| s.as_str()).collect();
            let more = if list.len() > 10 { format!(" and {} more", list.len() - 10) } else { String::new() };
            out.push(finding(
                C::NewerKernelFixesCves,
                S::Warning,
                Some(next),
                format!(
                    "the next-boot kernel {next} fixes {} CVE(s) that neither the running kernel nor an applied live patch fixes: {}{more}; reboot to apply",
                    list.len(),
                    shown.join(" ")
                ),
                &[("count", json!(list.len())), ("cves", json!(list))],
            ));
        }
    }
    for newer in inputs.newer_kernels {
        out.push(finding(
            C::NewerKernelInstalled,
            S::Info,
            Some(newer),
            format!("a newer kernel is installed: {newer}"),
            &[],
        ));
    }
    // Most severe first; the sort is stable, so rule order within a severity.
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn transition_findings(out: &mut Vec<Finding>, transition: &AssessTransition, t: &Thresholds) {
    use FindingCode as C;
    use Severity as S;
    let patch = Some(transition.patch.as_str());
    let direction = match transition.direction {
        crate::report::Direction::Patching => "patching",
        crate::report::Direction::Unpatching => "unpatching",
    };
    let evidence = [
        ("direction", json!(direction)),
        ("started_seconds_ago", json!(transition.age.started_seconds_ago)),
        ("stuck_after_seconds", json!(t.stuck_after_seconds)),
        ("blocking_threads", json!(transition.blocking_threads)),
    ];
    match transition.age.started_seconds_ago {
        Some(age) if age > t.stuck_after_seconds => out.push(finding(
            C::TransitionStuck,
            S::Critical,
            patch,
            format!(
                "the {direction} transition of {} has run for {age:.0} s, longer than {} s",
                transition.patch, t.stuck_after_seconds
            ),
            &evidence,
        )),
        Some(age) => out.push(finding(
            C::TransitionInProgress,
            S::Warning,
            patch,
            format!("the {direction} transition of {} has run for {age:.0} s", transition.patch),
            &evidence,
        )),
        None => {
            out.push(finding(
                C::TransitionInProgress,
                S::Warning,
                patch,
                format!("the {direction} transition of {} is in progress", transition.patch),
                &evidence,
            ));
            let reason = transition.age.started_unknown_reason.map(|r| r.as_str()).unwrap_or("unknown");
            out.push(finding(
                C::TransitionAgeUnknown,
                S::Unknown,
                patch,
                format!(
                    "how long the transition of {} has run is unknown ({reason}): it may be stuck",
                    transition.patch
                ),
                &[("reason", json!(reason))],
            ));
        }
    }
    if transition.blocking_complete == Some(false) {
        out.push(finding(
            C::BlockingIncomplete,
            S::Info,
            patch,
            "some threads' states could not be read (klp needs root): the blocking threads may be incomplete".into(),
            &[],
        ));
    }
}

fn patch_findings(out: &mut Vec<Finding>, patch: &PatchFacts, t: &Thresholds) {
    use FindingCode as C;
    use Severity as S;
    let name = Some(patch.name.as_str());
    if !patch.enabled && !patch.transition {
        out.push(finding(
            C::PatchDisabled,
            S::Warning,
            name,
            format!("live patch {} is loaded but disabled", patch.name),
            &[],
        ));
    }
    if patch.owner == Ownership::None {
        out.push(finding(
            C::PatchNotFromPackage,
            S::Warning,
            name,
            format!("live patch {} belongs to no installed package (no vendor support, fixes unknown)", patch.name),
            &[],
        ));
    }
    if patch.owner != Ownership::Package {
        return;
    }
    let package = patch.package.as_deref().unwrap_or(&patch.name);
    if let (Some(days), Some(end)) = (patch.days_left, &patch.support_end) {
        let evidence = [
            ("support_end", json!(end)),
            ("days_left", json!(days)),
            ("source", json!(patch.support_source)),
            ("package", json!(package)),
        ];
        if days < 0 {
            out.push(finding(
                C::SupportExpired,
                S::Critical,
                name,
                format!("support of {package} ended on {end}: reboot into a supported kernel"),
                &evidence,
            ));
        } else if days <= i64::from(t.expiry_warning_days) {
            let severity = if days <= i64::from(t.expiry_critical_days) { S::Critical } else { S::Warning };
            out.push(finding(
                C::SupportExpiring,
                severity,
                name,
                format!("support of {package} ends on {end}, in {days} day(s)"),
                &evidence,
            ));
        }
    }
    if patch.update == Some(UpdateState::Available) {
        let newest = patch.update_newest.as_deref().unwrap_or("a newer version");
        out.push(finding(
            C::UpdateAvailable,
            S::Warning,
            name,
            format!("{package} can be updated to {newest}"),
            &[("newest", json!(patch.update_newest)), ("package", json!(package))],
        ));
    }
}

fn livepatch_package_findings(
    out: &mut Vec<Finding>,
    installed: &[crate::pkg::kernels::InstalledLivepatch],
    patches: &[PatchFacts],
) {
    use crate::pkg::vercmp::Edition;
    for package in installed {
        if patches.iter().any(|p| p.name == package.patch) {
            continue;
        }
        out.push(finding(
            FindingCode::PackageNotLoaded,
            Severity::Warning,
            Some(&package.nevra),
            format!("{} is installed but its live patch {} is not loaded", package.nevra, package.patch),
            &[("patch", json!(package.patch))],
        ));
        let installed_edition = Edition::parse(&package.edition);
        for patch in patches {
            let Some((version, release)) = crate::pkg::naming::edition_from_patch_name(&patch.name) else { continue };
            if Edition::parse(&format!("{version}-{release}")).cmp_rpm(&installed_edition).is_lt() {
                out.push(finding(
                    FindingCode::LoadedOlderThanInstalled,
                    Severity::Warning,
                    Some(&patch.name),
                    format!(
                        "the loaded live patch {} (version {version}) is older than the installed {}",
                        patch.name, package.nevra
                    ),
                    &[("loaded_version", json!(version)), ("installed", json!(package.nevra))],
                ));
            }
        }
    }
}

fn cve_finding(out: &mut Vec<Finding>, cve: &CveAssessment) {
    let evidence = [("status", json!(cve.status)), ("fixed_after_reboot", json!(cve.fixed_after_reboot))];
    let after =
        cve.fixed_after_reboot.as_deref().map(|k| format!("; the next-boot kernel {k} fixes it")).unwrap_or_default();
    match cve.status {
        CveState::Fixed => {}
        CveState::NotFixed | CveState::Pending => out.push(finding(
            FindingCode::CveNotFixed,
            Severity::Critical,
            Some(&cve.id),
            match cve.status {
                CveState::Pending => format!("{} is fixed only by a live patch still in transition{after}", cve.id),
                _ => format!("{} is fixed neither by the running kernel nor by an applied live patch{after}", cve.id),
            },
            &evidence,
        )),
        CveState::Unknown => out.push(finding(
            FindingCode::CveStatusUnknown,
            Severity::Unknown,
            Some(&cve.id),
            format!("whether {} is fixed cannot be told: package data unknown{after}", cve.id),
            &evidence,
        )),
    }
}
