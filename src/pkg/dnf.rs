//! dnf (Red Hat family): available versions from `dnf repoquery` (dnf 4
//! has no JSON: a `--qf` format with a separator package metadata never
//! holds) and the downgrade command. Always through [`Tools::dnf_argv`].

use super::vercmp::Edition;
use super::{Output, Tools};
use crate::error::PackageFailure;
use crate::{Error, Result};

/// dnf's exit status with `--setopt=exit_on_lock=True` when another
/// process holds its lock (without the option dnf waits forever).
pub(crate) const EXIT_LOCKED: i32 = 200;

/// Options every changing dnf run gets: never wait for the lock, never ask.
pub(crate) const CHANGE_OPTIONS: [&str; 2] = ["-y", "--setopt=exit_on_lock=True"];

/// How fresh the repository metadata must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metadata {
    /// `-C`: the cache only, never the network (`patches -vv`).
    CacheOnly,
    /// `--refresh`: expire the cache first (`patches -vv --refresh`).
    Refresh,
    /// dnf's own expiry rules (`downgrade`, as a person running dnf gets).
    Default,
}

const FORMAT: &str = "%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{repoid}";

/// One package version a repository offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Available {
    pub name: String,
    pub edition: Edition,
    pub arch: String,
    pub repository: String,
}

/// Every version of the named packages in the enabled repositories
/// (installed ones only when a repository offers them too).
pub(crate) fn repoquery(tools: &Tools, names: &[String], metadata: Metadata) -> Result<Vec<Available>> {
    let mut global = vec!["-q"];
    match metadata {
        Metadata::CacheOnly => global.push("-C"),
        Metadata::Refresh => global.push("--refresh"),
        Metadata::Default => {}
    }
    let mut args = vec!["repoquery".to_string(), "--showduplicates".into(), "--qf".into(), FORMAT.into(), "--".into()];
    args.extend(names.iter().cloned());
    let argv = tools.dnf_argv(&global, &args);
    let output = tools.run(&argv)?;
    if output.code != 0 {
        return Err(failure(&argv, &output));
    }
    Ok(parse_repoquery(&output.stdout))
}

pub(crate) fn parse_repoquery(stdout: &str) -> Vec<Available> {
    stdout
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim().split('|').collect();
            let [name, epoch, version, release, arch, repository] = fields[..] else { return None };
            let epoch = match epoch {
                "" | "0" | "(none)" => 0,
                e => e.parse().ok()?,
            };
            (!name.is_empty() && !version.is_empty()).then(|| Available {
                name: name.to_string(),
                edition: Edition { epoch, version: version.into(), release: release.into() },
                arch: arch.to_string(),
                repository: repository.to_string(),
            })
        })
        .filter(|a| !a.repository.starts_with('@'))
        .collect()
}

/// `dnf -y --setopt=exit_on_lock=True downgrade NAME-EDITION` (an explicit
/// version: a bare `dnf downgrade NAME` from 1-1 would land on the 0-0
/// placeholder); `test` adds `--setopt=tsflags=test`, a transaction that
/// checks everything and changes nothing.
pub(crate) fn downgrade_argv(tools: &Tools, package: &str, edition: &Edition, test: bool) -> Vec<String> {
    let mut global = CHANGE_OPTIONS.to_vec();
    if test {
        global.push("--setopt=tsflags=test");
    }
    tools.dnf_argv(&global, &["downgrade".to_string(), "--".into(), format!("{package}-{edition}")])
}

/// The error for a dnf run that did not succeed: `lock_held` for exit 200,
/// else `dnf_failed` with the exit status and output.
pub(crate) fn failure(argv: &[String], output: &Output) -> Error {
    if output.code == EXIT_LOCKED {
        return output.lock_held(argv, &message_of(output));
    }
    let failed = output.failed(argv);
    Error::package(
        PackageFailure::DnfFailed(failed),
        format!("dnf failed with exit status {}: {}", output.code, message_of(output)),
    )
}

/// dnf's own words: its `Error:` line, else the last line of output that is
/// not the release-version notice dnf prints on roots without a release package.
fn message_of(output: &Output) -> String {
    let text = format!("{}\n{}", output.stdout, output.stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if let Some(at) = lines.iter().position(|l| l.starts_with("Error:")) {
        let rest = lines[at].trim_start_matches("Error:").trim();
        return if rest.is_empty() { lines.get(at + 1).unwrap_or(&"no message").to_string() } else { rest.to_string() };
    }
    lines.iter().rev().find(|l| !l.starts_with("Unable to detect release version")).unwrap_or(&"no message").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_repoquery_lines() {
        let out = "kpatch-patch-5_14_0-427_13_1|0|0|0.el9_4|x86_64|klp-test\n\
                   kpatch-patch-5_14_0-427_13_1|0|1|3.el9_4|x86_64|@System\n\
                   garbage line\n\
                   kpatch-patch-5_14_0-427_13_1|2|1|10.el9_4|x86_64|rhel-9-baseos\n";
        let found = parse_repoquery(out);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].edition.to_string(), "0-0.el9_4");
        assert_eq!(found[1].edition.to_string(), "2:1-10.el9_4");
        assert_eq!(found[1].repository, "rhel-9-baseos");
    }

    #[test]
    fn lock_and_failure_messages() {
        let locked = Output {
            code: 200,
            stdout: String::new(),
            stderr: "Error: Failed to obtain the transaction lock (logged in as: root).\n".into(),
        };
        let err = failure(&["dnf".into()], &locked);
        assert_eq!(err.code(), "lock_held");
        assert!(err.to_string().contains("transaction lock"), "{err}");
        let missing = Output {
            code: 1,
            stdout: "No package x-9-9 available.\n".into(),
            stderr: "Unable to detect release version (use '--releasever' to specify release version)\nError: No packages marked for downgrade.\n".into(),
        };
        let err = failure(&["dnf".into()], &missing);
        assert_eq!(err.code(), "dnf_failed");
        assert!(err.to_string().ends_with("No packages marked for downgrade."), "{err}");
    }
}
