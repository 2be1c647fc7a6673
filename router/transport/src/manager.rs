//! The transport manager: one task that owns the table of NTCP2 sessions, dials peers on
//! demand (RouterInfo from the netDb through [`RouterLookup`]), accepts inbound connections
//! within limits, and turns everything sessions receive into [`TransportEvent`]s for the
//! router's dispatcher.
//!
//! Sending never waits: [`TransportHandle::send`] queues into the manager's bounded channel,
//! the manager into the session's; a full queue drops the message and counts it, which is
//! what I2NP's best-effort delivery expects.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use i2p_crypto::X25519Secret;
use i2p_wire::{Hash, I2npMessage, RouterInfo};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::env::{Listener, TransportEnv, clock_secs};
use crate::ntcp2::FrameBuilder;
use crate::ntcp2::ReplayCache;
use crate::ntcp2::session::{
    self, Counters, DialTarget, SessionError, SessionEvent, responder_params,
};

/// Finds a peer's RouterInfo (the netDb, possibly asking floodfills).
pub type RouterLookup = Arc<
    dyn Fn(Hash) -> Pin<Box<dyn Future<Output = Option<Arc<RouterInfo>>> + Send>> + Send + Sync,
>;

/// Messages queued per session.
pub const SESSION_QUEUE: usize = 512;
/// Messages held per peer while dialling it.
pub const PENDING_PER_PEER: usize = 64;
/// After a failed dial, messages to that peer fail at once for this long.
pub const DIAL_BACKOFF: Duration = Duration::from_secs(30);

/// Transport settings.
pub struct TransportConfig {
    pub net_id: u8,
    /// where to accept NTCP2 connections (`None`: outbound only)
    pub listen: Option<SocketAddr>,
    /// local address to dial from (so a test router on a shared `lo` uses its own IP)
    pub bind_outbound: Option<IpAddr>,
    pub local_hash: Hash,
    pub ntcp2_static: X25519Secret,
    pub ntcp2_iv: [u8; 16],
    /// our signed RouterInfo (sent in message 3)
    pub router_info: Arc<[u8]>,
    pub max_sessions: usize,
    pub max_handshakes_per_ip: usize,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    /// Dial and accept non-public addresses (loopback, private, reserved). Off on the real
    /// network (netId 2), like i2pd's `reservedrange`; test networks need it on.
    pub allow_reserved: bool,
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("net_id", &self.net_id)
            .field("listen", &self.listen)
            .field("local_hash", &self.local_hash)
            .field("max_sessions", &self.max_sessions)
            .finish_non_exhaustive()
    }
}

/// What the transports deliver to the router.
#[derive(Debug)]
pub enum TransportEvent {
    /// an I2NP message from a directly connected router
    Message {
        from: Hash,
        msg: I2npMessage,
    },
    /// a RouterInfo a peer sent (message 3 of a handshake, or a RouterInfo block)
    RouterInfo {
        from: Hash,
        bytes: Vec<u8>,
        flood: bool,
    },
    Connected {
        peer: Hash,
        inbound: bool,
    },
    Disconnected {
        peer: Hash,
    },
    /// messages to `peer` were dropped because it could not be reached
    SendFailed {
        peer: Hash,
        dropped: usize,
    },
}

/// Counters (read by metrics and the status page).
#[derive(Debug, Default)]
pub struct TransportStats {
    pub counters: Arc<Counters>,
    pub sessions: AtomicUsize,
    pub inbound_sessions: AtomicUsize,
    pub dials_ok: AtomicU64,
    pub dials_failed: AtomicU64,
    pub accepts_ok: AtomicU64,
    pub accepts_failed: AtomicU64,
    /// connections closed unanswered: session limit or handshakes per IP reached
    pub accepts_refused: AtomicU64,
    pub dropped_full: AtomicU64,
    pub dropped_unreachable: AtomicU64,
}

enum Command {
    Send(Hash, I2npMessage),
    SetRouterInfo(Arc<[u8]>),
    Peers(oneshot::Sender<Vec<(Hash, bool)>>),
    Disconnect(Hash),
}

enum Internal {
    Up {
        peer: Hash,
        id: u64,
        inbound: bool,
        tx: mpsc::Sender<I2npMessage>,
    },
    DialFailed {
        peer: Hash,
        error: String,
    },
}

/// Cloneable handle to the transport manager.
#[derive(Clone, Debug)]
pub struct TransportHandle {
    cmd: mpsc::Sender<Command>,
    stats: Arc<TransportStats>,
    local_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl TransportHandle {
    /// Queue `msg` for router `to` (dialling it if needed). Never waits; a full queue drops it.
    pub fn send(&self, to: Hash, msg: I2npMessage) {
        if self.cmd.try_send(Command::Send(to, msg)).is_err() {
            self.stats.dropped_full.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Our RouterInfo changed (sent in future handshakes).
    pub async fn set_router_info(&self, ri: Arc<[u8]>) {
        let _ = self.cmd.send(Command::SetRouterInfo(ri)).await;
    }

    /// Connected peers and whether each session was inbound.
    pub async fn peers(&self) -> Vec<(Hash, bool)> {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Command::Peers(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Close the session to `peer` (if any).
    pub async fn disconnect(&self, peer: Hash) {
        let _ = self.cmd.send(Command::Disconnect(peer)).await;
    }

    pub fn stats(&self) -> &Arc<TransportStats> {
        &self.stats
    }

    /// The address the NTCP2 listener is bound to.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }
}

/// Whether an address is one the public network may use (not loopback, private, link-local,
/// reserved, documentation, benchmark or multicast).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// The NTCP2 address to dial in `ri`: published, with host, port and IV, allowed by policy;
/// IPv4 first.
pub fn dial_target(ri: &RouterInfo, allow_reserved: bool) -> Option<DialTarget> {
    let mut best: Option<(bool, DialTarget)> = None;
    for a in ri.addresses() {
        let Ok(n) = a.ntcp2() else { continue };
        let (Some(host), Some(port), Some(iv)) = (n.host, n.port, n.iv) else {
            continue;
        };
        if port == 0 || (!allow_reserved && !is_public(host)) {
            continue;
        }
        let v4 = host.is_ipv4();
        let t = DialTarget {
            hash: ri.hash(),
            addr: SocketAddr::new(host, port),
            static_key: n.static_key,
            iv,
        };
        if best.as_ref().is_none_or(|(b4, _)| v4 && !b4) {
            best = Some((v4, t));
        }
    }
    best.map(|(_, t)| t)
}

/// Start the transport manager (and the NTCP2 listener if configured) on real TCP and the
/// system clock. Events go to `events`.
pub async fn spawn(
    config: TransportConfig,
    lookup: RouterLookup,
    events: mpsc::Sender<TransportEvent>,
) -> std::io::Result<(TransportHandle, tokio::task::JoinHandle<()>)> {
    spawn_with(config, TransportEnv::system(), lookup, events).await
}

/// [`spawn`] on the given network and clock (the simulation's in-memory network).
pub async fn spawn_with(
    config: TransportConfig,
    env: TransportEnv,
    lookup: RouterLookup,
    events: mpsc::Sender<TransportEvent>,
) -> std::io::Result<(TransportHandle, tokio::task::JoinHandle<()>)> {
    let (cmd_tx, cmd_rx) = mpsc::channel(4096);
    let (int_tx, int_rx) = mpsc::channel(256);
    let (sess_tx, sess_rx) = mpsc::channel(1024);
    let stats = Arc::new(TransportStats::default());
    let listener = match config.listen {
        Some(addr) => Some(env.network.listen(addr).await?),
        None => None,
    };
    let local_addr = match &listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let config = Arc::new(config);
    let shared = Arc::new(Shared {
        replay: Mutex::new(ReplayCache::new()),
        handshakes_per_ip: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
    });
    if let Some(l) = listener {
        info!(addr = ?local_addr, "NTCP2 listening");
        tokio::spawn(accept_loop(
            l,
            env.clone(),
            config.clone(),
            shared.clone(),
            stats.clone(),
            int_tx.clone(),
            sess_tx.clone(),
            events.clone(),
        ));
    }
    let manager = Manager {
        env,
        router_info: config.router_info.clone(),
        config,
        shared,
        lookup,
        events,
        stats: stats.clone(),
        sessions: HashMap::new(),
        retired: HashMap::new(),
        pending: HashMap::new(),
        backoff: HashMap::new(),
        int_tx,
        sess_tx,
    };
    let task = tokio::spawn(manager.run(cmd_rx, int_rx, sess_rx));
    Ok((
        TransportHandle {
            cmd: cmd_tx,
            stats,
            local_addr,
        },
        task,
    ))
}

struct Shared {
    replay: Mutex<ReplayCache>,
    handshakes_per_ip: Mutex<HashMap<IpAddr, usize>>,
    next_id: AtomicU64,
}

struct SessionEntry {
    id: u64,
    inbound: bool,
    tx: mpsc::Sender<I2npMessage>,
}

struct Manager {
    env: TransportEnv,
    config: Arc<TransportConfig>,
    router_info: Arc<[u8]>,
    shared: Arc<Shared>,
    lookup: RouterLookup,
    events: mpsc::Sender<TransportEvent>,
    stats: Arc<TransportStats>,
    sessions: HashMap<Hash, SessionEntry>,
    /// sessions replaced by a newer one to the same peer, by session id: kept open (their
    /// sender held) until they close by themselves
    retired: HashMap<u64, (Hash, mpsc::Sender<I2npMessage>)>,
    pending: HashMap<Hash, Vec<I2npMessage>>,
    backoff: HashMap<Hash, Instant>,
    int_tx: mpsc::Sender<Internal>,
    sess_tx: mpsc::Sender<SessionEvent>,
}

impl Manager {
    async fn run(
        mut self,
        mut cmd: mpsc::Receiver<Command>,
        mut int: mpsc::Receiver<Internal>,
        mut sess: mpsc::Receiver<SessionEvent>,
    ) {
        loop {
            tokio::select! {
                c = cmd.recv() => match c {
                    Some(c) => self.command(c),
                    None => break,
                },
                Some(i) = int.recv() => self.internal(i).await,
                Some(e) = sess.recv() => self.session_event(e).await,
            }
        }
        debug!("transport manager stopped");
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Send(to, msg) => self.send(to, msg),
            Command::SetRouterInfo(ri) => self.router_info = ri,
            Command::Peers(reply) => {
                let _ = reply.send(self.sessions.iter().map(|(h, s)| (*h, s.inbound)).collect());
            }
            Command::Disconnect(peer) => {
                self.retired.retain(|_, (p, _)| *p != peer);
                if self.sessions.remove(&peer).is_some() {
                    self.update_counts();
                }
            }
        }
    }

    fn send(&mut self, to: Hash, msg: I2npMessage) {
        if to == self.config.local_hash {
            debug!("dropping a message addressed to ourselves");
            return;
        }
        if let Some(s) = self.sessions.get(&to) {
            match s.tx.try_send(msg) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.stats.dropped_full.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(m)) => {
                    self.sessions.remove(&to);
                    self.update_counts();
                    return self.send(to, m);
                }
            }
        }
        if let Some(q) = self.pending.get_mut(&to) {
            if q.len() < PENDING_PER_PEER {
                q.push(msg);
            } else {
                self.stats.dropped_full.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        if self
            .backoff
            .get(&to)
            .is_some_and(|t| t.elapsed() < DIAL_BACKOFF)
        {
            self.stats
                .dropped_unreachable
                .fetch_add(1, Ordering::Relaxed);
            let _ = self.events.try_send(TransportEvent::SendFailed {
                peer: to,
                dropped: 1,
            });
            return;
        }
        if self.sessions.len() + self.pending.len() >= self.config.max_sessions {
            self.stats.dropped_full.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.pending.insert(to, vec![msg]);
        self.dial(to);
    }

    fn dial(&self, peer: Hash) {
        let config = self.config.clone();
        let lookup = self.lookup.clone();
        let ri_bytes = self.router_info.clone();
        let int_tx = self.int_tx.clone();
        let sess_tx = self.sess_tx.clone();
        let stats = self.stats.clone();
        let env = self.env.clone();
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let result = async {
                let ri = lookup(peer)
                    .await
                    .ok_or_else(|| "no RouterInfo known".to_string())?;
                let target = dial_target(&ri, config.allow_reserved)
                    .ok_or_else(|| "no usable NTCP2 address".to_string())?;
                session::connect(
                    &*env.network,
                    &env.clock,
                    &target,
                    config.bind_outbound,
                    config.net_id,
                    &config.ntcp2_static,
                    &ri_bytes,
                    config.handshake_timeout,
                )
                .await
                .map_err(|e: SessionError| format!("{}: {e}", target.addr))
            }
            .await;
            match result {
                Ok((stream, data)) => {
                    stats.dials_ok.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = mpsc::channel(SESSION_QUEUE);
                    // open the data phase with our RouterInfo (as i2pd does) and the time
                    let mut f = FrameBuilder::new();
                    f.date_time(u32::try_from(clock_secs(&env.clock)).unwrap_or(u32::MAX));
                    session::spawn_session(
                        stream,
                        env.clock.clone(),
                        data,
                        peer,
                        id,
                        rx,
                        Some(f.finish()),
                        sess_tx,
                        stats.counters.clone(),
                        config.idle_timeout,
                    );
                    let _ = int_tx
                        .send(Internal::Up {
                            peer,
                            id,
                            inbound: false,
                            tx,
                        })
                        .await;
                }
                Err(error) => {
                    stats.dials_failed.fetch_add(1, Ordering::Relaxed);
                    let _ = int_tx.send(Internal::DialFailed { peer, error }).await;
                }
            }
        });
    }

    async fn internal(&mut self, i: Internal) {
        match i {
            Internal::Up {
                peer,
                id,
                inbound,
                tx,
            } => {
                info!(peer = %short(&peer), inbound, "NTCP2 session established");
                self.backoff.remove(&peer);
                for m in self.pending.remove(&peer).unwrap_or_default() {
                    if tx.try_send(m).is_err() {
                        self.stats.dropped_full.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // a newer session replaces an older one for sending (simultaneous dials from
                // both ends); the old one stays open until it idles out or the peer closes
                // it, because the peer may still send on it (closing it at once would lose
                // what is on the way)
                if let Some(old) = self.sessions.insert(peer, SessionEntry { id, inbound, tx }) {
                    self.retired.insert(old.id, (peer, old.tx));
                }
                self.update_counts();
                let _ = self
                    .events
                    .send(TransportEvent::Connected { peer, inbound })
                    .await;
            }
            Internal::DialFailed { peer, error } => {
                let dropped = self.pending.remove(&peer).map_or(0, |q| q.len());
                debug!(peer = %short(&peer), %error, dropped, "NTCP2 dial failed");
                self.backoff.insert(peer, Instant::now());
                if self.backoff.len() > 10_000 {
                    self.backoff.retain(|_, t| t.elapsed() < DIAL_BACKOFF);
                }
                self.stats
                    .dropped_unreachable
                    .fetch_add(dropped as u64, Ordering::Relaxed);
                let _ = self
                    .events
                    .send(TransportEvent::SendFailed { peer, dropped })
                    .await;
            }
        }
    }

    async fn session_event(&mut self, e: SessionEvent) {
        match e {
            SessionEvent::Message { from, msg } => {
                let _ = self
                    .events
                    .send(TransportEvent::Message { from, msg })
                    .await;
            }
            SessionEvent::RouterInfo { from, bytes, flood } => {
                let _ = self
                    .events
                    .send(TransportEvent::RouterInfo { from, bytes, flood })
                    .await;
            }
            SessionEvent::Closed { peer, id, reason } => {
                debug!(peer = %short(&peer), %reason, "NTCP2 session closed");
                self.retired.remove(&id);
                if self.sessions.get(&peer).is_some_and(|s| s.id == id) {
                    self.sessions.remove(&peer);
                    self.update_counts();
                    let _ = self
                        .events
                        .send(TransportEvent::Disconnected { peer })
                        .await;
                }
            }
        }
    }

    fn update_counts(&self) {
        self.stats
            .sessions
            .store(self.sessions.len(), Ordering::Relaxed);
        self.stats.inbound_sessions.store(
            self.sessions.values().filter(|s| s.inbound).count(),
            Ordering::Relaxed,
        );
    }
}

fn short(h: &Hash) -> String {
    h.to_base64().chars().take(8).collect()
}

#[allow(clippy::too_many_arguments)]
async fn accept_loop(
    mut listener: Box<dyn Listener>,
    env: TransportEnv,
    config: Arc<TransportConfig>,
    shared: Arc<Shared>,
    stats: Arc<TransportStats>,
    int_tx: mpsc::Sender<Internal>,
    sess_tx: mpsc::Sender<SessionEvent>,
    events: mpsc::Sender<TransportEvent>,
) {
    let mut refused_logged: HashSet<IpAddr> = HashSet::new();
    loop {
        // the router stopped: stop accepting (and drop the listener)
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = events.closed() => break,
        };
        let (stream, remote) = match accepted {
            Ok(x) => x,
            Err(e) => {
                warn!(error = %e, "NTCP2 accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = remote.ip();
        if !config.allow_reserved && !is_public(ip) {
            if refused_logged.insert(ip) {
                info!(%ip, "NTCP2: refusing a connection from a non-public address");
            }
            continue;
        }
        if stats.sessions.load(Ordering::Relaxed) >= config.max_sessions {
            stats.accepts_refused.fetch_add(1, Ordering::Relaxed);
            debug!(%ip, "NTCP2: session limit reached, connection refused");
            continue;
        }
        {
            let Ok(mut per_ip) = shared.handshakes_per_ip.lock() else {
                continue;
            };
            let n = per_ip.entry(ip).or_insert(0);
            if *n >= config.max_handshakes_per_ip {
                stats.accepts_refused.fetch_add(1, Ordering::Relaxed);
                debug!(%ip, "NTCP2: too many handshakes from one address");
                continue;
            }
            *n += 1;
        }
        let config = config.clone();
        let shared = shared.clone();
        let stats = stats.clone();
        let int_tx = int_tx.clone();
        let sess_tx = sess_tx.clone();
        let events = events.clone();
        let clock = env.clock.clone();
        tokio::spawn(async move {
            let params = responder_params(
                config.net_id,
                &config.ntcp2_static,
                config.local_hash,
                config.ntcp2_iv,
            );
            let result = session::accept(
                stream,
                &clock,
                params,
                &shared.replay,
                config.handshake_timeout,
            )
            .await;
            if let Ok(mut per_ip) = shared.handshakes_per_ip.lock()
                && let Some(n) = per_ip.get_mut(&ip)
            {
                {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        per_ip.remove(&ip);
                    }
                }
            }
            match result {
                Ok((stream, est)) => {
                    stats.accepts_ok.fetch_add(1, Ordering::Relaxed);
                    let peer = est.router_info.hash();
                    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                    let _ = events
                        .send(TransportEvent::RouterInfo {
                            from: peer,
                            bytes: est.router_info_bytes,
                            flood: false,
                        })
                        .await;
                    let (tx, rx) = mpsc::channel(SESSION_QUEUE);
                    let mut f = FrameBuilder::new();
                    f.date_time(u32::try_from(clock_secs(&clock)).unwrap_or(u32::MAX));
                    session::spawn_session(
                        stream,
                        clock.clone(),
                        est.data,
                        peer,
                        id,
                        rx,
                        Some(f.finish()),
                        sess_tx,
                        stats.counters.clone(),
                        config.idle_timeout,
                    );
                    let _ = int_tx
                        .send(Internal::Up {
                            peer,
                            id,
                            inbound: true,
                            tx,
                        })
                        .await;
                }
                Err(e) => {
                    stats.accepts_failed.fetch_add(1, Ordering::Relaxed);
                    debug!(%ip, error = %e, "NTCP2 inbound handshake failed");
                }
            }
        });
    }
}
