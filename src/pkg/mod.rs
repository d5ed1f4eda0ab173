//! The package layer (rpm with zypper on SUSE, with dnf on Red Hat; see
//! [`backend`]): which package shipped a live patch, what it fixes, and
//! rolling it back. External programs are always run with argv lists, never
//! through a shell.
//!
//! What reaches the contract is built here as report types
//! (`report::PackageInfo`, `report::PackageChange`, warnings) and errors as
//! `error::PackageFailure`, each code with its typed details; rpm's records
//! and zypper's solvables stay internal.

pub(crate) mod backend;
pub mod changelog;
pub(crate) mod dnf;
pub mod downgrade;
pub(crate) mod info;
pub(crate) mod kernels;
pub(crate) mod kpatch;
pub mod lifecycle;
pub mod naming;
pub mod rpm;
pub mod vercmp;
pub mod zypper;

use crate::error::{CommandFailed, ExitAndOutput, LockHeld, NoRpmDatabase, PackageFailure, ToolMissing};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where rpm keeps its database: SUSE since 2021, and the classic place.
pub(crate) const RPM_DATABASE_DIRS: [&str; 2] = ["usr/lib/sysimage/rpm", "var/lib/rpm"];

/// Where rpm and zypper act: the host (`/`, no `--root` passed, so real
/// users get exactly the usual commands) or an absolute root directory.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    root: Option<PathBuf>,
}

/// What a finished external program left.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    /// Exit status; -1 when killed by a signal.
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    /// stdout and stderr for error details, cut to a readable size.
    pub(crate) fn combined(&self) -> String {
        const LIMIT: usize = 8192;
        let mut text = format!("{}{}", self.stdout, self.stderr);
        if text.len() > LIMIT {
            let mut cut = LIMIT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("\n[...]");
        }
        text
    }
}

impl Tools {
    /// rpm and zypper need an absolute root; `/` means the host itself.
    pub(crate) fn new(root: &Path) -> Result<Tools> {
        let absolute = std::fs::canonicalize(root).map_err(|e| Error::read(root, e))?;
        Ok(Tools { root: (absolute != Path::new("/")).then_some(absolute) })
    }

    pub(crate) fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Whether the system has an rpm database where rpm-based distributions
    /// keep it. Without one, klp does not run rpm at all: some rpm builds
    /// (Debian's) create an empty database on a mere query.
    pub(crate) fn has_rpm_database(&self) -> bool {
        let root = self.root.as_deref().unwrap_or(Path::new("/"));
        RPM_DATABASE_DIRS
            .iter()
            .any(|dir| std::fs::read_dir(root.join(dir)).is_ok_and(|mut entries| entries.next().is_some()))
    }

    /// The error for a system without an rpm database (`patches -v` makes
    /// it a warning, `downgrade` fails with it).
    pub(crate) fn no_database_error(&self) -> Error {
        let root = self.root.as_deref().unwrap_or(Path::new("/"));
        Error::package(
            PackageFailure::NoRpmDatabase(NoRpmDatabase {
                root: root.display().to_string(),
                looked_in: RPM_DATABASE_DIRS.iter().map(|dir| dir.to_string()).collect(),
            }),
            format!("no rpm database under {} (looked in /{})", root.display(), RPM_DATABASE_DIRS.join(", /")),
        )
    }

    /// `rpm [--root R] ARGS...`
    pub(crate) fn rpm_argv<S: AsRef<str>>(&self, args: &[S]) -> Vec<String> {
        self.argv("rpm", &[], args)
    }

    /// `zypper [--root R] --non-interactive GLOBAL... COMMAND...`: never waits
    /// for an answer that stdin (not a terminal here) cannot give.
    pub(crate) fn zypper_argv<S: AsRef<str>>(&self, global: &[&str], args: &[S]) -> Vec<String> {
        let mut options = vec!["--non-interactive"];
        options.extend_from_slice(global);
        self.argv("zypper", &options, args)
    }

    /// `dnf [--installroot=R] GLOBAL... COMMAND...`. dnf is only ever run
    /// like this: any dnf run without `--installroot` on a root other than
    /// `/` would write a database and logs on the host.
    pub(crate) fn dnf_argv<S: AsRef<str>>(&self, global: &[&str], args: &[S]) -> Vec<String> {
        let mut argv = vec!["dnf".to_string()];
        if let Some(root) = &self.root {
            argv.push(format!("--installroot={}", root.display()));
        }
        argv.extend(global.iter().map(|s| s.to_string()));
        argv.extend(args.iter().map(|s| s.as_ref().to_string()));
        argv
    }

    fn argv<S: AsRef<str>>(&self, program: &str, options: &[&str], args: &[S]) -> Vec<String> {
        let mut argv = vec![program.to_string()];
        if let Some(root) = &self.root {
            argv.push("--root".into());
            argv.push(root.display().to_string());
        }
        argv.extend(options.iter().map(|s| s.to_string()));
        argv.extend(args.iter().map(|s| s.as_ref().to_string()));
        argv
    }

    /// Runs argv (never through a shell) with output captured: stdout is
    /// klp's own document. The C locale keeps messages parseable.
    pub(crate) fn run(&self, argv: &[String]) -> Result<Output> {
        let output = Command::new(&argv[0])
            .args(&argv[1..])
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| spawn_error(argv, e))?;
        Ok(Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

impl Tools {
    /// Runs argv (never through a shell) and hands each stdout line to
    /// `on_line` as it arrives, so output of any size is never held whole
    /// (lines are cut at `line_limit`). stderr is kept, cut to 64 KiB.
    pub(crate) fn stream(&self, argv: &[String], line_limit: usize, mut on_line: impl FnMut(&[u8])) -> Result<Output> {
        use std::io::Read;
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error(argv, e))?;
        let stderr = child.stderr.take().expect("piped");
        // Read stderr aside: a full stderr pipe would stall rpm and us with it.
        let errors = std::thread::spawn(move || {
            let mut kept = Vec::new();
            let _ = stderr.take(64 * 1024).read_to_end(&mut kept);
            kept
        });
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, child.stdout.take().expect("piped"));
        let mut line = Vec::with_capacity(256);
        let mut failure = None;
        loop {
            match crate::sys::read_capped_line(&mut reader, &mut line, line_limit) {
                Ok(0) => break,
                Ok(_) => on_line(&line),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(reader);
        let status = child.wait().map_err(|e| spawn_error(argv, e))?;
        let stderr = String::from_utf8_lossy(&errors.join().unwrap_or_default()).into_owned();
        if let Some(e) = failure {
            let details = CommandFailed { command: argv.to_vec(), run: None, to: None, state: None };
            return Err(Error::package(
                failed_as(&argv[0], details),
                format!("cannot read the output of {}: {e}", argv[0]),
            ));
        }
        Ok(Output { code: status.code().unwrap_or(-1), stdout: String::new(), stderr })
    }
}

/// The `*_failed` failure of a program klp runs.
fn failed_as(program: &str, details: CommandFailed) -> PackageFailure {
    match program {
        "rpm" => PackageFailure::RpmFailed(details),
        "dnf" => PackageFailure::DnfFailed(details),
        _ => PackageFailure::ZypperFailed(details),
    }
}

fn spawn_error(argv: &[String], e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::package(
            PackageFailure::ToolMissing(ToolMissing { program: argv[0].clone(), state: None }),
            format!("{} is not installed (not found in PATH)", argv[0]),
        )
    } else {
        let details = CommandFailed { command: argv.to_vec(), run: None, to: None, state: None };
        Error::package(failed_as(&argv[0], details), format!("cannot run {}: {e}", argv[0]))
    }
}

impl Output {
    /// `lock_held` for a package manager that found its lock taken (zypper
    /// exit 7, dnf exit 200 with `exit_on_lock`), in its own words.
    pub(crate) fn lock_held(&self, argv: &[String], message: &str) -> Error {
        let failed = self.failed(argv);
        Error::package(
            PackageFailure::LockHeld(LockHeld {
                lock_file: None,
                command: Some(failed.command),
                run: failed.run,
                state: None,
            }),
            format!("the package manager is locked by another process: {message}"),
        )
    }

    /// The failure details of a program that ran: argv, exit status, output.
    pub(crate) fn failed(&self, argv: &[String]) -> CommandFailed {
        CommandFailed {
            command: argv.to_vec(),
            run: Some(ExitAndOutput { exit_code: self.code, output: self.combined() }),
            to: None,
            state: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_commands_are_the_usual_ones() {
        // On the host, users get exactly `rpm ...` and `zypper --non-interactive ...`.
        let host = Tools::new(Path::new("/")).unwrap();
        assert_eq!(host.rpm_argv(&["-q", "x"]), ["rpm", "-q", "x"]);
        assert_eq!(host.zypper_argv(&["--xmlout"], &["search"]), ["zypper", "--non-interactive", "--xmlout", "search"]);
        assert_eq!(host.dnf_argv(&["-q"], &["repoquery"]), ["dnf", "-q", "repoquery"]);
    }

    #[test]
    fn a_root_is_passed_canonical() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let tools = Tools::new(&dir.path().join("sub/..")).unwrap();
        let absolute = std::fs::canonicalize(dir.path()).unwrap().display().to_string();
        assert_eq!(tools.rpm_argv(&["-q"]), ["rpm", "--root", absolute.as_str(), "-q"]);
        assert_eq!(
            tools.dnf_argv::<&str>(&["-y"], &[]),
            ["dnf".to_string(), format!("--installroot={absolute}"), "-y".into()]
        );
        assert!(!tools.has_rpm_database());
        std::fs::create_dir_all(dir.path().join("var/lib/rpm/x")).unwrap();
        assert!(tools.has_rpm_database());
    }
}
