"""The klp package and its roll-out paths, with the real tools.

tests/ship/run.sh builds the artifacts with dist/build.sh and sets:
  KLP_DIST          its output (repo/ with releases 1 and 2, python/, ansible/)
  KLP_ANSIBLE_VENV  ansible-core 2.19 (ansible-playbook, ansible-galaxy, ansible-doc)
  KLP_SALT_VENV     salt 3008.4
Every package manager runs against a private root under pytest's temp dir:
zypper with its log, lock and rpm database in the test dir (SUSE-style root,
database in /usr/lib/sysimage/rpm), dnf with --installroot and the root's own
dnf.conf and repos (RHEL-style root, database in /var/lib/rpm).
"""

import gzip
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DIST = Path(os.environ["KLP_DIST"])
ANSIBLE_VENV = Path(os.environ["KLP_ANSIBLE_VENV"])
SALT_VENV = Path(os.environ["KLP_SALT_VENV"])
VERSION = re.search(r'^\[package\][^\[]*?^version = "([^"]+)"', (REPO / "Cargo.toml").read_text(), re.M | re.S)[1]
ARCH = "x86_64"
RPM = {release: DIST / "repo" / f"klp-{VERSION}-{release}.{ARCH}.rpm" for release in (1, 2)}

DIRS = {
    "/usr/share/bash-completion", "/usr/share/bash-completion/completions", "/usr/share/zsh",
    "/usr/share/zsh/site-functions", "/usr/share/fish", "/usr/share/fish/vendor_completions.d",
    "/usr/share/licenses/klp", "/usr/share/doc/klp",
}


def run(argv, ok=(0,), **kwargs):
    proc = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          **kwargs)
    assert proc.returncode in ok, f"{' '.join(map(str, argv))} exited {proc.returncode}:\n{proc.stdout}"
    return proc


def expected_files():
    """{path in the package: (mode, source file in the checkout or None)} from what the checkout holds."""
    files = {
        "/usr/sbin/klp": (0o755, None),
        "/usr/share/man/man8/klp.8.gz": (0o644, None),
        "/usr/share/bash-completion/completions/klp": (0o644, None),
        "/usr/share/zsh/site-functions/_klp": (0o644, None),
        "/usr/share/fish/vendor_completions.d/klp.fish": (0o644, None),
        "/usr/share/licenses/klp/LICENSE": (0o644, REPO / "LICENSE"),
        "/usr/share/doc/klp/README.md": (0o644, REPO / "README.md"),
        "/usr/share/doc/klp/SECURITY.md": (0o644, REPO / "SECURITY.md"),
    }
    for kind_dir in sorted(p for p in (REPO / "dist").iterdir() if p.is_dir()):
        dest = "/usr/lib/systemd/system" if kind_dir.name == "systemd" else f"/usr/share/klp/{kind_dir.name}"
        for source in sorted(p for p in kind_dir.rglob("*") if p.is_file()):
            mode = 0o755 if os.access(source, os.X_OK) else 0o644
            files[f"{dest}/{source.relative_to(kind_dir)}"] = (mode, source)
    return files


def expected_dirs():
    dirs = set(DIRS)
    for path in expected_files():
        if path.startswith("/usr/share/klp/"):
            dirs.add("/usr/share/klp")
            dirs.add("/".join(path.split("/")[:5]))
    return dirs


def make_repo(directory, releases):
    directory.mkdir(parents=True, exist_ok=True)
    for release in releases:
        shutil.copy(RPM[release], directory)
    run(["createrepo_c", "--quiet", "--update", "--no-database", directory])
    return directory


class Root:
    """A private system root of one family with its own HOME, temp and logs."""

    def __init__(self, base, family):
        self.family = family
        self.base = Path(base)
        self.path = self.base / "root"
        home = self.base / "home"
        for sub in (home, self.base / "tmp", self.path / "etc", self.path / self.dbpath.lstrip("/")):
            sub.mkdir(parents=True, exist_ok=True)
        (home / ".rpmmacros").write_text(f"%_dbpath {self.dbpath}\n")
        self.env = dict(os.environ, HOME=str(home), TMPDIR=str(self.base / "tmp"), LC_ALL="C.UTF-8")
        if family == "suse":
            (self.path / "etc/os-release").write_text('NAME="SLES"\nVERSION_ID="15.6"\nID="sles"\nID_LIKE="suse"\n')
            # What the zypper package itself provides on every SUSE system.
            (self.path / "etc/zypp/repos.d").mkdir(parents=True)
            self.env.update(ZYPP_LOGFILE=str(self.base / "zypper.log"), ZYPP_LOCKFILE_ROOT=str(self.path),
                            ZYPPTMPDIR=str(self.base / "tmp"))
        else:
            (self.path / "etc/os-release").write_text(
                'NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\nID="rhel"\nID_LIKE="fedora"\n')
            # dnf reads the installroot's dnf.conf and repos when they exist.
            (self.path / "etc/dnf").mkdir()
            (self.path / "etc/yum.repos.d").mkdir()
            (self.path / "etc/dnf/dnf.conf").write_text(
                "[main]\ngpgcheck=0\nlocalpkg_gpgcheck=0\nbest=True\nskip_if_unavailable=False\n"
                f"install_weak_deps=False\nexit_on_lock=True\nreposdir={self.path}/etc/yum.repos.d\n")

    @property
    def dbpath(self):
        return "/usr/lib/sysimage/rpm" if self.family == "suse" else "/var/lib/rpm"

    def rpm(self, *args, ok=(0,)):
        return run(["rpm", "--root", self.path, "--dbpath", self.dbpath, *args], ok=ok, env=self.env)

    def edition(self):
        proc = self.rpm("-q", "--queryformat", "%{VERSION}-%{RELEASE}", "klp", ok=(0, 1))
        return proc.stdout if proc.returncode == 0 else None

    def pm(self, *args, ok=(0,)):
        if self.family == "suse":
            return run(["zypper", "--root", self.path, "--non-interactive", *args], ok=ok, env=self.env)
        return run(["dnf", "-y", f"--installroot={self.path}", "--releasever=9", "--noplugins", *args], ok=ok,
                   env=self.env)

    def add_repo(self, repo):
        if self.family == "suse":
            self.pm("addrepo", "--no-gpgcheck", "--refresh", f"dir:{repo}", "klp")
        else:
            (self.path / "etc/yum.repos.d/klp.repo").write_text(f"[klp]\nname=klp\nbaseurl=file://{repo}\ngpgcheck=0\n")

    def file(self, path):
        return self.path / path.lstrip("/")


@pytest.fixture(params=["suse", "rhel"])
def root(request, tmp_path):
    return Root(tmp_path, request.param)


def test_artifacts_carry_the_cargo_toml_version():
    for release, rpm in RPM.items():
        query = run(["rpm", "-qp", "--queryformat", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}", rpm]).stdout
        assert query.split()[-4:] == ["klp", VERSION, str(release), ARCH]
    assert sorted(p.name for p in (DIST / "python").iterdir()) == [
        f"saltext_klp-{VERSION}-py3-none-any.whl", f"saltext_klp-{VERSION}.tar.gz"]
    assert [p.name for p in (DIST / "ansible").iterdir()] == [f"klp-livepatch-{VERSION}.tar.gz"]
    repomd = (DIST / "repo/repodata/repomd.xml").read_text()
    assert "primary" in repomd and "filelists" in repomd


def test_rpm_holds_exactly_the_expected_files_and_modes():
    listing = run(["rpm", "-qp", "--queryformat", "[%{FILENAMES} %{FILEMODES:octal}\n]", RPM[1]]).stdout
    packaged = {line.rsplit(" ", 1)[0]: int(line.rsplit(" ", 1)[1], 8) for line in listing.splitlines()}
    wanted = {path: stat.S_IFREG | mode for path, (mode, _) in expected_files().items()}
    wanted.update({path: stat.S_IFDIR | 0o755 for path in expected_dirs()})
    assert packaged == wanted
    # No scriptlets (roots without a shell install it) and no dependencies on libraries.
    assert run(["rpm", "-qp", "--scripts", RPM[1]]).stdout == ""
    requires = run(["rpm", "-qp", "--requires", RPM[1]]).stdout.split("\n")
    assert [r for r in requires if r and not r.startswith("rpmlib(")] == []


def test_binary_is_statically_linked(tmp_path):
    cpio = run(["sh", "-c", 'rpm2cpio "$1" > "$2"', "-", RPM[1], tmp_path / "payload.cpio"])
    assert cpio.returncode == 0
    run(["cpio", "-idm", "--quiet", "-D", tmp_path, "-F", tmp_path / "payload.cpio", "./usr/sbin/klp"])
    binary = tmp_path / "usr/sbin/klp"
    headers = run(["readelf", "-lW", binary]).stdout
    assert "Requesting program interpreter" not in headers and "INTERP" not in headers, headers
    dynamic = run(["readelf", "-dW", binary]).stdout
    assert "(NEEDED)" not in dynamic, dynamic
    symbols = run(["readelf", "--dyn-syms", "-W", binary]).stdout
    assert "GLIBC_" not in symbols, "a static binary needs no versioned glibc symbols"


def check_installed(root, release):
    assert root.edition() == f"{VERSION}-{release}"
    for path, (mode, source) in expected_files().items():
        info = root.file(path).lstat()
        assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == mode, path
        if source is not None:
            assert root.file(path).read_bytes() == source.read_bytes(), path
    for path in expected_dirs():
        assert stat.S_IMODE(root.file(path).stat().st_mode) == 0o755, path
    verify = root.rpm("-V", "klp")
    assert verify.stdout == ""
    man = gzip.decompress(root.file("/usr/share/man/man8/klp.8.gz").read_bytes()).decode()
    assert man.startswith(".ie") or ".TH klp 8" in man, man[:200]
    assert f"v{VERSION}" in man
    assert "complete -F _klp" in root.file("/usr/share/bash-completion/completions/klp").read_text()
    assert root.file("/usr/share/zsh/site-functions/_klp").read_text().startswith("#compdef klp")
    assert "complete -c klp" in root.file("/usr/share/fish/vendor_completions.d/klp.fish").read_text()
    # The root has no C library at all: the installed binary runs there only
    # because it is static, as it will on SLE 15's and RHEL 8's older glibc.
    assert not [p for p in root.path.rglob("libc.so*")]
    version = run(["chroot", root.path, "/usr/sbin/klp", "--version"], env=root.env).stdout
    assert version.strip() == f"klp {VERSION}"


def test_install_upgrade_and_remove_with_the_real_package_manager(root, tmp_path):
    repo = make_repo(tmp_path / "repo", [1])
    root.add_repo(repo)
    root.pm("install", "klp")
    check_installed(root, 1)

    # A newer build lands in the repository.
    make_repo(repo, [2])
    if root.family == "suse":
        root.pm("update", "klp")
    else:
        root.pm("--refresh", "upgrade", "klp")
    check_installed(root, 2)
    assert root.rpm("-qa").stdout.split() == [f"klp-{VERSION}-2.{ARCH}"]

    removed = root.pm("remove", "klp", ok=(0, 8) if root.family == "suse" else (0,))
    if removed.returncode == 8:
        # zypper's known exit after removing a root's last package: rpmdb2solv
        # cannot cache an empty database. rpm below has the last word.
        assert "Failed to cache rpm database" in removed.stdout, removed.stdout
    assert root.edition() is None
    leftovers = [p for p in list(expected_files()) + sorted(expected_dirs()) if root.file(p).exists()]
    assert leftovers == []


# --- Ansible: the klp.livepatch.install role --------------------------------------------------------------

@pytest.fixture(scope="session")
def collections(tmp_path_factory):
    """The collection tarball, installed with ansible-galaxy."""
    path = tmp_path_factory.mktemp("collections")
    (tarball,) = (DIST / "ansible").glob("*.tar.gz")
    env = dict(os.environ, ANSIBLE_HOME=str(path / "ansible-home"))
    run([ANSIBLE_VENV / "bin/ansible-galaxy", "collection", "install", "--offline", "-p", path, tarball], env=env)
    return path


def test_collection_carries_the_project_urls_given_at_build_time(collections):
    """galaxy.yml names no URL (the project publishes none yet); dist/build.sh
    writes KLP_PROJECT_URL and KLP_ISSUES_URL into the built collection."""
    committed = (REPO / "ansible/ansible_collections/klp/livepatch/galaxy.yml").read_text()
    assert not re.search(r"^(repository|documentation|homepage|issues):", committed, re.M), committed
    manifest = json.loads((collections / "ansible_collections/klp/livepatch/MANIFEST.json").read_text())
    info = manifest["collection_info"]
    url = os.environ["KLP_PROJECT_URL"]
    assert (info["repository"], info["homepage"], info["documentation"]) == (url, url, url), info
    assert info["issues"] == os.environ["KLP_ISSUES_URL"], info


def ansible_env(root, collections):
    return dict(root.env, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(root.base / "ansible-home"),
                ANSIBLE_LOCAL_TEMP=str(root.base / "tmp"), ANSIBLE_REMOTE_TEMP=str(root.base / "tmp"),
                ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")


def test_collection_tarball_installs_and_documents_both_modules_and_the_role(collections, tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOME=str(tmp_path))
    listed = run([ANSIBLE_VENV / "bin/ansible-doc", "-l", "klp.livepatch"], env=env).stdout
    assert {"klp.livepatch.klp_info", "klp.livepatch.klp_patch"} <= set(re.findall(r"^(\S+)", listed, re.M)), listed
    roles = run([ANSIBLE_VENV / "bin/ansible-doc", "-t", "role", "-l", "klp.livepatch"], env=env).stdout
    assert "klp.livepatch.install" in roles, roles


def play(root, collections, repo, check=False, **role_vars):
    playbook = root.base / "install.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        "roles": [{"role": "klp.livepatch.install", "vars": dict(
            install_repo_url=f"file://{repo}", install_gpgcheck=False,
            install_root=str(root.path), install_dnf_backend="dnf4", **role_vars)}],
    }]))
    argv = [ANSIBLE_VENV / "bin/ansible-playbook", "-i", "localhost,", "-c", "local",
            "-e", f"ansible_python_interpreter={ANSIBLE_VENV / 'bin/python'}", playbook]
    if root.family == "rhel":
        # ansible.builtin.dnf builds its dnf.Base before it applies installroot,
        # and dnf then reads "/"'s rpm database for $releasever: on this Debian
        # host that creates /var/lib/rpm/rpmdb.sqlite. A private mount namespace
        # gives it a scratch /var/lib/rpm; everything else is the real host.
        scratch = root.base / "host-var-lib-rpm"
        scratch.mkdir(exist_ok=True)
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /var/lib/rpm && exec "$@"', scratch] + argv
    proc = run(argv + (["--check"] if check else []), env=ansible_env(root, collections))
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=0", proc.stdout)
    assert recap, proc.stdout
    return int(recap[2]), proc.stdout


def test_ansible_role_installs_idempotently_with_check_mode(root, collections, tmp_path):
    repo = make_repo(tmp_path / "repo", [1, 2])
    release1 = f"{VERSION}-1"
    changed, out = play(root, collections, repo, check=True, install_version=release1)
    assert changed >= 2, out  # the repository and the package
    assert root.edition() is None and not list(root.path.glob("etc/*/klp.repo")), "check mode changed the root"

    changed, out = play(root, collections, repo, install_version=release1)
    assert changed == 2, out
    check_installed(root, 1)
    changed, out = play(root, collections, repo, install_version=release1)
    assert changed == 0, out

    # Holding a newer build upgrades; leaving the version open keeps it.
    changed, out = play(root, collections, repo, install_version=f"{VERSION}-2")
    assert changed == 1, out
    check_installed(root, 2)
    changed, out = play(root, collections, repo)
    assert changed == 0, out
    assert root.edition() == f"{VERSION}-2"


# --- Salt: the extension from its wheel, the klp_install.installed state ----------------------------------

@pytest.fixture(scope="session")
def salt_python(tmp_path_factory):
    """A fresh venv with the saltext.klp wheel; Salt itself comes from the salt venv (a .pth file)."""
    venv = tmp_path_factory.mktemp("fresh-venv")
    run(["python3", "-m", "venv", venv])
    (wheel,) = (DIST / "python").glob("*.whl")
    run([venv / "bin/pip", "install", "-q", "--no-deps", "--no-index", "--disable-pip-version-check", wheel])
    site = run([venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    salt_site = run([SALT_VENV / "bin/python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    Path(site, "salt-venv.pth").write_text(salt_site.stdout.strip() + "\n")
    installed = run([venv / "bin/pip", "show", "-f", "saltext.klp"]).stdout
    assert f"Version: {VERSION}" in installed and "saltext/klp/states/klp_install.py" in installed
    return venv / "bin/python"


def salt_call(python, base, env, *args, klp_binary="/nonexistent/klp"):
    conf = Path(base) / "salt-conf"
    state = Path(base) / "salt-state"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "minion").write_text(json.dumps({
        "id": "ship-test", "root_dir": str(state), "pki_dir": str(state / "pki"), "cachedir": str(state / "cache"),
        "sock_dir": str(state / "run"), "pidfile": str(state / "run/minion.pid"), "log_file": str(state / "log"),
        "file_client": "local", "file_roots": {"base": [str(REPO / "salt/file_root")]}, "klp.binary": klp_binary,
    }))
    argv = [python, "-c", "import sys; from salt.scripts import salt_call; sys.argv[0] = 'salt-call'; salt_call()",
            "--local", "--config-dir", conf, "--out", "json", "--log-level", "quiet", *args]
    proc = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        data = json.loads(proc.stdout)["local"]
    except (ValueError, KeyError):
        data = None
    return proc, data


def payload_binary():
    """klp from the RPM's payload (the binary the package ships)."""
    target = DIST / "payload" / "usr/sbin/klp"
    if not target.exists():
        target.parent.parent.parent.mkdir(parents=True, exist_ok=True)
        payload = subprocess.run(["rpm2cpio", str(RPM[1])], stdout=subprocess.PIPE, check=True).stdout
        subprocess.run(["cpio", "-idm", "--quiet", "-D", str(DIST / "payload"), "./usr/sbin/klp"], input=payload,
                       check=True)
    return target


def test_salt_loads_the_extension_from_the_wheel(salt_python, tmp_path):
    env = dict(os.environ, HOME=str(tmp_path))
    proc, data = salt_call(salt_python, tmp_path, env, "sys.list_state_modules", klp_binary=str(payload_binary()))
    assert proc.returncode == 0 and {"klp", "klp_install"} <= set(data), (proc, data)
    proc, data = salt_call(salt_python, tmp_path, env, "sys.list_functions", "klp", klp_binary=str(payload_binary()))
    assert proc.returncode == 0 and "klp.status" in data, (proc, data)


def test_klp_module_virtual_message_says_how_to_install(salt_python, tmp_path):
    proc, data = salt_call(salt_python, tmp_path, dict(os.environ, HOME=str(tmp_path)), "klp.status")
    assert proc.returncode != 0 and data is None
    output = proc.stdout + proc.stderr
    assert "state.apply livepatch.install" in output and "klp:repo_url" in output, output


def apply_install(salt_python, root, repo, test=False, version=""):
    pillar = {"klp": {"repo_url": f"file://{repo}", "gpgcheck": False, "root": str(root.path), "version": version}}
    args = ["state.apply", "livepatch.install", "pillar=" + json.dumps(pillar), "--retcode-passthrough"]
    proc, data = salt_call(salt_python, root.base, root.env, *args + (["test=True"] if test else []))
    assert proc.returncode == 0 and isinstance(data, dict), (proc.stdout, proc.stderr)
    (ret,) = data.values()
    return ret


def test_salt_state_installs_idempotently_with_test_mode(root, salt_python, tmp_path):
    repo = make_repo(tmp_path / "repo", [1, 2])
    planned = apply_install(salt_python, root, repo, test=True, version=f"{VERSION}-1")
    assert planned["result"] is None and set(planned["changes"]) == {"repository", "package"}, planned
    assert planned["changes"]["package"]["command"][0] == ("zypper" if root.family == "suse" else "dnf")
    assert root.edition() is None and not list(root.path.glob("etc/*/klp.repo")), "test=True changed the root"

    first = apply_install(salt_python, root, repo, version=f"{VERSION}-1")
    assert first["result"] is True and set(first["changes"]) == {"repository", "package"}, first
    check_installed(root, 1)
    second = apply_install(salt_python, root, repo, version=f"{VERSION}-1")
    assert second["result"] is True and second["changes"] == {}, second

    upgraded = apply_install(salt_python, root, repo, version=f"{VERSION}-2")
    assert upgraded["result"] is True and upgraded["changes"]["package"]["new"] == f"{VERSION}-2", upgraded
    check_installed(root, 2)
    kept = apply_install(salt_python, root, repo)
    assert kept["result"] is True and kept["changes"] == {}, kept
