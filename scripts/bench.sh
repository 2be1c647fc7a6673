#!/usr/bin/env bash
# scripts/bench.sh — issue 10's benchmarks, as root:
#
#   scripts/bench.sh                 the testnet benchmark: all-i2pd, all-ours and mixed
#                                    five-router networks, 3 reps each, a table of medians with
#                                    the ratio ours/i2pd (about 10 minutes on 2 cores)
#   scripts/bench.sh --reps 1        fewer (or more) repetitions
#   scripts/bench.sh --only ours     some topologies (comma-separated: i2pd,ours,mixed)
#   scripts/bench.sh --micro         also the micro-benchmarks (cargo bench -p i2p-bench)
#
# Builds i2p-router and the benchmark driver in release mode first (not timed). Needs what the
# e2e tests need (root, iproute2, i2pd; scripts/test.sh installs them). Every network runs in its
# own namespace that has only `lo`; nothing leaves the machine. Run it on an otherwise idle
# machine: the figures are CPU time and wall time.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
MICRO=0
ARGS=()
for a in "$@"; do
    case "$a" in
        --micro) MICRO=1 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) ARGS+=("$a") ;;
    esac
done
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
echo "==> building release binaries (i2p-router, i2p-testnet-bench)"
cargo build --release --locked -p i2p-router --bin i2p-router
cargo build --release --locked -p i2p-e2e --bin i2p-testnet-bench
if [ "$MICRO" = 1 ]; then
    echo "==> micro-benchmarks"
    cargo bench --locked -p i2p-bench
fi
echo "==> testnet benchmark"
export I2P_ROUTER_BIN="$TARGET_DIR/release/i2p-router"
exec "$TARGET_DIR/release/i2p-testnet-bench" "${ARGS[@]}"
