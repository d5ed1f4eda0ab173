# Copyright (c) klp contributors
# MIT License
"""Test driver: real ansible-playbook runs of the klp.livepatch collection
against localhost, with the real klp binary, on fixture roots (klp_info) and
on a private rpm/zypper root (klp_patch).

Playbooks assert inside (ansible.builtin.assert); this driver checks what
only the outside can see: exit codes, the play recap, each task's result
(through the klp_results callback), and the rpm database before and after.

Run by tests/ansible/run.sh, which exports KLP_REPO, KLP_WORK, KLP_BIN,
KLP_FIXTURE and ANSIBLE_COLLECTIONS_PATH (the collection built and installed
from this repository).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import fleet
from conftest import EXAMPLES, FIXTURE, KLP, REPO, TESTS

@pytest.fixture
def unprivileged():
    """A directory every user can enter, holding a copy of klp, and a
    klp_path that runs that copy as nobody (setpriv): the module then meets
    klp's permission handling. In /tmp, not under TMPDIR or KLP_WORK: those
    are inside the checkout, which may sit in a directory only root can
    enter (a clone under /root, mode 0700)."""
    directory = Path(tempfile.mkdtemp(prefix='klp-nonroot-', dir='/tmp'))
    try:
        directory.chmod(0o755)
        klp = directory / 'klp'
        shutil.copyfile(KLP, klp)
        klp.chmod(0o755)
        wrapper = directory / 'klp-as-nobody'
        # "$@" hands the arguments over unchanged; nothing is re-parsed.
        wrapper.write_text('#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups -- %s "$@"\n' % klp)
        wrapper.chmod(0o755)
        yield directory, str(wrapper)
    finally:
        shutil.rmtree(directory)


def fixture_vars(root):
    return {'fixture_root': root, 'klp_path': KLP}


@pytest.mark.parametrize('scenario', ['ready', 'stuck', 'several', 'unsupported'])
def test_klp_info_on_fixture(playbook, fixture_root, scenario):
    run = playbook(TESTS / 'playbooks' / ('info_%s.yml' % scenario), fixture_vars(fixture_root(scenario)))

    assert run.rc == 0, run.explain()
    assert run.stats['failures'] == 0 and run.stats['changed'] == 0, run.stats
    infos = [r for r in run.results if r['result'].get('invocation', {}).get('module_args', {}).get('klp_path') == KLP]
    assert infos, 'no klp_info result recorded'
    for record in infos:
        assert record['status'] == 'ok' and record['result']['changed'] is False
        assert set(record['result']) >= {'assessment', 'state', 'ready', 'transition_stuck', 'reboot_recommended',
                                         'reasons', 'status', 'patches', 'blocking', 'cves_missing', 'cves_unknown'}
        assert record['result']['assessment']['verdict'] in ('ok', 'warning', 'critical', 'unknown')


def test_klp_info_waits_with_the_real_timeout(playbook, fixture_root):
    run = playbook(TESTS / 'playbooks' / 'info_stuck.yml', fixture_vars(fixture_root('stuck')))

    assert run.rc == 0, run.explain()
    waited = run.task('Wait a little')[0]['result']
    assert waited['status']['wait']['timed_out'] is True
    assert 1.0 <= waited['status']['wait']['waited_seconds'] < 10
    assert waited['invocation']['module_args']['timeout'] == 1.0


def test_klp_info_without_root_never_claims_no_blockers(playbook, unprivileged):
    directory, klp_as_nobody = unprivileged
    root = directory / 'root-stuck'
    subprocess.run([FIXTURE, 'stuck', str(root)], check=True)
    # The kernel makes these root-only (mode 0400).
    for path in root.glob('proc/*/task/*/*'):
        if path.name in ('patch_state', 'stack'):
            path.chmod(0o400)

    run = playbook(TESTS / 'playbooks' / 'info_nonroot.yml', {'fixture_root': str(root), 'klp_path': klp_as_nobody})

    assert run.rc == 0, run.explain()
    info = run.task('Gather everything')[0]['result']
    assert info['blocking']['complete'] is False and info['ready'] is False
    assert [w for w in info['warnings'] if 'root is needed' in w]


def test_klp_info_failures_carry_klp_error(playbook, fixture_root):
    run = playbook(TESTS / 'playbooks' / 'info_errors.yml', fixture_vars(fixture_root('ready')))

    assert run.rc == 0, run.explain()
    assert run.stats['ignored'] == 3, run.stats
    no_root = run.task('A root that does not exist')[0]
    assert no_root['status'] == 'ignored'
    assert no_root['result']['code'] == 'root_not_found'
    assert json.loads(no_root['result']['stdout'])['error']['exit_code'] == no_root['result']['rc'] != 0


def test_failures_are_not_swallowed(playbook, fixture_root):
    # The fixture root has no rpm database: klp_patch must fail the play.
    run = playbook(TESTS / 'playbooks' / 'fail_unignored.yml', fixture_vars(fixture_root('ready')))

    assert run.rc == 2, run.explain()
    assert run.stats['failures'] == 1
    failed = run.task('Roll back on a root without any live patch package')[0]
    assert failed['status'] == 'failed'
    result = failed['result']
    error = json.loads(result['stdout'])['error']
    assert result['code'] == error['code'] and result['code']
    assert result['rc'] == error['exit_code'] != 0
    assert result['cmd'][0] == KLP and 'downgrade' in result['cmd']
    assert result['stderr'].startswith('klp: error:')
    assert not [r for r in run.results if r['task'] == 'Never reached']
    assert 'FAILED!' in run.stdout and result['code'] in run.stdout


def test_gate_reboot_example_leaves_a_ready_host_alone(playbook, fixture_root):
    root = fixture_root('ready')
    run = playbook(EXAMPLES / 'gate_reboot.yml', {'klp_root': root, 'klp_path': KLP, 'klp_wait_timeout': 5})

    assert run.rc == 0, run.explain()
    assert run.stats['changed'] == 0 and run.stats['failures'] == 0
    assert run.task('Reboot only when live patching cannot finish the job')[0]['status'] == 'skipped'


def test_gate_reboot_example_reboots_a_stuck_host(playbook, fixture_root):
    # The reboot action refuses to reboot the controller over a local
    # connection: reaching it, with that refusal, is the proof the gate opened.
    root = fixture_root('stuck')
    run = playbook(EXAMPLES / 'gate_reboot.yml', {'klp_root': root, 'klp_path': KLP, 'klp_wait_timeout': 1})

    assert run.rc == 2, run.explain()
    verdict = run.task('Wait for any live patch transition to finish, then read the state')[0]['result']
    assert verdict['transition_stuck'] is True and verdict['reboot_recommended'] is True
    reboot = run.task('Reboot only when live patching cannot finish the job')[0]
    assert reboot['status'] == 'failed'
    assert 'would reboot the control node' in reboot['result']['msg']


def test_gate_reboot_example_does_not_reboot_when_klp_cannot_tell(playbook, fixture_root):
    # No rpm database: klp cannot tell whether the CVE is fixed, nor whether a
    # reboot would help; the gate says so and does not reboot.
    root = fixture_root('ready')
    run = playbook(EXAMPLES / 'gate_reboot.yml', {'klp_root': root, 'klp_path': KLP, 'klp_wait_timeout': 5,
                                                  'klp_required_cves': ['CVE-2099-0001']})

    assert run.rc == 0, run.explain()
    verdict = run.task('Wait for any live patch transition to finish, then read the state')[0]['result']
    assert verdict['cves_missing'] == [] and verdict['cves_unknown'] == ['CVE-2099-0001']
    assert verdict['assessment']['reboot_required'] is None and verdict['reboot_recommended'] is False
    assert run.task('Reboot only when live patching cannot finish the job')[0]['status'] == 'skipped'
    shown = run.task('Show the verdict')[0]['result']['msg']
    # ansible-core before 2.19 templates a null into an empty string.
    assert shown['verdict'] == 'unknown' and shown['reboot_required'] in (None, '')


# --- klp_patch on a private rpm/zypper root -----------------------------------

MKROOT = REPO / 'tests' / 'pkg' / 'mkroot.py'


@pytest.fixture
def pkg_root(tmp_path):
    """A root from tests/pkg/mkroot.py with versions 1..6, the given one installed.
    The built RPMs are shared between roots (--rpm-cache)."""

    def make(installed, name=None):
        directory = tmp_path / (name or 'pkg-%d' % installed)
        cache = Path(os.environ['KLP_RPM_CACHE'])
        proc = subprocess.run([sys.executable, str(MKROOT), '--dir', str(directory), '--versions', '6',
                               '--installed', str(installed), '--rpm-cache', str(cache)],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout)

    return make


def rpm_q(root, dbpath='/usr/lib/sysimage/rpm'):
    """The installed edition, asked from rpm itself (Red Hat keeps its
    database in /var/lib/rpm)."""
    proc = subprocess.run(['rpm', '--root', root['root'], '--dbpath', dbpath, '-q',
                           '--qf', '%{VERSION}-%{RELEASE}\n', root['package']],
                          env=dict(os.environ, **root['env']), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip()


def loaded_patches(root):
    return sorted(os.listdir(os.path.join(root['root'], 'sys/kernel/livepatch')))


def patch_vars(root, **extra):
    variables = {'pkg_root': root['root'], 'klp_path': KLP, 'klp_environment': root['env'],
                 'package': root['package']}
    variables.update(extra)
    return variables


def test_klp_patch_check_mode_first_run_second_run(playbook, pkg_root):
    root = pkg_root(5)
    path = TESTS / 'playbooks' / 'patch_version.yml'
    assert rpm_q(root) == root['versions']['5']
    patches_before = loaded_patches(root)

    check = playbook(path, patch_vars(root, target_version='3'), check=True, diff=True)
    assert check.rc == 0, check.explain()
    assert check.stats['changed'] == 1
    planned = check.task('Roll the live patch package to the target version')[0]['result']
    assert (planned['before'], planned['after']) == (root['versions']['5'], root['versions']['3'])
    assert rpm_q(root) == root['versions']['5'], 'check mode changed the rpm database'
    assert loaded_patches(root) == patches_before
    assert '-%s' % root['versions']['5'] in check.stdout and '+%s' % root['versions']['3'] in check.stdout

    first = playbook(path, patch_vars(root, target_version='3'), diff=True)
    assert first.rc == 0, first.explain()
    assert first.stats['changed'] == 1
    done = first.task('Roll the live patch package to the target version')[0]['result']
    assert done['downgrade']['command'] == done['command'] and 'zypper' in done['command'][0]
    assert rpm_q(root) == root['versions']['3']
    assert loaded_patches(root) == ['livepatch_3_150600_4_1']

    second = playbook(path, patch_vars(root, target_version='3'))
    assert second.rc == 0, second.explain()
    assert second.stats['changed'] == 0, 'second run is not idempotent'
    assert rpm_q(root) == root['versions']['3']


def test_klp_patch_refuses_a_newer_version(playbook, pkg_root):
    root = pkg_root(2)

    run = playbook(TESTS / 'playbooks' / 'patch_newer.yml', patch_vars(root, target_version='4'))

    assert run.rc == 0, run.explain()
    failed = run.task('Ask for a newer version')[0]
    assert failed['status'] == 'ignored' and failed['result']['code'] == 'version_newer'
    assert failed['result']['details']['installed'] == root['versions']['2']
    assert rpm_q(root) == root['versions']['2']


def test_rollback_example_is_guarded_and_idempotent(playbook, pkg_root):
    root = pkg_root(5)
    variables = {'klp_root': root['root'], 'klp_path': KLP, 'klp_environment': root['env'],
                 'klp_from_version': '5', 'klp_serial': 1, 'klp_wait_timeout': 5}
    path = EXAMPLES / 'rollback_one_version.yml'

    check = playbook(path, variables, check=True)
    assert check.rc == 0, check.explain()
    assert check.stats['changed'] == 1
    assert rpm_q(root) == root['versions']['5'], 'check mode changed the rpm database'

    first = playbook(path, variables)
    assert first.rc == 0, first.explain()
    assert first.stats['changed'] == 1
    rollback = first.task('Roll back one version from 5')[0]['result']
    assert (rollback['before_version'], rollback['after_version']) == ('5', '4')
    assert rpm_q(root) == root['versions']['4']
    assert first.task('Wait for the transition to the older live patch')[0]['result']['ready'] is True

    second = playbook(path, variables)
    assert second.rc == 0, second.explain()
    assert second.stats['changed'] == 0, 'second run is not idempotent'
    assert 'already rolled back' in second.task('Roll back one version from 5')[0]['result']['msg']
    assert rpm_q(root) == root['versions']['4']

    # A host above the guard is not touched, and the play fails for it.
    guarded = playbook(path, dict(variables, klp_from_version='3'))
    assert guarded.rc == 2, guarded.explain()
    refused = guarded.task('Roll back one version from 3')[0]
    assert refused['status'] == 'failed' and refused['result']['code'] == 'from_version_mismatch'
    assert rpm_q(root) == root['versions']['4']


def test_klp_info_cves_from_the_package_changelog(playbook, pkg_root):
    root = pkg_root(5)
    # The oracle is rpm's own changelog, not klp.
    proc = subprocess.run(['rpm', '--root', root['root'], '--dbpath', '/usr/lib/sysimage/rpm', '-q', '--changelog',
                           root['package']], env=dict(os.environ, **root['env']), capture_output=True, text=True,
                          check=True)
    cves = sorted({word.strip(',.') for word in proc.stdout.split() if word.startswith('CVE-')})
    assert cves, proc.stdout

    fleet.lifecycle(Path(root['root']), root['package'], 365)  # support far away: the CVEs decide
    run = playbook(TESTS / 'playbooks' / 'info_cves.yml',
                   {'pkg_root': root['root'], 'klp_path': KLP, 'klp_environment': root['env'], 'fixed_cve': cves[0]})

    assert run.rc == 0, run.explain()
    assert run.task('Ask about a fixed CVE and an unknown one')[0]['result']['cves_missing'] == ['CVE-2099-0001']


def fleet_inventory(path, hosts):
    """A YAML inventory of local "hosts", each with its own package root."""
    inventory = {'all': {'hosts': {
        name: {'ansible_connection': 'local', 'klp_root': root['root'], 'klp_environment': root['env']}
        for name, root in hosts.items()}}}
    path.write_text(json.dumps(inventory))  # JSON is YAML
    return path


def test_rollback_example_across_a_fleet_with_serial(playbook, pkg_root, tmp_path):
    hosts = {'host1': pkg_root(5, 'host1'), 'host2': pkg_root(6, 'host2'), 'host3': pkg_root(5, 'host3')}
    variables = {'klp_path': KLP, 'klp_from_version': '5', 'klp_serial': 1, 'klp_wait_timeout': 5}
    path = EXAMPLES / 'rollback_one_version.yml'

    # host2 is above the guard: it fails, and max_fail_percentage 0 stops the
    # rollout before host3's batch.
    first = playbook(path, variables, inventory=fleet_inventory(tmp_path / 'fleet.yml', hosts))
    assert first.rc == 2, first.explain()
    assert first.all_stats['host1']['changed'] == 1 and first.all_stats['host2']['failures'] == 1
    assert 'host3' not in first.all_stats
    assert [rpm_q(hosts[h]) for h in ('host1', 'host2', 'host3')] == [
        hosts['host1']['versions']['4'], hosts['host2']['versions']['6'], hosts['host3']['versions']['5']]

    # Without host2, the re-run leaves host1 alone and finishes host3.
    del hosts['host2']
    inventory = fleet_inventory(tmp_path / 'fleet2.yml', hosts)
    second = playbook(path, variables, inventory=inventory)
    assert second.rc == 0, second.explain()
    assert (second.all_stats['host1']['changed'], second.all_stats['host3']['changed']) == (0, 1)
    assert [rpm_q(hosts[h]) for h in ('host1', 'host3')] == [hosts['host1']['versions']['4']] * 2

    third = playbook(path, variables, inventory=inventory)
    assert third.rc == 0, third.explain()
    assert all(stats['changed'] == 0 for stats in third.all_stats.values()), third.all_stats


# --- Red Hat family: klp_info on a private rpm/dnf root -----------------------

MKROOT_DNF = REPO / 'tests' / 'pkg' / 'mkroot_dnf.py'


def rhel_root(tmp_path, installed):
    proc = subprocess.run([sys.executable, str(MKROOT_DNF), '--dir', str(tmp_path / 'rhel'), '--installed', installed,
                           '--rpm-cache', os.environ['KLP_RPM_CACHE'] + '-dnf'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_klp_patch_rolls_back_a_rhel_release(playbook, tmp_path):
    """Every kpatch-patch is version 1: klp_patch goes back by VERSION-RELEASE
    (the dist tag implied), through dnf, and says the loaded patch stayed."""
    root = rhel_root(tmp_path, '1-3')
    path = TESTS / 'playbooks' / 'patch_rhel.yml'
    variables = patch_vars(root, target_edition='1-2')
    patches_before = loaded_patches(root)

    check = playbook(path, variables, check=True)
    assert check.rc == 0, check.explain()
    assert check.stats['changed'] == 1
    assert rpm_q(root, '/var/lib/rpm') == root['versions']['1-3'], 'check mode changed the rpm database'

    first = playbook(path, variables)
    assert first.rc == 0, first.explain()
    assert first.stats['changed'] == 1
    done = first.task('Roll the kpatch-patch package to the target release')[0]['result']
    assert (done['before'], done['after']) == (root['versions']['1-3'], root['versions']['1-2'])
    assert any('reboot' in w for w in done.get('warnings', [])), done.get('warnings')
    assert rpm_q(root, '/var/lib/rpm') == root['versions']['1-2']
    assert loaded_patches(root) == patches_before

    second = playbook(path, variables)
    assert second.rc == 0, second.explain()
    assert second.stats['changed'] == 0, 'second run is not idempotent'

    # One release back across a fleet, guarded by the release it starts from.
    rollback = {'klp_root': root['root'], 'klp_path': KLP, 'klp_environment': root['env'],
                'klp_from_version': '1-2', 'klp_serial': 1, 'klp_wait_timeout': 5}
    back = playbook(EXAMPLES / 'rollback_one_version.yml', rollback)
    assert back.rc == 0, back.explain()
    step = back.task('Roll back one version from 1-2')[0]['result']
    assert (step['before'], step['after']) == (root['versions']['1-2'], root['versions']['1-1'])
    assert rpm_q(root, '/var/lib/rpm') == root['versions']['1-1']
    again = playbook(EXAMPLES / 'rollback_one_version.yml', rollback)
    assert again.rc == 0 and again.stats['changed'] == 0, again.explain()
    assert 'already rolled back' in again.task('Roll back one version from 1-2')[0]['result']['msg']

    # A bare VERSION cannot name a Red Hat release: klp's own error, nothing changed.
    bare = playbook(path, patch_vars(root, target_edition='1'))
    assert bare.rc == 2, bare.explain()
    assert bare.task('Roll the kpatch-patch package to the target release')[0]['result']['code'] == 'invalid_argument'
    assert rpm_q(root, '/var/lib/rpm') == root['versions']['1-1']


def test_klp_info_cves_on_a_rhel_root(playbook, tmp_path):
    """The same module and playbook as on SUSE: klp's Red Hat backend answers
    (kpatch-patch 1-2 installed, its changelog names CVE-2024-1086)."""
    root = rhel_root(tmp_path, '1-2')
    run = playbook(TESTS / 'playbooks' / 'info_cves.yml',
                   {'pkg_root': root['root'], 'klp_path': KLP, 'klp_environment': root['env'],
                    'fixed_cve': 'CVE-2024-1086',
                    # This root's support is an estimate that has run out, and its
                    # newer installed kernel-core fixes CVEs no live patch covers.
                    'reboot_reasons_expected': ['support_expired', 'newer_kernel_fixes_cves']})
    assert run.rc == 0, run.explain()
    info = run.task('Ask about a fixed CVE and an unknown one')[0]['result']
    patch = [p for p in info['assessment']['facts']['patches'] if p['enabled']][0]
    assert patch['package'].startswith(root['package'] + '-1-2.el9_4'), patch
    assert info['assessment']['facts']['backend']['name'] == 'redhat', info['assessment']['facts']['backend']
