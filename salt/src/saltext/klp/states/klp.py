"""
Kernel live patching states, built on the ``klp`` execution module.

.. code-block:: yaml

    livepatch at version 3:
      klp.patch_version:
        - version: 3

    livepatch transition finished:
      klp.transition_ready:
        - timeout: 120
        - require:
          - klp: livepatch at version 3

This file is shipped once: the ``saltext.klp`` Python package loads it
through Salt's ``salt.loader`` entry point, and the file root's
``_states/klp.py`` is a symlink to it. So it imports nothing from its package.
"""

from salt.exceptions import CommandExecutionError, SaltInvocationError

__virtualname__ = "klp"

# Package names klp manages (SUSE's naming); a `name` like this must match.
_PACKAGE_PREFIXES = ("kernel-livepatch-", "kgraft-patch-")


def __virtual__():
    if "klp.status" in __salt__:
        return __virtualname__
    return (False, "the klp states need the klp execution module (and its klp binary)")


def _error_code(exc):
    info = getattr(exc, "info", None)
    return info.get("code") if isinstance(info, dict) else None


def _message(exc):
    # CommandExecutionError appends its info dict to str(); the first line
    # already holds klp's code and message.
    return getattr(exc, "error", None) or str(exc)


def _edition_version(edition):
    # An edition is VERSION-RELEASE; VERSION holds no '-'.
    return str(edition).split("-", 1)[0]


def patch_version(name, version, root=None):
    """
    Ensure the live patch package of the running kernel is at ``version``,
    rolling it back with ``klp downgrade --to VERSION`` when it is newer.

    Live patches are cumulative and installing a newer one is the package
    manager's job (``pkg.installed``/``pkg.latest``): asking for a version
    above the installed one fails and changes nothing.

    name
        The state's ID; when it is a package name (``kernel-livepatch-...``)
        it must be the package klp finds for the running kernel.
    version
        The package version to ensure (e.g. ``3``), not the full edition.
    root
        Act on the system mounted at this directory (default: ``klp.root``).

    With ``test=True`` the plan comes from klp's ``--dry-run``: ``result``
    is ``None`` and ``changes`` shows ``{old, new}`` editions.
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    version = str(version).strip() if version is not None else ""
    if not version:
        ret["comment"] = "version is required, e.g. version: 3"
        return ret

    try:
        plan = __salt__["klp.downgrade"](to=version, dry_run=True, root=root)
    except (CommandExecutionError, SaltInvocationError) as exc:
        code = _error_code(exc)
        if code == "version_newer":
            ret["comment"] = (
                "Cannot go up to live patch version {}: klp only rolls back, and the "
                "installed package is older. Install the newer package with "
                "pkg.installed instead. ({})".format(version, _message(exc))
            )
        else:
            ret["comment"] = "Cannot plan live patch version {}: {}".format(version, _message(exc))
        return ret

    package = plan.get("package")
    if name.startswith(_PACKAGE_PREFIXES) and name != package:
        ret["comment"] = (
            "{} is not the live patch package of the running kernel; klp manages {}".format(
                name, package
            )
        )
        return ret

    installed, target = plan.get("from"), plan.get("to")
    if installed == target or _edition_version(installed) == version:
        ret["result"] = True
        ret["comment"] = "{} is already at version {} ({})".format(package, version, installed)
        return ret

    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = {"old": installed, "new": target}
        ret["comment"] = "{} would be rolled back from {} to {} with: {}".format(
            package, installed, target, " ".join(plan.get("command") or [])
        )
        return ret

    try:
        done = __salt__["klp.downgrade"](to=version, root=root)
    except (CommandExecutionError, SaltInvocationError) as exc:
        ret["comment"] = "Rolling {} back to version {} failed: {}".format(package, version, _message(exc))
        return ret

    after = done.get("installed_after")
    if after is not None and after != installed:
        ret["changes"] = {"old": installed, "new": after}
    if _edition_version(after) != version:
        ret["comment"] = "{} is at {} after the rollback, not version {}".format(
            package, after, version
        )
        return ret
    ret["result"] = True
    ret["comment"] = "{} rolled back from {} to {}; loaded patch {} -> {}".format(
        package, installed, after, done.get("patch_before"), done.get("patch_after")
    )
    return ret


def transition_ready(name, timeout=300, interval=1, root=None):
    """
    Wait until no live patch transition is in progress, up to ``timeout``
    seconds; fail if one is still in progress then. Changes nothing, so it
    serves as a gate in ``require``.

    name
        The state's ID.
    timeout
        Longest wait in seconds.
    interval
        Seconds between two reads of the state.
    root
        Inspect the system mounted at this directory (default: ``klp.root``).

    With ``test=True`` it reads the state once and does not wait.
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    try:
        if __opts__["test"]:
            report = __salt__["klp.check"](root=root)
        else:
            report = __salt__["klp.check"](
                wait=True, timeout=timeout, interval=interval, root=root
            )
    except (CommandExecutionError, SaltInvocationError) as exc:
        ret["comment"] = "Cannot read the live patching state: {}".format(_message(exc))
        return ret

    wait = report.get("wait")
    waited = wait.get("waited_seconds", 0) if isinstance(wait, dict) else 0
    if report.get("state") == "ready":
        ret["result"] = True
        ret["comment"] = "No live patch transition in progress"
        if wait is not None:
            ret["comment"] += " (waited {}s)".format(waited)
        return ret

    transition = report.get("transition") or {}
    what = "{} of {}".format(transition.get("direction"), transition.get("patch"))
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = "Live patch transition in progress ({}); would wait up to {}s".format(
            what, timeout
        )
        return ret
    ret["comment"] = (
        "Live patch transition still in progress after {}s ({}); "
        "see klp.blocking for the threads holding it".format(waited, what)
    )
    return ret
