# Copyright (c) klp contributors
# MIT License
"""Captures the real klp's answers for the collection's unit tests.

    python3 tests/ansible/capture_klp.py OUT.json

Runs the klp binary ($KLP_BIN) on fixture roots (the fixture builder,
$KLP_FIXTURE) and on a real rpm root (tests/pkg/mkroot.py, RPMs shared
through $KLP_RPM_CACHE) and writes, per case, the command arguments, exit
code, stdout and stderr. The unit tests' fake klp answers only with these
(tests/unit/plugins/modules/conftest.py: FakeKlp.add_captured), so no klp
output in them is written by hand, and a change of klp's JSON reaches them.
Run by tests/ansible/run.sh before `ansible-test units`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fleet  # noqa: E402  (the fleet's kernel-log and lifecycle writers)

KLP = os.environ['KLP_BIN']
FIXTURE = os.environ['KLP_FIXTURE']

CVE = fleet.CVE
MISSING_CVE = 'CVE-2099-0001'

# name: (root, command arguments after the global options)
CASES = {
    'assess_ready': ('ready', ['assess']),
    'assess_ready_cve': ('ready', ['assess', '--cve=%s' % CVE]),
    'assess_stuck': ('stuck', ['assess']),
    'assess_stuck_young': ('stuck_young', ['assess']),
    'assess_stuck_nolog': ('stuck_nolog', ['assess']),
    'assess_several': ('several', ['assess']),
    'assess_unsupported': ('unsupported', ['assess']),
    'assess_rpm_cves': ('rpm', ['assess', '--cve=%s' % CVE, '--cve=%s' % MISSING_CVE]),
    'assess_rpm_thresholds': ('rpm', ['assess', '--stuck-after=60.0', '--expiry-warning=400',
                                      '--expiry-critical=3']),
    'assess_missing_root': ('missing', ['assess']),
    'check_wait_stuck': ('stuck_young', ['check', '--wait', '--timeout', '0.5', '--interval', '0.25']),
    'check_wait_ready': ('ready', ['check', '--wait', '--timeout', '0.5', '--interval', '0.25']),
    'status_ready': ('ready', ['status']),
    'patches_several': ('several', ['patches']),
    'patches_ready_support': ('ready', ['-vv', 'patches']),
    'blocking_stuck': ('stuck_young', ['blocking']),
    'blocking_stuck_cmdline': ('stuck_young', ['-v', 'blocking']),
}


def roots(work):
    made = {}
    for scenario in ('ready', 'several', 'unsupported'):
        made[scenario] = work / scenario
        subprocess.run([FIXTURE, scenario, str(made[scenario])], check=True)
        fleet.kernel_log(made[scenario])
    for name, since in (('stuck', fleet.STUCK_SINCE_SECONDS), ('stuck_young', fleet.UPTIME_SECONDS - 20),
                        ('stuck_nolog', None)):
        made[name] = work / name
        subprocess.run([FIXTURE, 'stuck', str(made[name])], check=True)
        if since is None:
            (made[name] / 'dev' / 'kmsg').unlink(missing_ok=True)  # a log without the start record
        else:
            fleet.kernel_log(made[name], (5, since, "livepatch: '%s': starting patching transition"
                                          % fleet.STUCK_PATCH))
    templates = fleet.Templates(work, FIXTURE, os.environ['KLP_RPM_CACHE'])
    host = work / 'rpm-host'
    root, env = fleet.copy_rpm_host(templates.rpm(5), host)
    fleet.lifecycle(root, templates.rpm(5)['package'], 200)
    made['rpm'] = root
    made['missing'] = work / 'no-such-root'
    return made, env


def main():
    out = Path(sys.argv[1])
    captured = {}
    with tempfile.TemporaryDirectory(prefix='klp-capture-', dir=os.environ.get('KLP_WORK')) as tmp:
        made, env = roots(Path(tmp))
        for name, (root, args) in CASES.items():
            argv = [KLP, '--format', 'json', '--root', str(made[root])] + args
            proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, **env), check=False)
            json.loads(proc.stdout)  # klp prints one JSON document, also on failure
            # Paths of the temporary roots are not part of any answer a test relies on.
            stdout = proc.stdout.replace(str(made[root]), '/srv/%s' % root)
            captured[name] = {'args': [a for a in args], 'rc': proc.returncode, 'stdout': stdout,
                              'stderr': proc.stderr.replace(str(made[root]), '/srv/%s' % root)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(captured, indent=1, sort_keys=True) + '\n')
    print('captured %d klp answers into %s' % (len(captured), out))


if __name__ == '__main__':
    main()
