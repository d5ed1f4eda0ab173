//! Kernel packages: which installed package is the running kernel, which
//! kernels of its flavour are installed, which one boots next, and which CVEs
//! their changelogs name. The facts behind "must this host reboot?" and "does
//! the running kernel fix CVE-X?".
//!
//! [`KernelBackend`] is the contract a package backend implements (rpm here;
//! a Red Hat backend answers the same questions its own way). A kernel
//! package's metadata is large (its changelog): rpm loads it whole for any
//! query, so the rpm backend asks about each kernel as few times as it can:
//! one streamed `rpm -qf` answers for the running kernel and the
//! `/boot/vmlinuz` target at once (identity and changelog), one `rpm -q` lists
//! the installed kernels of the flavour only when needed. Changelogs are never
//! held whole (a SLE 15 kernel's runs to hundreds of thousands of lines):
//! each line is scanned for CVE ids as it arrives and only the ids are kept,
//! at most [`CVE_LIMIT`] per package.

use super::backend::Family;
use super::rpm::{self, Installed, Want};
use super::vercmp::Edition;
use super::Tools;
use crate::report::{KernelPackage, NextBootSource};
use crate::Result;
use std::collections::BTreeSet;
use std::path::Path;

/// Most distinct CVE ids kept per package (a SLE 15 kernel names some thousands).
pub(crate) const CVE_LIMIT: usize = 200_000;

/// Which CVE ids to keep from the kernels' changelogs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CveScan<'a> {
    /// Do not read the changelogs.
    Skip,
    /// Only these ids.
    Only(&'a BTreeSet<String>),
    /// Every id (to compare two kernels).
    All,
}

impl<'a> CveScan<'a> {
    fn filter(self) -> Option<Option<&'a BTreeSet<String>>> {
        match self {
            CveScan::Skip => None,
            CveScan::Only(wanted) => Some(Some(wanted)),
            CveScan::All => Some(None),
        }
    }
}

/// The running kernel's package and the one the boot loader points to.
#[derive(Debug, Default)]
pub(crate) struct BootKernels {
    /// None when no package owns the running kernel.
    pub running: Option<KernelPackage>,
    pub running_cves: Option<BTreeSet<String>>,
    /// The kernel the boot loader points to, when that is another package.
    pub next: Option<KernelPackage>,
    pub next_cves: Option<BTreeSet<String>>,
    /// The boot loader points to the running kernel itself.
    pub next_is_running: bool,
}

/// The kernel-package facts a backend provides.
pub(crate) trait KernelBackend {
    /// The running kernel's package (the one owning its image or module
    /// directory) and the kernel the boot loader points to, with the CVEs
    /// their changelogs name: one pass, as each kernel's metadata is large.
    fn boot_kernels(&self, release: &str, scan: CveScan) -> Result<BootKernels>;
    /// Installed kernels of one package name (the running kernel's flavour),
    /// highest version first.
    fn installed_kernels(&self, name: &str) -> Result<Vec<KernelPackage>>;
    /// The live patch packages installed for the running kernel.
    fn installed_livepatches(&self, release: &str) -> Result<Vec<InstalledLivepatch>>;
    /// The CVE ids each package's changelog names (upper case), in the order
    /// of `packages`; with `wanted`, only those ids are kept.
    fn changelog_cves(
        &self,
        packages: &[&KernelPackage],
        wanted: Option<&BTreeSet<String>>,
    ) -> Result<Vec<BTreeSet<String>>>;
}

/// An installed live patch package and the patch it loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstalledLivepatch {
    pub nevra: String,
    pub version: String,
    /// `VERSION-RELEASE` (with `EPOCH:`), for rpm comparison.
    pub edition: String,
    /// The sysfs name its module loads as.
    pub patch: String,
}

/// The rpm backend: SUSE `kernel-<flavor>` packages and the `/boot/vmlinuz`
/// symlink; Red Hat `kernel-core` (or `kernel`) packages, installed side by
/// side, the newest the default (no symlink: the highest installed).
pub(crate) struct RpmKernels<'a> {
    tools: &'a Tools,
    root: &'a Path,
    family: Family,
}

impl<'a> RpmKernels<'a> {
    pub(crate) fn new(tools: &'a Tools, root: &'a Path, family: Family) -> Self {
        RpmKernels { tools, root, family }
    }

    /// The release `/boot/vmlinuz` points to (`vmlinuz-<release>`), read
    /// inside the root without following it out of the root.
    fn boot_symlink_release(&self) -> Option<String> {
        let target = std::fs::read_link(self.root.join("boot/vmlinuz")).ok()?;
        let name = target.file_name()?.to_str()?;
        let release = name.strip_prefix("vmlinuz-")?;
        (!release.is_empty() && !release.contains('/')).then(|| release.to_string())
    }
}

/// Paths (inside the root) of a kernel release's image and module directory.
fn image_paths(release: &str) -> [String; 4] {
    [
        format!("/boot/vmlinuz-{release}"),
        format!("/usr/lib/modules/{release}/vmlinuz"),
        format!("/lib/modules/{release}/vmlinuz"),
        format!("/lib/modules/{release}"),
    ]
}

/// The kernel release a package installs, from its file list.
fn release_of(package: &Installed) -> Option<String> {
    package.files.iter().find_map(|file| {
        if let Some(release) = file.strip_prefix("/boot/vmlinuz-") {
            return Some(release.to_string());
        }
        let rest = file.strip_prefix("/usr/lib/modules/").or_else(|| file.strip_prefix("/lib/modules/"))?;
        let release = rest.split('/').next()?;
        (!release.is_empty()).then(|| release.to_string())
    })
}

fn is_kernel_package(name: &str) -> bool {
    // `kernel` itself: Red Hat 7's kernel package (8 and later: kernel-core).
    name == "kernel"
        || (name.starts_with("kernel-")
            && !name.starts_with("kernel-livepatch")
            && !name.contains("-devel")
            && !name.starts_with("kernel-modules"))
}

fn to_report(package: &Installed) -> KernelPackage {
    KernelPackage {
        nevra: package.nevra(),
        name: package.name.clone(),
        version: package.version.clone(),
        release: package.release.clone(),
        kernel_release: release_of(package),
    }
}

impl RpmKernels<'_> {
    /// The one path (inside the root) rpm is asked about for a kernel
    /// release: its image, else its module directory. One path per kernel,
    /// so that each answer of `rpm -qf` is one package.
    fn kernel_path(&self, release: &str) -> Option<String> {
        image_paths(release).into_iter().find(|p| self.root.join(p.trim_start_matches('/')).symlink_metadata().is_ok())
    }
}

impl KernelBackend for RpmKernels<'_> {
    fn boot_kernels(&self, release: &str, scan: CveScan) -> Result<BootKernels> {
        let mut kernels = BootKernels::default();
        let pointed = self.boot_symlink_release();
        kernels.next_is_running = pointed.as_deref() == Some(release);
        let mut releases = vec![release.to_string()];
        releases.extend(pointed.filter(|p| p != release));
        // Nothing on disk for the running kernel: no package can own it. A
        // boot target without files is ignored (the next boot falls back).
        let mut paths = Vec::new();
        for release in &releases {
            match self.kernel_path(release) {
                Some(path) => paths.push(path),
                None if paths.is_empty() => return Ok(kernels),
                None => break,
            }
        }
        releases.truncate(paths.len());
        let filter = scan.filter();
        let mut sets: Vec<BTreeSet<String>> = Vec::new();
        let answers = rpm::stream_owners(self.tools, &paths, filter.is_some(), |index, line| {
            if let Some(wanted) = filter {
                if sets.len() <= index {
                    sets.resize(index + 1, BTreeSet::new());
                }
                collect_cves(&mut sets[index], line, wanted);
            }
        })?;
        if answers.len() != paths.len() {
            let mut command = vec!["rpm".to_string(), "-qf".to_string()];
            command.extend(paths.iter().cloned());
            let details = crate::error::CommandFailed { command, run: None, to: None, state: None };
            return Err(crate::Error::package(
                crate::error::PackageFailure::RpmFailed(details),
                format!(
                    "rpm gave {} answers for {} kernel files: cannot tell which kernel is which",
                    answers.len(),
                    paths.len()
                ),
            ));
        }
        sets.resize(answers.len(), BTreeSet::new());
        let mut found = answers.into_iter().zip(releases).zip(sets).map(|((answer, release), cves)| {
            let package = answer
                .filter(|p| is_kernel_package(&p.name))
                .map(|p| KernelPackage { kernel_release: Some(release), ..to_report(&p) });
            let cves = package.as_ref().and(filter).map(|_| cves);
            (package, cves)
        });
        if let Some((running, cves)) = found.next() {
            kernels.running = running;
            kernels.running_cves = cves;
        }
        if let Some((next, cves)) = found.next() {
            kernels.next = next;
            kernels.next_cves = cves;
        }
        Ok(kernels)
    }

    fn installed_kernels(&self, name: &str) -> Result<Vec<KernelPackage>> {
        let mut found = rpm::query(self.tools, &[name.to_string()], Want { files: true, changelog: false })?;
        found.sort_by(|a, b| Edition::parse(&b.edition()).cmp_rpm(&Edition::parse(&a.edition())));
        Ok(found.iter().map(to_report).collect())
    }

    fn installed_livepatches(&self, release: &str) -> Result<Vec<InstalledLivepatch>> {
        let Some(name) = self.family.livepatch_package(release) else { return Ok(Vec::new()) };
        let found = rpm::query(self.tools, &[name], Want::default())?;
        Ok(found
            .iter()
            .filter_map(|p| {
                let patch = match self.family {
                    // SUSE: module livepatch-<V>-<R with '.' -> '_'>.ko loads as livepatch_<V>_<R_>.
                    Family::Suse => Some(format!("livepatch_{}_{}", p.version, p.release.replace('.', "_"))),
                    // Red Hat: the 0-0 placeholder loads nothing and is not a live patch.
                    Family::RedHat => super::kpatch::patch_name(release, &p.version, &p.release),
                }?;
                Some(InstalledLivepatch { nevra: p.nevra(), version: p.version.clone(), edition: p.edition(), patch })
            })
            .collect())
    }

    fn changelog_cves(
        &self,
        packages: &[&KernelPackage],
        wanted: Option<&BTreeSet<String>>,
    ) -> Result<Vec<BTreeSet<String>>> {
        let mut sets = vec![BTreeSet::new(); packages.len()];
        if packages.is_empty() {
            return Ok(sets);
        }
        let specs: Vec<String> = packages.iter().map(|p| format!("{}-{}-{}", p.name, p.version, p.release)).collect();
        let mut current: Option<usize> = None;
        rpm::stream_changelogs(self.tools, &specs, |event| match event {
            rpm::ChangelogLine::Package(nvr) => current = specs.iter().position(|s| s == nvr),
            rpm::ChangelogLine::Text(line) => {
                if let Some(index) = current {
                    collect_cves(&mut sets[index], line, wanted);
                }
            }
        })?;
        Ok(sets)
    }
}

/// Adds the CVE ids of one changelog line to `set` (only `wanted` ones when given).
fn collect_cves(set: &mut BTreeSet<String>, line: &str, wanted: Option<&BTreeSet<String>>) {
    for_each_cve(line, |id| {
        if wanted.is_none_or(|w| w.contains(id)) && set.len() < CVE_LIMIT && !set.contains(id) {
            set.insert(id.to_string());
        }
    });
}

/// Everything `assess` and `cve` need to know about kernel packages, read
/// through one backend; each part that could not be read is `None` and
/// named in `errors`.
#[derive(Debug, Default)]
pub(crate) struct KernelFacts {
    /// None: unknown (see `errors`) or no package owns the running kernel.
    pub running: Option<KernelPackage>,
    pub installed: Vec<KernelPackage>,
    pub next_boot: Option<KernelPackage>,
    pub next_boot_source: Option<NextBootSource>,
    /// CVEs the running kernel's changelog names; None when unknown.
    pub running_cves: Option<BTreeSet<String>>,
    /// CVEs the next-boot kernel's changelog names, when it is not the
    /// running one; None when unknown or not asked.
    pub next_cves: Option<BTreeSet<String>>,
    /// None when the installed live patches could not be read.
    pub livepatches: Option<Vec<InstalledLivepatch>>,
    /// (what, error) of each failed read.
    pub errors: Vec<(&'static str, crate::Error)>,
}

impl KernelFacts {
    /// Whether the next-boot kernel is another package than the running one.
    pub(crate) fn next_differs(&self) -> bool {
        matches!((&self.running, &self.next_boot), (Some(r), Some(n)) if r.nevra != n.nevra)
    }
}

/// Reads the kernel facts. Changelogs are read once each: the running
/// kernel's and the boot loader's pick in one pass, with only the `wanted`
/// ids kept, or (`compare`, for `assess`, when the next-boot kernel is
/// another package) all ids of both, to tell which CVEs only it fixes.
/// `installed`: also list the installed kernels of the running flavour
/// (they are read anyway when the boot loader names no kernel).
pub(crate) fn gather(
    backend: &dyn KernelBackend,
    release: &str,
    wanted: &BTreeSet<String>,
    compare: bool,
    installed: bool,
) -> KernelFacts {
    let mut facts = KernelFacts::default();
    match backend.installed_livepatches(release) {
        Ok(found) => facts.livepatches = Some(found),
        Err(e) => facts.errors.push(("installed live patch packages", e)),
    }
    let scan = match (compare, wanted.is_empty()) {
        (true, _) => CveScan::All,
        (false, true) => CveScan::Skip,
        (false, false) => CveScan::Only(wanted),
    };
    let boot = match backend.boot_kernels(release, scan) {
        Ok(boot) => boot,
        Err(e) => {
            facts.errors.push(("running kernel package", e));
            return facts;
        }
    };
    let Some(running) = boot.running else { return facts };
    facts.running_cves = boot.running_cves;
    let pointed = boot.next.is_some() || boot.next_is_running;
    if installed || !pointed {
        match backend.installed_kernels(&running.name) {
            Ok(found) => facts.installed = found,
            Err(e) => facts.errors.push(("installed kernels", e)),
        }
    }
    if let Some(next) = boot.next {
        facts.next_boot = Some(next);
        facts.next_cves = boot.next_cves;
        facts.next_boot_source = Some(NextBootSource::BootSymlink);
    } else if boot.next_is_running {
        facts.next_boot = Some(running.clone());
        facts.next_boot_source = Some(NextBootSource::BootSymlink);
    } else if let Some(highest) = facts.installed.first().cloned() {
        facts.next_boot_source = Some(NextBootSource::HighestInstalled);
        if highest.nevra != running.nevra {
            if let Some(filter) = scan.filter() {
                match backend.changelog_cves(&[&highest], filter) {
                    Ok(mut sets) => facts.next_cves = sets.pop(),
                    Err(e) => facts.errors.push(("kernel changelogs", e)),
                }
            }
        }
        facts.next_boot = Some(highest);
    } else if facts.errors.is_empty() {
        facts.next_boot_source = Some(NextBootSource::Unknown);
    }
    facts.running = Some(running);
    facts
}

/// Calls `found` with each `CVE-YYYY-NNNN+` id in `text`, upper case
/// (case-insensitive match on word boundaries). Hand-written rather than a
/// regex: it runs on every line of a kernel changelog and is the hot loop
/// of `klp cve` (see BENCHMARKS.md).
pub(crate) fn for_each_cve(text: &str, mut found: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut id = String::with_capacity(20);
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|&b| b == b'-') {
        let dash = at + offset;
        at = dash + 1;
        if dash < 3 || !bytes[dash - 3..dash].eq_ignore_ascii_case(b"CVE") {
            continue;
        }
        if dash > 3 && bytes[dash - 4].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &bytes[dash + 1..];
        let year = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if year != 4 || rest.get(4) != Some(&b'-') {
            continue;
        }
        let number = rest[5..].iter().take_while(|b| b.is_ascii_digit()).count();
        let end = 5 + number;
        if number < 4 || rest.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            continue;
        }
        id.clear();
        id.push_str("CVE-");
        id.push_str(std::str::from_utf8(&rest[..end]).expect("ASCII digits"));
        found(&id);
        at = dash + 1 + end;
    }
}

/// `CVE-YYYY-NNNN+` in any case, normalised to upper case; None when not one.
pub(crate) fn normalize_cve(text: &str) -> Option<String> {
    let mut only = None;
    for_each_cve(text, |id| only = Some(id.to_string()));
    only.filter(|id| id.len() == text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cves(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_cve(text, |id| out.push(id.to_string()));
        out
    }

    #[test]
    fn suse_kernel_changelog_lines() {
        assert_eq!(cves("- netfilter: nf_tables: fix a leak (CVE-2024-50115 bsc#1233019)."), ["CVE-2024-50115"]);
        assert_eq!(cves("  References: bsc#1 cve-2023-12345,CVE-2022-0001"), ["CVE-2023-12345", "CVE-2022-0001"]);
        assert_eq!(cves("XCVE-2024-50115 CVE-2024-123 CVE-24-12345 CVE-2024-50115a CVE-2024-"), Vec::<String>::new());
        assert_eq!(cves("CVE-2024-501150123"), ["CVE-2024-501150123"]);
    }

    #[test]
    fn ids_are_validated_and_normalised() {
        assert_eq!(normalize_cve("cve-2024-50115").as_deref(), Some("CVE-2024-50115"));
        for bad in ["CVE-2024-501", "CVE-2024-50115 ", "xCVE-2024-50115", "CVE-20245-0115", "", "CVE-2024-50115;x"] {
            assert_eq!(normalize_cve(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn release_from_files() {
        let package = Installed {
            name: "kernel-default".into(),
            epoch: None,
            version: "6.4.0".into(),
            release: "150600.23.25.1".into(),
            arch: "x86_64".into(),
            build_time: None,
            files: vec!["/boot/System.map".into(), "/usr/lib/modules/6.4.0-150600.23.25-default/vmlinuz".into()],
            changelog: Vec::new(),
        };
        assert_eq!(release_of(&package).as_deref(), Some("6.4.0-150600.23.25-default"));
        assert!(is_kernel_package("kernel-default") && !is_kernel_package("kernel-livepatch-x"));
    }
}
