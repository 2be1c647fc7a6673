//! Our own tunnels: a pool of inbound and outbound tunnels kept at a configured length and
//! quantity, built, tested, used and replaced before they expire (spec/tunnel-creation-ecies.md,
//! docs/overview/tunnel-routing.md, spec/tunnel-implementation.md). Sans-IO: the caller passes
//! the time in milliseconds since the epoch, a random source and the candidate hops, and sends
//! the [`Out`] messages it gets back; messages for us come in through the `on_*` methods.
//!
//! # Building
//!
//! Hops are picked at random among the candidates, never twice in one tunnel, never two from
//! the same IPv4 /16 when [`PoolConfig::distinct_subnets`] is set (i2pd and Java I2P refuse
//! that; a private testnet on one /16 must turn it off), peers that recently declined or timed
//! out only when nothing else is left. The build message is a ShortTunnelBuild
//! ([`crate::build::RequestBuilder`]):
//!
//! * **outbound** (we are the gateway): sent straight to the first hop. The last hop, the
//!   outbound endpoint, sends the records back as an OutboundTunnelBuildReply, garlic-wrapped
//!   with the one-time key and tag derived from its record, to the gateway of one of our
//!   inbound tunnels, or — while we have none — to a zero-hop reply tunnel: a tunnel id of
//!   ours, the endpoint sending a TunnelGateway message straight to us (what i2pd does at
//!   start). [`TunnelPool::garlic_reply_key`] gives the caller the key for the tag.
//! * **inbound** (we are the endpoint): sent through one of our outbound tunnels to the
//!   inbound gateway, or straight to it while we have none. The last hop forwards the records
//!   to us as a ShortTunnelBuild under the message id we chose
//!   ([`TunnelPool::expects_build_reply`]).
//!
//! Every hop must accept; a build whose reply has not come after
//! [`PoolConfig::build_timeout_ms`] (i2pd: 30 s) fails. Either way the pool starts another
//! build with other peers on the next [`TunnelPool::tick`].
//!
//! # Keeping the pool
//!
//! A tunnel lives [`PoolConfig::lifetime_ms`] (10 minutes, the lifetime every hop was asked
//! for). A replacement is started [`PoolConfig::replace_before_ms`] before a tunnel expires,
//! so the pool keeps its quantity across rotations; tunnels in their last
//! [`PoolConfig::expiring_ms`] are no longer chosen for new traffic. Every
//! [`PoolConfig::test_interval_ms`] each outbound tunnel carries a DeliveryStatus message to
//! the gateway of one of our inbound tunnels (taken in turn); when it comes back through that
//! inbound tunnel both tunnels passed. After [`PoolConfig::max_test_failures`] failed tests in
//! a row a tunnel is dropped and replaced.

use std::collections::HashMap;

use i2p_crypto::CryptoRng;
use i2p_wire::i2np::simple::DeliveryStatus;
use i2p_wire::i2np::tunnel::{ShortBuildRecords, TunnelData, TunnelGateway};
use i2p_wire::{Date, Encode, Hash, I2npBody, I2npMessage, Mapping, TunnelId};
use tracing::{debug, info};

use crate::build::{
    DEFAULT_EXPIRATION_SECS, HopPeer, HopRole, LayerEncryption, PendingBuild, Record,
    RequestBuilder, ShortRequest,
};
use crate::data::{
    DeliveryInstructions, Endpoint, EndpointConfig, Gateway, LayerKeys, decrypt_inbound,
    pre_decrypt_outbound,
};

/// How long the I2NP messages we send into tunnels live.
const MESSAGE_LIFETIME_MS: u64 = 10_000;
/// How long a build message lives (the hops forward it within this).
const BUILD_MESSAGE_LIFETIME_MS: u64 = 20_000;
/// Most hops in a tunnel (spec/tunnel-creation-ecies.md allows 8 records; i2pd builds 7 hops).
pub const MAX_HOPS: u8 = 7;

/// Length and quantity of one direction of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolShape {
    /// Hops (0–[`MAX_HOPS`]); 0 means we are gateway and endpoint at once.
    pub length: u8,
    /// Tunnels to keep.
    pub quantity: u8,
    /// Random change of the length per tunnel, as i2pd's `lengthVariance`: positive adds
    /// 0..=v hops, negative adds -v..=v; the result stays within 0–[`MAX_HOPS`].
    pub variance: i8,
}

/// Pool settings. [`PoolConfig::exploratory`] is i2pd's exploratory pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    pub inbound: PoolShape,
    pub outbound: PoolShape,
    /// Never two hops from the same IPv4 /16 in one tunnel.
    pub distinct_subnets: bool,
    /// Tunnel lifetime (the expiration asked of every hop).
    pub lifetime_ms: u64,
    /// Start a replacement this long before a tunnel expires.
    pub replace_before_ms: u64,
    /// Stop choosing a tunnel for new traffic this long before it expires.
    pub expiring_ms: u64,
    /// A build without a reply after this long failed.
    pub build_timeout_ms: u64,
    /// Time between test rounds.
    pub test_interval_ms: u64,
    /// A test message not back after this long failed.
    pub test_timeout_ms: u64,
    /// Consecutive failed tests after which a tunnel is dropped.
    pub max_test_failures: u8,
}

impl PoolConfig {
    /// i2pd's exploratory pool: 2 hops, 3 tunnels each way.
    pub fn exploratory() -> PoolConfig {
        PoolConfig {
            inbound: PoolShape {
                length: 2,
                quantity: 3,
                variance: 0,
            },
            outbound: PoolShape {
                length: 2,
                quantity: 3,
                variance: 0,
            },
            distinct_subnets: true,
            lifetime_ms: u64::from(DEFAULT_EXPIRATION_SECS) * 1000,
            replace_before_ms: 90_000,
            expiring_ms: 60_000,
            build_timeout_ms: 30_000,
            test_interval_ms: 20_000,
            test_timeout_ms: 15_000,
            max_test_failures: 3,
        }
    }
}

/// A router that may be a hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub peer: HopPeer,
    /// The first two octets of its published IPv4 address, if any.
    pub subnet: Option<[u8; 2]>,
}

/// A message to send to a directly connected router.
#[derive(Debug)]
pub struct Out {
    pub to: Hash,
    pub message: I2npMessage,
}

/// Which way a tunnel carries traffic, seen from us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        })
    }
}

/// Why a message could not be sent through an outbound tunnel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no outbound tunnel is ready")]
    NoTunnel,
    #[error("the message does not fit a tunnel: {0}")]
    Gateway(#[from] crate::data::GatewayError),
    #[error("cannot build the message: {0}")]
    Wire(String),
}

/// Counters since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub builds_started: u64,
    pub built_inbound: u64,
    pub built_outbound: u64,
    /// a hop declined
    pub builds_declined: u64,
    /// no reply in time
    pub builds_timed_out: u64,
    /// a reply that could not be read
    pub builds_bad_reply: u64,
    /// no build started for lack of enough suitable peers
    pub builds_no_peers: u64,
    pub tests_passed: u64,
    pub tests_failed: u64,
    /// tunnels dropped after failed tests
    pub dropped_failing: u64,
    pub expired: u64,
}

impl PoolStats {
    /// Builds that succeeded.
    pub fn built(&self) -> u64 {
        self.built_inbound + self.built_outbound
    }

    /// Builds that ended without a tunnel: declined, timed out, or an unreadable reply.
    pub fn failed(&self) -> u64 {
        self.builds_declined + self.builds_timed_out + self.builds_bad_reply
    }

    /// Builds that ended, and the part of them that succeeded (0–1; 0 when none ended).
    pub fn success_rate(&self) -> (u64, f64) {
        let ok = self.built();
        let ended = ok + self.failed();
        let rate = if ended == 0 {
            0.0
        } else {
            ok as f64 / ended as f64
        };
        (ended, rate)
    }
}

impl std::ops::AddAssign<&PoolStats> for PoolStats {
    /// Sum the counters of several pools.
    fn add_assign(&mut self, o: &PoolStats) {
        self.builds_started += o.builds_started;
        self.built_inbound += o.built_inbound;
        self.built_outbound += o.built_outbound;
        self.builds_declined += o.builds_declined;
        self.builds_timed_out += o.builds_timed_out;
        self.builds_bad_reply += o.builds_bad_reply;
        self.builds_no_peers += o.builds_no_peers;
        self.tests_passed += o.tests_passed;
        self.tests_failed += o.tests_failed;
        self.dropped_failing += o.dropped_failing;
        self.expired += o.expired;
    }
}

/// One hop of one of our tunnels as its creator sees it.
#[derive(Clone, Debug)]
struct Hop {
    router: Hash,
    receive: TunnelId,
}

#[derive(Debug)]
struct Tunnel {
    /// local serial number, for logs and tests
    serial: u64,
    direction: Direction,
    /// path order: for outbound from the first hop after us, for inbound from the gateway
    hops: Vec<Hop>,
    /// each hop's layer keys, in the same order (kept whole so the data path borrows them)
    layers: Vec<LayerKeys>,
    /// inbound: the tunnel id we receive on as the endpoint
    ours: TunnelId,
    /// inbound only: reassembly at our endpoint
    endpoint: Option<Endpoint>,
    expires_ms: u64,
    test_failures: u8,
}

impl Tunnel {
    /// Where messages enter: the first hop and its receive id; for a zero-hop tunnel us.
    fn entry(&self, us: &Hash) -> (Hash, TunnelId) {
        match self.hops.first() {
            Some(h) => (h.router, h.receive),
            None => (*us, self.ours),
        }
    }

    fn usable(&self, now_ms: u64, margin_ms: u64) -> bool {
        self.expires_ms > now_ms.saturating_add(margin_ms)
    }

    fn path(&self) -> String {
        let hops: Vec<String> = self
            .hops
            .iter()
            .map(|h| {
                let b = h.router.to_base64();
                b.chars().take(6).collect()
            })
            .collect();
        hops.join(">")
    }
}

#[derive(Debug)]
struct Pending {
    direction: Direction,
    build: PendingBuild,
    /// receive ids in path order
    receive: Vec<TunnelId>,
    /// inbound: our endpoint id
    ours: TunnelId,
    started_ms: u64,
    garlic_tag: Option<[u8; 8]>,
    zero_hop_reply: Option<TunnelId>,
}

#[derive(Debug)]
struct Test {
    outbound: u64,
    inbound: u64,
    sent_ms: u64,
}

/// Build success and failure per peer, to prefer routers that accept our builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerProfile {
    pub accepted: u32,
    pub declined: u32,
    pub timed_out: u32,
}

impl PeerProfile {
    fn doubtful(&self) -> bool {
        self.declined + self.timed_out > self.accepted + 2
    }

    /// Halve every count (older results weigh less), as done once per save.
    pub fn decay(&mut self) {
        self.accepted /= 2;
        self.declined /= 2;
        self.timed_out /= 2;
    }

    fn is_empty(&self) -> bool {
        self.accepted == 0 && self.declined == 0 && self.timed_out == 0
    }
}

/// A line of a profile table that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ProfileLineError {
    pub line: usize,
    pub reason: &'static str,
}

/// Most profiles kept in a table (the netDb holds at most a few thousand routers we use).
pub const MAX_PROFILES: usize = 10_000;

/// The text form of a profile table, one router per line:
/// `<router hash, base64> <accepted> <declined> <timed out>`; `#` starts a comment line.
pub fn write_profiles(profiles: &HashMap<Hash, PeerProfile>) -> String {
    let mut lines: Vec<String> = profiles
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(h, p)| {
            format!(
                "{} {} {} {}",
                h.to_base64(),
                p.accepted,
                p.declined,
                p.timed_out
            )
        })
        .collect();
    lines.sort();
    let mut out =
        String::from("# tunnel build results per router: hash accepted declined timed-out\n");
    for l in lines.iter().take(MAX_PROFILES) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Read a table written by [`write_profiles`]. Lines that cannot be read are skipped and
/// reported; at most [`MAX_PROFILES`] entries are taken.
pub fn read_profiles(text: &str) -> (HashMap<Hash, PeerProfile>, Vec<ProfileLineError>) {
    let mut map = HashMap::new();
    let mut errors = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if map.len() >= MAX_PROFILES {
            errors.push(ProfileLineError {
                line: k + 1,
                reason: "too many entries; the rest is ignored",
            });
            break;
        }
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let [hash, a, d, t] = fields.as_slice() else {
            errors.push(ProfileLineError {
                line: k + 1,
                reason: "expected four fields: hash accepted declined timed-out",
            });
            continue;
        };
        let Ok(hash) = Hash::from_base64(hash) else {
            errors.push(ProfileLineError {
                line: k + 1,
                reason: "not a base64 router hash",
            });
            continue;
        };
        let (Ok(accepted), Ok(declined), Ok(timed_out)) = (a.parse(), d.parse(), t.parse()) else {
            errors.push(ProfileLineError {
                line: k + 1,
                reason: "counts must be numbers 0-4294967295",
            });
            continue;
        };
        map.insert(
            hash,
            PeerProfile {
                accepted,
                declined,
                timed_out,
            },
        );
    }
    (map, errors)
}

/// A tunnel length from a shape: length plus its variance, within 0–[`MAX_HOPS`].
fn vary<R: CryptoRng + ?Sized>(shape: PoolShape, rng: &mut R) -> u8 {
    let base = i32::from(shape.length.min(MAX_HOPS));
    let v = i32::from(shape.variance).abs();
    let delta = if v == 0 {
        0
    } else {
        let r = i32::try_from(rng.next_u32() % 1024).unwrap_or(0);
        if shape.variance > 0 {
            r % (v + 1)
        } else {
            r % (2 * v + 1) - v
        }
    };
    u8::try_from((base + delta).clamp(0, i32::from(MAX_HOPS))).unwrap_or(shape.length)
}

/// One pool of our tunnels (both directions).
#[derive(Debug)]
pub struct TunnelPool {
    name: String,
    us: Hash,
    config: PoolConfig,
    tunnels: Vec<Tunnel>,
    /// by the message id the reply will carry
    pending: HashMap<u32, Pending>,
    garlic_tags: HashMap<[u8; 8], u32>,
    zero_hop_replies: HashMap<TunnelId, u32>,
    tests: HashMap<u32, Test>,
    next_test_ms: u64,
    test_turn: usize,
    next_serial: u64,
    profiles: HashMap<Hash, PeerProfile>,
    stats: PoolStats,
    /// live counts last logged
    logged_live: (usize, usize),
}

fn nonzero_id<R: CryptoRng + ?Sized>(rng: &mut R) -> u32 {
    loop {
        let v = rng.next_u32();
        if v != 0 {
            return v;
        }
    }
}

fn date(ms: u64) -> Date {
    Date::from_millis(ms)
}

impl TunnelPool {
    /// An empty pool; `us` is our router hash.
    pub fn new(name: impl Into<String>, us: Hash, config: PoolConfig) -> TunnelPool {
        TunnelPool {
            name: name.into(),
            us,
            config,
            tunnels: Vec::new(),
            pending: HashMap::new(),
            garlic_tags: HashMap::new(),
            zero_hop_replies: HashMap::new(),
            tests: HashMap::new(),
            next_test_ms: 0,
            test_turn: 0,
            next_serial: 1,
            profiles: HashMap::new(),
            stats: PoolStats::default(),
            logged_live: (0, 0),
        }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    /// Build results per peer.
    pub fn profiles(&self) -> &HashMap<Hash, PeerProfile> {
        &self.profiles
    }

    /// Build results per peer, e.g. as saved by an earlier run ([`read_profiles`]).
    pub fn set_profiles(&mut self, profiles: HashMap<Hash, PeerProfile>) {
        self.profiles = profiles;
    }

    /// Halve every profile's counts (call when saving, so old results fade).
    pub fn decay_profiles(&mut self) {
        self.profiles.values_mut().for_each(PeerProfile::decay);
        self.profiles.retain(|_, p| !p.is_empty());
    }

    /// Established, unexpired tunnels: (inbound, outbound).
    pub fn live(&self, now_ms: u64) -> (usize, usize) {
        let count = |d| {
            self.tunnels
                .iter()
                .filter(|t| t.direction == d && t.usable(now_ms, 0))
                .count()
        };
        (count(Direction::Inbound), count(Direction::Outbound))
    }

    /// Builds waiting for their reply.
    pub fn pending_builds(&self) -> usize {
        self.pending.len()
    }

    /// Gateways of our inbound tunnels that are not about to expire: (gateway, tunnel id,
    /// expiration in ms) — the leases of a LeaseSet, and reply tunnels for lookups.
    pub fn inbound_gateways(&self, now_ms: u64) -> Vec<(Hash, TunnelId, u64)> {
        self.tunnels
            .iter()
            .filter(|t| {
                t.direction == Direction::Inbound && t.usable(now_ms, self.config.expiring_ms)
            })
            .map(|t| {
                let (g, id) = t.entry(&self.us);
                (g, id, t.expires_ms)
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // time

    /// Expire tunnels, builds and tests; start builds the pool is short of; send tests.
    /// `candidates` are the routers hops may be chosen from (not us).
    pub fn tick<R: CryptoRng + ?Sized>(
        &mut self,
        now_ms: u64,
        candidates: &[Candidate],
        rng: &mut R,
    ) -> Vec<Out> {
        let mut out = Vec::new();
        self.expire(now_ms);
        for direction in [Direction::Inbound, Direction::Outbound] {
            let shape = self.shape(direction);
            let covered = self
                .tunnels
                .iter()
                .filter(|t| {
                    t.direction == direction && t.usable(now_ms, self.config.replace_before_ms)
                })
                .count()
                + self
                    .pending
                    .values()
                    .filter(|p| p.direction == direction)
                    .count();
            for _ in covered..usize::from(shape.quantity) {
                match self.start_build(direction, now_ms, candidates, rng) {
                    Some(o) => out.extend(o),
                    None => break,
                }
            }
        }
        if now_ms >= self.next_test_ms {
            self.next_test_ms = now_ms.saturating_add(self.config.test_interval_ms);
            out.extend(self.send_tests(now_ms, rng));
        }
        self.log_live(now_ms);
        out
    }

    /// Log the live counts when they changed (operators and the e2e tests follow this line).
    fn log_live(&mut self, now_ms: u64) {
        let live = self.live(now_ms);
        if live != self.logged_live {
            self.logged_live = live;
            info!(
                pool = %self.name,
                live_in = live.0,
                live_out = live.1,
                "tunnel pool changed"
            );
        }
    }

    fn shape(&self, direction: Direction) -> PoolShape {
        match direction {
            Direction::Inbound => self.config.inbound,
            Direction::Outbound => self.config.outbound,
        }
    }

    fn expire(&mut self, now_ms: u64) {
        let before = self.tunnels.len();
        let name = self.name.clone();
        self.tunnels.retain(|t| {
            let keep = t.usable(now_ms, 0);
            if !keep {
                debug!(pool = %name, serial = t.serial, direction = %t.direction, "tunnel expired");
            }
            keep
        });
        self.stats.expired += (before - self.tunnels.len()) as u64;

        let timeout = self.config.build_timeout_ms;
        let timed_out: Vec<u32> = self
            .pending
            .iter()
            .filter(|(_, p)| p.started_ms.saturating_add(timeout) <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in timed_out {
            if let Some(p) = self.forget_pending(id) {
                self.stats.builds_timed_out += 1;
                for hop in p.build.hops() {
                    self.profiles
                        .entry(*hop.router_hash())
                        .or_default()
                        .timed_out += 1;
                }
                info!(
                    pool = %name,
                    direction = %p.direction,
                    "tunnel build timed out"
                );
            }
        }

        let test_timeout = self.config.test_timeout_ms;
        let failed: Vec<u32> = self
            .tests
            .iter()
            .filter(|(_, t)| t.sent_ms.saturating_add(test_timeout) <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in failed {
            if let Some(t) = self.tests.remove(&id) {
                self.stats.tests_failed += 1;
                self.test_failed(t.outbound);
                self.test_failed(t.inbound);
            }
        }
    }

    fn test_failed(&mut self, serial: u64) {
        let max = self.config.max_test_failures;
        let mut drop = false;
        if let Some(t) = self.tunnels.iter_mut().find(|t| t.serial == serial) {
            t.test_failures = t.test_failures.saturating_add(1);
            debug!(pool = %self.name, serial, direction = %t.direction, failures = t.test_failures, "tunnel test failed");
            drop = t.test_failures >= max;
        }
        if drop {
            self.tunnels.retain(|t| t.serial != serial);
            self.stats.dropped_failing += 1;
            info!(
                pool = %self.name,
                serial, "tunnel dropped after failed tests"
            );
        }
    }

    fn forget_pending(&mut self, id: u32) -> Option<Pending> {
        let p = self.pending.remove(&id)?;
        if let Some(tag) = p.garlic_tag {
            self.garlic_tags.remove(&tag);
        }
        if let Some(z) = p.zero_hop_reply {
            self.zero_hop_replies.remove(&z);
        }
        Some(p)
    }

    fn serial(&mut self) -> u64 {
        let s = self.next_serial;
        self.next_serial += 1;
        s
    }

    fn add_zero_hop<R: CryptoRng + ?Sized>(
        &mut self,
        direction: Direction,
        now_ms: u64,
        rng: &mut R,
    ) {
        let serial = self.serial();
        let ours = TunnelId(nonzero_id(rng));
        self.tunnels.push(Tunnel {
            serial,
            direction,
            hops: Vec::new(),
            layers: Vec::new(),
            ours,
            endpoint: (direction == Direction::Inbound)
                .then(|| Endpoint::new(EndpointConfig::default())),
            expires_ms: now_ms.saturating_add(self.config.lifetime_ms),
            test_failures: 0,
        });
    }

    // -----------------------------------------------------------------------------------------
    // building

    fn pick_hops<R: CryptoRng + ?Sized>(
        &self,
        length: usize,
        candidates: &[Candidate],
        rng: &mut R,
    ) -> Option<Vec<Candidate>> {
        let mut pool: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.peer.router_hash != self.us)
            .collect();
        // shuffle, then the doubtful ones last
        for i in (1..pool.len()).rev() {
            let j = usize::try_from(rng.next_u64() % (i as u64 + 1)).unwrap_or(0);
            pool.swap(i, j);
        }
        pool.sort_by_key(|c| {
            self.profiles
                .get(&c.peer.router_hash)
                .is_some_and(PeerProfile::doubtful)
        });
        let mut chosen: Vec<Candidate> = Vec::with_capacity(length);
        for c in pool {
            if chosen.len() == length {
                break;
            }
            if chosen
                .iter()
                .any(|x| x.peer.router_hash == c.peer.router_hash)
            {
                continue;
            }
            if self.config.distinct_subnets
                && c.subnet.is_some()
                && chosen.iter().any(|x| x.subnet == c.subnet)
            {
                continue;
            }
            chosen.push(*c);
        }
        (chosen.len() == length).then_some(chosen)
    }

    /// Start one build; None when there are not enough peers.
    fn start_build<R: CryptoRng + ?Sized>(
        &mut self,
        direction: Direction,
        now_ms: u64,
        candidates: &[Candidate],
        rng: &mut R,
    ) -> Option<Vec<Out>> {
        let length = usize::from(vary(self.shape(direction), rng));
        if length == 0 {
            self.add_zero_hop(direction, now_ms, rng);
            return Some(Vec::new());
        }
        let Some(hops) = self.pick_hops(length, candidates, rng) else {
            self.stats.builds_no_peers += 1;
            debug!(pool = %self.name, %direction, length, candidates = candidates.len(), "not enough peers for a tunnel");
            return None;
        };
        let reply_msg_id = loop {
            let id = nonzero_id(rng);
            if !self.pending.contains_key(&id) {
                break id;
            }
        };
        let receive: Vec<TunnelId> = hops.iter().map(|_| TunnelId(nonzero_id(rng))).collect();
        let ours = TunnelId(nonzero_id(rng));

        // where the last hop sends the records
        let mut zero_hop_reply = None;
        let (reply_router, reply_tunnel) = match direction {
            Direction::Inbound => (self.us, ours),
            Direction::Outbound => {
                let margin = self.config.build_timeout_ms;
                let gateways: Vec<(Hash, TunnelId)> = self
                    .tunnels
                    .iter()
                    .filter(|t| t.direction == Direction::Inbound && t.usable(now_ms, margin))
                    .map(|t| t.entry(&self.us))
                    .collect();
                match pick(&gateways, rng) {
                    Some(g) => *g,
                    None => {
                        let z = TunnelId(nonzero_id(rng));
                        zero_hop_reply = Some(z);
                        (self.us, z)
                    }
                }
            }
        };

        let request_time_minutes = u32::try_from(now_ms / 60_000).unwrap_or(u32::MAX);
        let mut builder = RequestBuilder::new();
        for (k, hop) in hops.iter().enumerate() {
            let last = k + 1 == hops.len();
            let role = match (direction, k, last) {
                (Direction::Inbound, 0, _) => HopRole::InboundGateway,
                (Direction::Outbound, _, true) => HopRole::OutboundEndpoint,
                _ => HopRole::Participant,
            };
            let (next_router, next_tunnel) = if last {
                (reply_router, reply_tunnel)
            } else {
                match (hops.get(k + 1), receive.get(k + 1)) {
                    (Some(n), Some(r)) => (n.peer.router_hash, *r),
                    _ => return None,
                }
            };
            let request = ShortRequest {
                receive_tunnel: *receive.get(k)?,
                next_tunnel,
                next_router,
                role,
                layer_encryption: LayerEncryption::Aes,
                request_time_minutes,
                expiration_secs: u32::try_from(self.config.lifetime_ms / 1000)
                    .unwrap_or(DEFAULT_EXPIRATION_SECS),
                next_msg_id: if last { reply_msg_id } else { nonzero_id(rng) },
                options: Mapping::default(),
            };
            builder = builder.hop(hop.peer, request);
        }
        let (records, build) = match builder.build(rng) {
            Ok(b) => b,
            Err(e) => {
                debug!(pool = %self.name, error = %e, "cannot seal a build request");
                return None;
            }
        };
        let message = ShortBuildRecords::new(records.to_vec())
            .ok()
            .and_then(|r| {
                I2npMessage::new(
                    nonzero_id(rng),
                    date(now_ms.saturating_add(BUILD_MESSAGE_LIFETIME_MS)),
                    I2npBody::ShortTunnelBuild(r),
                )
                .ok()
            })?;
        let first = hops.first()?.peer.router_hash;

        let out = match direction {
            Direction::Outbound => vec![Out { to: first, message }],
            Direction::Inbound => {
                match self.send_outbound(&message, DeliveryInstructions::Router(first), now_ms, rng)
                {
                    Ok(o) => o,
                    Err(_) => vec![Out { to: first, message }],
                }
            }
        };

        let garlic_tag = match direction {
            Direction::Outbound => build
                .hops()
                .last()
                .and_then(|h| h.keys().garlic_reply())
                .map(|g| *g.tag()),
            Direction::Inbound => None,
        };
        if let Some(tag) = garlic_tag {
            self.garlic_tags.insert(tag, reply_msg_id);
        }
        if let Some(z) = zero_hop_reply {
            self.zero_hop_replies.insert(z, reply_msg_id);
        }
        self.stats.builds_started += 1;
        debug!(pool = %self.name, %direction, reply_msg_id, "tunnel build sent");
        self.pending.insert(
            reply_msg_id,
            Pending {
                direction,
                build,
                receive,
                ours,
                started_ms: now_ms,
                garlic_tag,
                zero_hop_reply,
            },
        );
        Some(out)
    }

    /// A ShortTunnelBuild or OutboundTunnelBuildReply with this message id is the reply to one
    /// of our builds.
    pub fn expects_build_reply(&self, msg_id: u32) -> bool {
        self.pending.contains_key(&msg_id)
    }

    /// The one-time key of a garlic-wrapped OutboundTunnelBuildReply carrying `tag`.
    pub fn garlic_reply_key(&self, tag: &[u8; 8]) -> Option<[u8; 32]> {
        let id = self.garlic_tags.get(tag)?;
        let p = self.pending.get(id)?;
        p.build
            .hops()
            .last()
            .and_then(|h| h.keys().garlic_reply())
            .map(|g| *g.key())
    }

    /// The records that came back for build `msg_id`. Returns whether a tunnel was
    /// established (false also for a message id that is not ours).
    pub fn on_build_reply(&mut self, msg_id: u32, records: &[Record], now_ms: u64) -> bool {
        let Some(p) = self.forget_pending(msg_id) else {
            return false;
        };
        let replies = match p.build.read_replies(records) {
            Ok(r) => r,
            Err(e) => {
                self.stats.builds_bad_reply += 1;
                info!(pool = %self.name, direction = %p.direction, error = %e, "tunnel build reply unreadable");
                return false;
            }
        };
        let mut all = true;
        for (hop, reply) in p.build.hops().iter().zip(&replies) {
            let prof = self.profiles.entry(*hop.router_hash()).or_default();
            if reply.code.is_accept() {
                prof.accepted += 1;
            } else {
                prof.declined += 1;
                all = false;
            }
        }
        if !all {
            self.stats.builds_declined += 1;
            let codes: Vec<u8> = replies.iter().map(|r| r.code.0).collect();
            info!(pool = %self.name, direction = %p.direction, ?codes, "tunnel build declined");
            return false;
        }
        let hops: Vec<Hop> = p
            .build
            .hops()
            .iter()
            .zip(&p.receive)
            .map(|(h, r)| Hop {
                router: *h.router_hash(),
                receive: *r,
            })
            .collect();
        let layers: Vec<LayerKeys> = p
            .build
            .hops()
            .iter()
            .map(|h| LayerKeys::new(h.keys().layer_key(), h.keys().iv_key()))
            .collect();
        let serial = self.serial();
        let tunnel = Tunnel {
            serial,
            direction: p.direction,
            hops,
            layers,
            ours: p.ours,
            endpoint: (p.direction == Direction::Inbound)
                .then(|| Endpoint::new(EndpointConfig::default())),
            expires_ms: now_ms.saturating_add(self.config.lifetime_ms),
            test_failures: 0,
        };
        match p.direction {
            Direction::Inbound => self.stats.built_inbound += 1,
            Direction::Outbound => self.stats.built_outbound += 1,
        }
        let path = tunnel.path();
        self.tunnels.push(tunnel);
        info!(
            pool = %self.name,
            direction = %p.direction,
            serial,
            path,
            took_ms = now_ms.saturating_sub(p.started_ms),
            "tunnel built"
        );
        self.log_live(now_ms);
        true
    }

    // -----------------------------------------------------------------------------------------
    // traffic

    /// A TunnelGateway message for one of our zero-hop tunnels (the reply path of an outbound
    /// build, or a zero-hop inbound tunnel): the message inside, for local handling.
    pub fn on_tunnel_gateway(&mut self, gateway: &TunnelGateway) -> Option<I2npMessage> {
        let id = gateway.tunnel_id();
        let ours = self.zero_hop_replies.contains_key(&id)
            || self
                .tunnels
                .iter()
                .any(|t| t.direction == Direction::Inbound && t.hops.is_empty() && t.ours == id);
        if !ours {
            return None;
        }
        match gateway.message() {
            Ok(m) => Some(m),
            Err(e) => {
                debug!(pool = %self.name, error = %e, "unreadable message in a zero-hop tunnel");
                None
            }
        }
    }

    /// Whether TunnelData with this id ends at one of our inbound tunnels.
    pub fn owns_inbound(&self, id: TunnelId) -> bool {
        self.tunnels
            .iter()
            .any(|t| t.direction == Direction::Inbound && !t.hops.is_empty() && t.ours == id)
    }

    /// TunnelData at the end of one of our inbound tunnels: every hop's layer removed, the
    /// fragments reassembled; returns the messages for us. Messages with router or tunnel
    /// instructions are dropped (at an inbound endpoint they could only be an attempt to make
    /// us send traffic; i2pd drops them too).
    pub fn on_tunnel_data(&mut self, data: &TunnelData, now_ms: u64) -> Vec<I2npMessage> {
        let name = self.name.clone();
        let Some(t) = self.tunnels.iter_mut().find(|t| {
            t.direction == Direction::Inbound && !t.hops.is_empty() && t.ours == data.tunnel_id
        }) else {
            return Vec::new();
        };
        let mut payload = *data.data;
        decrypt_inbound(&t.layers, &mut payload);
        let Some(endpoint) = t.endpoint.as_mut() else {
            return Vec::new();
        };
        let received = match endpoint.receive(&payload, now_ms) {
            Ok(r) => r,
            Err(e) => {
                debug!(pool = %name, serial = t.serial, error = %e, "bad TunnelData at our inbound endpoint");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for r in received {
            if r.instructions != DeliveryInstructions::Local {
                debug!(
                    pool = %name,
                    "non-local delivery at our inbound endpoint dropped"
                );
                continue;
            }
            match I2npMessage::parse(&r.message) {
                Ok(m) => out.push(m),
                Err(e) => {
                    debug!(pool = %name, error = %e, "unparsable message at our inbound endpoint");
                }
            }
        }
        out
    }

    /// A DeliveryStatus that came to us: true if it was one of our tunnel tests.
    pub fn on_delivery_status(&mut self, msg_id: u32, now_ms: u64) -> bool {
        let Some(test) = self.tests.remove(&msg_id) else {
            return false;
        };
        self.stats.tests_passed += 1;
        for t in self
            .tunnels
            .iter_mut()
            .filter(|t| t.serial == test.outbound || t.serial == test.inbound)
        {
            t.test_failures = 0;
        }
        debug!(
            pool = %self.name,
            outbound = test.outbound,
            inbound = test.inbound,
            rtt_ms = now_ms.saturating_sub(test.sent_ms),
            "tunnel test passed"
        );
        true
    }

    fn send_tests<R: CryptoRng + ?Sized>(&mut self, now_ms: u64, rng: &mut R) -> Vec<Out> {
        let margin = self.config.expiring_ms;
        let inbound: Vec<(u64, Hash, TunnelId)> = self
            .tunnels
            .iter()
            .filter(|t| {
                t.direction == Direction::Inbound && !t.hops.is_empty() && t.usable(now_ms, margin)
            })
            .map(|t| {
                let (g, id) = t.entry(&self.us);
                (t.serial, g, id)
            })
            .collect();
        let outbound: Vec<u64> = self
            .tunnels
            .iter()
            .filter(|t| {
                t.direction == Direction::Outbound && !t.hops.is_empty() && t.usable(now_ms, margin)
            })
            .map(|t| t.serial)
            .collect();
        if inbound.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for serial in outbound {
            self.test_turn = self.test_turn.wrapping_add(1);
            let Some((in_serial, gw, gw_id)) = inbound.get(self.test_turn % inbound.len()) else {
                continue;
            };
            let msg_id = nonzero_id(rng);
            let Ok(status) = I2npMessage::new(
                msg_id,
                date(now_ms.saturating_add(MESSAGE_LIFETIME_MS)),
                I2npBody::DeliveryStatus(DeliveryStatus {
                    msg_id,
                    timestamp: date(now_ms),
                }),
            ) else {
                continue;
            };
            match self.send_through(
                serial,
                &status,
                DeliveryInstructions::Tunnel(*gw_id, *gw),
                now_ms,
                rng,
            ) {
                Ok(o) => {
                    out.extend(o);
                    self.tests.insert(
                        msg_id,
                        Test {
                            outbound: serial,
                            inbound: *in_serial,
                            sent_ms: now_ms,
                        },
                    );
                }
                Err(e) => debug!(pool = %self.name, error = %e, "cannot send a tunnel test"),
            }
        }
        out
    }

    /// Send `message` through one of our outbound tunnels (chosen at random among those not
    /// about to expire); the outbound endpoint delivers it as `to` says.
    pub fn send_outbound<R: CryptoRng + ?Sized>(
        &mut self,
        message: &I2npMessage,
        to: DeliveryInstructions,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<Out>, SendError> {
        let margin = self.config.expiring_ms;
        let serials: Vec<u64> = self
            .tunnels
            .iter()
            .filter(|t| t.direction == Direction::Outbound && t.usable(now_ms, margin))
            .map(|t| t.serial)
            .collect();
        let serial = *pick(&serials, rng).ok_or(SendError::NoTunnel)?;
        self.send_through(serial, message, to, now_ms, rng)
    }

    fn send_through<R: CryptoRng + ?Sized>(
        &mut self,
        serial: u64,
        message: &I2npMessage,
        to: DeliveryInstructions,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<Out>, SendError> {
        let t = self
            .tunnels
            .iter()
            .find(|t| t.serial == serial)
            .ok_or(SendError::NoTunnel)?;
        let expiration = date(now_ms.saturating_add(MESSAGE_LIFETIME_MS));
        let wire = |e: i2p_wire::Error| SendError::Wire(e.to_string());
        let Some(first) = t.hops.first() else {
            // zero hops: we are the outbound endpoint
            return Ok(match to {
                DeliveryInstructions::Local => Vec::new(),
                DeliveryInstructions::Router(h) => vec![Out {
                    to: h,
                    message: message.clone(),
                }],
                DeliveryInstructions::Tunnel(id, h) => {
                    let gw = TunnelGateway::new(id, message).map_err(wire)?;
                    vec![Out {
                        to: h,
                        message: I2npMessage::new(
                            nonzero_id(rng),
                            expiration,
                            I2npBody::TunnelGateway(gw),
                        )
                        .map_err(wire)?,
                    }]
                }
            });
        };
        let mut gateway = Gateway::new();
        gateway.put(&to, &message.to_bytes())?;
        let mut out = Vec::new();
        for mut payload in gateway.flush(rng) {
            pre_decrypt_outbound(&t.layers, &mut payload);
            let body = I2npBody::TunnelData(TunnelData {
                tunnel_id: first.receive,
                data: payload,
            });
            out.push(Out {
                to: first.router,
                message: I2npMessage::new(nonzero_id(rng), expiration, body).map_err(wire)?,
            });
        }
        Ok(out)
    }
}

fn pick<'a, T, R: CryptoRng + ?Sized>(items: &'a [T], rng: &mut R) -> Option<&'a T> {
    if items.is_empty() {
        return None;
    }
    let i = usize::try_from(rng.next_u64() % items.len() as u64).unwrap_or(0);
    items.get(i)
}
