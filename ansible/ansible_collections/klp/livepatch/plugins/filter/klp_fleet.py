# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

"""Filters of the fleet report (role klp.livepatch.fleet_report); the logic
lives in plugin_utils/klp_fleet.py, shared with Salt's klp.report runner."""

from __future__ import annotations

from ansible_collections.klp.livepatch.plugins.plugin_utils.klp_fleet import markdown, summarize


def fleet_outcomes(hostvars, hosts, key):
    """``{host: that host's registered result under key}``; None for a host
    without one (it never ran the task), so it is reported, not lost."""
    return {host: (hostvars[host].get(key) if host in hostvars else None) for host in hosts}


class FilterModule:
    """klp fleet report filters."""

    def filters(self):
        return {
            'fleet_outcomes': fleet_outcomes,
            'fleet_summary': summarize,
            'fleet_markdown': markdown,
        }
