"""
`klp.patch_version` and `klp.downgrade` under real salt-call on a private
rpm/zypper root (tests/pkg/mkroot.py: versions 1..5 available, 5 installed).

The tests in this file share one root and run in order: each states the
installed version it starts from.
"""

import json
import os
import shlex
import subprocess
from pathlib import Path

from conftest import Minion, klp_json, rhel_root

PATCH_STATE = "livepatch package version"


def _pillar(version):
    return "pillar=" + json.dumps({"livepatch": {"version": version, "timeout": 10}})


def _only_package(pkg_root):
    installed = pkg_root.installed()
    assert len(installed) == 1, installed
    return next(iter(installed.items()))


def _transcribe(out, result, installed):
    """Appends one state.apply run to the transcript the suite prints."""
    out.append("$ salt-call --local --retcode-passthrough {}".format(" ".join(shlex.quote(arg) for arg in result.args)))
    out.append("  exit status {}".format(result.rc))
    for state in sorted(result.data.values(), key=lambda s: s["__run_num__"]):
        out.append("  [{}] {}: result={} changes={}".format(
            state["__run_num__"], state["__id__"], state["result"], json.dumps(state["changes"])))
        out.append("      " + state["comment"])
    out.append("  rpm -q: " + " ".join("{}-{}".format(n, e) for n, e in sorted(installed.items())))
    out.append("")


def test_example_sls_three_runs(tmp_path, pkg_root):
    """test=True predicts and changes nothing; the real run rolls back; a
    second run is clean. Modules synced from the file root."""
    minion = Minion(tmp_path, "file_root", klp_root=pkg_root.root, env=pkg_root.env)
    package, before = _only_package(pkg_root)
    assert before.startswith("5-")

    predicted = minion.call("state.apply", "livepatch", _pillar(3), "test=True")
    assert predicted.rc == 0, predicted
    state = predicted.states()[PATCH_STATE]
    assert state["result"] is None, state
    assert state["changes"]["old"] == before
    assert state["changes"]["new"].startswith("3-")
    assert "would be rolled back" in state["comment"]
    assert pkg_root.installed() == {package: before}, "test=True changed the system"

    applied = minion.call("state.apply", "livepatch", _pillar(3))
    assert applied.rc == 0, applied
    states = applied.states()
    state = states[PATCH_STATE]
    assert state["result"] is True, state
    after = pkg_root.installed()[package]
    assert after.startswith("3-")
    assert state["changes"] == {"old": before, "new": after}
    assert states["livepatch transition finished"]["result"] is True
    # The loaded patch followed the package.
    _, patches = klp_json("--root", pkg_root.root, "patches", env=pkg_root.env)
    assert [p["name"] for p in patches["patches"]] == ["livepatch_" + after.replace("-", "_").replace(".", "_")]

    again = minion.call("state.apply", "livepatch", _pillar(3))
    assert again.rc == 0, again
    state = again.states()[PATCH_STATE]
    assert state["result"] is True, state
    assert state["changes"] == {}
    assert "already at version 3" in state["comment"]
    assert pkg_root.installed() == {package: after}

    transcript = []
    _transcribe(transcript, predicted, {package: before})
    _transcribe(transcript, applied, {package: after})
    _transcribe(transcript, again, {package: after})
    out_dir = Path(os.environ.get("KLP_WORK") or tmp_path)
    (out_dir / "salt-state-apply-runs.txt").write_text("\n".join(transcript))


def test_newer_version_fails_clearly(tmp_path, pkg_root):
    minion = Minion(tmp_path, "extension", klp_root=pkg_root.root, env=pkg_root.env)
    package, before = _only_package(pkg_root)
    assert before.startswith("3-")
    result = minion.call("state.apply", "livepatch", _pillar(4))
    assert result.rc == 2, result
    state = result.states()[PATCH_STATE]
    assert state["result"] is False
    assert state["changes"] == {}
    assert "klp only rolls back" in state["comment"]
    assert "[version_newer]" in state["comment"]
    # The gate requires nothing here, but the patch state failed: nothing changed.
    assert pkg_root.installed() == {package: before}


def test_package_name_must_match(tmp_path, pkg_root):
    minion = Minion(tmp_path, "extension", klp_root=pkg_root.root, env=pkg_root.env)
    result = minion.call("state.single", "klp.patch_version", "name=kernel-livepatch-other-default", "version=3")
    assert result.rc == 2, result
    (state,) = result.data.values()
    assert state["result"] is False
    assert "is not the live patch package of the running kernel" in state["comment"]

    package, before = _only_package(pkg_root)
    result = minion.call("state.single", "klp.patch_version", "name=" + package, "version=3")
    assert result.rc == 0, result
    (state,) = result.data.values()
    assert state["result"] is True
    assert state["changes"] == {}


def test_downgrade_dry_run_returns_the_plan(tmp_path, pkg_root):
    minion = Minion(tmp_path, "extension", klp_root=pkg_root.root, env=pkg_root.env)
    package, before = _only_package(pkg_root)
    result = minion.call("klp.downgrade", "to=1", "dry_run=True")
    assert result.rc == 0, result
    plan = result.data
    assert plan["package"] == package
    assert plan["from"] == before
    assert plan["to"].startswith("1-")
    assert plan["dry_run"] is True
    assert plan["changed"] is False
    assert plan["command"] and isinstance(plan["command"], list)
    assert pkg_root.installed() == {package: before}


def test_downgrade_to_previous_version(tmp_path, pkg_root):
    minion = Minion(tmp_path, "extension", klp_root=pkg_root.root, env=pkg_root.env)
    package, before = _only_package(pkg_root)
    assert before.startswith("3-")
    result = minion.call("klp.downgrade")
    assert result.rc == 0, result
    report = result.data
    assert report["changed"] is True
    assert report["from"] == before
    after = pkg_root.installed()[package]
    assert after.startswith("2-")
    assert report["installed_after"] == after
    assert report["patch_before"] != report["patch_after"]


def test_patches_verbose_names_the_package(tmp_path, pkg_root):
    minion = Minion(tmp_path, "extension", klp_root=pkg_root.root, env=pkg_root.env)
    package, installed = _only_package(pkg_root)
    result = minion.call("klp.patches", "verbose=1")
    assert result.rc == 0, result
    (patch,) = result.data["patches"]
    assert patch["package"]["name"] == package
    assert "{}-{}".format(patch["package"]["version"], patch["package"]["release"]) == installed


def test_downgrade_errors_carry_klps_code(tmp_path, pkg_root):
    minion = Minion(tmp_path, "extension", klp_root=pkg_root.root, env=pkg_root.env)
    package, before = _only_package(pkg_root)
    result = minion.call("klp.downgrade", "to=99")
    assert result.rc != 0, result
    assert "klp downgrade failed [version_newer]" in result.output
    assert pkg_root.installed() == {package: before}


def test_patch_version_by_release_on_a_rhel_root(tmp_path):
    """Red Hat: every kpatch-patch is version 1, so the state takes
    VERSION-RELEASE (1-2, the dist tag implied), rolls back through dnf, and
    says that the loaded patch stays until a reboot."""
    root = rhel_root(tmp_path / "rhel")
    env = root["env"]
    minion = Minion(tmp_path / "minion", "extension", klp_root=root["root"], env=env)

    def state(*args):
        result = minion.call("state.single", "klp.patch_version", "name=" + root["package"], *args)
        (ret,) = result.data.values()
        return result.rc, ret

    rc, planned = state("version=1-2", "test=True")
    assert (rc, planned["result"]) == (0, None), planned
    assert planned["changes"] == {"old": root["versions"]["1-3"], "new": root["versions"]["1-2"]}
    rc, applied = state("version=1-2")
    assert (rc, applied["result"]) == (0, True), applied
    assert applied["changes"] == {"old": root["versions"]["1-3"], "new": root["versions"]["1-2"]}
    assert "next boot" in applied["comment"] and any("reboot" in w for w in applied["warnings"]), applied
    rc, again = state("version=1-2")
    assert (rc, again["result"], again["changes"]) == (0, True, {}), again
    # A bare VERSION names no Red Hat release: klp's own error, nothing changed.
    rc, bare = state("version=1")
    assert rc == 2 and bare["result"] is False and "VERSION-RELEASE" in bare["comment"], bare
    rpm = subprocess.run(["rpm", "--root", root["root"], "--dbpath", "/var/lib/rpm", "-q", "--qf",
                          "%{VERSION}-%{RELEASE}", root["package"]], env=dict(os.environ, **env),
                         capture_output=True, text=True, check=True)
    assert rpm.stdout == root["versions"]["1-2"]
