#!/usr/bin/env bash
# Time-bounded fuzzing of every parser of outside input (not part of CI).
#
#   tests/hardening/fuzz.sh [SECONDS] [TARGET...]   default: 30 s, every target
#
# Runs `cargo +nightly fuzz run` per target, one at a time, on one core.
# New inputs go to a scratch corpus under $KLP_WORK/fuzz/<target>; the
# committed seeds (fuzz/corpus/<target>) are read, never written. A crash or
# a broken invariant stops the run, leaves the reproducer in
# $KLP_WORK/fuzz/artifacts/<target>/ and exits 1. To keep a finding as a
# regression test, copy the reproducer into fuzz/corpus/<target>/ (the
# core suite replays that directory on stable Rust).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-30}"
shift || true
export KLP_WORK="${KLP_WORK:-$PWD/tests/.work}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

build_start=$SECONDS
cargo +nightly fuzz build >/dev/null 2>&1 || cargo +nightly fuzz build
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - build_start))s; ${seconds}s each"

printf '%-18s %12s %10s %8s %s\n' target executions exec/s corpus result
failed=()
for target in "${targets[@]}"; do
    scratch="$KLP_WORK/fuzz/$target"
    artifacts="$KLP_WORK/fuzz/artifacts/$target/"
    mkdir -p "$scratch" "$artifacts"
    log="$KLP_WORK/fuzz/$target.log"
    if cargo +nightly fuzz run "$target" "$scratch" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts" >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log, reproducer in $artifacts)"
        failed+=("$target")
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    units=$(find "$scratch" "fuzz/corpus/$target" -type f | wc -l)
    printf '%-18s %12s %10s %8s %s\n' "$target" "${runs:-?}" "${speed:-?}" "$units" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED targets: ${failed[*]}"
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a finding"
