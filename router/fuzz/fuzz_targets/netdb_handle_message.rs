//! `NetDb::handle_message` with whatever `I2npMessage` parsing makes of the input, on a fresh
//! floodfill and a fresh non-floodfill netDb (built the way the netdb crate's tests build
//! them), followed by a timer tick.
//!
//! The input is parsed with `I2npMessage::parse_ignoring_checksum` (the same parser as
//! `parse` without the one-byte SHA-256 checksum check), so the fuzzer does not spend 255 of
//! every 256 mutations on a wrong checksum. The netDb is on network 17 at a time just after the
//! captured i2pd testnet RouterInfos (router/wire/tests/data/i2pd-2.45.1) were published, so
//! DatabaseStores built from them pass the netId and age checks and reach the store paths.
//!
//! Guaranteed by i2p-netdb (lib.rs, "Fuzzing"): it never panics on any message from any peer.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use i2p_crypto::{Ed25519SigningKey, X25519Secret};
use i2p_netdb::{Config, NetDb};
use i2p_wire::{
    Date, Hash, I2npMessage, RouterAddress, RouterIdentity, RouterInfo, RouterInfoBuilder,
};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The captured testnet's netId.
const NET_ID: u8 = 17;
/// One minute after the captured RouterInfos were published (2026-11-22T10:42Z).
const NOW: Date = Date::from_millis(1_795_344_200_000);

struct Own {
    ri: RouterInfo,
    x25519: X25519Secret,
}

fn own() -> &'static Own {
    static OWN: OnceLock<Own> = OnceLock::new();
    OWN.get_or_init(|| {
        let signing = Ed25519SigningKey::from_seed([0x11; 32]);
        let x25519 = X25519Secret::from_bytes([0x22; 32]);
        let identity = RouterIdentity::new_x25519_ed25519(
            x25519.public().as_bytes(),
            &signing.public(),
            &[0x33; 32],
        )
        .expect("fixed keys make an identity");
        let addr = RouterAddress::ntcp2_published(
            3,
            &[0x44; 32],
            &[0x55; 16],
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 200)),
            12000,
        )
        .expect("fixed address");
        let ri = RouterInfoBuilder::new(identity, NOW.saturating_sub_millis(60_000))
            .address(addr)
            .caps("XfR")
            .net_id(NET_ID)
            .router_version("0.9.57")
            .sign(&|m| signing.sign(m).to_vec())
            .expect("fixed RouterInfo signs");
        Own { ri, x25519 }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = I2npMessage::parse_ignoring_checksum(data) else {
        return;
    };
    let own = own();
    let from = Hash::from_bytes([0x66; 32]);
    for floodfill in [true, false] {
        let mut db = NetDb::new(
            Config::new(NET_ID, floodfill),
            own.ri.clone(),
            StdRng::seed_from_u64(7),
            NOW,
        )
        .with_router_secret(own.x25519.clone());
        let _ = db.handle_message(from, msg.clone(), NOW);
        let _ = db.counts();
        let later = db.poll_timeout().unwrap_or(NOW).max(NOW);
        let _ = db.handle_timeout(later);
    }
});
