# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.klp.livepatch.plugins.module_utils.klp import (
    edition_version,
    is_rpm_version,
    parse_document,
)


def test_edition_version():
    assert edition_version('3-150600.2.1') == '3'
    assert edition_version('10') == '10'
    assert edition_version(None) is None


@pytest.mark.parametrize('value, ok', [
    ('3', True), ('1.2.3', True), ('1~rc1', True),
    ('', False), (None, False), ('-3', False), ('--dry-run', False), ('3-1', False), ('3 4', False),
    ('3;reboot', False),
])
def test_is_rpm_version(value, ok):
    assert is_rpm_version(value) is ok


def test_parse_document_accepts_only_json():
    assert parse_document('{"schema_version": 1}\n') == {'schema_version': 1}
    assert parse_document('ready\n') is None
    assert parse_document('') is None
