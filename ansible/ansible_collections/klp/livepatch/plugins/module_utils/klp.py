# -*- coding: utf-8 -*-
# Copyright (c) klp contributors
# MIT License (see LICENSE in the collection root)

"""Shared code of the klp modules: run the klp binary and read its JSON.

klp prints exactly one JSON document on stdout, also when it fails (then the
document holds an ``error`` object with a stable ``code``). Commands are always
run as argv lists through ``AnsibleModule.run_command``, never through a shell.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

# Options every klp module takes; merged into each module's argument_spec and
# documented once, in the doc fragment klp.livepatch.klp.
COMMON_ARGUMENT_SPEC = dict(
    root=dict(type='path'),
    klp_path=dict(type='path'),
)

# RPM editions, VERSION or VERSION-RELEASE: no whitespace, a dash only between
# the two; a leading dash would also make the value look like an option to klp.
_RPM_EDITION_RE = re.compile(r'^[A-Za-z0-9._+~^]+(-[A-Za-z0-9._+~^]+)?$')


class KlpError(Exception):
    """A klp run that failed: klp's error document, or output klp never makes."""

    def __init__(self, msg, code, cmd, rc=None, stdout='', stderr='', details=None):
        super().__init__(msg)
        self.msg = msg
        self.code = code
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.details = details

    def fail_kwargs(self):
        """Keyword arguments for ``module.fail_json``: everything needed to debug the run."""
        return dict(
            msg=self.msg,
            code=self.code,
            cmd=self.cmd,
            rc=self.rc,
            stdout=self.stdout,
            stderr=self.stderr,
            details=self.details,
        )


class KlpResult:
    """A klp run that printed a report (not an error document)."""

    def __init__(self, doc, cmd, rc, stdout, stderr):
        self.doc = doc
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


class Klp:
    """Runs klp subcommands for one module invocation."""

    def __init__(self, module, klp_path=None, root=None):
        self.module = module
        self.root = root
        if klp_path:
            binary = klp_path
        else:
            binary = module.get_bin_path('klp')
        if not binary or not os.path.isfile(binary) or not os.access(binary, os.X_OK):
            where = klp_path if klp_path else 'PATH'
            raise KlpError(
                'The klp binary was not found or is not executable (looked in %s); '
                'install klp or set klp_path' % where,
                code='klp_not_found', cmd=[klp_path or 'klp'])
        self.binary = binary

    def command(self, args, verbosity=0, non_interactive=False):
        """The argv list for one klp run; JSON is asked for explicitly so that
        a KLP_FORMAT in the environment cannot switch it off."""
        cmd = [self.binary, '--format', 'json']
        if self.root:
            cmd.extend(['--root', self.root])
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        if non_interactive:
            cmd.append('--non-interactive')
        cmd.extend(args)
        return cmd

    def run(self, args, verbosity=0, non_interactive=False, ok_rcs=(0,)):
        """Run klp and return its report; raise KlpError for anything else.

        ``ok_rcs`` lists the exit codes that go with a report: ``check``
        answers "in progress" with exit code 1 and still prints its report.
        """
        cmd = self.command(args, verbosity=verbosity, non_interactive=non_interactive)
        rc, stdout, stderr = self.module.run_command(cmd, check_rc=False)
        doc = parse_document(stdout)
        if isinstance(doc, dict) and isinstance(doc.get('error'), dict):
            error = doc['error']
            raise KlpError(
                'klp %s failed: %s' % (' '.join(args), error.get('message', '(no message)')),
                code=error.get('code', 'unknown'), cmd=cmd, rc=rc,
                stdout=stdout, stderr=stderr, details=error.get('details'))
        if not isinstance(doc, dict):
            raise KlpError(
                'klp %s printed no JSON report (exit code %s)' % (' '.join(args), rc),
                code='invalid_output', cmd=cmd, rc=rc, stdout=stdout, stderr=stderr)
        if rc not in ok_rcs:
            raise KlpError(
                'klp %s exited with %s' % (' '.join(args), rc),
                code='unexpected_exit_code', cmd=cmd, rc=rc, stdout=stdout, stderr=stderr)
        return KlpResult(doc, cmd, rc, stdout, stderr)

    def assess(self, params, cves=()):
        """The report of one ``klp assess`` run, with the thresholds of the
        module's ``stuck_after``, ``expiry_warning`` and ``expiry_critical``."""
        args = assess_args(cves, params.get('stuck_after'), params.get('expiry_warning'),
                           params.get('expiry_critical'))
        return self.run(args, ok_rcs=ASSESS_EXIT_CODES).doc


def parse_document(stdout):
    """klp's one JSON document, or None when stdout holds something else."""
    try:
        return json.loads(stdout)
    except ValueError:
        return None


def is_rpm_edition(value):
    """VERSION (``3``) or VERSION-RELEASE (``1-2``, ``1-2.el9_4``)."""
    return bool(_RPM_EDITION_RE.match(value or ''))


def edition_is(edition, wanted):
    """Whether the installed ``edition`` is what ``wanted`` names: its VERSION
    when ``wanted`` has no release; else that release, where a release
    without a dist tag (``1-2``) means the installed one's (``1-2.el9_4``),
    as klp reads ``--to``."""
    if edition is None or wanted is None:
        return False
    if '-' not in wanted:
        return edition_version(edition) == wanted
    if edition == wanted:
        return True
    wanted_release = wanted.split('-', 1)[1]
    version, dash, release = edition.partition('-')
    return bool(dash) and '.' not in wanted_release and '%s-%s' % (version, release.split('.', 1)[0]) == wanted


def edition_version(edition):
    """The VERSION of an RPM edition ``VERSION-RELEASE`` (versions have no dash)."""
    if edition is None:
        return None
    return edition.split('-', 1)[0]


def warn_all(module, report):
    """Pass klp's warnings on to Ansible's warnings."""
    for warning in (report or {}).get('warnings') or []:
        count = warning.get('count') or 1
        suffix = ' (%d affected)' % count if count > 1 else ''
        module.warn('klp: %s%s' % (warning.get('message', warning.get('code')), suffix))


# klp assess answers ok, warning, critical and unknown with exit codes 0 to 3.
ASSESS_EXIT_CODES = (0, 1, 2, 3)


def assess_args(cves=(), stuck_after=None, expiry_warning=None, expiry_critical=None):
    """The arguments of one ``klp assess`` run; unset thresholds keep klp's defaults."""
    args = ['assess']
    for cve in cves or []:
        args.append('--cve=%s' % cve)
    for option, value in (('--stuck-after', stuck_after), ('--expiry-warning', expiry_warning),
                          ('--expiry-critical', expiry_critical)):
        if value is not None:
            args.append('%s=%s' % (option, value))
    return args


def _cves_with_status(assessment, status):
    return [cve.get('id') for cve in assessment.get('cves') or [] if cve.get('status') == status]


def assess_views(assessment, wait=None):
    """klp_info's gating keys, read off klp's assess report (no verdict of our own).

    ``wait`` is the ``wait`` section of a ``klp check --wait`` run before the
    assessment, if there was one: a wait that timed out is a transition seen
    stuck for that long, which klp's kernel-log age may not be able to tell.
    """
    facts = assessment.get('facts') or {}
    findings = assessment.get('findings') or []
    reasons = [dict(code=f.get('code'), severity=f.get('severity'), message=f.get('message'),
                    subject=f.get('subject')) for f in findings]
    codes = [reason['code'] for reason in reasons]
    ready = facts.get('state') == 'ready'
    stuck = 'transition_stuck' in codes
    if not ready and not stuck and wait and wait.get('timed_out'):
        stuck = True
        transition = assessment.get('transition') or {}
        reasons.insert(0, dict(
            code='transition_stuck', severity='critical', subject=transition.get('patch'),
            message='the transition of %s (%s) did not finish within %s s'
                    % (transition.get('patch'), transition.get('direction'), wait.get('timeout_seconds'))))
    return dict(
        state=facts.get('state'),
        ready=ready,
        transition_stuck=stuck,
        reboot_recommended=assessment.get('reboot_required') is True or stuck,
        reasons=reasons,
        cves_missing=_cves_with_status(assessment, 'not_fixed'),
        cves_unknown=_cves_with_status(assessment, 'unknown'),
    )
