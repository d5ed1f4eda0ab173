#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: klp_facts
short_description: Set the kernel live patching facts of a host (ansible_facts.klp)
version_added: 0.2.0
description:
  - Runs C(klp assess) once on the target and sets a small, stable C(ansible_facts.klp) from its report,
    for fact caching, AWX/AAP inventories and C(group_by).
  - The whole report is what M(klp.livepatch.klp_info) returns; these facts are the part worth caching.
author:
  - klp contributors (!UNKNOWN)
requirements:
  - The C(klp) binary on the target (see O(klp_path)), with C(klp assess).
extends_documentation_fragment:
  - klp.livepatch.klp
  - klp.livepatch.klp.assess
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
notes:
  - The patch facts (O(ignore:patch), C(package_version), C(support_end), C(days_left)) are those of the
    top enabled live patch (the last in stack order; SUSE's patches are cumulative), null without one.
seealso:
  - module: klp.livepatch.klp_info
'''

EXAMPLES = r'''
- name: Read the live patching facts
  klp.livepatch.klp_facts:

- name: Group hosts by verdict (klp_ok, klp_warning, klp_critical, klp_unknown)
  ansible.builtin.group_by:
    key: klp_{{ ansible_facts.klp.verdict }}

- name: Reboot the hosts klp says must reboot
  ansible.builtin.reboot:
  when: ansible_facts.klp.reboot_required is true
'''

RETURN = r'''
ansible_facts:
  description: The facts set.
  returned: success
  type: dict
  contains:
    klp:
      description: The live patching facts of the host.
      returned: success
      type: dict
      contains:
        state:
          description: C(ready) or C(in_progress).
          type: str
          returned: success
          sample: ready
        verdict:
          description: klp assess's verdict, C(ok), C(warning), C(critical) or C(unknown).
          type: str
          returned: success
          sample: ok
        reboot_required:
          description: True or false; null when klp could not tell.
          type: bool
          returned: success
          sample: false
        reboot_reasons:
          description: The finding codes that require a reboot.
          type: list
          elements: str
          returned: success
          sample: []
        kernel_release:
          description: The running kernel release.
          type: str
          returned: success
          sample: 6.4.0-150600.23.22-default
        patch:
          description: The top enabled live patch (sysfs name), null without one.
          type: str
          returned: success
          sample: livepatch_5_150600_6_1
        package_version:
          description: The package VERSION of that patch, null when unknown.
          type: str
          returned: success
          sample: "5"
        support_end:
          description: Its end of support (YYYY-MM-DD), null when unknown.
          type: str
          returned: success
          sample: "2027-06-01"
        days_left:
          description: Days until RV(ansible_facts.klp.support_end), negative once it has passed; null when unknown.
          type: int
          returned: success
          sample: 182
        findings:
          description: The codes of klp's findings, each once, most severe first.
          type: list
          elements: str
          returned: success
          sample: [update_available]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.klp.livepatch.plugins.module_utils.klp import (
    COMMON_ARGUMENT_SPEC,
    Klp,
    KlpError,
    warn_all,
)


def klp_facts(assessment):
    """The facts of one assess report."""
    facts = assessment.get('facts') or {}
    enabled = [patch for patch in facts.get('patches') or [] if patch.get('enabled')]
    top = enabled[-1] if enabled else {}
    codes = []
    for finding in assessment.get('findings') or []:
        if finding.get('code') not in codes:
            codes.append(finding.get('code'))
    return dict(
        state=facts.get('state'),
        verdict=assessment.get('verdict'),
        reboot_required=assessment.get('reboot_required'),
        reboot_reasons=list(assessment.get('reboot_reasons') or []),
        kernel_release=facts.get('kernel_release'),
        patch=top.get('name'),
        package_version=top.get('version'),
        support_end=top.get('support_end'),
        days_left=top.get('days_left'),
        findings=codes,
    )


def main():
    argument_spec = dict(
        stuck_after=dict(type='float'),
        expiry_warning=dict(type='int'),
        expiry_critical=dict(type='int'),
    )
    argument_spec.update(COMMON_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        klp = Klp(module, klp_path=params['klp_path'], root=params['root'])
        assessment = klp.assess(params)
    except KlpError as err:
        module.fail_json(**err.fail_kwargs())
    warn_all(module, assessment)
    module.exit_json(changed=False, ansible_facts=dict(klp=klp_facts(assessment)))


if __name__ == '__main__':
    main()
