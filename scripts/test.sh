#!/usr/bin/env bash
# scripts/test.sh — the project's one test command (README "Set-up"; CI runs it through .ci/run).
#
#   scripts/test.sh              everything: system packages, fmt, clippy, unit tests, the
#                                i2p-router binary, e2e tests against real i2pd routers
#   scripts/test.sh --no-e2e     skip the e2e tests (said loudly in the summary)
#   scripts/test.sh --no-install never run apt-get (fail with a message if something is missing)
#   scripts/test.sh --no-docker  skip the Docker e2e (said loudly in the summary); by default it
#                                runs after the other e2e tests: e2e/docker/run.sh builds the
#                                image from the Dockerfile on locally made bases and runs
#                                compose.yaml on a private testnet of i2pd containers
#
# The e2e tests need root (network namespaces), iproute2, util-linux (setsid) and i2pd. As root,
# missing Debian packages are installed with apt-get; installing i2pd never starts a system i2pd
# (see install_packages). Every e2e router runs in a private network namespace that has only `lo`.
#
# Environment: CARGO_TARGET_DIR is respected; CI=true selects nextest's `ci` profile.
set -uo pipefail

cd "$(dirname "$(readlink -f "$0")")/.." || exit 2
ROOT=$(pwd)
RUN_E2E=1
INSTALL=1
RUN_DOCKER=1
for arg in "$@"; do
    case "$arg" in
        --no-e2e) RUN_E2E=0 ;;
        --no-install) INSTALL=0 ;;
        --no-docker) RUN_DOCKER=0 ;;
        --docker) RUN_DOCKER=1 ;; # the default; kept so older instructions still work
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=default
[ "${CI:-}" = true ] && PROFILE=ci
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-auto}

say() { printf '\n==> %s\n' "$*"; }
STEPS=()
FAILED=0
# step NAME CMD...: run, time, record
step() {
    local name=$1; shift
    say "$name: $*"
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    local dt=$((SECONDS - t0)) verdict=ok
    if [ $rc -ne 0 ]; then verdict="FAILED (exit $rc)"; FAILED=1; fi
    STEPS+=("$(printf '%-28s %-18s %5ss' "$name" "$verdict" "$dt")")
    return $rc
}
note() { STEPS+=("$(printf '%-28s %-18s' "$1" "$2")"); }

# ------------------------------------------------------------------ system packages
# Debian packages the e2e tests need: i2pd (the interop target, 2.45.1 on bookworm), iproute2
# (`ip netns`), util-linux (`setsid`), procps; curl (the proxies test drives our proxies with
# it), python3 (that test's backend webserver) and chromium (a real browser through our SOCKS
# proxy), bind9-dnsutils (`dig` against our DNS server), python3-venv (the sam_clients test
# pip-installs the PyPI SAM clients i2plib and i2psam into a venv: Debian's python3 refuses
# system-wide pip installs), docker-compose (the packaging test validates compose.yaml with
# `docker-compose config`, which needs no daemon); for the Docker e2e debootstrap (it makes the
# base images: scripts/docker-bases.sh) and, only where no `docker` command exists, docker.io (a
# Docker engine installed otherwise is left alone; its daemon must run).
PACKAGES=(i2pd iproute2 util-linux procps curl python3 chromium bind9-dnsutils iptables python3-venv
    docker-compose)
if [ "$RUN_DOCKER" = 1 ] && [ "$RUN_E2E" = 1 ]; then
    PACKAGES+=(debootstrap)
    command -v docker >/dev/null 2>&1 || PACKAGES+=(docker.io)
fi
missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

# Installs missing packages without letting Debian's i2pd package start a system-wide i2pd that
# would join the real I2P network: service starts go through invoke-rc.d/deb-systemd-invoke, which
# obey /usr/sbin/policy-rc.d; while we install, that file exits 101 ("action forbidden"). A
# policy-rc.d that was already there is left alone if it already forbids starts, else restored
# afterwards. If we installed i2pd, its service is also disabled so it does not start at boot.
install_packages() {
    local missing; missing=$(missing_packages | tr '\n' ' ')
    if [ -z "${missing// /}" ]; then
        echo "all present: ${PACKAGES[*]}"
        return 0
    fi
    if [ "$INSTALL" = 0 ]; then
        echo "missing Debian packages: $missing(--no-install given; install them with: apt-get install -y $missing)" >&2
        return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages: $missing— run as root, or: sudo apt-get install -y $missing" >&2
        echo "(installing i2pd this way may start a system i2pd; scripts/test.sh as root prevents that)" >&2
        return 1
    fi
    local policy=/usr/sbin/policy-rc.d backup="" ours=0 verdict=none
    if [ -x "$policy" ]; then "$policy" i2pd start >/dev/null 2>&1; verdict=$?; fi
    if [ "$verdict" = 101 ]; then
        echo "$policy already forbids service starts"
    else
        if [ -e "$policy" ]; then backup=$(mktemp); cp -p "$policy" "$backup"; fi
        printf '#!/bin/sh\n# temporary, from scripts/test.sh: no service starts while installing\nexit 101\n' > "$policy"
        chmod 755 "$policy"; ours=1
        # put the previous state back even if the install is interrupted
        trap 'if [ -n "$backup" ]; then cp -p "$backup" "$policy"; else rm -f "$policy"; fi' EXIT INT TERM
    fi
    local had_i2pd=1
    dpkg-query -W -f='${Status}' i2pd 2>/dev/null | grep -q "install ok installed" || had_i2pd=0
    local rc=0
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } || rc=$?
    if [ "$ours" = 1 ]; then
        if [ -n "$backup" ]; then cp -p "$backup" "$policy"; rm -f "$backup"; else rm -f "$policy"; fi
        trap - EXIT INT TERM
    fi
    if [ "$had_i2pd" = 0 ] && dpkg-query -W -f='${Status}' i2pd 2>/dev/null | grep -q "install ok installed"; then
        if command -v systemctl >/dev/null 2>&1; then systemctl disable i2pd.service >/dev/null 2>&1 || true; fi
        if command -v update-rc.d >/dev/null 2>&1; then update-rc.d i2pd disable >/dev/null 2>&1 || true; fi
        echo "installed i2pd; its system service is disabled (the tests start their own routers)"
    fi
    # report (never kill) an i2pd running outside any namespace: it was not started by us
    local pid host_ns; host_ns=$(readlink /proc/1/ns/net)
    for pid in $(ps -e -o pid=,comm= | awk '$2=="i2pd"{print $1}'); do
        if [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$host_ns" ]; then
            echo "WARNING: an i2pd (pid $pid) runs in the host network namespace; scripts/test.sh did not start it" >&2
        fi
    done
    return $rc
}

# ------------------------------------------------------------------ steps
T_ALL=$SECONDS
if [ "$RUN_E2E" = 1 ]; then
    step "system packages" install_packages
else
    note "system packages" "skipped (--no-e2e)"
fi

step "cargo fmt --check" cargo fmt --all --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
    NEXTEST=1
else
    NEXTEST=0
    echo "cargo-nextest not found: using cargo test (install it with: cargo install cargo-nextest --locked)"
fi

# Everything except the e2e integration tests (the e2e crate's own unit tests run here).
if [ "$NEXTEST" = 1 ]; then
    step "unit tests" cargo nextest run --workspace --locked --profile "$PROFILE" \
        -E 'not (package(i2p-e2e) & kind(test))'
else
    step "unit tests" cargo test --workspace --locked --exclude i2p-e2e
    step "unit tests (e2e lib)" cargo test --locked -p i2p-e2e --lib
fi
step "doc tests" cargo test --workspace --locked --doc

# The e2e tests start our binary from next to the test executables (target/debug/i2p-router).
step "build i2p-router" cargo build --locked -p i2p-router --bin i2p-router

if [ "$RUN_E2E" = 1 ]; then
    if [ "$NEXTEST" = 1 ]; then
        step "e2e tests (real i2pd)" cargo nextest run --locked -p i2p-e2e --profile "$PROFILE" -E 'kind(test)'
    else
        step "e2e tests (real i2pd)" cargo test --locked -p i2p-e2e --tests -- --test-threads=2
    fi
    # a test killed by a timeout cannot clean up after itself; remove what it left (only state
    # whose recorded owner process is dead)
    if [ -x "$TARGET_DIR/debug/i2p-e2e-sweep" ]; then "$TARGET_DIR/debug/i2p-e2e-sweep"; fi
else
    note "e2e tests (real i2pd)" "SKIPPED (--no-e2e)"
fi

# ------------------------------------------------------------------ Docker e2e
if [ "$RUN_E2E" = 1 ] && [ "$RUN_DOCKER" = 1 ]; then
    step "docker e2e (compose)" bash e2e/docker/run.sh
else
    note "docker e2e (compose)" "SKIPPED (--no-e2e or --no-docker)"
fi

# ------------------------------------------------------------------ fuzz smoke runs
# Fuzz smoke runs of router/fuzz go here (to be added with the fuzz targets' task).

# ------------------------------------------------------------------ summary
echo
echo "==> summary (total $((SECONDS - T_ALL))s)"
for s in "${STEPS[@]}"; do echo "    $s"; done
if [ "$FAILED" = 0 ]; then
    echo "==> all steps ok"
    exit 0
fi
echo "==> some steps FAILED (scroll up; a failed e2e test keeps its run dir and prints its path)"
exit 1
