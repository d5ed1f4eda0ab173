//! `patches -v/-vv`: the package behind each loaded patch, answered by the
//! system's package backend ([`super::backend`]).
//!
//! Cost: one `rpm -qf` for all module files (identity, file list and
//! changelog in one query format), a second `rpm -q` only for patches whose
//! module file is gone, and with `-vv` one `rpm -q` for the kernel package
//! and one `zypper search` or `dnf repoquery` for all packages. Never one
//! process per patch.

use super::backend::{Family, Selected};
use super::rpm::{self, Installed, Want};
use super::vercmp::Edition;
use super::{dnf, lifecycle, naming, zypper, Tools};
use crate::report::{
    Expiration, ExpirationSource, FoundBy, Ownership, PackageInfo, UpdateState, UpdateStatus, Warning, WarningCode,
};
use crate::Error;
use std::path::Path;

pub(crate) struct Options {
    /// 1: package, CVEs, fixes; 2: also expiration and update status.
    pub(crate) verbosity: u8,
    /// Refresh the repositories before looking for updates.
    pub(crate) refresh: bool,
}

/// One [`PackageInfo`] per patch name, in the same order, and what could not be told.
pub(crate) fn describe(
    root: &Path,
    kernel: Option<&str>,
    patches: &[String],
    options: &Options,
    backend: &Selected,
) -> (Vec<PackageInfo>, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut infos: Vec<PackageInfo> = patches.iter().map(|_| unknown()).collect();
    if patches.is_empty() {
        return (infos, warnings);
    }
    let Some(kernel) = kernel else {
        warnings.push(warning(
            WarningCode::KernelReleaseUnknown,
            "the running kernel release is unreadable: cannot find live patch packages".into(),
            Some("/proc/sys/kernel/osrelease"),
        ));
        return (infos, warnings);
    };
    let tools = match Tools::new(root) {
        Ok(tools) => tools,
        Err(err) => {
            warnings.push(error_warning(&err));
            return (infos, warnings);
        }
    };
    if !tools.has_rpm_database() {
        warnings.push(error_warning(&tools.no_database_error()));
        return (infos, warnings);
    }
    let Some(family) = backend.family else {
        warnings.push(warning(
            WarningCode::Error(crate::error::ErrorCode::BackendUnknown),
            backend.unknown_message(),
            None,
        ));
        return (infos, warnings);
    };
    let on_disk = family.module_files(root, kernel);
    let module_files: Vec<Option<String>> =
        patches.iter().map(|p| on_disk.iter().find(|(name, _)| name == p).map(|(_, path)| path.clone())).collect();
    let want = Want { files: false, changelog: true };

    // Ownership and changelogs of every existing module file in one rpm run.
    // With /lib a symlink to usr/lib, the same module shows under both
    // paths and rpm knows it under one; kpatch's copy under /var/lib/kpatch
    // is owned by no package: ask for every path found.
    let files: Vec<String> =
        on_disk.iter().filter(|(name, _)| patches.contains(name)).map(|(_, path)| path.clone()).collect();
    let owners = match rpm::owners_of(&tools, &files, want) {
        Ok(owners) => owners,
        Err(err) => {
            warnings.push(error_warning(&err));
            return (infos, warnings);
        }
    };
    let owner_of = |patch: &str| {
        owners.iter().find(|p| {
            p.files
                .iter()
                .any(|f| on_disk.iter().any(|(name, path)| name == patch && module_key(path) == module_key(f)))
        })
    };
    // The name rule for patches no module file answers for: the installed
    // editions of the kernel's live patch package, in one rpm run.
    let package_name = family.livepatch_package(kernel);
    let unanswered = patches.iter().any(|p| owner_of(p).is_none());
    let named = match (&package_name, unanswered) {
        (Some(name), true) => match rpm::query(&tools, std::slice::from_ref(name), want) {
            Ok(named) => Some(named),
            Err(err) => {
                // A failed query leaves those patches unknown: never "no owner" by default.
                warnings.push(error_warning(&err));
                None
            }
        },
        _ => Some(Vec::new()),
    };

    let mut owned: Vec<Option<&Installed>> = Vec::new();
    for (index, info) in infos.iter_mut().enumerate() {
        info.module_file = module_files[index].clone();
        let patch = &patches[index];
        let (found, found_by) = match owner_of(patch) {
            Some(found) => (Some(found), FoundBy::ModuleFile),
            None => match &named {
                Some(named) => (named.iter().find(|p| family.ships_patch(p, patch, kernel)), FoundBy::PatchName),
                None => {
                    owned.push(None);
                    continue;
                }
            },
        };
        fill(info, found, found_by, family);
        owned.push(found);
    }

    if options.verbosity >= 2 {
        let estimate = kernel_estimate(&tools, family, kernel, &mut warnings);
        for (info, package) in infos.iter_mut().zip(&owned) {
            info.expiration = Some(expiration(root, *package, &estimate, family));
        }
        updates(&tools, family, &mut infos, &owned, options.refresh, &mut warnings);
    }
    (infos, warnings)
}

/// A module's path without the `/lib` or `/usr/lib` in front, to match
/// rpm's file list either way.
fn module_key(path: &str) -> &str {
    path.strip_prefix("/usr").unwrap_or(path)
}

fn unknown() -> PackageInfo {
    PackageInfo {
        owner: Ownership::Unknown,
        found_by: None,
        module_file: None,
        nevra: None,
        name: None,
        epoch: None,
        version: None,
        release: None,
        arch: None,
        cves: Vec::new(),
        fixes: Vec::new(),
        initial: false,
        expiration: None,
        update: None,
    }
}

fn fill(info: &mut PackageInfo, package: Option<&Installed>, found_by: FoundBy, family: Family) {
    let Some(package) = package else {
        info.owner = Ownership::None;
        return;
    };
    let fixes = family.fixes(&package.changelog);
    info.owner = Ownership::Package;
    info.found_by = Some(found_by);
    info.nevra = Some(package.nevra());
    info.name = Some(package.name.clone());
    info.epoch = package.epoch;
    info.version = Some(package.version.clone());
    info.release = Some(package.release.clone());
    info.arch = Some(package.arch.clone());
    info.initial = family.is_initial(package, &fixes);
    info.cves = fixes.cves;
    info.fixes = fixes.fixes;
}

/// The estimate's basis: the kernel package and its build date.
struct KernelDate {
    package: String,
    date: String,
}

fn kernel_estimate(tools: &Tools, family: Family, kernel: &str, warnings: &mut Vec<Warning>) -> Option<KernelDate> {
    let specs = family.kernel_package_specs(kernel);
    if specs.is_empty() {
        return None;
    }
    // SUSE's package release has one more component than the kernel's
    // (`150600.23.22.1` for `150600.23.22`): asked by name, matched by prefix.
    let suse = match family {
        Family::Suse => Some(naming::split_kernel_release(kernel)?),
        Family::RedHat => None,
    };
    let matches = |p: &Installed| match suse {
        Some((version, release, _)) => {
            p.version == version
                && (p.release == release || p.release.strip_prefix(release).is_some_and(|rest| rest.starts_with('.')))
        }
        None => true,
    };
    match rpm::query(tools, &specs, Want::default()) {
        Ok(found) => found
            .iter()
            .filter(|p| matches(p))
            .find_map(|p| Some(KernelDate { package: p.nevra(), date: lifecycle::date_of(p.build_time?)? })),
        Err(err) => {
            warnings.push(error_warning(&err));
            None
        }
    }
}

/// Support ends by the vendor's lifecycle data (SUSE), else a year after
/// the kernel package's build; a patch no package owns has no vendor support.
fn expiration(root: &Path, package: Option<&Installed>, kernel: &Option<KernelDate>, family: Family) -> Expiration {
    let unknown = Expiration { date: None, source: ExpirationSource::Unknown, expired: None, basis: None };
    let Some(package) = package else { return unknown };
    let today = lifecycle::today();
    let dated = |date: String, source, basis: String| Expiration {
        expired: Some(date < today),
        date: Some(date),
        source,
        basis: Some(basis),
    };
    // Red Hat ships no lifecycle data: any file there would not be the vendor's.
    if family == Family::Suse {
        if let Some(found) = lifecycle::lookup(root, &package.name, &package.version, &package.release) {
            return dated(found.date, ExpirationSource::Lifecycle, found.file);
        }
    }
    match kernel {
        Some(kernel) => dated(
            lifecycle::plus_one_year(&kernel.date),
            ExpirationSource::Estimate,
            format!("{} built {}, plus one year", kernel.package, kernel.date),
        ),
        None => unknown,
    }
}

fn updates(
    tools: &Tools,
    family: Family,
    infos: &mut [PackageInfo],
    owned: &[Option<&Installed>],
    refresh: bool,
    warnings: &mut Vec<Warning>,
) {
    let mut names: Vec<String> = owned.iter().flatten().map(|p| p.name.clone()).collect();
    names.sort();
    names.dedup();
    let unknown = UpdateStatus { status: UpdateState::Unknown, newest: None, refreshed: false };
    for (info, package) in infos.iter_mut().zip(owned) {
        if package.is_some() {
            info.update = Some(unknown.clone());
        }
    }
    if names.is_empty() {
        return;
    }
    let found = match available(tools, family, &names, refresh) {
        Ok(found) => found,
        Err(err) => {
            warnings.push(error_warning(&err));
            return;
        }
    };
    for (info, package) in infos.iter_mut().zip(owned) {
        let Some(package) = package else { continue };
        let installed = Edition::parse(&package.edition());
        let newest =
            found.iter().filter(|(name, _)| *name == package.name).map(|(_, e)| e).max_by(|a, b| a.cmp_rpm(b)).cloned();
        let status = match &newest {
            Some(newest) if newest.cmp_rpm(&installed).is_gt() => UpdateState::Available,
            _ => UpdateState::UpToDate,
        };
        info.update = Some(UpdateStatus { status, newest: newest.map(|e| e.to_string()), refreshed: refresh });
    }
}

/// Versions the repositories offer (installed ones excluded), per package
/// name: `zypper search` or `dnf repoquery`, from the cache unless `refresh`.
pub(crate) fn available(
    tools: &Tools,
    family: Family,
    names: &[String],
    refresh: bool,
) -> crate::Result<Vec<(String, Edition)>> {
    match family {
        Family::Suse => {
            if refresh {
                zypper::refresh(tools)?;
            }
            Ok(zypper::search(tools, names, refresh)?
                .into_iter()
                .filter(|s| !s.is_system())
                .map(|s| (s.name.clone(), s.edition()))
                .collect())
        }
        Family::RedHat => {
            let metadata = if refresh { dnf::Metadata::Refresh } else { dnf::Metadata::CacheOnly };
            Ok(dnf::repoquery(tools, names, metadata)?.into_iter().map(|a| (a.name, a.edition)).collect())
        }
    }
}

fn warning(code: WarningCode, message: String, path: Option<&str>) -> Warning {
    Warning { code, message, path: path.map(str::to_string), count: 1 }
}

/// A package-layer failure that does not stop `patches`: it becomes a
/// warning under its error code.
fn error_warning(err: &Error) -> Warning {
    warning(WarningCode::Error(err.error_code()), err.to_string(), None)
}
