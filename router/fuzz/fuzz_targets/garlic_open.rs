//! `Sessions::open` of i2p-garlic on a Destination that already has state worth reaching: an
//! established session with Alice (Existing Session tags on tag set 0 and, after a DH
//! ratchet, on later tag sets) and an NS of its own to Carol still waiting for NSRs (NSR tags).
//! Built once with a seeded RNG, cloned for every input.
//!
//! The first input byte picks what the rest becomes:
//! - 0: the Garlic data itself (NS path for unknown tags, size checks);
//! - 1: a payload Alice seals as her next ES (a real tag and key), so the block parser and the
//!   NextKey / ACK / Termination handling see arbitrary blocks;
//! - 2: a currently valid receive tag (picked by the second byte) followed by the rest, so the
//!   ES and NSR paths run up to authentication.
//!
//! After `open`, the session is driven on (`poll_transmit`, `seal`, `tick`) so state left by
//! the input is exercised too. Guaranteed by i2p-garlic: nothing here panics.
#![no_main]

use std::sync::OnceLock;

use i2p_crypto::{X25519Public, X25519Secret};
use i2p_garlic::{GarlicConfig, Sessions};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

const NOW: u64 = 1_700_000_000_000;

struct World {
    bob: Sessions,
    alice: Sessions,
    alice_pk: X25519Public,
    bob_pk: X25519Public,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(0x6172_6c69_63);
        let config = GarlicConfig {
            ratchet_threshold: 2,
            ..GarlicConfig::default()
        };
        let a = X25519Secret::from_bytes([0x11; 32]);
        let b = X25519Secret::from_bytes([0x22; 32]);
        let carol = X25519Secret::from_bytes([0x33; 32]).public();
        let (alice_pk, bob_pk) = (a.public(), b.public());
        let mut alice = Sessions::new(a, config.clone());
        let mut bob = Sessions::new(b, config);
        let a_to_b = |alice: &mut Sessions, bob: &mut Sessions, rng: &mut StdRng| {
            if let Ok(m) = alice.seal(&bob_pk, &[], NOW, rng) {
                let _ = bob.open(&m, NOW);
            }
        };
        a_to_b(&mut alice, &mut bob, &mut rng); // NS
        if let Ok(m) = bob.seal(&alice_pk, &[], NOW, &mut rng) {
            let _ = alice.open(&m, NOW); // NSR
        }
        // a few rounds both ways: ES, and DH ratchets with the small threshold
        for _ in 0..6 {
            a_to_b(&mut alice, &mut bob, &mut rng);
            if let Ok(m) = bob.seal(&alice_pk, &[], NOW, &mut rng) {
                let _ = alice.open(&m, NOW);
            }
        }
        let _ = bob.seal(&carol, &[], NOW, &mut rng); // NS to Carol: NSR tags
        World {
            bob,
            alice,
            alice_pk,
            bob_pk,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bob = w.bob.clone();
    let mut rng = StdRng::seed_from_u64(u64::from(mode));
    let input = match mode % 3 {
        0 => rest.to_vec(),
        1 => {
            let mut alice = w.alice.clone();
            match alice.seal_raw_es(&w.bob_pk, rest) {
                Ok(m) => m,
                Err(_) => return,
            }
        }
        _ => {
            let tags = bob.inbound_tags();
            let Some((&pick, tail)) = rest.split_first() else {
                return;
            };
            let Some(tag) = tags.get(usize::from(pick) % tags.len().max(1)) else {
                return;
            };
            [&tag[..], tail].concat()
        }
    };
    let _ = bob.open(&input, NOW + 1);
    let _ = bob.poll_transmit(NOW + 2_000, &mut rng);
    let _ = bob.seal(&w.alice_pk, &[], NOW + 2_001, &mut rng);
    bob.tick(NOW + 200_000);
    let _ = bob.stats();
});
