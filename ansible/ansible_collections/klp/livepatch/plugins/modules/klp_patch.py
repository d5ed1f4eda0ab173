#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: klp_patch
short_description: Roll the live patch package of the running kernel back to a given version
version_added: 0.1.0
description:
  - Makes sure the live patch package of the running kernel is at version O(version), going back with
    C(klp downgrade --to VERSION --non-interactive). On SUSE the package is C(kernel-livepatch-<kernel>-<flavor>)
    and klp runs zypper; on Red Hat it is C(kpatch-patch-<kernel>) and klp runs dnf.
  - Already at O(version) is success without change, so the task is idempotent.
  - A version above the installed one is an error. This module only rolls back;
    updating is the package manager's job.
  - O(version=previous) with O(from_version) goes one version back from O(from_version), and does nothing
    on hosts that are already below O(from_version), so it can be re-run safely across a fleet.
  - Every step is planned first with C(klp downgrade --dry-run), which is also what check mode reports.
author:
  - klp contributors (!UNKNOWN)
requirements:
  - The C(klp) binary on the target (see O(klp_path)), and rpm and zypper (SUSE) or dnf (Red Hat), which klp runs.
attributes:
  check_mode:
    support: full
    description: Runs C(klp downgrade --dry-run) only, and reports the change that would be made.
  diff_mode:
    support: full
    description: Shows the installed package edition before and after.
options:
  version:
    description:
      - The wanted package VERSION (the RPM version, e.g. V(3)), or its edition VERSION-RELEASE.
      - On Red Hat every C(kpatch-patch) package is version 1 and its releases count up, so give
        VERSION-RELEASE, e.g. V(1-2); the dist tag of the installed package is implied (V(1-2) is V(1-2.el9_4)).
      - V(previous) means the newest version older than O(from_version); it needs O(from_version).
        On Red Hat it never lands on the empty C(0-0) placeholder (ask for V(0-0) by name).
    type: str
    required: true
  from_version:
    description:
      - Guard for fleet-wide rollbacks. Act only on hosts where this VERSION (or VERSION-RELEASE, as in
        O(version)) is installed.
      - With O(version=previous), hosts already below O(from_version) are left alone (unchanged), hosts
        above it make the task fail.
      - With a numeric O(version), hosts at O(version) are unchanged, and any host at neither version fails.
    type: str
extends_documentation_fragment:
  - klp.livepatch.klp
notes:
  - On failure the result carries C(code) (klp's stable error code, such as C(version_newer),
    C(version_not_found), C(no_older_version), C(lock_held) or C(zypper_failed)), C(rc), C(stdout),
    C(stderr) and C(cmd) of the klp run that failed.
  - On SUSE systems the package's scriptlets load the module of the new version, so the loaded live
    patch changes too (see RV(patch_before) and RV(patch_after)).
  - On Red Hat, reverting a loaded live patch without a reboot is not supported. The package changes, the
    loaded patch usually stays until the next boot. RV(patch_after) and klp's note on it (passed on as an
    Ansible warning) say which happened.
seealso:
  - module: klp.livepatch.klp_info
'''

EXAMPLES = r'''
- name: Make sure live patch version 3 is installed (roll back if newer)
  klp.livepatch.klp_patch:
    version: 3

- name: Roll back one version, only on hosts that run version 5 (safe to re-run)
  klp.livepatch.klp_patch:
    version: previous
    from_version: 5
  register: rollback

- name: On Red Hat, go back to release 2 of the kernel's kpatch-patch package (version 1)
  klp.livepatch.klp_patch:
    version: 1-2

- name: Show what changed
  ansible.builtin.debug:
    msg: "{{ rollback.package }}: {{ rollback.before }} -> {{ rollback.after }}"
  when: rollback is changed
'''

RETURN = r'''
package:
  description: Name of the live patch package of the running kernel.
  returned: success
  type: str
  sample: kernel-livepatch-6_4_0-150600_23_22-default
before:
  description: Edition (C(VERSION-RELEASE)) installed before the task.
  returned: success
  type: str
  sample: 5-150600.2.1
after:
  description: Edition installed after the task; in check mode, the one that would be installed.
  returned: success
  type: str
  sample: 3-150600.2.1
before_version:
  description: The VERSION part of RV(before).
  returned: success
  type: str
  sample: "5"
after_version:
  description: The VERSION part of RV(after).
  returned: success
  type: str
  sample: "3"
patch_before:
  description: The loaded live patch (sysfs name) before the task, if any.
  returned: success
  type: str
  sample: livepatch_5_150600_2_1
patch_after:
  description: The loaded live patch after the task, if any; in check mode the same as RV(patch_before).
  returned: success
  type: str
  sample: livepatch_3_150600_2_1
command:
  description: The package-manager command klp ran, or would run in check mode, as an argv list. Empty when nothing was to do.
  returned: success
  type: list
  elements: str
  sample: [zypper, --non-interactive, install, --oldpackage, kernel-livepatch-6_4_0-150600_23_22-default=3]
plan:
  description: The report of C(klp downgrade --dry-run) the decision was made on (see C(klp schema downgrade)).
  returned: success
  type: dict
  sample:
    schema_version: 1
    package: kernel-livepatch-6_4_0-150600_23_22-default
    from: 5-150600.2.1
    to: 3-150600.2.1
    dry_run: true
    changed: false
    command: [zypper, --non-interactive, install, --oldpackage, kernel-livepatch-6_4_0-150600_23_22-default=3]
    zypper_exit_code: null
    installed_after: null
    patch_before: livepatch_5_150600_2_1
    patch_after: null
    warnings: []
downgrade:
  description: The report of the C(klp downgrade) that made the change; C(null) when none ran (no change, or check mode).
  returned: success
  type: dict
  sample:
    schema_version: 1
    package: kernel-livepatch-6_4_0-150600_23_22-default
    from: 5-150600.2.1
    to: 3-150600.2.1
    dry_run: false
    changed: true
    command: [zypper, --non-interactive, install, --oldpackage, kernel-livepatch-6_4_0-150600_23_22-default=3]
    zypper_exit_code: 0
    installed_after: 3-150600.2.1
    patch_before: livepatch_5_150600_2_1
    patch_after: livepatch_3_150600_2_1
    warnings: []
code:
  description: klp's stable error code, or one of this module's (C(klp_not_found), C(invalid_argument),
    C(from_version_mismatch), C(verify_failed), C(invalid_output), C(unexpected_exit_code)).
  returned: failure
  type: str
  sample: version_newer
cmd:
  description: The klp command that failed, as an argv list.
  returned: failure
  type: list
  elements: str
  sample: [/usr/bin/klp, --format, json, --non-interactive, downgrade, --to=7]
rc:
  description: Exit code of the klp command that failed.
  returned: failure
  type: int
  sample: 1
stdout:
  description: Standard output of the klp command that failed (its JSON error document).
  returned: failure
  type: str
  sample: '{"schema_version":1,"error":{"code":"version_newer","message":"...","exit_code":1,"path":null,"details":null}}'
stderr:
  description: Standard error of the klp command that failed.
  returned: failure
  type: str
  sample: "klp: error: version 7 is newer than the installed 5-150600.2.1"
details:
  description: The C(details) object of klp's error document, if any.
  returned: failure
  type: dict
  sample: {installed: 5-150600.2.1}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.klp.livepatch.plugins.module_utils.klp import (
    COMMON_ARGUMENT_SPEC,
    Klp,
    KlpError,
    edition_is,
    edition_version,
    is_rpm_edition,
    warn_all,
)

PREVIOUS = 'previous'


class Decision:
    """What to do: nothing (``target`` is None) or go to ``target`` (a VERSION
    or an edition, as klp's ``--to`` takes it)."""

    def __init__(self, plan, target=None, msg=''):
        self.plan = plan
        self.target = target
        self.msg = msg


def spelled_like(edition, wanted):
    """``edition`` as ``wanted`` is spelled: its VERSION, or the whole edition."""
    return edition if wanted is not None and '-' in wanted else edition_version(edition)


def _guard_error(msg, probe):
    return KlpError(msg, code='from_version_mismatch', cmd=probe.cmd, rc=probe.rc,
                    stdout=probe.stdout, stderr=probe.stderr)


def decide_version(klp, version, from_version):
    """``version: N``: klp refuses versions above the installed one (version_newer)."""
    try:
        probe = klp.run(['downgrade', '--dry-run', '--to=%s' % version])
    except KlpError as err:
        if err.code == 'version_newer':
            installed = err.details.get('installed') if isinstance(err.details, dict) else None
            err.msg = ('version %s is newer than the installed %s: klp_patch only rolls back; '
                       'update with the package manager' % (version, installed or 'version'))
        raise
    plan = probe.doc
    installed = plan.get('from')
    if edition_is(installed, version):
        return Decision(plan, msg='%s is already at version %s' % (plan.get('package'), version))
    if from_version is not None and not edition_is(installed, from_version):
        raise _guard_error(
            '%s is at version %s, which is neither from_version %s nor version %s: not touching it'
            % (plan.get('package'), spelled_like(installed, from_version), from_version, version), probe)
    return Decision(plan, target=version)


def compare_installed(klp, version):
    """Where the installed version stands against ``version``: -1, 0 or 1,
    with klp's answer (a dry-run report, or its error) and the package and
    installed edition it names. klp compares with rpm's rules (10 > 9), so
    this module has no comparison of its own: a dry run to ``version`` changes
    nothing when ``version`` is installed, is refused as newer when the
    installed one is older, and is a plan (or not found) when it is newer."""
    try:
        probe = klp.run(['downgrade', '--dry-run', '--to=%s' % version])
    except KlpError as err:
        details = err.details if isinstance(err.details, dict) else {}
        order = {'version_newer': -1, 'version_not_found': 1}.get(err.code)
        if order is None:
            raise
        return order, err, details.get('package'), details.get('installed')
    plan = probe.doc
    order = 0 if plan.get('from') == plan.get('to') else 1
    return order, probe, plan.get('package'), plan.get('from')


def decide_previous(klp, from_version):
    """``version: previous`` guarded by ``from_version``: one step back, once."""
    order, probe, package, installed = compare_installed(klp, from_version)
    if order < 0:
        return _already_below(klp, from_version, installed)
    if order > 0:
        raise _guard_error(
            '%s is at version %s, above from_version %s: not rolling back (the guard protects newer hosts)'
            % (package, spelled_like(installed, from_version), from_version), probe)
    # At from_version: the previous version, if there is one (no_older_version
    # otherwise), by its whole edition: on Red Hat only the release differs.
    plan = klp.run(['downgrade', '--dry-run']).doc
    return Decision(plan, target=plan.get('to'))


def _already_below(klp, from_version, installed):
    """The installed version is below from_version: nothing to do. The plan is
    a dry run to the installed version itself."""
    plan = klp.run(['downgrade', '--dry-run', '--to=%s' % installed]).doc
    return Decision(plan, msg='%s is at version %s, below from_version %s: already rolled back'
                    % (plan.get('package'), spelled_like(plan.get('from'), from_version), from_version))


def apply(module, klp):
    version = module.params['version']
    from_version = module.params['from_version']

    if version == PREVIOUS:
        decision = decide_previous(klp, from_version)
    else:
        decision = decide_version(klp, version, from_version)
    plan = decision.plan
    warn_all(module, plan)

    result = dict(
        changed=False,
        package=plan.get('package'),
        before=plan.get('from'),
        after=plan.get('from'),
        before_version=edition_version(plan.get('from')),
        after_version=edition_version(plan.get('from')),
        patch_before=plan.get('patch_before'),
        patch_after=plan.get('patch_before'),
        command=[],
        plan=plan,
        downgrade=None,
        msg=decision.msg,
    )
    if decision.target is not None:
        run_downgrade(module, klp, decision, result)
    if module._diff:
        result['diff'] = dict(
            before_header='%s (installed)' % result['package'],
            after_header='%s (%s)' % (result['package'], 'planned' if module.check_mode else 'installed'),
            before='%s\n' % result['before'],
            after='%s\n' % result['after'],
        )
    return result


def run_downgrade(module, klp, decision, result):
    plan = decision.plan
    result['changed'] = True
    result['command'] = plan.get('command') or []
    if module.check_mode:
        result['after'] = plan.get('to')
        result['after_version'] = edition_version(plan.get('to'))
        # A plan without --to names the previous version; the real run names
        # it explicitly, so both describe the same step.
        result['msg'] = 'would downgrade %s from %s to %s' % (plan.get('package'), plan.get('from'), plan.get('to'))
    else:
        done = klp.run(['downgrade', '--to=%s' % decision.target], non_interactive=True)
        report = done.doc
        warn_all(module, report)
        if report.get('note'):  # Red Hat: the loaded patch stays until a reboot
            module.warn('klp: %s' % report['note'])
        after = report.get('installed_after')
        if not edition_is(after, decision.target):
            raise KlpError(
                'klp downgrade reported success but version %s is installed, not %s'
                % (spelled_like(after, decision.target), decision.target),
                code='verify_failed', cmd=done.cmd, rc=done.rc, stdout=done.stdout, stderr=done.stderr)
        result.update(
            changed=bool(report.get('changed', True)),
            after=after,
            after_version=edition_version(after),
            patch_after=report.get('patch_after'),
            command=report.get('command') or result['command'],
            downgrade=report,
            msg='downgraded %s from %s to %s' % (report.get('package'), report.get('from'), after),
        )


def main():
    argument_spec = dict(
        version=dict(type='str', required=True),
        from_version=dict(type='str'),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[('version', PREVIOUS, ('from_version',))],
        supports_check_mode=True,
    )

    version = module.params['version']
    from_version = module.params['from_version']
    if version != PREVIOUS and not is_rpm_edition(version):
        module.fail_json(msg='version must be a package VERSION such as 3, VERSION-RELEASE such as 1-2 '
                         '(or "previous"), not %r' % version, code='invalid_argument')
    if from_version is not None and not is_rpm_edition(from_version):
        module.fail_json(msg='from_version must be a package VERSION such as 5 or VERSION-RELEASE such as 1-3, '
                         'not %r' % from_version, code='invalid_argument')

    try:
        klp = Klp(module, klp_path=module.params['klp_path'], root=module.params['root'])
        result = apply(module, klp)
    except KlpError as err:
        module.fail_json(**err.fail_kwargs())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
