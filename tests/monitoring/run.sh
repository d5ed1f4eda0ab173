#!/usr/bin/env bash
# monitoring suite: klp's monitoring outputs against the real engines.
#
# Installs Debian's prometheus (for promtool), prometheus-node-exporter and
# icinga2 (icinga2-bin, icinga2-common), plus rpm, rpmbuild, createrepo_c
# and zypper for the rpm roots of tests/pkg/mkroot.py. Debian's postinst
# scripts would start the daemons: a policy-rc.d denies that during the
# install (the host's own is kept when it has one), and the suite fails if
# any of those daemons runs afterwards. Then tests/monitoring/engines.py
# runs its own node_exporter and Icinga 2 on free loopback ports with their
# own config and state under $KLP_WORK/monitoring, ended by pid.
# Extra arguments go to engines.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
KLP_WORK=${KLP_WORK:-$repo/tests/.work}
work=$KLP_WORK/monitoring
mkdir -p "$work"

phase_start=$SECONDS
phase_name=""
phase() {
    [ -n "$phase_name" ] && echo "--- monitoring: $phase_name took $((SECONDS - phase_start))s"
    phase_name=$1
    phase_start=$SECONDS
    [ -n "$1" ] && echo "--- monitoring: $1 ($(date -u +%H:%M:%S))"
    return 0
}
die() { echo "monitoring: error: $*" >&2; exit 1; }

phase "install"
packages=(prometheus prometheus-node-exporter icinga2-bin icinga2-common rpm createrepo-c zypper)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
        # Exit 101: "action forbidden", so invoke-rc.d and deb-systemd-invoke
        # start nothing. Removed again right after the install.
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        own_policy=1
        trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
    fi
    apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}" >"$work/apt.log" 2>&1 \
        || { tail -20 "$work/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
    if [ "$own_policy" = 1 ]; then rm -f "$policy"; own_policy=0; fi
fi
# The packages' own daemons must not run: this suite starts its own.
# Found by executable (comm is cut at 15 characters); only looked for,
# never ended: they would not be ours. Ours run with a config under $work.
daemons=" /usr/bin/prometheus /usr/bin/prometheus-node-exporter "
for exe in /usr/lib/*/icinga2/sbin/icinga2; do daemons+="$exe "; done
for proc in /proc/[0-9]*; do
    exe=$(readlink "$proc/exe" 2>/dev/null) || continue
    case "$daemons" in *" $exe "*) ;; *) continue ;; esac
    tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q -- "$work" && continue
    die "$exe runs on this host (pid ${proc#/proc/}): the install started it, or someone else did"
done
for tool in promtool prometheus-node-exporter icinga2 systemd-analyze rpmbuild createrepo_c zypper python3 unshare; do
    command -v "$tool" >/dev/null || die "$tool missing after the install"
done

phase "build"
cargo build --release --locked --bin klp --example fixture
klp=$repo/target/release/klp
fixture=$repo/target/release/examples/fixture

phase "engines"
python3 tests/monitoring/engines.py --repo "$repo" --work "$work" --klp "$klp" --fixture "$fixture" "$@"

phase ""
