#!/usr/bin/env python3
"""A private rpm/dnf system root of the Red Hat family for klp's tests.

    mkroot_dnf.py --dir DIR [--installed 1-3] [--rpm-cache DIR] [--no-sysfs]
                  [--os-release rhel|rocky|debian|none]

Builds with the real tools (rpmbuild, createrepo_c, dnf), under DIR:
  repo/   kernel-core for two kernels (the running 427.13.1 and a newer
          427.20.1) and kpatch-patch-5_14_0-427_13_1 0-0 (the empty
          placeholder that subscribes a kernel to live patches) and 1-1..1-3,
          with RHEL-style changelogs ({CVE-...}, [bugzilla] and [RHEL-n] ids)
  root/   a system root managed by dnf: rpm database in var/lib/rpm,
          etc/dnf/dnf.conf and etc/yum.repos.d/klp-test.repo (found by dnf
          inside --installroot), both kernels and the chosen kpatch-patch
          version installed with dnf, etc/os-release, proc/sys/kernel/osrelease,
          and, as kpatch's %post would leave it, the module copied to
          var/lib/kpatch/<kernel>/ and loaded (sys/kernel/livepatch/kpatch_...)
  home/   HOME for rpm and dnf (.rpmmacros: the database where RHEL keeps it)
The test packages have no scriptlets (the root has no shell), so installing
another version changes the package, not what is "loaded": as on RHEL after
a downgrade until a reboot.

Prints {"root", "repo", "env", ...} as JSON; merge `env` into the environment
of every rpm/dnf/klp process run against this root. dnf writes its cache,
logs and history inside the root (it must always get --installroot: without
it even `dnf --version` creates a database and logs on the host).
"""

import argparse
import datetime
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkroot  # noqa: E402

KERNEL = "5.14.0-427.13.1.el9_4.x86_64"
NEXT_KERNEL = "5.14.0-427.20.1.el9_4.x86_64"
DIST = "el9_4"
PACKAGE = "kpatch-patch-5_14_0-427_13_1"
KERNEL_BUILD_DATE = datetime.date(2025, 4, 10)
NEXT_KERNEL_BUILD_DATE = datetime.date(2025, 5, 20)
VERSIONS = ["0-0", "1-1", "1-2", "1-3"]

OS_RELEASE = {
    "rhel": 'NAME="Red Hat Enterprise Linux"\nVERSION="9.4 (Plow)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\n',
    "rocky": 'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n',
    "debian": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n',
}

# What each live patch release fixes (cumulative: a release's changelog holds
# its own entry and all older ones). Deterministic, so tests can predict it.
FIXES = {
    "1-1": ["- kernel: use-after-free in netfilter nf_tables [2262126] {CVE-2024-1086}"],
    "1-2": [
        "- kernel: ext4: fix a crash in writeback [RHEL-30002]",
        "- kernel: two fixes in one item whose CVE list wraps [RHEL-30003 2270100] {CVE-2024-26585,",
        "  CVE-2024-26586}",
    ],
    "1-3": [
        "- kernel: nfsd: fix a leak [RHEL-30010]",
        "- kernel: net/sched: out-of-bounds write in cls_u32 [RHEL-30011] {CVE-2024-26600}",
    ],
}
KERNEL_FIXES = {
    KERNEL: [
        "- netfilter: nf_tables: reject QUEUE/DROP verdict parameters (Florian Westphal) [RHEL-23500] {CVE-2024-1085}",
        "- mm: fix a hang in page reclaim (A Developer) [RHEL-23501]",
    ],
    NEXT_KERNEL: [
        "- net/sched: cls_u32: fix out-of-bounds write (A Developer) [RHEL-31000] {CVE-2024-26600}",
        "- block: fix an overflow (A Developer) [RHEL-31001] {CVE-2024-26700}",
    ],
}


def split_kernel(kernel):
    """5.14.0-427.13.1.el9_4.x86_64 -> ('5.14.0', '427.13.1.el9_4', 'x86_64')."""
    base, _, arch = kernel.rpartition(".")
    version, _, release = base.partition("-")
    return version, release, arch


def patch_date(edition):
    return datetime.date(2025, 4, 20) + datetime.timedelta(days=30 * VERSIONS.index(edition))


def kpatch_module(edition):
    """The file name kpatch-build gives: kpatch-5_14_0-427_13_1-1-3.ko."""
    return f"kpatch-5_14_0-427_13_1-{edition}.ko"


def sysfs_name(edition):
    return kpatch_module(edition)[: -len(".ko")].replace("-", "_")


def changelog(edition):
    """RHEL's header style `* DATE NAME <MAIL> [V-R.dist]`, newest first."""
    entries = []
    for older in reversed(VERSIONS[: VERSIONS.index(edition) + 1]):
        day = patch_date(older)
        head = f"* {day.strftime('%a %b %d %Y')} Live Patching Team <klp-test@example.com> [{older}.{DIST}]"
        lines = FIXES.get(older, [f"- An empty patch to subscribe to kpatch stream for kernel-{KERNEL[:-7]} [2270000]"])
        entries.append("\n".join([head] + lines))
    return "\n\n".join(entries)


def build_rpms(outdir, env):
    os.makedirs(outdir, exist_ok=True)
    workdir = os.path.join(outdir, ".build")
    os.makedirs(workdir, exist_ok=True)
    files = {}
    for kernel, built_on in ((KERNEL, KERNEL_BUILD_DATE), (NEXT_KERNEL, NEXT_KERNEL_BUILD_DATE)):
        version, release, arch = split_kernel(kernel)
        rpm_file = f"kernel-core-{version}-{release}.{arch}.rpm"
        files[kernel] = rpm_file
        if os.path.exists(os.path.join(outdir, rpm_file)):
            continue
        spec = os.path.join(workdir, f"kernel-core-{release}.spec")
        log = f"* {built_on.strftime('%a %b %d %Y')} Kernel Team <kernel-test@example.com> [{version}-{release}]\n"
        log += "\n".join(KERNEL_FIXES[kernel])
        epoch = mkroot.epoch_of(built_on)
        mkroot.write_spec(spec, "kernel-core", version, release, "Test kernel",
                          {f"/lib/modules/{kernel}": None, f"/lib/modules/{kernel}/vmlinuz": "fake kernel\n"}, log, epoch)
        # As RHEL's kernel-core: installed side by side, never replaced.
        with open(spec) as f:
            text = f.read()
        with open(spec, "w") as f:
            f.write(text.replace("License:", "Provides: installonlypkg(kernel)\nLicense:", 1))
        built = mkroot.rpmbuild(workdir, spec, env, epoch)
        shutil.move(os.path.join(built, rpm_file), os.path.join(outdir, rpm_file))
    for edition in VERSIONS:
        version, release = edition.split("-")
        rpm_file = f"{PACKAGE}-{version}-{release}.{DIST}.x86_64.rpm"
        files[edition] = rpm_file
        if os.path.exists(os.path.join(outdir, rpm_file)):
            continue
        spec = os.path.join(workdir, f"kpatch-{edition}.spec")
        content = {} if edition == "0-0" else {
            f"/usr/lib/kpatch/{KERNEL}": None,
            f"/usr/lib/kpatch/{KERNEL}/{kpatch_module(edition)}": f"fake kpatch module {edition}\n",
        }
        epoch = mkroot.epoch_of(patch_date(edition))
        mkroot.write_spec(spec, PACKAGE, version, f"{release}.{DIST}", f"Live patch {edition} for kernel {KERNEL}",
                          content, changelog(edition), epoch)
        built = mkroot.rpmbuild(workdir, spec, env, epoch)
        shutil.move(os.path.join(built, rpm_file), os.path.join(outdir, rpm_file))
    return files


def test_env(directory):
    home = os.path.join(directory, "home")
    return {"HOME": home, "TMPDIR": os.path.join(directory, "tmp"), "LC_ALL": "C.UTF-8"}


def dnf(root, env, *args):
    """dnf always with --installroot (see the module doc); the root's own
    etc/dnf/dnf.conf and etc/yum.repos.d are what dnf reads there."""
    return mkroot.run(["dnf", "-y", f"--installroot={root}", "--releasever=9", "--noplugins",
                       "--setopt=exit_on_lock=True", *args], env=env)


def loaded(root, edition):
    """What kpatch's %post and kpatch.service leave: the module copied to
    /var/lib/kpatch/<kernel>/ (owned by no package) and loaded."""
    var = os.path.join(root, "var/lib/kpatch", KERNEL)
    os.makedirs(var, exist_ok=True)
    shutil.copy(os.path.join(root, "usr/lib/kpatch", KERNEL, kpatch_module(edition)), var)
    sysfs = os.path.join(root, "sys/kernel/livepatch", sysfs_name(edition))
    os.makedirs(os.path.join(sysfs, "vmlinux", "nft_verdict_init,1"), exist_ok=True)
    for name, value in (("enabled", "1\n"), ("transition", "0\n")):
        with open(os.path.join(sysfs, name), "w") as f:
            f.write(value)


def make(args):
    directory = os.path.abspath(args.dir)
    repo = os.path.join(directory, "repo")
    env_vars = test_env(directory)
    env = dict(os.environ, **env_vars)
    root = mkroot.lay_out(directory, env_vars, "/var/lib/rpm", KERNEL,
                          ["repo", "root/etc/dnf", "root/etc/yum.repos.d", "root/run"])
    with open(os.path.join(root, "proc/sys/kernel/tainted"), "w") as f:
        f.write("32768\n")
    if args.os_release != "none":
        with open(os.path.join(root, "etc/os-release"), "w") as f:
            f.write(OS_RELEASE[args.os_release])
    with open(os.path.join(root, "etc/dnf/dnf.conf"), "w") as f:
        f.write("[main]\ngpgcheck=0\nlocalpkg_gpgcheck=0\nbest=True\nskip_if_unavailable=False\n"
                "install_weak_deps=False\nreposdir=/etc/yum.repos.d\n")
    with open(os.path.join(root, "etc/yum.repos.d/klp-test.repo"), "w") as f:
        f.write(f"[klp-test]\nname=klp test repository\nbaseurl=file://{repo}\ngpgcheck=0\nenabled=1\n")

    rpms = os.path.abspath(args.rpm_cache) if args.rpm_cache else os.path.join(directory, "rpms")
    files = build_rpms(rpms, env)
    for rpm_file in files.values():
        shutil.copy(os.path.join(rpms, rpm_file), repo)
    mkroot.run(["createrepo_c", "--quiet", "--no-database", repo], env=env)
    packages = [f"kernel-core-{KERNEL[:-7]}", f"kernel-core-{NEXT_KERNEL[:-7]}"]
    installed = args.installed if args.installed != "none" else None
    if installed:
        packages.append(f"{PACKAGE}-{installed}.{DIST}")
    dnf(root, env, "install", *packages)
    if installed and installed != "0-0" and not args.no_sysfs:
        loaded(root, installed)
    return {
        "root": root,
        "repo": repo,
        "env": env_vars,
        "package": PACKAGE,
        "kernel": KERNEL,
        "installed": f"{installed}.{DIST}" if installed else None,
        "versions": {edition: f"{edition}.{DIST}" for edition in VERSIONS},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--installed", default="1-3", choices=VERSIONS + ["none"])
    parser.add_argument("--rpm-cache", help="directory of built RPMs shared between roots (built if missing)")
    parser.add_argument("--no-sysfs", action="store_true", help="load no live patch")
    parser.add_argument("--os-release", default="rhel", choices=sorted(OS_RELEASE) + ["none"])
    args = parser.parse_args()
    missing = [tool for tool in ("rpmbuild", "createrepo_c", "dnf") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"mkroot_dnf: missing {', '.join(missing)}")
    json.dump(make(args), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
