"""
Fixtures for the Salt suite: real `salt-call --local` runs against the real
klp binary, on fixture trees and on private rpm/zypper roots.

Everything Salt writes (config, pki, cache, logs, synced modules) lives under
pytest's base temp dir, which tests/salt/run.sh puts under $KLP_WORK.
Paths come from the environment tests/salt/run.sh sets up:
  KLP_BIN           the klp binary (target/release/klp)
  KLP_FIXTURE_BIN   the fixture-tree writer (target/release/examples/fixture)
  KLP_SALT_EXT_SITE the directory the extension was pip-installed into
  KLP_SALT_CALL     salt-call of the salt venv
  KLP_MKROOT        the private root builder (default tests/pkg/mkroot.py)
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILE_ROOT = REPO / "salt" / "file_root"
PACKAGE_DIR = REPO / "salt" / "src" / "saltext" / "klp"
RPM_DBPATH = "/usr/lib/sysimage/rpm"


def _path_from_env(name, default):
    return Path(os.environ.get(name) or default).resolve()


KLP_BIN = _path_from_env("KLP_BIN", REPO / "target" / "release" / "klp")
FIXTURE_BIN = _path_from_env("KLP_FIXTURE_BIN", REPO / "target" / "release" / "examples" / "fixture")
MKROOT = _path_from_env("KLP_MKROOT", REPO / "tests" / "pkg" / "mkroot.py")
SALT_CALL = _path_from_env("KLP_SALT_CALL", Path(sys.executable).parent / "salt-call")
EXT_SITE = os.environ.get("KLP_SALT_EXT_SITE")


class CallResult:
    """One salt-call run: exit status, output, and the parsed `local` return."""

    def __init__(self, argv, args, proc):
        self.argv = argv
        self.args = args
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = proc.stdout + proc.stderr
        try:
            self.data = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError, TypeError):
            self.data = None

    def __repr__(self):
        return "salt-call {} -> rc={}\nstdout:\n{}\nstderr:\n{}".format(
            " ".join(self.argv[1:]), self.rc, self.stdout, self.stderr
        )

    def states(self):
        """state.apply's return as a list of state results, by ID."""
        assert isinstance(self.data, dict), self
        return {ret["__id__"]: ret for ret in self.data.values()}


class Minion:
    """
    A masterless minion with its own config dir under `base`.

    mode:
      extension  modules come only from the pip-installed extension (PYTHONPATH)
      file_root  modules come from salt/file_root, synced with saltutil.sync_all
      file_root_nosync  the same file root, not synced
      module_dirs modules loaded straight from salt/file_root via module_dirs
    """

    def __init__(self, base, mode, klp_root=None, extra_config=None, env=None, klp_bin=KLP_BIN):
        self.base = Path(base)
        self.mode = mode
        self.env = dict(env or {})
        salt_dir = self.base / "salt"
        self.conf_dir = self.base / "conf"
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        home = self.base / "home"
        home.mkdir(exist_ok=True)
        roots = self.base / "file_roots"
        roots.mkdir(exist_ok=True)
        # The example SLS only; modules come from the mode's own source.
        sls_link = roots / "livepatch"
        if not sls_link.exists():
            sls_link.symlink_to(FILE_ROOT / "livepatch")
        file_roots = [str(FILE_ROOT)] if mode.startswith("file_root") else [str(roots)]
        config = {
            "id": "klp-test",
            "root_dir": str(salt_dir),
            "pki_dir": str(salt_dir / "pki"),
            "cachedir": str(salt_dir / "cache"),
            "extension_modules": str(salt_dir / "cache" / "extmods"),
            "sock_dir": str(salt_dir / "run"),
            "pidfile": str(salt_dir / "run" / "minion.pid"),
            "log_file": str(salt_dir / "log" / "minion"),
            "file_client": "local",
            "file_roots": {"base": file_roots},
        }
        if klp_bin is not None:
            config["klp.binary"] = str(klp_bin)
        if mode == "module_dirs":
            config["module_dirs"] = [str(FILE_ROOT)]
        if klp_root is not None:
            config["klp.root"] = str(klp_root)
        config.update(extra_config or {})
        # JSON is valid YAML: no YAML writer needed outside the salt venv.
        (self.conf_dir / "minion").write_text(json.dumps(config, indent=2))
        self.base_env = {
            key: value
            for key, value in os.environ.items()
            # klp's own variables must not leak into the runs under test.
            if key not in ("KLP_ROOT", "KLP_FORMAT", "PYTHONPATH")
        }
        self.base_env.update(
            HOME=str(home),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONWARNINGS="ignore::DeprecationWarning",
        )
        if mode == "extension":
            assert EXT_SITE, "KLP_SALT_EXT_SITE must name the pip-installed extension"
            self.base_env["PYTHONPATH"] = EXT_SITE
        if mode == "file_root":
            synced = self.call("saltutil.sync_all")
            assert synced.rc == 0, synced
            assert "modules.klp" in synced.data["modules"], synced
            assert "states.klp" in synced.data["states"], synced

    def call(self, *args, env=None, extension=True):
        """Runs `salt-call --local FUNCTION ARGS...` with JSON output."""
        argv = [
            str(SALT_CALL),
            "--config-dir", str(self.conf_dir),
            "--local",
            "--retcode-passthrough",
            "--out=json",
            "--log-level=quiet",
        ] + [str(arg) for arg in args]
        run_env = dict(self.base_env)
        if not extension:
            run_env.pop("PYTHONPATH", None)
        run_env.update(self.env)
        run_env.update(env or {})
        proc = subprocess.run(
            argv, env=run_env, capture_output=True, text=True, timeout=300, cwd=str(self.base)
        )
        return CallResult(argv, [str(arg) for arg in args], proc)


def klp_json(*args, env=None):
    """The klp binary's own JSON answer, to compare Salt's return with."""
    run_env = {k: v for k, v in os.environ.items() if k not in ("KLP_ROOT", "KLP_FORMAT")}
    run_env.update(env or {})
    proc = subprocess.run(
        [str(KLP_BIN)] + [str(a) for a in args], env=run_env, capture_output=True, text=True, timeout=120
    )
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="session")
def make_fixture(tmp_path_factory):
    """Writes a fixture tree for `klp --root` (cargo example `fixture`)."""
    made = {}

    def make(scenario):
        if scenario not in made:
            root = tmp_path_factory.mktemp("fixture-" + scenario)
            subprocess.run([str(FIXTURE_BIN), scenario, str(root)], check=True, capture_output=True)
            made[scenario] = root
        return made[scenario]

    return make


@pytest.fixture
def minion_factory(tmp_path):
    count = [0]

    def make(mode="extension", **kwargs):
        count[0] += 1
        return Minion(tmp_path / "minion{}".format(count[0]), mode, **kwargs)

    return make


class PkgRoot:
    """A private rpm/zypper root from tests/pkg/mkroot.py."""

    def __init__(self, info):
        self.root = info["root"]
        self.repo = info["repo"]
        self.env = {k: str(v) for k, v in info["env"].items()}

    def installed(self):
        """The installed live patch packages, as NAME-VERSION-RELEASE (per rpm)."""
        env = dict(os.environ)
        env.update(self.env)
        proc = subprocess.run(
            ["rpm", "--root", self.root, "--dbpath", RPM_DBPATH, "-qa",
             "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n", "kernel-livepatch-*"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line)


@pytest.fixture(scope="session")
def rpm_cache(tmp_path_factory):
    """Built test RPMs, shared by every root of the run."""
    return tmp_path_factory.mktemp("rpm-cache")


@pytest.fixture(scope="module")
def pkg_root(tmp_path_factory, rpm_cache):
    """A root with live patch versions 1..5 available and 5 installed."""
    base = tmp_path_factory.mktemp("pkgroot")
    proc = subprocess.run(
        [sys.executable, str(MKROOT), "--install-deps", "--dir", str(base / "pkg"),
         "--rpm-cache", str(rpm_cache), "--versions", "5", "--installed", "5"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return PkgRoot(json.loads(proc.stdout))


def rhel_root(directory, installed="1-3"):
    """A private rpm/dnf root of the Red Hat family (tests/pkg/mkroot_dnf.py):
    its description, with ``env`` as strings for the runs against it."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "pkg" / "mkroot_dnf.py"), "--dir", str(directory),
         "--installed", installed],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = json.loads(proc.stdout)
    root["env"] = {k: str(v) for k, v in root["env"].items()}
    return root
