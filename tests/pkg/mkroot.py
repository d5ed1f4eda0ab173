#!/usr/bin/env python3
"""A private rpm/zypper system root for klp's package-layer tests.

    mkroot.py --dir DIR [--versions 12] [--installed 5] [--empty-repo]
              [--kernel 6.4.0-150600.23.22-default] [--no-package]
              [--rpm-cache DIR] [--install-deps]

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


def write_spec(path, name, version, release, summary, files, changelog, build_epoch):
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
License: GPL-2.0-only
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


def build_rpms(outdir, kernel, versions, env):
    """Builds the kernel package and live patch versions 1..versions into outdir."""
    os.makedirs(outdir, exist_ok=True)
    workdir = os.path.join(outdir, ".build")
    os.makedirs(workdir, exist_ok=True)
    kversion, krelease, flavor = split_kernel(kernel)
    name = livepatch_package(kernel)
    wanted = []
    kernel_rpm = f"kernel-{flavor}-{kversion}-{krelease}.{ARCH}.rpm"
    if not os.path.exists(os.path.join(outdir, kernel_rpm)):
        spec = os.path.join(workdir, "kernel.spec")
        epoch = epoch_of(KERNEL_BUILD_DATE)
        changelog = f"* {KERNEL_BUILD_DATE.strftime('%a %b %d %Y')} Kernel Team <kernel-test@example.com>\n- Update to {kversion}."
        write_spec(spec, f"kernel-{flavor}", kversion, krelease, "Test kernel", {f"/boot/vmlinuz-{kernel}": "fake kernel\n"},
                   changelog, epoch)
        built = rpmbuild(workdir, spec, env, epoch)
        shutil.move(os.path.join(built, kernel_rpm), os.path.join(outdir, kernel_rpm))
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
    return kernel_rpm, wanted


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


def make(args):
    directory = os.path.abspath(args.dir)
    root = os.path.join(directory, "root")
    repo = os.path.join(directory, "repo")
    env_vars = test_env(directory)
    env = dict(os.environ, **env_vars)
    for sub in ("home", "tmp", "root/usr/lib/sysimage/rpm", "root/proc/sys/kernel", "root/sys/kernel/livepatch", "root/run"):
        os.makedirs(os.path.join(directory, sub), exist_ok=True)
    with open(os.path.join(env_vars["HOME"], ".rpmmacros"), "w") as f:
        f.write("%_dbpath /usr/lib/sysimage/rpm\n")
    with open(os.path.join(root, "proc/sys/kernel/osrelease"), "w") as f:
        f.write(args.kernel + "\n")
    with open(os.path.join(root, "proc/sys/kernel/tainted"), "w") as f:
        f.write("32768\n")
    write_os_release(root)

    rpms = os.path.abspath(args.rpm_cache) if args.rpm_cache else os.path.join(directory, "rpms")
    kernel_rpm, patch_rpms = build_rpms(rpms, args.kernel, args.versions, env)
    name = livepatch_package(args.kernel)

    # The repo: every version, or (--empty-repo) none; the installed one then
    # comes from a second, temporary repo that is removed again.
    os.makedirs(repo, exist_ok=True)
    if not args.empty_repo:
        for rpm_file in [kernel_rpm] + patch_rpms:
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
        packages = [f"kernel-{split_kernel(args.kernel)[2]}"]
        if not args.no_package:
            packages.append(f"{name}={edition}")
        zypper(root, env, "install", "--oldpackage", *packages)
        if args.empty_repo:
            zypper(root, env, "removerepo", "klp-seed")
            shutil.rmtree(seed)
        if not args.no_package:
            installed = edition
    return {
        "root": root,
        "repo": repo,
        "env": env_vars,
        "package": name,
        "kernel": args.kernel,
        "installed": installed,
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
