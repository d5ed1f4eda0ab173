#!/usr/bin/env bash
# Ansible suite: the klp.livepatch collection under ansible/, tested with the
# real tools.
#   1. build klp and the fixture writer (cargo build --release)
#   2. two venvs (pip, under $KLP_WORK, reused while their pins hold): the newest
#      ansible-core that installs here (2.19, with ansible-lint) and the oldest
#      that meta/runtime.yml's requires_ansible claims (2.16.0)
#   3. ansible-galaxy collection build + install into $KLP_WORK
#   4. ansible-test units (newest; their fake klp answers with the real klp's
#      answers, captured first by tests/ansible/capture_klp.py) and sanity
#      (both versions), --venv, offline but for PyPI
#   5. ansible-lint on the collection and the example playbooks
#   6. real ansible-playbook runs (tests/ansible/test_playbooks.py) on fixture
#      roots and on rpm/zypper roots from tests/pkg/mkroot.py, and the fleet
#      report over 200 simulated hosts (tests/ansible/test_fleet.py), on both
#      versions (the oldest with a 27-host fleet, to keep the suite short)
# Everything it writes lives under $KLP_WORK/ansible (HOME and TMPDIR too).
set -euo pipefail
cd "$(dirname "$0")/../.."
export KLP_REPO="$PWD"
export KLP_WORK="${KLP_WORK:-$PWD/tests/.work}"

ANSIBLE_CORE_VERSION=2.19.14  # newest that runs on Python 3.11
# The oldest requires_ansible allows (meta/runtime.yml); checked below.
OLDEST_ANSIBLE_CORE_VERSION=2.16.0
ANSIBLE_LINT_VERSION=26.10.1
COLLECTION_DIR="$KLP_REPO/ansible/ansible_collections/klp/livepatch"
WORK="$KLP_WORK/ansible"
VENV="$KLP_WORK/ansible-venv"
OLDEST_VENV="$KLP_WORK/ansible-venv-$OLDEST_ANSIBLE_CORE_VERSION"

declare -a phase_names=() phase_status=() phase_secs=()
failed=0
phase() {  # phase NAME COMMAND...: run, time and record one phase
    local name=$1 start=$SECONDS status=ok
    shift
    echo "--- ansible: $name"
    if ! "$@"; then status=FAILED; failed=1; fi
    phase_names+=("$name"); phase_status+=("$status"); phase_secs+=($((SECONDS - start)))
    echo "--- ansible: $name: $status in $((SECONDS - start))s"
}
summary() {
    echo "=== ansible suite summary"
    local i
    for i in "${!phase_names[@]}"; do
        printf '  %-28s %-7s %4ss\n' "${phase_names[$i]}" "${phase_status[$i]}" "${phase_secs[$i]}"
    done
}
trap summary EXIT

build_klp() {
    cargo build --release --locked --bin klp --example fixture
}

install_system_packages() {
    # git: ansible-test lists the files of its copy of the collection with it.
    # rpm, createrepo-c, zypper: the private package root of klp_patch's tests.
    local missing=()
    command -v git >/dev/null || missing+=(git)
    command -v rpmbuild >/dev/null || missing+=(rpm)
    command -v createrepo_c >/dev/null || missing+=(createrepo-c)
    command -v zypper >/dev/null || missing+=(zypper)
    # ssh: the fleet test's unreachable hosts are ssh hosts on a closed loopback port.
    command -v ssh >/dev/null || missing+=(openssh-client)
    command -v dnf >/dev/null || missing+=(dnf)  # the Red Hat family root (tests/pkg/mkroot_dnf.py)
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq -o DPkg::Lock::Timeout=600 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
                --no-install-recommends "${missing[@]}"
    fi
}

make_venv() {  # make_venv DIR ANSIBLE_CORE_VERSION [EXTRA_PACKAGE...]
    # Reused when it holds the pinned ansible-core (no pipes into grep -q/head:
    # an early close would make ansible fail with a broken pipe).
    local venv=$1 core=$2 version=""
    shift 2
    [ -x "$venv/bin/ansible" ] && version=$("$venv/bin/ansible" --version 2>/dev/null || true)
    if [[ "$version" != *"core $core]"* ]]; then
        rm -rf "$venv"
        "$PYTHON" -m venv "$venv"
    fi
    "$venv/bin/pip" install -q "ansible-core==$core" "$@" pytest &&
        version=$("$venv/bin/ansible" --version) &&
        echo "${version%%$'\n'*}"
}

check_oldest_claim() {
    # The oldest version tested is the one the collection claims to support.
    local claim
    claim=$(sed -n "s/^requires_ansible: *'>=\([0-9.]*\)'.*/\1/p" "$COLLECTION_DIR/meta/runtime.yml")
    [ "$claim" = "$OLDEST_ANSIBLE_CORE_VERSION" ] ||
        { echo "meta/runtime.yml claims >=$claim, the suite tests $OLDEST_ANSIBLE_CORE_VERSION" >&2; return 1; }
}

build_collection() {
    rm -rf "$WORK/dist" "$WORK/collections"
    ansible-galaxy collection build --output-path "$WORK/dist" "$COLLECTION_DIR" &&
        ansible-galaxy collection install --offline -p "$WORK/collections" "$WORK"/dist/klp-livepatch-*.tar.gz &&
        ansible-doc klp.livepatch.klp_info >/dev/null &&
        ansible-doc klp.livepatch.klp_patch >/dev/null &&
        ansible-doc klp.livepatch.klp_facts >/dev/null &&
        ansible-doc -t role klp.livepatch.fleet_report >/dev/null
}

# ansible-test writes into the collection (tests/output) and must not see
# the repo's git state, so it runs on a copy that is its own git work tree.
prepare_ansible_test_tree() {  # prepare_ansible_test_tree VENV
    local venv=$1 tree="$WORK/ansible-test-$(basename "$1")/ansible_collections/klp/livepatch"
    rm -rf "$WORK/ansible-test-$(basename "$1")"
    mkdir -p "$tree"
    # Exactly the files git would ship (tracked, or new and not ignored).
    (cd "$COLLECTION_DIR" && git ls-files -z --cached --others --exclude-standard . |
        tar --null -T - -cf -) | tar -xf - -C "$tree"
    git -C "$tree" init -q
    # ansible-test bootstraps pip in its venvs with a get-pip script it
    # downloads from a host that is not reachable here; it uses a cached copy
    # first. This stand-in bootstraps pip from the stdlib (ensurepip) and then
    # installs the exact pip version asked for from the package index.
    local pip_version
    pip_version=$("$venv/bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages
class P: version = "3.11"
print(get_venv_packages(P())["pip"])')
    mkdir -p "$HOME/.ansible/test/cache"
    cat > "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py" <<'EOF'
"""Offline stand-in for get-pip.py (written by tests/ansible/run.sh)."""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
EOF
    ANSIBLE_TEST_TREE="$tree"
}

capture_klp_answers() {
    # The unit tests' fake klp answers with the real klp's answers only.
    "$PYTHON" "$KLP_REPO/tests/ansible/capture_klp.py" \
        "$ANSIBLE_TEST_TREE/tests/unit/plugins/modules/captured_klp.json"
}

ansible_test_units() {
    # ansible-test gives pytest only HOME and PATH, not TMPDIR, so pytest
    # writes /tmp/pytest-of-USER: remove what this run added there.
    local base="/tmp/pytest-of-$(id -un)" existed=1 before status=0
    [ -d "$base" ] || existed=0
    before=$(ls "$base" 2>/dev/null || true)
    (cd "$ANSIBLE_TEST_TREE" && ansible-test units --venv --python "$PY_VERSION" --color no) || status=$?
    if [ "$existed" = 0 ]; then
        rm -rf "$base"
    else
        for entry in $(ls "$base" 2>/dev/null); do
            grep -qx "$entry" <<<"$before" || rm -rf "${base:?}/$entry"
        done
    fi
    return "$status"
}

ansible_test_sanity() {
    (cd "$ANSIBLE_TEST_TREE" && ansible-test sanity --venv --python "$PY_VERSION" --color no)
}

# The same collection under the oldest ansible-core: its sanity tests and the
# playbook tests (a smaller fleet).
oldest_sanity() {
    (cd "$OLDEST_TEST_TREE" && PATH="$OLDEST_VENV/bin:$PATH" \
        ansible-test sanity --venv --python "$PY_VERSION" --color no)
}

run_ansible_lint() {
    # Offline: no galaxy installs, no version check.
    (cd "$KLP_REPO/ansible" && ANSIBLE_LINT_SKIP_VERSION_CHECK=1 \
        ansible-lint --offline --profile production -c "$KLP_REPO/ansible/.ansible-lint" \
        ansible_collections/klp/livepatch playbooks)
}

playbook_tests() {  # playbook_tests VENV [FLEET_HOSTS]
    local venv=$1 hosts=${2:-200}
    rm -f "$WORK/playbook-runs.log"
    (cd "$KLP_REPO" && KLP_FLEET_HOSTS=$hosts "$venv/bin/python" -m pytest -v -p no:cacheprovider \
        --basetemp "$WORK/pytest-$(basename "$venv")" -o console_output_style=classic -rs \
        tests/ansible/test_playbooks.py tests/ansible/test_fleet.py) || return 1
    echo "every ansible-playbook run (command, output, exit code): $WORK/playbook-runs.log"
}

# cargo and pyenv find their homes through HOME: resolve both first.
phase "build klp" build_klp
export KLP_BIN="$KLP_REPO/target/release/klp" KLP_FIXTURE="$KLP_REPO/target/release/examples/fixture"
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
PY_VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

mkdir -p "$WORK/home" "$WORK/tmp"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the repository tree
export HOME="$WORK/home" TMPDIR="$WORK/tmp"
export ANSIBLE_LOCAL_TEMP="$WORK/tmp" ANSIBLE_REMOTE_TEMP="$WORK/tmp"
export ANSIBLE_COLLECTIONS_PATH="$WORK/collections"
# RPMs built by tests/pkg/mkroot.py, shared by the package roots of the tests.
export KLP_RPM_CACHE="$WORK/rpm-cache"

phase "system packages" install_system_packages
phase "oldest claimed is tested" check_oldest_claim
phase "venv (ansible-core $ANSIBLE_CORE_VERSION)" make_venv "$VENV" "$ANSIBLE_CORE_VERSION" "ansible-lint==$ANSIBLE_LINT_VERSION"
phase "venv (ansible-core $OLDEST_ANSIBLE_CORE_VERSION)" make_venv "$OLDEST_VENV" "$OLDEST_ANSIBLE_CORE_VERSION"
export PATH="$VENV/bin:$PATH"
[ "$failed" = 0 ] || exit 1

phase "collection build+install" build_collection
phase "ansible-test prepare ($OLDEST_ANSIBLE_CORE_VERSION)" prepare_ansible_test_tree "$OLDEST_VENV"
OLDEST_TEST_TREE=$ANSIBLE_TEST_TREE
phase "ansible-test prepare" prepare_ansible_test_tree "$VENV"
phase "capture klp answers for the unit tests" capture_klp_answers
phase "ansible-test units" ansible_test_units
phase "ansible-test sanity" ansible_test_sanity
phase "ansible-test sanity ($OLDEST_ANSIBLE_CORE_VERSION)" oldest_sanity
phase "ansible-lint" run_ansible_lint
phase "ansible-playbook tests" playbook_tests "$VENV"
phase "ansible-playbook tests ($OLDEST_ANSIBLE_CORE_VERSION, 27 hosts)" playbook_tests "$OLDEST_VENV" 27

if [ "$failed" != 0 ]; then
    echo "ansible suite: FAILED"
    exit 1
fi
echo "ansible suite: all phases passed"
