//! Iterative lookups and exploration.
//!
//! A lookup asks the floodfills closest to the key's routing key, `parallelism` at a time,
//! each given `peer_timeout_ms`, at most `max_peers` in all and for at most `timeout_ms`
//! (i2pd 2.45.1: one at a time, 5 s, 7 floodfills, 1 minute). A DatabaseStore for the key ends
//! it; a DatabaseSearchReply ends that floodfill's turn, and the routers it names that we do
//! not know (or know only from over an hour ago) are fetched, asking the router that named
//! them first; a lookup waits for those fetches before it gives up, since they may be closer.
//! Lookups go directly to the floodfill with no reply tunnel, as i2pd sends them when it has
//! no exploratory tunnels.
//!
//! Exploration (docs/overview/network-database.md, "Exploration"): exploratory lookups for
//! random keys, listing the routers we already know close to the key as excluded, so the
//! floodfill answers with non-floodfill routers we do not know yet; their RouterInfos are
//! then fetched as above. While we know fewer than [`MIN_FLOODFILLS`] floodfills (and in the
//! first rounds) a plain RouterInfo lookup of a random key is added, whose search reply names
//! floodfills. The pace is described in [`crate::config::ExploreConfig`].

use std::collections::{HashMap, HashSet};

use i2p_crypto::CryptoRng;
use i2p_wire::i2np::DatabaseSearchReply;
use i2p_wire::{Date, Hash, I2npBody};
use tracing::{debug, info};

use crate::action::{Action, LookupId, LookupResult};
use crate::config::{MAX_EXCLUDED, MIN_FLOODFILLS, STALE_ROUTER_INFO_MS};
use crate::db::NetDb;
use crate::entry::{LeaseSetEntry, RouterEntry};
use crate::handlers::direct_lookup;
use crate::kademlia::{closest, routing_key};

/// Most lookups in flight; hints beyond it are dropped.
const MAX_LOOKUPS: usize = 256;
/// Most routers followed from one search reply (spec: at most 16 are recommended).
const MAX_HINTS_PER_REPLY: usize = 16;
/// Floodfills asked when fetching a router named in a search reply.
const HINT_MAX_PEERS: usize = 3;
/// Routers listed as excluded in an exploratory lookup.
const EXPLORE_EXCLUDED: usize = MAX_EXCLUDED - 12;

/// What is being looked up (the DatabaseLookup type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LookupKind {
    RouterInfo,
    LeaseSet,
    Exploration,
}

/// Why a lookup runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// asked for by the shell: report [`Action::LookupDone`]
    Wanted,
    /// a router named in a search reply
    Hint,
    /// exploration: one exploratory request, hints followed
    Explore,
    /// a RouterInfo lookup of a random key, for the floodfills its search reply names
    DiscoverFloodfills,
    /// our own RouterInfo at another floodfill, after a publish
    Verify,
}

/// How a lookup starts: why, for which shell request, asking whom first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Start {
    purpose: Purpose,
    id: Option<LookupId>,
    first: Option<Hash>,
}

impl Start {
    pub(crate) fn new(purpose: Purpose) -> Start {
        Start {
            purpose,
            id: None,
            first: None,
        }
    }
    pub(crate) fn id(mut self, id: LookupId) -> Start {
        self.id = Some(id);
        self
    }
    pub(crate) fn first(mut self, first: Hash) -> Start {
        self.first = Some(first);
        self
    }
}

#[derive(Debug)]
pub(crate) struct Lookup {
    purpose: Purpose,
    ids: Vec<LookupId>,
    deadline: Date,
    /// floodfills asked, in order (the excluded list of later requests)
    asked: Vec<Hash>,
    /// floodfills asked and not yet answered, with their deadline
    pending: Vec<(Hash, Date)>,
    /// routers named in search replies whose RouterInfos are being fetched
    waiting_on: HashSet<Hash>,
    /// ask this router first
    first: Option<Hash>,
    max_peers: usize,
    parallelism: usize,
    /// one request only (exploration, floodfill discovery, verification)
    single: bool,
}

#[derive(Debug, Default)]
pub(crate) struct LookupTable {
    map: HashMap<(Hash, LookupKind), Lookup>,
    next_id: u64,
}

impl LookupTable {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
    pub(crate) fn contains(&self, key: &Hash, kind: LookupKind) -> bool {
        self.map.contains_key(&(*key, kind))
    }
    pub(crate) fn new_id(&mut self) -> LookupId {
        self.next_id += 1;
        LookupId(self.next_id)
    }
    pub(crate) fn next_deadline(&self) -> Option<Date> {
        self.map
            .values()
            .flat_map(|l| {
                l.pending
                    .iter()
                    .map(|(_, d)| *d)
                    .chain(std::iter::once(l.deadline))
            })
            .min()
    }
    pub(crate) fn remove(&mut self, key: &Hash, kind: LookupKind) -> Option<Lookup> {
        self.map.remove(&(*key, kind))
    }
}

/// Exploration pacing.
#[derive(Debug)]
pub(crate) struct ExploreState {
    next: Date,
    interval_ms: u64,
    learned_at_last_round: u64,
    rounds: u64,
}

impl ExploreState {
    pub(crate) fn new(now: Date) -> ExploreState {
        ExploreState {
            next: now,
            interval_ms: 0,
            learned_at_last_round: 0,
            rounds: 0,
        }
    }
}

impl<R: CryptoRng> NetDb<R> {
    /// Find the RouterInfo of `key`: at once if we hold it, else by asking floodfills.
    /// [`Action::LookupDone`] with the returned id reports the result (possibly among the
    /// returned actions).
    pub fn lookup_router(&mut self, key: Hash, now: Date) -> (LookupId, Vec<Action>) {
        let mut out = Vec::new();
        if let Some(e) = self.router(&key).cloned() {
            let id = self.lookups.new_id();
            out.push(Action::LookupDone {
                id,
                key,
                result: LookupResult::RouterInfo(e),
            });
            return (id, out);
        }
        let id = self.start_wanted(key, LookupKind::RouterInfo, now, &mut out);
        (id, out)
    }

    /// Find the LeaseSet stored under `key` (see [`NetDb::lookup_router`]).
    pub fn lookup_lease_set(&mut self, key: Hash, now: Date) -> (LookupId, Vec<Action>) {
        let mut out = Vec::new();
        if let Some(e) = self.lease_set(&key, now).cloned() {
            let id = self.lookups.new_id();
            out.push(Action::LookupDone {
                id,
                key,
                result: LookupResult::LeaseSet(e),
            });
            return (id, out);
        }
        let id = self.start_wanted(key, LookupKind::LeaseSet, now, &mut out);
        (id, out)
    }

    /// A transport could not deliver to `to`: lookups and publishing move on at once.
    pub fn send_failed(&mut self, to: Hash, now: Date) -> Vec<Action> {
        let mut out = Vec::new();
        let keys: Vec<(Hash, LookupKind)> = self
            .lookups
            .map
            .iter()
            .filter(|(_, l)| l.pending.iter().any(|(p, _)| *p == to))
            .map(|(k, _)| *k)
            .collect();
        for (key, kind) in keys {
            self.peer_answered(&key, kind, to, now, &mut out);
        }
        self.publish_send_failed(to, now, &mut out);
        out
    }

    fn start_wanted(
        &mut self,
        key: Hash,
        kind: LookupKind,
        now: Date,
        out: &mut Vec<Action>,
    ) -> LookupId {
        let id = self.lookups.new_id();
        let max_peers = self.cfg.lookup.max_peers;
        let parallelism = self.cfg.lookup.parallelism;
        if let Some(l) = self.lookups.map.get_mut(&(key, kind)) {
            // join the lookup already running (a fetch for a hint becomes a full lookup)
            l.ids.push(id);
            if l.purpose == Purpose::Hint {
                l.purpose = Purpose::Wanted;
                l.max_peers = max_peers;
                l.parallelism = parallelism;
            }
            self.advance(&key, kind, now, out);
            return id;
        }
        self.start_lookup(key, kind, Start::new(Purpose::Wanted).id(id), now, out);
        id
    }

    /// Start a lookup (if none runs for the key) and send its first requests.
    pub(crate) fn start_lookup(
        &mut self,
        key: Hash,
        kind: LookupKind,
        start: Start,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let Start { purpose, id, first } = start;
        if self.lookups.contains(&key, kind) {
            return;
        }
        let single = matches!(
            purpose,
            Purpose::Explore | Purpose::DiscoverFloodfills | Purpose::Verify
        );
        let (max_peers, parallelism) = match purpose {
            Purpose::Wanted => (self.cfg.lookup.max_peers, self.cfg.lookup.parallelism),
            Purpose::Hint => (HINT_MAX_PEERS, 1),
            _ => (1, 1),
        };
        self.stats.lookups_started += 1;
        self.lookups.map.insert(
            (key, kind),
            Lookup {
                purpose,
                ids: id.into_iter().collect(),
                deadline: now.saturating_add_millis(self.cfg.lookup.timeout_ms),
                asked: Vec::new(),
                pending: Vec::new(),
                waiting_on: HashSet::new(),
                first,
                max_peers: max_peers.max(1),
                parallelism: parallelism.max(1),
                single,
            },
        );
        self.advance(&key, kind, now, out);
    }

    /// Send requests up to the lookup's parallelism; end it when nothing is left to try.
    fn advance(&mut self, key: &Hash, kind: LookupKind, now: Date, out: &mut Vec<Action>) {
        let own = self.own.hash();
        loop {
            let Some(l) = self.lookups.map.get(&(*key, kind)) else {
                return;
            };
            if l.pending.len() >= l.parallelism
                || l.asked.len() >= l.max_peers
                || (l.single && !l.asked.is_empty())
            {
                break;
            }
            let next = match l.first.filter(|f| !l.asked.contains(f) && *f != own) {
                Some(f) => Some(f),
                None => {
                    let mut exclude: HashSet<Hash> = l.asked.iter().copied().collect();
                    exclude.insert(own);
                    self.closest_floodfills(key, 1, &exclude, now).pop()
                }
            };
            let Some(to) = next else { break };
            let excluded = self.excluded_for(key, kind, now);
            let peer_deadline = now.saturating_add_millis(self.cfg.lookup.peer_timeout_ms);
            if let Some(l) = self.lookups.map.get_mut(&(*key, kind)) {
                l.first = None;
                l.asked.push(to);
                l.pending.push((to, peer_deadline));
            }
            match direct_lookup(*key, own, kind, excluded) {
                Ok(dl) => {
                    if let Some(msg) = self.message(I2npBody::DatabaseLookup(dl), now) {
                        debug!(key = %key, ?kind, to = %to, "netDb: sending DatabaseLookup");
                        out.push(Action::Send { to, msg });
                    }
                }
                Err(e) => debug!(error = %e, "netDb: cannot build a DatabaseLookup"),
            }
        }
        let done = self
            .lookups
            .map
            .get(&(*key, kind))
            .is_some_and(|l| l.pending.is_empty() && l.waiting_on.is_empty());
        if done {
            let nobody = self
                .lookups
                .map
                .get(&(*key, kind))
                .is_some_and(|l| l.asked.is_empty());
            let result = if nobody {
                LookupResult::NoFloodfills
            } else {
                LookupResult::NotFound
            };
            self.finish(key, kind, result, now, out);
        }
    }

    /// The excluded list of a request: the floodfills already asked, or for exploration the
    /// known routers closest to the key (and us).
    fn excluded_for(&self, key: &Hash, kind: LookupKind, now: Date) -> Vec<Hash> {
        match kind {
            LookupKind::Exploration => {
                let target = routing_key(key, now);
                let mut v = closest(
                    &target,
                    self.routers
                        .iter()
                        .filter(|(_, e)| !e.caps().floodfill)
                        .map(|(h, _)| h),
                    EXPLORE_EXCLUDED,
                    &HashSet::new(),
                );
                v.push(self.own.hash());
                v
            }
            _ => self
                .lookups
                .map
                .get(&(*key, kind))
                .map(|l| {
                    // the request goes to the last one asked; exclude the others
                    let n = l.asked.len().saturating_sub(1);
                    l.asked.iter().take(n.min(MAX_EXCLUDED)).copied().collect()
                })
                .unwrap_or_default(),
        }
    }

    /// End a lookup and report it.
    fn finish(
        &mut self,
        key: &Hash,
        kind: LookupKind,
        result: LookupResult,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let Some(l) = self.lookups.remove(key, kind) else {
            return;
        };
        if result.is_found() {
            self.stats.lookups_found += 1;
        } else {
            self.stats.lookups_failed += 1;
        }
        match l.purpose {
            Purpose::Wanted => {
                if !result.is_found() {
                    debug!(key = %key, ?kind, asked = l.asked.len(), "netDb: lookup failed");
                }
                for id in l.ids {
                    out.push(Action::LookupDone {
                        id,
                        key: *key,
                        result: result.clone(),
                    });
                }
            }
            Purpose::Verify => {
                if !result.is_found() {
                    self.verify_answer(None, now, out);
                }
            }
            Purpose::Hint | Purpose::Explore | Purpose::DiscoverFloodfills => {}
        }
        if kind == LookupKind::RouterInfo {
            // lookups that waited for this router can go on
            let parents: Vec<(Hash, LookupKind)> = self
                .lookups
                .map
                .iter_mut()
                .filter_map(|(k, p)| p.waiting_on.remove(key).then_some(*k))
                .collect();
            for (pk, pkind) in parents {
                self.advance(&pk, pkind, now, out);
            }
        }
    }

    /// `from` answered (or cannot be reached) for this lookup without the entry.
    pub(crate) fn peer_answered(
        &mut self,
        key: &Hash,
        kind: LookupKind,
        from: Hash,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        if let Some(l) = self.lookups.map.get_mut(&(*key, kind)) {
            l.pending.retain(|(p, _)| *p != from);
            if l.single && l.pending.is_empty() && l.waiting_on.is_empty() {
                self.finish(key, kind, LookupResult::NotFound, now, out);
                return;
            }
        }
        self.advance(key, kind, now, out);
    }

    /// A RouterInfo was stored (or was already current): complete lookups for it.
    pub(crate) fn router_info_arrived(
        &mut self,
        entry: &RouterEntry,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let key = entry.hash();
        if self.lookups.contains(&key, LookupKind::RouterInfo) {
            self.finish(
                &key,
                LookupKind::RouterInfo,
                LookupResult::RouterInfo(entry.clone()),
                now,
                out,
            );
        }
        if entry.is_floodfill() {
            // a new floodfill may be closer for lookups that still have room
            let keys: Vec<(Hash, LookupKind)> = self
                .lookups
                .map
                .iter()
                .filter(|(_, l)| {
                    !l.single && l.pending.len() < l.parallelism && l.asked.len() < l.max_peers
                })
                .map(|(k, _)| *k)
                .collect();
            for (k, kind) in keys {
                self.advance(&k, kind, now, out);
            }
        }
    }

    pub(crate) fn lease_set_arrived(
        &mut self,
        key: &Hash,
        entry: &LeaseSetEntry,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        if self.lookups.contains(key, LookupKind::LeaseSet) {
            self.finish(
                key,
                LookupKind::LeaseSet,
                LookupResult::LeaseSet(entry.clone()),
                now,
                out,
            );
        }
    }

    pub(crate) fn search_reply_arrived(
        &mut self,
        from: Hash,
        reply: &DatabaseSearchReply,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let key = reply.key();
        let mut hints: Vec<Hash> = Vec::new();
        for p in reply.peers().iter().take(MAX_HINTS_PER_REPLY) {
            if !hints.contains(p) && !self.knows_fresh(p, STALE_ROUTER_INFO_MS, now) {
                hints.push(*p);
            }
        }
        let mut matched = false;
        for kind in [
            LookupKind::RouterInfo,
            LookupKind::LeaseSet,
            LookupKind::Exploration,
        ] {
            let Some(l) = self.lookups.map.get_mut(&(key, kind)) else {
                continue;
            };
            matched = true;
            if !l.single {
                // wait for the named routers: they may be closer floodfills
                l.waiting_on.extend(hints.iter().copied());
            }
            l.pending.retain(|(p, _)| *p != from);
        }
        if !matched {
            debug!(from = %from, key = %key, "netDb: DatabaseSearchReply for no lookup of ours");
        }
        // fetch the named routers, asking the router that named them first
        for h in &hints {
            if self.lookups.len() >= MAX_LOOKUPS {
                break;
            }
            if self.lookups.contains(h, LookupKind::RouterInfo) {
                continue;
            }
            self.start_lookup(
                *h,
                LookupKind::RouterInfo,
                Start::new(Purpose::Hint).first(from),
                now,
                out,
            );
        }
        // drop waits for hints that could not be started or finished at once
        let running: HashSet<Hash> = hints
            .iter()
            .filter(|h| self.lookups.contains(h, LookupKind::RouterInfo))
            .copied()
            .collect();
        for kind in [
            LookupKind::RouterInfo,
            LookupKind::LeaseSet,
            LookupKind::Exploration,
        ] {
            if let Some(l) = self.lookups.map.get_mut(&(key, kind)) {
                l.waiting_on.retain(|h| running.contains(h));
                if l.single && l.pending.is_empty() {
                    self.finish(&key, kind, LookupResult::NotFound, now, out);
                } else {
                    self.advance(&key, kind, now, out);
                }
            }
        }
    }

    /// Per-peer and overall timeouts.
    pub(crate) fn lookups_tick(&mut self, now: Date, out: &mut Vec<Action>) {
        let due: Vec<(Hash, LookupKind, bool)> = self
            .lookups
            .map
            .iter()
            .filter(|(_, l)| l.deadline <= now || l.pending.iter().any(|(_, d)| *d <= now))
            .map(|(k, l)| (k.0, k.1, l.deadline <= now))
            .collect();
        for (key, kind, overall) in due {
            if overall {
                self.finish(&key, kind, LookupResult::NotFound, now, out);
                continue;
            }
            let timed_out: Vec<Hash> = self
                .lookups
                .map
                .get(&(key, kind))
                .map(|l| {
                    l.pending
                        .iter()
                        .filter(|(_, d)| *d <= now)
                        .map(|(p, _)| *p)
                        .collect()
                })
                .unwrap_or_default();
            for p in timed_out {
                debug!(key = %key, peer = %p, "netDb: no answer to a lookup in time");
                self.peer_answered(&key, kind, p, now, out);
            }
        }
    }

    pub(crate) fn explore_next(&self, enabled: bool) -> Option<Date> {
        enabled.then_some(self.explore.next)
    }

    /// One exploration round when it is due.
    pub(crate) fn explore_tick(&mut self, now: Date, out: &mut Vec<Action>) {
        let cfg = self.cfg.explore.clone();
        if !cfg.enabled || now < self.explore.next {
            return;
        }
        let known = self.routers.len();
        // pace: fast while small and still learning, slower when nothing new turns up
        let learned_something = self.learned > self.explore.learned_at_last_round;
        self.explore.learned_at_last_round = self.learned;
        self.explore.interval_ms = if known >= cfg.large_netdb {
            cfg.large_interval_ms
        } else if learned_something && known < crate::config::MIN_ROUTERS {
            cfg.fast_interval_ms
        } else {
            (self.explore.interval_ms.max(cfg.fast_interval_ms) * 2).min(cfg.interval_ms)
        };
        self.explore.next = now.saturating_add_millis(self.explore.interval_ms);
        if self.floodfills.iter().all(|f| *f == self.own.hash()) {
            debug!("netDb: no floodfill known, nothing to explore with");
            return;
        }
        let count = (800 / known.max(1)).clamp(1, cfg.max_per_round.max(1));
        self.explore.rounds += 1;
        self.stats.explorations += 1;
        info!(
            known,
            floodfills = self.floodfills.len(),
            lookups = count,
            next_in_ms = self.explore.interval_ms,
            "netDb: exploring"
        );
        for _ in 0..count {
            let key = self.random_hash();
            self.start_lookup(
                key,
                LookupKind::Exploration,
                Start::new(Purpose::Explore),
                now,
                out,
            );
        }
        // Exploration answers list non-floodfills only; floodfills are learned from the
        // search replies to RouterInfo lookups of random keys (what i2pd does for all of its
        // exploration). A floodfill lists only floodfills closer to the key than itself, so
        // the first one asked is a random known floodfill, not the closest. One such lookup
        // every round, three while we know few floodfills or are just starting.
        let discover = if self.floodfills.len() < MIN_FLOODFILLS || self.explore.rounds <= 3 {
            3
        } else {
            1
        };
        for _ in 0..discover {
            let key = self.random_hash();
            let mut start = Start::new(Purpose::DiscoverFloodfills);
            if let Some(f) = self.random_floodfill() {
                start = start.first(f);
            }
            self.start_lookup(key, LookupKind::RouterInfo, start, now, out);
        }
    }
}
