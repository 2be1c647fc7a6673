//! NTCP2 handshake and data-phase frames (router/transport, ntcp2/handshake.rs and frame.rs),
//! driven through the real cryptography so the fuzzer reaches the parsers behind it.
//!
//! The first input byte picks what the rest is:
//! - 0: message 1 as it arrives at the responder (raw, so mostly AES/AEAD rejection paths);
//! - 1: message 2 as it arrives at an initiator that sent a valid message 1;
//! - 2: message 3 as it arrives at a responder that accepted a valid message 1;
//! - 3: the initiator's RouterInfo: a handshake runs with these bytes as Alice's RouterInfo, so
//!   the responder decrypts them and parses the RouterInfo block of message 3 (signature,
//!   netId, address and static-key checks);
//! - 4: a frame plaintext after a valid handshake: Alice seals it, Bob de-obfuscates the
//!   length, opens it and parses the blocks (must give back the same plaintext);
//! - 5: raw data-phase bytes after a valid handshake: length-prefixed frames fed to Bob's frame
//!   receiver (de-obfuscated length, AEAD open, block parser).
//!
//! Guaranteed: nothing panics; a handshake whose message 3 carried a RouterInfo other than a
//! valid one for the expected router is refused.
#![no_main]

use std::sync::OnceLock;

use i2p_crypto::{Ed25519SigningKey, X25519Secret};
use i2p_transport::ntcp2::handshake::{
    Initiator, InitiatorParams, ReplayCache, Responder, ResponderParams,
};
use i2p_transport::ntcp2::parse_blocks;
use i2p_wire::{Date, Encode, RouterAddress, RouterIdentity, RouterInfoBuilder};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

const NET: u8 = 42;
const NOW: u64 = 1_790_000_000;

struct Peer {
    hash: i2p_wire::Hash,
    ri: Vec<u8>,
    static_key: X25519Secret,
    iv: [u8; 16],
}

fn peer(seed: u8) -> Option<Peer> {
    let sign = Ed25519SigningKey::from_seed([seed; 32]);
    let enc = X25519Secret::from_bytes([seed ^ 0x55; 32]);
    let static_key = X25519Secret::from_bytes([seed ^ 0xaa; 32]);
    let iv = [seed; 16];
    let id = RouterIdentity::new_x25519_ed25519(enc.public().as_bytes(), &sign.public(), &[seed; 32])
        .ok()?;
    let addr = RouterAddress::ntcp2_published(
        3,
        static_key.public().as_bytes(),
        &iv,
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 0, seed)),
        12000,
    )
    .ok()?;
    let ri = RouterInfoBuilder::new(id, Date::from_secs(NOW))
        .address(addr)
        .net_id(NET)
        .caps("XR")
        .router_version("0.9.58")
        .sign(&|m| sign.sign(m).to_vec())
        .ok()?;
    Some(Peer {
        hash: ri.hash(),
        ri: ri.to_bytes(),
        static_key,
        iv,
    })
}

fn peers() -> &'static (Peer, Peer) {
    static P: OnceLock<(Peer, Peer)> = OnceLock::new();
    P.get_or_init(|| match (peer(1), peer(2)) {
        (Some(a), Some(b)) => (a, b),
        _ => unreachable!("fixed test routers always build"),
    })
}

fn responder(bob: &Peer) -> Responder {
    Responder::new(ResponderParams {
        net_id: NET,
        local_static: bob.static_key.clone(),
        local_hash: bob.hash,
        local_iv: bob.iv,
    })
}

fn initiator(alice: &Peer, alice_ri: &[u8], bob: &Peer, rng: &mut StdRng) -> Option<(Initiator, Vec<u8>)> {
    let p = InitiatorParams {
        net_id: NET,
        local_static: &alice.static_key,
        local_router_info: alice_ri,
        remote_hash: bob.hash,
        remote_static: *bob.static_key.public().as_bytes(),
        remote_iv: bob.iv,
    };
    Initiator::start(&p, NOW, rng).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (alice, bob) = peers();
    let mut rng = StdRng::seed_from_u64(7);
    let now = Date::from_secs(NOW);
    match mode % 6 {
        0 => {
            let mut head = [0u8; 64];
            let n = rest.len().min(64);
            head[..n].copy_from_slice(&rest[..n]);
            let _ = responder(bob).read_msg1(&head, NOW, &mut ReplayCache::new());
        }
        1 => {
            let Some((mut init, _)) = initiator(alice, &alice.ri, bob, &mut rng) else {
                return;
            };
            let mut head = [0u8; 64];
            let n = rest.len().min(64);
            head[..n].copy_from_slice(&rest[..n]);
            if let Ok(pad) = init.read_msg2(&head, NOW) {
                let padding = rest.get(64..).unwrap_or(&[]);
                let _ = init.finish(&padding[..pad.min(padding.len())]);
            }
        }
        2 | 3 => {
            let alice_ri = if mode % 6 == 3 { rest } else { &alice.ri[..] };
            let Some((mut init, msg1)) = initiator(alice, alice_ri, bob, &mut rng) else {
                return;
            };
            let mut resp = responder(bob);
            let Ok(info) = resp.read_msg1(&msg1[..64], NOW, &mut ReplayCache::new()) else {
                return;
            };
            let Ok(msg2) = resp.create_msg2(&msg1[64..64 + info.padding_len], NOW, &mut rng) else {
                return;
            };
            let mut msg3 = if mode % 6 == 2 {
                let mut m = rest.to_vec();
                m.resize(resp.msg3_len(), 0);
                m
            } else {
                let Ok(pad) = init.read_msg2(&msg2[..64], NOW) else {
                    return;
                };
                let Ok((m, _)) = init.finish(&msg2[64..64 + pad]) else {
                    return;
                };
                m
            };
            if let Ok(est) = resp.read_msg3(&mut msg3, now) {
                assert_eq!(est.router_info.hash(), alice.hash, "accepted another router");
                assert_eq!(est.router_info_bytes, alice.ri, "accepted other RouterInfo bytes");
            }
        }
        _ => {
            let Some((mut init, msg1)) = initiator(alice, &alice.ri, bob, &mut rng) else {
                return;
            };
            let mut resp = responder(bob);
            let Ok(info) = resp.read_msg1(&msg1[..64], NOW, &mut ReplayCache::new()) else {
                return;
            };
            let Ok(msg2) = resp.create_msg2(&msg1[64..64 + info.padding_len], NOW, &mut rng) else {
                return;
            };
            let Ok(pad) = init.read_msg2(&msg2[..64], NOW) else {
                return;
            };
            let Ok((mut msg3, mut a)) = init.finish(&msg2[64..64 + pad]) else {
                return;
            };
            let Ok(est) = resp.read_msg3(&mut msg3, now) else {
                return;
            };
            let mut recv = est.data.recv;
            if mode % 6 == 4 {
                let mut wire = Vec::new();
                if a.send.seal_into(rest, &mut wire).is_err() {
                    return;
                }
                let len = recv.frame_len([wire[0], wire[1]]);
                assert_eq!(len, Ok(wire.len() - 2), "length did not survive the mask");
                let n = recv.open(&mut wire[2..]).expect("our own frame must open");
                assert_eq!(&wire[2..2 + n], rest, "plaintext changed");
                let _ = parse_blocks(&wire[2..2 + n]);
                return;
            }
            let mut input = rest;
            while input.len() >= 2 {
                let Ok(len) = recv.frame_len([input[0], input[1]]) else {
                    return;
                };
                let Some(frame) = input.get(2..2 + len) else {
                    return;
                };
                let mut frame = frame.to_vec();
                let Ok(n) = recv.open(&mut frame) else {
                    return;
                };
                let _ = parse_blocks(&frame[..n]);
                input = &input[2 + len..];
            }
        }
    }
});
