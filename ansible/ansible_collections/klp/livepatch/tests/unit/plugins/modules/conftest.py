# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

"""A fake klp for the module unit tests: klp's answers per command.

The answers klp_info, klp_facts and klp_patch get are the real binary's, captured by
tests/ansible/capture_klp.py into captured_klp.json beside this file (the
suite writes it before `ansible-test units`; it is not committed), so a
change of klp's JSON reaches these tests. The real binary is also exercised
by tests/ansible (real ansible-playbook); here run_command is replaced so
that each decision path of the modules can be driven precisely.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    """exit_json or fail_json was called; ``result`` holds its arguments."""

    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


def _exit_json(self, **kwargs):
    raise ModuleExit(kwargs, failed=False)


def _fail_json(self, msg, **kwargs):
    kwargs['msg'] = msg
    raise ModuleExit(kwargs, failed=True)


CAPTURED_PATH = os.path.join(os.path.dirname(__file__), 'captured_klp.json')


def captured(name):
    """One answer of the real klp: {'args', 'rc', 'stdout', 'stderr'}."""
    if not os.path.exists(CAPTURED_PATH):
        pytest.fail('%s is missing: tests/ansible/run.sh writes it with tests/ansible/capture_klp.py'
                    % CAPTURED_PATH)
    with open(CAPTURED_PATH, encoding='utf-8') as f:
        return json.load(f)[name]


def captured_doc(name):
    return json.loads(captured(name)['stdout'])


class FakeKlp:
    """Answers klp command lines from a table keyed by the arguments after the
    global options, e.g. ``('downgrade', '--dry-run', '--to=3')``; records calls."""

    def __init__(self):
        self.responses = {}
        self.calls = []

    def add(self, args, doc=None, rc=0, stdout=None, stderr=''):
        if stdout is None:
            stdout = json.dumps(doc)
        self.responses[tuple(args)] = (rc, stdout, stderr)

    def add_captured(self, name):
        """Answer the captured command with the real klp's answer; returns its document."""
        answer = captured(name)
        args = list(answer['args'])
        while args and args[0].startswith('-'):
            args.pop(0)  # global options (-v, --non-interactive) come before the command
        self.add(args, rc=answer['rc'], stdout=answer['stdout'], stderr=answer['stderr'])
        return json.loads(answer['stdout'])

    @staticmethod
    def split(cmd):
        """(global options, command arguments) of a klp argv list."""
        rest = list(cmd[1:])
        options = []
        while rest and rest[0].startswith('-'):
            option = rest.pop(0)
            options.append(option)
            if option in ('--format', '--root'):
                options.append(rest.pop(0))
        return options, tuple(rest)

    def run_command(self, module, cmd, check_rc=False, **kwargs):
        assert isinstance(cmd, list), 'klp must be run with an argv list'
        assert not kwargs.get('use_unsafe_shell'), 'klp must never run through a shell'
        options, args = self.split(cmd)
        self.calls.append((options, args))
        if args not in self.responses:
            raise AssertionError('unexpected klp call: %r (known: %r)' % (args, list(self.responses)))
        return self.responses[args]

    def commands(self):
        return [args for _options, args in self.calls]


@pytest.fixture
def captured_answer():
    """captured(): one answer of the real klp, for a test that derives from it."""
    return captured


@pytest.fixture
def fake_klp(monkeypatch):
    fake = FakeKlp()

    def run_command(module, cmd, *args, **kwargs):
        return fake.run_command(module, cmd, *args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)
    return fake


@pytest.fixture
def run_module():
    """Run a module's main() with the given arguments; returns (result, failed).

    ``klp_path`` defaults to this Python interpreter: any existing executable
    passes the module's check, and run_command is faked anyway."""

    def run(main, args, check_mode=False, diff=False):
        args = dict(args)
        args.setdefault('klp_path', sys.executable)
        if check_mode:
            args['_ansible_check_mode'] = True
        if diff:
            args['_ansible_diff'] = True
        with patch_module_args(args):
            with pytest.raises(ModuleExit) as caught:
                main()
        return caught.value.result, caught.value.failed

    return run
