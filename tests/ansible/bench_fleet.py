# Copyright (c) klp contributors
# MIT License
"""Benchmark: the fleet report over the 200 simulated hosts of
tests/ansible/fleet.py against the same playbook with a bare `klp status`
(tests/ansible/bench/bare_status.yml), and klp processes per host.

    python tests/ansible/bench_fleet.py --dir DIR [--hosts 200] [--runs 3]

in the environment tests/ansible/run.sh sets up (its venv's python, HOME,
ANSIBLE_COLLECTIONS_PATH with the collection installed, KLP_BIN, KLP_FIXTURE,
KLP_RPM_CACHE); BENCHMARKS.md has the exact commands.

Runs each playbook --runs times, alternately (so machine load hits both
alike), 10 forks, and prints the median wall times and their ratio. Then runs
the fleet report once more with klp_path pointing at a wrapper that logs each
run, and prints how many klp processes each host started.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fleet  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = str(Path(sys.executable).parent / 'ansible-playbook')


def play(path, inventory, report_dir, extra=None):
    variables = {'fleet_report_dir': str(report_dir)}
    variables.update(extra or {})
    cmd = [PLAYBOOK, '-i', str(inventory), '--forks', '10',
           '-e', 'ansible_python_interpreter={{ ansible_playbook_python }}', '-e', json.dumps(variables), str(path)]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0'))
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit('bench: %s failed (%s):\n%s%s' % (path, proc.returncode, proc.stdout[-3000:], proc.stderr))
    return elapsed


def count_processes(directory, inventory_path, klp):
    """klp processes per host: the fleet report once with a logging klp_path."""
    inventory = json.loads(inventory_path.read_text())
    log = directory / 'klp-runs.log'
    log.unlink(missing_ok=True)
    wrapper = directory / 'klp-counting'
    # One line per klp run: the root it was given, then the real klp.
    wrapper.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec %s "$@"\n' % (log, klp))
    wrapper.chmod(0o755)
    for variables in inventory['all']['hosts'].values():
        if variables.get('klp_path') == klp:
            variables['klp_path'] = str(wrapper)
    counted = directory / 'inventory-counting.json'
    counted.write_text(json.dumps(inventory))
    play(REPO / 'ansible' / 'playbooks' / 'fleet_report.yml', counted, directory)
    roots = {v['klp_root']: name for name, v in inventory['all']['hosts'].items() if v.get('klp_path') == str(wrapper)}
    per_host = Counter()
    for line in log.read_text().splitlines():
        words = line.split()
        root = words[words.index('--root') + 1] if '--root' in words else None
        per_host[roots.get(root, '?')] += 1
    return {name: per_host.get(name, 0) for name in roots.values()}, per_host.get('?', 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dir', required=True)
    parser.add_argument('--hosts', type=int, default=200)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    klp = os.environ['KLP_BIN']
    inventory = fleet.build(directory, args.hosts, klp, os.environ['KLP_FIXTURE'],
                            os.environ.get('KLP_RPM_CACHE') or str(directory / 'rpm-cache'))
    report, bare = [], []
    for _ in range(args.runs):
        report.append(play(REPO / 'ansible' / 'playbooks' / 'fleet_report.yml', inventory, directory))
        bare.append(play(REPO / 'tests' / 'ansible' / 'bench' / 'bare_status.yml', inventory, directory))
    per_host, unattributed = count_processes(directory, inventory, klp)
    counts = Counter(per_host.values())
    print('fleet report over %d hosts, %d runs each, 10 forks, strategy free' % (args.hosts, args.runs))
    print('  fleet report (klp_info = klp assess):  median %.1f s  (runs: %s)'
          % (statistics.median(report), ', '.join('%.1f' % t for t in report)))
    print('  bare `command: klp status`:            median %.1f s  (runs: %s)'
          % (statistics.median(bare), ', '.join('%.1f' % t for t in bare)))
    print('  ratio of medians: %.2f' % (statistics.median(report) / statistics.median(bare)))
    print('  klp processes per assessed host: %s (hosts: count); unattributed runs: %d'
          % (dict(sorted(counts.items())), unattributed))


if __name__ == '__main__':
    main()
