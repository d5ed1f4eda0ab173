//! `klp assess`: gathers every fact in one process, then applies
//! [`crate::decide::rules`]. `klp cve` shares the package half
//! ([`PackageFacts::gather`]).

use super::Context;
use crate::cli::AssessArgs;
use crate::decide::{self, rules, CveSources};
use crate::pkg::kernels::{self, KernelFacts, RpmKernels};
use crate::pkg::{backend, info, lifecycle, Tools};
use crate::report::{
    AssessReport, AssessTransition, CveAssessment, Facts, ForcedTransition, KernelLogFacts, NextBootSource, Ownership,
    PackageInfo, PatchFacts, SchemaVersion, State, Thresholds, Warning, WarningCode,
};
use crate::sys::{kmsg, livepatch};
use crate::Result;
use std::collections::BTreeSet;

pub(super) fn run(ctx: &Context, args: &AssessArgs) -> Result<AssessReport> {
    let sys = &ctx.sys;
    let patches = livepatch::read_patches(sys, false)?;
    let supported = patches.is_some();
    let patches = patches.unwrap_or_default();
    let (transition, _) = livepatch::current_transition(&patches);
    let mut warnings = Vec::new();

    let log = kmsg::read(sys, transition.as_ref().map(|t| t.patch.as_str()));
    let uptime = kmsg::uptime(sys);
    let transition = match transition {
        Some(transition) => {
            let (age, warning) = kmsg::transition_age(&log, uptime);
            warnings.extend(warning);
            // Who blocks is evidence, not a fact the verdict rests on.
            let quiet = Context { sys: sys.clone(), verbosity: 0, non_interactive: true, backend: ctx.backend };
            let blocking = super::blocking::run(&quiet)?;
            warnings.extend(blocking.warnings);
            Some(AssessTransition {
                patch: transition.patch,
                direction: transition.direction,
                target_state: transition.target_state,
                age,
                blocking_threads: Some(blocking.scan.threads.len() as u64),
                blocking_complete: Some(blocking.complete),
            })
        }
        None => None,
    };
    let forced: Vec<ForcedTransition> = log
        .forced
        .iter()
        .map(|f| ForcedTransition {
            patch: f.patch.clone(),
            at_seconds: f.usec as f64 / 1e6,
            message: f.message.clone(),
        })
        .collect();
    let kernel_log = KernelLogFacts {
        readable: log.readable(),
        complete: log.complete(),
        records: log.records,
        uptime_seconds: uptime,
        forced,
    };

    let wanted: BTreeSet<String> = args.cves.iter().cloned().collect();
    let packages = PackageFacts::gather(ctx, &patches, &wanted, true);
    warnings.extend(packages.warnings.iter().cloned());
    let sources = packages.sources();
    let cves: Vec<CveAssessment> = dedup(&args.cves).iter().map(|id| decide::cve_status(id, &sources)).collect();

    let running = packages.kernels.running.as_ref();
    let newer_kernels: Vec<String> = match running {
        Some(running) => {
            let edition = |k: &crate::report::KernelPackage| {
                crate::pkg::vercmp::Edition::parse(&format!("{}-{}", k.version, k.release))
            };
            packages
                .kernels
                .installed
                .iter()
                .filter(|k| edition(k).cmp_rpm(&edition(running)).is_gt())
                .map(|k| k.nevra.clone())
                .collect()
        }
        None => Vec::new(),
    };
    let next_only = match (&packages.kernels.next_cves, &packages.kernels.running_cves, &packages.kernels.next_boot) {
        (Some(next), Some(now), Some(kernel)) if packages.kernels.next_differs() => {
            let applied = sources.applied_patch_cves();
            let only: BTreeSet<String> =
                next.iter().filter(|c| !now.contains(*c) && !applied.contains(c.as_str())).cloned().collect();
            Some((kernel.nevra.clone(), only))
        }
        _ => None,
    };

    let thresholds = Thresholds {
        stuck_after_seconds: args.stuck_after,
        expiry_warning_days: args.expiry_warning,
        expiry_critical_days: args.expiry_critical,
    };
    let inputs = rules::Inputs {
        thresholds: &thresholds,
        supported,
        transition: transition.as_ref(),
        log: rules::LogFacts {
            readable: kernel_log.readable,
            complete: kernel_log.complete,
            forced: &kernel_log.forced,
        },
        patches: &packages.patches,
        package_unknowns: &packages.unknowns,
        installed_livepatches: packages.kernels.livepatches.as_deref(),
        newer_kernels: &newer_kernels,
        next_only_cves: next_only.as_ref().map(|(k, c)| (k.as_str(), c)),
        cves: &cves,
    };
    let findings = rules::findings(&inputs);
    let (verdict, reboot_required, reboot_reasons) = rules::verdict(&findings);
    let kernels = packages.kernels;
    Ok(AssessReport {
        schema_version: SchemaVersion,
        verdict,
        reboot_required,
        reboot_reasons,
        findings,
        transition,
        thresholds,
        cves,
        facts: Facts {
            kernel_release: sys.kernel_release(),
            supported,
            state: if patches.iter().any(|p| p.transition) { State::InProgress } else { State::Ready },
            running_kernel: kernels.running,
            next_boot_kernel: kernels.next_boot,
            next_boot_source: kernels.next_boot_source.unwrap_or(NextBootSource::Unknown),
            installed_kernels: kernels.installed,
            patches: packages.patches,
            installed_livepatch: kernels.livepatches.as_ref().and_then(|l| l.first()).map(|l| l.nevra.clone()),
            kernel_log,
            backend: packages.backend,
        },
        warnings,
    })
}

/// Each id once, in the order given.
pub(super) fn dedup(ids: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for id in ids {
        if !seen.contains(id) {
            seen.push(id.clone());
        }
    }
    seen
}

/// The package half of the facts: live patches with their packages, support
/// and updates; the kernel packages and their CVEs.
pub(super) struct PackageFacts {
    pub patches: Vec<PatchFacts>,
    pub kernels: KernelFacts,
    /// (subject, message) of each package fact that could not be read.
    pub unknowns: Vec<(String, String)>,
    pub warnings: Vec<Warning>,
    /// The package backend that answered.
    pub backend: crate::report::PackageBackend,
}

impl PackageFacts {
    /// `assess`: true for support, updates, and the next-boot kernel's
    /// whole CVE list (to compare); `cve`: false, only the wanted ids.
    pub(super) fn gather(
        ctx: &Context,
        patches: &[crate::report::PatchInfo],
        wanted: &BTreeSet<String>,
        assess: bool,
    ) -> Self {
        let root = ctx.sys.root();
        let release = ctx.sys.kernel_release();
        let names: Vec<String> = patches.iter().map(|p| p.name.clone()).collect();
        let options = info::Options { verbosity: if assess { 2 } else { 1 }, refresh: false };
        let selected = backend::select(root, ctx.backend);
        let (infos, mut warnings) = info::describe(root, release.as_deref(), &names, &options, &selected);
        let mut unknowns = Vec::new();
        let manager = selected.family.map_or("the package manager", |f| f.package_manager());
        let patch_facts: Vec<PatchFacts> =
            patches.iter().zip(&infos).map(|(p, i)| patch_facts(p, i, assess, manager, &mut unknowns)).collect();
        if !unknowns.is_empty() {
            let why: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
            for (_, message) in unknowns.iter_mut() {
                if !why.is_empty() {
                    message.push_str(&format!(" ({})", why.join("; ")));
                }
            }
        }
        let mut kernels = KernelFacts::default();
        match release.as_deref() {
            None => unknowns.push((
                "kernel release".into(),
                "the running kernel release is unreadable: kernel packages unknown".into(),
            )),
            Some(release) => match Tools::new(root) {
                Err(err) => unknowns.push(("kernel packages".into(), err.to_string())),
                Ok(tools) if !tools.has_rpm_database() => {
                    let err = tools.no_database_error();
                    unknowns.push(("rpm database".into(), format!("{err}: kernel packages unknown")));
                    let code = WarningCode::Error(err.error_code());
                    if !warnings.iter().any(|w| w.code == code) {
                        warnings.push(Warning { code, message: err.to_string(), path: None, count: 1 });
                    }
                }
                Ok(_) if selected.family.is_none() => {
                    let code = WarningCode::Error(crate::error::ErrorCode::BackendUnknown);
                    unknowns.push((
                        "package backend".into(),
                        format!("{}: kernel packages unknown", selected.unknown_message()),
                    ));
                    if !warnings.iter().any(|w| w.code == code) {
                        warnings.push(Warning { code, message: selected.unknown_message(), path: None, count: 1 });
                    }
                }
                Ok(tools) => {
                    let family = selected.family.expect("checked above");
                    let backend = RpmKernels::new(&tools, root, family);
                    kernels = kernels::gather(&backend, release, wanted, assess, assess);
                    for (what, err) in &kernels.errors {
                        unknowns.push((what.to_string(), format!("cannot read the {what}: {err}")));
                        warnings.push(Warning {
                            code: WarningCode::Error(err.error_code()),
                            message: err.to_string(),
                            path: None,
                            count: 1,
                        });
                    }
                    if kernels.running.is_none() && kernels.errors.is_empty() {
                        unknowns.push((
                            "running kernel package".into(),
                            format!("no installed package owns the running kernel {release}: its fixes are unknown"),
                        ));
                    }
                }
            },
        }
        PackageFacts { patches: patch_facts, kernels, unknowns, warnings, backend: selected.report() }
    }

    pub(super) fn sources(&self) -> CveSources<'_> {
        let differs = self.kernels.next_differs();
        CveSources {
            running_kernel: self.kernels.running.as_ref(),
            running_cves: self.kernels.running_cves.as_ref(),
            patches: &self.patches,
            next_boot: self.kernels.next_boot.as_ref().filter(|_| differs),
            next_cves: self.kernels.next_cves.as_ref(),
        }
    }
}

fn patch_facts(
    patch: &crate::report::PatchInfo,
    info: &PackageInfo,
    assess: bool,
    manager: &str,
    unknowns: &mut Vec<(String, String)>,
) -> PatchFacts {
    let expiration = info.expiration.as_ref();
    let support_end = expiration.and_then(|e| e.date.clone());
    if info.owner == Ownership::Unknown {
        unknowns.push((patch.name.clone(), format!("the package of live patch {} is unknown", patch.name)));
    } else if info.owner == Ownership::Package && assess {
        if support_end.is_none() {
            unknowns.push((patch.name.clone(), format!("the end of support of live patch {} is unknown", patch.name)));
        }
        if info.update.as_ref().is_none_or(|u| u.status == crate::report::UpdateState::Unknown) {
            unknowns.push((
                patch.name.clone(),
                format!("whether live patch {} has an update is unknown ({manager} could not tell)", patch.name),
            ));
        }
    }
    PatchFacts {
        name: patch.name.clone(),
        enabled: patch.enabled,
        transition: patch.transition,
        owner: info.owner,
        package: info.nevra.clone(),
        version: info.version.clone(),
        days_left: support_end.as_deref().and_then(lifecycle::days_until),
        support_end,
        support_source: expiration.map(|e| e.source).unwrap_or(crate::report::ExpirationSource::Unknown),
        update: info.update.as_ref().map(|u| u.status),
        update_newest: info.update.as_ref().and_then(|u| u.newest.clone()),
        cves: info.cves.clone(),
    }
}
