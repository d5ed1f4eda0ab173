//! Red Hat's naming rules linking a running kernel, its `kpatch-patch`
//! package, the module file and the patch's sysfs name (facts file, section 11).
//!
//! Running `5.14.0-427.13.1.el9_4.x86_64` -> package
//! `kpatch-patch-5_14_0-427_13_1` (Version 1, Release `N.el9_4`, and the empty
//! placeholder `0-0.el9_4`), module
//! `/usr/lib/kpatch/<uname -r>/kpatch-5_14_0-427_13_1-1-4.ko` (copied by
//! `kpatch install` to `/var/lib/kpatch/<uname -r>/`, which no package owns),
//! sysfs name `kpatch_5_14_0_427_13_1_1_4`.

use super::vercmp::Edition;
use std::path::Path;

/// `5.14.0-427.13.1.el9_4.x86_64` -> (`5.14.0`, `427.13.1`): the kernel's
/// version and its release without the dist tag (`.el9_4`) and arch.
pub(crate) fn split_kernel_release(kernel: &str) -> Option<(&str, &str)> {
    let (version, rest) = kernel.split_once('-')?;
    let release = rest.split('.').take_while(|part| part.bytes().all(|c| c.is_ascii_digit())).count();
    let end: usize = rest.split('.').take(release).map(|p| p.len() + 1).sum::<usize>().saturating_sub(1);
    let release = &rest[..end];
    let ok = |s: &str| !s.is_empty() && s.split('.').all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    (ok(version) && ok(release)).then_some((version, release))
}

/// `kpatch-patch-5_14_0-427_13_1` for `5.14.0-427.13.1.el9_4.x86_64`.
pub(crate) fn package(kernel: &str) -> Option<String> {
    let (version, release) = split_kernel_release(kernel)?;
    Some(format!("kpatch-patch-{}-{}", version.replace('.', "_"), release.replace('.', "_")))
}

/// The sysfs name a package edition's module loads as:
/// `kpatch_5_14_0_427_13_1_1_4` for version `1`, release `4.el9_4`.
/// None for the placeholder, which has no module.
pub(crate) fn patch_name(kernel: &str, version: &str, release: &str) -> Option<String> {
    let (kversion, krelease) = split_kernel_release(kernel)?;
    let number = release.split('.').next().unwrap_or(release);
    if is_placeholder(&Edition { epoch: 0, version: version.into(), release: release.into() }) {
        return None;
    }
    Some(format!("kpatch_{}_{}_{version}_{number}", kversion.replace('.', "_"), krelease.replace('.', "_")))
}

/// `0-0.el9_4`: installed to subscribe a kernel to future live patches.
pub(crate) fn is_placeholder(edition: &Edition) -> bool {
    edition.version == "0" && edition.release.split('.').next() == Some("0")
}

/// The running kernel's package: `kernel-core` (RHEL 8 and later) or
/// `kernel` (RHEL 7), as `NAME-VERSION-RELEASE.ARCH` specs for one rpm run.
pub(crate) fn kernel_package_specs(kernel: &str) -> Vec<String> {
    vec![format!("kernel-core-{kernel}"), format!("kernel-{kernel}")]
}

/// Where the modules are: the packaged copies first (rpm owns them), then
/// the ones `kpatch install` copied and `kpatch.service` loads at boot.
pub(crate) fn module_dirs(kernel: &str) -> [String; 2] {
    [format!("/usr/lib/kpatch/{kernel}"), format!("/var/lib/kpatch/{kernel}")]
}

/// The kpatch modules of a kernel, as seen inside the root, keyed by the
/// sysfs name they load as (the file name without `.ko`, dashes as underscores).
pub(crate) fn module_files(root: &Path, kernel: &str) -> Vec<(String, String)> {
    super::naming::modules_in(root, &module_dirs(kernel))
}

/// Red Hat's releases carry a dist tag (`3.el9_4`); `--to 1-3` means that
/// release of this kernel's stream: the installed edition's dist tag is added.
pub(crate) fn with_dist_of(wanted: &Edition, installed: &Edition) -> Edition {
    let dist = installed.release.split_once('.').map(|(_, dist)| dist);
    match dist {
        Some(dist) if !wanted.release.is_empty() && !wanted.release.contains('.') => {
            Edition { release: format!("{}.{dist}", wanted.release), ..wanted.clone() }
        }
        _ => wanted.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERNEL: &str = "5.14.0-427.13.1.el9_4.x86_64";

    #[test]
    fn names_follow_the_kernel() {
        assert_eq!(split_kernel_release(KERNEL), Some(("5.14.0", "427.13.1")));
        assert_eq!(package(KERNEL).as_deref(), Some("kpatch-patch-5_14_0-427_13_1"));
        assert_eq!(package("4.18.0-553.el8_10.x86_64").as_deref(), Some("kpatch-patch-4_18_0-553"));
        assert_eq!(package("6.4.0"), None);
        assert_eq!(package("x-.el9"), None);
        assert_eq!(patch_name(KERNEL, "1", "4.el9_4").as_deref(), Some("kpatch_5_14_0_427_13_1_1_4"));
        assert_eq!(patch_name(KERNEL, "0", "0.el9_4"), None);
        assert_eq!(kernel_package_specs(KERNEL)[0], "kernel-core-5.14.0-427.13.1.el9_4.x86_64");
    }

    #[test]
    fn placeholder_and_dist() {
        assert!(is_placeholder(&Edition::parse("0-0.el9_4")));
        assert!(!is_placeholder(&Edition::parse("1-1.el9_4")));
        let installed = Edition::parse("1-3.el9_4");
        assert_eq!(with_dist_of(&Edition::parse("1-2"), &installed).to_string(), "1-2.el9_4");
        assert_eq!(with_dist_of(&Edition::parse("1-2.el9_2"), &installed).to_string(), "1-2.el9_2");
        assert_eq!(with_dist_of(&Edition::parse("1"), &installed).to_string(), "1");
    }

    #[test]
    fn module_files_of_both_dirs() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["usr/lib/kpatch", "var/lib/kpatch"] {
            let d = dir.path().join(sub).join(KERNEL);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("kpatch-5_14_0-427_13_1-1-4.ko"), "").unwrap();
        }
        let found = module_files(dir.path(), KERNEL);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "kpatch_5_14_0_427_13_1_1_4");
        assert_eq!(found[0].1, format!("/usr/lib/kpatch/{KERNEL}/kpatch-5_14_0-427_13_1-1-4.ko"));
    }
}
