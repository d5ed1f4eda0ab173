//! Which package backend answers the package questions: SUSE (rpm, zypper,
//! `kernel-livepatch-*`) or Red Hat (rpm, dnf, `kpatch-patch-*`).
//!
//! Chosen from the inspected system's `etc/os-release` (else
//! `usr/lib/os-release`): Red Hat when `ID` or a word of `ID_LIKE` is `rhel`,
//! `centos` or `fedora`; SUSE when one is `suse` (or `ID` starts with `sles`,
//! `opensuse`). `--backend` overrides. A family klp does not know is `None`:
//! callers then report package fields as unknown, never a guess.

use super::{kpatch, naming, rpm::Installed};
use crate::report::{BackendChosenBy, BackendName, PackageBackend};
use std::path::Path;

/// The distribution families klp has a package backend for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Suse,
    RedHat,
}

/// `--backend`: a family, or `auto` (from os-release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Choice {
    #[default]
    Auto,
    Suse,
    Redhat,
}

/// The backend for a system, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selected {
    pub family: Option<Family>,
    pub chosen_by: BackendChosenBy,
    /// `ID` from os-release, when one was read.
    pub os_release_id: Option<String>,
}

impl Selected {
    pub(crate) fn report(&self) -> PackageBackend {
        PackageBackend {
            name: match self.family {
                Some(Family::Suse) => BackendName::Suse,
                Some(Family::RedHat) => BackendName::Redhat,
                None => BackendName::Unknown,
            },
            chosen_by: self.chosen_by,
            os_release_id: self.os_release_id.clone(),
        }
    }

    /// The message for an unknown family (warning or error text).
    pub(crate) fn unknown_message(&self) -> String {
        let seen = match &self.os_release_id {
            Some(id) => format!("os-release ID={id}"),
            None => "no etc/os-release or usr/lib/os-release".to_string(),
        };
        format!(
            "the distribution family is unknown ({seen}): package facts are unknown; \
             pass --backend suse or --backend redhat to choose"
        )
    }
}

/// os-release files are a few hundred bytes; anything larger is not one.
const OS_RELEASE_LIMIT: u64 = 64 * 1024;

pub(crate) fn select(root: &Path, choice: Choice) -> Selected {
    let os_release = read_os_release(root);
    let os_release_id = os_release.as_ref().and_then(|(id, _)| id.clone());
    let (family, chosen_by) = match choice {
        Choice::Suse => (Some(Family::Suse), BackendChosenBy::Option),
        Choice::Redhat => (Some(Family::RedHat), BackendChosenBy::Option),
        Choice::Auto => {
            (os_release.as_ref().and_then(|(id, like)| family_of(id.as_deref(), like)), BackendChosenBy::OsRelease)
        }
    };
    Selected { family, chosen_by, os_release_id }
}

fn read_os_release(root: &Path) -> Option<(Option<String>, Vec<String>)> {
    use std::io::Read;
    for path in ["etc/os-release", "usr/lib/os-release"] {
        // Under an untrusted root, a symlink may point anywhere: read it only
        // when it resolves inside the root.
        let full = root.join(path);
        let (Ok(real), Ok(real_root)) = (std::fs::canonicalize(&full), std::fs::canonicalize(root)) else { continue };
        if !real.starts_with(&real_root) || !real.is_file() {
            continue;
        }
        let Ok(file) = std::fs::File::open(&real) else { continue };
        let mut text = String::new();
        if file.take(OS_RELEASE_LIMIT).read_to_string(&mut text).is_err() {
            continue;
        }
        return Some(parse_os_release(&text));
    }
    None
}

/// `ID` and the words of `ID_LIKE` (lowercase, quotes removed).
pub(crate) fn parse_os_release(text: &str) -> (Option<String>, Vec<String>) {
    let mut id = None;
    let mut like = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else { continue };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase();
        match key.trim() {
            "ID" => id = Some(value),
            "ID_LIKE" => like = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    (id, like)
}

fn family_of(id: Option<&str>, like: &[String]) -> Option<Family> {
    let words: Vec<&str> = id.into_iter().chain(like.iter().map(String::as_str)).collect();
    if words.iter().any(|w| matches!(*w, "rhel" | "centos" | "fedora")) {
        Some(Family::RedHat)
    } else if words.iter().any(|w| *w == "suse" || w.starts_with("sles") || w.starts_with("opensuse")) {
        Some(Family::Suse)
    } else {
        None
    }
}

impl Family {
    /// The package manager this family's backend runs.
    pub(crate) fn package_manager(self) -> &'static str {
        match self {
            Family::Suse => "zypper",
            Family::RedHat => "dnf",
        }
    }

    /// The running kernel's live patch package name.
    pub(crate) fn livepatch_package(self, kernel: &str) -> Option<String> {
        match self {
            Family::Suse => naming::livepatch_package(kernel),
            Family::RedHat => kpatch::package(kernel),
        }
    }

    /// Live patch module files of the kernel: (sysfs name, path inside the root).
    pub(crate) fn module_files(self, root: &Path, kernel: &str) -> Vec<(String, String)> {
        match self {
            Family::Suse => naming::module_files(root, kernel),
            Family::RedHat => kpatch::module_files(root, kernel),
        }
    }

    /// Whether an installed edition of the live patch package is the one the
    /// name rule gives a sysfs patch name (when its module file is gone).
    pub(crate) fn ships_patch(self, package: &Installed, patch: &str, kernel: &str) -> bool {
        match self {
            Family::Suse => naming::edition_from_patch_name(patch)
                .is_some_and(|(v, r)| package.version == v && package.release == r),
            Family::RedHat => kpatch::patch_name(kernel, &package.version, &package.release).as_deref() == Some(patch),
        }
    }

    /// The running kernel's package, as rpm specs to try (one rpm run).
    pub(crate) fn kernel_package_specs(self, kernel: &str) -> Vec<String> {
        match self {
            Family::Suse => naming::split_kernel_release(kernel)
                .map(|(_, _, flavor)| format!("kernel-{flavor}"))
                .into_iter()
                .collect(),
            Family::RedHat => kpatch::kernel_package_specs(kernel),
        }
    }

    /// CVEs and other fixes from a changelog in this family's style.
    pub(crate) fn fixes(self, changelog: &[super::rpm::ChangelogEntry]) -> super::changelog::Fixes {
        match self {
            Family::Suse => super::changelog::parse(changelog),
            Family::RedHat => super::changelog::parse_redhat(changelog),
        }
    }

    /// SUSE's first live patch of a kernel is version 1 and fixes nothing
    /// yet; Red Hat's first package (`0-0`) is an empty placeholder that
    /// loads nothing, so a loaded Red Hat patch is never "initial".
    pub(crate) fn is_initial(self, package: &Installed, fixes: &super::changelog::Fixes) -> bool {
        match self {
            Family::Suse => package.version == "1" && fixes.cves.is_empty(),
            Family::RedHat => false,
        }
    }

    /// Red Hat's `0-0` package subscribes a kernel to live patches and ships no module.
    pub(crate) fn is_placeholder(self, edition: &super::vercmp::Edition) -> bool {
        self == Family::RedHat && kpatch::is_placeholder(edition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_from_os_release() {
        let family = |text: &str| {
            let (id, like) = parse_os_release(text);
            family_of(id.as_deref(), &like)
        };
        assert_eq!(family("ID=\"rhel\"\nID_LIKE=\"fedora\"\n"), Some(Family::RedHat));
        assert_eq!(family("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"), Some(Family::RedHat));
        assert_eq!(family("ID=almalinux\nID_LIKE='rhel centos fedora'\n"), Some(Family::RedHat));
        assert_eq!(family("ID=\"sles\"\nID_LIKE=\"suse\"\n"), Some(Family::Suse));
        assert_eq!(family("ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n"), Some(Family::Suse));
        assert_eq!(family("ID=debian\n"), None);
        assert_eq!(family("ID=ubuntu\nID_LIKE=debian\n"), None);
        assert_eq!(family(""), None);
    }

    #[test]
    fn option_wins_and_missing_file_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let auto = select(dir.path(), Choice::Auto);
        assert_eq!((auto.family, auto.os_release_id.clone()), (None, None));
        assert!(auto.unknown_message().contains("no etc/os-release"));
        std::fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        std::fs::write(dir.path().join("usr/lib/os-release"), "ID=sles\nID_LIKE=suse\n").unwrap();
        assert_eq!(select(dir.path(), Choice::Auto).family, Some(Family::Suse));
        let forced = select(dir.path(), Choice::Redhat);
        assert_eq!((forced.family, forced.chosen_by), (Some(Family::RedHat), BackendChosenBy::Option));
        // A link out of the root is not followed.
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc/os-release", dir.path().join("etc/os-release")).unwrap();
        assert_eq!(select(dir.path(), Choice::Auto).family, Some(Family::Suse));
    }
}
