#!/usr/bin/env bash
# The one test command: installs what the suites need, then runs them all.
#
#   tests/run.sh            every suite
#   tests/run.sh core vm    only those suites
#
# Suites: core (cargo tests: unit, fixture-tree integration, schemas),
# vm (real kernel under qemu), pkg (real rpm and zypper),
# ansible (real ansible-playbook, ansible-test), salt (real salt-call),
# hardening (fuzz corpus, properties, races, unprivileged runs, downgrades).
# ship (the RPM with real zypper and dnf, the install role and state).
# Each suite's script installs its own needs and keeps its files under
# tests/.work (ignored by git). Nothing is written elsewhere on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
export KLP_REPO="$PWD"
export KLP_WORK="$PWD/tests/.work"
mkdir -p "$KLP_WORK"

all_suites=(core vm pkg ansible salt hardening ship)
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
    if bash "$script"; then status=ok; else status=FAILED; failed+=("$suite"); fi
    took[$suite]=$((SECONDS - start))
    echo "=== suite $suite: $status in ${took[$suite]}s"
done

echo "=== summary"
for suite in "${suites[@]}"; do echo "  $suite: ${took[$suite]}s"; done
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED suites: ${failed[*]}"
    exit 1
fi
echo "all suites passed: ${suites[*]}"
