# The i2p-router container image: a Rust build stage, then a small runtime without a shell
# (distroless "cc": glibc, libgcc, CA certificates, a non-root user).
#
#   docker build -t i2p-router .
#   docker run -d --name i2p-router -v i2p-data:/data i2p-router
#
# Ports (EXPOSE below; all set in the config file, packaging/config.container.yaml):
#   12345/tcp  NTCP2, router-to-router (publish it and set ntcp2.host to reach the network well)
#   4444/tcp   HTTP proxy            4447/tcp   SOCKS4a/5 proxy
#   7656/tcp   SAMv3 bridge          7655/udp   SAM datagrams
#   5353/udp+tcp DNS for .i2p names  7070/tcp   /healthz /readyz /metrics and the status page
# Volume: /data (router keys, netDb, address book, tunnel keys in /data/tunnel-keys/, extra
# tunnels in /data/tunnels.d/). Config: /etc/i2p-router/config.yaml (mount your own over it).
# The process runs as uid/gid 65532 ("nonroot" in distroless); a volume mounted on /data must be
# writable by it (a new named volume is: it starts as a copy of the image's /data).
#
# The base images are build arguments so that a machine without a registry can pass locally
# made ones (scripts/docker-bases.sh does that for the Docker e2e); nothing else changes:
#   docker build --build-arg BUILDER_IMAGE=... --build-arg RUNTIME_IMAGE=... .
# RUNTIME_IMAGE must provide glibc and libgcc_s (any Debian 12 based image does).
ARG BUILDER_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12

FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY . .
# release build without debug info, symbols stripped (Cargo.toml keeps line tables for profiling)
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_TARGET_DIR=/target
# ends by loading the shipped config (a bad key fails the build with its line)
RUN cargo build --release --locked -p i2p-router --bin i2p-router \
 && install -D -m 0755 /target/release/i2p-router /out/usr/local/bin/i2p-router \
 && install -D -m 0644 packaging/config.container.yaml /out/etc/i2p-router/config.yaml \
 && install -d -m 0700 -o 65532 -g 65532 /out/data \
 && /out/usr/local/bin/i2p-router tunnels --data-dir /tmp/config-check \
      --config /out/etc/i2p-router/config.yaml

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/usr/local/bin/i2p-router /usr/local/bin/i2p-router
COPY --from=build /out/etc/i2p-router/ /etc/i2p-router/
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME ["/data"]
EXPOSE 12345/tcp 4444/tcp 4447/tcp 7656/tcp 7655/udp 5353/udp 5353/tcp 7070/tcp
# healthy = /readyz answers 200 (exploratory and client tunnels built); bootstrapping on the
# real network can take minutes, hence the long start period
HEALTHCHECK --interval=30s --timeout=5s --start-period=5m --retries=3 \
    CMD ["/usr/local/bin/i2p-router", "healthcheck"]
# --data-dir and --config are global options, so subcommands work too:
#   docker run --rm -v i2p-data:/data IMAGE tunnels
ENTRYPOINT ["/usr/local/bin/i2p-router", "--data-dir", "/data", "--config", "/etc/i2p-router/config.yaml"]
CMD []
