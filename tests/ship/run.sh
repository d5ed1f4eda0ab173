#!/usr/bin/env bash
# ship suite: klp as it reaches hosts. Builds everything with the one command
# (dist/build.sh: the static RPM and its createrepo_c repository, the Salt
# extension's wheel and sdist, the Ansible collection tarball), then
# tests/ship/test_ship.py installs the RPM with the real zypper into a
# SUSE-style private root and with the real dnf into a RHEL-style one,
# upgrades and removes it, rolls it out with the klp.livepatch.install role
# and the klp_install.installed Salt state, installs the wheel into a fresh
# venv for Salt and the collection with ansible-galaxy. Checks that nothing
# was written on the host. Everything lives under $KLP_WORK/ship; the
# ansible and salt venvs are the ones the ansible and salt suites use.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
export KLP_WORK="${KLP_WORK:-$repo/tests/.work}"
work=$KLP_WORK/ship
mkdir -p "$work"
export PIP_CACHE_DIR="$KLP_WORK/pip-cache"
export PYTHONDONTWRITEBYTECODE=1

phase_start=$SECONDS
phase() { echo "--- ship: $1 done in $((SECONDS - phase_start))s"; phase_start=$SECONDS; }

missing=()
for tool in rpm:rpm rpmbuild:rpm createrepo_c:createrepo-c zypper:zypper dnf:dnf readelf:binutils; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi
phase "system packages"

# What must stay untouched on the host: Debian's rpm, zypper and dnf defaults.
host_paths=("$HOME/.rpmdb" /var/log/zypper.log /run/zypp.pid /usr/lib/sysimage/rpm /var/log/zypp /var/cache/zypp
    /etc/zypp/repos.d /var/lib/rpm /var/lib/dnf /var/cache/dnf /var/log/dnf.log /var/log/dnf.rpm.log
    /var/log/dnf.librepo.log /var/log/hawkey.log /etc/yum.repos.d /usr/sbin/klp)
. tests/host-state.sh
before=$(host_state)
# Other ansible users on a shared host touch ~/.ansible/tmp: only its
# appearance is the suite's doing.
ansible_home_before=$([ -e "$HOME/.ansible" ] && echo present || echo absent)
real_home=$HOME
# From here on HOME is scratch (rpm reads ~/.rpmmacros, ansible writes
# ~/.ansible); cargo and rustup keep their real homes.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
mkdir -p "$work/home" "$work/tmp"
export HOME=$work/home TMPDIR=$work/tmp

# The same venvs (and pins) as the ansible and salt suites: built once per work dir.
ansible_venv=$KLP_WORK/ansible-venv
if [[ "$("$ansible_venv/bin/ansible" --version 2>/dev/null || true)" != *"core 2.19.14]"* ]]; then
    rm -rf "$ansible_venv"
    python3 -m venv "$ansible_venv"
    "$ansible_venv/bin/pip" install -q --disable-pip-version-check ansible-core==2.19.14 ansible-lint==26.10.1 pytest
fi
salt_venv=$KLP_WORK/salt-venv
salt_wanted="salt==3008.4 pytest setuptools>=70.1"
if [ ! -x "$salt_venv/bin/salt-call" ] || [ "$(cat "$salt_venv/.klp-requirements" 2>/dev/null)" != "$salt_wanted" ]; then
    rm -rf "$salt_venv"
    python3 -m venv "$salt_venv"
    # shellcheck disable=SC2086
    "$salt_venv/bin/pip" install -q --disable-pip-version-check $salt_wanted
    echo "$salt_wanted" >"$salt_venv/.klp-requirements"
fi
phase "venvs"

# The documented build command, twice: release 1, then a newer build
# (release 2) of the same version for the upgrade test.
# The vm suite's target dir: it builds the same static klp (same RUSTFLAGS,
# target and profile), so a full run compiles it once.
export CARGO_TARGET_DIR=$KLP_WORK/vm/target KLP_TOOLS_VENV=$ansible_venv
rm -rf "$work/dist"
# A project URL as a release would give it (the tree names none).
export KLP_PROJECT_URL=https://klp.example.org/klp KLP_ISSUES_URL=https://klp.example.org/klp/issues
dist/build.sh "$work/dist"
KLP_RPM_RELEASE=2 KLP_BUILD_ONLY=rpm dist/build.sh "$work/dist"
unset CARGO_TARGET_DIR
phase "dist/build.sh (rpm 1 and 2, wheel, sdist, collection)"

rm -rf "$work/pytest"
status=0
KLP_DIST="$work/dist" KLP_ANSIBLE_VENV="$ansible_venv" KLP_SALT_VENV="$salt_venv" \
    "$salt_venv/bin/pytest" -p no:cacheprovider --basetemp="$work/pytest" -v -rfEs --durations=8 \
    -o console_output_style=classic tests/ship/test_ship.py "$@" || status=$?
phase "tests"

after=$(host_state)
if [ "$ansible_home_before" = absent ] && [ -e "$real_home/.ansible" ]; then
    echo "ship: the tests created $real_home/.ansible" >&2
    exit 1
fi
if [ "$before" != "$after" ]; then
    echo "ship: the tests changed files on the host:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    exit 1
fi
echo "--- ship: host untouched (${host_paths[*]})"
exit $status
