//! One local destination: its task (garlic sessions, streams, LeaseSet2, remote LeaseSets)
//! and the [`RouterDestination`] handle front-ends hold.
//!
//! Outbound path: streaming packet → I2CP client payload (gzip, ports, protocol 6) → I2NP
//! Data message → LOCAL garlic clove (with our LeaseSet2 as a DatabaseStore clove the first
//! time and whenever it changed) → ECIES-ratchet garlic for the remote's X25519 key (from its
//! LeaseSet2) → one of our outbound tunnels → the remote's inbound gateway (a lease).
//! Inbound: the dispatcher hands us what comes out of our inbound tunnels; garlic is opened,
//! DatabaseStore cloves update the remote LeaseSet cache, Data cloves feed the streams.
//!
//! Datagrams (spec/datagrams.md) take the same path with protocol 17 (repliable), 18 (raw),
//! 19 (Datagram2) or 20 (Datagram3) in the client payload header. The handle builds, signs and
//! gzips them on the caller's task (`i2p_wire::datagram`), the destination task queues them
//! like streaming packets while the remote's LeaseSet is looked up. Inbound datagrams are
//! decoded and checked (a repliable datagram's signature against its embedded Destination; a
//! Datagram2's also against our hash) and handed to `recv_datagram` through a bounded queue;
//! when that queue is full the arriving datagram is dropped and counted (drop-newest).
//!
//! LeaseSet2 (spec/common-structures.md "LeaseSet2"; spec/i2np.md DatabaseStore): built from
//! our inbound tunnels with one X25519 (type 4) key, signed with the destination's Ed25519 key,
//! published whenever the leases change and every few minutes: a DatabaseStore with a reply
//! token (reply to one of our inbound tunnels) garlic-wrapped for the floodfill closest to our
//! hash (one-time ECIES to a router, spec/ecies-routers.md) and sent through an outbound tunnel,
//! as i2pd does. A store without a DeliveryStatus after 10 s is sent to the next floodfill.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use i2p_client::{
    BoxFuture, ClientError, ConnectOptions, Datagram, DatagramKind, DestinationKeys,
    DestinationSpec, I2pStream, LocalDestination, PrivateKeys, Resolved, Target,
};
use i2p_crypto::X25519Public;
use i2p_garlic::{Clove, Delivery, GarlicConfig, Sessions};
use i2p_netdb::entry::LeaseSetEntry;
use i2p_streaming::{StreamConfig, StreamEvent, StreamId, StreamManager};
use i2p_tunnel::data::DeliveryInstructions;
use i2p_tunnel::pool::{PoolConfig, PoolShape};
use i2p_wire::client_payload::{ClientPayload, protocol};
use i2p_wire::datagram::{Datagram1, Datagram2, Datagram3};
use i2p_wire::i2np::{Data, DatabaseStore, Garlic, StoreKind, StoreReply};
use i2p_wire::{
    AnyLeaseSet, Date, Destination, EncType, Encode, EncryptionKey, Hash, I2npBody, I2npMessage,
    Lease2, LeaseSet2, LeaseSet2Builder, TunnelId,
};
use rand::RngExt;
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot, watch};
use tracing::{debug, info, trace, warn};

use super::pipe::{self, Pipe};
use super::{ClientSettings, DEST_CHANNEL, DestEvent, HubCmd};
use crate::netdb::{Clock, NetDbHandle};

/// How long a published LeaseSet2 is valid after its published date (the spec allows about
/// 11 minutes; leases end sooner anyway).
const LS_MAX_EXPIRES_SECS: u64 = 600;
/// Republish at least this often even without lease changes.
const REPUBLISH_EVERY_MS: u64 = 5 * 60 * 1000;
/// A store without its DeliveryStatus after this long goes to the next floodfill.
const STORE_CONFIRM_MS: u64 = 10_000;
/// Floodfills tried per publication.
const PUBLISH_FLOODFILLS: usize = 3;
/// Packets held per remote while its LeaseSet is looked up.
const MAX_QUEUED_PER_REMOTE: usize = 256;
/// How long a connect waits for the LeaseSet, the SYN reply and everything.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Lifetime of I2NP messages we create.
const MESSAGE_LIFETIME_MS: u64 = 60_000;
/// Housekeeping tick (garlic expiry, publication, ACK-only garlic).
const HOUSEKEEPING: Duration = Duration::from_millis(500);
/// Received datagrams waiting for `recv_datagram`; when full, arriving ones are dropped.
const DATAGRAM_QUEUE: usize = 128;
/// Largest gzipped client payload of a datagram we send: what is left of an I2NP message
/// (64 KiB) after the garlic layer, its cloves and a bundled LeaseSet2.
const MAX_DATAGRAM_WIRE: usize = 62 * 1024;

/// Signs streaming packets with the destination's key.
type PacketSigner = Box<dyn Fn(&[u8]) -> Vec<u8> + Send>;

/// Commands to the destination task (from the handle, the stream pipes, helper tasks).
#[derive(Debug)]
pub(super) enum DestCmd {
    Connect {
        target: Box<Target>,
        opts: ConnectOptions,
        reply: oneshot::Sender<Result<I2pStream, ClientError>>,
    },
    LookupDestination {
        hash: Hash,
        reply: oneshot::Sender<Result<Destination, ClientError>>,
    },
    /// A LeaseSet lookup finished.
    LookupDone {
        hash: Hash,
        entry: Option<LeaseSetEntry>,
    },
    /// Floodfills to publish to (closest first) and their X25519 keys.
    Floodfills(Vec<(Hash, X25519Public)>),
    /// Bytes the app wrote.
    Write {
        id: StreamId,
        data: Vec<u8>,
    },
    /// The app closed its sending side.
    WriteClosed(StreamId),
    /// The app consumed a chunk: more received bytes may be handed over.
    Consumed(StreamId),
    /// The app dropped the stream.
    AppGone(StreamId),
    /// Send a datagram (an encoded client payload) to a remote.
    Datagram {
        to: Hash,
        payload: Vec<u8>,
    },
    Close,
}

/// A remote destination we talk to.
#[derive(Debug)]
struct Remote {
    dest: Destination,
    static_key: X25519Public,
    leases: Vec<Lease2>,
    published: Date,
    /// the version of our LeaseSet it has been sent
    sent_ls_version: u64,
}

/// Something waiting for a remote's LeaseSet.
#[derive(Debug)]
enum Waiting {
    Connect {
        opts: ConnectOptions,
        reply: oneshot::Sender<Result<I2pStream, ClientError>>,
    },
    Lookup(oneshot::Sender<Result<Destination, ClientError>>),
}

/// A stream we opened that is waiting for the SYN reply.
#[derive(Debug)]
struct Connecting {
    reply: oneshot::Sender<Result<I2pStream, ClientError>>,
    deadline: u64,
    remote: Destination,
    local_port: u16,
    remote_port: u16,
}

/// State of our LeaseSet's publication.
#[derive(Debug, Default)]
struct Publish {
    /// encoded LeaseSet2 and its version (bumped on every rebuild)
    current: Option<(Arc<Vec<u8>>, u64)>,
    version: u64,
    /// store sent, awaiting its DeliveryStatus: (token, floodfill index, sent ms)
    pending: Option<(u32, usize, u64)>,
    floodfills: Vec<(Hash, X25519Public)>,
    last_published_ms: u64,
    /// a floodfill list was asked for and has not come back yet
    asking: bool,
    /// a store was sent at least once
    sent: bool,
}

/// What the task shares with the handle.
#[derive(Debug)]
struct Shared {
    dest: Destination,
    keys: DestinationKeys,
    /// for signing datagrams on the caller's task
    private: Arc<PrivateKeys>,
    /// the router's address book, for datagrams to `.i2p` names
    naming: Option<Arc<crate::naming::Naming>>,
    ready: watch::Receiver<bool>,
    closed: AtomicBool,
}

/// The front-ends' handle to a destination of ours.
#[derive(Debug)]
pub struct RouterDestination {
    shared: Arc<Shared>,
    cmds: mpsc::Sender<DestCmd>,
    accept: AsyncMutex<mpsc::Receiver<I2pStream>>,
    datagrams: AsyncMutex<mpsc::Receiver<Datagram>>,
}

/// Start a destination: register its pool with the dispatcher and spawn its task.
pub(super) async fn spawn(
    id: u32,
    keys: PrivateKeys,
    spec: DestinationSpec,
    hub: mpsc::Sender<HubCmd>,
    netdb: NetDbHandle,
    settings: &ClientSettings,
) -> Result<Arc<RouterDestination>, ClientError> {
    let (events_tx, events_rx) = mpsc::channel(DEST_CHANNEL);
    let t = &spec.tunnels;
    let pool = PoolConfig {
        inbound: PoolShape {
            length: t.inbound_length,
            quantity: t.inbound_quantity.max(1),
            variance: t.inbound_length_variance,
        },
        outbound: PoolShape {
            length: t.outbound_length,
            quantity: t.outbound_quantity.max(1),
            variance: t.outbound_length_variance,
        },
        distinct_subnets: settings.distinct_subnets,
        ..PoolConfig::exploratory()
    };
    let nickname = if spec.nickname.is_empty() {
        format!("dest-{id}")
    } else {
        spec.nickname.clone()
    };
    hub.send(HubCmd::Register {
        id,
        nickname: nickname.clone(),
        pool,
        events: events_tx,
    })
    .await
    .map_err(|_| ClientError::Closed)?;

    let (cmds_tx, cmds_rx) = mpsc::channel(DEST_CHANNEL);
    let (accept_tx, accept_rx) = mpsc::channel(64);
    let (ready_tx, ready_rx) = watch::channel(false);
    let (datagrams_tx, datagrams_rx) = mpsc::channel(DATAGRAM_QUEUE);
    let enc = keys.leaseset_x25519();
    let dest = keys.destination.clone();
    let keys = Arc::new(keys);
    let shared = Arc::new(Shared {
        dest: dest.clone(),
        keys: DestinationKeys(keys.to_bytes().to_vec()),
        private: keys.clone(),
        naming: settings.naming.clone(),
        ready: ready_rx,
        closed: AtomicBool::new(false),
    });
    let signing = keys.signing.clone();
    let signer: PacketSigner = Box::new(move |b| signing.sign(b).to_vec());
    let mut streams = StreamManager::new(StreamConfig::default(), dest.clone(), 64, signer);
    streams.set_listening(spec.publish);
    let task = DestTask {
        id,
        nickname,
        keys,
        enc_public: enc.public(),
        sessions: Sessions::new(enc, GarlicConfig::default()),
        streams,
        hub,
        netdb,
        naming: settings.naming.clone(),
        clock: settings.clock.clone(),
        open_streams: settings.open_streams.clone(),
        streams_reported: 0,
        cmds_tx: cmds_tx.clone(),
        publish_ls: spec.publish,
        inbound: Vec::new(),
        outbound: 0,
        publish: Publish::default(),
        remotes: HashMap::new(),
        by_static: HashMap::new(),
        queued: HashMap::new(),
        waiting: HashMap::new(),
        looking_up: HashMap::new(),
        connecting: HashMap::new(),
        pipes: HashMap::new(),
        accept: accept_tx,
        datagrams: datagrams_tx,
        datagram_stats: DatagramStats::default(),
        ready: ready_tx,
    };
    tokio::spawn(task.run(events_rx, cmds_rx));
    Ok(Arc::new(RouterDestination {
        shared,
        cmds: cmds_tx,
        accept: AsyncMutex::new(accept_rx),
        datagrams: AsyncMutex::new(datagrams_rx),
    }))
}

struct DestTask {
    id: u32,
    nickname: String,
    keys: Arc<PrivateKeys>,
    enc_public: X25519Public,
    sessions: Sessions,
    streams: StreamManager,
    hub: mpsc::Sender<HubCmd>,
    netdb: NetDbHandle,
    /// the router's address book, for `.i2p` names
    naming: Option<Arc<crate::naming::Naming>>,
    /// the router's clock (dates in messages, LeaseSets and stream timers)
    clock: Clock,
    /// the router-wide open-stream gauge and what this destination has added to it
    open_streams: Arc<std::sync::atomic::AtomicI64>,
    streams_reported: i64,
    cmds_tx: mpsc::Sender<DestCmd>,
    publish_ls: bool,
    /// usable inbound gateways (gateway, tunnel id, expiration ms)
    inbound: Vec<(Hash, TunnelId, u64)>,
    outbound: usize,
    publish: Publish,
    remotes: HashMap<Hash, Remote>,
    by_static: HashMap<[u8; 32], Hash>,
    /// encoded client payloads (streaming packets, datagrams) waiting for a remote's LeaseSet
    queued: HashMap<Hash, VecDeque<Vec<u8>>>,
    waiting: HashMap<Hash, Vec<Waiting>>,
    /// lookups in flight (started at ms)
    looking_up: HashMap<Hash, u64>,
    connecting: HashMap<StreamId, Connecting>,
    pipes: HashMap<StreamId, Pipe>,
    accept: mpsc::Sender<I2pStream>,
    /// received datagrams towards `recv_datagram`
    datagrams: mpsc::Sender<Datagram>,
    datagram_stats: DatagramStats,
    ready: watch::Sender<bool>,
}

/// Counters of inbound datagrams (logged at debug level as they change).
#[derive(Debug, Default)]
struct DatagramStats {
    received: u64,
    /// did not decode, or a signature did not verify
    refused: u64,
    /// the queue towards `recv_datagram` was full: the arriving datagram was dropped
    dropped_full: u64,
}

/// An I2NP message expiring `MESSAGE_LIFETIME_MS` from now on `clock`.
fn message(clock: &Clock, body: I2npBody) -> Option<I2npMessage> {
    let exp = Date::from_millis(clock().as_millis() + MESSAGE_LIFETIME_MS);
    let id = rand::rng().random_range(1..=u32::MAX);
    I2npMessage::new(id, exp, body).ok()
}

impl DestTask {
    fn now_ms(&self) -> u64 {
        (self.clock)().as_millis()
    }

    async fn run(
        mut self,
        mut events: mpsc::Receiver<DestEvent>,
        mut cmds: mpsc::Receiver<DestCmd>,
    ) {
        info!(dest = %self.nickname, b32 = %self.keys.destination.b32_address(), "destination started");
        let mut house = tokio::time::interval(HOUSEKEEPING);
        house.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.streams.poll_timeout();
            let now = self.now_ms();
            let sleep = async {
                match deadline {
                    Some(ms) => {
                        let wait = ms.saturating_sub(now);
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => self.event(ev),
                    None => break,
                },
                cmd = cmds.recv() => match cmd {
                    Some(DestCmd::Close) | None => break,
                    Some(cmd) => self.command(cmd),
                },
                () = sleep => self.streams.handle_timeout(self.now_ms()),
                _ = house.tick() => self.housekeeping(),
            }
            self.drive();
            let open = i64::try_from(self.streams.stream_count()).unwrap_or(i64::MAX);
            self.report_streams(open);
        }
        self.report_streams(0);
        for (_, mut p) in self.pipes.drain() {
            p.shut();
        }
        for (_, c) in self.connecting.drain() {
            let _ = c.reply.send(Err(ClientError::Closed));
        }
        let _ = self.ready.send(false);
        let _ = self.hub.send(HubCmd::Unregister(self.id)).await;
        info!(dest = %self.nickname, "destination closed");
    }

    /// Moves the router-wide gauge by the change of our open-stream count.
    fn report_streams(&mut self, open: i64) {
        if open != self.streams_reported {
            self.open_streams.fetch_add(
                open - self.streams_reported,
                std::sync::atomic::Ordering::Relaxed,
            );
            self.streams_reported = open;
        }
    }

    // -----------------------------------------------------------------------------------------
    // inputs

    fn event(&mut self, ev: DestEvent) {
        match ev {
            DestEvent::Tunnels { inbound, outbound } => {
                let changed = gateways(&inbound) != gateways(&self.inbound);
                self.inbound = inbound;
                self.outbound = outbound;
                // an unpublished destination (the proxies') still needs a current LeaseSet:
                // it travels with our garlic so that remotes can answer
                if changed {
                    self.rebuild_lease_set();
                }
                self.update_ready();
            }
            DestEvent::Message(msg) => self.inbound_message(msg, 0),
        }
    }

    fn inbound_message(&mut self, msg: I2npMessage, depth: u8) {
        let now = self.now_ms();
        match msg.into_body() {
            I2npBody::Garlic(g) if depth == 0 => self.garlic(&g, now),
            I2npBody::DeliveryStatus(s) => {
                if let Some((token, _, _)) = self.publish.pending
                    && token == s.msg_id
                {
                    self.publish.pending = None;
                    debug!(dest = %self.nickname, "LeaseSet store confirmed by the floodfill");
                    self.update_ready();
                }
            }
            I2npBody::DatabaseStore(s) => self.remote_lease_set(&s, now),
            I2npBody::Data(d) => self.data(d.payload(), now),
            other => {
                debug!(dest = %self.nickname, type_id = other.type_id(), "unexpected message for a destination")
            }
        }
    }

    fn garlic(&mut self, g: &Garlic, now: u64) {
        let opened = match self.sessions.open(g.data(), now) {
            Ok(o) => o,
            Err(e) => {
                debug!(dest = %self.nickname, error = %e, "garlic message did not open");
                return;
            }
        };
        // LeaseSets first: a Data clove may need the sender's LeaseSet to be answered
        let (stores, rest): (Vec<Clove>, Vec<Clove>) = opened
            .cloves
            .into_iter()
            .partition(|c| matches!(c.message.body(), I2npBody::DatabaseStore(_)));
        for c in stores.into_iter().chain(rest) {
            match c.delivery {
                Delivery::Local | Delivery::Destination(_) => {
                    self.inbound_message(c.message, 1);
                }
                other => {
                    debug!(dest = %self.nickname, delivery = ?other, "garlic clove for elsewhere ignored")
                }
            }
        }
    }

    fn data(&mut self, payload: &[u8], now: u64) {
        let p = match ClientPayload::decode(payload) {
            Ok(p) => p,
            Err(e) => {
                debug!(dest = %self.nickname, error = %e, "bad client payload");
                return;
            }
        };
        match p.protocol {
            protocol::STREAMING => {
                if let Err(e) =
                    self.streams
                        .on_packet(&p.data, p.from_port, p.to_port, now, &mut rand::rng())
                {
                    debug!(dest = %self.nickname, error = %e, "streaming packet refused");
                }
            }
            protocol::DATAGRAM | protocol::RAW | protocol::DATAGRAM2 | protocol::DATAGRAM3 => {
                self.inbound_datagram(p, now);
            }
            other => {
                debug!(dest = %self.nickname, protocol = other, "client protocol not handled yet")
            }
        }
    }

    /// Decode and check a datagram and queue it for `recv_datagram`.
    fn inbound_datagram(&mut self, p: ClientPayload, now: u64) {
        trace!(
            dest = %self.nickname,
            protocol = p.protocol,
            from_port = p.from_port,
            to_port = p.to_port,
            bytes = %i2p_wire::base64::encode(&p.data),
            "datagram bytes"
        );
        let protocol = p.protocol;
        let stats = &mut self.datagram_stats;
        let dg = match decode_datagram(p, &self.keys.destination.hash(), now) {
            Ok(d) => d,
            Err(e) => {
                stats.refused += 1;
                debug!(
                    dest = %self.nickname,
                    protocol,
                    error = %e,
                    refused = stats.refused,
                    "datagram dropped: it does not decode or its signature does not verify"
                );
                return;
            }
        };
        stats.received += 1;
        debug!(
            dest = %self.nickname,
            kind = ?dg.kind,
            from_port = dg.from_port,
            to_port = dg.to_port,
            len = dg.payload.len(),
            received = stats.received,
            "datagram received"
        );
        match self.datagrams.try_send(dg) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                stats.dropped_full += 1;
                debug!(
                    dest = %self.nickname,
                    dropped = stats.dropped_full,
                    "datagram queue full: the arriving datagram was dropped"
                );
            }
            // the handle is gone; the destination closes soon
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// A LeaseSet that came in a garlic clove (the sender's own, bundled).
    fn remote_lease_set(&mut self, store: &DatabaseStore, now: u64) {
        let i2p_wire::i2np::StoreData::LeaseSet(bytes) = store.data() else {
            return;
        };
        match LeaseSetEntry::validate(store.kind(), bytes, &store.key(), Date::from_millis(now)) {
            Ok(entry) => {
                self.learn(&store.key(), &entry);
            }
            // i2pd's proxies flag their LeaseSet2 unpublished: it must stay out of netDbs,
            // but the destination it was sent to keeps it to answer (LeaseSet2 flags in
            // spec/common-structures.md)
            Err(i2p_netdb::entry::StoreError::Unpublished) => {
                let key = store.key();
                let ls = AnyLeaseSet::parse(store.kind().code(), bytes)
                    .ok()
                    .and_then(|any| match any {
                        AnyLeaseSet::LeaseSet2(u) => u.verify(Date::from_millis(now)).ok(),
                        _ => None,
                    })
                    .filter(|ls| ls.destination().hash() == key);
                match ls {
                    Some(ls) => {
                        self.learn_ls2(&key, &ls);
                    }
                    None => debug!(dest = %self.nickname, "bundled unpublished LeaseSet refused"),
                }
            }
            Err(e) => debug!(dest = %self.nickname, error = %e, "bundled LeaseSet refused"),
        }
    }

    /// Remember a remote's (verified) LeaseSet; true when it is usable.
    fn learn(&mut self, key: &Hash, entry: &LeaseSetEntry) -> bool {
        let Ok(AnyLeaseSet::LeaseSet2(u)) = AnyLeaseSet::parse(entry.kind().code(), entry.bytes())
        else {
            debug!(dest = %self.nickname, "remote LeaseSet is not a LeaseSet2; unsupported");
            return false;
        };
        // LeaseSetEntry validated it; verifying again is cheap and keeps the types honest
        let Ok(ls): Result<LeaseSet2, _> =
            u.verify(entry.published().max(Date::from_millis(self.now_ms())))
        else {
            return false;
        };
        self.learn_ls2(key, &ls)
    }

    /// Remember a remote's verified LeaseSet2; true when it is usable (has an X25519 key).
    fn learn_ls2(&mut self, key: &Hash, ls: &LeaseSet2) -> bool {
        let Some(k) = ls
            .encryption_keys()
            .iter()
            .find(|k| k.enc_type() == Some(EncType::X25519))
        else {
            debug!(dest = %self.nickname, "remote LeaseSet has no X25519 key; unsupported");
            return false;
        };
        let Ok(static_bytes) = <[u8; 32]>::try_from(k.key()) else {
            return false;
        };
        if let Some(old) = self.remotes.get(key)
            && old.published > ls.published()
        {
            return true;
        }
        let sent = self.remotes.get(key).map_or(0, |r| r.sent_ls_version);
        self.by_static.insert(static_bytes, *key);
        self.remotes.insert(
            *key,
            Remote {
                dest: ls.destination().clone(),
                static_key: X25519Public(static_bytes),
                leases: ls.leases().to_vec(),
                published: ls.published(),
                sent_ls_version: sent,
            },
        );
        true
    }

    fn command(&mut self, cmd: DestCmd) {
        let now = self.now_ms();
        match cmd {
            DestCmd::Connect {
                target,
                opts,
                reply,
            } => {
                let hash = match &*target {
                    Target::Hash(h) => *h,
                    Target::Destination(d) => d.hash(),
                    Target::Name(n) => match super::resolve_name(n, self.naming.as_deref()) {
                        Ok(r) => r.hash(),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                            return;
                        }
                    },
                };
                if hash == self.keys.destination.hash() {
                    let _ = reply.send(Err(ClientError::Router(
                        "a destination cannot connect to itself".into(),
                    )));
                    return;
                }
                if self.usable_remote(&hash, now) {
                    self.start_connect(hash, opts, reply, now);
                } else {
                    self.waiting
                        .entry(hash)
                        .or_default()
                        .push(Waiting::Connect { opts, reply });
                    self.look_up(hash, now);
                }
            }
            DestCmd::LookupDestination { hash, reply } => {
                if let Some(r) = self.remotes.get(&hash) {
                    let _ = reply.send(Ok(r.dest.clone()));
                } else {
                    self.waiting
                        .entry(hash)
                        .or_default()
                        .push(Waiting::Lookup(reply));
                    self.look_up(hash, now);
                }
            }
            DestCmd::LookupDone { hash, entry } => {
                self.looking_up.remove(&hash);
                let ok = entry.is_some_and(|e| self.learn(&hash, &e));
                let waiting = self.waiting.remove(&hash).unwrap_or_default();
                for w in waiting {
                    match w {
                        Waiting::Connect { opts, reply } if ok => {
                            self.start_connect(hash, opts, reply, now);
                        }
                        Waiting::Lookup(reply) if ok => {
                            let d = self.remotes.get(&hash).map(|r| r.dest.clone());
                            let _ = reply.send(d.ok_or(ClientError::Closed));
                        }
                        Waiting::Connect { reply, .. } => {
                            let _ = reply.send(Err(not_found(&hash)));
                        }
                        Waiting::Lookup(reply) => {
                            let _ = reply.send(Err(not_found(&hash)));
                        }
                    }
                }
                if ok {
                    if let Some(q) = self.queued.remove(&hash) {
                        for payload in q {
                            self.send_client_payload(&hash, payload, now);
                        }
                    }
                } else if let Some(q) = self.queued.remove(&hash) {
                    debug!(dest = %self.nickname, dropped = q.len(), "no LeaseSet for a remote: queued messages dropped");
                }
            }
            DestCmd::Floodfills(ffs) => {
                self.publish.asking = false;
                self.publish.floodfills = ffs;
                self.publish_next(0, now);
            }
            DestCmd::Write { id, data } => {
                let n = self.streams.write(id, &data);
                if n < data.len() {
                    debug!(dest = %self.nickname, "stream send buffer smaller than granted credit");
                }
                if let Some(p) = self.pipes.get_mut(&id) {
                    p.last_cap = p.last_cap.saturating_sub(n);
                }
            }
            DestCmd::WriteClosed(id) => self.streams.close(id),
            DestCmd::Consumed(id) => self.feed_app(id),
            DestCmd::AppGone(id) => {
                self.streams.reset(id);
                if let Some(mut p) = self.pipes.remove(&id) {
                    p.shut();
                }
            }
            DestCmd::Datagram { to, payload } => self.send_client_payload(&to, payload, now),
            DestCmd::Close => {}
        }
    }

    fn usable_remote(&self, hash: &Hash, now: u64) -> bool {
        self.remotes
            .get(hash)
            .is_some_and(|r| r.leases.iter().any(|l| l.end().as_millis() > now + 5_000))
    }

    fn look_up(&mut self, hash: Hash, now: u64) {
        if self.looking_up.contains_key(&hash) {
            return;
        }
        self.looking_up.insert(hash, now);
        let db = self.netdb.clone();
        let tx = self.cmds_tx.clone();
        tokio::spawn(async move {
            let entry = db.lookup_lease_set(hash).await;
            let _ = tx.send(DestCmd::LookupDone { hash, entry }).await;
        });
    }

    fn start_connect(
        &mut self,
        hash: Hash,
        opts: ConnectOptions,
        reply: oneshot::Sender<Result<I2pStream, ClientError>>,
        now: u64,
    ) {
        let Some(remote) = self.remotes.get(&hash) else {
            let _ = reply.send(Err(not_found(&hash)));
            return;
        };
        let id = self.streams.connect(
            remote.dest.clone(),
            opts.from_port,
            opts.to_port,
            now,
            &mut rand::rng(),
        );
        let deadline =
            now + u64::try_from(opts.timeout.unwrap_or(CONNECT_TIMEOUT).as_millis()).unwrap_or(0);
        self.connecting.insert(
            id,
            Connecting {
                reply,
                deadline,
                remote: remote.dest.clone(),
                local_port: opts.from_port,
                remote_port: opts.to_port,
            },
        );
    }

    // -----------------------------------------------------------------------------------------
    // outputs

    /// After every input: move stream events and packets along.
    fn drive(&mut self) {
        let now = self.now_ms();
        while let Some(ev) = self.streams.poll_event() {
            self.stream_event(ev);
        }
        while let Some(t) = self.streams.poll_transmit(now) {
            let hash = t.remote.hash();
            self.send_stream_packet(&hash, t.from_port, t.to_port, t.packet, now);
        }
        // the send buffers may have drained
        let ids: Vec<StreamId> = self.pipes.keys().copied().collect();
        for id in ids {
            let cap = self.streams.send_capacity(id);
            if let Some(p) = self.pipes.get_mut(&id) {
                p.update_credit(cap);
            }
        }
    }

    fn stream_event(&mut self, ev: StreamEvent) {
        match ev {
            StreamEvent::Incoming {
                id,
                remote,
                local_port,
                remote_port,
            } => {
                let stream = self.attach(id, remote, local_port, remote_port);
                if self.accept.try_send(stream).is_err() {
                    debug!(dest = %self.nickname, "nobody accepting streams; reset");
                    self.streams.reset(id);
                    if let Some(mut p) = self.pipes.remove(&id) {
                        p.shut();
                    }
                }
            }
            StreamEvent::Connected(id) => {
                if let Some(c) = self.connecting.remove(&id) {
                    let stream = self.attach(id, c.remote, c.local_port, c.remote_port);
                    if c.reply.send(Ok(stream)).is_err() {
                        self.streams.reset(id);
                    }
                }
            }
            StreamEvent::Readable(id) => self.feed_app(id),
            StreamEvent::Writable(_) | StreamEvent::Pong { .. } => {}
            StreamEvent::Finished(id) => {
                if let Some(p) = self.pipes.get_mut(&id) {
                    p.finished = true;
                }
                self.feed_app(id);
            }
            StreamEvent::Closed { id, reason } => {
                debug!(dest = %self.nickname, ?reason, "stream closed");
                if let Some(c) = self.connecting.remove(&id) {
                    let _ = c.reply.send(Err(ClientError::Refused));
                }
                if let Some(p) = self.pipes.get_mut(&id) {
                    p.finished = true;
                    p.closed = true;
                    p.credit.close();
                }
                // the pipe stays until the app has everything the stream still holds
                self.feed_app(id);
            }
        }
    }

    /// Give a stream an app-side pipe.
    fn attach(
        &mut self,
        id: StreamId,
        remote: Destination,
        local_port: u16,
        remote_port: u16,
    ) -> I2pStream {
        let cap = self.streams.send_capacity(id);
        let (app, pipe) = pipe::spawn(id, self.cmds_tx.clone(), cap);
        self.pipes.insert(id, pipe);
        I2pStream::new(Box::new(app), remote, local_port, remote_port)
    }

    /// Hand received bytes to the app as far as its queue has room; signal EOF when the
    /// remote finished and everything was handed over.
    fn feed_app(&mut self, id: StreamId) {
        let Some(p) = self.pipes.get_mut(&id) else {
            return;
        };
        let Some(tx) = &p.to_app else {
            return;
        };
        while tx.capacity() > 0 {
            let chunk = self.streams.read(id, 32 * 1024);
            if chunk.is_empty() {
                break;
            }
            if tx.try_send(chunk).is_err() {
                break;
            }
        }
        if p.finished && tx.capacity() > 0 {
            // everything was handed over (the last read came back empty): EOF
            p.to_app = None;
            if p.closed {
                self.pipes.remove(&id);
            }
        }
    }

    fn send_stream_packet(
        &mut self,
        hash: &Hash,
        from_port: u16,
        to_port: u16,
        pkt: Vec<u8>,
        now: u64,
    ) {
        let payload = ClientPayload {
            protocol: protocol::STREAMING,
            from_port,
            to_port,
            data: pkt,
        };
        match payload.encode(false) {
            Ok(bytes) => self.send_client_payload(hash, bytes, now),
            Err(e) => warn!(dest = %self.nickname, error = %e, "cannot encode a streaming packet"),
        }
    }

    /// Send an encoded I2CP client payload (streaming packet or datagram) to a remote in a
    /// Data message, queueing it while the remote's LeaseSet is looked up.
    fn send_client_payload(&mut self, hash: &Hash, payload: Vec<u8>, now: u64) {
        if !self.usable_remote(hash, now) {
            let q = self.queued.entry(*hash).or_default();
            if q.len() < MAX_QUEUED_PER_REMOTE {
                q.push_back(payload);
            }
            self.look_up(*hash, now);
            return;
        }
        let Some(data) = Data::new(payload)
            .ok()
            .and_then(|d| message(&self.clock, I2npBody::Data(d)))
        else {
            warn!(dest = %self.nickname, "client payload too large for a Data message");
            return;
        };
        let mut cloves = vec![Clove {
            delivery: Delivery::Local,
            message: data,
        }];
        self.send_garlic(hash, &mut cloves, now);
    }

    /// Seal cloves for a remote (adding our LeaseSet when it has not seen this version) and
    /// send them to one of its leases.
    fn send_garlic(&mut self, hash: &Hash, cloves: &mut Vec<Clove>, now: u64) {
        let ls = self.publish.current.clone();
        let Some(remote) = self.remotes.get_mut(hash) else {
            return;
        };
        if let Some((bytes, version)) = &ls
            && remote.sent_ls_version != *version
            && let Ok(store) = DatabaseStore::lease_set(
                self.keys.destination.hash(),
                StoreKind::LeaseSet2,
                bytes.to_vec(),
                None,
            )
            && let Some(m) = message(&self.clock, I2npBody::DatabaseStore(store))
        {
            cloves.insert(
                0,
                Clove {
                    delivery: Delivery::Local,
                    message: m,
                },
            );
            remote.sent_ls_version = *version;
        }
        let leases: Vec<Lease2> = remote
            .leases
            .iter()
            .filter(|l| l.end().as_millis() > now + 5_000)
            .copied()
            .collect();
        let Some(lease) = leases
            .get(rand::rng().random_range(0..leases.len().max(1)))
            .copied()
        else {
            return;
        };
        let static_key = remote.static_key;
        let sealed = match self
            .sessions
            .seal(&static_key, cloves, now, &mut rand::rng())
        {
            Ok(s) => s,
            Err(e) => {
                warn!(dest = %self.nickname, error = %e, "cannot seal a garlic message");
                return;
            }
        };
        self.send_to_lease(sealed, lease);
    }

    fn send_to_lease(&mut self, sealed: Vec<u8>, lease: Lease2) {
        let Some(msg) = Garlic::new(sealed)
            .ok()
            .and_then(|g| message(&self.clock, I2npBody::Garlic(g)))
        else {
            return;
        };
        let cmd = HubCmd::Send {
            id: self.id,
            msg,
            to: DeliveryInstructions::Tunnel(lease.tunnel_id, lease.gateway),
        };
        if self.hub.try_send(cmd).is_err() {
            debug!(dest = %self.nickname, "dispatcher queue full, a garlic message was dropped");
        }
    }

    /// Twice a second: garlic expiry and ACK-only messages, connect timeouts, publication.
    fn housekeeping(&mut self) {
        let now = self.now_ms();
        // forget remotes whose every lease ended over a minute ago (looked up again if needed)
        let before = self.remotes.len();
        self.remotes
            .retain(|_, r| r.leases.iter().any(|l| l.end().as_millis() + 60_000 > now));
        if self.remotes.len() != before {
            let remotes = &self.remotes;
            self.by_static.retain(|_, h| remotes.contains_key(h));
        }
        self.sessions.tick(now);
        for (static_key, sealed) in self.sessions.poll_transmit(now, &mut rand::rng()) {
            let lease = self
                .by_static
                .get(static_key.as_bytes())
                .and_then(|h| self.remotes.get(h))
                .and_then(|r| r.leases.iter().find(|l| l.end().as_millis() > now).copied());
            if let Some(lease) = lease {
                self.send_to_lease(sealed, lease);
            }
        }
        let expired: Vec<StreamId> = self
            .connecting
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(c) = self.connecting.remove(&id) {
                let _ = c
                    .reply
                    .send(Err(ClientError::Timeout("no reply to the SYN".into())));
            }
            self.streams.reset(id);
        }
        if self.publish_ls {
            if let Some((_, idx, sent)) = self.publish.pending
                && now >= sent + STORE_CONFIRM_MS
            {
                debug!(dest = %self.nickname, "LeaseSet store not confirmed; trying the next floodfill");
                self.publish.pending = None;
                self.publish_next(idx + 1, now);
            }
            if self.publish.pending.is_none()
                && self.publish.current.is_some()
                && now >= self.publish.last_published_ms + REPUBLISH_EVERY_MS
            {
                self.rebuild_lease_set();
            }
        }
    }

    /// Ready: inbound and outbound tunnels, and (for published destinations) a LeaseSet2
    /// built and sent to a floodfill. The floodfill's confirmation is not waited for: our
    /// LeaseSet also travels with our first garlic message to every remote.
    fn update_ready(&mut self) {
        let tunnels = !self.inbound.is_empty() && self.outbound > 0;
        let published = !self.publish_ls || self.publish.sent;
        let ready = tunnels && published;
        if *self.ready.borrow() != ready {
            info!(dest = %self.nickname, ready, "destination readiness changed");
            let _ = self.ready.send(ready);
        }
    }

    // -----------------------------------------------------------------------------------------
    // LeaseSet2

    fn rebuild_lease_set(&mut self) {
        let now = self.now_ms();
        let now_s = now / 1000;
        let leases: Vec<Lease2> = self
            .inbound
            .iter()
            .filter(|(_, _, exp)| *exp > now)
            .take(16)
            .map(|(g, id, exp)| Lease2 {
                gateway: *g,
                tunnel_id: *id,
                end_date: u32::try_from(exp / 1000).unwrap_or(u32::MAX),
            })
            .collect();
        if leases.is_empty() {
            return;
        }
        let last_end = leases
            .iter()
            .map(|l| u64::from(l.end_date))
            .max()
            .unwrap_or(now_s);
        let expires = last_end.saturating_sub(now_s).clamp(1, LS_MAX_EXPIRES_SECS);
        let Ok(key) = EncryptionKey::new(EncType::X25519, self.enc_public.as_bytes()) else {
            return;
        };
        let mut b = LeaseSet2Builder::new(
            self.keys.destination.clone(),
            u32::try_from(now_s).unwrap_or(u32::MAX),
            u16::try_from(expires).unwrap_or(600),
        )
        .encryption_key(key)
        // not for netDbs: only the remotes we send it to keep it
        .unpublished(!self.publish_ls);
        for l in leases {
            b = b.lease(l);
        }
        let signing = &self.keys.signing;
        let ls = match b.sign(&|bytes| signing.sign(bytes).to_vec()) {
            Ok(ls) => ls,
            Err(e) => {
                warn!(dest = %self.nickname, error = %e, "cannot sign our LeaseSet2");
                return;
            }
        };
        let bytes = Arc::new(ls.to_bytes());
        self.publish.version += 1;
        self.publish.current = Some((bytes.clone(), self.publish.version));
        self.publish.last_published_ms = now;
        if !self.publish_ls {
            return;
        }
        // our own netDb holds it too (a floodfill of ours serves it; local lookups find it)
        let db = self.netdb.clone();
        let key = self.keys.destination.hash();
        let local = bytes.to_vec();
        tokio::spawn(async move {
            if let Err(e) = db.store_lease_set(key, StoreKind::LeaseSet2, local).await {
                debug!(error = %e, "our LeaseSet2 was not stored locally");
            }
        });
        self.ask_floodfills();
    }

    fn ask_floodfills(&mut self) {
        if self.publish.asking {
            return;
        }
        self.publish.asking = true;
        let db = self.netdb.clone();
        let tx = self.cmds_tx.clone();
        let key = self.keys.destination.hash();
        tokio::spawn(async move {
            let mut out = Vec::new();
            for h in db.closest_floodfills(key, PUBLISH_FLOODFILLS * 2).await {
                if let Some(e) = db.router(h).await
                    && let Ok(k) = <[u8; 32]>::try_from(e.info().identity().encryption_key())
                    && e.info().identity().enc_type() == EncType::X25519
                {
                    out.push((h, X25519Public(k)));
                }
                if out.len() >= PUBLISH_FLOODFILLS {
                    break;
                }
            }
            let _ = tx.send(DestCmd::Floodfills(out)).await;
        });
    }

    /// Send the current LeaseSet to floodfill number `idx` of the list.
    fn publish_next(&mut self, idx: usize, now: u64) {
        let Some((bytes, _)) = self.publish.current.clone() else {
            return;
        };
        let Some((ff, ff_key)) = self.publish.floodfills.get(idx).copied() else {
            debug!(dest = %self.nickname, "no floodfill left to publish to; retrying later");
            self.publish.last_published_ms = now.saturating_sub(REPUBLISH_EVERY_MS - 30_000);
            return;
        };
        let Some((gw, tid, _)) = self
            .inbound
            .iter()
            .find(|(_, _, e)| *e > now + 10_000)
            .copied()
        else {
            return;
        };
        let token = rand::rng().random_range(1..=u32::MAX);
        let reply = StoreReply {
            token,
            tunnel_id: tid,
            gateway: gw,
        };
        let Some(store) = DatabaseStore::lease_set(
            self.keys.destination.hash(),
            StoreKind::LeaseSet2,
            bytes.to_vec(),
            Some(reply),
        )
        .ok()
        .and_then(|s| message(&self.clock, I2npBody::DatabaseStore(s))) else {
            return;
        };
        let sealed = match i2p_netdb::router_garlic::seal_for_router(
            &store,
            &ff_key,
            Date::from_millis(now),
            &mut rand::rng(),
        ) {
            Ok(g) => g,
            Err(e) => {
                warn!(dest = %self.nickname, error = %e, "cannot wrap our LeaseSet store");
                return;
            }
        };
        let Some(msg) = message(&self.clock, I2npBody::Garlic(sealed)) else {
            return;
        };
        self.publish.pending = Some((token, idx, now));
        self.publish.sent = true;
        self.update_ready();
        debug!(dest = %self.nickname, floodfill = %ff, "publishing our LeaseSet2");
        let _ = self.hub.try_send(HubCmd::Send {
            id: self.id,
            msg,
            to: DeliveryInstructions::Router(ff),
        });
    }
}

fn gateways(v: &[(Hash, TunnelId, u64)]) -> Vec<(Hash, TunnelId)> {
    let mut g: Vec<_> = v.iter().map(|(h, t, _)| (*h, *t)).collect();
    g.sort_by_key(|(h, t)| (*h.as_bytes(), t.0));
    g
}

/// A datagram from `keys`' destination to `to` as a gzipped I2CP client payload (compressed,
/// as i2pd 2.45.1's datagram destinations send them): body per kind (`i2p_wire::datagram`),
/// protocol 17–20 and the ports in the gzip header.
fn encode_datagram(keys: &PrivateKeys, to: &Hash, d: Datagram) -> Result<Vec<u8>, ClientError> {
    let bad = |e: i2p_wire::Error| ClientError::Router(format!("cannot build the datagram: {e}"));
    let sign = |b: &[u8]| keys.signing.sign(b).to_vec();
    let from = keys.destination.clone();
    let (proto, data) = match d.kind {
        DatagramKind::Raw => (protocol::RAW, d.payload),
        DatagramKind::Repliable => (
            protocol::DATAGRAM,
            Datagram1::sign(from, d.payload, &sign)
                .map_err(bad)?
                .to_bytes(),
        ),
        DatagramKind::Datagram2 => (
            protocol::DATAGRAM2,
            Datagram2::sign(from, to, None, None, d.payload, &sign)
                .map_err(bad)?
                .to_bytes(),
        ),
        DatagramKind::Datagram3 => (
            protocol::DATAGRAM3,
            Datagram3::new(from.hash(), None, d.payload).to_bytes(),
        ),
    };
    let payload = ClientPayload {
        protocol: proto,
        from_port: d.from_port,
        to_port: d.to_port,
        data,
    }
    .encode(true)
    .map_err(bad)?;
    if payload.len() > MAX_DATAGRAM_WIRE {
        return Err(ClientError::Router(format!(
            "datagram too large: {} bytes gzipped, at most {MAX_DATAGRAM_WIRE}",
            payload.len()
        )));
    }
    Ok(payload)
}

/// The datagram in a client payload of protocol 17–20 (any other is treated as 20), checked:
/// signatures against the embedded Destination, a Datagram2's also against our hash `me`.
fn decode_datagram(p: ClientPayload, me: &Hash, now: u64) -> Result<Datagram, i2p_wire::Error> {
    let (kind, from, payload) = match p.protocol {
        protocol::RAW => (DatagramKind::Raw, None, p.data),
        protocol::DATAGRAM => {
            let (from, payload) = Datagram1::parse(&p.data)?.verify()?.into_parts();
            (
                DatagramKind::Repliable,
                Some(Resolved::Destination(from)),
                payload,
            )
        }
        protocol::DATAGRAM2 => {
            let (from, payload) = Datagram2::parse(&p.data)?
                .verify(me, Date::from_millis(now))?
                .into_parts();
            (
                DatagramKind::Datagram2,
                Some(Resolved::Destination(from)),
                payload,
            )
        }
        _ => {
            let (from, payload) = Datagram3::parse(&p.data)?.into_parts();
            (DatagramKind::Datagram3, Some(Resolved::Hash(from)), payload)
        }
    };
    Ok(Datagram {
        kind,
        from,
        from_port: p.from_port,
        to_port: p.to_port,
        payload,
    })
}

fn not_found(h: &Hash) -> ClientError {
    ClientError::LeaseSetNotFound(i2p_wire::base32::b32_address(h))
}

impl LocalDestination for RouterDestination {
    fn destination(&self) -> &Destination {
        &self.shared.dest
    }

    fn ready(&self) -> BoxFuture<'_, Result<(), ClientError>> {
        Box::pin(async move {
            let mut rx = self.shared.ready.clone();
            loop {
                if *rx.borrow_and_update() {
                    return Ok(());
                }
                if rx.changed().await.is_err() {
                    return Err(ClientError::Closed);
                }
            }
        })
    }

    fn is_ready(&self) -> bool {
        *self.shared.ready.borrow()
    }

    fn lookup_destination(&self, hash: Hash) -> BoxFuture<'_, Result<Destination, ClientError>> {
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            self.cmds
                .send(DestCmd::LookupDestination { hash, reply })
                .await
                .map_err(|_| ClientError::Closed)?;
            rx.await.map_err(|_| ClientError::Closed)?
        })
    }

    fn connect(
        &self,
        target: Target,
        opts: ConnectOptions,
    ) -> BoxFuture<'_, Result<I2pStream, ClientError>> {
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            self.cmds
                .send(DestCmd::Connect {
                    target: Box::new(target),
                    opts,
                    reply,
                })
                .await
                .map_err(|_| ClientError::Closed)?;
            rx.await.map_err(|_| ClientError::Closed)?
        })
    }

    fn accept(&self) -> BoxFuture<'_, Result<I2pStream, ClientError>> {
        Box::pin(async move {
            let mut rx = self.accept.lock().await;
            rx.recv().await.ok_or(ClientError::Closed)
        })
    }

    fn send_datagram(&self, to: Target, d: Datagram) -> BoxFuture<'_, Result<(), ClientError>> {
        Box::pin(async move {
            let to = match &to {
                Target::Hash(h) => *h,
                Target::Destination(d) => d.hash(),
                Target::Name(n) => super::resolve_name(n, self.shared.naming.as_deref())?.hash(),
            };
            if to == self.shared.dest.hash() {
                return Err(ClientError::Router(
                    "a destination cannot send datagrams to itself".into(),
                ));
            }
            let payload = encode_datagram(&self.shared.private, &to, d)?;
            self.cmds
                .send(DestCmd::Datagram { to, payload })
                .await
                .map_err(|_| ClientError::Closed)
        })
    }

    fn recv_datagram(&self) -> BoxFuture<'_, Result<Datagram, ClientError>> {
        Box::pin(async move {
            let mut rx = self.datagrams.lock().await;
            rx.recv().await.ok_or(ClientError::Closed)
        })
    }

    fn private_keys(&self) -> DestinationKeys {
        self.shared.keys.clone()
    }

    fn close(&self) {
        if !self.shared.closed.swap(true, Ordering::Relaxed) {
            let _ = self.cmds.try_send(DestCmd::Close);
        }
    }
}

impl Drop for RouterDestination {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn keys(seed: u8) -> PrivateKeys {
        use rand::SeedableRng;
        PrivateKeys::generate(&mut rand::rngs::StdRng::from_seed([seed; 32]))
    }

    fn datagram(kind: DatagramKind, payload: &[u8]) -> Datagram {
        Datagram {
            kind,
            from: None,
            from_port: 1234,
            to_port: 4321,
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn every_kind_encodes_and_decodes_with_ports_and_sender() {
        let (a, b) = (keys(1), keys(2));
        let to = b.destination.hash();
        let now = 1_800_000_000_000;
        for (kind, proto) in [
            (DatagramKind::Raw, protocol::RAW),
            (DatagramKind::Repliable, protocol::DATAGRAM),
            (DatagramKind::Datagram2, protocol::DATAGRAM2),
            (DatagramKind::Datagram3, protocol::DATAGRAM3),
        ] {
            let payload: Vec<u8> = (0..3000u32).map(|i| (i % 7) as u8).collect();
            let wire = encode_datagram(&a, &to, datagram(kind, &payload)).unwrap();
            let p = ClientPayload::decode(&wire).unwrap();
            assert_eq!((p.protocol, p.from_port, p.to_port), (proto, 1234, 4321));
            let d = decode_datagram(p, &to, now).unwrap();
            assert_eq!(d.kind, kind);
            assert_eq!(d.payload, payload);
            assert_eq!((d.from_port, d.to_port), (1234, 4321));
            let want_from = match kind {
                DatagramKind::Raw => None,
                DatagramKind::Datagram3 => Some(Resolved::Hash(a.destination.hash())),
                _ => Some(Resolved::Destination(a.destination.clone())),
            };
            assert_eq!(d.from, want_from, "{kind:?}");
        }
    }

    #[test]
    fn forged_and_misdirected_datagrams_are_refused() {
        let (a, b, c) = (keys(3), keys(4), keys(5));
        let to = b.destination.hash();
        let now = 1_800_000_000_000;
        // a repliable datagram whose payload was changed on the way
        let wire = encode_datagram(&a, &to, datagram(DatagramKind::Repliable, b"pay")).unwrap();
        let mut p = ClientPayload::decode(&wire).unwrap();
        if let Some(last) = p.data.last_mut() {
            *last ^= 1;
        }
        assert!(decode_datagram(p, &to, now).is_err());
        // a repliable datagram claiming another sender than the signer
        let wire = encode_datagram(&a, &to, datagram(DatagramKind::Repliable, b"pay")).unwrap();
        let mut p = ClientPayload::decode(&wire).unwrap();
        let dl = a.destination.encoded_len();
        let mut forged = c.destination.to_bytes();
        forged.extend_from_slice(&p.data[dl..]);
        p.data = forged;
        assert!(decode_datagram(p, &to, now).is_err());
        // a Datagram2 made for b, replayed to c
        let wire = encode_datagram(&a, &to, datagram(DatagramKind::Datagram2, b"pay")).unwrap();
        let p = ClientPayload::decode(&wire).unwrap();
        assert!(decode_datagram(p.clone(), &c.destination.hash(), now).is_err());
        assert!(decode_datagram(p, &to, now).is_ok());
    }

    #[test]
    fn oversized_datagrams_are_refused_before_sending() {
        let (a, b) = (keys(6), keys(7));
        // incompressible bytes beyond what fits a Data message in garlic
        let mut state = 0x9e37_79b9_u32;
        let big: Vec<u8> = (0..MAX_DATAGRAM_WIRE + 1)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let to = b.destination.hash();
        assert!(encode_datagram(&a, &to, datagram(DatagramKind::Raw, &big)).is_err());
        let fits = &big[..MAX_DATAGRAM_WIRE - 1024];
        assert!(encode_datagram(&a, &to, datagram(DatagramKind::Raw, fits)).is_ok());
    }
}
