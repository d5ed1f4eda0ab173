//! A private rpm/zypper root from `tests/pkg/mkroot.py` (real rpmbuild,
//! createrepo_c and zypper), klp run against it, and a pseudo-terminal for
//! the confirmation prompt.
#![allow(dead_code)]

use crate::support::{assert_valid, klp, repo_path, Klp};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const KERNEL: &str = "6.4.0-150600.23.22-default";
pub const PACKAGE: &str = "kernel-livepatch-6_4_0-150600_23_22-default";
const TOOLS: &[&str] = &["rpm", "rpmbuild", "createrepo_c", "zypper", "python3"];
const DNF_TOOLS: &[&str] = &["rpm", "rpmbuild", "createrepo_c", "dnf", "python3"];

/// Which of mkroot's scripts builds the root.
enum Family {
    Suse,
    RedHat,
}

/// The edition mkroot gives version `v`: releases like `150600.2.1`.
pub fn edition(version: u32) -> String {
    format!("{version}-150600.{}.1", version + 1)
}

/// `livepatch_<V>_<R_>`, the sysfs name of version `v`.
pub fn patch_name(version: u32) -> String {
    format!("livepatch_{version}_150600_{}_1", version + 1)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Fails the test, naming what is missing, unless the real tools are on
/// PATH: a test that needs them is `#[ignore]`d where they may be absent
/// and run by the suites that install them, never silently skipped.
fn require_tools(tools: &[&str]) {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    assert!(
        missing.is_empty(),
        "{} missing: tests/pkg/run.sh and tests/hardening/run.sh install them",
        missing.join(", ")
    );
}

/// Where test files go: tests/.work (git-ignored), never elsewhere.
fn work_dir() -> PathBuf {
    let dir = std::env::var_os("KLP_WORK").map(PathBuf::from).unwrap_or_else(|| repo_path("tests/.work"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct PkgRoot {
    dir: tempfile::TempDir,
    pub root: PathBuf,
    pub repo: PathBuf,
    pub env: Vec<(String, String)>,
    /// What mkroot printed (kernels, their nevras and CVEs, versions).
    pub info: Value,
}

impl PkgRoot {
    /// A root from mkroot with these extra arguments, under tests/.work.
    pub fn new(args: &[&str]) -> PkgRoot {
        PkgRoot::create(Family::Suse, args, &work_dir())
    }

    /// A Red Hat family root from `tests/pkg/mkroot_dnf.py` (real dnf).
    pub fn new_dnf(args: &[&str]) -> PkgRoot {
        PkgRoot::create(Family::RedHat, args, &work_dir())
    }

    /// The same in the system temp directory, mode 0755, for tests that
    /// run klp as nobody: tests/.work is inside the checkout, which may be
    /// in a directory only root can enter.
    pub fn new_for_everyone(args: &[&str]) -> PkgRoot {
        use std::os::unix::fs::PermissionsExt;
        let pkg = PkgRoot::create(Family::Suse, args, &std::env::temp_dir());
        std::fs::set_permissions(pkg.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
        pkg
    }

    fn create(family: Family, args: &[&str], parent: &Path) -> PkgRoot {
        // The first root of a family builds its shared RPM cache; the others wait for it.
        static SUSE_BUILT: Mutex<bool> = Mutex::new(false);
        static REDHAT_BUILT: Mutex<bool> = Mutex::new(false);
        // Versioned: a change of mkroot's packages must not reuse old RPMs.
        let (tools, script, cache, cache_built) = match family {
            Family::Suse => (TOOLS, "mkroot.py", "pkg-rpms-2", &SUSE_BUILT),
            Family::RedHat => (DNF_TOOLS, "mkroot_dnf.py", "dnf-rpms", &REDHAT_BUILT),
        };
        require_tools(tools);
        let mut built = cache_built.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::Builder::new().prefix("klp-pkg-").tempdir_in(parent).unwrap();
        let cache = work_dir().join(cache);
        let run = || {
            let out = Command::new("python3")
                .arg(repo_path(&format!("tests/pkg/{script}")))
                .arg("--dir")
                .arg(dir.path())
                .arg("--rpm-cache")
                .arg(&cache)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("python3 runs mkroot.py");
            assert!(
                out.status.success(),
                "{script} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let stdout = if *built {
            drop(built);
            run()
        } else {
            let stdout = run();
            *built = true;
            stdout
        };
        let info: Value = serde_json::from_slice(&stdout).expect("mkroot prints JSON");
        let env = info["env"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        PkgRoot {
            root: PathBuf::from(info["root"].as_str().unwrap()),
            repo: PathBuf::from(info["repo"].as_str().unwrap()),
            env,
            dir,
            info,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// klp with this root and its environment.
    pub fn klp(&self, args: &[&str]) -> Klp {
        let mut invocation = klp(args).root_path(&self.root);
        for (key, value) in &self.env {
            invocation = invocation.env(key, value);
        }
        invocation
    }

    /// Any other program (rpm, zypper) with this root's environment.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))).stdin(Stdio::null());
        cmd
    }

    /// The installed edition of the live patch package, asked of rpm
    /// directly (not through klp); None when not installed.
    pub fn installed(&self) -> Option<String> {
        self.installed_of(PACKAGE)
    }

    /// The installed edition of a package, by rpm; None when not installed.
    pub fn installed_of(&self, package: &str) -> Option<String> {
        let out = self
            .command("rpm")
            .arg("--root")
            .arg(&self.root)
            .args(["-q", "--qf", "%{VERSION}-%{RELEASE}\n", package])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        out.status.success().then_some(text)
    }

    /// Names of the sysfs patch directories in the root.
    pub fn loaded(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join("sys/kernel/livepatch"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Lays fixture files (kernel log, uptime, sysfs attributes, tasks) over
    /// the root, as the kernel would show them.
    pub fn overlay(&self, fixture: crate::fixture::Fixture) {
        fixture.write_to(&self.root);
    }

    /// The nevra mkroot gave the kernel package of `release`.
    pub fn kernel_nevra(&self, release: &str) -> String {
        self.info["kernel_nevras"][release].as_str().unwrap().to_string()
    }

    pub fn module_dir(&self) -> PathBuf {
        self.root.join(format!("lib/modules/{KERNEL}/livepatch"))
    }
}

/// What a klp run on a pseudo-terminal left.
pub struct TerminalRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Everything klp wrote to the terminal.
    pub terminal: String,
    pub doc: Value,
}

/// Runs klp in a new session whose controlling terminal is a fresh pty;
/// stdout and stderr stay pipes. When the prompt appears, types `answer`.
pub fn run_on_terminal(invocation: &Klp, answer: &str) -> TerminalRun {
    let (master, slave) = open_pty();
    let slave_fd = slave.as_raw_fd();
    let mut cmd = invocation.command();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(slave_fd, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("klp starts");
    // The slave stays open here until klp exits: with no slave open the
    // reader would see EIO at once and close the master, which hangs up the
    // terminal (SIGHUP) under klp.
    let mut master_file = std::fs::File::from(master);
    let mut writer = master_file.try_clone().unwrap();
    let answer = format!("{answer}\n");
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut answered = false;
        let mut buf = [0u8; 4096];
        loop {
            match master_file.read(&mut buf) {
                Ok(0) | Err(_) => break, // EIO once the last slave user is gone
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
            if !answered && String::from_utf8_lossy(&seen).contains("[y/N]") {
                writer.write_all(answer.as_bytes()).unwrap();
                answered = true;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("klp did not finish on the terminal within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    drop(slave);
    let terminal = reader.join().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {stdout:?}; status {:?}, stderr {stderr:?}, terminal {terminal:?}",
            output.status
        )
    });
    let schema = if doc.get("error").is_some() { "error" } else { "downgrade" };
    assert_valid(schema, &doc);
    TerminalRun {
        code: output.status.code().unwrap(),
        stdout,
        stderr: String::from_utf8(output.stderr).unwrap(),
        terminal,
        doc,
    }
}

fn open_pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two fds we then own; null name/termios/winsize are allowed.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    for fd in [master, slave] {
        // SAFETY: fcntl on fds we own; keeps them out of other children.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both fds are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// A process outside the test harness's session (no controlling terminal).
pub fn without_terminal(invocation: &Klp) -> Command {
    let mut cmd = invocation.command();
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// util-linux flock holding `lock_file` as a concurrent `klp downgrade`
/// would; returns once the lock is really taken. Kill it to release.
pub fn hold_lock(lock_file: &Path) -> std::process::Child {
    let holder = Command::new("flock").arg("--no-fork").arg(lock_file).args(["sleep", "60"]).spawn().unwrap();
    while !Command::new("flock")
        .args(["--nonblock", "--conflict-exit-code", "9"])
        .arg(lock_file)
        .arg("true")
        .status()
        .is_ok_and(|s| s.code() == Some(9))
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    holder
}
