//! zypper: available versions (from its XML output) and installs.

use super::vercmp::Edition;
use super::{Output, Tools};
use crate::error::PackageFailure;
use crate::{Error, Result};

/// zypper's documented exit codes that klp tells apart.
pub(crate) const EXIT_ZYPP_LOCKED: i32 = 7;
pub(crate) const EXIT_INF_CAP_NOT_FOUND: i32 = 104;

/// One `<solvable>` of `zypper --xmlout search -s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solvable {
    pub(crate) name: String,
    pub(crate) edition: String,
    pub(crate) arch: String,
    pub(crate) repository: String,
    /// `installed`, `other-version`, `not-installed`.
    pub(crate) status: String,
}

impl Solvable {
    /// Its edition, for rpm's comparison.
    /// Its edition, for rpm's comparison.
    pub fn edition(&self) -> Edition {
        Edition::parse(&self.edition)
    }

    /// The entry for the rpm database, not a repository.
    pub fn is_system(&self) -> bool {
        self.repository == "(System Packages)" || self.repository == "@System"
    }
}

/// Every version of the named packages that zypper knows, installed or
/// available; `refresh: false` keeps zypper from refreshing repositories.
pub(crate) fn search(tools: &Tools, names: &[String], refresh: bool) -> Result<Vec<Solvable>> {
    let mut global = vec!["--xmlout"];
    if !refresh {
        global.insert(0, "--no-refresh");
    }
    let mut args = vec!["search".to_string(), "-s".into(), "--match-exact".into(), "--".into()];
    args.extend(names.iter().cloned());
    let argv = tools.zypper_argv(&global, &args);
    let output = tools.run(&argv)?;
    match output.code {
        0 => parse_search(&output.stdout)
            .map_err(|e| failed(&argv, &output, &format!("unreadable XML from zypper: {e}"))),
        EXIT_INF_CAP_NOT_FOUND => Ok(Vec::new()),
        _ => Err(failure(&argv, &output)),
    }
}

/// `zypper refresh`, for `patches -vv --refresh`.
pub(crate) fn refresh(tools: &Tools) -> Result<()> {
    let argv = tools.zypper_argv(&[], &["refresh"]);
    let output = tools.run(&argv)?;
    if output.code != 0 {
        return Err(failure(&argv, &output));
    }
    Ok(())
}

/// The error for a zypper run that did not succeed: `lock_held` for exit 7,
/// else `zypper_failed` with the exit status and output.
pub(crate) fn failure(argv: &[String], output: &Output) -> Error {
    if output.code == EXIT_ZYPP_LOCKED {
        return output.lock_held(argv, &message_of(output));
    }
    failed(argv, output, &message_of(output))
}

fn failed(argv: &[String], output: &Output, message: &str) -> Error {
    Error::package(
        PackageFailure::ZypperFailed(output.failed(argv)),
        format!("zypper failed with exit status {}: {message}", output.code),
    )
}

/// zypper's own words: its XML error messages, else the last output line.
fn message_of(output: &Output) -> String {
    if let Ok(doc) = roxmltree::Document::parse(&output.stdout) {
        let errors: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("message") && n.attribute("type") == Some("error"))
            .filter_map(|n| n.text())
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if !errors.is_empty() {
            return errors.join(" ");
        }
    }
    let text = format!("{}\n{}", output.stdout, output.stderr);
    text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("no message").to_string()
}

/// The package solvables of `zypper --xmlout search -s` output.
/// The package solvables of `zypper --xmlout search -s` output.
pub fn parse_search(xml: &str) -> std::result::Result<Vec<Solvable>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    Ok(doc
        .descendants()
        .filter(|n| n.has_tag_name("solvable"))
        .filter(|n| n.attribute("kind").is_none_or(|k| k == "package"))
        .map(|n| Solvable {
            name: n.attribute("name").unwrap_or_default().to_string(),
            edition: n.attribute("edition").unwrap_or_default().to_string(),
            arch: n.attribute("arch").unwrap_or_default().to_string(),
            repository: n.attribute("repository").unwrap_or_default().to_string(),
            status: n.attribute("status").unwrap_or_default().to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH: &str = r#"<?xml version='1.0'?>
<stream>
<message type="info">Loading repository data...</message>
<search-result version="0.0">
<solvable-list>
<solvable status="installed" name="kernel-livepatch-x" kind="package" edition="5-150600.6.1" arch="x86_64" repository="(System Packages)"/>
<solvable status="other-version" name="kernel-livepatch-x" kind="package" edition="10-150600.11.1" arch="x86_64" repository="klp-test"/>
<solvable status="other-version" name="kernel-livepatch-x" kind="srcpackage" edition="10-150600.11.1" arch="noarch" repository="klp-test"/>
</solvable-list>
</search-result>
</stream>"#;

    #[test]
    fn reads_search_results() {
        let found = parse_search(SEARCH).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[0].is_system());
        assert_eq!(found[1].edition().version, "10");
        assert_eq!(found[1].repository, "klp-test");
    }

    #[test]
    fn lock_message_comes_from_xml() {
        let out = Output {
            code: 7,
            stdout: "<?xml version='1.0'?><stream><message type=\"error\">System management is locked by the application with pid 5 (zypper).\nClose this application before trying again.</message></stream>".into(),
            stderr: String::new(),
        };
        let err = failure(&["zypper".into()], &out);
        assert_eq!(err.code(), "lock_held");
        assert!(err.to_string().contains("pid 5 (zypper)"), "{err}");
    }
}
