//! Batched rpm queries: one rpm process answers for all the patches, so
//! `patches -v` costs one rpm start-up, not one per patch.
//!
//! Records are framed with ASCII control characters that rpm passes through
//! untouched and that never occur in package metadata we read, so changelog
//! text (several lines) needs no escaping.

use super::{Output, Tools};
use crate::error::PackageFailure;
use crate::{Error, Result};

const RECORD_START: char = '\u{1e}';
const RECORD_END: char = '\u{1c}';
const FIELD: char = '\u{1f}';
const ITEM: char = '\u{1d}';

/// An installed package as rpm describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// `%{NAME}`.
    pub name: String,
    pub(crate) epoch: Option<u64>,
    /// `%{VERSION}`.
    pub version: String,
    /// `%{RELEASE}`.
    pub release: String,
    /// `%{ARCH}`.
    pub arch: String,
    /// Seconds since the epoch.
    pub(crate) build_time: Option<i64>,
    /// Paths as seen inside the root (only when asked for).
    pub(crate) files: Vec<String>,
    /// Newest first, as rpm stores it (only when asked for).
    pub(crate) changelog: Vec<ChangelogEntry>,
}

/// One changelog entry of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// `%{CHANGELOGTIME}`, seconds since the epoch.
    pub time: i64,
    /// `%{CHANGELOGTEXT}`, several lines.
    pub text: String,
}

impl Installed {
    /// `VERSION-RELEASE` (with `EPOCH:` when set).
    pub fn edition(&self) -> String {
        match self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// `name-[epoch:]version-release.arch`, the classic `RPM:` line.
    pub fn nevra(&self) -> String {
        format!("{}-{}.{}", self.name, self.edition(), self.arch)
    }
}

/// What to read besides the package's identity.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Want {
    pub(crate) files: bool,
    pub(crate) changelog: bool,
}

fn query_format(want: Want) -> String {
    let mut format = format!(
        "{RECORD_START}%{{NAME}}{FIELD}%{{EPOCH}}{FIELD}%{{VERSION}}{FIELD}%{{RELEASE}}{FIELD}%{{ARCH}}{FIELD}%{{BUILDTIME}}"
    );
    if want.files {
        format.push_str(&format!("[{ITEM}F%{{FILENAMES}}]"));
    }
    if want.changelog {
        format.push_str(&format!("[{ITEM}C%{{CHANGELOGTIME}}{FIELD}%{{CHANGELOGTEXT}}]"));
    }
    format.push(RECORD_END);
    format
}

/// `rpm -qf` for several files at once: the packages owning any of them.
/// Which file a package owns is read from its file list, as rpm does not
/// say which argument a record answers.
pub(crate) fn owners_of(tools: &Tools, paths: &[String], want: Want) -> Result<Vec<Installed>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let format = query_format(Want { files: true, ..want });
    let mut args = vec!["-qf".to_string(), "--qf".to_string(), format];
    args.push("--".into());
    args.extend(paths.iter().cloned());
    run_query(tools, &args)
}

/// `rpm -q` for several package names or `name-version-release` specs;
/// the ones not installed are simply absent from the answer.
pub(crate) fn query(tools: &Tools, specs: &[String], want: Want) -> Result<Vec<Installed>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["-q".to_string(), "--qf".to_string(), query_format(want), "--".into()];
    args.extend(specs.iter().cloned());
    run_query(tools, &args)
}

/// The installed editions of one package, highest first by rpm order.
pub(crate) fn installed_editions(tools: &Tools, name: &str) -> Result<Vec<Installed>> {
    let mut found = query(tools, &[name.to_string()], Want::default())?;
    found.sort_by(|a, b| {
        let edition = |p: &Installed| super::vercmp::Edition::parse(&p.edition());
        edition(b).cmp_rpm(&edition(a))
    });
    Ok(found)
}

/// One line of [`stream_changelogs`]' output.
pub enum ChangelogLine<'a> {
    /// A package's changelog starts: its `name-version-release`.
    Package(&'a str),
    /// One line of its changelog text.
    Text(&'a str),
}

/// Longest changelog line kept whole; longer ones are cut (a CVE id at the
/// very end of an absurdly long line may be missed).
const CHANGELOG_LINE_LIMIT: usize = 64 * 1024;

/// The changelogs of several installed packages (`name-version-release`
/// specs) in one rpm process, streamed line by line: never held whole.
pub(crate) fn stream_changelogs(tools: &Tools, specs: &[String], mut on: impl FnMut(ChangelogLine)) -> Result<()> {
    if specs.is_empty() {
        return Ok(());
    }
    let format = format!("{RECORD_START}%{{NAME}}-%{{VERSION}}-%{{RELEASE}}\\n[%{{CHANGELOGTEXT}}\\n]");
    let mut args = vec!["-q".to_string(), "--qf".to_string(), format, "--".into()];
    args.extend(specs.iter().cloned());
    let argv = tools.rpm_argv(&args);
    // What check_status needs of stdout: whether a record came, and rpm's
    // "is not installed" answers (which rpm prints on stdout).
    let mut answers = String::new();
    let output = tools.stream(&argv, CHANGELOG_LINE_LIMIT, |line| {
        let text = String::from_utf8_lossy(line);
        match text.strip_prefix(RECORD_START) {
            Some(nvr) => {
                if !answers.starts_with(RECORD_START) {
                    answers.insert(0, RECORD_START);
                }
                on(ChangelogLine::Package(nvr));
            }
            None if is_per_argument_miss(&text) && answers.len() < 8192 => {
                answers.push_str(&text);
                answers.push('\n');
            }
            None => on(ChangelogLine::Text(&text)),
        }
    })?;
    check_status(&argv, &Output { stdout: answers, ..output })
}

/// `rpm -qf` for several paths in one process, streamed: one answer per
/// path, in order (the owning package, or None when no package owns it), and
/// with `changelog`, each changelog line handed to `on_line` with the index
/// of the answer it belongs to. The paths must exist (rpm's "No such file"
/// goes to stderr, out of order with the answers).
pub(crate) fn stream_owners(
    tools: &Tools,
    paths: &[String],
    changelog: bool,
    mut on_line: impl FnMut(usize, &str),
) -> Result<Vec<Option<Installed>>> {
    let mut answers: Vec<Option<Installed>> = Vec::new();
    if paths.is_empty() {
        return Ok(answers);
    }
    let mut format = format!(
        "{RECORD_START}%{{NAME}}{FIELD}%{{EPOCH}}{FIELD}%{{VERSION}}{FIELD}%{{RELEASE}}{FIELD}%{{ARCH}}{FIELD}%{{BUILDTIME}}\\n"
    );
    if changelog {
        format.push_str("[%{CHANGELOGTEXT}\\n]");
    }
    let mut args = vec!["-qf".to_string(), "--qf".to_string(), format, "--".into()];
    args.extend(paths.iter().cloned());
    let argv = tools.rpm_argv(&args);
    let mut misses = String::new();
    let mut current: Option<usize> = None;
    let output = tools.stream(&argv, CHANGELOG_LINE_LIMIT, |line| {
        let text = String::from_utf8_lossy(line);
        if let Some(head) = text.strip_prefix(RECORD_START) {
            let record = format!("{RECORD_START}{head}{RECORD_END}");
            answers.push(parse_records(&record).pop());
            current = Some(answers.len() - 1);
        } else if text.ends_with("is not owned by any package") {
            answers.push(None);
            current = None;
            misses.push_str(&text);
            misses.push('\n');
        } else if let Some(index) = current {
            on_line(index, &text);
        }
    })?;
    let stdout = if answers.iter().any(Option::is_some) { format!("{RECORD_START}{misses}") } else { misses };
    check_status(&argv, &Output { stdout, ..output })?;
    Ok(answers)
}

fn check_status(argv: &[String], output: &Output) -> Result<()> {
    // rpm's exit status counts the arguments it found nothing for; those are
    // answers ("not owned", "not installed"). Anything else on stderr is rpm
    // failing (database unreadable, bad root).
    if output.code != 0 && has_real_error(output) {
        return Err(Error::package(
            PackageFailure::RpmFailed(output.failed(argv)),
            format!("rpm failed with exit status {}: {}", output.code, first_error_line(output)),
        ));
    }
    Ok(())
}

fn run_query(tools: &Tools, args: &[String]) -> Result<Vec<Installed>> {
    let argv = tools.rpm_argv(args);
    let output = tools.run(&argv)?;
    let records = parse_records(&output.stdout);
    check_status(&argv, &output)?;
    Ok(records)
}

fn is_per_argument_miss(line: &str) -> bool {
    line.ends_with("is not owned by any package")
        || line.ends_with("No such file or directory")
        || line.ends_with("is not installed")
}

fn has_real_error(output: &Output) -> bool {
    output.stderr.lines().any(|line| !line.trim().is_empty() && !is_per_argument_miss(line.trim()))
        || (output.stderr.trim().is_empty()
            && !output.stdout.contains(RECORD_START)
            && !output.stdout.lines().any(is_per_argument_miss))
}

fn first_error_line(output: &Output) -> String {
    output
        .stderr
        .lines()
        .find(|line| !line.trim().is_empty() && !is_per_argument_miss(line.trim()))
        .unwrap_or("no message")
        .trim()
        .to_string()
}

/// Parses what [`query_format`] produced; text outside records (rpm's
/// "not owned" lines) is skipped.
pub fn parse_records(stdout: &str) -> Vec<Installed> {
    let mut records = Vec::new();
    for chunk in stdout.split(RECORD_START).skip(1) {
        let Some((record, _)) = chunk.split_once(RECORD_END) else { continue };
        let mut items = record.split(ITEM);
        let head: Vec<&str> = items.next().unwrap_or_default().split(FIELD).collect();
        if head.len() != 6 {
            continue;
        }
        let mut package = Installed {
            name: head[0].to_string(),
            epoch: head[1].parse().ok(),
            version: head[2].to_string(),
            release: head[3].to_string(),
            arch: head[4].to_string(),
            build_time: head[5].parse().ok(),
            files: Vec::new(),
            changelog: Vec::new(),
        };
        for item in items {
            if let Some(file) = item.strip_prefix('F') {
                package.files.push(file.to_string());
            } else if let Some(entry) = item.strip_prefix('C') {
                let (time, text) = entry.split_once(FIELD).unwrap_or(("", entry));
                package.changelog.push(ChangelogEntry { time: time.parse().unwrap_or(0), text: text.to_string() });
            }
        }
        records.push(package);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_noise_and_multiline_text() {
        let out = format!(
            "{RECORD_START}kernel-livepatch-x{FIELD}(none){FIELD}10{FIELD}150600.11.1{FIELD}x86_64{FIELD}1700000000\
             {ITEM}F/lib/modules/k/livepatch/livepatch-10-150600_11_1.ko{ITEM}C1700000000{FIELD}- Fix CVE-2025-1 (bsc#1).\n  KLP: CVE-2025-1{RECORD_END}\
             file /lib/x is not owned by any package\n\
             {RECORD_START}other{FIELD}2{FIELD}1{FIELD}1{FIELD}noarch{FIELD}(none){RECORD_END}"
        );
        let records = parse_records(&out);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].nevra(), "kernel-livepatch-x-10-150600.11.1.x86_64");
        assert_eq!(records[0].files, ["/lib/modules/k/livepatch/livepatch-10-150600_11_1.ko"]);
        assert_eq!(records[0].changelog[0].text, "- Fix CVE-2025-1 (bsc#1).\n  KLP: CVE-2025-1");
        assert_eq!(records[1].nevra(), "other-2:1-1.noarch");
        assert_eq!(records[1].build_time, None);
    }

    #[test]
    fn misses_are_answers_not_failures() {
        let miss = Output { code: 1, stdout: "package foo is not installed\n".into(), stderr: String::new() };
        assert!(!has_real_error(&miss));
        let gone =
            Output { code: 1, stdout: String::new(), stderr: "error: file /x: No such file or directory\n".into() };
        assert!(!has_real_error(&gone));
        let broken =
            Output { code: 1, stdout: String::new(), stderr: "error: cannot open Packages database in /x\n".into() };
        assert!(has_real_error(&broken));
    }
}
