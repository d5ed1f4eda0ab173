#!/usr/bin/env bash
# The one test command: installs what the suites need, then runs them all.
#
#   tests/run.sh            every suite
#   tests/run.sh core vm    only those suites
#
# Suites: core (cargo tests: unit, fixture-tree integration, schemas),
# vm (real kernel under qemu), pkg (real rpm and zypper),
# ansible (real ansible-playbook, ansible-test), salt (real salt-call),
# hardening (fuzz corpus, properties, races, unprivileged runs, downgrades),
# ship (the RPM with real zypper and dnf, the install role and state),
# monitoring (real promtool, node_exporter, Icinga 2).
# Each suite's script installs its own needs and keeps its files under
# tests/.work (ignored by git). Nothing is written elsewhere on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
export KLP_REPO="$PWD"
export KLP_WORK="$PWD/tests/.work"
mkdir -p "$KLP_WORK/logs"

all_suites=(core vm pkg ansible salt hardening monitoring ship)
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=("${all_suites[@]}")

declare -A took
failed=()
for suite in "${suites[@]}"; do
    script="tests/$suite/run.sh"
    if [ "$suite" = core ]; then script="tests/core.sh"; fi
    if [ ! -f "$script" ]; then
        echo "tests/run.sh: no suite named '$suite' ($script missing)" >&2
        exit 2
    fi
    echo "=== suite $suite: start $(date -u +%H:%M:%S)"
    start=$SECONDS
    # Each suite's output also goes to its log, so that the summary can
    # repeat what failed: a CI excerpt shows the end of the output.
    if bash "$script" 2>&1 | tee "$KLP_WORK/logs/$suite.log"; then status=ok; else status=FAILED; failed+=("$suite"); fi
    took[$suite]=$((SECONDS - start))
    echo "=== suite $suite: $status in ${took[$suite]}s"
done

echo "=== summary"
for suite in "${suites[@]}"; do echo "  $suite: ${took[$suite]}s"; done
if [ ${#failed[@]} -gt 0 ]; then
    for suite in "${failed[@]}"; do
        log=$KLP_WORK/logs/$suite.log
        echo "=== $suite: its failure lines (whole log: $log)"
        grep -E '(^|[[:space:]])(FAIL|FAILED|ERROR)([[:space:]:]|$)|error:|Traceback|panicked' "$log" | cut -c1-400 | head -40 || true
        echo "=== $suite: the last lines of its log"
        tail -15 "$log" | cut -c1-400
    done
    echo "FAILED suites: ${failed[*]}"
    exit 1
fi
echo "all suites passed: ${suites[*]}"
