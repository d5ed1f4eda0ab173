"""
A real salt-master and salt-minions on loopback (pytest-salt-factories, the
Salt project's own harness), with the extension installed (PYTHONPATH) and
the real klp: each minion's klp root comes from its own pillar.

  klp-minion-1  fixture root "ready" (no rpm database: verdict unknown); its
                beacon watches it, and the test makes it stuck
  klp-minion-2  fixture root "stuck", a transition started long ago
  klp-minion-3  a real rpm root (tests/pkg/mkroot.py), support far away: ok
  klp-minion-4  accepted, then stopped: it never answers
"""

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import EXT_SITE, FIXTURE_BIN, KLP_BIN, klp_json

pytest.importorskip("saltfactories", reason="the salt venv has pytest-salt-factories (tests/salt/run.sh)")

MINIONS = ("klp-minion-1", "klp-minion-2", "klp-minion-3")
GONE = "klp-minion-4"
CVE = "CVE-2025-21040"  # fixed by live patch 4, so in the changelog of 5 (tests/pkg/mkroot.py)
UPTIME = 5000.0


def kernel_log(root, *records):
    """dev/kmsg (records from boot, sequence 0 first) and proc/uptime, as klp reads them in fixtures."""
    lines = ["6,0,0,-;Linux version 6.4.0-150600.23.22-default"]
    lines += ["5,{},{},-;{}".format(seq, int(at * 1e6), text) for seq, (at, text) in enumerate(records, 1)]
    (root / "dev").mkdir(exist_ok=True)
    (root / "dev" / "kmsg").write_text("\n".join(lines) + "\n")
    (root / "proc" / "uptime").write_text("{:.2f} {:.2f}\n".format(UPTIME, UPTIME * 1.5))


def stuck_log(root):
    kernel_log(root, (1400.0, "livepatch: 'livepatch_2_150600_2_1': starting patching transition"))


def fixture_tree(scenario, path):
    subprocess.run([str(FIXTURE_BIN), scenario, str(path)], check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def salt_factories_config():
    """Daemons under a short temp dir (unix socket paths are limited to 107 bytes), removed at the end."""
    root = tempfile.mkdtemp(prefix="klp-salt-")
    # The harness's log server listens on loopback only (its default is every interface).
    yield {"root_dir": root, "log_server_host": "127.0.0.1"}
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def roots(tmp_path_factory, pkg_root):
    base = tmp_path_factory.mktemp("minion-roots")
    one = fixture_tree("ready", base / "one")
    kernel_log(one)
    two = fixture_tree("stuck", base / "two")
    stuck_log(two)
    three = Path(pkg_root.root)
    lifecycle = three / "usr" / "share" / "lifecycle" / "data"
    lifecycle.mkdir(parents=True, exist_ok=True)
    (lifecycle / "klp-salt.lifecycle").write_text("kernel-livepatch-*, *, 2099-12-31\n")
    kernel_log(three)
    return {"klp-minion-1": one, "klp-minion-2": two, "klp-minion-3": three}


@pytest.fixture(scope="module")
def master(salt_factories, roots, pkg_root, tmp_path_factory):
    pillar = tmp_path_factory.mktemp("pillar")
    (pillar / "top.sls").write_text(
        "base:\n" + "".join("  '{0}':\n    - {1}\n".format(m, m.replace("-", "_")) for m in roots)
    )
    for minion, root in roots.items():
        (pillar / "{}.sls".format(minion.replace("-", "_"))).write_text("klp.root: {}\n".format(root))
    # The daemons find the extension on PYTHONPATH; klp's rpm (Debian's) finds the
    # SUSE database path through HOME (every mkroot root's .rpmmacros says the same).
    salt_factories.environ.update(pkg_root.env, PYTHONPATH=EXT_SITE, PYTHONDONTWRITEBYTECODE="1")
    salt_factories.environ.pop("KLP_ROOT", None)
    factory = salt_factories.salt_master_daemon(
        "klp-master", overrides={"pillar_roots": {"base": [str(pillar)]}, "timeout": 30}
    )
    with factory.started():
        yield factory


@pytest.fixture(scope="module")
def minions(master):
    started = []
    for minion in MINIONS + (GONE,):
        overrides = {"klp.binary": str(KLP_BIN)}
        if minion == "klp-minion-1":
            overrides["beacons"] = {"klp": [{"interval": 1}, {"stuck_after": 300}]}
        factory = master.salt_minion_daemon(minion, overrides=overrides)
        factory.start()
        started.append(factory)
    # klp-minion-4 has an accepted key and is gone: it never answers.
    started[-1].terminate()
    yield {factory.id: factory for factory in started}
    for factory in started[:-1]:
        factory.terminate()


@pytest.fixture(scope="module")
def salt_cli(master, minions, salt_factories):
    # The CLIs do not inherit the daemons' environment: salt-run runs the runner itself.
    return master.salt_cli(timeout=60, environ=dict(salt_factories.environ))


@pytest.fixture(scope="module")
def salt_run(master, minions, salt_factories):
    return master.salt_run_cli(timeout=120, environ=dict(salt_factories.environ))


def test_assess_across_minions_uses_each_minions_pillar_root(salt_cli, roots, pkg_root):
    ret = salt_cli.run("-L", "klp.assess", "cves=[{}]".format(CVE), minion_tgt=",".join(MINIONS))
    data = ret.data
    assert set(data) >= set(MINIONS), ret
    for minion in MINIONS:
        _, expected = klp_json("--root", roots[minion], "assess", "--cve=" + CVE, env=pkg_root.env)
        assert data[minion]["verdict"] == expected["verdict"], (minion, data[minion])
        assert data[minion]["findings"] == expected["findings"]
    assert data["klp-minion-1"]["verdict"] == "unknown"
    assert "transition_stuck" in [f["code"] for f in data["klp-minion-2"]["findings"]]
    assert data["klp-minion-3"]["verdict"] == "ok", data["klp-minion-3"]


def _grain(salt_cli, minion):
    return salt_cli.run("grains.get", "klp", minion_tgt=minion).data


def test_grains_target_minions_by_verdict(salt_cli):
    refreshed = salt_cli.run("-L", "saltutil.refresh_grains", minion_tgt=",".join(MINIONS))
    assert refreshed.returncode == 0, refreshed
    deadline = time.time() + 60
    while time.time() < deadline:
        grains = {m: _grain(salt_cli, m) for m in MINIONS}
        if all(isinstance(g, dict) and g.get("verdict") for g in grains.values()):
            break
        time.sleep(1)
    assert grains["klp-minion-2"]["verdict"] == "critical", grains
    assert grains["klp-minion-2"]["state"] == "in_progress"
    assert grains["klp-minion-3"]["verdict"] == "ok" and grains["klp-minion-3"]["version"] == "5"
    assert grains["klp-minion-3"]["days_left"] > 365 * 50
    # The master matches on the grains it has cached: klp-minion-4's (klp on this
    # host's own /, unsupported: critical) too, and it does not answer.
    answered = lambda ret: {m for m, v in ret.data.items() if v is True}  # noqa: E731
    targeted = salt_cli.run("-G", "test.ping", minion_tgt="klp:verdict:critical")
    assert answered(targeted) == {"klp-minion-2"}, targeted
    targeted = salt_cli.run("-G", "test.ping", minion_tgt="klp:reboot_required:False")
    assert answered(targeted) == {"klp-minion-3"}, targeted


def test_runner_report_summarizes_the_fleet_and_names_the_silent_minion(salt_run):
    ret = salt_run.run("klp.report", "cves=[{}]".format(CVE), "timeout=20")
    report = ret.data
    assert isinstance(report, dict), ret
    print(json.dumps(report, indent=1))
    assert report["hosts_total"] == 4
    assert report["by_verdict"]["ok"] == ["klp-minion-3"]
    assert "klp-minion-2" in report["by_verdict"]["critical"]
    assert report["by_verdict"]["unknown"] == ["klp-minion-1"]
    assert "klp-minion-2" in report["by_finding"]["transition_stuck"]
    assert report["cves_unknown"]["klp-minion-1"] == [CVE]
    assert "klp-minion-3" not in report["cves_missing"]
    assert report["not_assessed"] == {
        GONE: {"reason": "unreachable", "message": "the minion did not return (no response in time)"}
    }
    # A string return: the CLI's JSON output is the quoted text (salt-factories parses no data from it).
    text = salt_run.run("klp.report", "timeout=20", "markdown=True").stdout
    assert "| ok | 1 | klp-minion-3 |" in text, text
    assert "| {} | unreachable |".format(GONE) in text
    assert "\n1 host must reboot: klp-minion-2\n" in text, text
    assert "\n1 host could not tell: klp-minion-1\n" in text, text


def test_beacon_event_reaches_the_master_when_a_root_becomes_stuck(master, minions, roots, event_listener):
    root = roots["klp-minion-1"]
    start = time.time()
    # The root becomes stuck: the stuck fixture's tree, with its kernel log.
    stuck = fixture_tree("stuck", root.parent / "one-stuck")
    stuck_log(stuck)
    for part in ("sys", "proc", "dev"):
        shutil.rmtree(root / part)
        shutil.move(str(stuck / part), str(root / part))
    events = event_listener.wait_for_events(
        [(master.id, "salt/beacon/klp-minion-1/klp/transition_stuck"),
         (master.id, "salt/beacon/klp-minion-1/klp/verdict_changed")],
        timeout=60, after_time=start,
    )
    assert events.found_all_events, events
    by_tag = {event.tag: event.data for event in events}
    stuck_event = by_tag["salt/beacon/klp-minion-1/klp/transition_stuck"]
    assert stuck_event["verdict"] == "critical"
    assert stuck_event["finding"]["subject"] == "livepatch_2_150600_2_1"
    changed = by_tag["salt/beacon/klp-minion-1/klp/verdict_changed"]
    assert (changed["previous_verdict"], changed["verdict"]) == ("unknown", "critical")
