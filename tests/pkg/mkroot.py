#!/usr/bin/env python3
"""A private rpm/zypper system root for klp's package-layer tests.

    mkroot.py --dir DIR [--versions 12] [--installed 5] [--empty-repo]
              [--kernel 6.4.0-150600.23.22-default] [--no-package]
              [--newer-kernels 0..2] [--boot-kernel RELEASE] [--support-ends DAYS]
              [--kernel-changelog-lines N] [--rpm-cache DIR] [--install-deps]

Builds with the real tools (rpmbuild, createrepo_c, zypper), under DIR:
  repo/   kernel-livepatch-<kver>-<flavor> versions 1..N (SUSE-style releases,
          cumulative changelogs with CVE/bsc trailers), made by createrepo_c
  root/   a system root: SLES's os-release, rpm database in usr/lib/sysimage/rpm, the repo added
          with zypper, the kernel package and version --installed of the live
          patch installed with zypper, proc/sys/kernel/osrelease, sys/kernel/livepatch
  home/   HOME for rpm (its .rpmmacros puts the database where SUSE has it)
Each live patch RPM ships its own sysfs directory and module file (no
scriptlets: the root has no shell), so installing another version changes the
"loaded" patch as SUSE's scriptlets would.

Kernels: kernel-<flavor> packages for the running kernel and two newer ones
(releases 23.22, 23.25, 23.28 of the running 150600.23.22 line; rpm release
with SUSE's extra `.1`), multiversion as on SUSE (`Provides:
multiversion(kernel)` and zypp.conf's `multiversion`), so zypper installs them
side by side. Each owns /boot/vmlinuz-<release> and /lib/modules/<release>/
and has a cumulative SUSE-style changelog (`- subsystem: fix ... (CVE-... bsc#...).`):
  the running kernel       CVE-2024-50001 .. CVE-2024-50010
  + the next (23.25)       CVE-2025-21020 CVE-2025-21050 (both fixed by live patches 2 and 5)
  + the one after (23.28)  CVE-2025-30001 CVE-2025-30002 and CVE-2025-21110 (live patch 11)
--newer-kernels N installs the first N newer ones; /boot/vmlinuz points to
the highest installed (as SUSE's scriptlets keep it) or to --boot-kernel.
--support-ends DAYS writes lifecycle data ending support of every version of
the live patch package DAYS days from today (negative: in the past).

Prints {"root", "repo", "env", ...} as JSON: merge `env` into the environment
of every rpm/zypper/klp process run against this root. Nothing is written
outside DIR (rpm's database, zypper's log and lock all live under DIR).
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys

ARCH = "x86_64"
# Fixed build times keep the expiration estimate (kernel build + 1 year) testable.
KERNEL_BUILD_DATE = datetime.date(2025, 1, 15)
FIRST_PATCH_DATE = datetime.date(2025, 2, 3)
PATCH_INTERVAL_DAYS = 28
RELEASE_PREFIX = "150600"
# Kernels of the running line, oldest first: (release suffix, CVEs its own entry adds).
KERNEL_LINE = [
    ("23.22", [f"CVE-2024-{50000 + n}" for n in range(1, 11)]),
    ("23.25", ["CVE-2025-21020", "CVE-2025-21050"]),
    ("23.28", ["CVE-2025-30001", "CVE-2025-30002", "CVE-2025-21110"]),
]


def run(argv, env=None, **kwargs):
    """Runs argv (a list, never a shell string); failure shows its output."""
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if proc.returncode != 0:
        raise SystemExit(f"mkroot: {' '.join(argv)} failed with exit {proc.returncode}:\n{proc.stdout}")
    return proc.stdout


def split_kernel(kernel):
    """6.4.0-150600.23.22-default -> ('6.4.0', '150600.23.22', 'default')."""
    base, _, flavor = kernel.rpartition("-")
    version, _, release = base.partition("-")
    if not (version and release and flavor):
        raise SystemExit(f"mkroot: kernel release {kernel!r} is not VERSION-RELEASE-FLAVOR")
    return version, release, flavor


def livepatch_package(kernel):
    """The SUSE package name rule: kernel-livepatch-6_4_0-150600_23_22-default."""
    version, release, flavor = split_kernel(kernel)
    return f"kernel-livepatch-{version.replace('.', '_')}-{release.replace('.', '_')}-{flavor}"


def patch_release(version):
    return f"{RELEASE_PREFIX}.{version + 1}.1"


def sysfs_name(version, release):
    return f"livepatch_{version}_{release.replace('.', '_')}"


def module_name(version, release):
    return f"livepatch-{version}-{release.replace('.', '_')}.ko"


def patch_date(version):
    return FIRST_PATCH_DATE + datetime.timedelta(days=PATCH_INTERVAL_DAYS * (version - 1))


def cves_of(version):
    """Version 1 is the initial patch (no fix); every third one fixes bugs only;
    the others fix one or two CVEs. Deterministic, so tests can predict it."""
    if version == 1 or version % 3 == 0:
        return []
    first = f"CVE-2025-{21000 + version * 10}"
    return [first, f"CVE-2025-{21001 + version * 10}"] if version % 3 == 2 else [first]


def bugs_of(version):
    if version == 1:
        return []
    return [f"bsc#{1240000 + version * 10}"] + ([f"bsc#{1240001 + version * 10}"] if version % 3 == 2 else [])


def changelog_entry(version, kernel):
    """One %changelog entry in SUSE's style (KLP:/References: trailers)."""
    day = patch_date(version)
    head = f"* {day.strftime('%a %b %d %Y')} Live Patching Team <klp-test@example.com> - {version}-{patch_release(version)}"
    cves, bugs = cves_of(version), bugs_of(version)
    if version == 1:
        lines = [f"- Initial live patch for kernel {kernel}."]
    elif cves:
        lines = [
            f"- Fix {' and '.join(cves)} in net/sched ({' '.join(bugs)}).",
            f"  KLP: {' '.join(cves)}",
            f"  References: {' '.join(bugs)} {' '.join(cves)}",
        ]
    else:
        lines = [f"- Fix a crash in ext4 writeback ({' '.join(bugs)}).", f"  References: {' '.join(bugs)}"]
    return "\n".join([head] + lines)


def write_spec(path, name, version, release, summary, files, changelog, build_epoch, provides=()):
    """A spec with no scriptlets; files = {path: content or None for a directory}."""
    install = []
    for file_path, content in files.items():
        target = "%{buildroot}" + file_path
        if content is None:
            install.append(f"mkdir -p '{target}'")
        else:
            install.append(f"mkdir -p \"$(dirname '{target}')\"")
            install.append(f"printf '%s' '{content}' > '{target}'")
    listed = [f"%dir {p}" if c is None else p for p, c in files.items()]
    spec = f"""\
Name: {name}
Version: {version}
Release: {release}
Summary: {summary}
{"".join(f"Provides: {p}{chr(10)}" for p in provides)}License: GPL-2.0-only
BuildArch: {ARCH}
AutoReqProv: no
%global debug_package %{{nil}}
%global __os_install_post %{{nil}}
%global _build_id_links none
%global source_date_epoch_from_changelog 0
%global use_source_date_epoch_as_buildtime 1
%global clamp_mtime_to_source_date_epoch 1

%description
Test package for klp's package layer, built by tests/pkg/mkroot.py. Epoch {build_epoch}.

%install
{chr(10).join(install)}

%files
{chr(10).join(listed)}

%changelog
{changelog}
"""
    with open(path, "w") as f:
        f.write(spec)


def livepatch_files(kernel, version, release):
    sysfs = f"/sys/kernel/livepatch/{sysfs_name(version, release)}"
    function = f"klp_test_fix_{version}"
    return {
        sysfs: None,
        f"{sysfs}/enabled": "1\n",
        f"{sysfs}/transition": "0\n",
        f"{sysfs}/vmlinux": None,
        f"{sysfs}/vmlinux/{function},1": None,
        f"/lib/modules/{kernel}/livepatch/{module_name(version, release)}": f"fake module {version}\n",
    }


def epoch_of(day):
    return int(datetime.datetime(day.year, day.month, day.day, 12, tzinfo=datetime.timezone.utc).timestamp())


def rpmbuild(workdir, spec, env, build_epoch):
    topdir = os.path.join(workdir, "rpmbuild")
    build_env = dict(env, SOURCE_DATE_EPOCH=str(build_epoch))
    # rpmbuild reads the root's .rpmmacros too: keep its database and temp
    # files in the work dir, not on the host.
    run(["rpmbuild", "--quiet", "-bb", "--define", f"_topdir {topdir}",
         "--define", f"_dbpath {os.path.join(workdir, 'rpmdb')}", "--define", f"_tmppath {workdir}",
         "--define", "_binary_payload w1.gzdio", spec], env=build_env)
    return os.path.join(topdir, "RPMS", ARCH)


def kernel_releases(kernel):
    """The running kernel's line: [(uname -r, rpm release, own CVEs)], oldest first."""
    kversion, krelease, flavor = split_kernel(kernel)
    base = krelease.rsplit(".", 2)[0] if krelease.count(".") >= 2 else krelease
    line = []
    for index, (suffix, cves) in enumerate(KERNEL_LINE):
        release = krelease if index == 0 else f"{base}.{suffix}"
        line.append((f"{kversion}-{release}-{flavor}", f"{release}.1", cves))
    return line


def kernel_changelog(kernel, upto, padding):
    """The cumulative changelog of kernel `upto` (an index into the line), newest
    first, SUSE style; `padding` more fix lines (bsc only, every 50th with a CVE
    of its own) in the oldest entry, for the benchmark's large changelog."""
    entries = []
    line = kernel_releases(kernel)
    for index in range(upto, -1, -1):
        uname, _, cves = line[index]
        day = KERNEL_BUILD_DATE + datetime.timedelta(days=21 * index)
        lines = [f"* {day.strftime('%a %b %d %Y')} Kernel Team <kernel-test@example.com>", f"- Update to {uname}."]
        for n, cve in enumerate(cves):
            lines.append(f"- net/sched: fix a use-after-free in qdisc {n} ({cve} bsc#{1233000 + index * 100 + n}).")
        lines.append(f"- ext4: fix a writeback stall (bsc#{1234000 + index}).")
        if index == 0:
            for n in range(padding):
                if n % 50 == 49:
                    lines.append(f"- drivers: fix item {n} ({'CVE-2023-%d' % (10000 + n)} bsc#{1100000 + n}).")
                else:
                    lines.append(f"- drivers: fix item {n} in the subsystem, a longer line (bsc#{1100000 + n}).")
        entries.append("\n".join(lines))
    return "\n\n".join(entries)


def kernel_packages(kernel, padding):
    """[(uname, rpm file, write_spec kwargs)] for the running kernel's line."""
    kversion, _, flavor = split_kernel(kernel)
    packages = []
    for index, (uname, release, _) in enumerate(kernel_releases(kernel)):
        epoch = epoch_of(KERNEL_BUILD_DATE + datetime.timedelta(days=21 * index))
        files = {
            f"/boot/vmlinuz-{uname}": "fake kernel\n",
            f"/lib/modules/{uname}": None,
            f"/lib/modules/{uname}/vmlinuz": "fake kernel\n",
        }
        spec_args = dict(name=f"kernel-{flavor}", version=kversion, release=release, summary="Test kernel",
                         files=files, changelog=kernel_changelog(kernel, index, padding if index == 0 else 0),
                         build_epoch=epoch, provides=["multiversion(kernel)"])
        packages.append((uname, f"kernel-{flavor}-{kversion}-{release}.{ARCH}.rpm", spec_args))
    return packages


def build_rpms(outdir, kernel, versions, env, changelog_lines=0):
    """Builds the kernel package and live patch versions 1..versions into outdir."""
    os.makedirs(outdir, exist_ok=True)
    workdir = os.path.join(outdir, ".build")
    os.makedirs(workdir, exist_ok=True)
    kversion, krelease, flavor = split_kernel(kernel)
    name = livepatch_package(kernel)
    wanted = []
    kernel_rpms = []
    for release, rpm_file, spec_args in kernel_packages(kernel, changelog_lines):
        kernel_rpms.append(rpm_file)
        if os.path.exists(os.path.join(outdir, rpm_file)):
            continue
        spec = os.path.join(workdir, f"kernel-{release}.spec")
        write_spec(spec, **spec_args)
        built = rpmbuild(workdir, spec, env, spec_args["build_epoch"])
        shutil.move(os.path.join(built, rpm_file), os.path.join(outdir, rpm_file))
    for version in range(1, versions + 1):
        release = patch_release(version)
        rpm_file = f"{name}-{version}-{release}.{ARCH}.rpm"
        wanted.append(rpm_file)
        if os.path.exists(os.path.join(outdir, rpm_file)):
            continue
        spec = os.path.join(workdir, f"livepatch-{version}.spec")
        changelog = "\n\n".join(changelog_entry(v, kernel) for v in range(version, 0, -1))
        epoch = epoch_of(patch_date(version))
        write_spec(spec, name, version, release, f"Kernel live patch {version} for {kernel}",
                   livepatch_files(kernel, version, release), changelog, epoch)
        built = rpmbuild(workdir, spec, env, epoch)
        shutil.move(os.path.join(built, rpm_file), os.path.join(outdir, rpm_file))
    return kernel_rpms, wanted


def test_env(directory):
    """What every rpm/zypper/klp process needs to stay inside DIR."""
    home = os.path.join(directory, "home")
    root = os.path.join(directory, "root")
    return {
        # Debian's rpm keeps its database under $HOME unless told otherwise;
        # .rpmmacros there says what SUSE's rpm does by default.
        "HOME": home,
        "ZYPP_LOGFILE": os.path.join(directory, "zypper.log"),
        # zypper's lock (run/zypp.pid) defaults to the host's /run even with --root.
        "ZYPP_LOCKFILE_ROOT": root,
        "TMPDIR": os.path.join(directory, "tmp"),
        "ZYPPTMPDIR": os.path.join(directory, "tmp"),
        # libzypp reads zypp.conf from the host unless told: the root's own
        # says that kernels are multiversion, as SUSE's does.
        "ZYPP_CONF": os.path.join(root, "etc/zypp/zypp.conf"),
        "LC_ALL": "C.UTF-8",
    }


SLES_OS_RELEASE = 'NAME="SLES"\nVERSION="15-SP6"\nVERSION_ID="15.6"\nID="sles"\nID_LIKE="suse"\n'


def write_os_release(root):
    """What SLES ships (klp picks its package backend from it)."""
    os.makedirs(os.path.join(root, "usr/lib"), exist_ok=True)
    with open(os.path.join(root, "usr/lib/os-release"), "w") as f:
        f.write(SLES_OS_RELEASE)
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    os.symlink("../usr/lib/os-release", os.path.join(root, "etc/os-release"))


def zypper(root, env, *args):
    return run(["zypper", "--root", root, "--non-interactive", *args], env=env)


def install_deps():
    needed = [tool for tool in ("rpm", "rpmbuild", "createrepo_c", "zypper") if shutil.which(tool) is None]
    if needed:
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "rpm", "createrepo-c", "zypper"],
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def lay_out(directory, env_vars, dbpath, kernel, subdirs):
    """The start every test root shares: DIR/SUB for each of ``subdirs``,
    HOME's .rpmmacros naming the rpm database (``dbpath`` inside the root)
    and the running kernel release in proc/sys/kernel/osrelease. Returns
    the root's path."""
    root = os.path.join(directory, "root")
    for sub in ("home", "tmp", "root" + dbpath, "root/proc/sys/kernel", "root/sys/kernel/livepatch", *subdirs):
        os.makedirs(os.path.join(directory, sub), exist_ok=True)
    with open(os.path.join(env_vars["HOME"], ".rpmmacros"), "w") as f:
        f.write("%%_dbpath %s\n" % dbpath)
    with open(os.path.join(root, "proc/sys/kernel/osrelease"), "w") as f:
        f.write(kernel + "\n")
    return root


def make(args):
    directory = os.path.abspath(args.dir)
    repo = os.path.join(directory, "repo")
    env_vars = test_env(directory)
    env = dict(os.environ, **env_vars)
    root = lay_out(directory, env_vars, "/usr/lib/sysimage/rpm", args.kernel, ["root/run"])
    with open(os.path.join(root, "proc/sys/kernel/tainted"), "w") as f:
        f.write("32768\n")
    write_os_release(root)

    os.makedirs(os.path.join(root, "etc/zypp"), exist_ok=True)
    with open(env_vars["ZYPP_CONF"], "w") as f:
        f.write("[main]\nmultiversion = provides:multiversion(kernel)\n")

    rpms = os.path.abspath(args.rpm_cache) if args.rpm_cache else os.path.join(directory, "rpms")
    if args.kernel_changelog_lines:
        # A padded kernel is another package content under the same file name.
        rpms = os.path.join(rpms, f"kernel-changelog-{args.kernel_changelog_lines}")
    kernel_rpms, patch_rpms = build_rpms(rpms, args.kernel, args.versions, env, args.kernel_changelog_lines)
    kernel_rpm = kernel_rpms[0]
    name = livepatch_package(args.kernel)
    flavor = split_kernel(args.kernel)[2]
    line = kernel_releases(args.kernel)
    if not 0 <= args.newer_kernels < len(line):
        raise SystemExit(f"mkroot: --newer-kernels {args.newer_kernels} is not in 0..{len(line) - 1}")

    # The repo: every version, or (--empty-repo) none; the installed one then
    # comes from a second, temporary repo that is removed again.
    os.makedirs(repo, exist_ok=True)
    if not args.empty_repo:
        for rpm_file in kernel_rpms + patch_rpms:
            target = os.path.join(repo, rpm_file)
            if not os.path.exists(target):
                os.link(os.path.join(rpms, rpm_file), target) if same_fs(rpms, repo) else shutil.copy(os.path.join(rpms, rpm_file), target)
    run(["createrepo_c", "--quiet", "--no-database", repo], env=env)
    zypper(root, env, "addrepo", "--no-gpgcheck", f"dir:{repo}", "klp-test")
    zypper(root, env, "refresh")

    installed = None
    if args.installed:
        if not 1 <= args.installed <= args.versions:
            raise SystemExit(f"mkroot: --installed {args.installed} is not in 1..{args.versions}")
        edition = f"{args.installed}-{patch_release(args.installed)}"
        if args.empty_repo:
            seed = os.path.join(directory, "seed-repo")
            os.makedirs(seed, exist_ok=True)
            for rpm_file in [kernel_rpm, f"{name}-{edition}.{ARCH}.rpm"]:
                shutil.copy(os.path.join(rpms, rpm_file), seed)
            run(["createrepo_c", "--quiet", "--no-database", seed], env=env)
            zypper(root, env, "addrepo", "--no-gpgcheck", f"dir:{seed}", "klp-seed")
            zypper(root, env, "refresh")
        packages = [f"kernel-{flavor}={split_kernel(args.kernel)[0]}-{line[0][1]}"]
        if not args.no_package:
            packages.append(f"{name}={edition}")
        zypper(root, env, "install", "--oldpackage", *packages)
        if args.empty_repo:
            zypper(root, env, "removerepo", "klp-seed")
            shutil.rmtree(seed)
        if not args.no_package:
            installed = edition
    kernels = [line[0][0]] if args.installed else []
    for uname, release, _ in line[1:args.newer_kernels + 1]:
        # Side by side with the running one: zypp.conf makes kernels multiversion.
        zypper(root, env, "install", f"kernel-{flavor}={split_kernel(args.kernel)[0]}-{release}")
        kernels.append(uname)
    if kernels:
        # SUSE's kernel scriptlets point /boot/vmlinuz at the newest kernel.
        boot = args.boot_kernel or kernels[-1]
        link = os.path.join(root, "boot/vmlinuz")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(f"vmlinuz-{boot}", link)
    if args.support_ends is not None:
        end = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=args.support_ends)
        data = os.path.join(root, "usr/share/lifecycle/data")
        os.makedirs(data, exist_ok=True)
        with open(os.path.join(data, "kernel-livepatch-test.lifecycle"), "w") as f:
            f.write(f"# name, version, end of support\n{name}, *, {end.isoformat()}\n")
    return {
        "root": root,
        "repo": repo,
        "env": env_vars,
        "package": name,
        "kernel": args.kernel,
        "installed": installed,
        "kernels": kernels,
        "kernel_nevras": {uname: f"kernel-{flavor}-{split_kernel(args.kernel)[0]}-{release}.{ARCH}" for uname, release, _ in line},
        "kernel_cves": {uname: cves for uname, _, cves in line},
        "versions": {str(v): f"{v}-{patch_release(v)}" for v in range(1, args.versions + 1)},
    }


def same_fs(a, b):
    return os.stat(a).st_dev == os.stat(b).st_dev


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True, help="where to build (created; reused if present)")
    parser.add_argument("--versions", type=int, default=12, help="live patch versions 1..N in the repo")
    parser.add_argument("--installed", type=int, default=5, help="the version installed in the root")
    parser.add_argument("--empty-repo", action="store_true", help="register a repository with no packages")
    parser.add_argument("--kernel", default="6.4.0-150600.23.22-default", help="running kernel release")
    parser.add_argument("--no-package", action="store_true", help="install no live patch package")
    parser.add_argument("--newer-kernels", type=int, default=0, help="also install the first N newer kernels (0..2)")
    parser.add_argument("--boot-kernel", help="the kernel release /boot/vmlinuz points to (default: the newest installed)")
    parser.add_argument("--support-ends", type=int, help="lifecycle data: support ends DAYS from today (negative: past)")
    parser.add_argument("--kernel-changelog-lines", type=int, default=0, help="pad the running kernel's changelog (benchmark)")
    parser.add_argument("--rpm-cache", help="directory of built RPMs shared between roots (built if missing)")
    parser.add_argument("--install-deps", action="store_true", help="apt-get install rpm, createrepo-c, zypper if missing")
    args = parser.parse_args()
    if args.install_deps:
        install_deps()
    missing = [tool for tool in ("rpmbuild", "createrepo_c", "zypper") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"mkroot: missing {', '.join(missing)} (run with --install-deps)")
    if os.path.exists(os.path.join(args.dir, "root", "etc", "zypp")):
        raise SystemExit(f"mkroot: {args.dir} already holds a root; use a new directory")
    json.dump(make(args), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
