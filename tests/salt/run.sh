#!/usr/bin/env bash
# Salt suite: the klp execution and state modules under real `salt-call --local`
# (salt 3008.4 in a venv under $KLP_WORK), against the real klp binary, on
# fixture trees and on private rpm/zypper roots (tests/pkg/mkroot.py).
# Tests both ways of shipping the modules: the pip-installed extension and the
# file root (saltutil.sync_all, module_dirs). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
: "${KLP_WORK:=$REPO/tests/.work}"
export KLP_WORK
mkdir -p "$KLP_WORK"

# 3008.5 needs a certifi release the registry does not have. pytest-salt-factories
# (the Salt project's own harness) runs the master and minions of test_fleet.py.
SALT_REQUIREMENTS=("salt==3008.4" "pytest" "setuptools>=70.1" "pytest-salt-factories==1.0.5")
VENV="$KLP_WORK/salt-venv"
EXT_SRC="$KLP_WORK/salt-ext-src"
EXT_SITE="$KLP_WORK/salt-ext"
PYTEST_TMP="$KLP_WORK/salt-pytest"
# pip's download and wheel cache stays in the work dir, not in ~/.cache.
export PIP_CACHE_DIR="$KLP_WORK/pip-cache"

declare -a timings=()
phase_start=$SECONDS
phase_name=""
phase() {
    if [ -n "$phase_name" ]; then timings+=("$phase_name: $((SECONDS - phase_start))s"); fi
    phase_name="$1"
    phase_start=$SECONDS
    echo "--- salt suite: $1 ($(date -u +%H:%M:%S))"
}
print_timings() {
    phase ""
    echo "--- salt suite phase timings:"
    printf '    %s\n' "${timings[@]}"
}
trap print_timings EXIT

phase "system packages"
# rpm, zypper and createrepo_c are what tests/pkg/mkroot.py builds roots with.
missing=()
for tool in rpm:rpm rpmbuild:rpm zypper:zypper createrepo_c:createrepo-c dnf:dnf; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
if [ ${#missing[@]} -gt 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        $(printf '%s\n' "${missing[@]}" | sort -u)
fi

phase "salt venv"
# Installed once per work dir: a cold install takes minutes.
wanted="${SALT_REQUIREMENTS[*]}"
if [ ! -x "$VENV/bin/salt-call" ] || [ "$(cat "$VENV/.klp-requirements" 2>/dev/null)" != "$wanted" ]; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${SALT_REQUIREMENTS[@]}"
    echo "$wanted" > "$VENV/.klp-requirements"
fi
"$VENV/bin/salt-call" --version

phase "cargo build"
cargo build --release --locked --bin klp --example fixture

phase "pip install the extension"
# Built from a copy so that setuptools leaves no build/ or egg-info in the repo.
rm -rf "$EXT_SRC" "$EXT_SITE"
# -L: the utils module klp_fleet is a symlink to the Ansible collection's copy.
cp -rL "$REPO/salt" "$EXT_SRC"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
    --target "$EXT_SITE" "$EXT_SRC"

phase "pytest"
rm -rf "$PYTEST_TMP" "$KLP_WORK/salt-state-apply-runs.txt"
status=0
KLP_BIN="$REPO/target/release/klp" \
KLP_FIXTURE_BIN="$REPO/target/release/examples/fixture" \
KLP_SALT_CALL="$VENV/bin/salt-call" \
KLP_SALT_EXT_SITE="$EXT_SITE" \
PYTHONDONTWRITEBYTECODE=1 \
    "$VENV/bin/pytest" -p no:cacheprovider --basetemp="$PYTEST_TMP" -v -rfEs --durations=10 \
    tests/salt "$@" || status=$?
if [ -f "$KLP_WORK/salt-state-apply-runs.txt" ]; then
    echo "--- the example SLS applied three times on a private rpm/zypper root:"
    cat "$KLP_WORK/salt-state-apply-runs.txt"
fi
exit $status
