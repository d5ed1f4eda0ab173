//! The decisions of `klp assess` and `klp cve`, over facts gathered by the
//! commands: [`rules`] turns facts into findings and a verdict; [`cve_status`]
//! says whether one CVE is fixed on the running system.

pub(crate) mod rules;

use crate::report::{CveAssessment, CveState, FixKind, FixedBy, KernelPackage, Ownership, PatchFacts};
use std::collections::BTreeSet;

/// Where a CVE's fix may come from.
pub(crate) struct CveSources<'a> {
    /// The running kernel's package and its changelog's CVEs (None: unknown).
    pub running_kernel: Option<&'a KernelPackage>,
    pub running_cves: Option<&'a BTreeSet<String>>,
    pub patches: &'a [PatchFacts],
    /// The next-boot kernel when it is another package, and its CVEs.
    pub next_boot: Option<&'a KernelPackage>,
    pub next_cves: Option<&'a BTreeSet<String>>,
}

impl CveSources<'_> {
    /// CVEs of the live patches that are applied: enabled, transition done,
    /// from a package.
    pub(crate) fn applied_patch_cves(&self) -> BTreeSet<&str> {
        self.patches.iter().filter(|p| is_applied(p)).flat_map(|p| p.cves.iter().map(String::as_str)).collect()
    }
}

fn is_applied(patch: &PatchFacts) -> bool {
    patch.enabled && !patch.transition && patch.owner == Ownership::Package
}

/// The status of one CVE (upper-case id), by the rule in [`rules::RULES`].
pub(crate) fn cve_status(id: &str, sources: &CveSources) -> CveAssessment {
    let mut fixed_by = Vec::new();
    if let (Some(kernel), Some(cves)) = (sources.running_kernel, sources.running_cves) {
        if cves.contains(id) {
            fixed_by.push(FixedBy { kind: FixKind::RunningKernel, package: kernel.nevra.clone(), patch: None });
        }
    }
    let names = |p: &PatchFacts| p.owner == Ownership::Package && p.cves.iter().any(|c| c == id);
    for patch in sources.patches.iter().filter(|p| is_applied(p) && names(p)) {
        fixed_by.push(FixedBy {
            kind: FixKind::LivePatch,
            package: patch.package.clone().unwrap_or_default(),
            patch: Some(patch.name.clone()),
        });
    }
    let pending = sources.patches.iter().any(|p| p.enabled && p.transition && names(p));
    // An enabled patch whose package is unknown (or that has none) may fix anything.
    let some_source_unknown =
        sources.running_cves.is_none() || sources.patches.iter().any(|p| p.enabled && p.owner != Ownership::Package);
    let status = if !fixed_by.is_empty() {
        CveState::Fixed
    } else if pending {
        CveState::Pending
    } else if some_source_unknown {
        CveState::Unknown
    } else {
        CveState::NotFixed
    };
    let fixed_after_reboot = match (status, sources.next_boot, sources.next_cves) {
        (CveState::Fixed, _, _) => None,
        (_, Some(next), Some(cves)) if cves.contains(id) => Some(next.nevra.clone()),
        _ => None,
    };
    CveAssessment { id: id.to_string(), status, fixed_by, fixed_after_reboot }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ExpirationSource;

    fn kernel(nevra: &str) -> KernelPackage {
        KernelPackage {
            nevra: nevra.into(),
            name: "kernel-default".into(),
            version: "6.4.0".into(),
            release: "1".into(),
            kernel_release: None,
        }
    }

    fn patch(name: &str, enabled: bool, transition: bool, owner: Ownership, cves: &[&str]) -> PatchFacts {
        PatchFacts {
            name: name.into(),
            enabled,
            transition,
            owner,
            package: (owner == Ownership::Package).then(|| format!("pkg-{name}")),
            version: None,
            support_end: None,
            support_source: ExpirationSource::Unknown,
            days_left: None,
            update: None,
            update_newest: None,
            cves: cves.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn fixed_pending_not_fixed_unknown() {
        let running = kernel("kernel-default-1");
        let next = kernel("kernel-default-2");
        let running_cves: BTreeSet<String> = ["CVE-2024-1111".to_string()].into();
        let next_cves: BTreeSet<String> = ["CVE-2024-1111".to_string(), "CVE-2024-3333".to_string()].into();
        let patches = [
            patch("lp_done", true, false, Ownership::Package, &["CVE-2024-2222"]),
            patch("lp_moving", true, true, Ownership::Package, &["CVE-2024-4444"]),
            patch("lp_off", false, false, Ownership::Package, &["CVE-2024-5555"]),
        ];
        let sources = CveSources {
            running_kernel: Some(&running),
            running_cves: Some(&running_cves),
            patches: &patches,
            next_boot: Some(&next),
            next_cves: Some(&next_cves),
        };
        let status = |id| cve_status(id, &sources);
        assert_eq!(status("CVE-2024-1111").status, CveState::Fixed);
        assert_eq!(status("CVE-2024-1111").fixed_by[0].kind, FixKind::RunningKernel);
        let live = status("CVE-2024-2222");
        assert_eq!((live.status, live.fixed_by[0].patch.as_deref()), (CveState::Fixed, Some("lp_done")));
        assert_eq!(status("CVE-2024-4444").status, CveState::Pending);
        assert_eq!(status("CVE-2024-5555").status, CveState::NotFixed, "a disabled patch fixes nothing");
        let later = status("CVE-2024-3333");
        assert_eq!((later.status, later.fixed_after_reboot.as_deref()), (CveState::NotFixed, Some("kernel-default-2")));

        let unowned = [patch("by_hand", true, false, Ownership::None, &[])];
        let sources = CveSources { patches: &unowned, ..sources };
        assert_eq!(cve_status("CVE-2024-9999", &sources).status, CveState::Unknown);
        assert_eq!(cve_status("CVE-2024-1111", &sources).status, CveState::Fixed, "a known fix stands");
        let sources = CveSources { running_cves: None, patches: &[], ..sources };
        assert_eq!(cve_status("CVE-2024-1111", &sources).status, CveState::Unknown);
    }
}
