# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

"""klp_patch's decisions, on the real klp's `downgrade` answers: captured by
tests/ansible/capture_klp.py on rpm/zypper roots with versions 1..5 (the
captured names say the installed version and the request)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.klp.livepatch.plugins.modules import klp_patch


def test_already_at_version_is_ok_and_runs_nothing_else(fake_klp, run_module):
    plan = fake_klp.add_captured('downgrade_plan_5_at_5')

    result, failed = run_module(klp_patch.main, {'version': '5'})

    assert not failed
    assert result['changed'] is False
    assert result['before'] == result['after'] == plan['from']
    assert result['command'] == [] and result['downgrade'] is None
    assert fake_klp.commands() == [('downgrade', '--dry-run', '--to=5')]


def test_lower_version_downgrades_non_interactively_and_reports_before_after(fake_klp, run_module):
    plan = fake_klp.add_captured('downgrade_plan_5_to_3')
    done = fake_klp.add_captured('downgrade_5_to_3')

    result, failed = run_module(klp_patch.main, {'version': 3, 'root': '/srv/root'}, diff=True)

    assert not failed, result
    assert result['changed'] is True
    assert (result['before'], result['after']) == (plan['from'], done['installed_after'])
    assert (result['before_version'], result['after_version']) == ('5', '3')
    assert (result['patch_before'], result['patch_after']) == (done['patch_before'], done['patch_after'])
    assert result['patch_before'] != result['patch_after']
    assert result['command'] == done['command'] and result['downgrade'] == done
    assert result['diff']['before'] == plan['from'] + '\n' and result['diff']['after'] == plan['to'] + '\n'
    real_options, real_args = fake_klp.calls[1]
    assert real_args == ('downgrade', '--to=3')
    assert '--non-interactive' in real_options and real_options[2:4] == ['--root', '/srv/root']
    assert '--non-interactive' not in fake_klp.calls[0][0], 'the plan must not need confirmation'


def test_check_mode_only_plans(fake_klp, run_module):
    plan = fake_klp.add_captured('downgrade_plan_5_to_3')

    result, failed = run_module(klp_patch.main, {'version': '3'}, check_mode=True, diff=True)

    assert not failed
    assert result['changed'] is True
    assert result['after'] == plan['to'] and result['downgrade'] is None
    assert result['command'] == plan['command']
    assert result['diff']['after'] == plan['to'] + '\n'
    assert 'would downgrade' in result['msg']
    assert fake_klp.commands() == [('downgrade', '--dry-run', '--to=3')]


def test_newer_version_fails_with_klp_code_and_a_clear_message(fake_klp, run_module):
    error = fake_klp.add_captured('downgrade_plan_5_to_7')['error']

    result, failed = run_module(klp_patch.main, {'version': '7'})

    assert failed
    assert result['code'] == 'version_newer' and result['rc'] == 1
    assert 'only rolls back' in result['msg'] and 'newer than the installed' in result['msg']
    assert error['details']['installed'] in result['msg']
    assert result['cmd'][-3:] == ['downgrade', '--dry-run', '--to=7']
    assert '"version_newer"' in result['stdout'] and 'klp: error' in result['stderr']


def test_zypper_failure_during_the_real_run_is_reported(fake_klp, run_module):
    fake_klp.add_captured('downgrade_plan_5_to_3')
    error = fake_klp.add_captured('downgrade_5_to_3_zypper_fails')['error']

    result, failed = run_module(klp_patch.main, {'version': '3'})

    assert failed
    assert result['code'] == 'zypper_failed' and result['details'] == error['details']
    assert result['details']['exit_code'] != 0 and result['details']['installed'] == result['details']['from']
    assert result['cmd'][-2:] == ['downgrade', '--to=3']


def test_success_that_left_another_version_is_a_failure(fake_klp, run_module, captured_answer):
    # The one answer the real klp never gives (it verifies with rpm): derived
    # from a captured success, with the old version still installed.
    plan = fake_klp.add_captured('downgrade_plan_5_to_3')
    answer = captured_answer('downgrade_5_to_3')
    done = json.loads(answer['stdout'])
    done['installed_after'] = plan['from']
    fake_klp.add(['downgrade', '--to=3'], done, stderr=answer['stderr'])

    result, failed = run_module(klp_patch.main, {'version': '3'})

    assert failed and result['code'] == 'verify_failed'
    assert 'version 5 is installed, not 3' in result['msg']


def test_previous_steps_back_once_from_the_guarded_version(fake_klp, run_module):
    fake_klp.add_captured('downgrade_plan_5_at_5')
    plan = fake_klp.add_captured('downgrade_plan_5_previous')
    fake_klp.add_captured('downgrade_5_to_4_edition')

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '5'})

    assert not failed, result
    assert result['changed'] is True and result['after_version'] == '4' and result['after'] == plan['to']
    # The real run names the whole edition the plan chose.
    assert fake_klp.commands() == [('downgrade', '--dry-run', '--to=5'), ('downgrade', '--dry-run'),
                                   ('downgrade', '--to=%s' % plan['to'])]


def test_previous_is_idempotent_once_below_the_guard(fake_klp, run_module):
    # klp refuses "--to=5" as newer: the installed version is below the guard.
    fake_klp.add_captured('downgrade_plan_4_to_5')
    fake_klp.add_captured('downgrade_plan_4_at_4_edition')

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '5'})

    assert not failed, result
    assert result['changed'] is False and result['before_version'] == result['after_version'] == '4'
    assert 'already rolled back' in result['msg']
    assert ('downgrade', '--dry-run') not in fake_klp.commands()


@pytest.mark.parametrize('answer, guard', [('downgrade_plan_5_to_4', '4'), ('downgrade_plan_5_to_4_5', '4.5')])
def test_previous_refuses_hosts_above_the_guard(fake_klp, run_module, answer, guard):
    # Above the guard klp plans a downgrade to it, or finds it in no repository.
    fake_klp.add_captured(answer)

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': guard})

    assert failed and result['code'] == 'from_version_mismatch'
    assert 'at version 5, above from_version %s' % guard in result['msg']
    assert fake_klp.commands() == [('downgrade', '--dry-run', '--to=%s' % guard)]


def test_previous_passes_other_klp_errors_on(fake_klp, run_module):
    fake_klp.add_captured('downgrade_plan_no_rpm_database')

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '5'})

    assert failed and result['code'] == 'no_rpm_database'


def test_previous_at_the_guard_without_older_version_fails(fake_klp, run_module):
    fake_klp.add_captured('downgrade_plan_1_at_1')
    error = fake_klp.add_captured('downgrade_plan_1_previous')['error']

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '1'})

    assert failed and result['code'] == 'no_older_version'
    assert error['message'] in result['msg']


def test_version_with_guard_leaves_target_hosts_alone_and_fails_on_others(fake_klp, run_module):
    fake_klp.add_captured('downgrade_plan_5_to_3')

    result, failed = run_module(klp_patch.main, {'version': '3', 'from_version': '4'})

    assert failed and result['code'] == 'from_version_mismatch'
    assert 'neither from_version 4 nor version 3' in result['msg']


def test_previous_needs_from_version(fake_klp, run_module):
    result, failed = run_module(klp_patch.main, {'version': 'previous'})

    assert failed and 'from_version' in result['msg']
    assert fake_klp.calls == []


@pytest.mark.parametrize('version', ['--dry-run', '1-2-3', '3 4'])
def test_version_that_is_no_edition_is_rejected_before_running_klp(fake_klp, run_module, version):
    result, failed = run_module(klp_patch.main, {'version': version})

    assert failed and result['code'] == 'invalid_argument'
    assert fake_klp.calls == []
