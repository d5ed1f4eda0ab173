#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: klp_info
short_description: Report the kernel live patching state, with a verdict for gating reboots
version_added: 0.1.0
description:
  - Runs the C(klp) binary on the target and returns its JSON reports as top-level keys, ready for C(register).
  - Gathers the overall status (always), the loaded live patches and the threads blocking a transition.
  - Adds a verdict for playbooks that gate reboots or rollouts on the live patching state,
    see RV(ready), RV(transition_stuck), RV(reboot_recommended) and RV(reasons).
  - Optionally waits until a running transition finishes (C(klp check --wait)).
  - Never changes anything on the target.
author:
  - klp contributors (!UNKNOWN)
requirements:
  - The C(klp) binary on the target (see O(klp_path)).
  - Reading the threads' states (O(gather=blocking)) needs root; without it the list of
    blocking threads is incomplete, which RV(reasons) says.
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same way in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
options:
  gather:
    description:
      - Which reports to gather besides the status, which is always read because the verdict needs it.
      - V(patches) runs C(klp patches), V(blocking) runs C(klp blocking).
    type: list
    elements: str
    choices: [status, patches, blocking]
    default: [status, patches, blocking]
  patches_detail:
    description:
      - How much to report per live patch.
      - V(basic) is the sysfs view only; V(package) adds the package that shipped each patch and the fixes
        it carries (C(klp -v patches)); V(support) adds the end of support and available updates (C(klp -vv patches)).
      - O(cves) raises this to at least V(package).
    type: str
    choices: [basic, package, support]
    default: basic
  blocking_detail:
    description:
      - How much to report per blocking thread.
      - V(basic) names the thread and the patched functions on its stack; V(cmdline) adds the command line;
        V(stack) adds the whole kernel stack.
    type: str
    choices: [basic, cmdline, stack]
    default: basic
  wait:
    description:
      - Wait until no live patch transition is in progress, or until O(timeout) passes, before gathering.
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
      - CVE identifiers that must be fixed by an enabled live patch.
      - Those that are not (or cannot be confirmed from the package data) are listed in RV(cves_missing)
        and make RV(reboot_recommended) true.
    type: list
    elements: str
    default: []
  root:
    description:
      - Inspect the system mounted at this directory instead of V(/) (C(klp --root)).
    type: path
  klp_path:
    description:
      - Path of the C(klp) binary. By default it is looked up in E(PATH) and the system directories.
    type: path
notes:
  - The verdict never claims that nothing blocks when klp could not read every thread
    (C(complete=false) in RV(blocking)); RV(reasons) then says so.
  - Only a wait can tell a slow transition from a stuck one. Without O(wait), a transition in progress is
    reported as RV(ready=false) with reason C(transition_in_progress) and RV(transition_stuck=false).
seealso:
  - module: klp.livepatch.klp_patch
'''

EXAMPLES = r'''
- name: Read the live patching state
  klp.livepatch.klp_info:
  register: klp

- name: Wait up to 10 minutes for a running transition, then decide
  klp.livepatch.klp_info:
    wait: true
    timeout: 600
    gather: [status, blocking]
    blocking_detail: cmdline
  register: klp

- name: Reboot only when live patching cannot finish the job
  ansible.builtin.reboot:
  when: klp.reboot_recommended

- name: Is this CVE live patched here?
  klp.livepatch.klp_info:
    gather: [patches]
    cves: [CVE-2024-50115]
  register: klp_cve

- name: Show why a reboot is needed
  ansible.builtin.debug:
    msg: "{{ klp_cve.reasons | map(attribute='message') | list }}"
  when: klp_cve.reboot_recommended
'''

RETURN = r'''
state:
  description: The overall state, C(ready) or C(in_progress), after the wait if there was one.
  returned: always
  type: str
  sample: ready
ready:
  description: True when no live patch transition is in progress.
  returned: always
  type: bool
  sample: true
transition_stuck:
  description:
    - True when O(wait) was given and its timeout passed with the transition still in progress.
    - Always false without O(wait).
  returned: always
  type: bool
  sample: false
reboot_recommended:
  description:
    - True when live patching cannot bring this host to the wanted state without a reboot.
      This is the case for a stuck transition and for a CVE of O(cves) that no enabled live patch fixes.
  returned: always
  type: bool
  sample: false
reasons:
  description:
    - Why the host is not simply ready, each with a stable C(code) and a message for people.
    - "Codes: C(unsupported), C(transition_in_progress), C(transition_stuck), C(blocking_incomplete),
      C(patch_disabled), C(cve_not_live_patched)."
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: Stable identifier of the reason.
      type: str
      returned: always
      sample: transition_stuck
    message:
      description: Explanation for people.
      type: str
      returned: always
      sample: "the transition of livepatch_2_150600_2_1 did not finish within 60.0 s"
  sample:
    - code: transition_stuck
      message: the transition of livepatch_2_150600_2_1 did not finish within 60.0 s
cves_missing:
  description: The CVEs of O(cves) that no enabled live patch is known to fix.
  returned: always
  type: list
  elements: str
  sample: [CVE-2024-50115]
status:
  description:
    - The report of C(klp status), or of C(klp check --wait) with O(wait) (then with a C(wait) key).
    - See C(klp schema status) and C(klp schema check) for every field.
  returned: always
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
    - The loaded live patches (the C(patches) list of C(klp patches)), in stack order where the kernel tells it.
    - C(null) when not in O(gather) and O(cves) is empty.
  returned: always
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
    - The report of C(klp blocking); C(null) when not in O(gather).
    - When C(complete) is false some threads could not be read, and C(threads) may miss blockers.
  returned: always
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
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.klp.livepatch.plugins.module_utils.klp import (
    COMMON_ARGUMENT_SPEC,
    Klp,
    KlpError,
    warn_all,
)

DETAIL_LEVELS = {
    'basic': 0,
    'package': 1,
    'cmdline': 1,
    'support': 2,
    'stack': 2,
}


def _reason(code, message):
    return dict(code=code, message=message)


def missing_cves(wanted, patches):
    """CVEs of ``wanted`` no enabled patch's package lists, and the patches
    whose package data was unknown (so a CVE could not be confirmed)."""
    fixed = set()
    unknown = []
    for patch in patches or []:
        if not patch.get('enabled'):
            continue
        package = patch.get('package')
        cves = package.get('cves') if isinstance(package, dict) else None
        if cves is None:
            unknown.append(patch.get('name'))
            continue
        fixed.update(cve.upper() for cve in cves)
    return [cve for cve in wanted if cve.upper() not in fixed], unknown


def verdict(status, patches, blocking, wanted_cves):
    """The gating answer: (ready, transition_stuck, reboot_recommended, reasons, cves_missing)."""
    reasons = []
    ready = status.get('state') == 'ready'
    wait = status.get('wait') or {}
    stuck = not ready and bool(wait.get('timed_out'))
    reboot = False

    if not status.get('supported', False):
        reasons.append(_reason('unsupported', 'the running kernel does not support live patching'))

    if not ready:
        transition = status.get('transition') or {}
        name = transition.get('patch', '(unknown patch)')
        direction = transition.get('direction', 'unknown direction')
        if stuck:
            reboot = True
            reasons.append(_reason(
                'transition_stuck',
                'the transition of %s (%s) did not finish within %s s'
                % (name, direction, wait.get('timeout_seconds'))))
        else:
            reasons.append(_reason(
                'transition_in_progress', 'the transition of %s (%s) is in progress' % (name, direction)))
        if blocking is not None and not blocking.get('complete', False):
            reasons.append(_reason(
                'blocking_incomplete',
                '%s threads could not be read: the blocking threads listed may be incomplete '
                '(klp needs root to read them)' % blocking.get('threads_unreadable', 'some')))

    for patch in patches or []:
        if not patch.get('enabled') and not patch.get('transition'):
            reasons.append(_reason(
                'patch_disabled', 'live patch %s is loaded but disabled' % patch.get('name')))

    cves_missing = []
    if wanted_cves:
        cves_missing, unknown = missing_cves(wanted_cves, patches)
        for cve in cves_missing:
            message = 'no enabled live patch is known to fix %s' % cve
            if unknown:
                message += ' (package data unknown for %s)' % ', '.join(unknown)
            reasons.append(_reason('cve_not_live_patched', message))
        if cves_missing:
            reboot = True

    return ready, stuck, reboot, reasons, cves_missing


def gather(module, klp):
    params = module.params
    sections = set(params['gather'])
    patches_verbosity = DETAIL_LEVELS[params['patches_detail']]
    if params['cves']:
        sections.add('patches')
        patches_verbosity = max(patches_verbosity, 1)

    if params['wait']:
        # `check` answers "still in progress" with exit code 1 and its report.
        status = klp.run(['check', '--wait', '--timeout', str(params['timeout']),
                          '--interval', str(params['interval'])], ok_rcs=(0, 1)).doc
    else:
        status = klp.run(['status']).doc
    warn_all(module, status)

    patches = None
    if 'patches' in sections:
        report = klp.run(['patches'], verbosity=patches_verbosity).doc
        warn_all(module, report)
        patches = report.get('patches', [])

    blocking = None
    if 'blocking' in sections:
        blocking = klp.run(['blocking'], verbosity=DETAIL_LEVELS[params['blocking_detail']]).doc
        warn_all(module, blocking)

    ready, stuck, reboot, reasons, cves_missing = verdict(status, patches, blocking, params['cves'])
    return dict(
        changed=False,
        state=status.get('state'),
        ready=ready,
        transition_stuck=stuck,
        reboot_recommended=reboot,
        reasons=reasons,
        cves_missing=cves_missing,
        status=status,
        patches=patches,
        blocking=blocking,
    )


def main():
    argument_spec = dict(
        gather=dict(type='list', elements='str', choices=['status', 'patches', 'blocking'],
                    default=['status', 'patches', 'blocking']),
        patches_detail=dict(type='str', choices=['basic', 'package', 'support'], default='basic'),
        blocking_detail=dict(type='str', choices=['basic', 'cmdline', 'stack'], default='basic'),
        wait=dict(type='bool', default=False),
        timeout=dict(type='float', default=300),
        interval=dict(type='float', default=1),
        cves=dict(type='list', elements='str', default=[]),
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
