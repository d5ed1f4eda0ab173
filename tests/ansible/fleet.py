# Copyright (c) klp contributors
# MIT License
"""A simulated fleet for the fleet report: N local "hosts", each with its own
system root, of nine kinds (the host's state is the kind's).

    python3 tests/ansible/fleet.py --dir DIR [--hosts 200]   # prints the inventory path

Real rpm roots come from tests/pkg/mkroot.py (two templates: live patch 5 of
5 installed, and 2 of 5), fixture roots from the fixture builder
(examples/fixture.rs). Each host gets its own copy, changed the way the
kind needs (lifecycle data, a missing sysfs patch, a kernel log):

  ready            rpm root, support ends in a year
  expiring         rpm root, support ends in 20 days
  expired          rpm root, support ended 10 days ago
  cve_missing      rpm root with live patch 2: the CVE asked about is fixed in 4
  not_loaded       rpm root whose installed live patch is not loaded (no sysfs dir)
  stuck            fixture root: a transition started an hour ago, held up by two threads
  no_rpm_database  fixture root: a loaded patch, no rpm database
  unreachable      an ssh host on a loopback port nothing listens on
  failing_klp      a klp_path that crashes without a report

Used by tests/ansible/test_fleet.py and the benchmark (tests/ansible/bench_fleet.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MKROOT = REPO / 'tests' / 'pkg' / 'mkroot.py'

KINDS = ('ready', 'expiring', 'expired', 'cve_missing', 'not_loaded', 'stuck', 'no_rpm_database',
         'unreachable', 'failing_klp')
# Fixed in live patch 4 (tests/pkg/mkroot.py: cves_of(4)), so in the changelog of 5, not of 2.
CVE = 'CVE-2025-21040'
UPTIME_SECONDS = 5000.0
STUCK_SINCE_SECONDS = 1400.0
STUCK_PATCH = 'livepatch_2_150600_2_1'


def run(argv, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise SystemExit('fleet: %s failed (%s):\n%s%s' % (' '.join(map(str, argv)), proc.returncode,
                                                          proc.stdout, proc.stderr))
    return proc.stdout


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def kernel_log(root, *records):
    """dev/kmsg as a regular file of records (`PRI,SEQ,USEC,FLAGS;TEXT`), from
    boot (sequence 0, so the log is complete), and proc/uptime."""
    lines = ['6,0,0,-;Linux version 6.4.0-150600.23.22-default (geeko@buildhost)']
    lines += ['%d,%d,%d,-;%s' % (pri, seq, int(at * 1e6), text) for seq, (pri, at, text) in enumerate(records, 1)]
    write(root / 'dev' / 'kmsg', '\n'.join(lines) + '\n')
    write(root / 'proc' / 'uptime', '%.2f %.2f\n' % (UPTIME_SECONDS, UPTIME_SECONDS * 1.8))


def lifecycle(root, package, days):
    """Vendor lifecycle data: support of every version of the package ends in ``days``."""
    end = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=days)
    write(root / 'usr' / 'share' / 'lifecycle' / 'data' / 'klp-fleet.lifecycle',
          '# written by tests/ansible/fleet.py\n%s, *, %s\n' % (package, end.isoformat()))


class Templates:
    """The roots the hosts are copied from, built once per work dir."""

    def __init__(self, work, fixture_bin, rpm_cache):
        self.work = work
        self.fixture_bin = fixture_bin
        self.rpm_cache = rpm_cache
        self.made = {}

    def rpm(self, installed):
        key = 'rpm-%d' % installed
        if key not in self.made:
            directory = self.work / 'templates' / key
            info_path = directory.with_suffix('.json')
            if not info_path.exists():
                shutil.rmtree(directory, ignore_errors=True)
                out = run([sys.executable, str(MKROOT), '--dir', str(directory), '--versions', '5',
                           '--installed', str(installed), '--rpm-cache', str(self.rpm_cache)])
                info_path.write_text(out)
            self.made[key] = json.loads(info_path.read_text())
        return self.made[key]

    def fixture(self, scenario):
        key = 'fixture-' + scenario
        if key not in self.made:
            directory = self.work / 'templates' / key
            if not directory.exists():
                run([str(self.fixture_bin), scenario, str(directory)])
            self.made[key] = directory
        return self.made[key]


def copy_rpm_host(template, host_dir):
    """A private copy of an rpm root: root/ and home/ (the repository is shared, read-only)."""
    source = Path(template['root']).parent
    for part in ('root', 'home'):
        shutil.copytree(source / part, host_dir / part, symlinks=True)
    (host_dir / 'tmp').mkdir()
    env = {'HOME': str(host_dir / 'home'), 'ZYPP_LOGFILE': str(host_dir / 'zypper.log'),
           'ZYPP_LOCKFILE_ROOT': str(host_dir / 'root'), 'TMPDIR': str(host_dir / 'tmp'),
           'ZYPPTMPDIR': str(host_dir / 'tmp'), 'LC_ALL': 'C.UTF-8'}
    root = host_dir / 'root'
    kernel_log(root, (5, 12.5, "livepatch: enabling patch '%s'" % loaded_name(template)),
               (5, 12.6, "livepatch: '%s': starting patching transition" % loaded_name(template)),
               (5, 13.9, "livepatch: '%s': patching complete" % loaded_name(template)))
    return root, env


def loaded_name(template):
    version, release = template['installed'].split('-', 1)
    return 'livepatch_%s_%s' % (version, release.replace('.', '_'))


def make_host(kind, host_dir, templates, klp_bin):
    """The inventory variables of one host of ``kind``; its root under host_dir."""
    host_dir.mkdir(parents=True)
    variables = {'ansible_connection': 'local', 'klp_path': klp_bin, 'fleet_kind': kind}
    if kind in ('ready', 'expiring', 'expired', 'not_loaded', 'cve_missing'):
        template = templates.rpm(2 if kind == 'cve_missing' else 5)
        root, env = copy_rpm_host(template, host_dir)
        days = {'expiring': 20, 'expired': -10}.get(kind, 365)
        lifecycle(root, template['package'], days)
        if kind == 'not_loaded':
            shutil.rmtree(root / 'sys' / 'kernel' / 'livepatch' / loaded_name(template))
        variables.update(klp_root=str(root), klp_environment=env)
    elif kind in ('stuck', 'no_rpm_database'):
        root = host_dir / 'root'
        shutil.copytree(templates.fixture('stuck' if kind == 'stuck' else 'ready'), root, symlinks=True)
        if kind == 'stuck':
            kernel_log(root, (5, STUCK_SINCE_SECONDS - 0.1, "livepatch: enabling patch '%s'" % STUCK_PATCH),
                       (5, STUCK_SINCE_SECONDS, "livepatch: '%s': starting patching transition" % STUCK_PATCH))
        else:
            kernel_log(root)
        variables.update(klp_root=str(root))
    elif kind == 'unreachable':
        variables = {'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1', 'ansible_port': free_port(),
                     'ansible_user': 'nobody', 'fleet_kind': kind,
                     'ansible_ssh_common_args': '-o ConnectTimeout=5 -o BatchMode=yes '
                                                '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'}
    elif kind == 'failing_klp':
        crash = host_dir / 'klp-crashes'
        # Dies like a crashing binary: a partial line on stdout, no report, a signal-like status.
        crash.write_text('#!/bin/sh\nprintf \'{"schema_version":\'\necho "klp: Segmentation fault" >&2\nexit 139\n')
        crash.chmod(0o755)
        variables.update(klp_path=str(crash), klp_root='/')
    return variables


def build(directory, hosts, klp_bin, fixture_bin, rpm_cache):
    """Writes DIR/inventory.json for ``hosts`` hosts (the kinds in turn) and returns its path."""
    directory = Path(directory)
    templates = Templates(directory, fixture_bin, rpm_cache)
    fleet = directory / 'hosts'
    shutil.rmtree(fleet, ignore_errors=True)
    inventory = {}
    for index in range(hosts):
        kind = KINDS[index % len(KINDS)]
        name = '%s-%03d' % (kind.replace('_', '-'), index)
        inventory[name] = make_host(kind, fleet / name, templates, klp_bin)
    path = directory / 'inventory.json'
    # JSON is YAML: the python ansible runs under reads it as an inventory.
    path.write_text(json.dumps({'all': {'hosts': inventory, 'vars': {'fleet_report_cves': [CVE]}}}, indent=1))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dir', required=True)
    parser.add_argument('--hosts', type=int, default=200)
    parser.add_argument('--klp', default=os.environ.get('KLP_BIN', str(REPO / 'target' / 'release' / 'klp')))
    parser.add_argument('--fixture', default=os.environ.get(
        'KLP_FIXTURE', str(REPO / 'target' / 'release' / 'examples' / 'fixture')))
    parser.add_argument('--rpm-cache', default=os.environ.get('KLP_RPM_CACHE'))
    args = parser.parse_args()
    rpm_cache = args.rpm_cache or os.path.join(args.dir, 'rpm-cache')
    print(build(args.dir, args.hosts, args.klp, args.fixture, rpm_cache))


if __name__ == '__main__':
    main()
