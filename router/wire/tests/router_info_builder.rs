//! RouterInfoBuilder: output parses back, verifies, is canonical, and i2pd-shaped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::*;
use i2p_wire::i2np::{DatabaseStore, I2npBody, StoreData, StoreKind, StoreReply};
use i2p_wire::router_address::AddressCaps;
use i2p_wire::*;

const PUBLISHED: Date = Date::from_millis(1_700_000_000_123);

fn our_router_info(key: &ed25519_dalek::SigningKey) -> RouterInfo {
    let id = RouterIdentity::new_x25519_ed25519(&[0x11; 32], &public(key), &[0x5a; 32]).unwrap();
    let ntcp2 = RouterAddress::ntcp2_published(
        3,
        &[0x22; 32],
        &[0x33; 16],
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, 7)),
        12007,
    )
    .unwrap();
    RouterInfoBuilder::new(id, PUBLISHED)
        .address(ntcp2)
        // deliberately out of order: the builder sorts
        .router_version("0.9.57")
        .net_id(17)
        .caps("LR")
        .sign(&signer(key))
        .unwrap()
}

#[test]
fn built_router_info_parses_verifies_and_is_canonical() {
    let key = test_key(1);
    let ri = our_router_info(&key);
    let bytes = ri.to_bytes();
    let parsed = RouterInfo::parse(&bytes).unwrap();
    let verified = parsed.verify(PUBLISHED).unwrap();
    assert_eq!(verified, ri);
    assert_eq!(verified.to_bytes(), bytes);

    let keys: Vec<String> = ri.options().iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(keys, ["caps", "netId", "router.version"]);
    assert!(ri.options().is_canonical());
    assert_eq!(ri.net_id().unwrap(), Some(17));
    assert_eq!(ri.caps().bandwidth(), Some(BandwidthClass::L));
    assert!(ri.caps().reachable);
    let a = &ri.addresses()[0];
    let akeys: Vec<String> = a.options().iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(
        akeys,
        ["host", "i", "port", "s", "v"],
        "same order as i2pd writes"
    );
    assert_eq!(a.expiration(), Date::ZERO);
    let n = a.ntcp2().unwrap();
    assert_eq!(n.static_key, [0x22; 32]);
    assert_eq!(n.iv, Some([0x33; 16]));
    assert_eq!(n.port, Some(12007));
    assert!(ri.peers().is_empty());
    // the identity's padding compresses (proposal 161)
    assert!(ri.identity().padding().iter().all(|&b| b == 0x5a));
}

#[test]
fn builder_output_has_the_same_shape_as_i2pd_output() {
    // Rebuild router 1's RouterInfo from its parts with router 1's real key (from
    // r1.router.keys): the result must be byte-identical to what i2pd 2.45.1 signed, since
    // Ed25519 signatures are deterministic and both sort the same way.
    let original = read("r1.router.info");
    let keys = read("r1.router.keys");
    let sk: [u8; 32] = keys[391 + 32..].try_into().unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(&sk);
    let theirs = RouterInfo::parse(&original)
        .unwrap()
        .verify(Date::from_millis(u64::MAX / 2))
        .unwrap();
    let mut b = RouterInfoBuilder::new(theirs.identity().clone(), theirs.published());
    for a in theirs.addresses() {
        b = b.address(a.clone());
    }
    for (k, v) in theirs.options().iter() {
        b = b.option(k.as_str().unwrap(), v.as_str().unwrap());
    }
    let ours = b.sign(&signer(&sk)).unwrap();
    assert_eq!(ours.to_bytes(), original);
}

#[test]
fn builder_rejects_bad_input() {
    let key = test_key(2);
    let id = RouterIdentity::new_x25519_ed25519(&[1; 32], &public(&key), &[2; 32]).unwrap();
    // a signer using the wrong key
    let other = test_key(3);
    let e = RouterInfoBuilder::new(id.clone(), PUBLISHED)
        .net_id(17)
        .sign(&signer(&other))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Signature(_)), "{e}");
    assert_eq!(e.path_string(), "RouterInfo.signature");
    // a signer returning garbage of the wrong length
    let e = RouterInfoBuilder::new(id.clone(), PUBLISHED)
        .sign(&|_: &[u8]| vec![0u8; 10])
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadLength { .. }), "{e}");
    // duplicate option keys
    let e = RouterInfoBuilder::new(id.clone(), PUBLISHED)
        .net_id(17)
        .option("netId", "2")
        .sign(&signer(&key))
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::DuplicateKey);
    assert!(
        e.path_string().starts_with("RouterInfo.options.Mapping"),
        "{e}"
    );
    // a 255-byte value, which i2pd 2.45.1 would silently drop
    let e = RouterInfoBuilder::new(id.clone(), PUBLISHED)
        .option("family", "x".repeat(255))
        .sign(&signer(&key))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadLength { .. }), "{e}");
    assert_eq!(e.path_string(), "RouterInfo.options.entries[0].value");
    // more than i2pd's 3072-byte limit
    let mut b = RouterInfoBuilder::new(id, PUBLISHED);
    for i in 0..20 {
        b = b.option(format!("filler{i:02}"), "x".repeat(200));
    }
    let e = b.sign(&signer(&key)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadLength { .. }), "{e}");
}

#[test]
fn unpublished_ntcp2_and_ssu2_addresses() {
    let key = test_key(4);
    let id = RouterIdentity::new_x25519_ed25519(&[1; 32], &public(&key), &[2; 32]).unwrap();
    let caps = AddressCaps {
        v4: true,
        v6: true,
        ..Default::default()
    };
    let ntcp2 = RouterAddress::ntcp2_unpublished(14, &[9; 32], caps).unwrap();
    let ssu2 = RouterAddress::ssu2_published(
        8,
        &[7; 32],
        &[6; 32],
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, 9)),
        12009,
        Some(1500),
        AddressCaps {
            v4: true,
            peer_test: true,
            introducer: true,
            ..Default::default()
        },
    )
    .unwrap();
    let ri = RouterInfoBuilder::new(id, PUBLISHED)
        .address(ntcp2)
        .address(ssu2)
        .net_id(17)
        .sign(&signer(&key))
        .unwrap();
    let back = RouterInfo::parse(&ri.to_bytes())
        .unwrap()
        .verify(PUBLISHED)
        .unwrap();
    let n = back.addresses()[0].ntcp2().unwrap();
    assert_eq!(n.iv, None);
    assert_eq!(n.host, None);
    assert!(n.caps.v4 && n.caps.v6);
    assert_eq!(back.addresses()[0].options().get_str("caps"), Some("46"));
    let s = back.addresses()[1].ssu2().unwrap();
    assert_eq!(s.intro_key, [6; 32]);
    assert_eq!(s.mtu, Some(1500));
    assert_eq!(back.addresses()[1].options().get_str("caps"), Some("4BC"));
}

#[test]
fn database_store_with_built_router_info() {
    let key = test_key(5);
    let ri = our_router_info(&key);
    let reply = StoreReply {
        token: 0x0102_0304,
        tunnel_id: TunnelId(77),
        gateway: Hash::from_bytes([4; 32]),
    };
    for reply in [None, Some(reply)] {
        let dsm = DatabaseStore::router_info(&ri, reply).unwrap();
        assert_eq!(dsm.kind(), StoreKind::RouterInfo);
        assert_eq!(dsm.key(), ri.hash());
        let msg = I2npMessage::new(42, PUBLISHED, I2npBody::DatabaseStore(dsm.clone())).unwrap();
        let bytes = msg.to_bytes();
        let back = I2npMessage::parse(&bytes).unwrap();
        assert_eq!(back, msg);
        assert_eq!(back.to_bytes(), bytes);
        let I2npBody::DatabaseStore(d) = back.body() else {
            panic!("wrong body")
        };
        assert_eq!(d.reply(), reply.as_ref());
        let StoreData::RouterInfo(g) = d.data() else {
            panic!("wrong data")
        };
        assert_eq!(g.decompressed(), &ri.to_bytes()[..]);
        assert_eq!(
            d.parse_router_info().unwrap().verify(PUBLISHED).unwrap(),
            ri
        );
        assert!(d.parse_lease_set().is_err());
    }
}
