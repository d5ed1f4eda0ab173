# Copyright (c) klp contributors
# MIT License
"""Captures the real klp's answers for the collection's unit tests.

    python3 tests/ansible/capture_klp.py OUT.json

Runs the klp binary ($KLP_BIN) on fixture roots (the fixture builder,
$KLP_FIXTURE) and on real rpm/zypper roots (tests/pkg/mkroot.py, RPMs shared
through $KLP_RPM_CACHE; klp_patch's `downgrade` plans, real downgrades and
zypper failures) and writes, per case, the command arguments, exit code,
stdout and stderr. The unit tests' fake klp answers only with these
(tests/unit/plugins/modules/conftest.py: FakeKlp.add_captured), so no klp
output in them is written by hand, and a change of klp's JSON reaches them.
Run by tests/ansible/run.sh before `ansible-test units`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
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

# klp_patch's answers: `klp downgrade` on rpm roots with versions 1..5 (zypper).
# name: (installed version, what the root is, command arguments); '{N}' is
# version N's whole edition. A root that a run changes (a real downgrade) is
# a copy of its own; 'broken_repo' is one whose repository lost its packages
# (its metadata still cached), so zypper itself fails.
DOWNGRADE_CASES = {
    'downgrade_plan_5_to_3': (5, 'shared', ['downgrade', '--dry-run', '--to=3']),
    'downgrade_plan_5_to_4': (5, 'shared', ['downgrade', '--dry-run', '--to=4']),
    'downgrade_plan_5_at_5': (5, 'shared', ['downgrade', '--dry-run', '--to=5']),
    'downgrade_plan_5_previous': (5, 'shared', ['downgrade', '--dry-run']),
    'downgrade_plan_5_to_7': (5, 'shared', ['downgrade', '--dry-run', '--to=7']),
    'downgrade_plan_5_to_4_5': (5, 'shared', ['downgrade', '--dry-run', '--to=4.5']),
    'downgrade_5_to_3': (5, 'own', ['--non-interactive', 'downgrade', '--to=3']),
    'downgrade_5_to_4_edition': (5, 'own', ['--non-interactive', 'downgrade', '--to={4}']),
    'downgrade_5_to_3_zypper_fails': (5, 'broken_repo', ['--non-interactive', 'downgrade', '--to=3']),
    'downgrade_plan_4_to_5': (4, 'shared', ['downgrade', '--dry-run', '--to=5']),
    'downgrade_plan_4_at_4_edition': (4, 'shared', ['downgrade', '--dry-run', '--to={4}']),
    'downgrade_plan_1_at_1': (1, 'shared', ['downgrade', '--dry-run', '--to=1']),
    'downgrade_plan_1_previous': (1, 'shared', ['downgrade', '--dry-run']),
    'downgrade_plan_no_rpm_database': (None, 'fixture', ['downgrade', '--dry-run', '--to=5']),
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
    return made, env, templates


def break_repository(host_dir):
    """Points the copied root's repository at one with its metadata but none
    of its packages: klp still finds the versions, zypper cannot install."""
    root = host_dir / 'root'
    (repo_file,) = (root / 'etc' / 'zypp' / 'repos.d').glob('*.repo')
    baseurl = re.search(r'^baseurl=dir:(.*)$', repo_file.read_text(), re.M).group(1)
    empty = host_dir / 'repo-without-packages'
    shutil.copytree(Path(baseurl) / 'repodata', empty / 'repodata')
    repo_file.write_text(repo_file.read_text().replace('dir:' + baseurl, 'dir:%s' % empty))


def downgrade_roots(work, templates, fixture_root):
    """(root, env, command arguments) per DOWNGRADE_CASES name."""
    shared = {}
    for name, (installed, kind, args) in DOWNGRADE_CASES.items():
        if kind == 'fixture':
            yield name, fixture_root, {}, args
            continue
        template = templates.rpm(installed)
        args = [a.replace('{4}', template['versions']['4']) for a in args]
        if kind == 'shared':
            if installed not in shared:
                shared[installed] = fleet.copy_rpm_host(template, work / ('downgrade-%d' % installed))
            root, env = shared[installed]
        else:
            host = work / name
            root, env = fleet.copy_rpm_host(template, host)
            if kind == 'broken_repo':
                break_repository(host)
        yield name, root, env, args


def capture(root, env, args, label):
    argv = [KLP, '--format', 'json', '--root', str(root)] + args
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, **env), check=False)
    json.loads(proc.stdout)  # klp prints one JSON document, also on failure
    # Paths of the temporary roots are not part of any answer a test relies on.
    return {'args': list(args), 'rc': proc.returncode, 'stdout': proc.stdout.replace(str(root), '/srv/%s' % label),
            'stderr': proc.stderr.replace(str(root), '/srv/%s' % label)}


def main():
    out = Path(sys.argv[1])
    captured = {}
    with tempfile.TemporaryDirectory(prefix='klp-capture-', dir=os.environ.get('KLP_WORK')) as tmp:
        made, env, templates = roots(Path(tmp))
        for name, (root, args) in CASES.items():
            captured[name] = capture(made[root], env, args, root)
        for name, root, root_env, args in downgrade_roots(Path(tmp), templates, made['ready']):
            captured[name] = capture(root, root_env, args, 'pkg')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(captured, indent=1, sort_keys=True) + '\n')
    print('captured %d klp answers into %s' % (len(captured), out))


if __name__ == '__main__':
    main()
