//! Publishing our RouterInfo (docs/overview/network-database.md, "RouterInfo Storage to
//! Floodfills" and "RouterInfo Storage Verification").
//!
//! As i2pd 2.45.1: a DatabaseStore with a reply token goes directly to the floodfill closest
//! to our routing key; its DeliveryStatus (message id = token) confirms the store, and after
//! `confirm_timeout_ms` without one the next closest floodfill is tried (at most
//! `max_floodfills` per round, then a pause of `retry_ms`). A round starts when our
//! RouterInfo changes and every `interval_ms` (40 min).
//!
//! Verification (Java I2P's scheme, which i2pd does not do): `verify_delay_ms` after a
//! confirmed store we look our RouterInfo up at the closest floodfill other than the one we
//! stored to. If that floodfill does not have it (or has an older one), we publish again,
//! starting with the floodfills not yet used, up to `max_verify_rounds` times.

use std::collections::HashSet;

use i2p_crypto::CryptoRng;
use i2p_wire::i2np::{DatabaseStore, StoreReply};
use i2p_wire::{Date, Hash, I2npBody, TunnelId};
use tracing::{debug, info, warn};

use crate::action::Action;
use crate::db::NetDb;
use crate::lookups::{LookupKind, Purpose, Start};

#[derive(Debug)]
struct Pending {
    token: u32,
    to: Hash,
    deadline: Date,
}

#[derive(Debug)]
struct Verify {
    at: Date,
    stored_to: Hash,
    /// the lookup is running
    started: bool,
}

/// Publishing state.
#[derive(Debug)]
pub(crate) struct PublishState {
    pending: Option<Pending>,
    /// floodfills tried this round
    tried: HashSet<Hash>,
    /// when the last confirmed store happened, and of which RouterInfo (its published date)
    confirmed: Option<(Date, Date)>,
    /// no new round before this
    not_before: Date,
    verify: Option<Verify>,
    verify_rounds: u8,
    /// a round is wanted now (our RouterInfo changed or verification failed)
    wanted: bool,
}

impl PublishState {
    pub(crate) fn new(now: Date) -> PublishState {
        PublishState {
            pending: None,
            tried: HashSet::new(),
            confirmed: None,
            not_before: now,
            verify: None,
            verify_rounds: 0,
            wanted: true,
        }
    }

    pub(crate) fn own_changed(&mut self, now: Date) {
        self.wanted = true;
        self.verify_rounds = 0;
        self.not_before = now;
    }

    /// The next time publishing has something to do.
    pub(crate) fn next_deadline(
        &self,
        enabled: bool,
        own_published: Date,
        interval_ms: u64,
    ) -> Option<Date> {
        if !enabled {
            return None;
        }
        let mut t = match (&self.pending, self.confirmed) {
            (Some(p), _) => p.deadline,
            (None, Some((at, published))) if !self.wanted && published == own_published => {
                self.not_before.max(at.saturating_add_millis(interval_ms))
            }
            (None, _) => self.not_before,
        };
        if let Some(v) = &self.verify
            && !v.started
            && v.at < t
        {
            t = v.at;
        }
        Some(t)
    }

    /// When the last confirmed store was, if any.
    pub(crate) fn last_confirmed(&self) -> Option<Date> {
        self.confirmed.map(|(at, _)| at)
    }
}

impl<R: CryptoRng> NetDb<R> {
    /// When our RouterInfo was last confirmed stored by a floodfill.
    pub fn last_published(&self) -> Option<Date> {
        self.publish.last_confirmed()
    }

    pub(crate) fn publish_tick(&mut self, now: Date, out: &mut Vec<Action>) {
        let cfg = self.cfg.publish.clone();
        if !cfg.enabled {
            return;
        }
        if let Some(p) = &self.publish.pending {
            if now < p.deadline {
                return;
            }
            debug!(floodfill = %p.to, "netDb: no confirmation of our RouterInfo store in time");
            self.publish.pending = None;
            self.publish_next(now, out);
            return;
        }
        if let Some(v) = &self.publish.verify
            && !v.started
            && now >= v.at
        {
            self.start_verify(now, out);
        }
        let own_published = self.own.published();
        let due = match self.publish.confirmed {
            None => true,
            Some((at, published)) => {
                published != own_published || now >= at.saturating_add_millis(cfg.interval_ms)
            }
        };
        if (due || self.publish.wanted) && now >= self.publish.not_before {
            if self.floodfills.is_empty() {
                // try again when a floodfill may be known
                self.publish.not_before = now.saturating_add_millis(cfg.confirm_timeout_ms);
                return;
            }
            self.publish.wanted = false;
            if due {
                // a fresh round; after a failed verification the tried set is kept
                self.publish.tried.clear();
                self.publish.verify_rounds = 0;
            }
            self.publish_next(now, out);
        }
    }

    /// Send our RouterInfo to the next closest floodfill not tried this round.
    fn publish_next(&mut self, now: Date, out: &mut Vec<Action>) {
        let cfg = self.cfg.publish.clone();
        if self.publish.tried.len() >= cfg.max_floodfills {
            warn!(
                tried = self.publish.tried.len(),
                "netDb: no floodfill confirmed our RouterInfo; trying again later"
            );
            self.publish.tried.clear();
            self.publish.not_before = now.saturating_add_millis(cfg.retry_ms);
            self.publish.wanted = true;
            return;
        }
        let own = self.own.hash();
        let mut exclude = self.publish.tried.clone();
        exclude.insert(own);
        let Some(to) = self.closest_floodfills(&own, 1, &exclude, now).pop() else {
            if !self.publish.tried.is_empty() {
                warn!("netDb: every known floodfill was tried; publishing again later");
            }
            self.publish.tried.clear();
            self.publish.not_before = now.saturating_add_millis(cfg.retry_ms);
            self.publish.wanted = true;
            return;
        };
        let token = self.next_msg_id();
        let reply = StoreReply {
            token,
            tunnel_id: TunnelId(0),
            gateway: own,
        };
        let store = match DatabaseStore::router_info(self.own.info(), Some(reply)) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "netDb: cannot build the store of our RouterInfo");
                self.publish.not_before = now.saturating_add_millis(cfg.retry_ms);
                return;
            }
        };
        let Some(msg) = self.message(I2npBody::DatabaseStore(store), now) else {
            return;
        };
        info!(floodfill = %to, token, "netDb: publishing our RouterInfo");
        self.publish.tried.insert(to);
        self.publish.wanted = false;
        self.publish.pending = Some(Pending {
            token,
            to,
            deadline: now.saturating_add_millis(cfg.confirm_timeout_ms),
        });
        out.push(Action::Send { to, msg });
    }

    /// A DeliveryStatus arrived; true if it confirmed our store.
    pub(crate) fn publish_confirmed(
        &mut self,
        from: Hash,
        msg_id: u32,
        now: Date,
        out: &mut Vec<Action>,
    ) -> bool {
        let Some(p) = self.publish.pending.take_if(|p| p.token == msg_id) else {
            return false;
        };
        info!(floodfill = %p.to, from = %from, "netDb: our RouterInfo store was confirmed");
        self.stats.publishes_confirmed += 1;
        self.publish.confirmed = Some((now, self.own.published()));
        if self.cfg.publish.verify {
            self.publish.verify = Some(Verify {
                at: now.saturating_add_millis(self.cfg.publish.verify_delay_ms),
                stored_to: p.to,
                started: false,
            });
        }
        out.push(Action::Published { floodfill: p.to });
        true
    }

    pub(crate) fn publish_send_failed(&mut self, to: Hash, now: Date, out: &mut Vec<Action>) {
        if self.publish.pending.as_ref().is_some_and(|p| p.to == to) {
            self.publish.pending = None;
            self.publish_next(now, out);
        }
    }

    fn start_verify(&mut self, now: Date, out: &mut Vec<Action>) {
        let Some(stored_to) = self.publish.verify.as_ref().map(|v| v.stored_to) else {
            return;
        };
        let own = self.own.hash();
        let exclude: HashSet<Hash> = [own, stored_to].into_iter().collect();
        let Some(at) = self.closest_floodfills(&own, 1, &exclude, now).pop() else {
            debug!("netDb: no second floodfill to verify our RouterInfo store with");
            self.publish.verify = None;
            return;
        };
        if let Some(v) = self.publish.verify.as_mut() {
            v.started = true;
        }
        debug!(floodfill = %at, "netDb: verifying our RouterInfo store");
        self.start_lookup(
            own,
            LookupKind::RouterInfo,
            Start::new(Purpose::Verify).first(at),
            now,
            out,
        );
    }

    /// The verification lookup ended: `published` is the date of the RouterInfo the floodfill
    /// had (`None`: it had none).
    pub(crate) fn verify_answer(
        &mut self,
        published: Option<Date>,
        now: Date,
        out: &mut Vec<Action>,
    ) {
        let own = self.own.hash();
        self.lookups.remove(&own, LookupKind::RouterInfo);
        let Some(v) = self.publish.verify.take() else {
            return;
        };
        if published.is_some_and(|p| p >= self.own.published()) {
            info!("netDb: our RouterInfo store verified at a second floodfill");
            return;
        }
        self.stats.verifications_failed += 1;
        if self.publish.verify_rounds >= self.cfg.publish.max_verify_rounds {
            warn!("netDb: our RouterInfo store still does not verify; waiting for the next round");
            return;
        }
        self.publish.verify_rounds += 1;
        info!(stored_to = %v.stored_to, "netDb: our RouterInfo was not found at a second floodfill; publishing again");
        // keep `tried` so the next store goes to a floodfill not used yet
        self.publish.tried.insert(v.stored_to);
        self.publish.not_before = now;
        self.publish_next(now, out);
    }
}
