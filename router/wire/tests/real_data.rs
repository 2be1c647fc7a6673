//! Round trips, identity hashes, typed accessors and signature checks on the RouterInfos,
//! keys files and destination captured from i2pd 2.45.1 (tests/data/README.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use i2p_wire::i2np::GzippedRouterInfo;
use i2p_wire::router_address::Transport;
use i2p_wire::signed::ROUTER_INFO_MAX_FUTURE_MS;
use i2p_wire::*;

fn parse_ri(name: &str, bytes: &[u8]) -> Unverified<RouterInfo> {
    RouterInfo::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn router_infos_round_trip_exactly() {
    for (name, bytes) in all_router_infos() {
        let u = parse_ri(&name, &bytes);
        let ri = u.peek_unverified();
        assert_eq!(ri.to_bytes(), bytes, "{name}: re-encoding differs");
        assert_eq!(ri.encoded_len(), bytes.len(), "{name}");
        // the identity alone round trips too and its hash is the SHA-256 of its bytes
        let id_bytes = ri.identity().to_bytes();
        assert_eq!(&bytes[..id_bytes.len()], &id_bytes[..], "{name}");
        let id = RouterIdentity::parse(&id_bytes).unwrap();
        assert_eq!(id.to_bytes(), id_bytes);
        assert_eq!(id.hash(), Hash::digest(&id_bytes));
        // every address and the options round trip on their own
        for a in ri.addresses() {
            assert_eq!(RouterAddress::parse(&a.to_bytes()).unwrap(), *a);
        }
        assert_eq!(
            Mapping::parse(&ri.options().to_bytes()).unwrap(),
            *ri.options()
        );
        // encode_into a slice gives the same bytes, and refuses a short buffer
        let mut buf = vec![0u8; bytes.len() + 5];
        assert_eq!(ri.encode_into(&mut buf).unwrap(), bytes.len());
        assert_eq!(&buf[..bytes.len()], &bytes[..]);
        assert!(ri.encode_into(&mut buf[..bytes.len() - 1]).is_err());
    }
}

#[test]
fn netdb_file_names_are_the_identity_hashes() {
    for (path, bytes) in netdb_files() {
        // r5-netDb/r<c>/routerInfo-<base64 hash>.dat, c = first base64 character
        let file = path.rsplit('/').next().unwrap();
        let b64 = file
            .strip_prefix("routerInfo-")
            .and_then(|s| s.strip_suffix(".dat"))
            .unwrap();
        let dir = path.rsplit('/').nth(1).unwrap();
        assert_eq!(dir, format!("r{}", &b64[..1]));
        let ri = parse_ri(&path, &bytes);
        let hash = ri.peek_unverified().hash();
        assert_eq!(hash.to_base64(), b64, "{path}");
        assert_eq!(Hash::from_base64(b64).unwrap(), hash);
        assert_eq!(hash.to_string(), b64);
    }
}

#[test]
fn real_signatures_verify() {
    for (name, bytes) in all_router_infos() {
        let u = parse_ri(&name, &bytes);
        let published = u.peek_unverified().published();
        let ri = u
            .verify(published)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ri.identity().sig_type(), SigType::Ed25519, "{name}");
        assert_eq!(ri.identity().enc_type(), EncType::X25519, "{name}");
    }
}

#[test]
fn router_info_time_rules() {
    let bytes = read("r1.router.info");
    let published = parse_ri("r1", &bytes).peek_unverified().published();
    // i2pd's tolerance is 2 minutes into the future: the edge passes, 1 ms more fails
    let edge = published.saturating_sub_millis(ROUTER_INFO_MAX_FUTURE_MS);
    assert!(parse_ri("r1", &bytes).verify(edge).is_ok());
    let e = parse_ri("r1", &bytes)
        .verify(edge.saturating_sub_millis(1))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotYetValid { .. }), "{e}");
    assert_eq!(e.path_string(), "RouterInfo.published");
    // a `now` far in the past (year 2001)
    let e = parse_ri("r1", &bytes)
        .verify(Date::from_millis(1_000_000_000_000))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotYetValid { .. }), "{e}");
    // a `now` far in the future is fine for verification: RouterInfo age limits depend on
    // netDb state and are the netDb's decision (see the router_info module docs)
    assert!(
        parse_ri("r1", &bytes)
            .verify(published.saturating_add_millis(10 * 365 * 86_400_000))
            .is_ok()
    );
}

#[test]
fn every_flipped_byte_fails_verification() {
    for (name, bytes) in own_router_infos() {
        let published = parse_ri(&name, &bytes).peek_unverified().published();
        let mut failures_at_parse = 0;
        let mut failures_at_verify = 0;
        for pos in 0..bytes.len() {
            let mut b = bytes.clone();
            b[pos] ^= 0x01;
            match RouterInfo::parse(&b) {
                Err(_) => failures_at_parse += 1,
                Ok(u) => {
                    let e = u
                        .verify(published)
                        .expect_err(&format!("{name}: flip at {pos} verified"));
                    match e.kind() {
                        ErrorKind::Signature(_) => {
                            assert_eq!(e.path_string(), "RouterInfo.signature", "{e}")
                        }
                        // a flip in a high byte of `published` moves it far into the future,
                        // which the time rule catches before the signature
                        ErrorKind::NotYetValid { .. } if (391..399).contains(&pos) => {
                            assert_eq!(e.path_string(), "RouterInfo.published", "{e}")
                        }
                        other => panic!("{name}: flip at {pos}: unexpected {other:?} ({e})"),
                    }
                    failures_at_verify += 1;
                }
            }
        }
        assert_eq!(failures_at_parse + failures_at_verify, bytes.len());
        // most flips parse fine and are caught by the signature
        assert!(
            failures_at_verify > bytes.len() * 3 / 4,
            "{name}: {failures_at_verify}"
        );
    }
}

#[test]
fn typed_accessors_match_i2pd_keys_files() {
    let ri = parse_ri("r1", &read("r1.router.info"))
        .verify(Date::from_millis(u64::MAX / 2))
        .unwrap();
    // i2pd's NTCP2 keys file: static public key, static private key, IV
    let ntcp2_keys = read("r1.ntcp2.keys");
    // i2pd's SSU2 keys file: static public key, static private key, intro key
    let ssu2_keys = read("r1.ssu2.keys");
    let mut seen = (false, false);
    for a in ri.addresses() {
        assert_eq!(a.expiration(), Date::ZERO);
        assert!(
            a.options().is_canonical(),
            "i2pd writes sorted address options"
        );
        match a.transport() {
            Transport::Ntcp2 => {
                let n = a.ntcp2().unwrap();
                assert_eq!(&n.static_key[..], &ntcp2_keys[..32]);
                assert_eq!(&n.iv.unwrap()[..], &ntcp2_keys[64..80]);
                assert_eq!(n.host.unwrap().to_string(), "198.18.0.1");
                assert_eq!(n.port, Some(12001));
                seen.0 = true;
            }
            Transport::Ssu2 => {
                let s = a.ssu2().unwrap();
                assert_eq!(&s.static_key[..], &ssu2_keys[..32]);
                assert_eq!(&s.intro_key[..], &ssu2_keys[64..96]);
                assert_eq!(s.mtu, Some(1500));
                assert!(s.caps.peer_test && s.caps.introducer);
                assert!(s.introducers.is_empty());
                seen.1 = true;
            }
            Transport::Other => panic!("unexpected transport"),
        }
    }
    assert_eq!(seen, (true, true));
    assert!(ri.options().is_canonical());
    assert_eq!(ri.net_id().unwrap(), Some(17));
    assert_eq!(ri.router_version().unwrap(), Version::parse("0.9.57"));
    let caps = ri.caps();
    assert!(caps.floodfill, "router 1 was a floodfill");
    assert_eq!(caps.bandwidth(), Some(BandwidthClass::X));
    assert!(ri.peers().is_empty());
}

#[test]
fn floodfill_caps_match_the_testnet_setup() {
    // routers 1-3 were floodfills, 4 and 5 were not
    for n in 1..=5 {
        let bytes = read(&format!("r{n}.router.info"));
        let caps = parse_ri("r", &bytes).peek_unverified().caps();
        assert_eq!(caps.floodfill, n <= 3, "router {n}");
    }
}

#[test]
fn router_keys_file_identity_and_private_key() {
    let keys = read("r1.router.keys");
    let ri_bytes = read("r1.router.info");
    let mut r = Reader::new(&keys);
    let id = RouterIdentity::read(&mut r).unwrap();
    assert_eq!(r.remaining(), 64, "X25519 and Ed25519 private keys follow");
    assert_eq!(id.to_bytes(), ri_bytes[..391]);
    // proposal 161 padding, as i2pd writes it: 10 copies of one 32-byte block
    assert_eq!(id.padding().len(), 320);
    let first = &id.padding()[..32];
    assert!(id.padding().chunks(32).all(|c| c == first));
    // the Ed25519 private key derives the identity's signing key
    let sk: [u8; 32] = keys[391 + 32..].try_into().unwrap();
    let sk = ed25519_dalek::SigningKey::from_bytes(&sk);
    assert_eq!(&public(&sk)[..], id.signing_key());
}

#[test]
fn eepsite_destination_and_address_book() {
    // i2pd's private keys file: Destination, encryption private key, signing private key
    let file = read("eepsite.dat");
    let mut r = Reader::new(&file);
    let dest = Destination::read(&mut r).unwrap();
    assert_eq!(r.remaining(), 256 + 32);
    let dest_bytes = &file[..file.len() - 288];
    assert_eq!(dest.to_bytes(), dest_bytes);
    assert_eq!(dest.sig_type(), SigType::Ed25519);
    assert_eq!(
        dest.enc_type(),
        EncType::ElGamal,
        "the unused field is typed ElGamal"
    );
    // 352 bytes of repeated 32-byte blocks in the unused key field and padding
    assert_eq!(dest.encryption_key().len() + dest.padding().len(), 352);
    assert!(dest_bytes[..352].chunks(32).all(|c| c == &dest_bytes[..32]));
    // hash and b32, cross-checked with Python's hashlib/base64:
    // base32(sha256(eepsite.dat[:391])).lower().rstrip("=")
    assert_eq!(
        dest.b32_address(),
        "hhremhkseshvd2f77ojp6hc2yr3ityqno7kfdvhphvlplamhczua.b32.i2p"
    );
    assert_eq!(
        Hash::from_b32_address(&dest.b32_address()).unwrap(),
        dest.hash()
    );
    // the address book entry is the I2P base64 of the same bytes
    let hosts = String::from_utf8(read("hosts.txt")).unwrap();
    let (name, b64) = hosts.trim().split_once('=').unwrap();
    assert_eq!(name, "eepsite.testnet.i2p");
    let from_book = Destination::from_base64(b64).unwrap();
    assert_eq!(from_book, dest);
    assert_eq!(dest.to_base64(), b64);
}

#[test]
fn truncated_router_info_error_names_field_and_offset() {
    let bytes = read("r1.router.info");
    // r1 layout: identity 0..391, published 391..399, address count at 399, address 0 at
    // 400 (cost, 8-byte expiration, "NTCP2", options size 0x73 at 415 -> ends at 532),
    // address 1 at 532 (cost, expiration, "SSU2", options size 0x9c at 546, body at 548).
    assert_eq!(&bytes[546..548], &[0x00, 0x9c]);
    let e = RouterInfo::parse(&bytes[..560]).unwrap_err();
    assert_eq!(e.path_string(), "RouterInfo.addresses[1].options.size");
    assert_eq!(e.offset(), 548);
    assert_eq!(
        e.to_string(),
        "RouterInfo.addresses[1].options.size at byte 548: truncated: needed 156 bytes, 12 available"
    );
    // cut in the signature
    let e = RouterInfo::parse(&bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(e.path_string(), "RouterInfo.signature");
    assert_eq!(e.offset(), bytes.len() - 64);
    // trailing garbage
    let mut long = bytes.clone();
    long.push(0);
    let e = RouterInfo::parse(&long).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TrailingBytes { count: 1 });
    assert_eq!(
        e.to_string(),
        format!(
            "RouterInfo at byte {}: 1 trailing bytes after the end of the structure",
            bytes.len()
        )
    );
}

#[test]
fn database_store_gzip_round_trip_of_real_router_info() {
    let bytes = read("r2.router.info");
    let g = GzippedRouterInfo::compress(&bytes).unwrap();
    // the gzip header the spec recommends (matches Java I2P): mtime 0, XFL 2, OS 0xFF
    assert_eq!(
        &g.compressed()[..10],
        &[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0x02, 0xff]
    );
    assert!(
        g.compressed().len() < bytes.len(),
        "repeating padding compresses"
    );
    let back = GzippedRouterInfo::decompress(g.compressed()).unwrap();
    assert_eq!(back.decompressed(), &bytes[..]);
    assert_eq!(
        back.router_info().unwrap().peek_unverified().to_bytes(),
        bytes
    );
}

#[test]
fn eepsite_lease_set2_from_i2pd_round_trips_and_verifies() {
    let bytes = read("eepsite.ls2");
    let u = LeaseSet2::parse(&bytes).unwrap();
    let ls = u.peek_unverified().clone();
    assert_eq!(ls.to_bytes(), bytes, "re-encoding differs");
    assert_eq!(
        ls.destination().b32_address(),
        "6g4ehiyozcue5mri3py6y3wdtla4q26i7np5rnxw6lsqigstxkqa.b32.i2p"
    );
    assert!(ls.offline_signature().is_none());
    assert!(!ls.is_unpublished());
    // i2pd 2.45.1 publishes an X25519 key (type 4) for ECIES-X25519-AEAD-Ratchet
    assert!(
        ls.encryption_keys()
            .iter()
            .any(|k| k.key_type_code() == 4 && k.key().len() == 32),
        "{:?}",
        ls.encryption_keys()
    );
    assert!(!ls.leases().is_empty());
    for lease in ls.leases() {
        assert!(lease.end() > ls.published(), "{lease:?}");
    }
    // valid one second after it was published
    let now = Date::from_secs(u64::from(ls.published_secs()) + 1);
    let verified = u.verify(now).expect("i2pd's signature verifies");
    assert_eq!(verified.hash(), ls.hash());
    // a flipped byte in the last lease or in the signature breaks it
    let sig_len = ls.signature().len();
    for at in [bytes.len() - sig_len - 1, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[at] ^= 1;
        let parsed = LeaseSet2::parse(&bad).unwrap();
        assert!(
            parsed.verify(now).is_err(),
            "flipped byte {at} still verifies"
        );
    }
}

#[test]
fn repliable_datagram_from_i2pd_with_a_dsa_sender() {
    use i2p_wire::datagram::Datagram1;
    // i2pd 2.45.1's SAM TRANSIENT destinations sign with DSA_SHA1: the signature covers the
    // SHA-256 of the payload, not the payload (spec/datagrams.md "Datagram1")
    let bytes = read("datagram1-dsa.bin");
    let u = Datagram1::parse(&bytes).expect("parses");
    let d = u.peek_unverified();
    assert_eq!(d.from().sig_type(), SigType::DsaSha1);
    assert_eq!(d.from().encoded_len(), 387);
    assert_eq!(d.signature().len(), 40);
    assert!(d.payload().starts_with(b"dg-i2pd-ours#00|"));
    assert_eq!(d.to_bytes(), bytes, "exact re-encoding");
    let key = d.from().signing_key().to_vec();
    let (payload, sig) = (d.payload().to_vec(), d.signature().to_vec());
    let digest = i2p_crypto::sha256(&payload);
    assert!(i2p_crypto::sig::verify(SigType::DsaSha1, &key, &digest, &sig).is_ok());
    assert!(
        i2p_crypto::sig::verify(SigType::DsaSha1, &key, &payload, &sig).is_err(),
        "the signature is not over the bare payload"
    );
    let verified = u.verify().expect("i2pd's DSA signature verifies");
    assert_eq!(verified.payload(), payload.as_slice());
    // a flipped payload byte or signature byte fails
    for at in [bytes.len() - 1, 387 + 5] {
        let mut bad = bytes.clone();
        bad[at] ^= 1;
        assert!(
            Datagram1::parse(&bad).unwrap().verify().is_err(),
            "byte {at}"
        );
    }
}
