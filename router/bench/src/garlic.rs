//! Garlic Existing Session messages (`i2p_garlic::Sessions`): two destinations' session
//! tables, established through the real NS → NSR → ES → ES exchange, then one-way ES traffic
//! carrying one clove (an I2NP Data message of a streaming packet's size).
//!
//! Floor: ChaCha20-Poly1305 (seal, or open with tag check) over the mean payload length the
//! path produced, with the 8-byte tag as associated data, plus the two HKDF-SHA256 ratchet
//! steps each side cannot avoid per message: the sender's next session tag and next message
//! key, the receiver's message key and the one new tag its look-ahead window adds.
//!
//! The tag sender starts a DH ratchet (an X25519 key exchange) after 8192 messages; the
//! benchmark replaces the session pair before that (outside the clock), so the numbers are the
//! steady-state symmetric ratchet.

use std::hint::black_box;

use i2p_crypto::{X25519Public, X25519Secret};
use i2p_garlic::{Clove, Delivery, GarlicConfig, MessageKind, Sessions};
use i2p_wire::i2np::{Data, I2npBody};
use i2p_wire::{Date, Hash, I2npMessage};
use rand::rngs::ThreadRng;

use crate::floor::{AeadFloor, Direction};
use crate::harness::Bench;
use crate::{Case, Error, check};

/// Bytes of the Data message's payload: the default streaming MTU.
pub const CLOVE_PAYLOAD: usize = 1730;
/// Session tag length, and the tag + Poly1305 overhead of an ES message.
const TAG_LEN: usize = 8;
const ES_OVERHEAD: usize = TAG_LEN + 16;
/// Messages per session pair before it is replaced: below the DH ratchet threshold (8192).
const MESSAGES_PER_PAIR: usize = 8000;
/// A fixed clock: sessions never idle out and no NS restart is planned.
const NOW_MS: u64 = 1_800_000_000_000;

/// Two destinations with an established ES session, A sending to B.
pub struct Pair {
    pub a: Sessions,
    pub b: Sessions,
    pub bpk: X25519Public,
    /// ES messages A sent since the pair was made.
    pub sent: usize,
    rng: ThreadRng,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

fn clove(id: u32) -> Result<Clove, Error> {
    let payload: Vec<u8> = (0..CLOVE_PAYLOAD).map(|i| (i % 253) as u8).collect();
    Ok(Clove {
        delivery: Delivery::Destination(Hash::from_bytes([5; 32])),
        message: I2npMessage::new(
            id,
            Date::from_millis(NOW_MS + 60_000),
            I2npBody::Data(Data::new(payload)?),
        )?,
    })
}

impl Pair {
    /// Fresh keys, then NS → NSR → ES → ES, checking each message's kind.
    pub fn establish() -> Result<Pair, Error> {
        let mut rng = rand::rng();
        let a_key = X25519Secret::generate(&mut rng);
        let b_key = X25519Secret::generate(&mut rng);
        let (apk, bpk) = (a_key.public(), b_key.public());
        let mut a = Sessions::new(a_key, GarlicConfig::default());
        let mut b = Sessions::new(b_key, GarlicConfig::default());
        let c = [clove(1)?];
        let ns = a.seal(&bpk, &c, NOW_MS, &mut rng)?;
        check(
            b.open(&ns, NOW_MS)?.kind == MessageKind::NewSession,
            "garlic NS",
        )?;
        let nsr = b.seal(&apk, &c, NOW_MS, &mut rng)?;
        check(
            a.open(&nsr, NOW_MS)?.kind == MessageKind::NewSessionReply,
            "garlic NSR",
        )?;
        let es = a.seal(&bpk, &c, NOW_MS, &mut rng)?;
        check(
            b.open(&es, NOW_MS)?.kind == MessageKind::Existing,
            "garlic ES a→b",
        )?;
        let es = b.seal(&apk, &c, NOW_MS, &mut rng)?;
        check(
            a.open(&es, NOW_MS)?.kind == MessageKind::Existing,
            "garlic ES b→a",
        )?;
        Ok(Pair {
            a,
            b,
            bpk,
            sent: 1,
            rng,
        })
    }

    /// A seals one ES message to B.
    pub fn seal(&mut self, cloves: &[Clove]) -> Option<Vec<u8>> {
        self.sent += 1;
        self.a.seal(&self.bpk, cloves, NOW_MS, &mut self.rng).ok()
    }

    /// Replace the pair if `more` messages would reach the DH ratchet.
    fn refresh_for(&mut self, more: usize) {
        if self.sent + more > MESSAGES_PER_PAIR
            && let Ok(p) = Pair::establish()
        {
            *self = p;
        }
    }
}

/// `Sessions::seal` of one ES message from A to B.
struct Seal {
    pair: Pair,
    cloves: Vec<Clove>,
}

impl Bench for Seal {
    fn prepare(&mut self, iters: usize) {
        self.pair.refresh_for(iters);
    }

    fn run(&mut self, iters: usize) -> usize {
        let mut failed = 0;
        for _ in 0..iters {
            match self.pair.seal(&self.cloves) {
                Some(m) => {
                    black_box(m);
                }
                None => failed += 1,
            }
        }
        failed
    }

    fn max_batch(&self) -> usize {
        MESSAGES_PER_PAIR / 2
    }
}

/// `Sessions::open` at B of ES messages A sealed in `prepare`.
struct Open {
    pair: Pair,
    cloves: Vec<Clove>,
    sealed: Vec<Vec<u8>>,
}

impl Bench for Open {
    fn prepare(&mut self, iters: usize) {
        self.pair.refresh_for(iters);
        self.sealed.clear();
        for _ in 0..iters {
            // a message that cannot be sealed stays empty and fails in `run`
            let m = self.pair.seal(&self.cloves).unwrap_or_default();
            self.sealed.push(m);
        }
    }

    fn run(&mut self, iters: usize) -> usize {
        let mut failed = iters.saturating_sub(self.sealed.len());
        for m in &self.sealed {
            match self.pair.b.open(m, NOW_MS) {
                Ok(o) if o.kind == MessageKind::Existing && o.cloves.len() == 1 => {
                    black_box(o);
                }
                _ => failed += 1,
            }
        }
        failed
    }

    fn max_batch(&self) -> usize {
        MESSAGES_PER_PAIR / 2
    }
}

/// Seal and open a few ES messages; the clove must come back. Returns the mean AEAD payload
/// length (the padding block is 1–16 random bytes).
fn check_and_measure(pair: &mut Pair, cloves: &[Clove]) -> Result<usize, Error> {
    let mut total = 0;
    let n = 64;
    for _ in 0..n {
        let m = pair.seal(cloves).ok_or("garlic ES seal failed")?;
        total += m.len() - ES_OVERHEAD;
        let o = pair.b.open(&m, NOW_MS)?;
        check(
            o.kind == MessageKind::Existing && o.cloves == cloves,
            "garlic ES round trip",
        )?;
    }
    Ok(total.div_ceil(n))
}

fn floor_desc(what: &str, len: usize) -> String {
    format!("ChaCha20-Poly1305 {what} of {len} B (8 B AD) + 2 HKDF-SHA256 ratchet steps")
}

/// A's `Sessions::seal` of one ES message.
pub fn seal_case() -> Result<Case, Error> {
    let mut pair = Pair::establish()?;
    let cloves = vec![clove(7)?];
    let len = check_and_measure(&mut pair, &cloves)?;
    Ok(Case {
        name: format!("garlic ES seal, {CLOVE_PAYLOAD} B Data clove"),
        bytes: len,
        path_desc: "Sessions::seal to an established session".into(),
        floor_desc: floor_desc("seal", len),
        path: Box::new(Seal { pair, cloves }),
        floor: Box::new(AeadFloor::new(Direction::Seal, len, TAG_LEN).with_hkdf_steps(2)),
    })
}

/// B's `Sessions::open` of one ES message.
pub fn open_case() -> Result<Case, Error> {
    let mut pair = Pair::establish()?;
    let cloves = vec![clove(7)?];
    let len = check_and_measure(&mut pair, &cloves)?;
    Ok(Case {
        name: format!("garlic ES open, {CLOVE_PAYLOAD} B Data clove"),
        bytes: len,
        path_desc: "Sessions::open (tag lookup, key, AEAD, blocks, window)".into(),
        floor_desc: floor_desc("open", len),
        path: Box::new(Open {
            pair,
            cloves,
            sealed: Vec::new(),
        }),
        floor: Box::new(AeadFloor::new(Direction::Open, len, TAG_LEN).with_hkdf_steps(2)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches across a pair replacement keep working (nothing reaches the DH ratchet).
    #[test]
    fn pair_is_replaced_before_the_ratchet() {
        let mut pair = Pair::establish().unwrap();
        pair.sent = MESSAGES_PER_PAIR - 3;
        pair.refresh_for(10);
        assert_eq!(pair.sent, 1);
        let cloves = vec![clove(1).unwrap()];
        assert!(check_and_measure(&mut pair, &cloves).unwrap() > CLOVE_PAYLOAD);
    }
}
