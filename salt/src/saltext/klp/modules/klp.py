"""
Kernel live patching: query the state and roll back live patches with ``klp``.

Every function runs the ``klp`` binary (no shell) and returns its JSON report
as data. A klp error raises ``CommandExecutionError`` whose message carries
klp's stable error code and message, e.g.
``klp downgrade failed [version_newer]: ...``.

Configuration (minion config, grains or pillar, read with ``config.get``):

``klp.binary``
    Name or absolute path of the klp binary (default ``klp``, looked up in PATH).
``klp.root``
    Inspect the system mounted at this directory instead of ``/`` (klp's
    ``--root``); every function also takes ``root=`` to override it per call.

This file is shipped once: the ``saltext.klp`` Python package loads it
through Salt's ``salt.loader`` entry point, and the file root's
``_modules/klp.py`` is a symlink to it. So it imports nothing from its package.
"""

import json
import os

import salt.utils.path
from salt.exceptions import CommandExecutionError, SaltInvocationError

__virtualname__ = "klp"

# klp's exit statuses (see `klp --help`).
_EXIT_OK = 0
_EXIT_IN_PROGRESS = 1


def __virtual__():
    binary = _configured_binary()
    if _resolve_binary(binary) is None:
        return (
            False,
            "the klp execution module needs the klp binary: {!r} was not found "
            "(install the klp package: state.apply livepatch.install with pillar "
            "klp:repo_url, or zypper/dnf install klp from its repository; or set "
            "'klp.binary' in the minion config or pillar to its path)".format(binary),
        )
    return __virtualname__


def _config(key, default):
    # config.get looks in the minion config, grains and pillar, in that order.
    try:
        return __salt__["config.get"](key, default)
    except KeyError:
        # config.get is not loaded yet in some loader contexts.
        return __opts__.get(key, __pillar__.get(key, default))


def _configured_binary():
    return str(_config("klp.binary", "klp") or "klp")


def _resolve_binary(binary):
    if os.path.isabs(binary):
        return binary if os.access(binary, os.X_OK) and os.path.isfile(binary) else None
    return salt.utils.path.which(binary)


def _binary():
    configured = _configured_binary()
    resolved = _resolve_binary(configured)
    if resolved is None:
        raise CommandExecutionError(
            "klp binary {!r} not found (set 'klp.binary')".format(configured)
        )
    return resolved


def _root(root):
    if root is None:
        root = _config("klp.root", None)
    if root in (None, ""):
        return None
    return str(root)


def _verbosity(verbose):
    try:
        level = int(verbose)
    except (TypeError, ValueError):
        level = -1
    if isinstance(verbose, bool) or level not in (0, 1, 2):
        raise SaltInvocationError(
            "verbose must be 0, 1 or 2, not {!r}".format(verbose)
        )
    return ["-v"] * level


def _seconds(name, value):
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not seconds >= 0:
        raise SaltInvocationError(
            "{} must be a number of seconds >= 0, not {!r}".format(name, value)
        )
    # klp takes plain decimal numbers; keep integers free of a ".0".
    return str(int(seconds)) if seconds.is_integer() else repr(seconds)


def _run(command, args, root=None, ok_exit_codes=(_EXIT_OK,)):
    """
    Runs ``klp --format json [--root ROOT] COMMAND ARGS...`` and returns
    ``(report, exit_code)``. Raises CommandExecutionError on klp's error
    document, on an unexpected exit status or on output that is not JSON.
    """
    argv = [_binary(), "--format", "json"]
    root = _root(root)
    if root is not None:
        argv.append("--root=" + root)
    argv += [command] + list(args)
    result = __salt__["cmd.run_all"](
        argv,
        python_shell=False,
        # klp's exit status 1 is an answer for `check`; we judge it ourselves.
        ignore_retcode=True,
        output_loglevel="debug",
    )
    exit_code = result["retcode"]
    stdout = result.get("stdout", "")
    try:
        report = json.loads(stdout)
    except ValueError:
        raise CommandExecutionError(
            "klp {} printed no JSON document (exit status {}): {}".format(
                command, exit_code, (result.get("stderr") or stdout).strip()
            ),
            info={"exit_code": exit_code, "stdout": stdout, "stderr": result.get("stderr")},
        )
    if not isinstance(report, dict):
        raise CommandExecutionError(
            "klp {} printed JSON that is not an object".format(command)
        )
    error = report.get("error")
    if isinstance(error, dict):
        raise CommandExecutionError(
            "klp {} failed [{}]: {}".format(command, error.get("code"), error.get("message")),
            info=dict(error, exit_code=exit_code),
        )
    if exit_code not in ok_exit_codes:
        raise CommandExecutionError(
            "klp {} exited with status {}: {}".format(
                command, exit_code, (result.get("stderr") or "").strip()
            ),
            info={"exit_code": exit_code, "report": report},
        )
    return report, exit_code


def status(root=None):
    """
    Return the live patching state: ``state`` (``ready`` or ``in_progress``),
    whether live patching is supported, the kernel release, how many patches
    are loaded and enabled, the patch in transition, and the livepatch taint.

    root
        Inspect the system mounted at this directory (default: ``klp.root``
        from the config, else ``/``).

    CLI Example:

    .. code-block:: bash

        salt '*' klp.status
    """
    return _run("status", [], root=root)[0]


def check(wait=False, timeout=None, interval=None, root=None):
    """
    Return the status report, and with ``wait=True`` first wait until no
    transition is in progress or ``timeout`` seconds pass (the report then has
    a ``wait`` section: ``waited_seconds``, ``timed_out``, ``polls``).

    A transition still in progress is an answer, not an error: the report
    says ``state: in_progress`` and the job's return code is set to 1, as
    ``klp check``'s exit status (see ``salt-call --retcode-passthrough``).

    wait
        Wait for the transition to finish.
    timeout
        Longest wait in seconds (klp's default: 300). Needs ``wait=True``.
    interval
        Seconds between two reads of the state (klp's default: 1).
    root
        Inspect the system mounted at this directory.

    CLI Example:

    .. code-block:: bash

        salt '*' klp.check
        salt '*' klp.check wait=True timeout=60
    """
    args = []
    if wait:
        args.append("--wait")
        if timeout is not None:
            args.append("--timeout=" + _seconds("timeout", timeout))
        if interval is not None:
            args.append("--interval=" + _seconds("interval", interval))
    elif timeout is not None or interval is not None:
        raise SaltInvocationError("timeout and interval need wait=True")
    report, exit_code = _run(
        "check", args, root=root, ok_exit_codes=(_EXIT_OK, _EXIT_IN_PROGRESS)
    )
    if exit_code == _EXIT_IN_PROGRESS:
        __context__["retcode"] = _EXIT_IN_PROGRESS
    return report


def patches(verbose=0, refresh=False, root=None):
    """
    Return the loaded live patches with their objects and patched functions.

    verbose
        Detail level: 0 the patches; 1 adds the package that shipped each
        patch and the CVEs and bug fixes from its changelog; 2 adds support
        expiry and available updates.
    refresh
        With ``verbose=2``: refresh the repositories before looking for updates.
    root
        Inspect the system mounted at this directory.

    CLI Example:

    .. code-block:: bash

        salt '*' klp.patches
        salt '*' klp.patches verbose=1
    """
    args = _verbosity(verbose)
    if refresh:
        args.append("--refresh")
    return _run("patches", args, root=root)[0]


def blocking(verbose=0, root=None):
    """
    Return the threads that keep the current transition from finishing, with
    the patched functions found on their stacks. ``complete: False`` means some
    threads could not be read: an empty list then does not mean "ready".

    verbose
        Detail level: 1 adds command lines, 2 kernel stacks too.
    root
        Inspect the system mounted at this directory.

    CLI Example:

    .. code-block:: bash

        salt '*' klp.blocking
        salt '*' klp.blocking verbose=2
    """
    return _run("blocking", _verbosity(verbose), root=root)[0]


def downgrade(to=None, dry_run=False, root=None):
    """
    Replace the live patch package of the running kernel with its previous
    version, or with version ``to``. Runs non-interactively (klp's ``-n``):
    a minion has no terminal to confirm on.

    Returns klp's report: ``package``, ``from`` and ``to`` (editions
    ``VERSION-RELEASE``), ``changed``, the package-manager ``command``,
    ``installed_after``, ``patch_before`` and ``patch_after``. Asking for the
    installed version changes nothing (``changed: False``); a newer version
    fails with klp's ``version_newer`` error.

    to
        Package version to go to (e.g. ``3``), default: the previous one.
    dry_run
        Only report the plan, change nothing.
    root
        Act on the system mounted at this directory (rpm and zypper too).

    CLI Example:

    .. code-block:: bash

        salt '*' klp.downgrade
        salt '*' klp.downgrade to=3 dry_run=True
    """
    args = ["-n"]
    if to is not None:
        to = str(to).strip()
        if not to:
            raise SaltInvocationError("to must be a package version such as 3")
        args.append("--to=" + to)
    if dry_run:
        args.append("--dry-run")
    return _run("downgrade", args, root=root)[0]
