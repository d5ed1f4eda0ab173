"""
The ``klp`` grain: the kernel live patching state of the minion, from one
``klp assess`` run, so that hosts can be targeted by it::

    salt -G 'klp:reboot_required:True' test.ping
    salt -G 'klp:verdict:critical' klp.assess

Keys: ``state`` (``ready``/``in_progress``), ``verdict`` (``ok``,
``warning``, ``critical``, ``unknown``), ``reboot_required`` (True, False,
None when klp could not tell), ``version`` (the package version of the top
enabled live patch) and ``days_left`` (days of support left for it); None
where klp does not know. ``error`` holds klp's error code when it failed.

Grains are computed when the minion starts and on ``saltutil.refresh_grains``
(or ``saltutil.sync_grains``): they are a snapshot, ``klp.assess`` is the
live answer. ``klp.binary`` and ``klp.root`` are read from the minion config,
then from the pillar the minion has compiled (so a refresh after the pillar
is there picks them up). The grain is omitted where there is no klp binary.

This file is shipped once: the ``saltext.klp`` package and the file root's
``_grains/klp.py`` (a symlink). So it imports nothing from its package.
"""

import json
import os
import shutil
import subprocess

__virtualname__ = "klp"

# klp assess exits 0-3 with a report; anything slower than this is stuck I/O.
_TIMEOUT_SECONDS = 120


def __virtual__():
    return __virtualname__


def _setting(key, default=None):
    value = __opts__.get(key)
    if value in (None, ""):
        value = (__opts__.get("pillar") or {}).get(key)
    return default if value in (None, "") else str(value)


def _binary():
    configured = _setting("klp.binary", "klp")
    if os.path.isabs(configured):
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which(configured)


def klp():
    """The ``klp`` grain (see the module doc)."""
    binary = _binary()
    if binary is None:
        return {}
    argv = [binary, "--format", "json"]
    root = _setting("klp.root")
    if root is not None:
        argv.append("--root=" + root)
    argv.append("assess")
    grain = {"state": None, "verdict": None, "reboot_required": None, "version": None, "days_left": None}
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False)
        report = json.loads(proc.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        grain["error"] = "klp assess gave no report: {}".format(exc)
        return {"klp": grain}
    if not isinstance(report, dict) or isinstance(report.get("error"), dict):
        error = report.get("error") if isinstance(report, dict) else None
        grain["error"] = (error or {}).get("code", "invalid_output")
        return {"klp": grain}
    facts = report.get("facts") or {}
    enabled = [patch for patch in facts.get("patches") or [] if patch.get("enabled")]
    top = enabled[-1] if enabled else {}
    grain.update(
        state=facts.get("state"),
        verdict=report.get("verdict"),
        reboot_required=report.get("reboot_required"),
        version=top.get("version"),
        days_left=top.get("days_left"),
    )
    return {"klp": grain}
