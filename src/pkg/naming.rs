//! SUSE's naming rules linking a running kernel, a live patch package, its
//! module file and the patch's sysfs name (facts file, section 2).

use std::path::Path;

/// `6.4.0-150600.23.22-default` -> (`6.4.0`, `150600.23.22`, `default`).
pub fn split_kernel_release(kernel: &str) -> Option<(&str, &str, &str)> {
    let (base, flavor) = kernel.rsplit_once('-')?;
    let (version, release) = base.split_once('-')?;
    (!version.is_empty() && !release.is_empty() && !flavor.is_empty()).then_some((version, release, flavor))
}

/// `kernel-livepatch-6_4_0-150600_23_22-default` for `6.4.0-150600.23.22-default`.
pub fn livepatch_package(kernel: &str) -> Option<String> {
    let (version, release, flavor) = split_kernel_release(kernel)?;
    Some(format!("kernel-livepatch-{}-{}-{flavor}", version.replace('.', "_"), release.replace('.', "_")))
}

/// `livepatch_6_150400_2_2` -> (`6`, `150400.2.2`): the package edition the
/// SUSE rule gives the patch; None for names that do not follow it.
pub fn edition_from_patch_name(patch: &str) -> Option<(String, String)> {
    let rest = patch.strip_prefix("livepatch_")?;
    let (version, release) = rest.split_once('_')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    (digits(version) && release.split('_').all(digits)).then(|| (version.to_string(), release.replace('_', ".")))
}

/// Directories (inside the root) that hold the kernel's live patch modules.
pub(crate) fn module_dirs(kernel: &str) -> [String; 2] {
    [format!("/lib/modules/{kernel}/livepatch"), format!("/usr/lib/modules/{kernel}/livepatch")]
}

/// The live patch module files of a kernel, as seen inside the root, keyed
/// by the sysfs name they load as: the file name without `.ko[.xz|.zst|.gz]`,
/// dashes as underscores (the kernel turns dashes into underscores). Listed
/// anew on every call: the file name changes with every version.
pub fn module_files(root: &Path, kernel: &str) -> Vec<(String, String)> {
    modules_in(root, &module_dirs(kernel))
}

/// The module files in `dirs` (inside the root), in order, keyed by the
/// sysfs name they load as.
pub fn modules_in(root: &Path, dirs: &[String]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(root.join(dir.trim_start_matches('/'))) else { continue };
        let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for name in names {
            if let Some(stem) = module_stem(&name) {
                found.push((stem.replace('-', "_"), format!("{dir}/{name}")));
            }
        }
    }
    found
}

/// The module file of one loaded patch, if present.
pub fn find_module_file(root: &Path, kernel: &str, patch: &str) -> Option<String> {
    module_files(root, kernel).into_iter().find(|(name, _)| name == patch).map(|(_, path)| path)
}

fn module_stem(file: &str) -> Option<&str> {
    [".ko", ".ko.xz", ".ko.zst", ".ko.gz"].iter().find_map(|ext| file.strip_suffix(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_name_rule() {
        assert_eq!(
            livepatch_package("6.4.0-150600.23.22-default").as_deref(),
            Some("kernel-livepatch-6_4_0-150600_23_22-default")
        );
        assert_eq!(livepatch_package("6.4.0"), None);
    }

    #[test]
    fn patch_name_rule() {
        assert_eq!(edition_from_patch_name("livepatch_6_150400_2_2"), Some(("6".into(), "150400.2.2".into())));
        assert_eq!(edition_from_patch_name("livepatch_12_150600_13_1"), Some(("12".into(), "150600.13.1".into())));
        assert_eq!(edition_from_patch_name("livepatch_sample"), None);
        assert_eq!(edition_from_patch_name("my_patch"), None);
    }

    #[test]
    fn module_file_matches_sysfs_name() {
        let dir = tempfile::tempdir().unwrap();
        let modules = dir.path().join("lib/modules/6.4.0-1-default/livepatch");
        std::fs::create_dir_all(&modules).unwrap();
        std::fs::write(modules.join("livepatch-6-150400_2_2.ko.zst"), "").unwrap();
        std::fs::write(modules.join("livepatch-7-150400_3_1.ko"), "").unwrap();
        let find = |patch: &str| {
            module_files(dir.path(), "6.4.0-1-default").into_iter().find(|(name, _)| name == patch).map(|(_, p)| p)
        };
        assert_eq!(
            find("livepatch_6_150400_2_2").as_deref(),
            Some("/lib/modules/6.4.0-1-default/livepatch/livepatch-6-150400_2_2.ko.zst")
        );
        assert_eq!(find_module_file(dir.path(), "6.4.0-1-default", "livepatch_5_150400_1_1"), None);
    }
}
