//! Kernel packages: which installed package is the running kernel, which
//! kernels of its flavour are installed, which one boots next, and which CVEs
//! their changelogs name. The facts behind "must this host reboot?" and "does
//! the running kernel fix CVE-X?".
//!
//! [`KernelBackend`] is the contract a package backend implements (rpm here;
//! a Red Hat backend answers the same questions its own way). The rpm
//! backend batches: one `rpm -qf` for the running kernel's image paths and
//! the `/boot/vmlinuz` target, one `rpm -q` for the installed kernels of the
//! flavour, one streamed `rpm -q` for all changelogs. Changelogs are never
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
pub const CVE_LIMIT: usize = 200_000;

/// The kernel-package facts a backend provides.
pub trait KernelBackend {
    /// The installed package owning the running kernel's image or module
    /// directory; None when no package owns it.
    fn running_kernel(&self, release: &str) -> Result<Option<KernelPackage>>;
    /// Installed kernels of the running kernel's package name (its flavour),
    /// highest version first.
    fn installed_kernels(&self, running: &KernelPackage) -> Result<Vec<KernelPackage>>;
    /// The kernel that boots next, and how it was found.
    fn next_boot(&self, installed: &[KernelPackage]) -> Result<(Option<KernelPackage>, NextBootSource)>;
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
pub struct InstalledLivepatch {
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
pub struct RpmKernels<'a> {
    tools: &'a Tools,
    root: &'a Path,
    family: Family,
}

impl<'a> RpmKernels<'a> {
    pub fn new(tools: &'a Tools, root: &'a Path, family: Family) -> Self {
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

fn owns(package: &Installed, paths: &[String]) -> bool {
    package.files.iter().any(|f| paths.iter().any(|p| p == f || p.trim_end_matches('/') == f))
}

impl KernelBackend for RpmKernels<'_> {
    fn running_kernel(&self, release: &str) -> Result<Option<KernelPackage>> {
        let paths: Vec<String> = image_paths(release)
            .into_iter()
            .filter(|p| self.root.join(p.trim_start_matches('/')).symlink_metadata().is_ok())
            .collect();
        let owners = rpm::owners_of(self.tools, &paths, Want { files: true, changelog: false })?;
        Ok(owners.iter().find(|p| is_kernel_package(&p.name) && owns(p, &paths)).map(to_report))
    }

    fn installed_kernels(&self, running: &KernelPackage) -> Result<Vec<KernelPackage>> {
        let mut found =
            rpm::query(self.tools, std::slice::from_ref(&running.name), Want { files: true, changelog: false })?;
        found.sort_by(|a, b| Edition::parse(&b.edition()).cmp_rpm(&Edition::parse(&a.edition())));
        Ok(found.iter().map(to_report).collect())
    }

    fn next_boot(&self, installed: &[KernelPackage]) -> Result<(Option<KernelPackage>, NextBootSource)> {
        if let Some(release) = self.boot_symlink_release() {
            if let Some(package) = installed.iter().find(|k| k.kernel_release.as_deref() == Some(release.as_str())) {
                return Ok((Some(package.clone()), NextBootSource::BootSymlink));
            }
        }
        Ok(match installed.first() {
            Some(highest) => (Some(highest.clone()), NextBootSource::HighestInstalled),
            None => (None, NextBootSource::Unknown),
        })
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
                let Some(index) = current else { return };
                let set = &mut sets[index];
                for_each_cve(line, |id| {
                    if wanted.is_none_or(|w| w.contains(id)) && set.len() < CVE_LIMIT && !set.contains(id) {
                        set.insert(id.to_string());
                    }
                });
            }
        })?;
        Ok(sets)
    }
}

/// Everything `assess` and `cve` need to know about kernel packages, read
/// through one backend; each part that could not be read is `None` and
/// named in `errors`.
#[derive(Debug, Default)]
pub struct KernelFacts {
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
    pub fn next_differs(&self) -> bool {
        matches!((&self.running, &self.next_boot), (Some(r), Some(n)) if r.nevra != n.nevra)
    }
}

/// Reads the kernel facts. The changelogs scanned: the running kernel's
/// when CVEs are `wanted`, and the next-boot kernel's when it is another
/// package. With `compare` (`assess`), both are scanned whole to tell which
/// CVEs only the next-boot kernel fixes; otherwise only `wanted` ids are kept.
pub fn gather(backend: &dyn KernelBackend, release: &str, wanted: &BTreeSet<String>, compare: bool) -> KernelFacts {
    let mut facts = KernelFacts::default();
    match backend.installed_livepatches(release) {
        Ok(found) => facts.livepatches = Some(found),
        Err(e) => facts.errors.push(("installed live patch packages", e)),
    }
    let running = match backend.running_kernel(release) {
        Ok(Some(running)) => running,
        Ok(None) => return facts,
        Err(e) => {
            facts.errors.push(("running kernel package", e));
            return facts;
        }
    };
    match backend.installed_kernels(&running) {
        Ok(installed) => facts.installed = installed,
        Err(e) => facts.errors.push(("installed kernels", e)),
    }
    match backend.next_boot(&facts.installed) {
        Ok((next, source)) => {
            facts.next_boot = next;
            facts.next_boot_source = Some(source);
        }
        Err(e) => facts.errors.push(("next-boot kernel", e)),
    }
    facts.running = Some(running);
    let compare = compare && facts.next_differs();
    if wanted.is_empty() && !compare {
        return facts;
    }
    let mut packages = vec![facts.running.as_ref().expect("set above")];
    if facts.next_differs() {
        packages.extend(facts.next_boot.as_ref());
    }
    let filter = (!compare).then_some(wanted);
    match backend.changelog_cves(&packages, filter) {
        Ok(mut sets) => {
            if sets.len() == 2 {
                facts.next_cves = sets.pop();
            }
            facts.running_cves = sets.pop();
        }
        Err(e) => facts.errors.push(("kernel changelogs", e)),
    }
    facts
}

/// Calls `found` with each `CVE-YYYY-NNNN+` id in `text`, upper case
/// (case-insensitive match on word boundaries). Hand-written rather than a
/// regex: it runs on every line of a kernel changelog and is the hot loop
/// of `klp cve` (see BENCHMARKS.md).
pub fn for_each_cve(text: &str, mut found: impl FnMut(&str)) {
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
pub fn normalize_cve(text: &str) -> Option<String> {
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
