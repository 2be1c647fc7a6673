#!/usr/bin/env bash
# scripts/docker-bases.sh — makes the base images the Docker e2e needs on a machine that cannot
# pull from any registry. Idempotent: an image whose recipe label matches this script is kept,
# so only the first run is slow (a few minutes: debootstrap, apt-get inside `docker build`, and
# copying the host's Rust toolchain).
#
#   scripts/docker-bases.sh          make what is missing, print the four tags
#   scripts/docker-bases.sh --force  make all four again
#
# Images (all Debian 12 "bookworm"; the tags are printed as NAME=TAG lines at the end):
#   DEBIAN_IMAGE   i2p-rs-local/debian:bookworm      debootstrap --variant=minbase, docker import
#   BUILDER_IMAGE  i2p-rs-local/rust:bookworm        that + gcc, libc6-dev, pkg-config and the
#                  host's Rust toolchain (`rustc --print sysroot`: bin/cargo, bin/rustc, lib/),
#                  laid out like the official rust image (CARGO_HOME=/usr/local/cargo on PATH);
#                  it also trusts the host's local CAs (/usr/local/share/ca-certificates), as
#                  the host does, so that cargo reaches crates.io through this network
#   RUNTIME_IMAGE  i2p-rs-local/distroless-cc:bookworm  a stand-in for
#                  gcr.io/distroless/cc-debian12: only the files of libc6, libgcc-s1 and netbase,
#                  the host's CA bundle, /etc/passwd with root and nonroot (65532), /tmp; no shell
#   TESTNET_IMAGE  i2p-rs-local/testnet:bookworm     DEBIAN_IMAGE + i2pd, curl, python3 (the
#                  e2e's i2pd routers, its webserver and its client)
#
# Needs root, debootstrap, apt-get (the host must be Debian 12: the runtime's packages come from
# its apt sources), docker, and a Rust toolchain of the workspace's rust-version on the host.
# Network: deb.debian.org (debootstrap, apt-get), nothing else. Installing i2pd inside the build
# never starts it: /usr/sbin/policy-rc.d forbids service starts first.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
FORCE=0
[ "${1:-}" = --force ] && FORCE=1
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
DEBIAN_IMAGE=i2p-rs-local/debian:bookworm
BUILDER_IMAGE=i2p-rs-local/rust:bookworm
RUNTIME_IMAGE=i2p-rs-local/distroless-cc:bookworm
TESTNET_IMAGE=i2p-rs-local/testnet:bookworm
# a change to this file makes every image again
RECIPE=$(sha256sum "$0" | cut -c1-16)

log() { printf 'docker-bases: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, docker)"
for tool in docker debootstrap apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y debootstrap docker.io)"
done
docker info >/dev/null 2>&1 || die "the docker daemon does not answer"

# up to date: the image exists and carries this recipe
fresh() {
    [ "$FORCE" = 0 ] || return 1
    [ "$(docker image inspect -f '{{ index .Config.Labels "i2p-rs.recipe" }}' "$1" 2>/dev/null)" = "$RECIPE" ]
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/docker-bases.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ debian (debootstrap)
if fresh "$DEBIAN_IMAGE"; then
    log "$DEBIAN_IMAGE is up to date"
else
    log "debootstrap $SUITE (minbase) from $MIRROR"
    t0=$SECONDS
    debootstrap --variant=minbase "$SUITE" "$WORK/rootfs" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
    tar -C "$WORK/rootfs" -c . | docker import \
        --change "LABEL i2p-rs.recipe=$RECIPE" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$WORK/rootfs"
    log "made $DEBIAN_IMAGE in $((SECONDS - t0)) s"
fi

# ------------------------------------------------------------------ rust builder
if fresh "$BUILDER_IMAGE"; then
    log "$BUILDER_IMAGE is up to date"
else
    t0=$SECONDS
    SYSROOT=$(rustc --print sysroot)
    want=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
    have=$("$SYSROOT/bin/rustc" --version | awk '{print $2}')
    case "$have" in "$want"|"$want".*) ;; *) die "host rustc is $have, the workspace wants $want" ;; esac
    log "builder: Rust $have from $SYSROOT"
    mkdir -p "$WORK/builder"
    cat > "$WORK/builder/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      gcc libc6-dev pkg-config ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
# the host's own trusted CAs (a TLS-inspecting egress proxy's, for instance): the build stage
# fetches crates from crates.io over HTTPS through the same network as the host
COPY local-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY toolchain/ /usr/local/rust/
ENV CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin \\
 && ln -s /usr/local/rust/bin/cargo /usr/local/rust/bin/rustc /usr/local/cargo/bin/ \\
 && cargo --version && rustc --version
LABEL i2p-rs.recipe=$RECIPE
EOF
    # the context is streamed: the Dockerfile plus bin/cargo, bin/rustc and lib/ of the sysroot
    # (no docs, no clippy/rustfmt), about 600 MB
    mkdir -p "$WORK/builder/local-ca"
    if [ -d /usr/local/share/ca-certificates ]; then
        find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$WORK/builder/local-ca/" \;
    fi
    tar -c --transform 's,^\(bin\|lib\),toolchain/\1,' \
        --exclude='lib/rustlib/src' --exclude='lib/rustlib/rust-analyzer*' \
        -C "$WORK/builder" Dockerfile local-ca -C "$SYSROOT" bin/cargo bin/rustc lib \
        | docker build -t "$BUILDER_IMAGE" - > "$WORK/builder.log" 2>&1 \
        || { tail -30 "$WORK/builder.log" >&2; die "building $BUILDER_IMAGE failed"; }
    log "made $BUILDER_IMAGE in $((SECONDS - t0)) s"
fi

# ------------------------------------------------------------------ distroless-like runtime
if fresh "$RUNTIME_IMAGE"; then
    log "$RUNTIME_IMAGE is up to date"
else
    t0=$SECONDS
    mkdir -p "$WORK/debs" "$WORK/runtime"
    (cd "$WORK/debs" && apt-get download libc6 libgcc-s1 netbase >/dev/null 2>&1) \
        || die "apt-get download libc6 libgcc-s1 netbase failed (run apt-get update first)"
    for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$WORK/runtime"; done
    R=$WORK/runtime
    # what the image does not need: docs, locales, man pages, the dynamic linker's helpers
    rm -rf "$R"/usr/share/doc "$R"/usr/share/lintian "$R"/usr/share/man "$R"/usr/share/locale \
        "$R"/usr/share/i18n "$R"/usr/bin "$R"/usr/sbin "$R"/sbin "$R"/bin
    # bookworm's libc6 is "usr-merged" only through the base-files symlinks; make them
    for d in lib lib64; do
        if [ -d "$R/$d" ] && [ ! -L "$R/$d" ]; then cp -a "$R/$d/." "$R/usr/$d/" && rm -rf "${R:?}/$d"; fi
        [ -e "$R/$d" ] || ln -s "usr/$d" "$R/$d"
    done
    mkdir -p "$R/etc/ssl/certs" "$R/home/nonroot" "$R/root"
    install -d -m 1777 "$R/tmp"
    chown 65532:65532 "$R/home/nonroot"
    chmod 700 "$R/root"
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/"
    fi
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$R/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$R/etc/group"
    printf 'NAME="i2p-rs local stand-in for distroless cc (Debian 12 libc6, libgcc-s1)"\n' > "$R/etc/os-release"
    tar -C "$R" -c . | docker import \
        --change "LABEL i2p-rs.recipe=$RECIPE" \
        --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        - "$RUNTIME_IMAGE" >/dev/null
    log "made $RUNTIME_IMAGE in $((SECONDS - t0)) s"
fi

# ------------------------------------------------------------------ testnet tools (i2pd)
if fresh "$TESTNET_IMAGE"; then
    log "$TESTNET_IMAGE is up to date"
else
    t0=$SECONDS
    mkdir -p "$WORK/testnet"
    cat > "$WORK/testnet/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
# no service may start while packages install (i2pd's postinst would start a router)
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \\
 && apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      i2pd curl python3 ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && i2pd --version | head -1
LABEL i2p-rs.recipe=$RECIPE
CMD ["/bin/bash"]
EOF
    docker build -t "$TESTNET_IMAGE" "$WORK/testnet" > "$WORK/testnet.log" 2>&1 \
        || { tail -30 "$WORK/testnet.log" >&2; die "building $TESTNET_IMAGE failed"; }
    log "made $TESTNET_IMAGE in $((SECONDS - t0)) s"
fi

echo "DEBIAN_IMAGE=$DEBIAN_IMAGE"
echo "BUILDER_IMAGE=$BUILDER_IMAGE"
echo "RUNTIME_IMAGE=$RUNTIME_IMAGE"
echo "TESTNET_IMAGE=$TESTNET_IMAGE"
