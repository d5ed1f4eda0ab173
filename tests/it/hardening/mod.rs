//! Hardening (issues 7 and 10): the parsers' invariants on the committed fuzz corpus
//! and on generated input, races with the real /proc, unprivileged and
//! hidepid runs, hostile and enormous input, broken output channels,
//! concurrent and failing downgrades.
//!
//! Tests marked `#[ignore]` take seconds, need namespaces or real zypper;
//! the hardening suite (`tests/hardening/run.sh`) runs them with
//! `--include-ignored`.

mod corpus;
mod downgrade;
pub mod invariants;
mod privileges;
mod props;
mod race;
mod robustness;
mod untrusted;

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// What [`mount_privately`] mounts: mount(2)'s source, file system type,
/// flags and data.
struct Mount {
    source: &'static CStr,
    fstype: Option<&'static CStr>,
    flags: libc::c_ulong,
    data: Option<&'static CStr>,
}

/// Makes `command` run in a mount namespace of its own, where every mount is
/// private (nothing reaches the host, nothing stays mounted) and `mount` is
/// mounted at `target`. Needs root.
fn mount_privately(command: &mut Command, mount: Mount, target: &Path) {
    let target = CString::new(target.as_os_str().as_bytes()).unwrap();
    let opt = |s: Option<&'static CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: only async-signal-safe system calls between fork and exec,
    // on strings allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            let check = |rc: libc::c_int| if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) };
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                mount.source.as_ptr(),
                target.as_ptr(),
                opt(mount.fstype),
                mount.flags,
                opt(mount.data).cast(),
            ))
        });
    }
}
