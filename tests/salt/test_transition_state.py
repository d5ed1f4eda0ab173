"""The `klp.transition_ready` state under real salt-call, on fixture trees."""

from conftest import Minion

GATED_SLS = """
livepatch settled:
  klp.transition_ready:
    - timeout: 1
    - interval: 0.2

after the gate:
  test.succeed_with_changes:
    - require:
      - klp: livepatch settled
"""


def _gated_minion(tmp_path, root):
    minion = Minion(tmp_path, "extension", klp_root=root)
    (minion.base / "file_roots" / "gated.sls").write_text(GATED_SLS)
    return minion


def test_gate_passes_and_lets_dependents_run_when_ready(tmp_path, make_fixture):
    minion = _gated_minion(tmp_path, make_fixture("ready"))
    result = minion.call("state.apply", "gated")
    assert result.rc == 0, result
    states = result.states()
    gate = states["livepatch settled"]
    assert gate["result"] is True
    assert gate["changes"] == {}
    assert "No live patch transition in progress" in gate["comment"]
    assert states["after the gate"]["result"] is True
    assert states["after the gate"]["changes"], "the dependent state ran"


def test_gate_fails_after_timeout_and_blocks_dependents(tmp_path, make_fixture):
    minion = _gated_minion(tmp_path, make_fixture("stuck"))
    result = minion.call("state.apply", "gated")
    # salt-call's exit status for failed states.
    assert result.rc == 2, result
    states = result.states()
    gate = states["livepatch settled"]
    assert gate["result"] is False
    assert "still in progress after 1" in gate["comment"]
    assert "patching of " in gate["comment"]
    assert gate["duration"] >= 1000
    dependent = states["after the gate"]
    assert dependent["result"] is False
    assert "requisite failed" in dependent["comment"]
    assert dependent["changes"] == {}


def test_gate_in_test_mode_reads_once_and_predicts(tmp_path, make_fixture):
    minion = _gated_minion(tmp_path, make_fixture("stuck"))
    result = minion.call("state.apply", "gated", "test=True")
    assert result.rc == 0, result
    gate = result.states()["livepatch settled"]
    assert gate["result"] is None
    assert "would wait up to 1s" in gate["comment"]
    assert gate["duration"] < 1000, "test mode must not wait"


def test_gate_reports_klp_errors(tmp_path):
    minion = _gated_minion(tmp_path, tmp_path / "no-such-root")
    result = minion.call("state.apply", "gated")
    assert result.rc == 2, result
    gate = result.states()["livepatch settled"]
    assert gate["result"] is False
    assert "[root_not_found]" in gate["comment"]
    assert "does not exist or is not a directory" in gate["comment"]
    assert "Additional info" not in gate["comment"], "one line, not Salt's info dump"
