#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: klp_info
short_description: Assess the kernel live patching state, with a verdict for gating reboots
version_added: 0.1.0
description:
  - Runs C(klp assess) on the target, one klp process that reads the status, the loaded patches with their
    packages and support, the kernel log and the installed kernels, and decides whether this host is OK and must reboot.
    Its report is returned as RV(assessment).
  - RV(ready), RV(transition_stuck), RV(reboot_recommended), RV(reasons), RV(cves_missing) and RV(cves_unknown)
    are views of that report, for C(when:) conditions. This module makes no verdict of its own.
  - Optionally waits until a running transition finishes (C(klp check --wait)) before assessing.
  - The full reports of C(klp status), C(klp patches) and C(klp blocking) only where O(gather) asks for them
    (one more klp process each).
  - Never changes anything on the target.
author:
  - klp contributors (!UNKNOWN)
requirements:
  - The C(klp) binary on the target (see O(klp_path)), with C(klp assess).
  - Reading the threads' states and the kernel log needs root; without it klp reports what it could not read
    (findings C(blocking_incomplete), C(kernel_log_unreadable)) and the verdict is at best C(unknown) for it.
extends_documentation_fragment:
  - klp.livepatch.klp
  - klp.livepatch.klp.assess
options:
  gather:
    description:
      - Full reports to gather besides the assessment, each with one more klp run.
      - V(status) runs C(klp status) (ignored with O(wait), whose C(klp check) report is RV(status) then),
        V(patches) runs C(klp patches), V(blocking) runs C(klp blocking).
    type: list
    elements: str
    choices: [status, patches, blocking]
    default: []
  patches_detail:
    description:
      - How much to report per live patch, with O(gather=patches).
      - V(basic) is the sysfs view only; V(package) adds the package that shipped each patch and the fixes
        it carries (C(klp -v patches)); V(support) adds the end of support and available updates (C(klp -vv patches)).
    type: str
    choices: [basic, package, support]
    default: basic
  blocking_detail:
    description:
      - How much to report per blocking thread, with O(gather=blocking).
      - V(basic) names the thread and the patched functions on its stack; V(cmdline) adds the command line;
        V(stack) adds the whole kernel stack.
    type: str
    choices: [basic, cmdline, stack]
    default: basic
  wait:
    description:
      - Wait until no live patch transition is in progress, or until O(timeout) passes, before assessing.
      - When the timeout passes with the transition still running, RV(transition_stuck) is V(true).
        This is not a failure of the module.
    type: bool
    default: false
  timeout:
    description:
      - Longest wait in seconds, with O(wait).
    type: float
    default: 300
  interval:
    description:
      - Seconds between two reads of the state, with O(wait).
    type: float
    default: 1
  cves:
    description:
      - CVE identifiers to check (C(klp assess --cve)). Those klp finds not fixed on the running system
        (neither by the running kernel nor by an applied live patch) are in RV(cves_missing) and make the
        verdict critical; those it cannot tell (no package data) are in RV(cves_unknown), never in RV(cves_missing).
    type: list
    elements: str
    default: []
notes:
  - The verdict never claims that nothing blocks or that a CVE is fixed when klp could not read what it needs;
    RV(assessment.verdict) is then C(unknown) and RV(assessment.reboot_required) C(null), with the finding that says why.
  - C(klp assess) exits 0 to 3 for ok, warning, critical and unknown; all four are answers, not failures of the module.
    The module fails only when klp fails (its error document, see RV(code) and RV(msg)) or prints no report.
seealso:
  - module: klp.livepatch.klp_facts
  - module: klp.livepatch.klp_patch
'''

EXAMPLES = r'''
- name: Assess the live patching state
  klp.livepatch.klp_info:
  register: klp

- name: Wait up to 10 minutes for a running transition, then assess
  klp.livepatch.klp_info:
    wait: true
    timeout: 600
    gather: [blocking]
    blocking_detail: cmdline
  register: klp

- name: Reboot only when live patching cannot finish the job
  ansible.builtin.reboot:
  when: klp.reboot_recommended

- name: Is this CVE fixed here?
  klp.livepatch.klp_info:
    cves: [CVE-2024-50115]
  register: klp_cve

- name: Show why
  ansible.builtin.debug:
    msg: "{{ klp_cve.reasons | map(attribute='message') | list }}"
  when: klp_cve.assessment.verdict != 'ok'
'''

RETURN = r'''
assessment:
  description:
    - The report of C(klp assess) (see C(klp schema assess) for every field).
    - C(verdict) is C(ok), C(warning), C(critical) or C(unknown); C(reboot_required) is true, false or null (could not tell),
      with C(reboot_reasons); C(findings) lists C({code, severity, message, subject, evidence});
      C(facts) holds what the verdict rests on (state, kernels, per patch package, version, support end, days left).
  returned: success
  type: dict
  contains:
    verdict:
      description: C(ok), C(warning), C(critical) or C(unknown) (klp assess's exit status 0, 1, 2, 3).
      type: str
      returned: success
      sample: ok
    reboot_required:
      description: True or false; null when klp could not tell (a finding of severity C(unknown) says why).
      type: bool
      returned: success
      sample: false
    reboot_reasons:
      description: The finding codes that require the reboot.
      type: list
      elements: str
      returned: success
      sample: []
    findings:
      description: What klp found, most severe first, each C({code, severity, message, subject, evidence}).
      type: list
      elements: dict
      returned: success
      sample: []
    facts:
      description: The facts the verdict rests on.
      type: dict
      returned: success
      contains:
        state:
          description: C(ready) or C(in_progress).
          type: str
          returned: success
          sample: ready
  sample:
    schema_version: 1
    verdict: ok
    reboot_required: false
    reboot_reasons: []
    findings: []
    transition: null
    thresholds: {stuck_after_seconds: 300.0, expiry_warning_days: 30, expiry_critical_days: 7}
    cves: []
    facts:
      kernel_release: 6.4.0-150600.23.22-default
      supported: true
      state: ready
      patches:
        - name: livepatch_5_150600_6_1
          enabled: true
          transition: false
          owner: package
          package: kernel-livepatch-6_4_0-150600_23_22-default-5-150600.6.1.x86_64
          version: "5"
          support_end: "2027-06-01"
          days_left: 182
    warnings: []
state:
  description: The overall state, C(ready) or C(in_progress) (RV(assessment.facts.state)).
  returned: success
  type: str
  sample: ready
ready:
  description: True when no live patch transition is in progress (RV(state) is C(ready)).
  returned: success
  type: bool
  sample: true
transition_stuck:
  description:
    - True when klp finds the transition older than O(stuck_after) (finding C(transition_stuck)),
      or when O(wait) timed out with the transition still in progress.
  returned: success
  type: bool
  sample: false
reboot_recommended:
  description:
    - True when klp says a reboot is required (RV(assessment.reboot_required), see RV(assessment.reboot_reasons)),
      or when the transition is stuck (RV(transition_stuck)), since a reboot is the one sure way to end it.
    - False also when klp could not tell (RV(assessment.reboot_required) is null), so check RV(assessment.verdict) too.
  returned: success
  type: bool
  sample: false
reasons:
  description:
    - The findings of klp assess, most severe first, as C(code), C(severity), C(message) and C(subject).
    - Codes are klp's finding codes (C(klp schema assess)); a wait that timed out adds C(transition_stuck) if klp did not.
  returned: success
  type: list
  elements: dict
  contains:
    code:
      description: Stable identifier of the finding.
      type: str
      returned: always
      sample: support_expiring
    severity:
      description: C(info), C(warning), C(unknown) or C(critical).
      type: str
      returned: always
      sample: warning
    message:
      description: Explanation for people.
      type: str
      returned: always
      sample: support for livepatch_5_150600_6_1 ends on 2026-12-20, in 19 days
    subject:
      description: The patch, package or CVE the finding is about; null for the whole host.
      type: str
      returned: always
      sample: livepatch_5_150600_6_1
  sample:
    - code: support_expiring
      severity: warning
      message: support for livepatch_5_150600_6_1 ends on 2026-12-20, in 19 days
      subject: livepatch_5_150600_6_1
cves_missing:
  description: The CVEs of O(cves) that klp finds not fixed on the running system.
  returned: success
  type: list
  elements: str
  sample: [CVE-2024-50115]
cves_unknown:
  description: The CVEs of O(cves) whose state klp cannot tell (package data unknown).
  returned: success
  type: list
  elements: str
  sample: []
status:
  description:
    - With O(wait), the report of C(klp check --wait) (with its C(wait) key); else the report of C(klp status)
      when O(gather) has V(status); else null. See C(klp schema check) and C(klp schema status).
  returned: success
  type: dict
  sample:
    schema_version: 1
    state: ready
    supported: true
    kernel_release: 6.4.0-150600.23.22-default
    patches_loaded: 1
    patches_enabled: 1
    transition: null
    livepatch_tainted: true
    taint_mask: 32768
    warnings: []
patches:
  description:
    - The loaded live patches (the C(patches) list of C(klp patches)) when O(gather) has V(patches), else null.
  returned: success
  type: list
  elements: dict
  sample:
    - name: livepatch_5_150600_2_1
      enabled: true
      transition: false
      objects:
        - name: vmlinux
          functions:
            - name: cmdline_proc_show
              sympos: 1
blocking:
  description:
    - The report of C(klp blocking) when O(gather) has V(blocking), else null.
    - When C(complete) is false some threads could not be read, and C(threads) may miss blockers.
  returned: success
  type: dict
  sample:
    schema_version: 1
    state: in_progress
    supported: true
    transition:
      patch: livepatch_2_150600_2_1
      direction: patching
      target_state: 1
    verbosity: 0
    complete: true
    threads_scanned: 33
    threads_unreadable: 0
    threads_vanished: 0
    threads:
      - pid: 77
        tid: 77
        comm: klp_busy_thread
        kernel_thread: true
        state: D
        patch_state: 0
        culprits:
          - object: klp_busy
            function: busy_sleep
            frame: "[<0>] busy_sleep+0x15/0x30 [klp_busy]"
    warnings: []
msg:
  description: What failed, for people.
  returned: failure
  type: str
  sample: "klp assess failed: /srv/host does not exist or is not a directory"
code:
  description: klp's stable error code, or one of this module's (C(klp_not_found), C(invalid_argument),
    C(invalid_output), C(unexpected_exit_code)).
  returned: failure
  type: str
  sample: root_not_found
cmd:
  description: The klp command that failed, as an argv list.
  returned: failure
  type: list
  elements: str
  sample: [/usr/bin/klp, --format, json, --root, /srv/host, assess]
rc:
  description: Exit code of the klp command that failed.
  returned: failure
  type: int
  sample: 3
stdout:
  description: Standard output of the klp command that failed (its JSON error document).
  returned: failure
  type: str
  sample: '{"schema_version":1,"error":{"code":"root_not_found","message":"...","exit_code":3,"path":"/srv/host","details":null}}'
stderr:
  description: Standard error of the klp command that failed.
  returned: failure
  type: str
  sample: "klp: error: /srv/host does not exist or is not a directory"
details:
  description: The C(details) object of klp's error document, if any.
  returned: failure
  type: dict
  sample: null
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.klp.livepatch.plugins.module_utils.klp import (
    COMMON_ARGUMENT_SPEC,
    Klp,
    KlpError,
    assess_views,
    warn_all,
)


DETAIL_LEVELS = {
    'basic': 0,
    'package': 1,
    'cmdline': 1,
    'support': 2,
    'stack': 2,
}


def gather(module, klp):
    params = module.params
    sections = set(params['gather'])

    status = None
    wait = None
    if params['wait']:
        # `check` answers "still in progress" with exit code 1 and its report.
        status = klp.run(['check', '--wait', '--timeout', str(params['timeout']),
                          '--interval', str(params['interval'])], ok_rcs=(0, 1)).doc
        warn_all(module, status)
        wait = status.get('wait')
    elif 'status' in sections:
        status = klp.run(['status']).doc
        warn_all(module, status)

    assessment = klp.assess(params, cves=params['cves'])
    warn_all(module, assessment)

    patches = None
    if 'patches' in sections:
        report = klp.run(['patches'], verbosity=DETAIL_LEVELS[params['patches_detail']]).doc
        warn_all(module, report)
        patches = report.get('patches', [])

    blocking = None
    if 'blocking' in sections:
        blocking = klp.run(['blocking'], verbosity=DETAIL_LEVELS[params['blocking_detail']]).doc
        warn_all(module, blocking)

    result = dict(changed=False, assessment=assessment, status=status, patches=patches, blocking=blocking)
    result.update(assess_views(assessment, wait))
    return result


def main():
    argument_spec = dict(
        gather=dict(type='list', elements='str', choices=['status', 'patches', 'blocking'], default=[]),
        patches_detail=dict(type='str', choices=['basic', 'package', 'support'], default='basic'),
        blocking_detail=dict(type='str', choices=['basic', 'cmdline', 'stack'], default='basic'),
        wait=dict(type='bool', default=False),
        timeout=dict(type='float', default=300),
        interval=dict(type='float', default=1),
        cves=dict(type='list', elements='str', default=[]),
        stuck_after=dict(type='float'),
        expiry_warning=dict(type='int'),
        expiry_critical=dict(type='int'),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    if module.params['timeout'] < 0:
        module.fail_json(msg='timeout must be >= 0 seconds, not %s' % module.params['timeout'],
                         code='invalid_argument')
    if module.params['interval'] <= 0:
        module.fail_json(msg='interval must be > 0 seconds, not %s' % module.params['interval'],
                         code='invalid_argument')

    try:
        klp = Klp(module, klp_path=module.params['klp_path'], root=module.params['root'])
        result = gather(module, klp)
    except KlpError as err:
        module.fail_json(**err.fail_kwargs())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
