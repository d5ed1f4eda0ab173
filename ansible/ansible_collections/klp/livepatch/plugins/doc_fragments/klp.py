# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import annotations


class ModuleDocFragment:
    """The options every klp module takes (module_utils.klp.COMMON_ARGUMENT_SPEC),
    and the attributes they share. Used as ``klp.livepatch.klp``."""

    DOCUMENTATION = r'''
options:
  root:
    description:
      - Work on the system mounted at this directory instead of V(/) (C(klp --root)).
        rpm and zypper, where the module runs them through klp, work on it too.
      - Set it once for a play with C(module_defaults) and the action group C(group/klp.livepatch.klp).
    type: path
  klp_path:
    description:
      - Path of the C(klp) binary on the target. By default it is looked up in E(PATH) and the system directories.
    type: path
attributes:
  action_group:
    description: Use C(group/klp.livepatch.klp) in C(module_defaults) to set O(root) and O(klp_path) once.
    support: full
    membership:
      - klp.livepatch.klp
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
'''

    # The read-only modules that run klp assess (klp_info, klp_facts): its thresholds, and no changes.
    ASSESS = r'''
options:
  stuck_after:
    description:
      - A transition older than this many seconds is stuck (C(klp assess --stuck-after)); klp's default is 300.
    type: float
  expiry_warning:
    description:
      - Support ending within this many days is a warning (C(klp assess --expiry-warning)); klp's default is 30.
    type: int
  expiry_critical:
    description:
      - Support ending within this many days is critical (C(klp assess --expiry-critical)); klp's default is 7.
    type: int
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same way in check mode.
  diff_mode:
    support: N/A
    description: The module changes nothing, so there is no difference to show.
'''
