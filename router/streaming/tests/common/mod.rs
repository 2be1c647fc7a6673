//! A two-node network in virtual time: two StreamManagers joined by a link that loses,
//! delays (with jitter, hence reorders), duplicates and rate-limits packets.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use i2p_crypto::Ed25519SigningKey;
use i2p_streaming::{StreamConfig, StreamEvent, StreamManager, Transmit};
use i2p_wire::{Destination, SigType};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub fn identity(seed: u8) -> (Ed25519SigningKey, Destination) {
    let k = Ed25519SigningKey::from_seed([seed; 32]);
    let d = Destination::new(SigType::Ed25519, &k.public(), &[seed ^ 0x5a; 32]).unwrap();
    (k, d)
}

pub fn manager(seed: u8, config: StreamConfig) -> (StreamManager, Destination) {
    let (k, d) = identity(seed);
    let m = StreamManager::new(config, d.clone(), 64, Box::new(move |m| k.sign(m).to_vec()));
    (m, d)
}

#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub loss: f64,
    pub dup: f64,
    pub delay_ms: u64,
    pub jitter_ms: u64,
    /// Bytes per millisecond per direction (0 = unlimited).
    pub rate: u64,
}

impl Link {
    pub fn perfect(delay_ms: u64) -> Link {
        Link {
            loss: 0.0,
            dup: 0.0,
            delay_ms,
            jitter_ms: 0,
            rate: 0,
        }
    }
    pub fn lossy() -> Link {
        Link {
            loss: 0.05,
            dup: 0.02,
            delay_ms: 100,
            jitter_ms: 40,
            rate: 1000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    A,
    B,
}

#[derive(Default, Debug, Clone)]
pub struct LinkStats {
    pub sent: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub delivered: u64,
}

pub struct Sim {
    pub now: u64,
    pub a: StreamManager,
    pub b: StreamManager,
    pub a_dest: Destination,
    pub b_dest: Destination,
    pub link: Link,
    pub link_stats: LinkStats,
    /// Return false to drop this packet (in addition to random loss); sees (from, bytes).
    pub filter: Option<Box<dyn FnMut(Side, &[u8]) -> bool>>,
    queue: BinaryHeap<Reverse<(u64, u64, Side, Vec<u8>, u16, u16)>>,
    order: u64,
    rng: StdRng,
    free_at: [u64; 2],
    pub a_events: Vec<StreamEvent>,
    pub b_events: Vec<StreamEvent>,
}

impl Sim {
    pub fn new(link: Link, seed: u64) -> Sim {
        Sim::with_configs(link, seed, StreamConfig::default(), StreamConfig::default())
    }

    pub fn with_configs(link: Link, seed: u64, ca: StreamConfig, cb: StreamConfig) -> Sim {
        let (a, a_dest) = manager(1, ca);
        let (b, b_dest) = manager(2, cb);
        Sim {
            now: 1_000_000,
            a,
            b,
            a_dest,
            b_dest,
            link,
            link_stats: LinkStats::default(),
            filter: None,
            queue: BinaryHeap::new(),
            order: 0,
            rng: StdRng::seed_from_u64(seed),
            free_at: [0; 2],
            a_events: Vec::new(),
            b_events: Vec::new(),
        }
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    fn schedule(&mut self, from: Side, t: Transmit) {
        let to = if t.remote == self.b_dest {
            Side::B
        } else if t.remote == self.a_dest {
            Side::A
        } else {
            return;
        };
        self.link_stats.sent += 1;
        if let Some(f) = self.filter.as_mut()
            && !f(from, &t.packet)
        {
            self.link_stats.lost += 1;
            return;
        }
        if self.rng.random_bool(self.link.loss) {
            self.link_stats.lost += 1;
            return;
        }
        let copies = if self.rng.random_bool(self.link.dup) {
            self.link_stats.duplicated += 1;
            2
        } else {
            1
        };
        let lane = from as usize;
        for _ in 0..copies {
            let mut at = self.now;
            if self.link.rate > 0 {
                let start = self.free_at[lane].max(self.now);
                self.free_at[lane] = start + (t.packet.len() as u64).div_ceil(self.link.rate);
                at = self.free_at[lane];
            }
            let jitter = if self.link.jitter_ms > 0 {
                self.rng.random_range(0..=self.link.jitter_ms)
            } else {
                0
            };
            at += self.link.delay_ms + jitter;
            self.order += 1;
            self.queue.push(Reverse((
                at,
                self.order,
                to,
                t.packet.clone(),
                t.from_port,
                t.to_port,
            )));
        }
    }

    /// Send everything both managers want to send now, and collect their events.
    pub fn flush(&mut self) {
        loop {
            let mut any = false;
            while let Some(t) = self.a.poll_transmit(self.now) {
                self.schedule(Side::A, t);
                any = true;
            }
            while let Some(t) = self.b.poll_transmit(self.now) {
                self.schedule(Side::B, t);
                any = true;
            }
            if !any {
                break;
            }
        }
        while let Some(e) = self.a.poll_event() {
            self.a_events.push(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.b_events.push(e);
        }
    }

    /// Flush, advance to the next delivery or deadline, handle it. False when nothing is
    /// left to happen.
    pub fn step(&mut self) -> bool {
        self.flush();
        let next = [
            self.queue.peek().map(|Reverse(x)| x.0),
            self.a.poll_timeout(),
            self.b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        while let Some(Reverse(top)) = self.queue.peek() {
            if top.0 > self.now {
                break;
            }
            let Some(Reverse((_, _, to, bytes, fp, tp))) = self.queue.pop() else {
                break;
            };
            self.link_stats.delivered += 1;
            let now = self.now;
            let mut rng = StdRng::seed_from_u64(self.order ^ now);
            let m = if to == Side::A {
                &mut self.a
            } else {
                &mut self.b
            };
            let _ = m.on_packet(&bytes, fp, tp, now, &mut rng);
        }
        if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
            self.a.handle_timeout(self.now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
            self.b.handle_timeout(self.now);
        }
        self.flush();
        true
    }

    /// Step until `cond` holds or `limit_ms` of virtual time passed; true if it held.
    pub fn run_until(&mut self, limit_ms: u64, mut cond: impl FnMut(&mut Sim) -> bool) -> bool {
        let end = self.now + limit_ms;
        loop {
            self.flush();
            if cond(self) {
                return true;
            }
            if self.now > end || !self.step() {
                return cond(self);
            }
        }
    }

    /// Drop all packets in flight.
    pub fn clear_link(&mut self) {
        self.queue.clear();
    }
}
