//! Test helpers: deterministic routers and LeaseSets, and a tiny in-memory network that drives
//! several `NetDb` state machines against each other on virtual time.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use i2p_crypto::{Ed25519SigningKey, SigType, X25519Secret};
use i2p_netdb::{Action, Config, LookupId, LookupResult, NetDb, Origin};
use i2p_wire::i2np::StoreKind;
use i2p_wire::lease_set2::Lease2;
use i2p_wire::{
    Date, Destination, EncType, Encode, EncryptionKey, Hash, I2npMessage, LeaseSet2Builder,
    RouterAddress, RouterIdentity, RouterInfo, RouterInfoBuilder, TunnelId,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const NET_ID: u8 = 99;
/// 2023-11-14T22:13:20Z
pub const T0: Date = Date::from_millis(1_700_000_000_000);

/// A router's keys and its signed RouterInfo.
pub struct TestRouter {
    pub signing: Ed25519SigningKey,
    pub x25519: X25519Secret,
    pub identity: RouterIdentity,
    pub ri: RouterInfo,
    pub floodfill: bool,
    pub index: u8,
}

impl TestRouter {
    pub fn new(seed: u64, index: u8, floodfill: bool, published: Date) -> TestRouter {
        Self::with_net(seed, index, floodfill, published, NET_ID)
    }

    pub fn with_net(seed: u64, index: u8, floodfill: bool, published: Date, net: u8) -> TestRouter {
        let mut rng = StdRng::seed_from_u64(seed);
        let signing = Ed25519SigningKey::generate(&mut rng);
        let x25519 = X25519Secret::generate(&mut rng);
        let mut pad = [0u8; 32];
        rng.fill_bytes(&mut pad);
        let identity =
            RouterIdentity::new_x25519_ed25519(x25519.public().as_bytes(), &signing.public(), &pad)
                .unwrap();
        let mut r = TestRouter {
            signing,
            x25519,
            identity,
            ri: placeholder(),
            floodfill,
            index,
        };
        r.ri = r.sign(published, net);
        r
    }

    /// Our RouterInfo re-signed with a new published date.
    pub fn sign(&self, published: Date, net: u8) -> RouterInfo {
        let addr = RouterAddress::ntcp2_published(
            3,
            &[self.index; 32],
            &[self.index; 16],
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, self.index)),
            12000,
        )
        .unwrap();
        RouterInfoBuilder::new(self.identity.clone(), published)
            .address(addr)
            .caps(if self.floodfill { "XfR" } else { "LR" })
            .net_id(net)
            .router_version("0.9.57")
            .sign(&|m| self.signing.sign(m).to_vec())
            .unwrap()
    }

    pub fn hash(&self) -> Hash {
        self.ri.hash()
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.ri.to_bytes()
    }
}

fn placeholder() -> RouterInfo {
    // replaced right away in `TestRouter::with_net`; any valid RouterInfo will do
    let k = Ed25519SigningKey::from_seed([1; 32]);
    let x = X25519Secret::from_bytes([2; 32]);
    let id =
        RouterIdentity::new_x25519_ed25519(x.public().as_bytes(), &k.public(), &[3; 32]).unwrap();
    RouterInfoBuilder::new(id, Date::ZERO)
        .sign(&|m| k.sign(m).to_vec())
        .unwrap()
}

/// A signed LeaseSet2 (key, bytes) of a destination from `seed`, one lease via `gateway`.
pub fn lease_set2(seed: u64, published: Date, expires_secs: u16, gateway: Hash) -> (Hash, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let signing = Ed25519SigningKey::generate(&mut rng);
    let mut pad = [0u8; 32];
    rng.fill_bytes(&mut pad);
    let dest = Destination::new(SigType::Ed25519, &signing.public(), &pad).unwrap();
    let key = dest.hash();
    let published_secs = u32::try_from(published.as_secs()).unwrap();
    let ls = LeaseSet2Builder::new(dest, published_secs, expires_secs)
        .encryption_key(EncryptionKey::new(EncType::X25519, &[7; 32]).unwrap())
        .lease(Lease2 {
            gateway,
            tunnel_id: TunnelId(1234),
            end_date: published_secs + u32::from(expires_secs),
        })
        .sign(&|m| signing.sign(m).to_vec())
        .unwrap();
    (key, ls.to_bytes())
}

/// A netDb config for tests: private net, fast pace.
pub fn config(floodfill: bool) -> Config {
    Config::new(NET_ID, floodfill)
}

/// One router of the simulated network.
pub struct SimNode {
    pub db: NetDb<StdRng>,
    pub router: TestRouter,
    pub done: Vec<(LookupId, Hash, LookupResult)>,
    pub persisted: HashSet<Hash>,
    pub deleted: Vec<Hash>,
    pub published: Vec<Hash>,
    pub tunnel_sends: Vec<(Hash, TunnelId, I2npMessage)>,
    /// messages from garlic cloves handed back to the shell (not the netDb's)
    pub delivered: Vec<I2npMessage>,
    /// (from, message type) of every message handled
    pub received: Vec<(Hash, u8)>,
}

type Filter = Box<dyn Fn(usize, usize, &I2npMessage) -> bool>;

/// The in-memory network: messages take `latency_ms`, the first message on a pair of
/// routers also hands the sender's RouterInfo to the receiver (as an NTCP2 handshake does).
pub struct Sim {
    pub now: Date,
    pub nodes: Vec<SimNode>,
    pub latency_ms: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize, usize)>>,
    in_flight: HashMap<u64, I2npMessage>,
    seq: u64,
    connected: HashSet<(usize, usize)>,
    index: HashMap<Hash, usize>,
    /// return false to drop a message (from index, to index, message)
    pub filter: Option<Filter>,
    pub delivered: u64,
    /// hand the dialling router's RouterInfo to the receiver on a pair's first message
    pub handshake_router_info: bool,
}

impl Sim {
    pub fn new(now: Date) -> Sim {
        Sim {
            now,
            nodes: Vec::new(),
            latency_ms: 20,
            queue: BinaryHeap::new(),
            in_flight: HashMap::new(),
            seq: 0,
            connected: HashSet::new(),
            index: HashMap::new(),
            filter: None,
            delivered: 0,
            handshake_router_info: true,
        }
    }

    /// Add a router with netDb config `cfg`; returns its index.
    pub fn add(&mut self, router: TestRouter, cfg: Config) -> usize {
        let rng = StdRng::seed_from_u64(u64::from(router.index) * 7919 + 1);
        let db = NetDb::new(cfg, router.ri.clone(), rng, self.now)
            .with_router_secret(router.x25519.clone());
        let i = self.nodes.len();
        self.index.insert(router.hash(), i);
        self.nodes.push(SimNode {
            db,
            router,
            done: Vec::new(),
            persisted: HashSet::new(),
            deleted: Vec::new(),
            published: Vec::new(),
            delivered: Vec::new(),
            tunnel_sends: Vec::new(),
            received: Vec::new(),
        });
        i
    }

    pub fn hash(&self, i: usize) -> Hash {
        self.nodes[i].router.hash()
    }

    pub fn index_of(&self, h: &Hash) -> Option<usize> {
        self.index.get(h).copied()
    }

    /// Give router `i` the RouterInfo of router `j` (as a reseed would).
    pub fn seed(&mut self, i: usize, j: usize) {
        let bytes = self.nodes[j].router.bytes();
        let now = self.now;
        let (_, actions) = self.nodes[i]
            .db
            .learn_router_info(&bytes, Origin::Reseed, now)
            .unwrap();
        self.apply(i, actions);
    }

    /// Carry out actions produced by router `i`.
    pub fn apply(&mut self, i: usize, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send { to, msg } => {
                    let Some(j) = self.index_of(&to) else {
                        continue;
                    };
                    if let Some(f) = &self.filter
                        && !f(i, j, &msg)
                    {
                        continue;
                    }
                    self.seq += 1;
                    let at = self.now.as_millis() + self.latency_ms;
                    self.queue.push(Reverse((at, self.seq, i, j)));
                    self.in_flight.insert(self.seq, msg);
                }
                Action::SendToTunnel {
                    gateway,
                    tunnel_id,
                    msg,
                } => self.nodes[i].tunnel_sends.push((gateway, tunnel_id, msg)),
                Action::Persist { hash, .. } => {
                    self.nodes[i].persisted.insert(hash);
                }
                Action::Delete { hash } => self.nodes[i].deleted.push(hash),
                Action::LookupDone { id, key, result } => {
                    self.nodes[i].done.push((id, key, result));
                }
                Action::Published { floodfill } => self.nodes[i].published.push(floodfill),
                Action::Deliver { msg, .. } => self.nodes[i].delivered.push(msg),
            }
        }
    }

    fn deliver(&mut self, seq: u64, from: usize, to: usize) {
        let Some(msg) = self.in_flight.remove(&seq) else {
            return;
        };
        let now = self.now;
        let pair = (from.min(to), from.max(to));
        if self.connected.insert(pair) && self.handshake_router_info {
            // the dialling side's RouterInfo arrives in the handshake
            let ri = self.nodes[from].db.own_router_info().bytes().to_vec();
            if let Ok((_, actions)) =
                self.nodes[to]
                    .db
                    .learn_router_info(&ri, Origin::Transport { flood: false }, now)
            {
                self.apply(to, actions);
            }
        }
        let from_hash = self.hash(from);
        self.nodes[to].received.push((from_hash, msg.type_id()));
        self.delivered += 1;
        let actions = self.nodes[to].db.handle_message(from_hash, msg, now);
        self.apply(to, actions);
    }

    /// Run until virtual time `end` (messages and timers in time order).
    pub fn run_until(&mut self, end: Date) {
        let mut steps = 0u64;
        loop {
            steps += 1;
            assert!(steps < 5_000_000, "simulation does not settle");
            let next_msg = self.queue.peek().map(|Reverse((t, ..))| *t);
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.db.poll_timeout().map(|t| (t.as_millis(), i)))
                .min();
            let t_msg = next_msg.unwrap_or(u64::MAX);
            let t_timer = next_timer.map_or(u64::MAX, |(t, _)| t);
            let t = t_msg.min(t_timer);
            if t > end.as_millis() {
                self.now = end;
                return;
            }
            self.now = Date::from_millis(t.max(self.now.as_millis()));
            if t_msg <= t_timer {
                let Reverse((_, seq, from, to)) = self.queue.pop().unwrap();
                self.deliver(seq, from, to);
            } else if let Some((_, i)) = next_timer {
                let now = self.now;
                let actions = self.nodes[i].db.handle_timeout(now);
                self.apply(i, actions);
            }
        }
    }

    pub fn run_for(&mut self, ms: u64) {
        let end = self.now.saturating_add_millis(ms);
        self.run_until(end);
    }

    /// Start a RouterInfo lookup at router `i`.
    pub fn lookup_router(&mut self, i: usize, key: Hash) -> LookupId {
        let now = self.now;
        let (id, actions) = self.nodes[i].db.lookup_router(key, now);
        self.apply(i, actions);
        id
    }

    pub fn lookup_lease_set(&mut self, i: usize, key: Hash) -> LookupId {
        let now = self.now;
        let (id, actions) = self.nodes[i].db.lookup_lease_set(key, now);
        self.apply(i, actions);
        id
    }

    /// Hand router `to` a message as if `from` had sent it.
    pub fn inject(&mut self, from: usize, to: usize, msg: I2npMessage) {
        let now = self.now;
        let from_hash = self.hash(from);
        let actions = self.nodes[to].db.handle_message(from_hash, msg, now);
        self.apply(to, actions);
    }

    pub fn result(&self, i: usize, id: LookupId) -> Option<&LookupResult> {
        self.nodes[i]
            .done
            .iter()
            .find(|(d, ..)| *d == id)
            .map(|(_, _, r)| r)
    }
}

/// A store message body for a LeaseSet.
pub fn ls_store_kind() -> StoreKind {
    StoreKind::LeaseSet2
}
