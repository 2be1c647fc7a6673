//! Handling of the netDb I2NP messages (spec/i2np.md): DatabaseStore (store, reply with a
//! DeliveryStatus, flood as a floodfill), DatabaseLookup (answer as i2pd 2.45.1 does, with
//! tagged replies when asked), DatabaseSearchReply (feeds the lookups), DeliveryStatus
//! (publish confirmations) and router-addressed Garlic (unwrapped to the messages above).

use std::collections::HashSet;

use i2p_crypto::CryptoRng;
use i2p_wire::i2np::{
    DatabaseLookup, DatabaseSearchReply, DatabaseStore, DeliveryStatus, Garlic, LookupType,
    ReplyEncryption, StoreData,
};
use i2p_wire::{Date, Hash, I2npBody};
use tracing::{debug, warn};

use crate::action::Action;
use crate::config::{FLOOD_REDUNDANCY, MAX_FLOOD_AGE_MS, SEARCH_REPLY_PEERS};
use crate::db::{NetDb, Origin};
use crate::entry::{LeaseSetEntry, RouterEntry, StoreError};
use crate::kademlia::{Distance, closest, routing_key};
use crate::lookups::LookupKind;
use crate::router_garlic::{self, Delivery};

impl<R: CryptoRng> NetDb<R> {
    pub(crate) fn on_store(
        &mut self,
        from: Hash,
        store: DatabaseStore,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let key = store.key();
        // i2pd answers the reply token before looking at the data
        if let Some(reply) = store.reply().copied() {
            let status = I2npBody::DeliveryStatus(DeliveryStatus {
                msg_id: reply.token,
                timestamp: now,
            });
            if let Some(msg) = self.message(status, now) {
                if reply.tunnel_id.0 == 0 {
                    out.push(Action::Send {
                        to: reply.gateway,
                        msg,
                    });
                } else {
                    out.push(Action::SendToTunnel {
                        gateway: reply.gateway,
                        tunnel_id: reply.tunnel_id,
                        msg,
                    });
                }
            }
        }
        let refuse = |this: &mut Self, err: StoreError| {
            this.stats.stores_refused += 1;
            debug!(from = %from, key = %key, kind = ?store.kind(), reason = %err, "netDb: DatabaseStore refused");
        };
        if key.is_zero() {
            return refuse(self, StoreError::ZeroKey);
        }
        if key == self.own.hash() {
            // a lookup of our own RouterInfo verifies our publish
            if let StoreData::RouterInfo(g) = store.data() {
                self.own_router_info_seen(g.decompressed(), now, out);
            }
            return;
        }
        let flood = store.reply().is_some() && self.cfg.floodfill;
        debug!(from = %from, key = %key, kind = ?store.kind(), reply = store.reply().is_some(), "netDb: DatabaseStore");
        match store.data() {
            StoreData::RouterInfo(g) => {
                let origin = Origin::Transport { flood };
                match self.store_router_info(Some(&key), g.decompressed(), origin, out, now) {
                    Ok((outcome, entry)) => {
                        self.router_info_arrived(&entry, now, out);
                        // also an unchanged entry, if this version was never flooded: routers
                        // usually connect to us (their RouterInfo in the handshake) before they
                        // store it with a reply token
                        let fresh_version =
                            self.flooded.get(&key).copied() != Some(entry.published());
                        if flood && (outcome.changed() || fresh_version) {
                            self.flood_router_info(&entry, Some(from), now, out);
                        }
                    }
                    Err(e) => {
                        refuse(self, e);
                        self.lookup_refused(&key, LookupKind::RouterInfo, from, now, out);
                    }
                }
            }
            StoreData::LeaseSet(bytes) => {
                let solicited = self.lookups.contains(&key, LookupKind::LeaseSet);
                match self.store_lease_set(&key, store.kind(), bytes, solicited, now) {
                    Ok((outcome, entry)) => {
                        self.lease_set_arrived(&key, &entry, now, out);
                        if flood && outcome.changed() {
                            self.flood_lease_set(&key, &entry, from, now, out);
                        }
                    }
                    Err(e) => {
                        refuse(self, e);
                        self.lookup_refused(&key, LookupKind::LeaseSet, from, now, out);
                    }
                }
            }
        }
    }

    /// Flood a RouterInfo to the floodfills closest to its key (not us, not the router itself,
    /// not `from`), unless it was published over an hour ago.
    pub(crate) fn flood_router_info(
        &mut self,
        entry: &RouterEntry,
        from: Option<Hash>,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        if entry.published().saturating_add_millis(MAX_FLOOD_AGE_MS) < now {
            debug!(router = %entry.hash(), "netDb: not flooding a RouterInfo older than an hour");
            return;
        }
        let Some(body) = self.router_info_store(entry) else {
            return;
        };
        if self.flooded.len() >= 10_000 {
            let cutoff = now.saturating_sub_millis(MAX_FLOOD_AGE_MS);
            self.flooded.retain(|_, published| *published >= cutoff);
        }
        self.flooded.insert(entry.hash(), entry.published());
        self.flood(entry.hash(), body, from, now, out);
    }

    fn flood_lease_set(
        &mut self,
        key: &Hash,
        entry: &LeaseSetEntry,
        from: Hash,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let Some(body) = self.lease_set_store(*key, entry) else {
            return;
        };
        self.flood(*key, body, Some(from), now, out);
    }

    fn flood(
        &mut self,
        key: Hash,
        body: I2npBody,
        from: Option<Hash>,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let mut exclude: HashSet<Hash> = [self.own.hash(), key].into_iter().collect();
        exclude.extend(from);
        let targets = self.closest_floodfills(&key, FLOOD_REDUNDANCY, &exclude, now);
        for to in targets {
            if let Some(msg) = self.message(body.clone(), now) {
                debug!(key = %key, to = %to, "netDb: flooding");
                self.stats.floods_sent += 1;
                out.push(Action::Send { to, msg });
            }
        }
    }

    pub(crate) fn on_lookup(
        &mut self,
        from: Hash,
        lookup: DatabaseLookup,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let key = lookup.key();
        if key.is_zero() {
            debug!(from = %from, "netDb: DatabaseLookup for the zero key ignored");
            return;
        }
        let reply_to = lookup.from();
        if reply_to == self.own.hash() {
            debug!(from = %from, "netDb: DatabaseLookup asking for a reply to ourselves ignored");
            return;
        }
        let excluded: HashSet<Hash> = lookup.excluded_peers().iter().copied().collect();
        let body = match lookup.lookup_type() {
            LookupType::Exploration => {
                let mut ex = excluded;
                ex.insert(self.own.hash());
                ex.insert(reply_to);
                let peers = self.closest_non_floodfills(&key, SEARCH_REPLY_PEERS, &ex, now);
                self.search_reply(key, peers)
            }
            kind => {
                let mut found = None;
                if matches!(kind, LookupType::RouterInfo | LookupType::Any) {
                    found = self
                        .router(&key)
                        .cloned()
                        .and_then(|e| self.router_info_store(&e));
                }
                // LeaseSets are served by floodfills only (netDb segmentation)
                if found.is_none()
                    && self.cfg.floodfill
                    && matches!(kind, LookupType::LeaseSet | LookupType::Any)
                    && let Some(ls) = self.lease_set(&key, now).cloned()
                {
                    found = self.lease_set_store(key, &ls);
                }
                match found {
                    Some(b) => Some(b),
                    None => {
                        let peers = self.closer_floodfills(&key, &excluded, now);
                        self.search_reply(key, peers)
                    }
                }
            }
        };
        let Some(body) = body else { return };
        let Some(msg) = self.message(body, now) else {
            return;
        };
        self.stats.lookups_answered += 1;
        debug!(from = %from, key = %key, kind = ?lookup.lookup_type(), reply_type = msg.type_id(), encryption = ?lookup.reply_encryption(), "netDb: answering a DatabaseLookup");
        match lookup.reply_tunnel() {
            None => out.push(Action::Send { to: reply_to, msg }),
            Some(tunnel_id) => {
                // encryption only makes sense through a tunnel (i2pd does the same)
                let msg = match lookup.reply_encryption() {
                    ReplyEncryption::None => msg,
                    ReplyEncryption::Ratchet { reply_key, tags } => {
                        let Some(tag) = tags.first() else { return };
                        let padding = u16::from(self.rng.next_u32() as u8 & 0x0f);
                        let sealed = router_garlic::seal_reply(&msg, reply_key, tag, padding)
                            .ok()
                            .and_then(|g| self.message(I2npBody::Garlic(g), now));
                        match sealed {
                            Some(m) => m,
                            None => {
                                warn!(key = %key, "netDb: cannot build an encrypted lookup reply");
                                return;
                            }
                        }
                    }
                    ReplyEncryption::ElGamalAes { reply_key, tags } => {
                        let Some(tag) = tags.first() else { return };
                        let sealed = router_garlic::seal_elgamal_aes_reply(
                            &msg,
                            reply_key,
                            tag,
                            now,
                            &mut self.rng,
                        )
                        .ok()
                        .and_then(|g| self.message(I2npBody::Garlic(g), now));
                        match sealed {
                            Some(m) => m,
                            None => {
                                warn!(key = %key, "netDb: cannot build an ElGamal/AES lookup reply");
                                return;
                            }
                        }
                    }
                    other => {
                        debug!(key = %key, encryption = ?other, "netDb: lookup asks for a reply encryption we do not support; no reply");
                        return;
                    }
                };
                out.push(Action::SendToTunnel {
                    gateway: reply_to,
                    tunnel_id,
                    msg,
                });
            }
        }
    }

    /// Floodfills closest to `key` that are not excluded; as a floodfill only those closer to
    /// the key than we are (i2pd `GetClosestFloodfills(..., closeThanUsOnly = true)`).
    fn closer_floodfills(&self, key: &Hash, excluded: &HashSet<Hash>, now: Date) -> Vec<Hash> {
        let target = routing_key(key, now);
        let own = self.own.hash();
        let limit = Distance::between(&target, &own);
        let candidates = self
            .floodfills
            .iter()
            .filter(|h| **h != own)
            .filter(|h| !self.cfg.floodfill || Distance::between(&target, h) < limit);
        closest(&target, candidates, SEARCH_REPLY_PEERS, excluded)
    }

    fn search_reply(&self, key: Hash, peers: Vec<Hash>) -> Option<I2npBody> {
        match DatabaseSearchReply::new(key, peers, self.own.hash()) {
            Ok(r) => Some(I2npBody::DatabaseSearchReply(r)),
            Err(e) => {
                warn!(error = %e, "netDb: cannot build a DatabaseSearchReply");
                None
            }
        }
    }

    pub(crate) fn on_search_reply(
        &mut self,
        from: Hash,
        reply: DatabaseSearchReply,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        debug!(from = %from, key = %reply.key(), peers = reply.peers().len(), "netDb: DatabaseSearchReply");
        self.search_reply_arrived(from, &reply, now, out);
    }

    pub(crate) fn on_delivery_status(
        &mut self,
        from: Hash,
        status: DeliveryStatus,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        if !self.publish_confirmed(from, status.msg_id, now, out) {
            debug!(from = %from, msg_id = status.msg_id, "netDb: DeliveryStatus that is not ours");
        }
    }

    pub(crate) fn on_garlic(
        &mut self,
        from: Hash,
        garlic: Garlic,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let Some(secret) = self.router_secret.as_ref() else {
            debug!(from = %from, "netDb: garlic message for the router, but no router key configured");
            return;
        };
        let cloves = match router_garlic::open_for_router(&garlic, secret) {
            Ok(c) => c,
            Err(e) => {
                self.stats.garlic_refused += 1;
                debug!(from = %from, error = %e, "netDb: cannot open a garlic message for the router");
                return;
            }
        };
        for clove in cloves {
            if clove.delivery != Delivery::Local {
                debug!(from = %from, delivery = ?clove.delivery, "netDb: garlic clove not for local delivery dropped");
                continue;
            }
            if clove.message.expiration() < now.saturating_sub_millis(60_000) {
                debug!(from = %from, "netDb: expired garlic clove dropped");
                continue;
            }
            match clove.message.body() {
                I2npBody::DatabaseStore(_)
                | I2npBody::DatabaseLookup(_)
                | I2npBody::DatabaseSearchReply(_)
                | I2npBody::DeliveryStatus(_) => {
                    self.dispatch(from, clove.message.into_body(), now, false, out);
                }
                // no garlic inside garlic
                I2npBody::Garlic(_) => {
                    debug!(from = %from, "netDb: garlic inside a garlic clove dropped");
                }
                _ => out.push(Action::Deliver {
                    from,
                    msg: clove.message,
                }),
            }
        }
    }

    /// Our own RouterInfo came back (the answer to a store verification).
    fn own_router_info_seen(&mut self, bytes: &[u8], now: Date, out: &mut Vec<Action>) {
        let published = i2p_wire::RouterInfo::parse(bytes)
            .and_then(|u| u.verify(now))
            .ok()
            .filter(|ri| ri.hash() == self.own.hash())
            .map(|ri| ri.published());
        self.verify_answer(published, now, out);
    }

    /// A store for a key we were looking up was refused: that floodfill's answer is spent.
    fn lookup_refused(
        &mut self,
        key: &Hash,
        kind: LookupKind,
        from: Hash,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        if self.lookups.contains(key, kind) {
            self.peer_answered(key, kind, from, now, out);
        }
    }
}

/// Build a `LookupType`-appropriate DatabaseLookup sent directly to us (no tunnel, no
/// encryption).
pub(crate) fn direct_lookup(
    key: Hash,
    own: Hash,
    kind: LookupKind,
    excluded: Vec<Hash>,
) -> Result<DatabaseLookup, i2p_wire::Error> {
    let t = match kind {
        LookupKind::RouterInfo => LookupType::RouterInfo,
        LookupKind::LeaseSet => LookupType::LeaseSet,
        LookupKind::Exploration => LookupType::Exploration,
    };
    DatabaseLookup::new(key, own, None, t, excluded, ReplyEncryption::None)
}
