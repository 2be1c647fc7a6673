//! The [`NetDb`] state machine: its tables, the store paths every entry goes through, expiry,
//! message dispatch and the timer. Message handlers are in `handlers.rs`, lookups and
//! exploration in `lookups.rs`, publishing in `publish.rs`.
//!
//! # Driving it
//!
//! The IO shell calls [`NetDb::handle_message`] for every netDb I2NP message a transport
//! delivers (DatabaseStore, DatabaseLookup, DatabaseSearchReply, DeliveryStatus and, when a
//! router key is configured, Garlic addressed to the router), [`NetDb::learn_router_info`]
//! for RouterInfos learned outside messages (handshakes, reseed, disk), and
//! [`NetDb::handle_timeout`] when [`NetDb::poll_timeout`] is reached. Each returns
//! [`Action`]s to carry out. `poll_timeout` must be asked again after every call.
//!
//! # RouterInfo expiry (as i2pd 2.45.1 `SaveUpdated`, every `expiry.interval_ms`)
//!
//! Nothing expires while the netDb holds at most `min_routers` (90) RouterInfos or during the
//! first `grace_uptime_ms` (10 min). After `full_uptime_ms` (1 h) the age limit is 1 h for a
//! floodfill and otherwise shrinks with size: `min + (max - min) * min_routers / known`
//! (90 min .. 27 h); before that it is `max_age_ms` (27 h). RouterInfos reachable only
//! through SSU2 introducers expire after 65 min, ones published in the future (beyond 2 min)
//! at once. Age-based expiry never leaves fewer than `min_routers` (i2pd stops one below that). LeaseSets are dropped
//! 51 s before they expire (i2pd `ManageLeaseSets`).

use std::collections::{HashMap, HashSet};

use i2p_crypto::{CryptoRng, X25519Secret};
use i2p_wire::i2np::{DatabaseStore, StoreKind};
use i2p_wire::signed::{LEASE_END_GRACE_MS, ROUTER_INFO_MAX_FUTURE_MS};
use i2p_wire::{Date, Hash, I2npBody, I2npMessage, RouterInfo};
use tracing::{debug, info, warn};

use crate::action::Action;
use crate::config::{Config, MESSAGE_EXPIRATION_MS};
use crate::entry::{LeaseSetEntry, RouterEntry, StoreError, StoreOutcome};
use crate::kademlia::{closest, routing_key};
use crate::lookups::{ExploreState, LookupTable};
use crate::publish::PublishState;

/// Where a RouterInfo given to [`NetDb::learn_router_info`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// our netDb directory at start (not persisted again; may be up to 180 days old)
    Disk,
    /// a reseed bundle
    Reseed,
    /// a transport handshake or RouterInfo block; `flood` is the sender's flood request
    Transport { flood: bool },
}

/// Counters for metrics and logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub stores_accepted: u64,
    pub stores_unchanged: u64,
    pub stores_refused: u64,
    pub floods_sent: u64,
    pub lookups_answered: u64,
    pub lookups_started: u64,
    pub lookups_found: u64,
    pub lookups_failed: u64,
    pub explorations: u64,
    pub publishes_confirmed: u64,
    pub verifications_failed: u64,
    pub garlic_refused: u64,
    pub expired_routers: u64,
    pub expired_lease_sets: u64,
}

/// Table sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// RouterInfos known, not counting our own
    pub routers: usize,
    /// of which usable floodfills
    pub floodfills: usize,
    pub lease_sets: usize,
    pub lookups_in_progress: usize,
}

/// The netDb state machine; see the module docs.
pub struct NetDb<R> {
    pub(crate) cfg: Config,
    pub(crate) rng: R,
    pub(crate) own: RouterEntry,
    pub(crate) router_secret: Option<X25519Secret>,
    pub(crate) started: Date,
    pub(crate) routers: HashMap<Hash, RouterEntry>,
    pub(crate) floodfills: HashSet<Hash>,
    pub(crate) lease_sets: HashMap<Hash, LeaseSetEntry>,
    pub(crate) lookups: LookupTable,
    pub(crate) explore: ExploreState,
    pub(crate) publish: PublishState,
    /// RouterInfos added (not updated) since start: exploration watches it
    pub(crate) learned: u64,
    /// RouterInfos we flooded: key -> published date of the version (so a version that
    /// reached us first through a transport handshake is still flooded when its publisher
    /// stores it with us, but only once)
    pub(crate) flooded: HashMap<Hash, Date>,
    pub(crate) next_expiry: Date,
    pub(crate) stats: Stats,
}

impl<R> std::fmt::Debug for NetDb<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetDb")
            .field("own", &self.own.hash())
            .field("floodfill", &self.cfg.floodfill)
            .field("routers", &self.routers.len())
            .field("lease_sets", &self.lease_sets.len())
            .finish_non_exhaustive()
    }
}

impl<R: CryptoRng> NetDb<R> {
    /// A netDb for the router whose (signed, verified) RouterInfo is `own`, started at `now`.
    pub fn new(cfg: Config, own: RouterInfo, rng: R, now: Date) -> NetDb<R> {
        NetDb {
            own: RouterEntry::from_own(own),
            router_secret: None,
            started: now,
            routers: HashMap::new(),
            floodfills: HashSet::new(),
            lease_sets: HashMap::new(),
            lookups: LookupTable::default(),
            explore: ExploreState::new(now),
            publish: PublishState::new(now),
            learned: 0,
            flooded: HashMap::new(),
            next_expiry: now.saturating_add_millis(cfg.expiry.interval_ms),
            stats: Stats::default(),
            cfg,
            rng,
        }
    }

    /// Give the netDb our router's X25519 key so it can open garlic messages addressed to the
    /// router (i2pd destinations send LeaseSet stores and lookups to floodfills that way).
    pub fn with_router_secret(mut self, secret: X25519Secret) -> NetDb<R> {
        self.router_secret = Some(secret);
        self
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Our router hash.
    pub fn own_hash(&self) -> Hash {
        self.own.hash()
    }

    /// Our current RouterInfo.
    pub fn own_router_info(&self) -> &RouterEntry {
        &self.own
    }

    /// Replace our RouterInfo (re-signed, new address, caps...). A newer one is published.
    pub fn set_own_router_info(&mut self, ri: RouterInfo, now: Date) -> Vec<Action> {
        let newer = ri.published() > self.own.published();
        self.own = RouterEntry::from_own(ri);
        if newer {
            self.publish.own_changed(now);
        }
        let mut out = Vec::new();
        self.publish_tick(now, &mut out);
        out
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn counts(&self) -> Counts {
        Counts {
            routers: self.routers.len(),
            floodfills: self.floodfills.len(),
            lease_sets: self.lease_sets.len(),
            lookups_in_progress: self.lookups.len(),
        }
    }

    /// A RouterInfo we hold (our own included).
    pub fn router(&self, hash: &Hash) -> Option<&RouterEntry> {
        if *hash == self.own.hash() {
            return Some(&self.own);
        }
        self.routers.get(hash)
    }

    /// Every RouterInfo we hold (not our own).
    pub fn routers(&self) -> impl Iterator<Item = &RouterEntry> {
        self.routers.values()
    }

    /// A LeaseSet we hold that has not expired.
    pub fn lease_set(&self, key: &Hash, now: Date) -> Option<&LeaseSetEntry> {
        self.lease_sets.get(key).filter(|l| l.expires() > now)
    }

    /// The up to `n` usable floodfills closest to `key` today (not us), nearest first.
    pub fn closest_floodfills(
        &self,
        key: &Hash,
        n: usize,
        exclude: &HashSet<Hash>,
        now: Date,
    ) -> Vec<Hash> {
        let target = routing_key(key, now);
        let own = self.own.hash();
        closest(
            &target,
            self.floodfills.iter().filter(|h| **h != own),
            n,
            exclude,
        )
    }

    /// The up to `n` known routers that are not floodfills closest to `key` today.
    pub fn closest_non_floodfills(
        &self,
        key: &Hash,
        n: usize,
        exclude: &HashSet<Hash>,
        now: Date,
    ) -> Vec<Hash> {
        let target = routing_key(key, now);
        let candidates: Vec<Hash> = self
            .routers
            .iter()
            .filter(|(_, e)| !e.caps().floodfill)
            .map(|(h, _)| *h)
            .collect();
        closest(&target, &candidates, n, exclude)
    }

    // -----------------------------------------------------------------------------------------
    // storing

    /// Add a RouterInfo learned outside a netDb message (see [`Origin`]). Returns what happened
    /// and the actions that follow (persisting it, completing lookups, flooding).
    pub fn learn_router_info(
        &mut self,
        bytes: &[u8],
        origin: Origin,
        now: Date,
    ) -> Result<(StoreOutcome, Vec<Action>), StoreError> {
        let mut out = Vec::new();
        let (outcome, entry) = self.store_router_info(None, bytes, origin, &mut out, now)?;
        self.router_info_arrived(&entry, now, &mut out);
        if let Origin::Transport { flood: true } = origin
            && self.cfg.floodfill
            && outcome.changed()
        {
            self.flood_router_info(&entry, None, now, &mut out);
        }
        Ok((outcome, out))
    }

    /// The path every RouterInfo takes into the table.
    pub(crate) fn store_router_info(
        &mut self,
        key: Option<&Hash>,
        bytes: &[u8],
        origin: Origin,
        out: &mut Vec<Action>,
        now: Date,
    ) -> Result<(StoreOutcome, RouterEntry), StoreError> {
        let own = self.own.hash();
        if key == Some(&own) {
            return Err(StoreError::OwnRouterInfo);
        }
        let entry = RouterEntry::validate(bytes, key, self.cfg.net_id, now)?;
        let hash = entry.hash();
        if hash == own {
            return Err(StoreError::OwnRouterInfo);
        }
        let max_age_ms = match origin {
            Origin::Disk => self.cfg.expiry.max_offline_age_ms,
            _ => self.cfg.expiry.max_age_ms,
        };
        if entry.published().saturating_add_millis(max_age_ms) < now {
            return Err(StoreError::TooOld {
                published: entry.published(),
                max_age_ms,
            });
        }
        let outcome = match self.routers.get(&hash) {
            Some(old) if old.published() >= entry.published() => {
                self.stats.stores_unchanged += 1;
                return Ok((StoreOutcome::Unchanged, old.clone()));
            }
            Some(_) => StoreOutcome::Updated,
            None if self.routers.len() >= self.cfg.max_routers => {
                return Err(StoreError::TableFull {
                    what: "RouterInfos",
                    limit: self.cfg.max_routers,
                });
            }
            None => StoreOutcome::New,
        };
        if entry.is_floodfill() {
            self.floodfills.insert(hash);
        } else {
            self.floodfills.remove(&hash);
        }
        self.routers.insert(hash, entry.clone());
        if outcome == StoreOutcome::New {
            self.learned += 1;
            debug!(router = %hash, floodfill = entry.is_floodfill(), ?origin, "netDb: RouterInfo added");
        } else {
            debug!(router = %hash, ?origin, "netDb: RouterInfo updated");
        }
        self.stats.stores_accepted += 1;
        if origin != Origin::Disk {
            out.push(Action::Persist {
                hash,
                bytes: entry.bytes().clone(),
            });
        }
        Ok((outcome, entry))
    }

    /// The path every LeaseSet takes into the table. `solicited`: it answers a lookup of ours.
    pub(crate) fn store_lease_set(
        &mut self,
        key: &Hash,
        kind: StoreKind,
        bytes: &[u8],
        solicited: bool,
        now: Date,
    ) -> Result<(StoreOutcome, LeaseSetEntry), StoreError> {
        if !self.cfg.floodfill && !solicited {
            return Err(StoreError::NotFloodfill);
        }
        let entry = LeaseSetEntry::validate(kind, bytes, key, now)?;
        if entry.expires() <= now {
            return Err(StoreError::Expired {
                expires: entry.expires(),
                now,
            });
        }
        let outcome = match self.lease_sets.get(key) {
            Some(old) if !entry.is_newer_than(old) => {
                self.stats.stores_unchanged += 1;
                return Ok((StoreOutcome::Unchanged, old.clone()));
            }
            Some(_) => StoreOutcome::Updated,
            None if self.lease_sets.len() >= self.cfg.max_lease_sets => {
                return Err(StoreError::TableFull {
                    what: "LeaseSets",
                    limit: self.cfg.max_lease_sets,
                });
            }
            None => StoreOutcome::New,
        };
        self.lease_sets.insert(*key, entry.clone());
        self.stats.stores_accepted += 1;
        debug!(key = %key, ?kind, "netDb: LeaseSet stored");
        // the signed bytes, for capturing real LeaseSets as test data (log level trace)
        tracing::trace!(key = %key, ?kind, bytes = %i2p_wire::base64::encode(bytes), "netDb: LeaseSet bytes");
        Ok((outcome, entry))
    }

    /// Store a LeaseSet given by a local client (e.g. a LeaseSet received in a garlic
    /// message): the same checks as a solicited store.
    pub fn store_lease_set_local(
        &mut self,
        key: &Hash,
        kind: StoreKind,
        bytes: &[u8],
        now: Date,
    ) -> Result<StoreOutcome, StoreError> {
        self.store_lease_set(key, kind, bytes, true, now)
            .map(|(o, _)| o)
    }

    /// Forget a router (e.g. the shell found its RouterInfo unusable).
    pub fn remove_router(&mut self, hash: &Hash) -> Vec<Action> {
        let mut out = Vec::new();
        if self.routers.remove(hash).is_some() {
            self.floodfills.remove(hash);
            out.push(Action::Delete { hash: *hash });
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // messages and time

    /// Handle an I2NP message `from` a directly connected router.
    pub fn handle_message(&mut self, from: Hash, msg: I2npMessage, now: Date) -> Vec<Action> {
        let mut out = Vec::new();
        self.dispatch(from, msg.into_body(), now, true, &mut out);
        out
    }

    pub(crate) fn dispatch(
        &mut self,
        from: Hash,
        body: I2npBody,
        now: Date,
        allow_garlic: bool,
        out: &mut Vec<Action>,
    ) {
        match body {
            I2npBody::DatabaseStore(s) => self.on_store(from, s, now, out),
            I2npBody::DatabaseLookup(l) => self.on_lookup(from, l, now, out),
            I2npBody::DatabaseSearchReply(r) => self.on_search_reply(from, r, now, out),
            I2npBody::DeliveryStatus(d) => self.on_delivery_status(from, d, now, out),
            I2npBody::Garlic(g) if allow_garlic => self.on_garlic(from, g, now, out),
            other => debug!(
                from = %from,
                type_id = other.type_id(),
                "netDb: ignoring a message type the netDb does not handle"
            ),
        }
    }

    /// When [`NetDb::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Date> {
        let mut t = self.next_expiry;
        let mut consider = |d: Option<Date>| {
            if let Some(d) = d
                && d < t
            {
                t = d;
            }
        };
        consider(self.lookups.next_deadline());
        consider(self.explore_next(self.cfg.explore.enabled));
        consider(self.publish.next_deadline(
            self.cfg.publish.enabled,
            self.own.published(),
            self.cfg.publish.interval_ms,
        ));
        Some(t)
    }

    /// Do whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Date) -> Vec<Action> {
        let mut out = Vec::new();
        self.lookups_tick(now, &mut out);
        if now >= self.next_expiry {
            self.expire(now, &mut out);
            self.next_expiry = now.saturating_add_millis(self.cfg.expiry.interval_ms);
        }
        self.explore_tick(now, &mut out);
        self.publish_tick(now, &mut out);
        out
    }

    /// The age limit for RouterInfos right now, if expiry is active (see the module docs).
    pub fn router_expiry_timeout(&self, now: Date) -> Option<u64> {
        let ex = &self.cfg.expiry;
        let total = self.routers.len();
        let uptime = now.as_millis().saturating_sub(self.started.as_millis());
        if total <= ex.min_routers || uptime <= ex.grace_uptime_ms {
            return None;
        }
        if uptime <= ex.full_uptime_ms {
            return Some(ex.max_age_ms);
        }
        if self.cfg.floodfill {
            return Some(ex.floodfill_age_ms);
        }
        let span = ex.max_age_ms.saturating_sub(ex.min_age_ms);
        let scaled = u128::from(span) * ex.min_routers as u128 / total.max(1) as u128;
        Some(ex.min_age_ms + u64::try_from(scaled).unwrap_or(span))
    }

    fn expire(&mut self, now: Date, out: &mut Vec<Action>) {
        let ex = self.cfg.expiry.clone();
        let total = self.routers.len();
        let timeout = self.router_expiry_timeout(now);
        let mut by_age: Vec<(Date, Hash)> = self
            .routers
            .iter()
            .map(|(h, e)| (e.published(), *h))
            .collect();
        by_age.sort();
        let mut deleted = 0usize;
        for (published, hash) in by_age {
            let introducers_only = self
                .routers
                .get(&hash)
                .is_some_and(RouterEntry::introducers_only);
            let expired = if introducers_only {
                published.saturating_add_millis(ex.introducer_age_ms) < now
            } else if let Some(t) = timeout
                && published.saturating_add_millis(t) < now
                && total - deleted > ex.min_routers
            {
                true
            } else {
                published > now.saturating_add_millis(ROUTER_INFO_MAX_FUTURE_MS)
            };
            if expired {
                self.routers.remove(&hash);
                self.floodfills.remove(&hash);
                out.push(Action::Delete { hash });
                self.stats.expired_routers += 1;
                deleted += 1;
                debug!(router = %hash, %published, "netDb: RouterInfo expired");
            }
        }
        if deleted > 0 {
            info!(
                deleted,
                left = self.routers.len(),
                "netDb: expired RouterInfos"
            );
        }
        let before = self.lease_sets.len();
        self.lease_sets
            .retain(|_, l| l.expires() > now.saturating_add_millis(LEASE_END_GRACE_MS));
        let dropped = before - self.lease_sets.len();
        self.stats.expired_lease_sets += dropped as u64;
        if dropped > 0 {
            debug!(dropped, "netDb: expired LeaseSets");
        }
    }

    // -----------------------------------------------------------------------------------------
    // helpers shared by the other modules

    pub(crate) fn next_msg_id(&mut self) -> u32 {
        loop {
            let id = self.rng.next_u32();
            if id != 0 {
                return id;
            }
        }
    }

    pub(crate) fn message(&mut self, body: I2npBody, now: Date) -> Option<I2npMessage> {
        let id = self.next_msg_id();
        match I2npMessage::new(id, now.saturating_add_millis(MESSAGE_EXPIRATION_MS), body) {
            Ok(m) => Some(m),
            Err(e) => {
                warn!(error = %e, "netDb: cannot build a message");
                None
            }
        }
    }

    /// A uniformly chosen known floodfill other than us.
    pub(crate) fn random_floodfill(&mut self) -> Option<Hash> {
        let mut candidates: Vec<Hash> = self
            .floodfills
            .iter()
            .copied()
            .filter(|f| *f != self.own.hash())
            .collect();
        if candidates.is_empty() {
            return None;
        }
        candidates.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let i = usize::try_from(self.rng.next_u64() % candidates.len() as u64).unwrap_or(0);
        candidates.get(i).copied()
    }

    pub(crate) fn random_hash(&mut self) -> Hash {
        let mut b = [0u8; 32];
        self.rng.fill_bytes(&mut b);
        Hash::from_bytes(b)
    }

    /// A DatabaseStore carrying `entry` (no reply token).
    pub(crate) fn router_info_store(&self, entry: &RouterEntry) -> Option<I2npBody> {
        match DatabaseStore::router_info(entry.info(), None) {
            Ok(s) => Some(I2npBody::DatabaseStore(s)),
            Err(e) => {
                warn!(error = %e, "netDb: cannot build a RouterInfo store");
                None
            }
        }
    }

    pub(crate) fn lease_set_store(&self, key: Hash, entry: &LeaseSetEntry) -> Option<I2npBody> {
        match DatabaseStore::lease_set(key, entry.kind(), entry.bytes().to_vec(), None) {
            Ok(s) => Some(I2npBody::DatabaseStore(s)),
            Err(e) => {
                warn!(error = %e, "netDb: cannot build a LeaseSet store");
                None
            }
        }
    }

    /// Is `router` known with a RouterInfo published within `max_age_ms`?
    pub(crate) fn knows_fresh(&self, router: &Hash, max_age_ms: u64, now: Date) -> bool {
        *router == self.own.hash()
            || self
                .routers
                .get(router)
                .is_some_and(|e| e.published().saturating_add_millis(max_age_ms) >= now)
    }
}
