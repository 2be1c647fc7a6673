//! Cheap in-test fuzzing: every pure parse entry point (listed in the crate docs) is fed
//! prefixes and byte-flipped variants of real and built data plus random bytes, and must
//! return (Ok or Err) without panicking. Real fuzz targets come later.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::*;
use i2p_wire::i2np::*;
use i2p_wire::*;

/// Call every entry point on `b`; parsed values are also re-encoded and their accessors
/// exercised. Returns how many entry points accepted the input.
fn exercise(b: &[u8]) -> usize {
    let mut ok = 0;
    let now = Date::from_millis(1_700_000_000_000);
    if let Ok(u) = RouterInfo::parse(b) {
        ok += 1;
        let ri = u.peek_unverified();
        assert_eq!(
            ri.to_bytes(),
            b,
            "accepted RouterInfo must re-encode exactly"
        );
        let _ = ri.caps();
        let _ = ri.net_id();
        let _ = ri.router_version();
        let _ = ri.options().check_canonical();
        for a in ri.addresses() {
            let _ = a.ntcp2();
            let _ = a.ssu2();
            let _ = a.host();
            let _ = a.port();
            let _ = a.introducers();
        }
    }
    if let Ok(k) = KeysAndCert::parse(b) {
        ok += 1;
        assert_eq!(k.to_bytes(), b);
        let _ = (k.padding(), k.signing_key(), k.encryption_key());
    }
    ok += usize::from(RouterIdentity::parse(b).is_ok());
    if let Ok(d) = Destination::parse(b) {
        ok += 1;
        let _ = d.b32_address();
        assert_eq!(Destination::from_base64(&d.to_base64()).unwrap(), d);
    }
    if let Ok(m) = Mapping::parse(b) {
        ok += 1;
        assert_eq!(m.to_bytes(), b);
    }
    if let Ok(c) = Certificate::parse(b) {
        ok += 1;
        assert_eq!(c.to_bytes(), b);
    }
    if let Ok(a) = RouterAddress::parse(b) {
        ok += 1;
        assert_eq!(a.to_bytes(), b);
        let _ = (a.ntcp2(), a.ssu2(), a.caps(), a.mtu());
    }
    if let Ok(u) = LeaseSet2::parse(b) {
        ok += 1;
        assert_eq!(u.peek_unverified().to_bytes(), b);
        let _ = u.verify(now);
    }
    if let Ok(u) = LeaseSet::parse(b) {
        ok += 1;
        assert_eq!(u.peek_unverified().to_bytes(), b);
    }
    if let Ok(u) = EncryptedLeaseSet::parse(b) {
        ok += 1;
        assert_eq!(u.peek_unverified().to_bytes(), b);
    }
    for t in [1u8, 3, 5, 7, 9] {
        ok += usize::from(AnyLeaseSet::parse(t, b).is_ok());
    }
    for m in [
        I2npMessage::parse(b),
        I2npMessage::parse_ignoring_checksum(b),
    ]
    .into_iter()
    .flatten()
    {
        ok += 1;
        exercise_message(&m);
    }
    if let Ok(m) = I2npMessage::parse_short(b) {
        ok += 1;
        assert_eq!(m.to_short_bytes(), b);
        exercise_message(&m);
    }
    if let Some((&t, payload)) = b.split_first()
        && let Ok(body) = I2npBody::parse(t, payload)
    {
        ok += 1;
        assert_eq!(body.to_bytes(), payload);
    }
    ok += usize::from(GzippedRouterInfo::decompress(b).is_ok());
    if let Ok(s) = core::str::from_utf8(b) {
        ok += usize::from(base64::decode(s).is_ok());
        ok += usize::from(base32::decode(s).is_ok());
        ok += usize::from(base32::parse_b32_address(s).is_ok());
    }
    ok
}

fn exercise_message(m: &I2npMessage) {
    match m.body() {
        I2npBody::DatabaseStore(d) => {
            let _ = d.parse_lease_set();
            if let Ok(u) = d.parse_router_info() {
                let _ = u.peek_unverified().to_bytes();
            }
        }
        I2npBody::TunnelGateway(t) => {
            let _ = t.message();
        }
        _ => {}
    }
    let _ = m.to_bytes();
}

fn corpus() -> Vec<Vec<u8>> {
    let mut c: Vec<Vec<u8>> = all_router_infos().into_iter().map(|(_, b)| b).collect();
    let file = read("eepsite.dat");
    c.push(file[..391].to_vec());
    c.push(read("r1.router.keys")[..391].to_vec());
    // a LeaseSet2 with an offline signature
    let lt = test_key(50);
    let tr = test_key(51);
    let dest = Destination::new(SigType::Ed25519, &public(&lt), &[3; 32]).unwrap();
    let off = OfflineSignature::sign(
        1_700_003_600,
        SigType::Ed25519,
        &public(&tr),
        SigType::Ed25519,
        &public(&lt),
        &signer(&lt),
    )
    .unwrap();
    let ls = LeaseSet2Builder::new(dest, 1_700_000_000, 600)
        .offline_signature(off)
        .option("a", "b")
        .encryption_key(EncryptionKey::new(EncType::X25519, &[1; 32]).unwrap())
        .lease(Lease2 {
            gateway: Hash::from_bytes([2; 32]),
            tunnel_id: TunnelId(3),
            end_date: 1_700_000_600,
        })
        .sign(&signer(&tr))
        .unwrap();
    c.push(ls.to_bytes());
    // I2NP messages: a DatabaseStore with a RouterInfo, one with the LeaseSet2, a lookup,
    // a tunnel gateway
    let ri = RouterInfo::parse(&read("r2.router.info"))
        .unwrap()
        .verify(Date::from_millis(u64::MAX / 2))
        .unwrap();
    let exp = Date::from_millis(1_700_000_000_000);
    let dsm = DatabaseStore::router_info(&ri, None).unwrap();
    let m1 = I2npMessage::new(1, exp, I2npBody::DatabaseStore(dsm)).unwrap();
    let dsm2 =
        DatabaseStore::lease_set(ls.hash(), StoreKind::LeaseSet2, ls.to_bytes(), None).unwrap();
    let m2 = I2npMessage::new(2, exp, I2npBody::DatabaseStore(dsm2)).unwrap();
    let lookup = DatabaseLookup::new(
        Hash::from_bytes([1; 32]),
        Hash::from_bytes([2; 32]),
        Some(TunnelId(9)),
        LookupType::LeaseSet,
        vec![Hash::from_bytes([3; 32])],
        ReplyEncryption::Ratchet {
            reply_key: [4; 32],
            tags: vec![[5; 8]],
        },
    )
    .unwrap();
    let m3 = I2npMessage::new(3, exp, I2npBody::DatabaseLookup(lookup)).unwrap();
    let m4 = I2npMessage::new(
        4,
        exp,
        I2npBody::TunnelGateway(TunnelGateway::new(TunnelId(5), &m3).unwrap()),
    )
    .unwrap();
    for m in [&m1, &m2, &m3, &m4] {
        c.push(m.to_bytes());
        c.push(m.to_short_bytes());
    }
    let addr = RouterAddress::ntcp2_published(
        3,
        &[1; 32],
        &[2; 16],
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
        1,
    )
    .unwrap();
    c.push(addr.to_bytes());
    c.push(b"hhremhkseshvd2f77ojp6hc2yr3ityqno7kfdvhphvlplamhczua.b32.i2p".to_vec());
    c.push(read("hosts.txt")[20..].to_vec());
    c
}

#[test]
fn every_prefix_of_real_and_built_data() {
    for item in corpus() {
        assert!(
            exercise(&item) > 0,
            "the unmodified item must parse somewhere"
        );
        for n in 0..item.len() {
            exercise(&item[..n]);
        }
    }
    // strict prefixes of a RouterInfo are never a RouterInfo
    for (name, bytes) in all_router_infos() {
        for n in 0..bytes.len() {
            assert!(RouterInfo::parse(&bytes[..n]).is_err(), "{name} prefix {n}");
        }
    }
}

#[test]
fn byte_flips_of_real_and_built_data() {
    let mut rng = Rng::new(0x5eed);
    for item in corpus() {
        for _ in 0..400 {
            let mut b = item.clone();
            for _ in 0..1 + rng.below(3) {
                let pos = rng.below(b.len());
                b[pos] = match rng.below(4) {
                    0 => b[pos] ^ (1 << rng.below(8)),
                    1 => 0,
                    2 => 0xff,
                    _ => rng.next_u64() as u8,
                };
            }
            exercise(&b);
        }
    }
}

#[test]
fn random_inputs() {
    let mut rng = Rng::new(42);
    for _ in 0..3000 {
        let n = rng.below(1200);
        let b = rng.bytes(n);
        exercise(&b);
    }
    // random I2NP bodies of every type, short and long
    for t in 0..=255u8 {
        for n in [0usize, 1, 2, 4, 9, 13, 40, 65, 100, 218, 529, 1028, 2113] {
            let mut b = vec![t];
            b.extend(rng.bytes(n));
            exercise(&b);
        }
    }
    // random strings for the text decoders
    let alphabet = b"ABCabcxyz234567-~=+/.i2p ";
    for _ in 0..2000 {
        let n = rng.below(80);
        let s: Vec<u8> = (0..n)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        exercise(&s);
    }
}
