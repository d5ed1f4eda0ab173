# Copyright (c) klp contributors
# MIT License
"""The shipped fleet report (ansible/playbooks/fleet_report.yml, role
klp.livepatch.fleet_report) over a simulated fleet of 200 hosts of nine kinds
(tests/ansible/fleet.py), with the real klp and ansible-playbook. Its JSON
report is asserted host by host, against the kind each host was built as
and against klp assess run directly on that host's root."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import fleet
from conftest import EXAMPLES, FIXTURE, KLP, run_playbook

HOSTS = int(os.environ.get('KLP_FLEET_HOSTS', '200'))

# What each kind must show in the report: verdict, reboot answer, finding
# codes that must be there.
EXPECTED = {
    'ready': ('ok', False, set()),
    'expiring': ('warning', False, {'support_expiring'}),
    'expired': ('critical', True, {'support_expired'}),
    'cve_missing': ('critical', None, {'cve_not_fixed'}),
    'not_loaded': (None, None, {'package_not_loaded'}),
    'stuck': ('critical', None, {'transition_stuck'}),
    'no_rpm_database': ('unknown', None, {'package_data_unknown'}),
}


@pytest.fixture(scope='module')
def fleet_run(tmp_path_factory):
    work = tmp_path_factory.mktemp('fleet')
    inventory = fleet.build(work, HOSTS, KLP, FIXTURE, os.environ['KLP_RPM_CACHE'])
    hosts = json.loads(inventory.read_text())['all']['hosts']
    report_dir = work / 'report'
    report_dir.mkdir()
    run = run_playbook(EXAMPLES / 'fleet_report.yml', {'fleet_report_dir': str(report_dir)},
                       work / 'results.jsonl', inventory=inventory, forks=10, timeout=1200)
    report = json.loads((report_dir / 'klp-fleet-report.json').read_text()) if run.rc == 0 else None
    return run, hosts, report, report_dir


def kind_hosts(hosts, kind):
    return sorted(name for name, variables in hosts.items() if variables['fleet_kind'] == kind)


def assess_directly(variables):
    env = dict(os.environ, **variables.get('klp_environment', {}))
    proc = subprocess.run([KLP, '--root', variables['klp_root'], 'assess', '--cve=%s' % fleet.CVE],
                          env=env, capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)


def test_the_play_succeeds_and_reports_every_host(fleet_run):
    run, hosts, report, _ = fleet_run
    assert run.rc == 0, run.explain()
    assert len(hosts) == HOSTS
    assert report['hosts_total'] == HOSTS
    assert set(report['hosts']) | set(report['not_assessed']) == set(hosts)
    assert report['hosts_assessed'] == len(report['hosts'])


def test_module_defaults_of_the_action_group_set_root_and_klp_path(fleet_run):
    run, hosts, _, _ = fleet_run
    # Role tasks are named "ROLE : TASK".
    infos = [r for r in run.results if r['task'].endswith('Assess the host with klp') and r['status'] == 'ok']
    assert len(infos) == HOSTS - len(kind_hosts(hosts, 'unreachable')) - len(kind_hosts(hosts, 'failing_klp'))
    for record in infos:
        args = record['result']['invocation']['module_args']
        assert args['root'] == hosts[record['host']]['klp_root']
        assert args['klp_path'] == hosts[record['host']]['klp_path']


@pytest.mark.parametrize('kind', sorted(EXPECTED))
def test_each_host_of_a_kind_is_reported_as_that_kind(fleet_run, kind):
    _, hosts, report, _ = fleet_run
    verdict, reboot, codes = EXPECTED[kind]
    names = kind_hosts(hosts, kind)
    assert names
    direct = assess_directly(hosts[names[0]])
    for name in names:
        entry = report['hosts'][name]
        # The report says what klp says, host by host.
        assert entry['verdict'] == direct['verdict'], (name, entry)
        assert entry['reboot_required'] == direct['reboot_required'], (name, entry)
        assert entry['findings'] == sorted({f['code'] for f in direct['findings']}), (name, entry)
        # And what the host was built to be.
        if verdict is not None:
            assert entry['verdict'] == verdict, (name, entry)
            assert name in report['by_verdict'][verdict]
        if reboot is not None:
            assert entry['reboot_required'] is reboot, (name, entry)
        assert codes <= set(entry['findings']), (name, entry)
        for code in codes:
            assert name in report['by_finding'][code]
        assert (name in report['reboot_required']) is (entry['reboot_required'] is True)


def test_missing_and_unknown_cves_are_told_apart(fleet_run):
    _, hosts, report, _ = fleet_run
    for name in kind_hosts(hosts, 'cve_missing'):
        assert report['cves_missing'][name] == [fleet.CVE]
    for name in kind_hosts(hosts, 'ready'):
        assert name not in report['cves_missing'] and name not in report['cves_unknown']
    # No rpm database: klp cannot tell, and the report never says "missing".
    for name in kind_hosts(hosts, 'no_rpm_database'):
        assert name not in report['cves_missing']
        assert report['cves_unknown'][name] == [fleet.CVE]


def test_unreachable_and_failing_hosts_are_in_the_report_with_the_reason(fleet_run):
    _, hosts, report, _ = fleet_run
    unreachable, failing = kind_hosts(hosts, 'unreachable'), kind_hosts(hosts, 'failing_klp')
    assert set(report['not_assessed']) == set(unreachable) | set(failing)
    for name in unreachable:
        assert report['not_assessed'][name]['reason'] == 'unreachable'
        assert 'ssh' in report['not_assessed'][name]['message'].lower()
    for name in failing:
        why = report['not_assessed'][name]
        assert why['reason'] == 'failed' and why['code'] == 'invalid_output', why
        assert 'printed no JSON report (exit code 139)' in why['message']


def test_markdown_summary_lists_verdicts_findings_reboots_cves_and_unassessed(fleet_run):
    _, hosts, report, report_dir = fleet_run
    text = (report_dir / 'klp-fleet-report.md').read_text()
    for verdict, names in report['by_verdict'].items():
        assert '| %s | %d |' % (verdict, len(names)) in text
    for code, names in report['by_finding'].items():
        assert '| `%s` | %d |' % (code, len(names)) in text
    assert '%d hosts must reboot' % len(report['reboot_required']) in text
    name = kind_hosts(hosts, 'cve_missing')[0]
    assert '| %s | %s |' % (name, fleet.CVE) in text
    name = kind_hosts(hosts, 'unreachable')[0]
    assert '| %s | unreachable |' % name in text
    print(text)
