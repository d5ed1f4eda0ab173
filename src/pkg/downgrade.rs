//! `downgrade`: replace the running kernel's live patch package with an
//! older version through zypper (SUSE) or dnf (Red Hat), then verify with rpm.
//!
//! Red Hat's `0-0` placeholder package (installed, no module) is never a
//! target by default: going back from `1-1` needs `--to 0-0` spelled out.
//!
//! Every failure re-reads the installed version with rpm and puts it in the
//! error details (`installed`), so a caller can see that nothing changed.

use super::backend::{Family, Selected};
use super::rpm;
use super::vercmp::Edition;
use super::{dnf, kpatch, zypper, Tools};
use crate::error::{
    BackendUnknown, Confirmation, DowngradeState, LockHeld, NoOlderVersion, NoPackage, PackageFailure, VersionNewer,
    VersionNotFound,
};
use crate::report::PackageChange;
use crate::{Error, Result};
use std::io::{BufRead, Write};
use std::path::Path;

pub(crate) struct Request<'a> {
    pub(crate) root: &'a Path,
    pub(crate) kernel: Option<String>,
    /// `--to VERSION` (the package version, e.g. `3`).
    pub(crate) to: Option<&'a str>,
    pub(crate) dry_run: bool,
    /// `-n`: no confirmation.
    pub assume_yes: bool,
    pub backend: &'a Selected,
}

/// There is no terminal to ask on.
#[derive(Debug)]
pub(crate) struct NoTerminal;

/// How to ask "proceed?"; the terminal in real use.
pub(crate) trait Confirm {
    /// Ok(true) yes, Ok(false) no (or end of input).
    fn confirm(&mut self, prompt: &str) -> std::result::Result<bool, NoTerminal>;
}

/// Asks on the controlling terminal (`/dev/tty`), never on stdout, which
/// carries klp's document.
pub(crate) struct Terminal;

impl Confirm for Terminal {
    fn confirm(&mut self, prompt: &str) -> std::result::Result<bool, NoTerminal> {
        let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").map_err(|_| NoTerminal)?;
        let mut writer = &tty;
        writer.write_all(prompt.as_bytes()).map_err(|_| NoTerminal)?;
        writer.flush().map_err(|_| NoTerminal)?;
        let mut answer = String::new();
        std::io::BufReader::new(&tty).read_line(&mut answer).map_err(|_| NoTerminal)?;
        Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }
}

pub(crate) fn run(request: &Request, confirm: &mut dyn Confirm) -> Result<PackageChange> {
    let tools = Tools::new(request.root)?;
    let no_package = |kernel_release: Option<String>, state, message: String| {
        Error::package(PackageFailure::NoPackage(NoPackage { kernel_release, placeholder: None, state }), message)
    };
    let kernel = request.kernel.clone().ok_or_else(|| {
        no_package(
            None,
            None,
            "the running kernel release is unreadable (proc/sys/kernel/osrelease): cannot name its live patch package"
                .into(),
        )
    })?;
    // No rpm database, no package: whatever the family (and run no rpm).
    if !tools.has_rpm_database() {
        return Err(tools.no_database_error());
    }
    let family = request.backend.family.ok_or_else(|| {
        Error::package(
            PackageFailure::BackendUnknown(BackendUnknown { os_release_id: request.backend.os_release_id.clone() }),
            request.backend.unknown_message(),
        )
    })?;
    let package = family.livepatch_package(&kernel).ok_or_else(|| {
        let form = match family {
            Family::Suse => "VERSION-RELEASE-FLAVOR",
            Family::RedHat => "VERSION-RELEASE.DIST.ARCH",
        };
        no_package(
            Some(kernel.clone()),
            None,
            format!("kernel release {kernel} does not name a live patch package ({form})"),
        )
    })?;
    // Held until the installed version is verified: a second downgrade must
    // not plan from the version this one is about to replace.
    let _lock = if request.dry_run { None } else { lock_root(request.root, &tools, &package)? };
    let installed = current(&tools, &package)?.ok_or_else(|| {
        no_package(
            Some(kernel.clone()),
            Some(DowngradeState { package: package.clone(), from: None, installed: None }),
            format!("no live patch package is installed for the running kernel {kernel} ({package})"),
        )
    })?;
    let from = installed.to_string();
    // Never assume: every failure from here says what rpm sees now.
    let state = || DowngradeState {
        package: package.clone(),
        from: Some(from.clone()),
        installed: current(&tools, &package).ok().flatten().map(|e| e.to_string()),
    };

    // `--to` takes a VERSION (`3`) or a whole edition (`3-150600.4.1`); on
    // Red Hat, where every live patch is version 1, VERSION-RELEASE (`1-2`,
    // the dist tag of the installed one implied, or `1-2.el9_4`).
    let wanted = match request.to {
        Some(to) if family == Family::RedHat => {
            let parsed = Edition::parse(to);
            if parsed.release.is_empty() {
                return Err(Error::InvalidArgument {
                    message: format!(
                        "--to {to}: on Red Hat every live patch is version 1; give VERSION-RELEASE (e.g. 1-2)"
                    ),
                });
            }
            Some(kpatch::with_dist_of(&parsed, &installed))
        }
        Some(to) => Some(Edition::parse(to)),
        None => None,
    };
    let manager = family.package_manager();
    // Going "to" the installed version is a success without change; ask no repository.
    if let (Some(to), Some(wanted)) = (request.to, &wanted) {
        match wanted.cmp_rpm(&installed) {
            std::cmp::Ordering::Equal => {
                return Ok(PackageChange {
                    package,
                    to: from.clone(),
                    from: from.clone(),
                    dry_run: request.dry_run,
                    changed: false,
                    command: Vec::new(),
                    zypper_exit_code: None,
                    installed_after: Some(from.clone()),
                    package_manager: manager.into(),
                    package_manager_exit_code: None,
                })
            }
            std::cmp::Ordering::Greater => {
                return Err(Error::package(
                    PackageFailure::VersionNewer(VersionNewer { requested: to.into(), state: state() }),
                    format!(
                    "version {to} is newer than the installed {from}: downgrade only goes back (use {manager} to update)"
                ),
                ))
            }
            std::cmp::Ordering::Less => {}
        }
    }

    // Going "to" the placeholder from it was answered above.
    if family.is_placeholder(&installed) {
        return Err(Error::package(
            PackageFailure::NoPackage(NoPackage {
                kernel_release: Some(kernel.clone()),
                placeholder: Some(true),
                state: Some(state()),
            }),
            format!(
                "only the placeholder {package}-{from} is installed (it ships no live patch): nothing to go back from"
            ),
        ));
    }
    let available = offered(&tools, family, &package).map_err(|err| with_state(err, state))?;
    let older = available.iter().filter(|e| e.cmp_rpm(&installed).is_lt());
    let target = match request.to {
        Some(to) => older
            .filter(|e| wanted.as_ref().is_some_and(|w| e.cmp_rpm(w).is_eq()))
            .max_by(|a, b| a.cmp_rpm(b))
            .cloned()
            .ok_or_else(|| {
                Error::package(
                    PackageFailure::VersionNotFound(VersionNotFound {
                        requested: to.into(),
                        available: editions(&available),
                        state: state(),
                    }),
                    format!("version {to} of {package} is not available in any repository"),
                )
            })?,
        None => older.filter(|e| !family.is_placeholder(e)).max_by(|a, b| a.cmp_rpm(b)).cloned().ok_or_else(|| {
            let placeholder = available.iter().find(|e| family.is_placeholder(e) && e.cmp_rpm(&installed).is_lt());
            let mut message = format!("no version of {package} older than the installed {from} is available");
            if let Some(placeholder) = placeholder {
                message.push_str(&format!(
                    " (only the placeholder {placeholder}, which ships no live patch: pass --to {placeholder} to install it)"
                ));
            }
            Error::package(
                PackageFailure::NoOlderVersion(NoOlderVersion {
                    available: editions(&available),
                    placeholder: placeholder.map(Edition::to_string),
                    state: state(),
                }),
                message,
            )
        })?,
    };
    let to = target.to_string();
    let command = match family {
        Family::Suse => {
            tools.zypper_argv(&[], &["install".to_string(), "--oldpackage".into(), format!("{package}={to}")])
        }
        Family::RedHat => dnf::downgrade_argv(&tools, &package, &target, false),
    };
    let mut outcome = PackageChange {
        package: package.clone(),
        from: from.clone(),
        to: to.clone(),
        dry_run: request.dry_run,
        changed: false,
        command: command.clone(),
        zypper_exit_code: None,
        installed_after: None,
        package_manager: manager.into(),
        package_manager_exit_code: None,
    };
    if request.dry_run {
        if family == Family::RedHat {
            // A test transaction: dnf resolves, downloads and checks, rpm changes nothing.
            let test = dnf::downgrade_argv(&tools, &package, &target, true);
            let output = tools.run(&test).map_err(|err| with_state(err, state))?;
            if output.code != 0 {
                return Err(with_state(dnf::failure(&test, &output), state));
            }
            outcome.package_manager_exit_code = Some(output.code);
        }
        return Ok(outcome);
    }
    if !request.assume_yes {
        let prompt = format!(
            "klp: downgrade {package} from {from} to {to} by running:\n  {}\nProceed? [y/N] ",
            outcome.command_line()
        );
        let unconfirmed = || Confirmation { to: to.clone(), command: command.clone(), state: state() };
        match confirm.confirm(&prompt) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::package(
                    PackageFailure::Declined(unconfirmed()),
                    "downgrade declined: nothing was changed",
                ))
            }
            Err(NoTerminal) => return Err(Error::package(
                PackageFailure::NoTerminal(unconfirmed()),
                "downgrade needs confirmation but there is no terminal to ask on: pass -n to proceed without asking",
            )),
        }
    }

    let output = tools.run(&command).map_err(|err| with_state(err, state))?;
    outcome.package_manager_exit_code = Some(output.code);
    if family == Family::Suse {
        outcome.zypper_exit_code = Some(output.code);
    }
    if output.code != 0 {
        // zypper installs through an `rpm` child, which outlives a killed
        // zypper: let its transaction end before reading what is installed.
        wait_for_rpm_transaction(&tools, std::time::Duration::from_secs(60));
        let failure = match family {
            Family::Suse => zypper::failure(&command, &output),
            Family::RedHat => dnf::failure(&command, &output),
        };
        return Err(with_state(failure, state));
    }
    let after = current(&tools, &package).map_err(|err| with_state(err, state))?.map(|e| e.to_string());
    if after.as_deref() != Some(to.as_str()) {
        let mut details = output.failed(&command);
        details.to = Some(to.clone());
        details.state = Some(state());
        let failure = match family {
            Family::Suse => PackageFailure::ZypperFailed(details),
            Family::RedHat => PackageFailure::DnfFailed(details),
        };
        return Err(Error::package(
            failure,
            format!(
                "{manager} exited 0 but {package} is at {} instead of {to}",
                after.as_deref().unwrap_or("(not installed)")
            ),
        ));
    }
    outcome.changed = after.as_deref() != Some(from.as_str());
    outcome.installed_after = after;
    Ok(outcome)
}

/// The versions the repositories offer (installed ones excluded), with the
/// package manager's usual metadata expiry.
fn offered(tools: &Tools, family: Family, package: &str) -> Result<Vec<Edition>> {
    let names = [package.to_string()];
    Ok(match family {
        Family::Suse => zypper::search(tools, &names, true)?
            .into_iter()
            .filter(|s| s.name == package && !s.is_system())
            .map(|s| s.edition())
            .collect(),
        Family::RedHat => dnf::repoquery(tools, &names, dnf::Metadata::Default)?
            .into_iter()
            .filter(|a| a.name == package)
            .map(|a| a.edition)
            .collect(),
    })
}

/// One downgrade at a time per system: an exclusive, non-blocking `flock`
/// on `<root>/run/klp-downgrade.lock`. zypper's own lock only covers its
/// run, not klp's read-plan-run-verify around it, so without this two
/// concurrent `klp -n downgrade` both planned 10 -> 9 and both reported a
/// change. The file is created inside the root only (`run` resolved in the
/// root, the lock itself never through a symlink, see `sys::fs`). Where it
/// cannot be created (not root, read-only root, a symlink or FIFO in its
/// place) klp goes on without it: zypper still guards the rpm database.
fn lock_root(root: &std::path::Path, tools: &Tools, package: &str) -> Result<Option<std::fs::File>> {
    use rustix::fs::FlockOperation;
    let path = root.join("run/klp-downgrade.lock");
    let opened = crate::sys::fs::Dir::open_root(root)
        .map_err(crate::sys::fs::ReadError::from)
        .and_then(|dir| dir.create_dir("run"))
        .and_then(|run| run.create_file("klp-downgrade.lock"));
    let Ok(file) = opened else { return Ok(None) };
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => return Ok(Some(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => {}
        Err(_) => return Ok(None),
    }
    let installed = current(tools, package).ok().flatten().map(|e| e.to_string());
    Err(Error::package(
        PackageFailure::LockHeld(LockHeld {
            lock_file: Some(path.display().to_string()),
            command: None,
            run: None,
            state: Some(DowngradeState { package: package.to_string(), from: None, installed }),
        }),
        format!("another klp downgrade is running on this system (it holds {})", path.display()),
    ))
}

/// The installed edition (highest, should several be installed).
fn current(tools: &Tools, package: &str) -> Result<Option<Edition>> {
    Ok(rpm::installed_editions(tools, package)?.first().map(|p| Edition::parse(&p.edition())))
}

/// Waits, at most `limit`, until no rpm transaction holds the root's rpm
/// lock (`%{_rpmlock_path}`, an fcntl write lock while rpm installs).
fn wait_for_rpm_transaction(tools: &Tools, limit: std::time::Duration) {
    use std::os::fd::AsRawFd;
    let Ok(output) = tools.run(&tools.rpm_argv(&["--eval", "%{_rpmlock_path}"])) else { return };
    let inside = output.stdout.trim();
    if output.code != 0 || !inside.starts_with('/') {
        return;
    }
    let path = tools.root().unwrap_or(Path::new("/")).join(inside.trim_start_matches('/'));
    let Ok(file) = std::fs::File::open(&path) else { return };
    let deadline = std::time::Instant::now() + limit;
    loop {
        // SAFETY: an all-zero flock is a valid value; F_GETLK only fills it in.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = libc::F_RDLCK as libc::c_short;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: fcntl on an open fd with a valid flock pointer.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lock) };
        if rc != 0 || lock.l_type == libc::F_UNLCK as libc::c_short || std::time::Instant::now() > deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Adds where the downgrade stood (the re-verified installed version) to a
/// package error's details.
fn with_state(mut err: Error, state: impl FnOnce() -> DowngradeState) -> Error {
    if let Error::Package { failure, .. } = &mut err {
        if let Some(slot) = failure.state_mut() {
            *slot = Some(state());
        }
    }
    err
}

fn editions(list: &[Edition]) -> Vec<String> {
    let mut sorted = list.to_vec();
    sorted.sort_by(|a, b| a.cmp_rpm(b));
    sorted.dedup();
    sorted.iter().map(Edition::to_string).collect()
}
