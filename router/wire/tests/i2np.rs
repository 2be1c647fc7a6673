//! I2NP: headers, every message body, exact round trips and error reporting.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use i2p_wire::i2np::tunnel::{BUILD_RECORD_LEN, SHORT_BUILD_RECORD_LEN};
use i2p_wire::i2np::*;
use i2p_wire::*;

const EXP: Date = Date::from_millis(1_700_000_000_999);

fn sample_bodies() -> Vec<I2npBody> {
    let mut rng = Rng::new(7);
    let h = |b: u8| Hash::from_bytes([b; 32]);
    let inner = I2npMessage::new(
        5,
        EXP,
        I2npBody::DeliveryStatus(DeliveryStatus {
            msg_id: 9,
            timestamp: EXP,
        }),
    )
    .unwrap();
    let mut tbr = Box::new([[0u8; BUILD_RECORD_LEN]; 8]);
    for r in tbr.iter_mut() {
        r.copy_from_slice(&rng.bytes(BUILD_RECORD_LEN));
    }
    let long = |n: usize, rng: &mut Rng| {
        (0..n)
            .map(|_| rng.bytes(BUILD_RECORD_LEN).try_into().unwrap())
            .collect::<Vec<[u8; BUILD_RECORD_LEN]>>()
    };
    let short = |n: usize, rng: &mut Rng| {
        (0..n)
            .map(|_| rng.bytes(SHORT_BUILD_RECORD_LEN).try_into().unwrap())
            .collect::<Vec<[u8; SHORT_BUILD_RECORD_LEN]>>()
    };
    let mut out = vec![
        I2npBody::DatabaseLookup(
            DatabaseLookup::new(
                h(1),
                h(2),
                None,
                LookupType::RouterInfo,
                vec![],
                ReplyEncryption::None,
            )
            .unwrap(),
        ),
        I2npBody::DatabaseLookup(
            DatabaseLookup::new(
                h(1),
                h(2),
                Some(TunnelId(33)),
                LookupType::LeaseSet,
                vec![h(3), h(4)],
                ReplyEncryption::Ratchet {
                    reply_key: [5; 32],
                    tags: vec![[6; 8]],
                },
            )
            .unwrap(),
        ),
        I2npBody::DatabaseLookup(
            DatabaseLookup::new(
                h(1),
                h(2),
                Some(TunnelId(34)),
                LookupType::Any,
                vec![h(0)],
                ReplyEncryption::ElGamalAes {
                    reply_key: [7; 32],
                    tags: vec![[8; 32], [9; 32]],
                },
            )
            .unwrap(),
        ),
        I2npBody::DatabaseLookup(
            DatabaseLookup::new(
                h(1),
                h(2),
                None,
                LookupType::Exploration,
                vec![],
                ReplyEncryption::RatchetDh {
                    ephemeral_key: [10; 32],
                },
            )
            .unwrap(),
        ),
        I2npBody::DatabaseSearchReply(
            DatabaseSearchReply::new(h(1), vec![h(2), h(3), h(4)], h(5)).unwrap(),
        ),
        I2npBody::DeliveryStatus(DeliveryStatus {
            msg_id: 0xdead_beef,
            timestamp: Date::from_millis(2),
        }),
        I2npBody::Garlic(Garlic::new(rng.bytes(164)).unwrap()),
        I2npBody::TunnelData(TunnelData {
            tunnel_id: TunnelId(77),
            data: Box::new(rng.bytes(1024).try_into().unwrap()),
        }),
        I2npBody::TunnelGateway(TunnelGateway::new(TunnelId(78), &inner).unwrap()),
        I2npBody::Data(Data::new(rng.bytes(50)).unwrap()),
        I2npBody::TunnelBuild(TunnelBuildRecords(tbr.clone())),
        I2npBody::TunnelBuildReply(TunnelBuildRecords(tbr)),
        I2npBody::VariableTunnelBuild(BuildRecords::new(long(4, &mut rng)).unwrap()),
        I2npBody::VariableTunnelBuildReply(BuildRecords::new(long(1, &mut rng)).unwrap()),
        I2npBody::ShortTunnelBuild(BuildRecords::new(short(4, &mut rng)).unwrap()),
        I2npBody::OutboundTunnelBuildReply(BuildRecords::new(short(8, &mut rng)).unwrap()),
        I2npBody::Unknown {
            type_id: 224,
            payload: vec![1, 2, 3],
        },
    ];
    out.push(I2npBody::DatabaseStore(
        DatabaseStore::lease_set(h(9), StoreKind::EncryptedLeaseSet, vec![1, 2, 3], None).unwrap(),
    ));
    out
}

#[test]
fn every_body_round_trips_with_both_headers() {
    for (i, body) in sample_bodies().into_iter().enumerate() {
        let msg = I2npMessage::new(1000 + i as u32, EXP, body).unwrap();
        let std_bytes = msg.to_bytes();
        assert_eq!(std_bytes.len(), msg.encoded_len());
        let back = I2npMessage::parse(&std_bytes).unwrap_or_else(|e| panic!("{i}: {e}"));
        assert_eq!(back, msg, "{i}");
        assert_eq!(back.to_bytes(), std_bytes);
        // header fields
        assert_eq!(std_bytes[0], msg.type_id());
        assert_eq!(&std_bytes[1..5], &(1000 + i as u32).to_be_bytes());
        assert_eq!(&std_bytes[5..13], &EXP.as_millis().to_be_bytes());
        assert_eq!(
            usize::from(u16::from_be_bytes([std_bytes[13], std_bytes[14]])),
            std_bytes.len() - 16
        );
        assert_eq!(std_bytes[15], i2p_crypto::sha256(&std_bytes[16..])[0]);
        // short header: 9 bytes, expiration in seconds
        let short = msg.to_short_bytes();
        assert_eq!(short.len(), 9 + std_bytes.len() - 16);
        assert_eq!(&short[5..9], &1_700_000_000u32.to_be_bytes());
        let sback = I2npMessage::parse_short(&short).unwrap();
        assert_eq!(sback.body(), msg.body());
        assert_eq!(sback.expiration(), Date::from_secs(1_700_000_000));
        assert_eq!(sback.to_short_bytes(), short);
        // the body alone
        assert_eq!(
            I2npBody::parse(msg.type_id(), &std_bytes[16..]).unwrap(),
            *msg.body()
        );
    }
}

#[test]
fn spec_sizes() {
    let b = sample_bodies();
    let len = |t: u8| {
        b.iter()
            .find(|x| x.type_id() == t)
            .map(|x| x.encoded_len())
            .unwrap()
    };
    // spec/i2np.md: "Typical number of records in today's network is 4, for a total size of
    // 2113" (VariableTunnelBuild) and "... 873" (ShortTunnelBuild); TunnelBuild is 8*528.
    assert_eq!(len(msg_type::VARIABLE_TUNNEL_BUILD), 2113);
    assert_eq!(len(msg_type::SHORT_TUNNEL_BUILD), 873);
    assert_eq!(len(msg_type::TUNNEL_BUILD), 4224);
    assert_eq!(len(msg_type::TUNNEL_DATA), 1028);
    assert_eq!(len(msg_type::DELIVERY_STATUS), 12);
    assert_eq!(len(msg_type::GARLIC), 168);
}

#[test]
fn database_lookup_flag_bits() {
    let bodies = sample_bodies();
    let flags: Vec<u8> = bodies
        .iter()
        .filter_map(|b| match b {
            I2npBody::DatabaseLookup(l) => Some(l.flags()),
            _ => None,
        })
        .collect();
    // RI lookup direct; LS lookup to tunnel with ECIES reply; ANY to tunnel with ElGamal/AES
    // reply; exploration with the DH variant (bits 4 and 1)
    assert_eq!(flags, [0b0000_1000, 0b0001_0101, 0b0000_0011, 0b0001_1110]);
    // reserved bits 7-5 are kept on a round trip
    let l = DatabaseLookup::new(
        Hash::from_bytes([1; 32]),
        Hash::from_bytes([2; 32]),
        None,
        LookupType::Any,
        vec![],
        ReplyEncryption::None,
    )
    .unwrap();
    let mut bytes = l.to_bytes();
    bytes[64] |= 0xe0;
    let back = DatabaseLookup::parse(&bytes).unwrap();
    assert_eq!(back.flags(), 0xe0);
    assert_eq!(back.to_bytes(), bytes);
    // 513 excluded peers are refused on parse and on construction
    let mut b = l.to_bytes();
    b.truncate(65);
    b.extend(513u16.to_be_bytes());
    b.extend(vec![0u8; 513 * 32]);
    let e = DatabaseLookup::parse(&b).unwrap_err();
    assert_eq!(e.path_string(), "DatabaseLookup.excluded_peers");
    assert_eq!(e.offset(), 65);
    // zero reply tags
    let mut b = l.to_bytes();
    b[64] = 0x10;
    b.extend([0u8; 32]);
    b.push(0);
    let e = DatabaseLookup::parse(&b).unwrap_err();
    assert_eq!(e.path_string(), "DatabaseLookup.reply_tags");
}

#[test]
fn header_errors() {
    let msg = I2npMessage::new(
        1,
        EXP,
        I2npBody::DeliveryStatus(DeliveryStatus {
            msg_id: 2,
            timestamp: EXP,
        }),
    )
    .unwrap();
    let bytes = msg.to_bytes();
    // wrong checksum
    let mut b = bytes.clone();
    b[15] ^= 0xff;
    let e = I2npMessage::parse(&b).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::BadChecksum { .. }), "{e}");
    assert_eq!(e.path_string(), "I2npMessage.header.checksum");
    assert_eq!(e.offset(), 15);
    // ... which the lenient parser ignores, and re-encoding repairs
    let lenient = I2npMessage::parse_ignoring_checksum(&b).unwrap();
    assert_eq!(lenient.to_bytes(), bytes);
    // size larger than the data
    let mut b = bytes.clone();
    b[14] += 1;
    let e = I2npMessage::parse(&b).unwrap_err();
    assert_eq!(e.path_string(), "I2npMessage.body");
    // size smaller than the body needs
    let mut b = bytes.clone();
    b[14] -= 1;
    b.pop();
    b[15] = checksum(&b[16..]);
    let e = I2npMessage::parse(&b).unwrap_err();
    assert_eq!(e.path_string(), "I2npMessage.body.DeliveryStatus.timestamp");
    // trailing bytes after the declared size
    let mut b = bytes.clone();
    b.push(0);
    let e = I2npMessage::parse(&b).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TrailingBytes { count: 1 });
    // a body longer than its fixed format
    let e = I2npBody::parse(msg_type::DELIVERY_STATUS, &[0; 13]).unwrap_err();
    assert_eq!(e.path_string(), "body");
    // build messages with 0 or 9 records
    for n in [0u8, 9] {
        let mut p = vec![n];
        p.extend(vec![0u8; n as usize * SHORT_BUILD_RECORD_LEN]);
        let e = I2npBody::parse(msg_type::SHORT_TUNNEL_BUILD, &p).unwrap_err();
        assert_eq!(e.path_string(), "ShortTunnelBuild.records");
    }
    // unknown DatabaseStore type
    let mut p = vec![0u8; 32];
    p.push(2);
    p.extend([0; 4]);
    let e = I2npBody::parse(msg_type::DATABASE_STORE, &p).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::UnknownType { code: 2 }),
        "{e}"
    );
    assert_eq!(e.path_string(), "DatabaseStore.type");
}

#[test]
fn tunnel_gateway_carries_a_whole_message() {
    let bodies = sample_bodies();
    let tg = bodies
        .iter()
        .find_map(|b| match b {
            I2npBody::TunnelGateway(t) => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(tg.tunnel_id(), TunnelId(78));
    let inner = tg.message().unwrap();
    assert_eq!(inner.msg_id(), 5);
    // a corrupted inner checksum is reported with the nested path
    let mut raw = tg.message_bytes().to_vec();
    raw[15] ^= 1;
    let bad = TunnelGateway::from_raw(TunnelId(1), raw).unwrap();
    let e = bad.message().unwrap_err();
    assert_eq!(
        e.path_string(),
        "TunnelGateway.message.I2npMessage.header.checksum"
    );
}

#[test]
fn gzip_limits() {
    // a highly compressible 1 MiB blob must be refused, not inflated
    let bomb = GzippedRouterInfo::compress(&vec![0u8; 1 << 20]);
    // compress() itself allows it (it is our own data); decompress() applies the cap
    let bomb = bomb.unwrap();
    assert!(bomb.compressed().len() < 2048);
    let e = GzippedRouterInfo::decompress(bomb.compressed()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::TooLarge { .. }), "{e}");
    // in a DatabaseStore
    let mut p = vec![0u8; 32];
    p.push(0);
    p.extend([0; 4]);
    p.extend((bomb.compressed().len() as u16).to_be_bytes());
    p.extend(bomb.compressed());
    let e = I2npBody::parse(msg_type::DATABASE_STORE, &p).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::TooLarge { .. }), "{e}");
    assert_eq!(e.path_string(), "DatabaseStore.data.gzip");
    assert_eq!(e.offset(), 39);
    // garbage is an error
    assert!(GzippedRouterInfo::decompress(&[0x1f, 0x8b, 8, 0, 1, 2, 3]).is_err());
    // a gzip RouterInfo from another implementation re-encodes to the same compressed bytes,
    // even though our compressor would produce different ones
    let ri = read("r3.router.info");
    let fast = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&ri).unwrap();
        enc.finish().unwrap()
    };
    assert_ne!(fast, GzippedRouterInfo::compress(&ri).unwrap().compressed());
    let mut p = vec![0u8; 32];
    p.push(0);
    p.extend([0; 4]);
    p.extend((fast.len() as u16).to_be_bytes());
    p.extend(&fast);
    let body = I2npBody::parse(msg_type::DATABASE_STORE, &p).unwrap();
    assert_eq!(body.to_bytes(), p);
}

#[test]
fn store_reply_token_must_be_nonzero() {
    let reply = StoreReply {
        token: 0,
        tunnel_id: TunnelId(1),
        gateway: Hash::from_bytes([1; 32]),
    };
    let e = DatabaseStore::lease_set(
        Hash::from_bytes([2; 32]),
        StoreKind::LeaseSet2,
        vec![1],
        Some(reply),
    )
    .unwrap_err();
    assert_eq!(e.path_string(), "DatabaseStore.reply_token");
    // with a nonzero token the reply fields are encoded and parsed back
    let reply = StoreReply { token: 9, ..reply };
    let d = DatabaseStore::lease_set(
        Hash::from_bytes([2; 32]),
        StoreKind::LeaseSet2,
        vec![1],
        Some(reply),
    )
    .unwrap();
    let bytes = d.to_bytes();
    assert_eq!(bytes.len(), 32 + 1 + 4 + 4 + 32 + 1);
    assert_eq!(DatabaseStore::parse(&bytes).unwrap().reply(), Some(&reply));
}
