//! Benchmark: `klp blocking -vv` over 100,000 threads (1% blocking) against
//! a floor program that only opens and reads the same `patch_state` files.
//! Targets: within 1.15x of the floor's time, under 16 MiB peak RSS (issue 10).
//!
//!     cargo bench --bench blocking            (builds both binaries in release)
//!     KLP_BENCH_THREADS=20000 cargo bench --bench blocking
//!
//! The tree lives on tmpfs (/dev/shm) when there is one, so that the figures
//! measure the programs rather than the disk. Exits 1 if a target is missed.

// A test or example binary exports nothing: `pub` marks what its modules share.
#![allow(unreachable_pub)]

#[path = "../tests/it/fixture.rs"]
mod fixture;

use fixture::{Fixture, Object, Patch, Task};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(MEASURE) {
        return measure_child(&args[2..]);
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("blocking benchmark: run it with `cargo bench --bench blocking`");
        return;
    }
    let threads: i32 = std::env::var("KLP_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release");
    build_release();

    let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let dir = tempfile::Builder::new().prefix("klp-bench-").tempdir_in(base).expect("temp dir");
    let started = Instant::now();
    let blockers = write_tree(dir.path(), threads);
    println!(
        "tree: {threads} threads, {blockers} blocking, written in {:.1}s under {}",
        started.elapsed().as_secs_f64(),
        dir.path().display()
    );

    let root = dir.path().to_str().unwrap();
    let klp = release.join("klp");
    let floor = release.join("examples/floor_patch_state");
    let klp_args = ["--root", root, "-vv", "blocking"];
    let (klp_out, _) = run_once(&klp, &klp_args);
    let doc: serde_json::Value = serde_json::from_slice(&klp_out).expect("klp prints JSON");
    assert_eq!(doc["threads"].as_array().map(Vec::len), Some(blockers as usize), "klp finds every blocker");
    assert_eq!(doc["threads_scanned"].as_i64(), Some(i64::from(threads)));

    let mut klp_times = Vec::new();
    let mut floor_times = Vec::new();
    let mut klp_rss = 0;
    let mut floor_rss = 0;
    for _ in 0..RUNS {
        let (t, rss) = timed(&floor, &[root]);
        floor_times.push(t);
        floor_rss = floor_rss.max(rss);
        let (t, rss) = timed(&klp, &klp_args);
        klp_times.push(t);
        klp_rss = klp_rss.max(rss);
    }
    let floor_median = median(&mut floor_times);
    let klp_median = median(&mut klp_times);
    let ratio = klp_median.as_secs_f64() / floor_median.as_secs_f64();
    println!("runs: {RUNS} each, alternating; median wall time");
    println!("floor (read patch_state only): {:>8.1} ms  peak RSS {:>6} KiB", ms(floor_median), floor_rss);
    println!("klp -vv blocking:              {:>8.1} ms  peak RSS {:>6} KiB", ms(klp_median), klp_rss);
    println!(
        "ratio klp/floor: {ratio:.2} (target <= 1.15); klp peak RSS {:.1} MiB (target < 16)",
        klp_rss as f64 / 1024.0
    );
    let ok = ratio <= 1.15 && klp_rss < 16 * 1024;
    println!("{}", if ok { "targets met" } else { "TARGET MISSED" });
    if !ok {
        std::process::exit(1);
    }
}

fn build_release() {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "klp", "--example", "floor_patch_state"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "release build failed");
}

/// One kernel thread and 1% of user threads block, sleeping in the patched
/// function; the others have switched already.
fn write_tree(root: &Path, threads: i32) -> i32 {
    let stack = ["[<0>] msleep+0x2a/0x40", "[<0>] busy_sleep+0x15/0x30 [klp_busy]", "[<0>] kthread+0xe8/0x120"];
    let mut fixture = Fixture::new().patch(
        Patch::new("livepatch_2_1")
            .transition(true)
            .object(Object::new("klp_busy").patched(true).function("busy_sleep", 1)),
    );
    let mut blockers = 0;
    for i in 0..threads {
        let pid = 1000 + (i / 8) * 8;
        let tid = 1000 + i;
        let blocking = i % 100 == 0;
        blockers += i32::from(blocking);
        let task =
            Task::user(pid, tid, "worker", &["/usr/bin/worker", "--serve"]).patch_state(if blocking { 0 } else { 1 });
        fixture = fixture.task(if blocking { task.state('D').stack(&stack) } else { task });
        // Write in slices: the builder holds tasks in memory until written.
        if i % 5000 == 4999 {
            fixture.write_to(root);
            fixture = Fixture::new().unsupported();
        }
    }
    fixture.write_to(root);
    blockers
}

fn run_once(program: &Path, args: &[&str]) -> (Vec<u8>, i32) {
    let out = Command::new(program).args(args).stderr(Stdio::inherit()).output().expect("run");
    (out.stdout, out.status.code().unwrap_or(-1))
}

const MEASURE: &str = "--measure-child";

/// Wall time and peak RSS (KiB) of one run. The child's `ru_maxrss` keeps
/// the high-water mark of the memory it was forked from, so the program is
/// started from a small re-executed copy of this bench (`--measure-child`),
/// not from this process, whose fixture work would dominate the figure.
fn timed(program: &Path, args: &[&str]) -> (Duration, i64) {
    let out = Command::new(std::env::current_exe().expect("own path"))
        .arg(MEASURE)
        .arg(program)
        .args(args)
        .output()
        .expect("spawn measurer");
    assert!(out.status.success(), "{} failed: {}", program.display(), String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let (nanos, rss) = text.trim().split_once(' ').expect("two numbers");
    (Duration::from_nanos(nanos.parse().unwrap()), rss.parse().unwrap())
}

/// Runs in the fresh, small measurer process: fork, exec the program with
/// stdout to /dev/null, wait4, print "<nanoseconds> <maxrss KiB>".
fn measure_child(argv: &[String]) {
    use std::ffi::CString;
    let cargs: Vec<CString> = argv.iter().map(|a| CString::new(a.as_str()).unwrap()).collect();
    let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let devnull = CString::new("/dev/null").unwrap();
    let start = Instant::now();
    // SAFETY: single-threaded process; the child only calls async-signal-safe
    // functions (open, dup2, execv, _exit) before exec.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            let fd = libc::open(devnull.as_ptr(), libc::O_WRONLY);
            libc::dup2(fd, 1);
            libc::execv(ptrs[0], ptrs.as_ptr());
            libc::_exit(127);
        }
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        eprintln!("measured program failed (status {status})");
        std::process::exit(1);
    }
    println!("{} {}", elapsed.as_nanos(), usage.ru_maxrss);
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
