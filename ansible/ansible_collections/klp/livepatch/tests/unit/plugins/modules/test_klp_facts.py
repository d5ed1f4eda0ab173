# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

"""klp_facts on the real klp's captured answers (see conftest.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.klp.livepatch.plugins.modules import klp_facts


def test_facts_of_a_host_with_a_packaged_patch(fake_klp, run_module):
    report = fake_klp.add_captured('assess_rpm_thresholds')

    result, failed = run_module(klp_facts.main, {'stuck_after': 60, 'expiry_warning': 400, 'expiry_critical': 3})

    assert not failed, result
    facts = result['ansible_facts']['klp']
    patch = report['facts']['patches'][-1]
    assert facts == {
        'state': 'ready', 'verdict': report['verdict'], 'reboot_required': report['reboot_required'],
        'reboot_reasons': report['reboot_reasons'], 'kernel_release': report['facts']['kernel_release'],
        'patch': patch['name'], 'package_version': '5', 'support_end': patch['support_end'],
        'days_left': patch['days_left'], 'findings': [f['code'] for f in report['findings']],
    }
    assert 190 <= facts['days_left'] <= 200 and 'support_expiring' in facts['findings']
    assert result['changed'] is False


def test_facts_where_klp_cannot_tell_stay_null(fake_klp, run_module):
    report = fake_klp.add_captured('assess_unsupported')

    result, failed = run_module(klp_facts.main, {})

    assert not failed, result
    facts = result['ansible_facts']['klp']
    assert facts['patch'] is None and facts['package_version'] is None and facts['days_left'] is None
    assert facts['verdict'] == report['verdict'] and 'unsupported' in facts['findings']
