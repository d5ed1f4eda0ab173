#!/usr/bin/env python3
"""Benchmarks of issue 12's commands against their floors (figures only).

    bench_decisions.py cve    --dir DIR [--lines 200000] [--runs 15]
    bench_decisions.py assess --dir DIR [--patches 20] [--runs 15]

cve: a root (mkroot.py, real rpmbuild and zypper) whose running kernel
package has a changelog of --lines lines (SUSE style, a CVE every 50th line);
times `klp cve` for 5 CVEs against the floor, `rpm -q --changelog` of the
same package into /dev/null; and klp's own peak RSS (VmHWM of klp's process,
sampled from /proc every millisecond until it exits: wait4's figure would
include the rpm child klp starts).

assess: bench.py's root with --patches live patch packages, plus two kernel
packages (the running one and a newer one that boots next) and a kernel log;
times `klp assess` against `klp -vv patches` on the same root.

Both alternate the two commands (load from other processes hits both alike)
and print JSON: medians, minimums, ratios.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import mkroot  # noqa: E402

KLP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../target/release/klp")


def timed(argv, env, stdout=subprocess.PIPE, sample_hwm=False):
    """(seconds, stdout bytes, peak RSS KiB of the process itself or None)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    hwm = None
    if sample_hwm:
        status = f"/proc/{proc.pid}/status"
        while proc.poll() is None:
            try:
                with open(status) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm = max(hwm or 0, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.001)
    out, err = proc.communicate()
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1, 2, 3):
        raise SystemExit(f"bench: {argv} exited {proc.returncode}: {err.decode()}")
    return took, out, hwm


def alternate(a_argv, b_argv, env, runs, b_stdout=subprocess.PIPE):
    a_times, b_times, hwms, a_out = [], [], [], None
    timed(a_argv, env)
    timed(b_argv, env, stdout=b_stdout)
    for _ in range(runs):
        took, a_out, hwm = timed(a_argv, env, sample_hwm=True)
        a_times.append(took)
        if hwm:
            hwms.append(hwm)
        took, _, _ = timed(b_argv, env, stdout=b_stdout)
        b_times.append(took)
    return a_times, b_times, hwms, a_out


def figures(name_a, a, name_b, b, hwms):
    ms = lambda s: round(s * 1000, 1)  # noqa: E731
    result = {
        f"{name_a}_median_ms": ms(statistics.median(a)), f"{name_a}_min_ms": ms(min(a)),
        f"{name_b}_median_ms": ms(statistics.median(b)), f"{name_b}_min_ms": ms(min(b)),
        "ratio": round(statistics.median(a) / statistics.median(b), 2),
        "ratio_of_minimums": round(min(a) / min(b), 2),
    }
    if hwms:
        result[f"{name_a}_peak_rss_mib"] = round(max(hwms) / 1024, 1)
    return result


def bench_cve(args):
    directory = os.path.abspath(args.dir)
    out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "mkroot.py"), "--dir", directory,
                          "--versions", "5", "--installed", "5", "--newer-kernels", "1",
                          "--kernel-changelog-lines", str(args.lines)], check=True, capture_output=True, text=True)
    info = json.loads(out.stdout)
    env = dict(os.environ, **info["env"])
    root = info["root"]
    kernel = info["kernel_nevras"][info["kernel"]]
    lines = subprocess.run(["rpm", "--root", root, "-q", "--changelog", kernel], env=env, check=True,
                           capture_output=True).stdout.count(b"\n")
    # Two the running kernel names (one in its padding), one a live patch, one
    # only the next kernel, one nobody.
    cves = ["CVE-2024-50003", "CVE-2023-%d" % (10000 + 49 + 50 * 100), "CVE-2025-21050", "CVE-2025-21020", "CVE-2099-0001"]
    klp_argv = [os.path.abspath(args.klp), "--root", root, "cve", *cves]
    rpm_argv = ["rpm", "--root", root, "-q", "--changelog", kernel]
    with open(os.devnull, "wb") as devnull:
        a, b, hwms, klp_out = alternate(klp_argv, rpm_argv, env, args.runs, b_stdout=devnull)
    report = json.loads(klp_out)
    statuses = [c["status"] for c in report["cves"]]
    if statuses != ["fixed", "fixed", "fixed", "fixed", "not_fixed"]:
        raise SystemExit(f"bench: unexpected answer {statuses}")
    result = {"changelog_lines": lines, "cves": 5, "runs": args.runs, **figures("klp_cve", a, "rpm_changelog", b, hwms),
              "klp_command": " ".join(klp_argv), "floor_command": " ".join(rpm_argv) + " >/dev/null"}
    print(json.dumps(result, indent=2))


def bench_assess(args):
    directory = os.path.abspath(args.dir)
    root, names, env = bench.build(directory, args.patches)
    rpms = os.path.join(directory, "kernel-rpms")
    kernel_rpms = []
    workdir = os.path.join(rpms, ".build")
    os.makedirs(workdir, exist_ok=True)
    for uname, rpm_file, spec_args in mkroot.kernel_packages(bench.KERNEL, 0)[:2]:
        spec = os.path.join(workdir, f"{uname}.spec")
        mkroot.write_spec(spec, **spec_args)
        built = mkroot.rpmbuild(workdir, spec, env, spec_args["build_epoch"])
        kernel_rpms.append(os.path.join(built, rpm_file))
    mkroot.run(["rpm", "--root", root, "-i", "--nodeps", *kernel_rpms], env=env)
    next_uname = mkroot.kernel_releases(bench.KERNEL)[1][0]
    os.symlink(f"vmlinuz-{next_uname}", os.path.join(root, "boot/vmlinuz"))
    os.makedirs(os.path.join(root, "dev"), exist_ok=True)
    with open(os.path.join(root, "dev/kmsg"), "w") as f:
        f.write("6,0,0,-;Linux version\n")
    with open(os.path.join(root, "proc/uptime"), "w") as f:
        f.write("1000.00 1500.00\n")
    klp = os.path.abspath(args.klp)
    assess = [klp, "--root", root, "assess"]
    patches = [klp, "--root", root, "-vv", "patches"]
    a, b, hwms, out = alternate(assess, patches, env, args.runs)
    report = json.loads(out)
    if len(report["facts"]["patches"]) != args.patches or report["facts"]["next_boot_kernel"] is None:
        raise SystemExit(f"bench: assess did not see {args.patches} patches and the next kernel")
    result = {"patches": args.patches, "runs": args.runs, **figures("klp_assess", a, "klp_vv_patches", b, hwms),
              "assess_command": " ".join(assess), "floor_command": " ".join(patches)}
    print(json.dumps(result, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=["cve", "assess"])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--patches", type=int, default=20)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--klp", default=KLP)
    args = parser.parse_args()
    for tool in ("rpm", "rpmbuild", "createrepo_c", "zypper"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} missing (tests/pkg/run.sh installs it)")
    (bench_cve if args.which == "cve" else bench_assess)(args)


if __name__ == "__main__":
    main()
