# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.klp.livepatch.plugins.modules import klp_patch

PACKAGE = 'kernel-livepatch-6_4_0-150600_23_22-default'


def zypper(version):
    return ['zypper', '--non-interactive', 'install', '--oldpackage', '%s=%s' % (PACKAGE, version)]


def plan(from_edition, to_edition, dry_run=True):
    """A `klp downgrade --dry-run` report as the contract defines it."""
    return {
        'schema_version': 1, 'package': PACKAGE, 'from': from_edition, 'to': to_edition,
        'dry_run': dry_run, 'changed': False, 'command': zypper(to_edition.split('-')[0]),
        'zypper_exit_code': None, 'installed_after': None,
        'patch_before': 'livepatch_%s_150600_2_1' % from_edition.split('-')[0], 'patch_after': None,
        'warnings': [],
    }


def done(from_edition, to_edition, installed_after=None):
    report = plan(from_edition, to_edition, dry_run=False)
    installed_after = installed_after or to_edition
    report.update(changed=from_edition != installed_after, zypper_exit_code=0, installed_after=installed_after,
                  patch_after='livepatch_%s_150600_2_1' % installed_after.split('-')[0])
    return report


def test_already_at_version_is_ok_and_runs_nothing_else(fake_klp, run_module):
    fake_klp.add(['downgrade', '--dry-run', '--to=3'], plan('3-150600.2.1', '3-150600.2.1'))

    result, failed = run_module(klp_patch.main, {'version': '3'})

    assert not failed
    assert result['changed'] is False
    assert result['before'] == result['after'] == '3-150600.2.1'
    assert result['command'] == [] and result['downgrade'] is None
    assert fake_klp.commands() == [('downgrade', '--dry-run', '--to=3')]


def test_lower_version_downgrades_non_interactively_and_reports_before_after(fake_klp, run_module):
    fake_klp.add(['downgrade', '--dry-run', '--to=3'], plan('5-150600.2.1', '3-150600.2.1'))
    fake_klp.add(['downgrade', '--to=3'], done('5-150600.2.1', '3-150600.2.1'))

    result, failed = run_module(klp_patch.main, {'version': 3, 'root': '/srv/root'}, diff=True)

    assert not failed, result
    assert result['changed'] is True
    assert (result['before'], result['after']) == ('5-150600.2.1', '3-150600.2.1')
    assert (result['before_version'], result['after_version']) == ('5', '3')
    assert (result['patch_before'], result['patch_after']) == ('livepatch_5_150600_2_1', 'livepatch_3_150600_2_1')
    assert result['command'] == zypper('3')
    assert result['diff']['before'] == '5-150600.2.1\n' and result['diff']['after'] == '3-150600.2.1\n'
    real_options, real_args = fake_klp.calls[1]
    assert real_args == ('downgrade', '--to=3')
    assert '--non-interactive' in real_options and real_options[2:4] == ['--root', '/srv/root']
    assert '--non-interactive' not in fake_klp.calls[0][0], 'the plan must not need confirmation'


def test_check_mode_only_plans(fake_klp, run_module):
    fake_klp.add(['downgrade', '--dry-run', '--to=3'], plan('5-150600.2.1', '3-150600.2.1'))

    result, failed = run_module(klp_patch.main, {'version': '3'}, check_mode=True, diff=True)

    assert not failed
    assert result['changed'] is True
    assert result['after'] == '3-150600.2.1' and result['downgrade'] is None
    assert result['diff']['after'] == '3-150600.2.1\n'
    assert 'would downgrade' in result['msg']
    assert fake_klp.commands() == [('downgrade', '--dry-run', '--to=3')]


def test_newer_version_fails_with_klp_code_and_a_clear_message(fake_klp, run_module):
    fake_klp.add_error(['downgrade', '--dry-run', '--to=7'], 'version_newer',
                       message='version 7 is newer than the installed 5-150600.2.1',
                       details={'installed': '5-150600.2.1', 'requested': '7'})

    result, failed = run_module(klp_patch.main, {'version': '7'})

    assert failed
    assert result['code'] == 'version_newer' and result['rc'] == 1
    assert 'only rolls back' in result['msg'] and 'newer than the installed 5-150600.2.1' in result['msg']
    assert result['cmd'][-3:] == ['downgrade', '--dry-run', '--to=7']
    assert '"version_newer"' in result['stdout'] and 'klp: error' in result['stderr']


def test_zypper_failure_during_the_real_run_is_reported(fake_klp, run_module):
    fake_klp.add(['downgrade', '--dry-run', '--to=3'], plan('5-150600.2.1', '3-150600.2.1'))
    fake_klp.add_error(['downgrade', '--to=3'], 'zypper_failed', details={'exit_code': 104},
                       message='zypper exited with 104')

    result, failed = run_module(klp_patch.main, {'version': '3'})

    assert failed
    assert result['code'] == 'zypper_failed' and result['details'] == {'exit_code': 104}
    assert result['cmd'][-2:] == ['downgrade', '--to=3']


def test_success_that_left_another_version_is_a_failure(fake_klp, run_module):
    fake_klp.add(['downgrade', '--dry-run', '--to=3'], plan('5-150600.2.1', '3-150600.2.1'))
    fake_klp.add(['downgrade', '--to=3'], done('5-150600.2.1', '3-150600.2.1', installed_after='5-150600.2.1'))

    result, failed = run_module(klp_patch.main, {'version': '3'})

    assert failed and result['code'] == 'verify_failed'
    assert 'version 5 is installed, not 3' in result['msg']


def test_previous_steps_back_once_from_the_guarded_version(fake_klp, run_module):
    fake_klp.add(['downgrade', '--dry-run', '--to=5'], plan('5-150600.2.1', '5-150600.2.1'))
    fake_klp.add(['downgrade', '--dry-run'], plan('5-150600.2.1', '4-150600.2.1'))
    fake_klp.add(['downgrade', '--to=4-150600.2.1'], done('5-150600.2.1', '4-150600.2.1'))

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '5'})

    assert not failed, result
    assert result['changed'] is True and result['after_version'] == '4'
    assert fake_klp.commands() == [('downgrade', '--dry-run', '--to=5'), ('downgrade', '--dry-run'),
                                   ('downgrade', '--to=4-150600.2.1')]


def test_previous_is_idempotent_once_below_the_guard(fake_klp, run_module):
    # klp refuses "--to=5" as newer: the installed version is below the guard.
    fake_klp.add_error(['downgrade', '--dry-run', '--to=5'], 'version_newer',
                       details={'installed': '4-150600.2.1', 'package': PACKAGE})
    fake_klp.add(['downgrade', '--dry-run', '--to=4-150600.2.1'], plan('4-150600.2.1', '4-150600.2.1'))

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '5'})

    assert not failed
    assert result['changed'] is False and result['before_version'] == result['after_version'] == '4'
    assert 'already rolled back' in result['msg']
    assert ('downgrade', '--dry-run') not in fake_klp.commands()


@pytest.mark.parametrize('answer', ['plan', 'version_not_found'])
def test_previous_refuses_hosts_above_the_guard(fake_klp, run_module, answer):
    # Above the guard klp plans a downgrade to it, or finds it in no repository.
    if answer == 'plan':
        fake_klp.add(['downgrade', '--dry-run', '--to=5'], plan('6-150600.2.1', '5-150600.2.1'))
    else:
        fake_klp.add_error(['downgrade', '--dry-run', '--to=5'], 'version_not_found',
                           details={'installed': '6-150600.2.1', 'package': PACKAGE})

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '5'})

    assert failed and result['code'] == 'from_version_mismatch'
    assert 'at version 6, above from_version 5' in result['msg']
    assert fake_klp.commands() == [('downgrade', '--dry-run', '--to=5')]


def test_previous_passes_other_klp_errors_on(fake_klp, run_module):
    fake_klp.add_error(['downgrade', '--dry-run', '--to=5'], 'no_package', message='no live patch package')

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '5'})

    assert failed and result['code'] == 'no_package'


def test_previous_at_the_guard_without_older_version_fails(fake_klp, run_module):
    fake_klp.add(['downgrade', '--dry-run', '--to=1'], plan('1-150600.1.1', '1-150600.1.1'))
    fake_klp.add_error(['downgrade', '--dry-run'], 'no_older_version', message='nothing older than 1')

    result, failed = run_module(klp_patch.main, {'version': 'previous', 'from_version': '1'})

    assert failed and result['code'] == 'no_older_version'
    assert 'nothing older than 1' in result['msg']


def test_version_with_guard_leaves_target_hosts_alone_and_fails_on_others(fake_klp, run_module):
    fake_klp.add(['downgrade', '--dry-run', '--to=3'], plan('4-150600.2.1', '3-150600.2.1'))

    result, failed = run_module(klp_patch.main, {'version': '3', 'from_version': '5'})

    assert failed and result['code'] == 'from_version_mismatch'
    assert 'neither from_version 5 nor version 3' in result['msg']


def test_previous_needs_from_version(fake_klp, run_module):
    result, failed = run_module(klp_patch.main, {'version': 'previous'})

    assert failed and 'from_version' in result['msg']
    assert fake_klp.calls == []


def test_version_that_looks_like_an_option_is_rejected_before_running_klp(fake_klp, run_module):
    result, failed = run_module(klp_patch.main, {'version': '--dry-run'})

    assert failed and result['code'] == 'invalid_argument'
    assert fake_klp.calls == []
