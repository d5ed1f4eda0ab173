# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

"""The fleet summary of ``klp assess`` reports: one implementation for both engines.

Ansible's role ``klp.livepatch.fleet_report`` (through the filters of
``plugins/filter/klp_fleet.py``) and Salt's runner ``klp.report`` (this same
file, shipped as the Salt utils module ``klp_fleet``) call :func:`summarize`
and :func:`markdown`, so both engines print the same report from the same
answers. Plain Python, standard library only: Salt loads it outside Ansible.

Input: a mapping of host name to one outcome, each a dict of one of:

- ``{"assessment": REPORT}``: the JSON document of ``klp assess``;
- ``{"failed": True, "code": CODE, "msg": TEXT}``: klp (or the engine) failed;
- ``{"unreachable": True, "msg": TEXT}``: the host did not answer;
- ``None``: no result at all (the host never ran the task).
"""

from __future__ import annotations

VERDICTS = ('ok', 'warning', 'critical', 'unknown')
SCHEMA = 'klp-fleet-report/1'

# klp assess's finding codes for CVEs (see `klp schema assess`).
CVE_NOT_FIXED = 'cve_not_fixed'
CVE_STATUS_UNKNOWN = 'cve_status_unknown'


def _subjects(findings, code):
    return sorted({f.get('subject') for f in findings if f.get('code') == code and f.get('subject')})


def host_entry(assessment):
    """The per-host line of the report: what the verdict rests on, in short."""
    findings = assessment.get('findings') or []
    return {
        'verdict': assessment.get('verdict'),
        'reboot_required': assessment.get('reboot_required'),
        'reboot_reasons': list(assessment.get('reboot_reasons') or []),
        'findings': sorted({f.get('code') for f in findings if f.get('code')}),
        'cves_missing': _subjects(findings, CVE_NOT_FIXED),
        'cves_unknown': _subjects(findings, CVE_STATUS_UNKNOWN),
        'transition_started_seconds_ago': (assessment.get('transition') or {}).get('started_seconds_ago'),
    }


def _not_assessed(outcome):
    if outcome is None:
        return {'reason': 'no_result', 'message': 'the host returned no result (it never ran the task)'}
    if outcome.get('unreachable'):
        return {'reason': 'unreachable', 'message': str(outcome.get('msg') or 'the host did not answer')}
    return {'reason': 'failed', 'code': outcome.get('code'),
            'message': str(outcome.get('msg') or 'klp assess failed')}


def summarize(outcomes):
    """The fleet summary (a JSON-ready dict) of ``{host: outcome}``."""
    summary = {
        'schema': SCHEMA,
        'hosts_total': len(outcomes),
        'hosts_assessed': 0,
        'by_verdict': {verdict: [] for verdict in VERDICTS},
        'by_finding': {},
        'reboot_required': [],
        'reboot_unknown': [],
        'cves_missing': {},
        'cves_unknown': {},
        'not_assessed': {},
        'hosts': {},
    }
    for host in sorted(outcomes):
        outcome = outcomes[host]
        assessment = outcome.get('assessment') if isinstance(outcome, dict) else None
        if not isinstance(assessment, dict) or outcome.get('failed') or outcome.get('unreachable'):
            summary['not_assessed'][host] = _not_assessed(outcome if isinstance(outcome, dict) else None)
            continue
        entry = host_entry(assessment)
        summary['hosts'][host] = entry
        summary['hosts_assessed'] += 1
        # A verdict klp does not know (a newer klp) is not counted as fine.
        verdict = entry['verdict'] if entry['verdict'] in VERDICTS else 'unknown'
        summary['by_verdict'][verdict].append(host)
        for code in entry['findings']:
            summary['by_finding'].setdefault(code, []).append(host)
        if entry['reboot_required'] is True:
            summary['reboot_required'].append(host)
        elif entry['reboot_required'] is None:
            summary['reboot_unknown'].append(host)
        if entry['cves_missing']:
            summary['cves_missing'][host] = entry['cves_missing']
        if entry['cves_unknown']:
            summary['cves_unknown'][host] = entry['cves_unknown']
    summary['by_finding'] = dict(sorted(summary['by_finding'].items()))
    return summary


def _count(number):
    return '%d host%s' % (number, '' if number == 1 else 's')


def _hosts(hosts, limit=50):
    shown = ', '.join(hosts[:limit])
    return shown + (' and %d more' % (len(hosts) - limit) if len(hosts) > limit else '')


def markdown(summary):
    """The summary for people, as Markdown."""
    lines = ['# Kernel live patching: fleet report', '',
             '%s, %d assessed by `klp assess`, %d not assessed.'
             % (_count(summary['hosts_total']), summary['hosts_assessed'], len(summary['not_assessed'])), '',
             '## Hosts by verdict', '', '| verdict | hosts | names |', '|---|---|---|']
    for verdict in VERDICTS:
        hosts = summary['by_verdict'][verdict]
        lines.append('| %s | %d | %s |' % (verdict, len(hosts), _hosts(hosts)))
    lines += ['', '## Hosts by finding', '']
    if summary['by_finding']:
        lines += ['| finding | hosts | names |', '|---|---|---|']
        lines += ['| `%s` | %d | %s |' % (code, len(hosts), _hosts(hosts))
                  for code, hosts in summary['by_finding'].items()]
    else:
        lines.append('No findings.')
    lines += ['', '## Reboot needed', '',
              '%s must reboot: %s' % (_count(len(summary['reboot_required'])), _hosts(summary['reboot_required']) or '-'),
              '',
              '%s could not tell: %s' % (_count(len(summary['reboot_unknown'])), _hosts(summary['reboot_unknown']) or '-'),
              '', '## CVEs missing', '']
    if summary['cves_missing'] or summary['cves_unknown']:
        lines += ['| host | not fixed | could not tell |', '|---|---|---|']
        for host in sorted(set(summary['cves_missing']) | set(summary['cves_unknown'])):
            lines.append('| %s | %s | %s |' % (host, ', '.join(summary['cves_missing'].get(host, [])) or '-',
                                               ', '.join(summary['cves_unknown'].get(host, [])) or '-'))
    else:
        lines.append('None of the CVEs asked about is missing.')
    lines += ['', '## Hosts klp could not assess', '']
    if summary['not_assessed']:
        lines += ['| host | reason | message |', '|---|---|---|']
        for host, why in sorted(summary['not_assessed'].items()):
            reason = why['reason'] + (' (`%s`)' % why['code'] if why.get('code') else '')
            lines.append('| %s | %s | %s |' % (host, reason, why['message'].replace('|', '\\|').replace('\n', ' ')))
    else:
        lines.append('Every host was assessed.')
    return '\n'.join(lines) + '\n'
