# Copyright (c) klp contributors
# MIT License
"""Test-only callback: append every task result and the final stats, as JSON
lines, to the file named by $KLP_RESULTS_LOG, so that the test driver can
assert on exactly what each task returned (ansible-core has no JSON stdout
callback)."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: klp_results
type: notification
short_description: write task results as JSON lines for the klp test driver
description:
  - Appends one JSON object per task result and one with the play recap to $KLP_RESULTS_LOG.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'klp_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.path = os.environ.get('KLP_RESULTS_LOG')

    def _write(self, record):
        if not self.path:
            return
        with open(self.path, 'a', encoding='utf-8') as log:
            log.write(json.dumps(record, default=str, sort_keys=True) + '\n')

    def _result(self, status, result):
        # ansible-core 2.19 names them task/host/result; 2.16 only _task/_host/_result.
        task, host, data = ((result.task, result.host, result.result) if hasattr(result, 'task')
                            else (result._task, result._host, result._result))
        self._write({
            'kind': 'result',
            'status': status,
            'task': task.get_name(),
            'host': host.get_name(),
            'result': data,
        })

    def v2_runner_on_ok(self, result):
        self._result('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result('ignored' if ignore_errors else 'failed', result)

    def v2_runner_on_unreachable(self, result):
        self._result('unreachable', result)

    def v2_runner_on_skipped(self, result):
        self._result('skipped', result)

    def v2_playbook_on_stats(self, stats):
        self._write({
            'kind': 'stats',
            'hosts': {host: stats.summarize(host) for host in sorted(stats.processed)},
        })
