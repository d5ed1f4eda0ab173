//! `patches -v/-vv`: the package behind each loaded patch.
//!
//! Cost: one `rpm -qf` for all module files (identity, file list and
//! changelog in one query format), a second `rpm -q` only for patches whose
//! module file is gone, and with `-vv` one `rpm -q` for the kernel package
//! and one `zypper search` for all packages. Never one process per patch.

use super::rpm::{self, Installed, Want};
use super::vercmp::Edition;
use super::{changelog, lifecycle, naming, zypper, Tools};
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
    let on_disk = naming::module_files(root, kernel);
    if !tools.has_rpm_database() {
        warnings.push(error_warning(&tools.no_database_error()));
        return (infos, warnings);
    }
    let module_files: Vec<Option<String>> =
        patches.iter().map(|p| on_disk.iter().find(|(name, _)| name == p).map(|(_, path)| path.clone())).collect();
    let want = Want { files: false, changelog: true };

    // Ownership and changelogs of every existing module file in one rpm run.
    // With /lib a symlink to usr/lib, the same module shows under both
    // paths and rpm knows it under one: ask for every path found.
    let files: Vec<String> =
        on_disk.iter().filter(|(name, _)| patches.contains(name)).map(|(_, path)| path.clone()).collect();
    let owners = match rpm::owners_of(&tools, &files, want) {
        Ok(owners) => owners,
        Err(err) => {
            warnings.push(error_warning(&err));
            return (infos, warnings);
        }
    };
    // The patch-name rule for patches whose module file is gone.
    let package_name = naming::livepatch_package(kernel);
    let by_name: Vec<Option<String>> = patches
        .iter()
        .zip(&module_files)
        .map(|(patch, file)| match (file, &package_name) {
            (None, Some(name)) => naming::edition_from_patch_name(patch).map(|(v, r)| format!("{name}-{v}-{r}")),
            _ => None,
        })
        .collect();
    let specs: Vec<String> = by_name.iter().flatten().cloned().collect();
    // A failed query leaves those patches unknown: never "no owner" by default.
    let named = match rpm::query(&tools, &specs, want) {
        Ok(named) => Some(named),
        Err(err) => {
            warnings.push(error_warning(&err));
            None
        }
    };

    let mut owned: Vec<Option<&Installed>> = Vec::new();
    for (index, info) in infos.iter_mut().enumerate() {
        info.module_file = module_files[index].clone();
        let (found, found_by) = match (&module_files[index], &by_name[index]) {
            (Some(file), _) => {
                let key = naming::module_key(file);
                (owners.iter().find(|p| p.files.iter().any(|f| naming::module_key(f) == key)), FoundBy::ModuleFile)
            }
            (None, Some(spec)) => match &named {
                Some(named) => (
                    named.iter().find(|p| format!("{}-{}-{}", p.name, p.version, p.release) == *spec),
                    FoundBy::PatchName,
                ),
                None => {
                    owned.push(None);
                    continue;
                }
            },
            (None, None) => (None, FoundBy::PatchName),
        };
        fill(info, found, found_by);
        owned.push(found);
    }

    if options.verbosity >= 2 {
        let estimate = kernel_estimate(&tools, kernel, &mut warnings);
        for (info, package) in infos.iter_mut().zip(&owned) {
            info.expiration = Some(expiration(root, *package, &estimate));
        }
        updates(&tools, &mut infos, &owned, options.refresh, &mut warnings);
    }
    (infos, warnings)
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

fn fill(info: &mut PackageInfo, package: Option<&Installed>, found_by: FoundBy) {
    let Some(package) = package else {
        info.owner = Ownership::None;
        return;
    };
    let fixes = changelog::parse(&package.changelog);
    info.owner = Ownership::Package;
    info.found_by = Some(found_by);
    info.nevra = Some(package.nevra());
    info.name = Some(package.name.clone());
    info.epoch = package.epoch;
    info.version = Some(package.version.clone());
    info.release = Some(package.release.clone());
    info.arch = Some(package.arch.clone());
    // SUSE's first live patch of a kernel is version 1 and fixes nothing yet.
    info.initial = package.version == "1" && fixes.cves.is_empty();
    info.cves = fixes.cves;
    info.fixes = fixes.fixes;
}

/// The estimate's basis: the kernel package and its build date.
struct KernelDate {
    package: String,
    date: String,
}

fn kernel_estimate(tools: &Tools, kernel: &str, warnings: &mut Vec<Warning>) -> Option<KernelDate> {
    let spec = naming::kernel_package(kernel)?;
    match rpm::query(tools, &[spec], Want::default()) {
        Ok(found) => {
            found.iter().find_map(|p| Some(KernelDate { package: p.nevra(), date: lifecycle::date_of(p.build_time?)? }))
        }
        Err(err) => {
            warnings.push(error_warning(&err));
            None
        }
    }
}

/// Support ends by the vendor's lifecycle data, else a year after the
/// kernel package's build; a patch no package owns has no vendor support.
fn expiration(root: &Path, package: Option<&Installed>, kernel: &Option<KernelDate>) -> Expiration {
    let unknown = Expiration { date: None, source: ExpirationSource::Unknown, expired: None, basis: None };
    let Some(package) = package else { return unknown };
    let today = lifecycle::today();
    let dated = |date: String, source, basis: String| Expiration {
        expired: Some(date < today),
        date: Some(date),
        source,
        basis: Some(basis),
    };
    if let Some(found) = lifecycle::lookup(root, &package.name, &package.version, &package.release) {
        return dated(found.date, ExpirationSource::Lifecycle, found.file);
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
    if refresh {
        if let Err(err) = zypper::refresh(tools) {
            warnings.push(error_warning(&err));
            return;
        }
    }
    let found = match zypper::search(tools, &names, refresh) {
        Ok(found) => found,
        Err(err) => {
            warnings.push(error_warning(&err));
            return;
        }
    };
    for (info, package) in infos.iter_mut().zip(owned) {
        let Some(package) = package else { continue };
        let installed = Edition::parse(&package.edition());
        let newest = found
            .iter()
            .filter(|s| s.name == package.name && !s.is_system())
            .map(|s| s.edition())
            .max_by(|a, b| a.cmp_rpm(b));
        let status = match &newest {
            Some(newest) if newest.cmp_rpm(&installed).is_gt() => UpdateState::Available,
            _ => UpdateState::UpToDate,
        };
        info.update = Some(UpdateStatus { status, newest: newest.map(|e| e.to_string()), refreshed: refresh });
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
