# Copyright (c) klp contributors
# MIT License
"""Shared by the Ansible suite's drivers: real ansible-playbook runs, each
task's result recorded by the klp_results callback.

Run by tests/ansible/run.sh, which exports KLP_REPO, KLP_WORK, KLP_BIN,
KLP_FIXTURE and ANSIBLE_COLLECTIONS_PATH (the collection built and installed
from this repository).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fleet

REPO = Path(os.environ['KLP_REPO'])
KLP = os.environ['KLP_BIN']
FIXTURE = os.environ['KLP_FIXTURE']
TESTS = REPO / 'tests' / 'ansible'
EXAMPLES = REPO / 'ansible' / 'playbooks'
PLAYBOOK = str(Path(sys.executable).parent / 'ansible-playbook')
TRANSCRIPT = Path(os.environ['KLP_WORK']) / 'ansible' / 'playbook-runs.log'


class Run:
    """One ansible-playbook run: exit code, output, task results, recap."""

    def __init__(self, proc, log_path):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        records = []
        if log_path.exists():
            records = [json.loads(line) for line in log_path.read_text().splitlines()]
        self.results = [r for r in records if r['kind'] == 'result']
        stats = [r for r in records if r['kind'] == 'stats']
        self.all_stats = stats[-1]['hosts'] if stats else {}
        self.stats = self.all_stats.get('localhost')

    def task(self, name):
        """The results of the tasks named ``name`` (one per run of it)."""
        found = [r for r in self.results if r['task'] == name]
        assert found, 'task %r did not run; tasks: %r\n%s' % (name, [r['task'] for r in self.results], self.stdout)
        return found

    def explain(self):
        return 'ansible-playbook exit %s\nstdout:\n%s\nstderr:\n%s' % (self.rc, self.stdout, self.stderr)


def run_playbook(path, extra_vars, log_path, check=False, diff=False, env=None, inventory='localhost,',
                 forks=None, timeout=600):
    """One ansible-playbook run; every task result lands in ``log_path``."""
    cmd = [PLAYBOOK, '-i', str(inventory), '-c', 'local',
           '-e', 'ansible_python_interpreter={{ ansible_playbook_python }}',
           '-e', json.dumps(extra_vars), str(path)]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    if forks:
        cmd.extend(['--forks', str(forks)])
    environ = dict(os.environ)
    environ.update(env or {})
    environ.update(
        ANSIBLE_CALLBACKS_ENABLED='klp_results',
        ANSIBLE_CALLBACK_PLUGINS=str(TESTS / 'callback_plugins'),
        KLP_RESULTS_LOG=str(log_path),
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_RETRY_FILES_ENABLED='0',
        ANSIBLE_LOCALHOST_WARNING='0',
        ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
    )
    proc = subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=timeout, check=False)
    result = Run(proc, log_path)
    transcript = '$ %s\n%s%s(exit %s)\n\n' % (' '.join(cmd), result.stdout, result.stderr, result.rc)
    print(transcript)
    # Every run, for people: the suite prints where this file is.
    with open(TRANSCRIPT, 'a', encoding='utf-8') as log:
        log.write(transcript)
    return result


@pytest.fixture
def playbook(tmp_path):
    counter = [0]

    def run(path, extra_vars, **kwargs):
        counter[0] += 1
        return run_playbook(path, extra_vars, tmp_path / ('results-%d.jsonl' % counter[0]), **kwargs)

    return run


@pytest.fixture
def fixture_root(tmp_path):
    """A fixture root with a kernel log (tests/ansible/fleet.py); a transition
    in it (stuck, reversed) started ``started_seconds_ago`` (default 20: young)."""

    def make(scenario, started_seconds_ago=20.0):
        root = tmp_path / ('root-' + scenario)
        subprocess.run([FIXTURE, scenario, str(root)], check=True)
        records = []
        if scenario in ('stuck', 'reversed'):
            direction = 'patching' if scenario == 'stuck' else 'unpatching'
            records.append((5, fleet.UPTIME_SECONDS - started_seconds_ago,
                            "livepatch: '%s': starting %s transition" % (fleet.STUCK_PATCH, direction)))
        fleet.kernel_log(root, *records)
        return str(root)

    return make


