#!/usr/bin/env bash
# e2e/docker/run.sh — issue 9 acceptance 1 with the real Docker engine:
#
#   1. build the image from the repository's Dockerfile, with locally made base images
#      (scripts/docker-bases.sh; nothing can be pulled here) passed as build arguments;
#   2. `docker-compose up` the root compose.yaml plus e2e/compose.testnet.yaml: four i2pd
#      routers (progressive boot: router k starts knowing routers 1..k-1), then the webserver and
#      our router, which reseeds from a zip of the i2pd RouterInfos and publishes the webserver
#      with its `http` server tunnel;
#   3. the page is fetched over I2P through i2pd router 4's SOCKS proxy; the address is the one
#      the router logged, the one `i2p-router tunnels` lists and the one on its status page; the
#      container turns healthy (`i2p-router healthcheck`: /readyz);
#   4. `docker-compose down` (volumes kept) and `up` again: the same .b32.i2p, fetched again.
#
# Prints the image size and the idle memory of the router's container next to i2pd's.
# Isolation: every network of the compose project is `internal` (checked before any container
# starts), no port is published, netId 17, no reseed server. Only the containers, networks and
# volume of this run's compose project are removed at the end (`down -v`); the run dir
# ($TMPDIR/i2p-docker-e2e.*) is removed on success and kept on failure (I2P_E2E_KEEP=1 keeps it).
#
# Needs root, docker, docker-compose, python3 and what scripts/docker-bases.sh needs.
# Usage: e2e/docker/run.sh            (scripts/test.sh --docker runs it)
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/../.."
T_START=$SECONDS
log() { printf '[docker-e2e %4ss] %s\n' "$((SECONDS - T_START))" "$*"; }
FIGURES=()
figure() { FIGURES+=("$*"); log "FIGURE $*"; }

for tool in docker docker-compose python3; do
    command -v "$tool" >/dev/null || { echo "docker e2e: $tool not found (apt-get install -y docker.io docker-compose python3)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "docker e2e: needs root (docker, debootstrap)" >&2; exit 1; }

# ------------------------------------------------------------------ bases and image
t=$SECONDS
# (a failure inside $(...) would not stop `eval` under set -e)
BASES=$(scripts/docker-bases.sh) || { log "ERROR: scripts/docker-bases.sh failed"; exit 1; }
eval "$BASES"
figure "bases_ready_s $((SECONDS - t))"
IMAGE=${I2P_ROUTER_IMAGE:-i2p-router:e2e}
t=$SECONDS
log "docker build -t $IMAGE (BUILDER_IMAGE=$BUILDER_IMAGE RUNTIME_IMAGE=$RUNTIME_IMAGE)"
DOCKER_BUILDKIT=0 docker build -q \
    --build-arg "BUILDER_IMAGE=$BUILDER_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" \
    -t "$IMAGE" . >/dev/null
figure "image_build_s $((SECONDS - t))"
SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE")
RUNTIME_SIZE=$(docker image inspect -f '{{.Size}}' "$RUNTIME_IMAGE")
figure "image_size_bytes $SIZE (runtime base $RUNTIME_SIZE, so i2p-router and its files: $((SIZE - RUNTIME_SIZE)))"
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" = 65532:65532 ] || { echo "image user is not 65532:65532" >&2; exit 1; }

# ------------------------------------------------------------------ run dir and compose project
PROJECT=i2pdockere2e$$
E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/i2p-docker-e2e.XXXXXX")
export E2E_DIR TESTNET_IMAGE I2P_ROUTER_IMAGE=$IMAGE
DC=(docker-compose --ansi never -p "$PROJECT" -f compose.yaml -f e2e/compose.testnet.yaml)
OK=0
cleanup() {
    if [ "$OK" != 1 ]; then
        log "FAILED; diagnostics:"
        "${DC[@]}" ps 2>&1 || true
        "${DC[@]}" logs --no-color --tail 40 router web 2>&1 || true
        for i in 1 2 3 4; do echo "--- i2pd$i"; tail -n 15 "$E2E_DIR/r$i/i2pd.log" 2>/dev/null || true; done
    fi
    "${DC[@]}" down -v --remove-orphans -t 15 >/dev/null 2>&1 || true
    if [ "$OK" = 1 ] && [ -z "${I2P_E2E_KEEP:-}" ]; then rm -rf "$E2E_DIR"; else log "run dir kept: $E2E_DIR"; fi
}
trap cleanup EXIT
fail() { log "ERROR: $*"; exit 1; }

container() { "${DC[@]}" ps -q "$1"; }

TOKEN="i2p-docker-e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$E2E_DIR/www"
printf '<html><body><h1>%s</h1></body></html>\n' "$TOKEN" > "$E2E_DIR/www/index.html"
: > "$E2E_DIR/reseed.zip"   # filled once the i2pd routers have their RouterInfos

# i2pd router i (1-based): 198.18.77.1i, floodfill for i <= 3, everything else as in
# e2e/src/i2pd.rs (the i2pd 2.45.1 quirks are explained in e2e/README.md)
write_i2pd_conf() {
    local i=$1 ff=false d=$E2E_DIR/r$1
    [ "$i" -le 3 ] && ff=true
    mkdir -p "$d/netDb"
    : > "$d/hosts.txt"
    echo "# docker e2e testnet: no address book subscriptions" > "$d/subscriptions.txt"
    : > "$d/tunnels.conf"
    cat > "$d/i2pd.conf" <<EOF
# docker e2e: i2pd router $i of 4, floodfill=$ff, private netId 17
log = file
logfile = /r/i2pd.log
loglevel = info
tunconf = /r/tunnels.conf
tunnelsdir = /r/tunnels.d
certsdir = /usr/share/i2pd/certificates
pidfile = /r/i2pd.pid
daemon = false
service = false
netid = 17
ipv4 = true
ipv6 = false
host = 198.18.77.1$i
address4 = 198.18.77.1$i
port = 12345
nat = false
reservedrange = false
floodfill = $ff
bandwidth = X
share = 100
notransit = false

[ntcp2]
enabled = true
published = true
port = 12345

[ssu2]
enabled = true
published = true
port = 12345
mtu4 = 1500

[limits]
transittunnels = 2000

[exploratory]
inbound.length = 2
outbound.length = 2
inbound.quantity = 2
outbound.quantity = 2

[http]
enabled = true
address = 127.0.0.1
port = 7070
auth = false
strictheaders = false

[httpproxy]
enabled = true
address = 127.0.0.1
port = 4444
keys = transient-httpproxy
inbound.length = 2
outbound.length = 2
addresshelper = true
outproxy =

[socksproxy]
enabled = true
address = 127.0.0.1
port = 4447
keys = transient-socksproxy
inbound.length = 2
outbound.length = 2
outproxy.enabled = false

[sam]
enabled = false

[i2cp]
enabled = false

[bob]
enabled = false

[i2pcontrol]
enabled = false

[upnp]
enabled = false

[nettime]
enabled = false
frompeers = false
ntpservers =

[reseed]
verify = false
urls =
yggurls =
threshold = 25

[addressbook]
enabled = true
defaulturl = http://none.invalid/hosts.txt
subscriptions = http://none.invalid/hosts.txt

[meshnets]
yggdrasil = false

[persist]
profiles = false
addressbook = false

[trust]
enabled = false

[precomputation]
elgamal = false
EOF
}

# ri_tool install NETDB_DIR RI...  |  ri_tool zip OUT RI...  (I2P's netDb file names: the
# identity hash, SHA-256 of the RouterIdentity = 384 key bytes + certificate, in I2P base64)
ri_tool() {
    python3 - "$@" <<'EOF'
import base64, hashlib, os, sys, zipfile
def name(ri):
    cert_len = int.from_bytes(ri[385:387], "big")
    h = hashlib.sha256(ri[:387 + cert_len]).digest()
    b64 = base64.b64encode(h).decode().replace("+", "-").replace("/", "~")
    return b64, f"routerInfo-{b64}.dat"
cmd, dest, ris = sys.argv[1], sys.argv[2], sys.argv[3:]
if cmd == "install":
    for p in ris:
        ri = open(p, "rb").read()
        b64, fname = name(ri)
        d = os.path.join(dest, "r" + b64[0])
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, fname), "wb").write(ri)
else:
    with open(dest, "r+b") as f:            # same inode: it is bind-mounted already
        f.truncate(0)
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
            for p in ris:
                ri = open(p, "rb").read()
                z.writestr(name(ri)[1], ri)
EOF
}

wait_for() { # wait_for SECONDS WHAT CMD... : poll every 2 s
    local limit=$1 what=$2; shift 2
    local t0=$SECONDS
    until "$@"; do
        [ $((SECONDS - t0)) -lt "$limit" ] || fail "timeout after ${limit}s: $what"
        sleep 2
    done
    log "$what after $((SECONDS - t0))s"
}

for i in 1 2 3 4; do write_i2pd_conf "$i"; done

# ------------------------------------------------------------------ isolation, before any start
log "compose project $PROJECT, run dir $E2E_DIR"
"${DC[@]}" up --no-start >/dev/null 2>&1 || { "${DC[@]}" up --no-start; fail "compose up --no-start"; }
NETS=$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT")
[ "$(echo "$NETS" | wc -w)" = 2 ] || fail "expected 2 networks, got: $NETS"
for n in $NETS; do
    [ "$(docker network inspect -f '{{.Internal}}' "$n")" = true ] || fail "network $(docker network inspect -f '{{.Name}}' "$n") is not internal"
done
for c in $("${DC[@]}" ps -q); do
    pb=$(docker inspect -f '{{json .HostConfig.PortBindings}}' "$c")
    case "$pb" in '{}'|null) ;; *) fail "container $c publishes ports: $pb" ;; esac
    [ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$c")" != host ] || fail "host network"
done
log "isolation: both networks internal, no published ports"

# ------------------------------------------------------------------ i2pd routers, progressive
t=$SECONDS
for i in 1 2 3 4; do
    if [ "$i" -gt 1 ]; then
        ris=(); for j in $(seq 1 $((i - 1))); do ris+=("$E2E_DIR/r$j/router.info"); done
        ri_tool install "$E2E_DIR/r$i/netDb" "${ris[@]}"
    fi
    "${DC[@]}" start "i2pd$i" >/dev/null 2>&1
    wait_for 60 "i2pd$i transports started" \
        grep -q "Transports started" "$E2E_DIR/r$i/i2pd.log"
    wait_for 20 "i2pd$i router.info" test -s "$E2E_DIR/r$i/router.info"
    sleep 2
done
ri_tool zip "$E2E_DIR/reseed.zip" "$E2E_DIR"/r{1,2,3,4}/router.info
figure "i2pd_net_started_s $((SECONDS - t))"

# ------------------------------------------------------------------ the root compose.yaml's services
router_b32_logged() {
    "${DC[@]}" logs --no-color router 2>/dev/null \
        | grep -o 'server tunnel published at [a-z2-7]*\.b32\.i2p' | tail -1 | awk '{print $NF}'
}
fetch_via_socks() { # prints the page; i2pd router 4's SOCKS proxy, inside its container
    docker exec "$(container i2pd4)" curl -sS --max-time 60 \
        --socks5-hostname 127.0.0.1:4447 "http://$1/" 2>/dev/null
}
bring_up_router() { # start web and router; sets B32, waits for the page over I2P
    local t0=$SECONDS
    "${DC[@]}" start web router >/dev/null 2>&1
    sleep 2
    [ "$(docker inspect -f '{{.State.Running}}' "$(container web)")" = true ] \
        || fail "the webserver is not running: $(docker logs --tail 5 "$(container web)" 2>&1)"
    wait_for 120 "router logged its server tunnel" test -n "$(router_b32_logged)"
    B32=$(router_b32_logged)
    log "router: server tunnel published at $B32"
    local listed
    listed=$(docker exec "$(container router)" /usr/local/bin/i2p-router \
        --data-dir /data --config /etc/i2p-router/config.yaml tunnels)
    echo "$listed" | grep -q "^website	http	-> web:80	$B32\$" \
        || fail "i2p-router tunnels does not list $B32: $listed"
    wait_for 300 "page fetched over I2P via i2pd4's SOCKS proxy" \
        sh -c "docker exec $(container i2pd4) curl -sS --max-time 60 --socks5-hostname 127.0.0.1:4447 http://$B32/ 2>/dev/null | grep -q $TOKEN"
    figure "$1_page_over_i2p_s $((SECONDS - t0))"
}
health() { docker inspect -f '{{.State.Health.Status}}' "$(container router)"; }

bring_up_router first
page=$(fetch_via_socks "$B32")
echo "$page" | grep -q "$TOKEN" || fail "page: $page"
wait_for 300 "router container healthy (i2p-router healthcheck: /readyz)" \
    sh -c "[ \"\$(docker inspect -f '{{.State.Health.Status}}' $(container router))\" = healthy ]"
docker exec "$(container i2pd4)" curl -sS --max-time 10 http://198.18.77.20:7070/ | grep -q "$B32" \
    || fail "the status page does not show $B32"
docker exec "$(container i2pd4)" curl -sS --max-time 10 http://198.18.77.20:7070/metrics | grep -q '^i2p_' \
    || fail "no i2p_ metric on /metrics"
log "status page lists $B32; /metrics answers"
# read-only root filesystem, no capabilities, uid 65532
[ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$(container router)")" = true ] || fail "root fs not read-only"
R_UID=$(docker top "$(container router)" -o pid,uid,comm | awk 'NR > 1 && $3 == "i2p-router" {print $2}')
[ "$R_UID" = 65532 ] || fail "i2p-router runs as uid '$R_UID', not 65532"

# idle memory after a quiet minute
log "idle for 60 s before reading memory"
sleep 60
docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' $("${DC[@]}" ps -q) | sort | sed 's/^/    /'
rss_kb() { docker top "$1" -o pid,rss | awk 'NR > 1 {s += $2} END {print s}'; }
R_RSS=$(rss_kb "$(container router)")
I_RSS=""; for i in 1 2 3 4; do I_RSS="$I_RSS $(rss_kb "$(container "i2pd$i")")"; done
figure "router_rss_kb $R_RSS (i2pd routers:$I_RSS)"

# ------------------------------------------------------------------ down + up keeps the address
FIRST=$B32
log "docker-compose down (volumes kept), then up"
"${DC[@]}" down -t 15 >/dev/null 2>&1
docker volume inspect "${PROJECT}_data" >/dev/null || fail "volume ${PROJECT}_data is gone after down"
"${DC[@]}" up --no-start >/dev/null 2>&1
for n in $(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"); do
    [ "$(docker network inspect -f '{{.Internal}}' "$n")" = true ] || fail "network not internal after up"
done
for i in 1 2 3 4; do "${DC[@]}" start "i2pd$i" >/dev/null 2>&1; sleep 2; done
bring_up_router second
[ "$B32" = "$FIRST" ] || fail "address changed across down/up: $FIRST -> $B32"
log "same address after down/up: $B32"

OK=1
log "PASSED in $((SECONDS - T_START)) s"
for f in "${FIGURES[@]}"; do echo "    $f"; done
