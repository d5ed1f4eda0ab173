#!/usr/bin/env bash
# pkg suite: klp's package layer against the real rpm, rpmbuild, createrepo_c
# and zypper (Debian's packages). Installs them, builds klp, runs the
# package-layer integration tests (tests/it/pkg.rs: #[ignore]d in the core
# suite, so counted there as ignored, and run here with --include-ignored;
# without the tools they fail), runs the `patches -v` benchmark, and checks
# that nothing was left on the host.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KLP_WORK="${KLP_WORK:-$PWD/tests/.work}"
mkdir -p "$KLP_WORK"

phase_start=$SECONDS
phase() { echo "--- pkg: $1 done in $((SECONDS - phase_start))s"; phase_start=$SECONDS; }

need=()
for tool in rpm rpmbuild createrepo_c zypper; do
    command -v "$tool" >/dev/null || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "--- pkg: installing rpm createrepo-c zypper (missing: ${need[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends rpm createrepo-c zypper >/dev/null
fi
phase "tools"

# What the tests must not touch on the host (Debian's rpm and zypper defaults).
host_paths=("$HOME/.rpmdb" /var/log/zypper.log /run/zypp.pid /usr/lib/sysimage/rpm /var/log/zypp /var/cache/zypp /etc/zypp/repos.d)
. tests/host-state.sh
before=$(host_state)

cargo build --release --locked
phase "build"

cargo test --release --locked --test it pkg:: -- --include-ignored 2>&1
phase "tests"

bench_dir=$(mktemp -d "$KLP_WORK/pkg-bench.XXXXXX")
# Figures only: speed is shown by the benchmark, never gated in CI (a loaded
# machine moves medians; see BENCHMARKS.md for the target and the figures).
python3 tests/pkg/bench.py --dir "$bench_dir" --runs 30
rm -rf "$bench_dir"
phase "benchmark (figures only; target ratio < 2, see BENCHMARKS.md)"

after=$(host_state)
if [ "$before" != "$after" ]; then
    echo "pkg: the tests changed files on the host:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    exit 1
fi
echo "--- pkg: host untouched (${host_paths[*]})"
