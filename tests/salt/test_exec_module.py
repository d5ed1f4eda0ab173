"""The `klp` execution module under real salt-call, on fixture trees."""

import pytest

from conftest import KLP_BIN, Minion, klp_json, rhel_root

SCENARIOS = ["unsupported", "none", "ready", "stuck", "reversed", "several"]


@pytest.fixture(scope="module")
def minion(tmp_path_factory):
    """Modules from the pip-installed extension; no klp.root configured."""
    return Minion(tmp_path_factory.mktemp("exec"), "extension")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_status_returns_klps_report(minion, make_fixture, scenario):
    root = make_fixture(scenario)
    result = minion.call("klp.status", "root={}".format(root))
    assert result.rc == 0, result
    rc, expected = klp_json("--root", root, "status")
    assert rc == 0
    assert result.data == expected
    assert result.data["state"] == ("in_progress" if scenario in ("stuck", "reversed") else "ready")
    assert result.data["supported"] is (scenario != "unsupported")


def test_check_ready_exits_zero(minion, make_fixture):
    result = minion.call("klp.check", "root={}".format(make_fixture("ready")))
    assert result.rc == 0, result
    assert result.data["state"] == "ready"
    assert "wait" not in result.data


def test_check_in_progress_sets_retcode_one(minion, make_fixture):
    root = make_fixture("reversed")
    result = minion.call("klp.check", "root={}".format(root))
    # Like `klp check`: exit status 1 while a transition is in progress.
    assert result.rc == 1, result
    assert result.data["state"] == "in_progress"
    assert result.data["transition"]["direction"] == "unpatching"
    _, expected = klp_json("--root", root, "check")
    assert result.data == expected


def test_check_wait_times_out(minion, make_fixture):
    result = minion.call(
        "klp.check", "wait=True", "timeout=1", "interval=0.25",
        "root={}".format(make_fixture("stuck")),
    )
    assert result.rc == 1, result
    wait = result.data["wait"]
    assert wait["timed_out"] is True
    assert wait["timeout_seconds"] == 1
    assert wait["interval_seconds"] == 0.25
    assert wait["waited_seconds"] >= 1
    assert wait["polls"] >= 2


def test_check_wait_returns_at_once_when_ready(minion, make_fixture):
    result = minion.call("klp.check", "wait=True", "timeout=30", "root={}".format(make_fixture("ready")))
    assert result.rc == 0, result
    assert result.data["wait"]["timed_out"] is False
    assert result.data["wait"]["waited_seconds"] < 5


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_patches_detail_levels(minion, make_fixture, verbose):
    root = make_fixture("several")
    result = minion.call("klp.patches", "verbose={}".format(verbose), "root={}".format(root))
    assert result.rc == 0, result
    flags = ["-v"] * verbose
    _, expected = klp_json("--root", root, *flags, "patches")
    assert result.data == expected
    assert result.data["verbosity"] == verbose
    assert len(result.data["patches"]) >= 2


def test_blocking_names_the_threads(minion, make_fixture):
    root = make_fixture("stuck")
    result = minion.call("klp.blocking", "verbose=1", "root={}".format(root))
    assert result.rc == 0, result
    _, expected = klp_json("--root", root, "-v", "blocking")
    assert result.data == expected
    assert result.data["threads"], "the stuck scenario has blocking threads"


def test_root_from_minion_config_and_override(tmp_path, make_fixture):
    minion = Minion(tmp_path, "extension", klp_root=make_fixture("stuck"))
    configured = minion.call("klp.status")
    assert configured.rc == 0, configured
    assert configured.data["state"] == "in_progress"
    overridden = minion.call("klp.status", "root={}".format(make_fixture("ready")))
    assert overridden.rc == 0, overridden
    assert overridden.data["state"] == "ready"


def test_root_and_binary_from_pillar(tmp_path, make_fixture):
    pillar_dir = tmp_path / "pillar"
    pillar_dir.mkdir()
    (pillar_dir / "top.sls").write_text("base:\n  '*':\n    - klp\n")
    (pillar_dir / "klp.sls").write_text(
        "klp.root: {}\nklp.binary: {}\n".format(make_fixture("reversed"), KLP_BIN)
    )
    minion = Minion(
        tmp_path / "minion", "extension", klp_bin=None,
        extra_config={"pillar_roots": {"base": [str(pillar_dir)]}},
    )
    result = minion.call("klp.status")
    assert result.rc == 0, result
    assert result.data["transition"]["direction"] == "unpatching"


def test_klp_error_fails_salt_call_with_klps_message(minion, tmp_path):
    missing_root = tmp_path / "no-such-root"
    result = minion.call("klp.status", "root={}".format(missing_root))
    assert result.rc != 0, result
    rc, expected = klp_json("--root", missing_root, "status")
    assert rc == 1
    error = expected["error"]
    assert "[{}]".format(error["code"]) in result.output
    assert error["message"] in result.output


def test_downgrade_without_package_layer_fails_with_klps_error(minion, make_fixture):
    root = make_fixture("ready")
    result = minion.call("klp.downgrade", "dry_run=True", "root={}".format(root))
    assert result.rc != 0, result
    _, expected = klp_json("--root", root, "-n", "downgrade", "--dry-run")
    error = expected["error"]
    assert "klp downgrade failed [{}]".format(error["code"]) in result.output
    assert error["message"] in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["klp.patches", "verbose=5"], "verbose must be 0, 1 or 2, not 5"),
        (["klp.blocking", "verbose=x"], "verbose must be 0, 1 or 2, not 'x'"),
        (["klp.check", "wait=True", "timeout=-1"], "timeout must be a number of seconds >= 0"),
        (["klp.check", "timeout=5"], "timeout and interval need wait=True"),
        (["klp.downgrade", "to="], "to must be a package version"),
    ],
)
def test_bad_arguments_are_refused(minion, make_fixture, args, message):
    result = minion.call(*args, "root={}".format(make_fixture("ready")))
    assert result.rc != 0, result
    assert message in result.output


def test_virtual_explains_a_missing_binary(tmp_path):
    minion = Minion(tmp_path, "extension", klp_bin=tmp_path / "missing" / "klp")
    result = minion.call("klp.status")
    assert result.rc != 0, result
    assert "'klp' __virtual__ returned False" in result.output
    assert "missing/klp' was not found" in result.output


def test_every_function_documents_a_cli_example(minion):
    result = minion.call("sys.doc", "klp")
    assert result.rc == 0, result
    functions = {"klp.status", "klp.check", "klp.patches", "klp.blocking", "klp.downgrade"}
    assert functions <= set(result.data), result.data.keys()
    for function in functions:
        assert "CLI Example:" in result.data[function], function


def test_patches_on_a_rhel_root(minion, tmp_path):
    """Red Hat family: the same execution module, klp's Red Hat backend answers
    (a private rpm/dnf root from tests/pkg/mkroot_dnf.py, kpatch-patch 1-3)."""
    root = rhel_root(tmp_path / "rhel")
    env = root["env"]
    result = minion.call("klp.patches", "verbose=1", "root={}".format(root["root"]), env=env)
    assert result.rc == 0, result
    _, expected = klp_json("--root", root["root"], "-v", "patches", env=env)
    assert result.data == expected
    assert result.data["backend"]["name"] == "redhat"
    package = result.data["patches"][0]["package"]
    assert package["nevra"] == "kpatch-patch-5_14_0-427_13_1-1-3.el9_4.x86_64"
    assert "CVE-2024-26600" in package["cves"] and "RHEL-30010" in package["fixes"]
