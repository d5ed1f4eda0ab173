#!/usr/bin/env python3
"""Benchmark: `klp -v patches` with N loaded patches from N packages, against
one plain `rpm -q` of the same N packages (the floor: one rpm start-up).

    bench.py --dir DIR [--family suse|redhat] [--patches 20] [--runs 30] [--max-ratio R]

--family redhat builds a Red Hat root instead (RHEL's os-release, the rpm
database in var/lib/rpm as dnf keeps it, kpatch modules under
/usr/lib/kpatch/<kernel>/, RHEL-style changelogs).

Builds N packages (each owns one module file and one sysfs patch directory,
with a 6-entry changelog) with rpmbuild, installs them into DIR/root with
rpm, then times both commands (median of --runs) and prints JSON. With
--max-ratio, exits 1 when klp's median exceeds R times rpm's.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkroot  # noqa: E402

KERNEL = "6.4.0-150600.23.22-default"
RHEL_KERNEL = "5.14.0-427.13.1.el9_4.x86_64"


def patch_files(i, sysfs_name, module):
    """The files of bench package ``i``: its loaded patch in sysfs (one
    function) and its module file."""
    sysfs = f"/sys/kernel/livepatch/{sysfs_name}"
    return {
        sysfs: None,
        f"{sysfs}/enabled": "1\n",
        f"{sysfs}/transition": "0\n",
        f"{sysfs}/vmlinux": None,
        f"{sysfs}/vmlinux/bench_fix_{i},1": None,
        module: "bench\n",
    }


def build_redhat(directory, count):
    import mkroot_dnf
    env_vars = mkroot_dnf.test_env(directory)
    env = dict(os.environ, **env_vars)
    root = mkroot.lay_out(directory, env_vars, "/var/lib/rpm", RHEL_KERNEL, ["rpms", "root/etc"])
    with open(os.path.join(root, "etc/os-release"), "w") as f:
        f.write(mkroot_dnf.OS_RELEASE["rhel"])
    rpms, names = [], []
    for i in range(1, count + 1):
        name = f"kpatch-patch-bench-{i:02d}"
        names.append(name)
        files = patch_files(i, f"kpatch_bench_{i:02d}", f"/usr/lib/kpatch/{RHEL_KERNEL}/kpatch-bench-{i:02d}.ko")
        # Eight entries (1-3's cumulative log twice), with {CVE} and [id] references.
        log = "\n\n".join([mkroot_dnf.changelog("1-3")] * 2)
        spec = os.path.join(directory, "rpms", f"{name}.spec")
        epoch = mkroot.epoch_of(mkroot_dnf.patch_date("1-3"))
        mkroot.write_spec(spec, name, "1", "3.el9_4", "bench package", files, log, epoch)
        built = mkroot.rpmbuild(os.path.join(directory, "rpms"), spec, env, epoch)
        rpms.append(os.path.join(built, f"{name}-1-3.el9_4.{mkroot.ARCH}.rpm"))
    mkroot.run(["rpm", "--root", root, "-i", "--nodeps", *rpms], env=env)
    return root, names, env


def build(directory, count):
    env_vars = mkroot.test_env(directory)
    env = dict(os.environ, **env_vars)
    root = mkroot.lay_out(directory, env_vars, "/usr/lib/sysimage/rpm", KERNEL, ["rpms"])
    mkroot.write_os_release(root)
    rpms, names = [], []
    for i in range(1, count + 1):
        name = f"klp-bench-{i:02d}"
        names.append(name)
        files = patch_files(i, f"livepatch_bench_{i:02d}", f"/lib/modules/{KERNEL}/livepatch/livepatch-bench-{i:02d}.ko")
        changelog = "\n\n".join(mkroot.changelog_entry(v, KERNEL) for v in range(6, 0, -1))
        spec = os.path.join(directory, "rpms", f"{name}.spec")
        epoch = mkroot.epoch_of(mkroot.patch_date(6))
        mkroot.write_spec(spec, name, "1", "1", "bench package", files, changelog, epoch)
        built = mkroot.rpmbuild(os.path.join(directory, "rpms"), spec, env, epoch)
        rpms.append(os.path.join(built, f"{name}-1-1.{mkroot.ARCH}.rpm"))
    mkroot.run(["rpm", "--root", root, "-i", "--nodeps", *rpms], env=env)
    return root, names, env


def once(argv, env):
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench: {argv} exited {proc.returncode}: {proc.stderr.decode()}")
    return took, proc.stdout


def interleaved(a_argv, b_argv, env, runs):
    """Alternates the two commands so that load from other processes on
    the machine hits both alike; returns both lists of seconds."""
    a_times, b_times = [], []
    for _ in range(runs):
        took, a_out = once(a_argv, env)
        a_times.append(took)
        took, _ = once(b_argv, env)
        b_times.append(took)
    return a_times, b_times, a_out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--family", choices=["suse", "redhat"], default="suse")
    parser.add_argument("--patches", type=int, default=20)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--klp", default=os.path.join(os.path.dirname(__file__), "../../target/release/klp"))
    parser.add_argument("--max-ratio", type=float)
    args = parser.parse_args()
    directory = os.path.abspath(args.dir)
    root, names, env = (build_redhat if args.family == "redhat" else build)(directory, args.patches)
    klp_argv = [os.path.abspath(args.klp), "--root", root, "-v", "patches"]
    rpm_argv = ["rpm", "--root", root, "-q", *names]
    # Warm both once (page cache), then measure.
    once(klp_argv, env)
    once(rpm_argv, env)
    klp_times, rpm_times, klp_out = interleaved(klp_argv, rpm_argv, env, args.runs)
    klp_s, rpm_s = statistics.median(klp_times), statistics.median(rpm_times)
    report = json.loads(klp_out)
    owned = sum(1 for p in report["patches"] if p["package"]["owner"] == "package" and p["package"]["cves"])
    if owned != args.patches:
        raise SystemExit(f"bench: klp found {owned} owned patches with CVEs, expected {args.patches}")
    if report["backend"]["name"] != args.family:
        raise SystemExit(f"bench: the {report['backend']['name']} backend answered, expected {args.family}")
    result = {
        "family": args.family,
        "patches": args.patches,
        "runs": args.runs,
        "klp_v_patches_median_ms": round(klp_s * 1000, 2),
        "rpm_q_median_ms": round(rpm_s * 1000, 2),
        "klp_v_patches_min_ms": round(min(klp_times) * 1000, 2),
        "rpm_q_min_ms": round(min(rpm_times) * 1000, 2),
        "ratio": round(klp_s / rpm_s, 2),
        "ratio_of_minimums": round(min(klp_times) / min(rpm_times), 2),
        "klp_command": " ".join(klp_argv),
        "rpm_command": " ".join(rpm_argv),
    }
    print(json.dumps(result, indent=2))
    if args.max_ratio and result["ratio"] > args.max_ratio:
        print(f"bench: ratio {result['ratio']} exceeds {args.max_ratio}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
