//! The running router: wires the transport manager, the netDb manager and the dispatcher that
//! routes inbound I2NP between them, keeps our RouterInfo fresh, logs status, and stops
//! cleanly on SIGINT/SIGTERM (the netDb is flushed to disk).
//!
//! Shape (ARCHITECTURE.md, "The running router"): every manager is a task behind a cloneable
//! handle; they talk through bounded channels and never wait on each other while holding
//! state. The transport needs the netDb (RouterInfos to dial) and the netDb needs the transport
//! (to send); the cycle is broken by [`LateTransport`], set once both are running.

use std::num::NonZeroU16;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use i2p_transport::manager::{self, RouterLookup, TransportConfig, TransportEvent};
use i2p_transport::{TransportEnv, TransportHandle};
use std::collections::HashMap;

use i2p_wire::{Hash, I2npBody, I2npMessage, RouterInfo, TunnelId};

use crate::client::{ClientSettings, DestEvent, HubCmd, RouterClient};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::config::{Config, PortSetting};
use crate::identity::{self, Ntcp2Keys, RouterKeys};
use crate::keyfile::DataDir;
use crate::netdb::{self, NetDbHandle, NetDbSettings, Outbound};
use crate::router_info;
use crate::transit::{Outbox, Transit};
use i2p_netdb::router_garlic::{Delivery, open_reply};
use i2p_tunnel::pool::{Candidate, Out, PoolConfig, PoolShape, TunnelPool};

/// How often our RouterInfo is re-signed with a fresh date and published again.
pub const REPUBLISH_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// Most transit tunnels we carry at once (i2pd's default limit is 5000).
pub const MAX_TRANSIT_TUNNELS: usize = 5000;
/// How often the tunnel peer profiles are saved (also at shutdown).
pub const PROFILE_SAVE_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// Tunnel build results per peer, kept across restarts (`i2p_tunnel::pool::write_profiles`).
pub const PROFILES_FILE: &str = "tunnel-profiles.txt";
/// How often a status line is logged.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the netDb")]
    NetDb(#[source] std::io::Error),
    #[error("reseed configuration")]
    Reseed(#[source] crate::reseed::ReseedError),
    #[error(transparent)]
    RouterInfo(#[from] router_info::RouterInfoError),
    #[error(transparent)]
    Key(#[from] crate::identity::KeyError),
    #[error(transparent)]
    File(#[from] crate::keyfile::FileError),
    #[error("{0}")]
    Frontend(String),
}

/// The netDb's outbound path, bound to the transport once it runs; messages for other
/// managers go back into the dispatcher's event channel.
struct LateTransport {
    transport: OnceLock<TransportHandle>,
    local: mpsc::Sender<TransportEvent>,
}

impl Outbound for LateTransport {
    fn send(&self, to: Hash, msg: I2npMessage) {
        match self.transport.get() {
            Some(t) => t.send(to, msg),
            None => debug!("netDb message before the transport started, dropped"),
        }
    }

    fn deliver(&self, from: Hash, msg: I2npMessage) {
        if self
            .local
            .try_send(TransportEvent::Message { from, msg })
            .is_err()
        {
            debug!("dispatcher queue full, a message from a garlic clove was dropped");
        }
    }
}

/// A router's long-term keys and NTCP2 port.
pub struct Identity {
    pub keys: RouterKeys,
    pub ntcp2: Ntcp2Keys,
    pub port: NonZeroU16,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("hash", &self.keys.hash_base64())
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// What a router runs on besides its configuration. [`run`] uses real TCP, the system clock,
/// the data dir and the process (signals, front-ends); the in-process simulation runs many
/// routers on an in-memory network and a virtual clock, with nothing on disk.
#[derive(Debug)]
pub struct Env<'a> {
    pub transport: TransportEnv,
    /// Keys live elsewhere ([`Identity`]); this is where `router.info`, the netDb, the tunnel
    /// peer profiles and the address book are kept. `None`: nothing is read or written (no
    /// address book, so only `.b32.i2p` names resolve).
    pub data_dir: Option<&'a DataDir>,
    /// Start the front-ends (proxies, SAM, DNS, tunnels, the ops listener and SIGHUP reload).
    /// Needs `data_dir`.
    pub frontends: bool,
}

/// Handles to a running router, for in-process users (the simulation, tests).
#[derive(Clone, Debug)]
pub struct RouterHandles {
    pub hash: Hash,
    pub netdb: NetDbHandle,
    pub transport: TransportHandle,
    pub client: RouterClient,
    pub ops: Arc<crate::ops::Ops>,
}

fn build_router_info(
    config: &Config,
    id: &Identity,
    clock: &netdb::Clock,
) -> Result<(Vec<u8>, RouterInfo), RunError> {
    let now_ms = clock().as_millis();
    let bytes = router_info::build(config, &id.keys, &id.ntcp2, id.port, now_ms)?;
    let ri = RouterInfo::parse(&bytes)
        .and_then(|u| u.verify(i2p_wire::Date::from_millis(now_ms)))
        .map_err(router_info::RouterInfoError::Verify)?;
    Ok((bytes, ri))
}

fn load_identity(dir: &DataDir, config: &Config) -> Result<Identity, RunError> {
    let keys = identity::load_or_create_router_keys(dir)?;
    let ntcp2 = identity::load_or_create_ntcp2_keys(dir)?;
    let port = match config.ntcp2.port {
        PortSetting::Fixed(p) => p,
        PortSetting::Auto => dir.ntcp2_port()?,
    };
    Ok(Identity { keys, ntcp2, port })
}

/// `i2p-router router-info`: write `router.info` (creating the identity if missing) and return.
pub fn write_router_info(data_dir: &Path, config: &Config) -> Result<(), RunError> {
    let dir = DataDir::open(data_dir)?;
    let id = load_identity(&dir, config)?;
    let (bytes, _) = build_router_info(config, &id, &netdb::system_clock())?;
    let path = dir.file(router_info::ROUTER_INFO_FILE);
    crate::keyfile::write_replace(&path, &bytes, crate::keyfile::PUBLIC_MODE)?;
    info!(
        file = %path.display(),
        bytes = bytes.len(),
        router_hash = %id.keys.hash_base64(),
        net_id = config.network.net_id.get(),
        "wrote our RouterInfo"
    );
    Ok(())
}

/// Run the router until SIGINT/SIGTERM.
/// `config_path` is the file SIGHUP re-reads tunnels from (`None`: built-in defaults).
pub fn run(data_dir: &Path, config: &Config, config_path: Option<&Path>) -> Result<(), RunError> {
    let dir = DataDir::open(data_dir)?;
    let id = load_identity(&dir, config)?;
    info!(router_hash = %id.keys.hash_base64(), "router identity loaded");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let env = Env {
        transport: TransportEnv::system(),
        data_dir: Some(&dir),
        frontends: true,
    };
    rt.block_on(run_router(
        config,
        id,
        env,
        config_path,
        shutdown_signal(),
        None,
    ))
}

/// Run a router on `env` until `shutdown` resolves; `started` gets its handles once the
/// transport, the netDb and the client API are up.
pub async fn run_router(
    config: &Config,
    id: Identity,
    env: Env<'_>,
    config_path: Option<&Path>,
    shutdown: impl std::future::Future<Output = ()>,
    started: Option<tokio::sync::oneshot::Sender<RouterHandles>>,
) -> Result<(), RunError> {
    let clock = env.transport.clock.clone();
    let dir = env.data_dir;
    let (ri_bytes, ri) = build_router_info(config, &id, &clock)?;
    let ri_path = dir.map(|d| d.file(router_info::ROUTER_INFO_FILE));
    if let Some(p) = &ri_path {
        crate::keyfile::write_replace(p, &ri_bytes, crate::keyfile::PUBLIC_MODE)?;
    }
    let net_id = config.network.net_id.get();
    info!(
        net_id,
        caps = %router_info::caps(config),
        floodfill = config.router.floodfill,
        "starting the router"
    );

    // netDb first (its outbound is bound to the transport below)
    let (events_tx, mut events) = mpsc::channel(4096);
    let late = Arc::new(LateTransport {
        transport: OnceLock::new(),
        local: events_tx.clone(),
    });
    let settings = NetDbSettings::from_config(
        config,
        ri.clone(),
        Some(id.keys.encryption_secret().clone()),
        dir.map(|d| d.path().to_path_buf()),
    )
    .map_err(RunError::Reseed)?;
    let (netdb, netdb_task) =
        netdb::spawn(settings, late.clone(), clock.clone()).map_err(RunError::NetDb)?;

    // then the transport, which dials with RouterInfos from the netDb
    let lookup_db = netdb.clone();
    let lookup: RouterLookup = Arc::new(move |h: Hash| {
        let db = lookup_db.clone();
        Box::pin(async move { db.lookup_router(h).await.map(|e| e.info().clone()) })
    });
    let listen = match (config.ntcp2.enabled, config.ntcp2.listen_ip()) {
        (true, Some(ip)) => Some(std::net::SocketAddr::new(ip, id.port.get())),
        _ => None,
    };
    let tconfig = TransportConfig {
        net_id,
        listen,
        bind_outbound: config.ntcp2.listen_ip().filter(|ip| !ip.is_unspecified()),
        local_hash: id.keys.hash(),
        ntcp2_static: id.ntcp2.static_secret().clone(),
        ntcp2_iv: *id.ntcp2.iv(),
        router_info: ri_bytes.clone().into(),
        max_sessions: 1000,
        max_handshakes_per_ip: 8,
        handshake_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(5 * 60),
        // test networks live on reserved ranges; the real network never uses them
        allow_reserved: net_id != 2,
    };
    let (transport, _transport_task) =
        manager::spawn_with(tconfig, env.transport.clone(), lookup, events_tx)
            .await
            .map_err(|source| RunError::Listen {
                addr: listen.unwrap_or_else(|| ([0, 0, 0, 0], 0).into()),
                source,
            })?;
    let _ = late.transport.set(transport.clone());
    if listen.is_none() {
        info!("NTCP2 is outbound only (no ntcp2.host/ntcp2.bind configured)");
    }

    // the client API: destinations talk to the dispatcher, which owns their tunnel pools
    let frontends = match dir {
        Some(d) if env.frontends => Some(d),
        _ => None,
    };
    let naming = match dir {
        Some(d) => Some(crate::naming::Naming::open(d.path(), config).map_err(RunError::Frontend)?),
        None => None,
    };
    let ops = crate::ops::Ops::new(id.keys.hash_base64());
    if config.ops.enabled && frontends.is_some() {
        let addr = std::net::SocketAddr::new(config.ops.host, config.ops.port.get());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| RunError::Listen { addr, source })?;
        tokio::spawn(crate::ops::serve(ops.clone(), listener));
    }
    let (hub_tx, mut hub_rx) = mpsc::channel::<HubCmd>(crate::client::DEST_CHANNEL);
    let open_streams = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let client = RouterClient::new(
        hub_tx,
        netdb.clone(),
        ClientSettings {
            distinct_subnets: config.router.distinct_subnets,
            naming: naming.clone(),
            open_streams: open_streams.clone(),
            clock: clock.clone(),
        },
    );
    if let Some(tx) = started {
        let _ = tx.send(RouterHandles {
            hash: id.keys.hash(),
            netdb: netdb.clone(),
            transport: transport.clone(),
            client: client.clone(),
            ops: ops.clone(),
        });
    }
    // polled by the loop below: creating destinations goes through the dispatcher
    let frontends_start = async {
        match (frontends, &naming) {
            (Some(d), Some(n)) => {
                crate::frontends::start(config, &client, n, &ops, d.path(), config_path).await
            }
            _ => std::future::pending().await,
        }
    };
    tokio::pin!(frontends_start);
    let mut frontends_started = false;

    let mut republish = tokio::time::interval(REPUBLISH_INTERVAL);
    republish.tick().await;
    let mut status = tokio::time::interval(STATUS_INTERVAL);
    status.tick().await;
    let mut dispatch = Dispatcher {
        us: id.keys.hash(),
        unhandled: 0,
        transit: Transit::new(
            id.keys.hash(),
            id.keys.encryption_secret().clone(),
            MAX_TRANSIT_TUNNELS,
        ),
        pool: TunnelPool::new("exploratory", id.keys.hash(), pool_config(config)),
        candidates: Vec::new(),
        candidates_at: None,
        clients: HashMap::new(),
        open_streams,
        clock: clock.clone(),
    };
    let profiles_path = dir.map(|d| d.file(PROFILES_FILE));
    if let Some(p) = &profiles_path {
        load_profiles(p, &mut dispatch.pool);
    }
    let mut profile_save = tokio::time::interval(PROFILE_SAVE_INTERVAL);
    profile_save.tick().await;
    let mut pool_tick = tokio::time::interval(Duration::from_secs(1));
    pool_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            r = &mut frontends_start, if !frontends_started => {
                frontends_started = true;
                let f = r?;
                info!(sam = ?f.sam, http_proxy = ?f.http_proxy, socks_proxy = ?f.socks_proxy, dns = ?f.dns, "front-ends started");
            }
            ev = events.recv() => match ev {
                Some(ev) => dispatch.event(ev, &netdb, &transport),
                None => break,
            },
            cmd = hub_rx.recv() => {
                if let Some(cmd) = cmd {
                    dispatch.hub(cmd, &transport);
                }
            }
            _ = pool_tick.tick() => {
                dispatch.tick(&netdb, &transport).await;
                ops.update(
                    dispatch.snapshot(&netdb, &transport),
                    naming.as_ref().map_or(0, |n| n.len()),
                );
            }
            _ = profile_save.tick() => {
                if let Some(p) = &profiles_path {
                    save_profiles(p, &dispatch.pool);
                }
            }
            _ = republish.tick() => {
                match build_router_info(config, &id, &clock) {
                    Ok((bytes, ri)) => {
                        if let Some(p) = &ri_path {
                            let _ = crate::keyfile::write_replace(
                                p, &bytes, crate::keyfile::PUBLIC_MODE);
                        }
                        transport.set_router_info(bytes.into()).await;
                        netdb.set_own_router_info(ri).await;
                        debug!("RouterInfo re-signed and republished");
                    }
                    Err(e) => warn!(error = %e, "cannot rebuild our RouterInfo"),
                }
            }
            _ = status.tick() => {
                let c = netdb.counts();
                let n = netdb.stats().await;
                let st = transport.stats();
                use std::sync::atomic::Ordering::Relaxed;
                let now_ms = clock().as_millis();
                let (live_in, live_out) = dispatch.pool.live(now_ms);
                let ps = *dispatch.pool.stats();
                let (ended, rate) = ps.success_rate();
                info!(
                    peers = st.sessions.load(Relaxed),
                    routers = c.routers,
                    floodfills = c.floodfills,
                    lease_sets = c.lease_sets,
                    in_bytes = st.counters.bytes_in.load(Relaxed),
                    out_bytes = st.counters.bytes_out.load(Relaxed),
                    stores_accepted = n.stores_accepted,
                    floods_sent = n.floods_sent,
                    lookups_answered = n.lookups_answered,
                    lookups_found = n.lookups_found,
                    lookups_failed = n.lookups_failed,
                    transit_live = dispatch.transit.stats().live,
                    transit_accepted = dispatch.transit.stats().accepted,
                    transit_rejected = dispatch.transit.stats().rejected,
                    transit_forwarded = dispatch.transit.stats().data_forwarded,
                    tunnels_in = live_in,
                    tunnels_out = live_out,
                    builds_ok = ps.built(),
                    builds_ended = ended,
                    build_success = format_args!("{:.0}%", rate * 100.0),
                    tests_passed = ps.tests_passed,
                    tests_failed = ps.tests_failed,
                    destinations = dispatch.clients.len(),
                    unhandled = dispatch.unhandled,
                    "status"
                );
            }
            () = &mut shutdown => {
                info!("shutting down");
                break;
            }
        }
    }
    if let Some(p) = &profiles_path {
        save_profiles(p, &dispatch.pool);
    }
    drop(netdb);
    // the netDb task flushes pending writes when the last handle is gone; the transport's
    // lookup closure holds one, so stop waiting after a few seconds
    let _ = tokio::time::timeout(Duration::from_secs(5), netdb_task).await;
    info!("stopped");
    Ok(())
}

/// How a message reached the dispatcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// straight from a connected router
    Peer,
    /// out of one of our inbound tunnels or a garlic clove addressed to us
    OurTunnel,
    /// delivered to our own router by our outbound-endpoint role (i2pd's tunnels may end at us
    /// and address a message to us, e.g. a netDb store to our floodfill)
    Loopback,
    /// out of an inbound tunnel of local destination `id`
    Client(u32),
}

/// Nesting limit for messages that come out of other messages.
const MAX_DISPATCH_DEPTH: u8 = 4;

/// The transit outbox of the dispatcher: messages for our own router come back to the
/// dispatcher instead of going to the transport (which would drop them).
struct LoopbackOutbox<'t> {
    transport: &'t TransportHandle,
    us: Hash,
    local: Vec<I2npMessage>,
}

impl Outbox for LoopbackOutbox<'_> {
    fn send(&mut self, to: Hash, msg: I2npMessage) {
        if to == self.us {
            self.local.push(msg);
        } else {
            self.transport.send(to, msg);
        }
    }
}

/// Routes inbound transport events to the managers that own them.
struct Dispatcher {
    /// our router hash
    us: Hash,
    /// messages no manager handles yet
    unhandled: u64,
    transit: Transit,
    /// the exploratory pool: our own tunnels
    pool: TunnelPool,
    /// routers our tunnels may use, refreshed from the netDb
    candidates: Vec<Candidate>,
    candidates_at: Option<tokio::time::Instant>,
    /// tunnel pools of local destinations, by destination id
    clients: HashMap<u32, ClientPool>,
    /// open streams of all local destinations (kept by the destinations' tasks)
    open_streams: Arc<std::sync::atomic::AtomicI64>,
    clock: netdb::Clock,
}

/// The tunnel pool of one local destination and the way to its task.
struct ClientPool {
    pool: TunnelPool,
    events: mpsc::Sender<DestEvent>,
    /// inbound gateways and outbound count last told to the destination
    told: (Vec<(Hash, TunnelId)>, usize),
    dropped: u64,
}

impl ClientPool {
    fn deliver(&mut self, msg: I2npMessage) {
        if self.events.try_send(DestEvent::Message(msg)).is_err() {
            self.dropped += 1;
            debug!("destination queue full, a message was dropped");
        }
    }
}

/// Which pool something belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolId {
    Exploratory,
    Client(u32),
}

/// How often the list of tunnel candidates is taken from the netDb again.
const CANDIDATES_REFRESH: Duration = Duration::from_secs(30);

fn send_all(transport: &TransportHandle, out: Vec<Out>) {
    for o in out {
        transport.send(o.to, o.message);
    }
}

impl Dispatcher {
    /// The figures the operator endpoints show (cheap: counters and atomics only).
    fn snapshot(&self, netdb: &NetDbHandle, transport: &TransportHandle) -> crate::ops::Snapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let c = netdb.counts();
        let st = transport.stats();
        let (live_in, live_out) = self.pool.live((self.clock)().as_millis());
        let ps = self.pool.stats();
        let ts = self.transit.stats();
        let mut cs = i2p_tunnel::pool::PoolStats::default();
        for client in self.clients.values() {
            cs += client.pool.stats();
        }
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        crate::ops::Snapshot {
            peers: n(st.sessions.load(Relaxed)),
            routers: n(c.routers),
            floodfills: n(c.floodfills),
            lease_sets: n(c.lease_sets),
            bytes_in: st.counters.bytes_in.load(Relaxed),
            bytes_out: st.counters.bytes_out.load(Relaxed),
            exploratory_in: n(live_in),
            exploratory_out: n(live_out),
            builds_ok: ps.built(),
            builds_failed: ps.failed(),
            transit_live: n(ts.live),
            transit_accepted: ts.accepted,
            transit_rejected: ts.rejected,
            destinations: n(self.clients.len()),
            streams: u64::try_from(self.open_streams.load(Relaxed)).unwrap_or(0),
            client_builds_ok: cs.built(),
            client_builds_failed: cs.failed(),
            builds_no_peers: ps.builds_no_peers + cs.builds_no_peers,
            tests_passed: ps.tests_passed + cs.tests_passed,
            tests_failed: ps.tests_failed + cs.tests_failed,
            messages_in: st.counters.messages_in.load(Relaxed),
            messages_out: st.counters.messages_out.load(Relaxed),
        }
    }

    fn event(&mut self, ev: TransportEvent, netdb: &NetDbHandle, transport: &TransportHandle) {
        match ev {
            TransportEvent::Message { from, msg } => {
                self.message(from, msg, 0, Via::Peer, netdb, transport);
            }
            TransportEvent::RouterInfo { bytes, flood, .. } => {
                netdb.router_info_learned(bytes, flood);
            }
            TransportEvent::SendFailed { peer, .. } => {
                netdb.send_failed(peer);
            }
            TransportEvent::Connected { .. } | TransportEvent::Disconnected { .. } => {}
        }
    }

    /// One I2NP message: from the directly connected router `from` ([`Via::Peer`], `depth`
    /// 0), out of our own inbound tunnel or a garlic clove for us ([`Via::OurTunnel`]), or
    /// handed to us by our own outbound endpoint role ([`Via::Loopback`]).
    fn message(
        &mut self,
        from: Hash,
        msg: I2npMessage,
        depth: u8,
        via: Via,
        netdb: &NetDbHandle,
        transport: &TransportHandle,
    ) {
        if depth > MAX_DISPATCH_DEPTH {
            self.unhandled += 1;
            debug!(type_id = msg.type_id(), "message nested too deep, dropped");
            return;
        }
        let now = (self.clock)();
        let now_ms = now.as_millis();
        let msg_id = msg.msg_id();
        match msg.body() {
            // replies to our own builds, by the message id we chose
            I2npBody::ShortTunnelBuild(_) | I2npBody::OutboundTunnelBuildReply(_)
                if self.build_reply_owner(msg_id).is_some() =>
            {
                let owner = self.build_reply_owner(msg_id);
                if let I2npBody::ShortTunnelBuild(r) | I2npBody::OutboundTunnelBuildReply(r) =
                    msg.into_body()
                    && let Some(pool) = owner.and_then(|o| self.pool_mut(o))
                {
                    pool.on_build_reply(msg_id, r.records(), now_ms);
                }
            }
            // anything else out of a destination's inbound tunnel belongs to that destination
            // (its pool's tunnel tests and garlic-wrapped build replies excepted)
            _ if matches!(via, Via::Client(_)) && !self.pool_owned(&msg) => {
                if let I2npBody::DeliveryStatus(s) = msg.body()
                    && (self.pool.on_delivery_status(s.msg_id, now_ms)
                        || self
                            .clients
                            .values_mut()
                            .any(|c| c.pool.on_delivery_status(s.msg_id, now_ms)))
                {
                    return;
                }
                if let Via::Client(id) = via
                    && let Some(c) = self.clients.get_mut(&id)
                {
                    c.deliver(msg);
                }
            }
            // tunnel traffic never comes out of our own tunnels or garlic
            I2npBody::TunnelData(_)
            | I2npBody::TunnelGateway(_)
            | I2npBody::ShortTunnelBuild(_)
                if via == Via::OurTunnel =>
            {
                self.unhandled += 1;
                debug!(
                    type_id = msg.type_id(),
                    "tunnel message inside a tunnel or garlic dropped"
                );
            }
            I2npBody::TunnelData(d) if self.pool.owns_inbound(d.tunnel_id) => {
                for m in self.pool.on_tunnel_data(d, now_ms) {
                    self.message(from, m, depth + 1, Via::OurTunnel, netdb, transport);
                }
            }
            I2npBody::TunnelData(d) if self.client_inbound(d.tunnel_id).is_some() => {
                let id = self.client_inbound(d.tunnel_id).unwrap_or_default();
                let out = self
                    .clients
                    .get_mut(&id)
                    .map(|c| c.pool.on_tunnel_data(d, now_ms))
                    .unwrap_or_default();
                for m in out {
                    self.message(from, m, depth + 1, Via::Client(id), netdb, transport);
                }
            }
            I2npBody::TunnelGateway(g) => {
                let client_inner = self
                    .clients
                    .iter_mut()
                    .find_map(|(id, c)| c.pool.on_tunnel_gateway(g).map(|m| (*id, m)));
                if let Some(inner) = self.pool.on_tunnel_gateway(g) {
                    self.message(from, inner, depth + 1, Via::OurTunnel, netdb, transport);
                } else if let Some((id, inner)) = client_inner {
                    self.message(from, inner, depth + 1, Via::Client(id), netdb, transport);
                } else if let I2npBody::TunnelGateway(g) = msg.into_body() {
                    let mut out = self.outbox(transport);
                    self.transit.on_tunnel_gateway(g, now, &mut out);
                    self.loopback(out.local, depth, netdb, transport);
                }
            }
            I2npBody::VariableTunnelBuild(_) if via == Via::OurTunnel => {
                self.unhandled += 1;
                debug!("tunnel build inside a tunnel or garlic dropped");
            }
            I2npBody::ShortTunnelBuild(_)
            | I2npBody::TunnelData(_)
            | I2npBody::VariableTunnelBuild(_) => {
                let mut out = self.outbox(transport);
                match msg.into_body() {
                    I2npBody::ShortTunnelBuild(r) => {
                        self.transit.on_short_build(from, r, now, &mut out);
                    }
                    I2npBody::VariableTunnelBuild(r) => {
                        self.transit.on_variable_build(from, r, now, &mut out);
                    }
                    I2npBody::TunnelData(d) => self.transit.on_tunnel_data(d, now, &mut out),
                    _ => {}
                }
                self.loopback(out.local, depth, netdb, transport);
            }
            I2npBody::DeliveryStatus(s) if self.pool.on_delivery_status(s.msg_id, now_ms) => {}
            I2npBody::DeliveryStatus(s)
                if self
                    .clients
                    .values_mut()
                    .any(|c| c.pool.on_delivery_status(s.msg_id, now_ms)) => {}
            I2npBody::Garlic(g) if depth < 3 => {
                let key = g
                    .data()
                    .first_chunk::<8>()
                    .and_then(|tag| Some((*tag, self.garlic_reply_key(tag)?)));
                match key {
                    Some((tag, key)) => match open_reply(g, &key, &tag) {
                        Ok(cloves) => {
                            for c in cloves {
                                if c.delivery == Delivery::Local {
                                    self.message(
                                        from,
                                        c.message,
                                        depth + 1,
                                        Via::OurTunnel,
                                        netdb,
                                        transport,
                                    );
                                }
                            }
                        }
                        Err(e) => debug!(error = %e, "garlic build reply did not open"),
                    },
                    None => {
                        netdb.deliver(from, msg);
                    }
                }
            }
            I2npBody::DatabaseStore(_)
            | I2npBody::DatabaseLookup(_)
            | I2npBody::DatabaseSearchReply(_)
            | I2npBody::DeliveryStatus(_)
            | I2npBody::Garlic(_) => {
                netdb.deliver(from, msg);
            }
            _ => {
                self.unhandled += 1;
                debug!(
                    type_id = msg.type_id(),
                    "no handler for this I2NP message yet"
                );
            }
        }
    }

    fn pool_mut(&mut self, id: PoolId) -> Option<&mut TunnelPool> {
        match id {
            PoolId::Exploratory => Some(&mut self.pool),
            PoolId::Client(id) => self.clients.get_mut(&id).map(|c| &mut c.pool),
        }
    }

    /// The pool that built the tunnel whose build reply has this message id.
    fn build_reply_owner(&self, msg_id: u32) -> Option<PoolId> {
        if self.pool.expects_build_reply(msg_id) {
            return Some(PoolId::Exploratory);
        }
        self.clients
            .iter()
            .find(|(_, c)| c.pool.expects_build_reply(msg_id))
            .map(|(id, _)| PoolId::Client(*id))
    }

    /// The destination whose inbound tunnel ends at us with this id.
    fn client_inbound(&self, tunnel: TunnelId) -> Option<u32> {
        self.clients
            .iter()
            .find(|(_, c)| c.pool.owns_inbound(tunnel))
            .map(|(id, _)| *id)
    }

    /// The reply key of a pending build whose garlic-wrapped reply uses this tag.
    fn garlic_reply_key(&self, tag: &[u8; 8]) -> Option<[u8; 32]> {
        self.pool.garlic_reply_key(tag).or_else(|| {
            self.clients
                .values()
                .find_map(|c| c.pool.garlic_reply_key(tag))
        })
    }

    /// Whether a message out of a destination's tunnel is for a pool (build replies; tunnel
    /// tests are taken by `on_delivery_status` before this is asked).
    fn pool_owned(&self, msg: &I2npMessage) -> bool {
        match msg.body() {
            I2npBody::ShortTunnelBuild(_) | I2npBody::OutboundTunnelBuildReply(_) => {
                self.build_reply_owner(msg.msg_id()).is_some()
            }
            I2npBody::Garlic(g) => g
                .data()
                .first_chunk::<8>()
                .is_some_and(|tag| self.garlic_reply_key(tag).is_some()),
            _ => false,
        }
    }

    /// A command from a destination task.
    fn hub(&mut self, cmd: HubCmd, transport: &TransportHandle) {
        match cmd {
            HubCmd::Register {
                id,
                nickname,
                pool,
                events,
            } => {
                info!(destination = %nickname, "tunnel pool for a local destination");
                let mut p = TunnelPool::new(nickname, self.us, pool);
                p.set_profiles(self.pool.profiles().clone());
                self.clients.insert(
                    id,
                    ClientPool {
                        pool: p,
                        events,
                        told: (Vec::new(), 0),
                        dropped: 0,
                    },
                );
            }
            HubCmd::Unregister(id) => {
                self.clients.remove(&id);
            }
            HubCmd::Send { id, msg, to } => {
                let now_ms = (self.clock)().as_millis();
                let Some(c) = self.clients.get_mut(&id) else {
                    return;
                };
                match c.pool.send_outbound(&msg, to, now_ms, &mut rand::rng()) {
                    Ok(out) => send_all(transport, out),
                    Err(e) => debug!(error = %e, "destination message not sent"),
                }
            }
        }
    }

    fn outbox<'t>(&self, transport: &'t TransportHandle) -> LoopbackOutbox<'t> {
        LoopbackOutbox {
            transport,
            us: self.us,
            local: Vec::new(),
        }
    }

    /// Messages our outbound endpoint role delivered to our own router.
    fn loopback(
        &mut self,
        local: Vec<I2npMessage>,
        depth: u8,
        netdb: &NetDbHandle,
        transport: &TransportHandle,
    ) {
        for m in local {
            self.message(self.us, m, depth + 1, Via::Loopback, netdb, transport);
        }
    }

    /// Once a second: keep the pool (builds, expiry, tests).
    async fn tick(&mut self, netdb: &NetDbHandle, transport: &TransportHandle) {
        let stale = self
            .candidates_at
            .is_none_or(|t| t.elapsed() >= CANDIDATES_REFRESH);
        if stale || self.candidates.is_empty() {
            self.candidates = netdb.tunnel_candidates().await;
            self.candidates_at = Some(tokio::time::Instant::now());
        }
        let now_ms = (self.clock)().as_millis();
        let out = self.pool.tick(now_ms, &self.candidates, &mut rand::rng());
        send_all(transport, out);
        for c in self.clients.values_mut() {
            let out = c.pool.tick(now_ms, &self.candidates, &mut rand::rng());
            send_all(transport, out);
            let inbound = c.pool.inbound_gateways(now_ms);
            let (_, outbound) = c.pool.live(now_ms);
            let mut gws: Vec<(Hash, TunnelId)> = inbound.iter().map(|(h, t, _)| (*h, *t)).collect();
            gws.sort_by_key(|(h, t)| (*h.as_bytes(), t.0));
            if (gws.clone(), outbound) != c.told
                && c.events
                    .try_send(DestEvent::Tunnels { inbound, outbound })
                    .is_ok()
            {
                c.told = (gws, outbound);
            }
        }
    }
}

/// Load the saved peer profiles into the pool, halving the counts so results of earlier runs
/// weigh less. A missing file is normal; unreadable lines are skipped with a warning.
fn load_profiles(path: &Path, pool: &mut TunnelPool) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            warn!(file = %path.display(), error = %e, "cannot read the tunnel peer profiles; starting without");
            return;
        }
    };
    let (profiles, errors) = i2p_tunnel::pool::read_profiles(&text);
    for e in errors.iter().take(5) {
        warn!(file = %path.display(), "tunnel peer profiles: {e}; line skipped");
    }
    info!(peers = profiles.len(), "tunnel peer profiles loaded");
    pool.set_profiles(profiles);
    pool.decay_profiles();
}

/// Save the pool's peer profiles (atomically, mode 0600: they show which routers we used).
fn save_profiles(path: &Path, pool: &TunnelPool) {
    let text = i2p_tunnel::pool::write_profiles(pool.profiles());
    if let Err(e) =
        crate::keyfile::write_replace(path, text.as_bytes(), crate::keyfile::SECRET_MODE)
    {
        warn!(file = %path.display(), error = %e, "cannot save the tunnel peer profiles");
    }
}

/// The exploratory pool's settings from the configuration.
fn pool_config(config: &Config) -> PoolConfig {
    let e = &config.exploratory;
    PoolConfig {
        inbound: PoolShape {
            length: e.inbound_length,
            quantity: e.inbound_quantity,
            variance: e.inbound_length_variance,
        },
        outbound: PoolShape {
            length: e.outbound_length,
            quantity: e.outbound_quantity,
            variance: e.outbound_length_variance,
        },
        distinct_subnets: config.router.distinct_subnets,
        ..PoolConfig::exploratory()
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
