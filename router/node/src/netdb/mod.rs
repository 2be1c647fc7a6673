//! The netDb manager task: drives the sans-IO `i2p_netdb::NetDb` state machine, persists the
//! netDb directory ([`storage`]), loads it at start (verifying every entry), reseeds when the
//! netDb is too small, and serves the rest of the router through [`NetDbHandle`].
//!
//! Shape (ARCHITECTURE.md, "The running router"): one task that owns the state machine and
//! `select!`s over its inbound channel (messages and RouterInfos from transports), its command
//! channel (lookups and queries from other code) and one timer (the state machine's
//! `poll_timeout`). Everything it sends goes through [`Outbound::send`], which must not block:
//! the transport layer queues or drops. File writes are batched and done on the blocking pool.

pub mod storage;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use i2p_crypto::X25519Secret;
use i2p_netdb::{
    Action, Counts, LeaseSetEntry, LookupId, LookupResult, NetDb, Origin, RouterEntry, Stats,
};
use i2p_wire::i2np::StoreKind;
use i2p_wire::{Date, Hash, I2npMessage, RouterInfo};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::reseed::{self, ReseedSources};
use i2p_tunnel::build::HopPeer;
use i2p_tunnel::pool::Candidate;
use storage::NetDbDir;

/// Capacity of the inbound channel (messages from transports).
pub const INBOUND_CAPACITY: usize = 1024;
/// Capacity of the command channel.
pub const COMMAND_CAPACITY: usize = 256;
/// How often pending file writes are flushed.
const FLUSH_INTERVAL: Duration = Duration::from_secs(2);
/// How often the netDb size is checked against the reseed threshold.
const RESEED_CHECK_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// No new reseed within this time of the last one.
const RESEED_MIN_GAP_MS: u64 = 10 * 60 * 1000;

/// Where the netDb's outgoing messages go. Implementations must not block: queue the message
/// (dialling `to` if needed, looking its RouterInfo up through the netDb) or drop it.
pub trait Outbound: Send + Sync + 'static {
    fn send(&self, to: Hash, msg: I2npMessage);
    /// A message that came out of a garlic clove addressed to the router but belongs to
    /// another manager (e.g. a tunnel build request): route it as if `from` had sent it.
    fn deliver(&self, from: Hash, msg: I2npMessage);
}

/// Wall-clock time as an I2P `Date` (the router's `Clock`; production uses the system clock,
/// the simulation a virtual one).
pub use i2p_transport::env::{Clock, system_clock};

/// What the manager is started with.
pub struct NetDbSettings {
    pub config: i2p_netdb::Config,
    /// our RouterInfo (signed)
    pub own: RouterInfo,
    /// our router's X25519 key, to open garlic messages addressed to the router
    pub router_secret: Option<X25519Secret>,
    /// the data dir (the netDb lives in `<data_dir>/netDb`); `None`: nothing is read from or
    /// written to disk (the in-process simulation)
    pub data_dir: Option<PathBuf>,
    /// reseed when fewer RouterInfos than this are known
    pub reseed_threshold: usize,
    pub reseed: ReseedSources,
}

impl std::fmt::Debug for NetDbSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetDbSettings")
            .field("config", &self.config)
            .field("own", &self.own.hash())
            .field("data_dir", &self.data_dir)
            .field("reseed_threshold", &self.reseed_threshold)
            .finish_non_exhaustive()
    }
}

impl NetDbSettings {
    /// The settings the router's configuration asks for.
    pub fn from_config(
        config: &crate::config::Config,
        own: RouterInfo,
        router_secret: Option<X25519Secret>,
        data_dir: Option<PathBuf>,
    ) -> Result<NetDbSettings, reseed::ReseedError> {
        let net_id = config.network.net_id.get();
        let mut nc = i2p_netdb::Config::new(net_id, config.router.floodfill);
        nc.max_routers = usize::try_from(config.netdb.max_routers).unwrap_or(usize::MAX);
        nc.publish.verify = config.netdb.verify_publish;
        let r = &config.reseed;
        let reseed = ReseedSources::for_network(
            net_id,
            r.file.clone(),
            r.urls.as_ref().map(|u| u.0.clone()),
            r.signers_dir.as_deref(),
            r.ca_file.as_deref(),
        )?;
        Ok(NetDbSettings {
            config: nc,
            own,
            router_secret,
            data_dir,
            reseed_threshold: usize::try_from(r.threshold).unwrap_or(usize::MAX),
            reseed,
        })
    }
}

enum Inbound {
    Message { from: Hash, msg: I2npMessage },
    RouterInfo { bytes: Vec<u8>, flood: bool },
    SendFailed(Hash),
}

enum Command {
    LookupRouter(Hash, oneshot::Sender<Option<RouterEntry>>),
    LookupLeaseSet(Hash, oneshot::Sender<Option<LeaseSetEntry>>),
    Router(Hash, oneshot::Sender<Option<RouterEntry>>),
    TunnelCandidates(oneshot::Sender<Vec<Candidate>>),
    ClosestFloodfills(Hash, usize, oneshot::Sender<Vec<Hash>>),
    Stats(oneshot::Sender<Stats>),
    StoreLeaseSet {
        key: Hash,
        kind: StoreKind,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    SetOwnRouterInfo(Box<RouterInfo>),
    Reseed,
    ReseedDone(Result<Vec<(String, Vec<u8>)>, String>),
}

/// Dropped-message counters of the handle (channels full).
#[derive(Debug, Default)]
pub struct HandleStats {
    pub inbound_dropped: AtomicU64,
}

/// A cloneable handle to the netDb manager.
#[derive(Clone, Debug)]
pub struct NetDbHandle {
    inbound: mpsc::Sender<Inbound>,
    commands: mpsc::Sender<Command>,
    counts: watch::Receiver<Counts>,
    stats: Arc<HandleStats>,
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inbound")
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl NetDbHandle {
    fn try_inbound(&self, i: Inbound) -> bool {
        match self.inbound.try_send(i) {
            Ok(()) => true,
            Err(_) => {
                self.stats.inbound_dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// A netDb message (DatabaseStore, DatabaseLookup, DatabaseSearchReply, DeliveryStatus,
    /// router-addressed Garlic) from the directly connected router `from`. Never waits; false
    /// if the manager's queue is full (the message is dropped and counted).
    pub fn deliver(&self, from: Hash, msg: I2npMessage) -> bool {
        self.try_inbound(Inbound::Message { from, msg })
    }

    /// A RouterInfo a transport learned (NTCP2 message 3, RouterInfo blocks); `flood` is the
    /// block's flood request. Verified like any store. Never waits.
    pub fn router_info_learned(&self, bytes: Vec<u8>, flood: bool) -> bool {
        self.try_inbound(Inbound::RouterInfo { bytes, flood })
    }

    /// A transport could not reach `to`: lookups and publishing move on at once. Never waits.
    pub fn send_failed(&self, to: Hash) -> bool {
        self.try_inbound(Inbound::SendFailed(to))
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.ok()?;
        rx.await.ok()
    }

    /// The RouterInfo of `key`: local, or looked up at floodfills (up to a minute).
    pub async fn lookup_router(&self, key: Hash) -> Option<RouterEntry> {
        self.ask(|tx| Command::LookupRouter(key, tx))
            .await
            .flatten()
    }

    /// The LeaseSet stored under `key`: local, or looked up at floodfills.
    pub async fn lookup_lease_set(&self, key: Hash) -> Option<LeaseSetEntry> {
        self.ask(|tx| Command::LookupLeaseSet(key, tx))
            .await
            .flatten()
    }

    /// The RouterInfo of `key` if we hold it (no network lookup).
    pub async fn router(&self, key: Hash) -> Option<RouterEntry> {
        self.ask(|tx| Command::Router(key, tx)).await.flatten()
    }

    /// Routers our tunnels may go through (see [`tunnel_candidate`]).
    pub async fn tunnel_candidates(&self) -> Vec<Candidate> {
        self.ask(Command::TunnelCandidates)
            .await
            .unwrap_or_default()
    }

    /// The `n` floodfills closest to `key` today.
    pub async fn closest_floodfills(&self, key: Hash, n: usize) -> Vec<Hash> {
        self.ask(|tx| Command::ClosestFloodfills(key, n, tx))
            .await
            .unwrap_or_default()
    }

    /// The manager's counters (stores, floods, lookups answered and made, publishing).
    pub async fn stats(&self) -> Stats {
        self.ask(Command::Stats).await.unwrap_or_default()
    }

    /// Store a LeaseSet given locally (e.g. one that arrived in a garlic message).
    pub async fn store_lease_set(
        &self,
        key: Hash,
        kind: StoreKind,
        bytes: Vec<u8>,
    ) -> Result<(), String> {
        self.ask(|reply| Command::StoreLeaseSet {
            key,
            kind,
            bytes,
            reply,
        })
        .await
        .unwrap_or_else(|| Err("the netDb is not running".into()))
    }

    /// Our RouterInfo changed (re-signed, new address): it is published again.
    pub async fn set_own_router_info(&self, ri: RouterInfo) {
        let _ = self
            .commands
            .send(Command::SetOwnRouterInfo(Box::new(ri)))
            .await;
    }

    /// Reseed now (if any source is configured).
    pub async fn reseed(&self) {
        let _ = self.commands.send(Command::Reseed).await;
    }

    /// Table sizes (updated after every event).
    pub fn counts(&self) -> Counts {
        *self.counts.borrow()
    }

    /// Wait until the counts satisfy `f` (for tests and start-up logic).
    pub async fn wait_counts(&mut self, f: impl Fn(&Counts) -> bool) {
        let _ = self.counts.wait_for(|c| f(c)).await;
    }

    pub fn handle_stats(&self) -> &HandleStats {
        &self.stats
    }
}

/// Start the netDb manager: loads the netDb directory, reseeds if needed, then runs until
/// every handle is dropped.
pub fn spawn(
    settings: NetDbSettings,
    outbound: Arc<dyn Outbound>,
    clock: Clock,
) -> std::io::Result<(NetDbHandle, tokio::task::JoinHandle<()>)> {
    let dir = match &settings.data_dir {
        Some(d) => Some(NetDbDir::open(d)?),
        None => None,
    };
    let now = clock();
    let mut db = NetDb::new(
        settings.config.clone(),
        settings.own.clone(),
        StdRng::from_rng(&mut rand::rng()),
        now,
    );
    if let Some(s) = settings.router_secret.clone() {
        db = db.with_router_secret(s);
    }
    let (in_tx, in_rx) = mpsc::channel(INBOUND_CAPACITY);
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (counts_tx, counts_rx) = watch::channel(Counts::default());
    let handle = NetDbHandle {
        inbound: in_tx,
        commands: cmd_tx.clone(),
        counts: counts_rx,
        stats: Arc::new(HandleStats::default()),
    };
    let manager = Manager {
        db,
        dir,
        outbound,
        clock,
        inbound: in_rx,
        commands: cmd_rx,
        self_commands: cmd_tx.downgrade(),
        counts: counts_tx,
        router_waiters: HashMap::new(),
        lease_set_waiters: HashMap::new(),
        pending_writes: HashMap::new(),
        reseed: settings.reseed,
        reseed_threshold: settings.reseed_threshold,
        reseeding: false,
        last_reseed: None,
    };
    let task = tokio::spawn(manager.run());
    Ok((handle, task))
}

struct Manager {
    db: NetDb<StdRng>,
    /// `None`: no persistence
    dir: Option<NetDbDir>,
    outbound: Arc<dyn Outbound>,
    clock: Clock,
    inbound: mpsc::Receiver<Inbound>,
    commands: mpsc::Receiver<Command>,
    /// for the reseed task to report back (weak: the task ends when all handles are gone)
    self_commands: mpsc::WeakSender<Command>,
    counts: watch::Sender<Counts>,
    router_waiters: HashMap<LookupId, Vec<oneshot::Sender<Option<RouterEntry>>>>,
    lease_set_waiters: HashMap<LookupId, Vec<oneshot::Sender<Option<LeaseSetEntry>>>>,
    /// file writes (`Some`) and deletions (`None`) not done yet
    pending_writes: HashMap<Hash, Option<Arc<[u8]>>>,
    reseed: ReseedSources,
    reseed_threshold: usize,
    reseeding: bool,
    last_reseed: Option<Date>,
}

impl Manager {
    async fn run(mut self) {
        self.load().await;
        self.maybe_reseed();
        let mut flush = tokio::time::interval(FLUSH_INTERVAL);
        let mut reseed_check = tokio::time::interval(RESEED_CHECK_INTERVAL);
        reseed_check.tick().await;
        loop {
            let now = (self.clock)();
            let wake = self
                .db
                .poll_timeout()
                .map(|t| Duration::from_millis(t.as_millis().saturating_sub(now.as_millis())))
                .unwrap_or(Duration::from_secs(60));
            let sleep = tokio::time::sleep_until(Instant::now() + wake);
            tokio::select! {
                i = self.inbound.recv() => match i {
                    Some(i) => self.on_inbound(i),
                    None => break,
                },
                c = self.commands.recv() => match c {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                () = sleep => {
                    let now = (self.clock)();
                    let actions = self.db.handle_timeout(now);
                    self.apply(actions);
                }
                _ = flush.tick() => self.flush().await,
                _ = reseed_check.tick() => self.maybe_reseed(),
            }
            let _ = self.counts.send(self.db.counts());
        }
        self.flush().await;
        debug!("netDb manager stopped");
    }

    /// Load the netDb directory, verifying every file; bad and stale files are deleted.
    async fn load(&mut self) {
        let Some(dir) = self.dir.clone() else {
            return;
        };
        let root = dir.root().to_path_buf();
        let files = match tokio::task::spawn_blocking(move || dir.list()).await {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                warn!(dir = %root.display(), error = %e, "netDb: cannot read the netDb directory");
                return;
            }
            Err(_) => return,
        };
        let now = (self.clock)();
        let (mut loaded, mut dropped) = (0usize, 0usize);
        for f in files {
            let result = match &f.bytes {
                Ok(bytes) => self
                    .db
                    .learn_router_info(bytes, Origin::Disk, now)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let named_right = |db: &NetDb<StdRng>| f.hash.is_some_and(|h| db.router(&h).is_some());
            match result {
                Ok(_) if named_right(&self.db) => loaded += 1,
                Ok(_) => {
                    // stored under the wrong name: rewrite under the right one
                    debug!(file = %f.path.display(), "netDb: RouterInfo file with a wrong name");
                    let _ = std::fs::remove_file(&f.path);
                    if let Ok(bytes) = &f.bytes
                        && let Ok(ri) = i2p_wire::RouterInfo::parse(bytes)
                    {
                        let h = ri.peek_unverified().hash();
                        self.pending_writes
                            .insert(h, Some(Arc::from(bytes.as_slice())));
                    }
                    loaded += 1;
                }
                Err(reason) => {
                    dropped += 1;
                    info!(file = %f.path.display(), %reason, "netDb: deleting an unusable RouterInfo file");
                    let _ = std::fs::remove_file(&f.path);
                }
            }
        }
        let c = self.db.counts();
        info!(
            loaded,
            dropped,
            routers = c.routers,
            floodfills = c.floodfills,
            "netDb: loaded the netDb directory"
        );
        let _ = self.counts.send(c);
    }

    fn maybe_reseed(&mut self) {
        let now = (self.clock)();
        let known = self.db.counts().routers;
        if known >= self.reseed_threshold || self.reseeding {
            return;
        }
        if self
            .last_reseed
            .is_some_and(|t| t.saturating_add_millis(RESEED_MIN_GAP_MS) > now)
        {
            return;
        }
        self.start_reseed(now, known);
    }

    fn start_reseed(&mut self, now: Date, known: usize) {
        if self.reseed.is_empty() {
            if known == 0 {
                warn!(
                    "netDb: no RouterInfos known and no reseed source configured (reseed.file, reseed.urls)"
                );
            }
            return;
        }
        info!(known, threshold = self.reseed_threshold, "netDb: reseeding");
        self.reseeding = true;
        self.last_reseed = Some(now);
        let sources = self.reseed.clone();
        let back = self.self_commands.clone();
        tokio::spawn(async move {
            let result = reseed::reseed(&sources, now).await.map_err(|errors| {
                errors
                    .iter()
                    .map(|(src, e)| format!("{src}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            if let Some(tx) = back.upgrade() {
                let _ = tx.send(Command::ReseedDone(result)).await;
            }
        });
    }

    fn on_inbound(&mut self, i: Inbound) {
        let now = (self.clock)();
        match i {
            Inbound::Message { from, msg } => {
                let actions = self.db.handle_message(from, msg, now);
                self.apply(actions);
            }
            Inbound::RouterInfo { bytes, flood } => {
                match self
                    .db
                    .learn_router_info(&bytes, Origin::Transport { flood }, now)
                {
                    Ok((_, actions)) => self.apply(actions),
                    Err(e) => debug!(reason = %e, "netDb: RouterInfo from a transport refused"),
                }
            }
            Inbound::SendFailed(to) => {
                let actions = self.db.send_failed(to, now);
                self.apply(actions);
            }
        }
    }

    fn on_command(&mut self, c: Command) {
        let now = (self.clock)();
        match c {
            Command::LookupRouter(key, reply) => {
                let (id, actions) = self.db.lookup_router(key, now);
                self.router_waiters.entry(id).or_default().push(reply);
                self.apply(actions);
            }
            Command::LookupLeaseSet(key, reply) => {
                let (id, actions) = self.db.lookup_lease_set(key, now);
                self.lease_set_waiters.entry(id).or_default().push(reply);
                self.apply(actions);
            }
            Command::Router(key, reply) => {
                let _ = reply.send(self.db.router(&key).cloned());
            }
            Command::TunnelCandidates(reply) => {
                let own = self.db.own_router_info().hash();
                let c = self
                    .db
                    .routers()
                    .filter(|e| e.hash() != own)
                    .filter_map(tunnel_candidate)
                    .collect();
                let _ = reply.send(c);
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.db.stats().clone());
            }
            Command::ClosestFloodfills(key, n, reply) => {
                let _ = reply.send(
                    self.db
                        .closest_floodfills(&key, n, &Default::default(), now),
                );
            }
            Command::StoreLeaseSet {
                key,
                kind,
                bytes,
                reply,
            } => {
                let r = self
                    .db
                    .store_lease_set_local(&key, kind, &bytes, now)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Command::SetOwnRouterInfo(ri) => {
                let actions = self.db.set_own_router_info(*ri, now);
                self.apply(actions);
            }
            Command::Reseed => {
                let known = self.db.counts().routers;
                if !self.reseeding {
                    self.start_reseed(now, known);
                }
            }
            Command::ReseedDone(result) => {
                self.reseeding = false;
                match result {
                    Ok(files) => {
                        let (mut added, mut refused) = (0usize, 0usize);
                        for (name, bytes) in files {
                            match self.db.learn_router_info(&bytes, Origin::Reseed, now) {
                                Ok((_, actions)) => {
                                    added += 1;
                                    self.apply(actions);
                                }
                                Err(e) => {
                                    refused += 1;
                                    info!(file = %name, reason = %e, "reseed: RouterInfo refused");
                                }
                            }
                        }
                        info!(added, refused, "reseed: done");
                    }
                    Err(e) => warn!(errors = %e, "reseed: every source failed"),
                }
            }
        }
    }

    fn apply(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send { to, msg } => self.outbound.send(to, msg),
                Action::SendToTunnel {
                    gateway,
                    tunnel_id,
                    msg,
                } => {
                    // no tunnels of our own yet: a TunnelGateway message straight to the gateway
                    let id = rand::random::<u32>().max(1);
                    match Action::tunnel_gateway_message(tunnel_id, &msg, id) {
                        Ok(m) => self.outbound.send(gateway, m),
                        Err(e) => debug!(error = %e, "netDb: cannot wrap a reply for a tunnel"),
                    }
                }
                Action::Persist { hash, bytes } => {
                    self.pending_writes.insert(hash, Some(bytes));
                }
                Action::Delete { hash } => {
                    self.pending_writes.insert(hash, None);
                }
                Action::LookupDone { id, result, key } => {
                    if !result.is_found() {
                        debug!(%key, ?result, "netDb: lookup ended without a result");
                    }
                    if let Some(ws) = self.router_waiters.remove(&id) {
                        let r = match &result {
                            LookupResult::RouterInfo(e) => Some(e.clone()),
                            _ => None,
                        };
                        for w in ws {
                            let _ = w.send(r.clone());
                        }
                    }
                    if let Some(ws) = self.lease_set_waiters.remove(&id) {
                        let r = match &result {
                            LookupResult::LeaseSet(e) => Some(e.clone()),
                            _ => None,
                        };
                        for w in ws {
                            let _ = w.send(r.clone());
                        }
                    }
                }
                Action::Published { floodfill } => {
                    info!(%floodfill, "netDb: our RouterInfo is published");
                }
                Action::Deliver { from, msg } => self.outbound.deliver(from, msg),
            }
        }
    }

    async fn flush(&mut self) {
        if self.pending_writes.is_empty() {
            return;
        }
        let writes = std::mem::take(&mut self.pending_writes);
        let Some(dir) = self.dir.clone() else {
            return;
        };
        let result = tokio::task::spawn_blocking(move || {
            let mut errors = Vec::new();
            for (hash, bytes) in writes {
                let r = match bytes {
                    Some(b) => dir.write(&hash, &b).map_err(|e| e.to_string()),
                    None => dir.remove(&hash).map_err(|e| e.to_string()),
                };
                if let Err(e) = r {
                    errors.push(e);
                }
            }
            errors
        })
        .await;
        if let Ok(errors) = result
            && let Some(first) = errors.first()
        {
            warn!(failed = errors.len(), first = %first, "netDb: cannot write the netDb directory");
        }
    }
}

/// A router that can be a hop of our tunnels: an X25519 (ECIES) router key, so that it reads
/// short build records; a published NTCP2 address with host and port, the only transport we
/// speak (the first hop must be reachable by us, later ones by their predecessors); not
/// hidden, not unreachable, not reporting congestion.
pub fn tunnel_candidate(e: &RouterEntry) -> Option<Candidate> {
    let caps = e.caps();
    if caps.hidden || caps.unreachable || caps.congestion.is_some() {
        return None;
    }
    let ri = e.info();
    let kc = ri.identity().keys_and_cert();
    if kc.enc_type() != i2p_wire::EncType::X25519 {
        return None;
    }
    let key: [u8; 32] = kc.encryption_key().try_into().ok()?;
    let ntcp2 = ri
        .addresses()
        .iter()
        .filter(|a| a.transport() == i2p_wire::Transport::Ntcp2)
        .filter_map(|a| a.ntcp2().ok())
        .find(|n| n.host.is_some() && n.port.is_some())?;
    let subnet = match ntcp2.host {
        Some(std::net::IpAddr::V4(v4)) => {
            let [a, b, _, _] = v4.octets();
            Some([a, b])
        }
        _ => None,
    };
    Some(Candidate {
        peer: HopPeer {
            router_hash: e.hash(),
            static_key: i2p_crypto::X25519Public(key),
        },
        subnet,
    })
}
