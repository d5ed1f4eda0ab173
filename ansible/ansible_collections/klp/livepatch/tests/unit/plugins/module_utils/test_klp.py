# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.klp.livepatch.plugins.module_utils.klp import (
    edition_is,
    edition_version,
    is_rpm_edition,
    parse_document,
)


def test_edition_version():
    assert edition_version('3-150600.2.1') == '3'
    assert edition_version('10') == '10'
    assert edition_version(None) is None


@pytest.mark.parametrize('value, ok', [
    ('3', True), ('1.2.3', True), ('1~rc1', True), ('1-2', True), ('1-2.el9_4', True), ('3-150600.2.1', True),
    ('', False), (None, False), ('-3', False), ('--dry-run', False), ('3 4', False), ('3;reboot', False),
    ('-1-2', False), ('1-2-3', False), ('1-', False), ('1- 2', False),
])
def test_is_rpm_edition(value, ok):
    assert is_rpm_edition(value) is ok


@pytest.mark.parametrize('edition, wanted, same', [
    ('3-150600.2.1', '3', True), ('3-150600.2.1', '30', False), ('3-150600.2.1', '3-150600.2.1', True),
    ('1-2.el9_4', '1-2', True), ('1-2.el9_4', '1-2.el9_4', True), ('1-2.el9_4', '1-3', False),
    ('1-2.el9_4', '1-2.el8_1', False), ('1-12.el9_4', '1-1', False), ('1-2.el9_4', '1', True), (None, '1', False),
])
def test_edition_is(edition, wanted, same):
    assert edition_is(edition, wanted) is same


def test_parse_document_accepts_only_json():
    assert parse_document('{"schema_version": 1}\n') == {'schema_version': 1}
    assert parse_document('ready\n') is None
    assert parse_document('') is None
