#!/usr/bin/env bash
# Build every cargo-fuzz target in router/fuzz and run each for RUNS inputs, seeded from
# router/fuzz/corpus/<target>/ (see router/fuzz/README.md).
#
#   scripts/fuzz.sh [RUNS] [TARGET...]
#
# RUNS defaults to 10000; TARGETs default to all (`cargo fuzz list`). Environment:
#   FUZZ_MAX_TIME   seconds one target may run at most (-max_total_time), default 600
#   FUZZ_TIMEOUT    seconds one input may take before it counts as a hang, default 10
#   FUZZ_JOBS       cargo build jobs, default 1
#   CARGO_TARGET_DIR  where cargo fuzz builds (default router/fuzz/target)
#
# Prints a table target / runs / exec/s / result and exits non-zero if any target found a
# crash (a panic, a failed assertion, a sanitizer report, a hang or running out of memory).
# Crash inputs land in router/fuzz/artifacts/<target>/; the run logs in
# router/fuzz/artifacts/logs/<target>.log.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$repo/router/fuzz"
runs="${1:-10000}"
if [[ $# -gt 0 ]]; then shift; fi
max_time="${FUZZ_MAX_TIME:-600}"
timeout="${FUZZ_TIMEOUT:-10}"
jobs="${FUZZ_JOBS:-1}"
target_dir="${CARGO_TARGET_DIR:-$fuzz_dir/target}"
export CARGO_TARGET_DIR="$target_dir"
# cargo-fuzz needs nightly-only compiler flags (-Zsanitizer, sancov); the toolchain is stable
export RUSTC_BOOTSTRAP=1

if ! [[ "$runs" =~ ^[0-9]+$ ]] || [[ "$runs" -eq 0 ]]; then
    echo "usage: $0 [RUNS] [TARGET...]   (RUNS is a positive number, default 10000)" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing; installing cargo-fuzz 0.13.2 from crates.io" >&2
    cargo install cargo-fuzz --version 0.13.2 --locked -j "$jobs"
fi

cd "$repo"
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
fi

echo "building ${#targets[@]} fuzz targets (debug assertions, AddressSanitizer) in $target_dir" >&2
CARGO_BUILD_JOBS="$jobs" cargo fuzz build --fuzz-dir "$fuzz_dir" >&2

bin_dir="$target_dir/x86_64-unknown-linux-gnu/release"
log_dir="$fuzz_dir/artifacts/logs"
mkdir -p "$log_dir"

rows=()
failed=0
for t in "${targets[@]}"; do
    bin="$bin_dir/$t"
    if [[ ! -x "$bin" ]]; then
        echo "no binary for target $t at $bin" >&2
        rows+=("$t|-|-|NOT BUILT")
        failed=1
        continue
    fi
    corpus="$fuzz_dir/corpus/$t"
    artifacts="$fuzz_dir/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    log="$log_dir/$t.log"
    echo "running $t for $runs inputs (at most ${max_time}s)" >&2
    status=0
    start_ns="$(date +%s%N)"
    "$bin" "$corpus" \
        -runs="$runs" \
        -max_total_time="$max_time" \
        -timeout="$timeout" \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" \
        >"$log" 2>&1 || status=$?
    end_ns="$(date +%s%N)"
    done_runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    # libFuzzer's own average divides by whole seconds (0 for short runs): use the wall clock
    # of the whole run (start-up and seed loading included)
    execs="?"
    if [[ -n "$done_runs" ]]; then
        execs="$(awk -v n="$done_runs" -v ns="$((end_ns - start_ns))" \
            'BEGIN { s = ns / 1e9; if (s <= 0) s = 1e-9; printf "%d", n / s }')"
    fi
    if [[ $status -eq 0 ]]; then
        result="ok"
        if [[ -n "$done_runs" && "$done_runs" -lt "$runs" ]]; then
            result="ok (stopped by the ${max_time}s limit)"
        fi
    else
        artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
        result="CRASH (exit $status) ${artifact:-see $log}"
        failed=1
        tail -n 40 "$log" >&2
    fi
    rows+=("$t|${done_runs:-?}|$execs|$result")
done

printf '\n%-24s %10s %8s  %s\n' "target" "runs" "exec/s" "result"
printf '%-24s %10s %8s  %s\n' "------" "----" "------" "------"
for row in "${rows[@]}"; do
    IFS='|' read -r t r e res <<<"$row"
    printf '%-24s %10s %8s  %s\n' "$t" "$r" "$e" "$res"
done

if [[ $failed -ne 0 ]]; then
    echo "at least one fuzz target crashed or did not build" >&2
    exit 1
fi
