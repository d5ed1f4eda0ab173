//! A fluent builder of fake system roots: `sys/kernel/livepatch/...` and
//! `proc/<pid>/task/<tid>/...`, laid out and formatted as the kernel does,
//! for `klp --root`. Shared with `examples/fixture.rs`, which writes the
//! named scenarios for the Python suites (Ansible, Salt).
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Default, Clone)]
pub struct Fixture {
    livepatch_supported: bool,
    kernel_release: Option<String>,
    taint_mask: Option<u64>,
    patches: Vec<Patch>,
    tasks: Vec<Task>,
    mountinfo: Option<String>,
    files: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct Patch {
    name: String,
    enabled: String,
    transition: Option<String>,
    replace: Option<String>,
    stack_order: Option<String>,
    objects: Vec<Object>,
}

#[derive(Clone)]
pub struct Object {
    name: String,
    patched: Option<String>,
    functions: Vec<String>,
}

#[derive(Clone)]
pub struct Task {
    pid: i32,
    tid: i32,
    comm: String,
    state: char,
    kernel_thread: bool,
    patch_state: Option<String>,
    cmdline: Vec<u8>,
    stack: Option<String>,
    root_only: bool,
    vanished: bool,
}

/// Bit 15 of /proc/sys/kernel/tainted.
pub const TAINT_K: u64 = 1 << 15;

impl Fixture {
    /// A system with live patching support and nothing loaded.
    pub fn new() -> Self {
        Fixture {
            livepatch_supported: true,
            kernel_release: Some("6.4.0-150600.23.22-default".into()),
            taint_mask: Some(0),
            ..Default::default()
        }
    }

    /// A kernel without CONFIG_LIVEPATCH: no /sys/kernel/livepatch at all.
    pub fn unsupported(mut self) -> Self {
        self.livepatch_supported = false;
        self
    }

    pub fn kernel(mut self, release: &str) -> Self {
        self.kernel_release = Some(release.into());
        self
    }

    pub fn taint(mut self, mask: Option<u64>) -> Self {
        self.taint_mask = mask;
        self
    }

    pub fn patch(mut self, patch: Patch) -> Self {
        self.patches.push(patch);
        self
    }

    pub fn task(mut self, task: Task) -> Self {
        self.tasks.push(task);
        self
    }

    /// `count` ordinary user threads already in `patch_state` `state`,
    /// spread over processes of 10 threads, pids from `first_pid`.
    pub fn idle_tasks(mut self, first_pid: i32, count: i32, state: i8) -> Self {
        for i in 0..count {
            let pid = first_pid + (i / 10) * 10;
            self.tasks.push(Task::user(pid, first_pid + i, "worker", &["/usr/bin/worker"]).patch_state(state));
        }
        self
    }

    /// `/proc/self/mountinfo` with the host's /proc and the root's own proc
    /// (`ROOT/proc`, as klp looks for it) mounted with these super options.
    pub fn proc_mount_options(mut self, options: &str) -> Self {
        self.mountinfo = Some(options.to_string());
        self
    }

    /// Any other file, at `rel` under the root (module files, lifecycle data).
    pub fn file(mut self, rel: &str, content: &str) -> Self {
        self.files.push((rel.into(), content.into()));
        self
    }

    /// Writes the tree into `root`, which must exist.
    pub fn write_to(&self, root: &Path) {
        for (rel, content) in &self.files {
            write(&root.join(rel), content.clone());
        }
        let proc_dir = root.join("proc");
        mkdir(&proc_dir.join("sys/kernel"));
        if let Some(release) = &self.kernel_release {
            write(&proc_dir.join("sys/kernel/osrelease"), format!("{release}\n"));
        }
        if let Some(mask) = self.taint_mask {
            write(&proc_dir.join("sys/kernel/tainted"), format!("{mask}\n"));
        }
        if let Some(options) = &self.mountinfo {
            let point = fs::canonicalize(root).expect("canonical root").join("proc");
            let mountinfo = format!(
                "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n\
                 90 1 0:50 / {} rw,nosuid,nodev,noexec,relatime shared:40 - proc proc {options}\n",
                point.display()
            );
            write(&proc_dir.join("self/mountinfo"), mountinfo);
        }
        // sysfs always has kernel/; only CONFIG_LIVEPATCH adds livepatch/.
        mkdir(&root.join("sys/kernel"));
        if self.livepatch_supported {
            let lp = root.join("sys/kernel/livepatch");
            mkdir(&lp);
            for patch in &self.patches {
                patch.write(&lp.join(&patch.name));
            }
        }
        for task in &self.tasks {
            task.write(&proc_dir);
        }
    }

    /// Writes the tree into a new temporary directory, readable by every user
    /// (tests run klp as an unprivileged user against it).
    pub fn build(&self) -> Tree {
        let dir = tempfile::Builder::new().prefix("klp-fixture-").tempdir().expect("temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        self.write_to(dir.path());
        Tree { dir }
    }
}

pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

impl Patch {
    pub fn new(name: &str) -> Self {
        Patch {
            name: name.into(),
            enabled: "1\n".into(),
            transition: Some("0\n".into()),
            replace: None,
            stack_order: None,
            objects: Vec::new(),
        }
    }
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = format!("{}\n", u8::from(on));
        self
    }
    pub fn transition(mut self, on: bool) -> Self {
        self.transition = Some(format!("{}\n", u8::from(on)));
        self
    }
    /// A kernel before 4.12, without the `transition` file.
    pub fn without_transition_file(mut self) -> Self {
        self.transition = None;
        self
    }
    pub fn replace(mut self, on: bool) -> Self {
        self.replace = Some(format!("{}\n", u8::from(on)));
        self
    }
    pub fn stack_order(mut self, order: u32) -> Self {
        self.stack_order = Some(format!("{order}\n"));
        self
    }
    /// Raw content of `enabled`, for malformed-value tests.
    pub fn raw_enabled(mut self, content: &str) -> Self {
        self.enabled = content.into();
        self
    }
    pub fn object(mut self, object: Object) -> Self {
        self.objects.push(object);
        self
    }

    fn write(&self, dir: &Path) {
        mkdir(dir);
        write(&dir.join("enabled"), self.enabled.clone());
        let optional =
            [("transition", &self.transition), ("replace", &self.replace), ("stack_order", &self.stack_order)];
        for (file, content) in optional {
            if let Some(content) = content {
                write(&dir.join(file), content.clone());
            }
        }
        for object in &self.objects {
            let object_dir = dir.join(&object.name);
            mkdir(&object_dir);
            if let Some(patched) = &object.patched {
                write(&object_dir.join("patched"), patched.clone());
            }
            for function in &object.functions {
                mkdir(&object_dir.join(function));
            }
        }
    }
}

impl Object {
    pub fn new(name: &str) -> Self {
        Object { name: name.into(), patched: None, functions: Vec::new() }
    }
    pub fn patched(mut self, on: bool) -> Self {
        self.patched = Some(format!("{}\n", u8::from(on)));
        self
    }
    pub fn function(mut self, name: &str, sympos: u32) -> Self {
        self.functions.push(format!("{name},{sympos}"));
        self
    }
}

impl Task {
    pub fn user(pid: i32, tid: i32, comm: &str, argv: &[&str]) -> Self {
        let mut cmdline = Vec::new();
        for arg in argv {
            cmdline.extend_from_slice(arg.as_bytes());
            cmdline.push(0);
        }
        Task {
            pid,
            tid,
            comm: comm.into(),
            state: 'S',
            kernel_thread: false,
            patch_state: Some("-1\n".into()),
            cmdline,
            stack: Some(String::new()),
            root_only: false,
            vanished: false,
        }
    }
    pub fn kernel(pid: i32, comm: &str) -> Self {
        Task { kernel_thread: true, cmdline: Vec::new(), ..Task::user(pid, pid, comm, &[]) }
    }
    pub fn patch_state(mut self, state: i8) -> Self {
        self.patch_state = Some(format!("{state}\n"));
        self
    }
    pub fn raw_patch_state(mut self, content: &str) -> Self {
        self.patch_state = Some(content.into());
        self
    }
    pub fn state(mut self, state: char) -> Self {
        self.state = state;
        self
    }
    pub fn raw_cmdline(mut self, bytes: &[u8]) -> Self {
        self.cmdline = bytes.to_vec();
        self
    }
    pub fn stack(mut self, frames: &[&str]) -> Self {
        self.stack = Some(frames.iter().map(|f| format!("{f}\n")).collect());
        self
    }
    /// `patch_state`, `stack` readable by root only (mode 0400), as in the kernel.
    pub fn root_only(mut self) -> Self {
        self.root_only = true;
        self
    }
    /// Listed under `task/` but gone by the time its files are read.
    pub fn vanished(mut self) -> Self {
        self.vanished = true;
        self
    }

    fn write(&self, proc_dir: &Path) {
        let process_dir = proc_dir.join(self.pid.to_string());
        let dir = process_dir.join("task").join(self.tid.to_string());
        if self.vanished {
            // Still listed, but nothing behind the name: what a scan sees of
            // a thread that exits between readdir and open.
            mkdir(&process_dir.join("task"));
            std::os::unix::fs::symlink("exited", &dir).expect("symlink");
            return;
        }
        mkdir(&dir);
        let stat = stat_line(self.pid, self.tid, &self.comm, self.state, self.kernel_thread);
        write(&dir.join("stat"), stat.clone());
        write(&dir.join("comm"), format!("{}\n", self.comm));
        fs::write(dir.join("cmdline"), &self.cmdline).expect("write cmdline");
        let private = [("patch_state", &self.patch_state), ("stack", &self.stack)];
        for (file, content) in private {
            if let Some(content) = content {
                write(&dir.join(file), content.clone());
                if self.root_only {
                    fs::set_permissions(dir.join(file), fs::Permissions::from_mode(0o400)).expect("chmod");
                }
            }
        }
        if self.pid == self.tid {
            write(&process_dir.join("stat"), stat);
            fs::write(process_dir.join("cmdline"), &self.cmdline).expect("write cmdline");
        }
    }
}

/// A `stat` line with all 52 fields; flags carry PF_KTHREAD for kernel threads.
fn stat_line(pid: i32, tid: i32, comm: &str, state: char, kernel_thread: bool) -> String {
    const PF_KTHREAD: u32 = 0x0020_0000;
    let flags = if kernel_thread { PF_KTHREAD | 0x40 } else { 0x0040_0000 };
    // Fields 4 (ppid) to 52 (exit_code); 9 is flags, 20 num_threads.
    let rest: Vec<String> = (4..=52)
        .map(|field| match field {
            4 => "1".to_string(),
            5 | 6 => pid.to_string(),
            8 => "-1".to_string(),
            9 => flags.to_string(),
            18 => "20".to_string(),
            20 => "1".to_string(),
            25 => "18446744073709551615".to_string(),
            38 => "17".to_string(),
            _ => "0".to_string(),
        })
        .collect();
    format!("{tid} ({comm}) {state} {}\n", rest.join(" "))
}

fn mkdir(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
}

fn write(path: &Path, content: String) {
    if let Some(parent) = path.parent() {
        mkdir(parent);
    }
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// The named scenarios other suites use (see `examples/fixture.rs`).
pub fn scenario(name: &str) -> Option<Fixture> {
    let busy = || Object::new("klp_busy").patched(true).function("busy_sleep", 1);
    let vmlinux = || Object::new("vmlinux").patched(true).function("cmdline_proc_show", 1);
    Some(match name {
        "unsupported" => Fixture::new().unsupported(),
        "none" => Fixture::new(),
        "ready" => Fixture::new()
            .taint(Some(TAINT_K))
            .patch(Patch::new("livepatch_5_150600_2_1").replace(true).stack_order(1).object(vmlinux()))
            .idle_tasks(1000, 20, -1),
        "stuck" => stuck_fixture(true),
        "reversed" => stuck_fixture(false),
        "several" => Fixture::new()
            .taint(Some(TAINT_K))
            .patch(Patch::new("livepatch_10_150600_2_1").replace(false).stack_order(3).object(vmlinux()))
            .patch(Patch::new("livepatch_9_150600_1_1").replace(false).stack_order(2).object(busy()))
            .patch(Patch::new("livepatch_1_150600_1_1").enabled(false).replace(false).stack_order(1).object(vmlinux())),
        "demo" => demo_fixture(),
        _ => return None,
    })
}

pub const SCENARIOS: &[&str] = &["unsupported", "none", "ready", "stuck", "reversed", "several", "demo"];

/// The demo system committed under `examples/demo` (README): the stuck
/// transition on top of an older patch, with the patches' module files and
/// lifecycle data, which need no rpm to lie there (`patches -v` says that
/// the owner is unknown without an rpm database, and does not guess).
fn demo_fixture() -> Fixture {
    let modules = "lib/modules/6.4.0-150600.23.22-default/livepatch";
    stuck_fixture(true)
        .patch(
            Patch::new("livepatch_1_150600_1_1")
                .object(Object::new("vmlinux").patched(true).function("cmdline_proc_show", 1)),
        )
        .file(&format!("{modules}/livepatch-1-150600_1_1.ko"), "")
        .file(&format!("{modules}/livepatch-2-150600_2_1.ko"), "")
        .file(
            "usr/share/lifecycle/data/kernel-livepatch.lifecycle",
            "# name, version, end of support\nkernel-livepatch-*-default, *, 2026-06-30\n",
        )
}

/// A transition held up by one kernel thread sleeping in a patched function
/// and one user thread in `D`; `patching` false: a reversed transition.
fn stuck_fixture(patching: bool) -> Fixture {
    let (done, stuck) = if patching { (1, 0) } else { (0, 1) };
    Fixture::new()
        .taint(Some(TAINT_K))
        .patch(
            Patch::new("livepatch_2_150600_2_1")
                .enabled(patching)
                .transition(true)
                .object(Object::new("vmlinux").patched(true).function("cmdline_proc_show", 1))
                .object(Object::new("klp_busy").patched(true).function("busy_sleep", 1)),
        )
        .idle_tasks(1000, 30, done)
        .task(Task::kernel(77, "klp_busy_thread").state('D').patch_state(stuck).stack(&[
            "[<0>] msleep+0x2a/0x40",
            "[<0>] busy_sleep+0x15/0x30 [klp_busy]",
            "[<0>] busy_thread_fn+0x20/0x40 [klp_busy]",
            "[<0>] kthread+0xe8/0x120",
            "[<0>] ret_from_fork+0x34/0x50",
        ]))
        .task(Task::user(4242, 4243, "cat", &["cat", "/proc/cmdline"]).state('D').patch_state(stuck).stack(&[
            "[<0>] cmdline_proc_show+0x1a/0x40",
            "[<0>] seq_read_iter+0x11d/0x4a0",
            "[<0>] vfs_read+0x1ae/0x2b0",
            "[<0>] ksys_read+0x6b/0xf0",
            "[<0>] do_syscall_64+0x5b/0x110",
        ]))
        .task(Task::user(4242, 4242, "cat", &["cat", "/proc/cmdline"]).patch_state(done))
}
