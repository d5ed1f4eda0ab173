"""
The fleet report on the master: ``klp.assess`` on the targeted minions,
summarized as the Ansible role ``klp.livepatch.fleet_report`` does (the same
code: the utils module ``klp_fleet``): hosts by verdict and by finding,
hosts that must reboot, CVEs missing per host, and the minions that did not
answer or whose klp failed, with the reason.

.. code-block:: bash

    salt-run klp.report
    salt-run klp.report tgt='web*' cves='[CVE-2024-50115]' timeout=120
    salt-run klp.report tgt='G@os_family:Suse' tgt_type=compound markdown=True

This file is shipped once: the ``saltext.klp`` package and the file root's
``_runners/klp.py`` (a symlink). The summary code is the utils module
``klp_fleet``: synced from the file root's ``_utils`` (``salt-run
saltutil.sync_all``), or, installed as an extension (Salt loads no utils from
extensions), imported from the package.
"""

import salt.client
import salt.utils.minions

__virtualname__ = "klp"

_NO_RETURN = "the minion did not return (no response in time)"


def _fleet():
    """The klp_fleet utils module's (summarize, markdown), or None."""
    if "klp_fleet.summarize" in __utils__:
        return __utils__["klp_fleet.summarize"], __utils__["klp_fleet.markdown"]
    try:
        from saltext.klp.utils import klp_fleet  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return klp_fleet.summarize, klp_fleet.markdown


def __virtual__():
    if _fleet() is not None:
        return __virtualname__
    return (
        False,
        "the klp runner needs the utils module klp_fleet: install the saltext.klp "
        "extension, or sync the file root's _utils (salt-run saltutil.sync_all)",
    )


def _outcome(ret):
    """One minion's full return as the fleet summary's outcome."""
    value = ret.get("ret") if isinstance(ret, dict) else ret
    if isinstance(value, str) and value.startswith("Minion did not return"):
        # The master's placeholder for a targeted minion that sent nothing back.
        return {"unreachable": True, "msg": _NO_RETURN}
    if isinstance(value, dict) and "verdict" in value and "error" not in value:
        return {"assessment": value}
    return {"failed": True, "code": "klp_assess_failed", "msg": str(value)}


def report(tgt="*", tgt_type="glob", cves=None, stuck_after=None, timeout=None, markdown=False):
    """
    Run ``klp.assess`` on the minions that ``tgt`` matches and return the
    fleet summary (``markdown=True``: the same as Markdown text).

    tgt, tgt_type
        The target, as for ``salt``.
    cves
        CVE ids every minion is asked about.
    stuck_after
        klp assess's threshold in seconds.
    timeout
        Seconds to wait for the minions (the master's ``timeout`` by default);
        a minion that does not answer in time is reported as such.
    """
    kwarg = {}
    if cves:
        kwarg["cves"] = cves
    if stuck_after is not None:
        kwarg["stuck_after"] = stuck_after
    expected = salt.utils.minions.CkMinions(__opts__).check_minions(tgt, tgt_type).get("minions", [])
    client = salt.client.get_local_client(__opts__["conf_file"])
    returns = client.cmd(
        tgt, "klp.assess", kwarg=kwarg, tgt_type=tgt_type, full_return=True,
        timeout=timeout if timeout is not None else __opts__.get("timeout", 5),
    )
    outcomes = {minion: _outcome(ret) for minion, ret in returns.items()}
    for minion in expected:
        if minion not in outcomes:
            outcomes[minion] = {"unreachable": True, "msg": _NO_RETURN}
    summarize, render_markdown = _fleet()
    summary = summarize(outcomes)
    return render_markdown(summary) if markdown else summary
