#!/usr/bin/env bash
# Hardening suite (issues 7 and 10): corpus replay and property tests of
# every parser, races with the real /proc, unprivileged and hidepid runs,
# hostile and enormous input, broken stdout, concurrent and failing
# downgrades on real rpm/zypper roots; an untrusted root (FIFOs, sparse
# files, devices, symlinks out of the root, no sysfs, hostile names) and
# every argument edge, each run under its own deadline, peak memory
# measured with GNU time. The time-bounded fuzzing is a separate command:
# tests/hardening/fuzz.sh [SECONDS] (see BENCHMARKS.md, "Fuzzing").
#
# Needs root (setpriv to nobody, a private mount namespace for hidepid).
# Installs rpm, zypper and createrepo_c when missing. Files: tests/.work.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KLP_WORK="${KLP_WORK:-$PWD/tests/.work}"
mkdir -p "$KLP_WORK"
log="$KLP_WORK/hardening.log"
phase_start=$SECONDS
phase() {
    echo "hardening: $1 done in $((SECONDS - phase_start))s"
    phase_start=$SECONDS
}

if [ "$(id -u)" != 0 ]; then
    echo "hardening: needs root (switches to nobody, mounts a private proc)" >&2
    exit 2
fi
missing=()
for tool in rpm rpmbuild zypper createrepo_c setpriv python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "hardening: installing packages for: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        rpm createrepo-c zypper util-linux python3 time >/dev/null
fi
phase "dependencies"

cargo build --release --locked
phase "build"

# Every hardening test, the slow ones (#[ignore]) included; the package
# tools must be there (no silent skip).
status=0
cargo test --release --locked --test it hardening:: -- \
    --include-ignored --show-output 2>&1 | tee "$log" || status=$?
phase "tests"

echo "=== hardening figures"
grep -E '^(corpus replay|race\(|concurrent downgrades|zypper killed)' "$log" || true
grep -E '^test result:' "$log" || true
if [ "$status" != 0 ]; then
    echo "hardening: FAILED (log: $log)"
    exit 1
fi
echo "hardening: all tests passed"
