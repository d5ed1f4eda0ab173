"""
Kernel live patching states, built on the ``klp`` execution module.

.. code-block:: yaml

    livepatch at version 3:
      klp.patch_version:
        - version: 3        # on Red Hat, VERSION-RELEASE: 1-2

    livepatch transition finished:
      klp.transition_ready:
        - timeout: 120
        - require:
          - klp: livepatch at version 3

    livepatch healthy:
      klp.healthy:
        - allow: warning
        - require:
          - klp: livepatch transition finished

This file is shipped once: the ``saltext.klp`` Python package loads it
through Salt's ``salt.loader`` entry point, and the file root's
``_states/klp.py`` is a symlink to it. So it imports nothing from its package.
"""

from salt.exceptions import CommandExecutionError, SaltInvocationError

__virtualname__ = "klp"

# Package names klp manages (SUSE's and Red Hat's); a `name` like this must match.
_PACKAGE_PREFIXES = ("kernel-livepatch-", "kgraft-patch-", "kpatch-patch-")


def __virtual__():
    if "klp.status" in __salt__:
        return __virtualname__
    return (
        False,
        "the klp states need the klp execution module, which needs the klp binary "
        "(install klp, or set 'klp.binary' in the minion config or pillar to its path)",
    )


def _error_code(exc):
    info = getattr(exc, "info", None)
    return info.get("code") if isinstance(info, dict) else None


def _message(exc):
    # CommandExecutionError appends its info dict to str(); the first line
    # already holds klp's code and message.
    return getattr(exc, "error", None) or str(exc)


def patch_version(name, version, root=None):
    """
    Ensure the live patch package of the running kernel is at ``version``,
    rolling it back with ``klp downgrade --to VERSION`` when it is newer
    (zypper on SUSE, dnf on Red Hat).

    Live patches are cumulative and installing a newer one is the package
    manager's job (``pkg.installed``/``pkg.latest``): asking for a version
    above the installed one fails and changes nothing.

    name
        The state's ID; when it is a package name (``kernel-livepatch-...``,
        ``kpatch-patch-...``) it must be the package klp finds for the
        running kernel.
    version
        The package version to ensure (e.g. ``3``), or VERSION-RELEASE. On
        Red Hat every ``kpatch-patch`` is version 1 and its releases count
        up: give ``1-2`` (the installed package's dist tag is implied).
        Red Hat does not revert a loaded live patch without a reboot: the
        comment and a warning say so when the loaded patch stayed.
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

    _warn(ret, plan)
    package = plan.get("package")
    if name.startswith(_PACKAGE_PREFIXES) and name != package:
        ret["comment"] = (
            "{} is not the live patch package of the running kernel; klp manages {}".format(
                name, package
            )
        )
        return ret

    # klp resolves VERSION to the edition it would install (rpm's rules): the
    # same edition as installed means already there.
    installed, target = plan.get("from"), plan.get("to")
    if installed == target:
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

    _warn(ret, done)
    after = done.get("installed_after")
    if after is not None and after != installed:
        ret["changes"] = {"old": installed, "new": after}
    if after != target:
        ret["comment"] = "{} is at {} after the rollback, not version {}".format(
            package, after, version
        )
        return ret
    ret["result"] = True
    ret["comment"] = "{} rolled back from {} to {}; loaded patch {} -> {}".format(
        package, installed, after, done.get("patch_before"), done.get("patch_after")
    )
    if done.get("note"):  # Red Hat: the loaded patch stays until a reboot
        ret["comment"] += ". " + done["note"]
        ret.setdefault("warnings", []).append("klp: " + done["note"])
    return ret


def _warn(ret, *reports):
    """klp's warnings (each report's ``warnings``) into the state's ``warnings``."""
    for report in reports:
        for warning in (report or {}).get("warnings") or []:
            count = warning.get("count") or 1
            message = "klp: {}".format(warning.get("message") or warning.get("code"))
            if count > 1:
                message += " ({} affected)".format(count)
            if message not in ret.setdefault("warnings", []):
                ret["warnings"].append(message)


def _blockers(root):
    """``pid/tid comm (state)`` of each thread klp names as blocking, or why it cannot."""
    try:
        report = __salt__["klp.blocking"](verbose=1, root=root)
    except (CommandExecutionError, SaltInvocationError) as exc:
        return None, "the blocking threads could not be read: {}".format(_message(exc))
    names = [
        "{}/{} {} ({}{})".format(
            thread.get("pid"), thread.get("tid"), thread.get("comm"), thread.get("state"),
            ", kernel thread" if thread.get("kernel_thread") else "",
        )
        for thread in report.get("threads") or []
    ]
    if not report.get("complete", False):
        names.append("and maybe others: {} threads could not be read".format(report.get("threads_unreadable")))
    return report, "blocking threads: " + ("; ".join(names) if names else "none found")


def transition_ready(name, timeout=300, interval=1, root=None):
    """
    Wait until no live patch transition is in progress, up to ``timeout``
    seconds; fail if one is still in progress then, naming the threads that
    block it (``klp blocking``) and klp assess's findings (the transition's
    age, whether it is stuck). Changes nothing, so it serves as a gate in
    ``require``.

    name
        The state's ID.
    timeout
        Longest wait in seconds. Give the job as long on the master
        (``salt -t``, ``--async``; see the README).
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
    _warn(ret, report)

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
    blocking, blockers = _blockers(root)
    _warn(ret, blocking)
    ret["comment"] = "Live patch transition still in progress after {}s ({}); {}".format(
        waited, what, blockers
    )
    try:
        assessment = __salt__["klp.assess"](root=root)
    except (CommandExecutionError, SaltInvocationError) as exc:
        ret["comment"] += "; klp assess failed: {}".format(_message(exc))
        return ret
    _warn(ret, assessment)
    ret["comment"] += "; klp assess: {}".format(_findings(assessment))
    return ret


_VERDICT_ORDER = ("ok", "warning", "unknown", "critical")


def _findings(assessment):
    findings = assessment.get("findings") or []
    text = "verdict {}".format(assessment.get("verdict"))
    if findings:
        text += " (" + "; ".join("{}: {}".format(f.get("code"), f.get("message")) for f in findings) + ")"
    return text


def healthy(name, allow="ok", reboot_required=False, cves=None, stuck_after=None,
            expiry_warning=None, expiry_critical=None, root=None):
    """
    Require klp's verdict on this host (``klp assess``) to be no worse than
    ``allow``. Changes nothing, so it serves as a gate in ``require``.

    name
        The state's ID.
    allow
        The worst verdict that passes: ``ok`` (default), ``warning``,
        ``unknown`` or ``critical`` (order: ok, warning, unknown, critical).
    reboot_required
        When False (default), fail if klp says the host must reboot.
    cves
        CVE ids that must be fixed (``klp assess --cve``).
    stuck_after, expiry_warning, expiry_critical
        klp assess's thresholds (seconds, days, days).
    root
        Inspect the system mounted at this directory (default: ``klp.root``).

    .. code-block:: yaml

        livepatch healthy:
          klp.healthy:
            - allow: warning
            - cves: [CVE-2024-50115]
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    if allow not in _VERDICT_ORDER:
        ret["comment"] = "allow must be one of {}, not {!r}".format(", ".join(_VERDICT_ORDER), allow)
        return ret
    try:
        assessment = __salt__["klp.assess"](
            cves=cves, stuck_after=stuck_after, expiry_warning=expiry_warning,
            expiry_critical=expiry_critical, root=root,
        )
    except (CommandExecutionError, SaltInvocationError) as exc:
        ret["comment"] = "Cannot assess the live patching state: {}".format(_message(exc))
        return ret
    _warn(ret, assessment)
    verdict = assessment.get("verdict")
    # A verdict this module does not know is not counted as fine.
    rank = _VERDICT_ORDER.index(verdict) if verdict in _VERDICT_ORDER else len(_VERDICT_ORDER)
    failures = []
    if rank > _VERDICT_ORDER.index(allow):
        failures.append("verdict {} is worse than {}".format(verdict, allow))
    if not reboot_required and assessment.get("reboot_required") is True:
        failures.append("klp says the host must reboot ({})".format(
            ", ".join(assessment.get("reboot_reasons") or [])))
    ret["result"] = not failures
    ret["comment"] = "klp assess: {}{}".format(
        _findings(assessment), "; " + "; ".join(failures) if failures else ""
    )
    return ret
