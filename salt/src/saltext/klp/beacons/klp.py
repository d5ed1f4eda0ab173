"""
A beacon on the live patching state: runs ``klp.assess`` every ``interval``
seconds and fires an event when

- a transition is stuck past ``stuck_after`` seconds (tag suffix ``transition_stuck``),
- the support of a loaded live patch has ended (``support_expired``),
- klp's verdict changes from one run to the next (``verdict_changed``).

Each fires once when its condition starts (not on every run while it lasts);
the verdict is remembered across runs in the beacon's context. Events go to
``salt/beacon/<minion id>/klp/<suffix>`` with the data ``verdict``,
``previous_verdict``, ``reboot_required``, ``findings`` (codes) and the
finding that fired (``finding``), so that a reactor can act.

.. code-block:: yaml

    beacons:
      klp:
        - interval: 60          # seconds between two runs (Salt's own beacon option)
        - stuck_after: 300      # klp assess --stuck-after
        - expiry_warning: 30    # klp assess --expiry-warning (days)

The root (``klp.root``) and binary (``klp.binary``) are the execution
module's settings.

This file is shipped once: the ``saltext.klp`` package and the file root's
``_beacons/klp.py`` (a symlink). So it imports nothing from its package.
"""

__virtualname__ = "klp"

_OPTIONS = ("stuck_after", "expiry_warning", "expiry_critical")
_EDGE_FINDINGS = ("transition_stuck", "support_expired")


def __virtual__():
    if "klp.assess" in __salt__:
        return __virtualname__
    return (
        False,
        "the klp beacon needs the klp execution module, which needs the klp binary "
        "(install klp, or set 'klp.binary' in the minion config or pillar to its path)",
    )


def _config(config):
    merged = {}
    for item in config if isinstance(config, list) else [config]:
        if isinstance(item, dict):
            merged.update(item)
    return merged


def validate(config):
    """Salt's beacon check: a list of one-key dicts, known options, numbers."""
    if not isinstance(config, list):
        return False, "the klp beacon's configuration must be a list"
    merged = _config(config)
    unknown = sorted(set(merged) - set(_OPTIONS) - {"interval", "disable_during_state_run"})
    if unknown:
        return False, "unknown option(s) of the klp beacon: {}".format(", ".join(unknown))
    for option in _OPTIONS:
        value = merged.get(option)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            return False, "{} of the klp beacon must be a number >= 0, not {!r}".format(option, value)
    return True, "valid beacon configuration"


def beacon(config):
    """One run: the events whose condition started since the last run."""
    options = _config(config)
    assessment = __salt__["klp.assess"](**{key: options[key] for key in _OPTIONS if key in options})
    codes = [finding.get("code") for finding in assessment.get("findings") or []]
    verdict = assessment.get("verdict")
    seen = __context__.setdefault("klp.beacon", {"verdict": None, "active": []})
    data = {
        "verdict": verdict,
        "previous_verdict": seen["verdict"],
        "reboot_required": assessment.get("reboot_required"),
        "findings": codes,
    }
    events = []
    for code in _EDGE_FINDINGS:
        if code in codes and code not in seen["active"]:
            finding = next(f for f in assessment["findings"] if f.get("code") == code)
            events.append(dict(data, tag=code, finding=finding))
    if seen["verdict"] is not None and verdict != seen["verdict"]:
        events.append(dict(data, tag="verdict_changed", finding=None))
    seen["verdict"] = verdict
    seen["active"] = [code for code in _EDGE_FINDINGS if code in codes]
    return events
