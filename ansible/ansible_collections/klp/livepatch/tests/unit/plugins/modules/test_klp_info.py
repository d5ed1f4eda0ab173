# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import annotations

import copy

from ansible_collections.klp.livepatch.plugins.modules import klp_info

TRANSITION = {'patch': 'livepatch_2_150600_2_1', 'direction': 'patching', 'target_state': 1}

STATUS_READY = {
    'schema_version': 1, 'state': 'ready', 'supported': True,
    'kernel_release': '6.4.0-150600.23.22-default', 'patches_loaded': 1, 'patches_enabled': 1,
    'transition': None, 'livepatch_tainted': True, 'taint_mask': 32768, 'warnings': [],
}
STATUS_BUSY = dict(STATUS_READY, state='in_progress', transition=TRANSITION)
WAIT_TIMED_OUT = {'timeout_seconds': 2.0, 'interval_seconds': 0.5, 'waited_seconds': 2.0,
                  'timed_out': True, 'polls': 5}
WAIT_DONE = {'timeout_seconds': 2.0, 'interval_seconds': 0.5, 'waited_seconds': 0.5,
             'timed_out': False, 'polls': 2}

PATCH = {'name': 'livepatch_5_150600_2_1', 'enabled': True, 'transition': False,
         'objects': [{'name': 'vmlinux', 'functions': [{'name': 'cmdline_proc_show', 'sympos': 1}]}]}
PATCHES = {'schema_version': 1, 'supported': True, 'verbosity': 0, 'order': 'name',
           'patches': [PATCH], 'warnings': []}

BLOCKER = {'pid': 77, 'tid': 77, 'comm': 'klp_busy_thread', 'kernel_thread': True, 'state': 'D',
           'patch_state': 0, 'culprits': [{'object': 'klp_busy', 'function': 'busy_sleep',
                                           'frame': '[<0>] busy_sleep+0x15/0x30 [klp_busy]'}]}
BLOCKING_READY = {'schema_version': 1, 'state': 'ready', 'supported': True, 'transition': None,
                  'verbosity': 0, 'complete': True, 'threads_scanned': 30, 'threads_unreadable': 0,
                  'threads_vanished': 0, 'threads': [], 'warnings': []}
BLOCKING_BUSY = dict(BLOCKING_READY, state='in_progress', transition=TRANSITION, threads=[BLOCKER])
BLOCKING_UNKNOWN = dict(BLOCKING_READY, state='in_progress', transition=TRANSITION, complete=False,
                        threads_scanned=0, threads_unreadable=31, threads=[],
                        warnings=[{'code': 'not_root', 'message': 'not running as root', 'path': None,
                                   'count': 31}])


def with_package(patch, cves):
    patch = copy.deepcopy(patch)
    patch['package'] = {'name': 'kernel-livepatch-6_4_0-150600_23_22-default', 'version': '5',
                        'release': '150600.2.1', 'cves': cves, 'fixes': []}
    return patch


def codes(result):
    return [reason['code'] for reason in result['reasons']]


def test_ready_host_gathers_everything_and_changes_nothing(fake_klp, run_module):
    fake_klp.add(['status'], STATUS_READY)
    fake_klp.add(['patches'], PATCHES)
    fake_klp.add(['blocking'], BLOCKING_READY)

    result, failed = run_module(klp_info.main, {})

    assert not failed
    assert result['changed'] is False
    assert result['ready'] is True and result['state'] == 'ready'
    assert result['transition_stuck'] is False and result['reboot_recommended'] is False
    assert result['reasons'] == []
    assert result['patches'] == [PATCH]
    assert result['blocking']['complete'] is True
    assert fake_klp.commands() == [('status',), ('patches',), ('blocking',)]
    # JSON is forced whatever KLP_FORMAT says.
    assert all(options[:2] == ['--format', 'json'] for options, _args in fake_klp.calls)


def test_gather_limits_the_commands_run_but_status_is_always_read(fake_klp, run_module):
    fake_klp.add(['status'], STATUS_READY)

    result, failed = run_module(klp_info.main, {'gather': ['status']})

    assert not failed
    assert fake_klp.commands() == [('status',)]
    assert result['patches'] is None and result['blocking'] is None


def test_detail_levels_become_verbosity_flags_and_root_is_passed(fake_klp, run_module):
    fake_klp.add(['status'], STATUS_READY)
    fake_klp.add(['patches'], PATCHES)
    fake_klp.add(['blocking'], BLOCKING_READY)

    run_module(klp_info.main, {'patches_detail': 'support', 'blocking_detail': 'cmdline', 'root': '/srv/host'})

    by_command = {args: options for options, args in fake_klp.calls}
    assert '-vv' in by_command[('patches',)]
    assert '-v' in by_command[('blocking',)]
    assert all(options[2:4] == ['--root', '/srv/host'] for options in by_command.values())


def test_transition_in_progress_without_wait_is_not_called_stuck(fake_klp, run_module):
    fake_klp.add(['status'], STATUS_BUSY)
    fake_klp.add(['blocking'], BLOCKING_BUSY)

    result, failed = run_module(klp_info.main, {'gather': ['blocking']})

    assert not failed
    assert result['ready'] is False and result['state'] == 'in_progress'
    assert result['transition_stuck'] is False and result['reboot_recommended'] is False
    assert codes(result) == ['transition_in_progress']
    assert result['blocking']['threads'][0]['pid'] == 77


def test_wait_that_times_out_is_stuck_and_recommends_a_reboot(fake_klp, run_module):
    fake_klp.add(['check', '--wait', '--timeout', '2.0', '--interval', '0.5'],
                 dict(STATUS_BUSY, wait=WAIT_TIMED_OUT), rc=1)
    fake_klp.add(['blocking'], BLOCKING_BUSY)

    result, failed = run_module(klp_info.main, {'wait': True, 'timeout': 2, 'interval': 0.5,
                                                'gather': ['blocking']})

    assert not failed, result
    assert result['transition_stuck'] is True and result['reboot_recommended'] is True
    assert codes(result) == ['transition_stuck']
    assert 'livepatch_2_150600_2_1' in result['reasons'][0]['message']
    assert result['status']['wait']['timed_out'] is True


def test_wait_that_ends_ready_is_ready(fake_klp, run_module):
    fake_klp.add(['check', '--wait', '--timeout', '2.0', '--interval', '0.5'],
                 dict(STATUS_READY, wait=WAIT_DONE), rc=0)

    result, failed = run_module(klp_info.main, {'wait': True, 'timeout': 2, 'interval': 0.5,
                                                'gather': ['status']})

    assert not failed
    assert result['ready'] is True and result['transition_stuck'] is False
    assert result['status']['wait']['polls'] == 2


def test_incomplete_blocking_list_is_never_presented_as_no_blockers(fake_klp, run_module):
    fake_klp.add(['status'], STATUS_BUSY)
    fake_klp.add(['blocking'], BLOCKING_UNKNOWN)

    result, failed = run_module(klp_info.main, {'gather': ['blocking']})

    assert not failed
    assert result['ready'] is False
    assert 'blocking_incomplete' in codes(result)
    assert '31 threads could not be read' in result['reasons'][1]['message']
    assert result['blocking']['complete'] is False


def test_check_that_cannot_determine_the_state_fails_with_klp_error(fake_klp, run_module):
    fake_klp.add_error(['check', '--wait', '--timeout', '300.0', '--interval', '1.0'],
                       'read_failed', rc=2, message='cannot read /sys/kernel/livepatch')

    result, failed = run_module(klp_info.main, {'wait': True})

    assert failed
    assert result['code'] == 'read_failed' and result['rc'] == 2
    assert 'cannot read /sys/kernel/livepatch' in result['msg']
    assert result['cmd'][-6:] == ['check', '--wait', '--timeout', '300.0', '--interval', '1.0']
    assert '"read_failed"' in result['stdout'] and result['stderr']


def test_garbage_output_fails_instead_of_being_trusted(fake_klp, run_module):
    fake_klp.add(['status'], stdout='ready\n', rc=0)

    result, failed = run_module(klp_info.main, {'gather': ['status']})

    assert failed and result['code'] == 'invalid_output'
    assert result['stdout'] == 'ready\n'


def test_cves_are_checked_against_enabled_patches_packages(fake_klp, run_module):
    fake_klp.add(['status'], STATUS_READY)
    fixed = with_package(PATCH, ['CVE-2024-50115'])
    disabled = dict(with_package(PATCH, ['CVE-2023-1111']), name='livepatch_1_150600_1_1', enabled=False)
    fake_klp.add(['patches'], dict(PATCHES, verbosity=1, patches=[fixed, disabled]))

    result, failed = run_module(klp_info.main, {'gather': ['status'],
                                                'cves': ['cve-2024-50115', 'CVE-2023-1111']})

    assert not failed
    assert fake_klp.calls[1][0][-1] == '-v', 'cves need package data'
    assert result['cves_missing'] == ['CVE-2023-1111']
    assert result['reboot_recommended'] is True
    assert codes(result) == ['patch_disabled', 'cve_not_live_patched']


def test_unknown_package_data_does_not_confirm_a_cve(fake_klp, run_module):
    fake_klp.add(['status'], STATUS_READY)
    fake_klp.add(['patches'], dict(PATCHES, verbosity=1, patches=[dict(PATCH, package=None)]))

    result, failed = run_module(klp_info.main, {'gather': [], 'cves': ['CVE-2024-50115']})

    assert not failed
    assert result['cves_missing'] == ['CVE-2024-50115']
    assert 'package data unknown for livepatch_5_150600_2_1' in result['reasons'][0]['message']


def test_unsupported_kernel_is_ready_but_says_so(fake_klp, run_module):
    fake_klp.add(['status'], dict(STATUS_READY, supported=False, patches_loaded=0, patches_enabled=0))

    result, failed = run_module(klp_info.main, {'gather': ['status']})

    assert not failed
    assert result['ready'] is True and codes(result) == ['unsupported']


def test_missing_binary_fails_clearly(run_module, fake_klp, tmp_path):
    result, failed = run_module(klp_info.main, {'klp_path': str(tmp_path / 'nope')})

    assert failed and result['code'] == 'klp_not_found'
    assert 'klp_path' in result['msg']
    assert fake_klp.calls == []


def test_negative_timeout_is_rejected(run_module, fake_klp):
    result, failed = run_module(klp_info.main, {'wait': True, 'timeout': -1})

    assert failed and result['code'] == 'invalid_argument'
    assert fake_klp.calls == []
