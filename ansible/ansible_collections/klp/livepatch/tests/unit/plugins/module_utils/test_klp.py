# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

from __future__ import annotations

import pytest

from ansible_collections.klp.livepatch.plugins.module_utils.klp import (
    edition_version,
    is_rpm_version,
    parse_document,
    rpm_vercmp,
)


@pytest.mark.parametrize('first, second, expected', [
    ('1', '1', 0),
    ('10', '9', 1),          # numbers compare as numbers, not strings
    ('9', '10', -1),
    ('1.0', '1', 1),         # more segments is newer
    ('1.01', '1.1', 0),      # leading zeros do not count
    ('1.a', '1.1', -1),      # digits are newer than letters
    ('1.b', '1.a', 1),
    ('1.0~rc1', '1.0', -1),  # tilde sorts before the release
    ('1.0~rc1', '1.0~rc2', -1),
    ('1.0^git1', '1.0', 1),  # caret sorts after the version it extends
    ('1.0^git1', '1.0.1', -1),
    ('1_2', '1.2', 0),       # separators are all equal
])
def test_rpm_vercmp(first, second, expected):
    assert rpm_vercmp(first, second) == expected
    assert rpm_vercmp(second, first) == -expected


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
