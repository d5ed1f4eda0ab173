# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

"""klp_info on the real klp's captured answers (see conftest.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.klp.livepatch.plugins.modules import klp_info

CVE = 'CVE-2025-21040'
MISSING_CVE = 'CVE-2099-0001'


def codes(result):
    return [reason['code'] for reason in result['reasons']]


def test_one_klp_process_gives_the_assessment_and_its_views(fake_klp, run_module):
    report = fake_klp.add_captured('assess_ready')

    result, failed = run_module(klp_info.main, {})

    assert not failed, result
    assert fake_klp.commands() == [('assess',)]
    assert result['changed'] is False
    assert result['assessment'] == report
    assert result['state'] == report['facts']['state'] == 'ready' and result['ready'] is True
    assert result['transition_stuck'] is False
    assert codes(result) == [f['code'] for f in report['findings']]
    assert result['status'] is None and result['patches'] is None and result['blocking'] is None
    # JSON is forced whatever KLP_FORMAT says.
    assert fake_klp.calls[0][0][:2] == ['--format', 'json']


def test_without_package_data_a_cve_is_unknown_never_missing(fake_klp, run_module):
    report = fake_klp.add_captured('assess_ready_cve')

    result, failed = run_module(klp_info.main, {'cves': [CVE]})

    assert not failed, result
    assert [cve['status'] for cve in report['cves']] == ['unknown']
    assert result['cves_missing'] == [] and result['cves_unknown'] == [CVE]
    assert 'cve_status_unknown' in codes(result)
    # klp could not tell whether a reboot is needed: not recommended, and not claimed unneeded.
    assert report['reboot_required'] is None and result['reboot_recommended'] is False
    assert result['assessment']['verdict'] == 'unknown'


def test_cves_from_the_rpm_changelog_fixed_and_missing(fake_klp, run_module):
    report = fake_klp.add_captured('assess_rpm_cves')

    result, failed = run_module(klp_info.main, {'cves': [CVE, MISSING_CVE]})

    assert not failed, result
    assert fake_klp.commands() == [('assess', '--cve=%s' % CVE, '--cve=%s' % MISSING_CVE)]
    assert {cve['id']: cve['status'] for cve in report['cves']} == {CVE: 'fixed', MISSING_CVE: 'not_fixed'}
    assert result['cves_missing'] == [MISSING_CVE] and result['cves_unknown'] == []
    assert 'cve_not_fixed' in codes(result)
    assert result['reboot_recommended'] is (report['reboot_required'] is True)


def test_a_transition_klp_finds_stuck(fake_klp, run_module):
    report = fake_klp.add_captured('assess_stuck')

    result, failed = run_module(klp_info.main, {})

    assert not failed, result
    assert result['ready'] is False and result['state'] == 'in_progress'
    assert result['transition_stuck'] is True and result['reboot_recommended'] is True
    assert 'transition_stuck' in codes(result)
    assert report['transition']['started_seconds_ago'] > report['thresholds']['stuck_after_seconds']


def test_a_young_transition_without_wait_is_not_called_stuck(fake_klp, run_module):
    fake_klp.add_captured('assess_stuck_young')

    result, failed = run_module(klp_info.main, {})

    assert not failed, result
    assert result['ready'] is False
    assert result['transition_stuck'] is False
    assert 'transition_in_progress' in codes(result) and 'transition_stuck' not in codes(result)


def test_a_wait_that_times_out_is_a_stuck_transition(fake_klp, run_module):
    check = fake_klp.add_captured('check_wait_stuck')
    fake_klp.add_captured('assess_stuck_young')

    result, failed = run_module(klp_info.main, {'wait': True, 'timeout': 0.5, 'interval': 0.25})

    assert not failed, result
    assert fake_klp.commands()[0][:2] == ('check', '--wait') and fake_klp.commands()[1] == ('assess',)
    assert result['status'] == check and check['wait']['timed_out'] is True
    assert result['transition_stuck'] is True and result['reboot_recommended'] is True
    assert codes(result)[0] == 'transition_stuck'
    assert 'did not finish within 0.5 s' in result['reasons'][0]['message']


def test_a_wait_that_ends_ready_is_ready(fake_klp, run_module):
    fake_klp.add_captured('check_wait_ready')
    fake_klp.add_captured('assess_ready')

    result, failed = run_module(klp_info.main, {'wait': True, 'timeout': 0.5, 'interval': 0.25})

    assert not failed, result
    assert result['ready'] is True and result['transition_stuck'] is False
    assert result['status']['wait']['timed_out'] is False


def test_full_reports_only_where_gathered_with_their_detail_flags(fake_klp, run_module):
    fake_klp.add_captured('assess_stuck_young')
    fake_klp.add_captured('blocking_stuck_cmdline')
    fake_klp.add_captured('patches_several')

    result, failed = run_module(klp_info.main, {'gather': ['blocking', 'patches'], 'blocking_detail': 'cmdline',
                                                'root': '/srv/host'})

    assert not failed, result
    by_command = {args: options for options, args in fake_klp.calls}
    assert set(by_command) == {('assess',), ('blocking',), ('patches',)}
    assert '-v' in by_command[('blocking',)] and '-v' not in by_command[('patches',)]
    assert all(options[2:4] == ['--root', '/srv/host'] for options in by_command.values())
    assert [thread['comm'] for thread in result['blocking']['threads']]
    assert len(result['patches']) == 3


def test_thresholds_are_klps_options(fake_klp, run_module):
    report = fake_klp.add_captured('assess_rpm_thresholds')

    result, failed = run_module(klp_info.main, {'stuck_after': 60, 'expiry_warning': 400, 'expiry_critical': 3})

    assert not failed, result
    assert report['thresholds'] == {'stuck_after_seconds': 60.0, 'expiry_warning_days': 400,
                                    'expiry_critical_days': 3}
    assert 'support_expiring' in codes(result)


def test_unsupported_kernel_says_so(fake_klp, run_module):
    fake_klp.add_captured('assess_unsupported')

    result, failed = run_module(klp_info.main, {})

    assert not failed, result
    assert 'unsupported' in codes(result)


def test_klp_failure_carries_klps_error(fake_klp, run_module):
    answer = fake_klp.add_captured('assess_missing_root')

    result, failed = run_module(klp_info.main, {'root': '/srv/missing'})

    assert failed
    assert result['code'] == answer['error']['code'] == 'root_not_found'
    assert result['rc'] == answer['error']['exit_code']
    assert result['cmd'][-1] == 'assess' and result['stderr']
    assert result['msg'].startswith('klp assess failed:')


def test_garbage_output_fails_instead_of_being_trusted(fake_klp, run_module):
    fake_klp.add(['assess'], stdout='ok\n', rc=0)

    result, failed = run_module(klp_info.main, {})

    assert failed and result['code'] == 'invalid_output'
    assert result['stdout'] == 'ok\n'


def test_missing_binary_fails_clearly(run_module, fake_klp, tmp_path):
    result, failed = run_module(klp_info.main, {'klp_path': str(tmp_path / 'nope')})

    assert failed and result['code'] == 'klp_not_found'
    assert 'klp_path' in result['msg']
    assert fake_klp.calls == []


def test_negative_timeout_is_rejected(run_module, fake_klp):
    result, failed = run_module(klp_info.main, {'wait': True, 'timeout': -1})

    assert failed and result['code'] == 'invalid_argument'
    assert fake_klp.calls == []
