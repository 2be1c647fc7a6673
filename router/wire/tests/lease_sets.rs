//! LeaseSet2 (built and signed here, with and without offline keys; no capture exists yet),
//! the legacy LeaseSet and the EncryptedLeaseSet outer layer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use i2p_wire::i2np::{DatabaseStore, I2npBody, StoreKind};
use i2p_wire::lease_set2::flags;
use i2p_wire::signed::LEASE_SET_MAX_FUTURE_MS;
use i2p_wire::*;

const PUBLISHED: u32 = 1_700_000_000;
const EXPIRES: u16 = 600;

fn published() -> Date {
    Date::from_secs(u64::from(PUBLISHED))
}

fn destination(key: &ed25519_dalek::SigningKey) -> Destination {
    Destination::new(SigType::Ed25519, &public(key), &[0x42; 32]).unwrap()
}

fn leases() -> [Lease2; 2] {
    [
        Lease2 {
            gateway: Hash::from_bytes([1; 32]),
            tunnel_id: TunnelId(1111),
            end_date: PUBLISHED + 600,
        },
        Lease2 {
            gateway: Hash::from_bytes([2; 32]),
            tunnel_id: TunnelId(2222),
            end_date: PUBLISHED + 590,
        },
    ]
}

fn builder(dest: Destination) -> LeaseSet2Builder {
    let [l0, l1] = leases();
    LeaseSet2Builder::new(dest, PUBLISHED, EXPIRES)
        .option("_smtp._tcp", "0 86400 25")
        .encryption_key(EncryptionKey::new(EncType::X25519, &[7; 32]).unwrap())
        .encryption_key(EncryptionKey::new(EncType::ElGamal, &[8; 256]).unwrap())
        .lease(l0)
        .lease(l1)
}

#[test]
fn lease_set2_round_trip_and_verify() {
    let key = test_key(10);
    let dest = destination(&key);
    let ls = builder(dest.clone()).sign(&signer(&key)).unwrap();
    let bytes = ls.to_bytes();
    // header size: destination + published + expires + flags (spec: 395 bytes minimum)
    assert_eq!(dest.encoded_len() + 8, 399);
    let u = LeaseSet2::parse(&bytes).unwrap();
    assert_eq!(u.peek_unverified().to_bytes(), bytes);
    let v = u.verify(published()).unwrap();
    assert_eq!(v, ls);
    assert_eq!(v.hash(), dest.hash());
    assert_eq!(v.leases(), &leases());
    assert_eq!(v.encryption_keys()[0].enc_type(), Some(EncType::X25519));
    assert_eq!(v.encryption_keys()[1].key().len(), 256);
    assert_eq!(v.options().get_str("_smtp._tcp"), Some("0 86400 25"));
    assert_eq!(v.expires(), Date::from_secs(u64::from(PUBLISHED) + 600));
    assert!(!v.is_unpublished());
    assert_eq!(v.flags(), 0);
    // the signature covers the type byte 3 and the content: check with the raw key too
    let mut signed = vec![3u8];
    signed.extend_from_slice(&bytes[..bytes.len() - 64]);
    i2p_crypto::sig::verify(SigType::Ed25519, &public(&key), &signed, v.signature()).unwrap();
}

#[test]
fn lease_set2_time_rules() {
    let key = test_key(11);
    let bytes = builder(destination(&key))
        .sign(&signer(&key))
        .unwrap()
        .to_bytes();
    let verify = |now: Date| LeaseSet2::parse(&bytes).unwrap().verify(now);
    let expires = Date::from_secs(u64::from(PUBLISHED) + u64::from(EXPIRES));
    assert!(
        verify(expires).is_ok(),
        "valid up to and including the expiry second"
    );
    let e = verify(expires.saturating_add_millis(1)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Expired { .. }), "{e}");
    assert_eq!(e.path_string(), "LeaseSet2.expires");
    // far future
    assert!(matches!(
        verify(Date::from_secs(4_000_000_000)).unwrap_err().kind(),
        ErrorKind::Expired { .. }
    ));
    // published in the future: 2 minutes tolerance
    let edge = published().saturating_sub_millis(LEASE_SET_MAX_FUTURE_MS);
    assert!(verify(edge).is_ok());
    let e = verify(edge.saturating_sub_millis(1)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotYetValid { .. }), "{e}");
    assert_eq!(e.path_string(), "LeaseSet2.published");
    // far past
    assert!(matches!(
        verify(Date::from_secs(1_000_000_000)).unwrap_err().kind(),
        ErrorKind::NotYetValid { .. }
    ));
}

#[test]
fn lease_set2_every_flipped_byte_fails() {
    let key = test_key(12);
    let bytes = builder(destination(&key))
        .sign(&signer(&key))
        .unwrap()
        .to_bytes();
    for pos in 0..bytes.len() {
        let mut b = bytes.clone();
        b[pos] ^= 0x80;
        if let Ok(u) = LeaseSet2::parse(&b) {
            let e = u
                .verify(published())
                .expect_err(&format!("flip at {pos} verified"));
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Signature(_)
                        | ErrorKind::Expired { .. }
                        | ErrorKind::NotYetValid { .. }
                ),
                "flip at {pos}: {e}"
            );
        }
    }
}

#[test]
fn lease_set2_with_offline_signature() {
    let long_term = test_key(20);
    let transient = test_key(21);
    let dest = destination(&long_term);
    let offline_expires = PUBLISHED + 3600;
    let offline = OfflineSignature::sign(
        offline_expires,
        SigType::Ed25519,
        &public(&transient),
        SigType::Ed25519,
        &public(&long_term),
        &signer(&long_term),
    )
    .unwrap();
    // the offline block must be signed by the destination's key
    assert!(
        OfflineSignature::sign(
            offline_expires,
            SigType::Ed25519,
            &public(&transient),
            SigType::Ed25519,
            &public(&long_term),
            &signer(&transient),
        )
        .is_err()
    );
    let ls = builder(dest.clone())
        .offline_signature(offline.clone())
        .unpublished(true)
        .sign(&signer(&transient))
        .unwrap();
    assert_eq!(ls.flags(), flags::OFFLINE_KEYS | flags::UNPUBLISHED);
    // signing with the long-term key instead of the transient key is refused
    assert!(
        builder(dest.clone())
            .offline_signature(offline.clone())
            .sign(&signer(&long_term))
            .is_err()
    );
    let bytes = ls.to_bytes();
    // destination, published, expires, flags, then the offline block
    let off = dest.encoded_len() + 8;
    assert_eq!(&bytes[off..off + 4], &offline_expires.to_be_bytes());
    assert_eq!(&bytes[off + 4..off + 6], &7u16.to_be_bytes());
    assert_eq!(&bytes[off + 6..off + 38], &public(&transient));
    let u = LeaseSet2::parse(&bytes).unwrap();
    assert_eq!(u.peek_unverified().to_bytes(), bytes);
    let v = u.verify(published()).unwrap();
    assert!(v.is_unpublished());
    assert_eq!(v.offline_signature(), Some(&offline));

    // an offline signature that expired before the LeaseSet does is rejected first
    let short = OfflineSignature::sign(
        PUBLISHED + 100,
        SigType::Ed25519,
        &public(&transient),
        SigType::Ed25519,
        &public(&long_term),
        &signer(&long_term),
    )
    .unwrap();
    let bytes = builder(dest.clone())
        .offline_signature(short)
        .sign(&signer(&transient))
        .unwrap()
        .to_bytes();
    let now = Date::from_secs(u64::from(PUBLISHED) + 101);
    let e = LeaseSet2::parse(&bytes).unwrap().verify(now).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Expired { .. }), "{e}");
    assert_eq!(e.path_string(), "LeaseSet2.OfflineSignature.expires");
    assert!(
        LeaseSet2::parse(&bytes)
            .unwrap()
            .verify(published())
            .is_ok()
    );

    // tampering with the transient key breaks the offline signature
    let mut b = ls.to_bytes();
    b[off + 10] ^= 1;
    let e = LeaseSet2::parse(&b)
        .unwrap()
        .verify(published())
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Signature(_)), "{e}");
    assert_eq!(e.path_string(), "LeaseSet2.OfflineSignature.signature");
    // tampering with a lease breaks the LeaseSet signature (made by the transient key)
    let mut b = ls.to_bytes();
    let n = b.len();
    b[n - 64 - 10] ^= 1;
    let e = LeaseSet2::parse(&b)
        .unwrap()
        .verify(published())
        .unwrap_err();
    assert_eq!(e.path_string(), "LeaseSet2.signature");
}

#[test]
fn lease_set2_parse_rules() {
    let key = test_key(13);
    let dest = destination(&key);
    // no encryption key
    assert!(
        LeaseSet2Builder::new(dest.clone(), PUBLISHED, EXPIRES)
            .sign(&signer(&key))
            .is_err()
    );
    let ls = LeaseSet2Builder::new(dest.clone(), PUBLISHED, EXPIRES)
        .encryption_key(EncryptionKey::new(EncType::X25519, &[1; 32]).unwrap())
        .sign(&signer(&key))
        .unwrap();
    let bytes = ls.to_bytes();
    let numk_at = dest.encoded_len() + 8 + 2;
    assert_eq!(bytes[numk_at], 1);
    // numk = 0
    let mut b = bytes.clone();
    b[numk_at] = 0;
    let e = LeaseSet2::parse(&b).unwrap_err();
    assert_eq!(e.path_string(), "LeaseSet2.encryption_keys");
    assert_eq!(e.offset(), numk_at);
    // key length that does not match the X25519 type
    let mut b = bytes.clone();
    b[numk_at + 4] = 33;
    let e = LeaseSet2::parse(&b).unwrap_err();
    assert_eq!(e.path_string(), "LeaseSet2.encryption_keys[0].key_len");
    // an unknown key type with any length is kept
    let mut b = bytes.clone();
    b[numk_at + 1..numk_at + 3].copy_from_slice(&0x0123u16.to_be_bytes());
    let u = LeaseSet2::parse(&b).unwrap();
    assert_eq!(u.peek_unverified().encryption_keys()[0].enc_type(), None);
    assert_eq!(u.peek_unverified().to_bytes(), b);
    // 17 leases
    let leases_at = numk_at + 1 + 4 + 32;
    let mut b = bytes[..leases_at].to_vec();
    b.push(17);
    b.extend(std::iter::repeat_n(0u8, 17 * 40 + 64));
    let e = LeaseSet2::parse(&b).unwrap_err();
    assert_eq!(e.path_string(), "LeaseSet2.leases");
}

#[test]
fn lease_set2_in_database_store() {
    let key = test_key(14);
    let ls = builder(destination(&key)).sign(&signer(&key)).unwrap();
    let dsm =
        DatabaseStore::lease_set(ls.hash(), StoreKind::LeaseSet2, ls.to_bytes(), None).unwrap();
    let msg = I2npMessage::new(7, published(), I2npBody::DatabaseStore(dsm)).unwrap();
    let bytes = msg.to_bytes();
    // key (32), type 3, zero reply token, then the LeaseSet2
    assert_eq!(bytes[16 + 32], 3);
    assert_eq!(&bytes[16 + 33..16 + 37], &[0, 0, 0, 0]);
    let back = I2npMessage::parse(&bytes).unwrap();
    assert_eq!(back.to_bytes(), bytes);
    let I2npBody::DatabaseStore(d) = back.body() else {
        panic!()
    };
    let AnyLeaseSet::LeaseSet2(u) = d.parse_lease_set().unwrap() else {
        panic!("not a LeaseSet2")
    };
    assert_eq!(u.verify(published()).unwrap(), ls);
}

/// Build a legacy LeaseSet by hand (there is no builder: we only read them).
fn legacy_lease_set(key: &ed25519_dalek::SigningKey, ends: &[u64]) -> Vec<u8> {
    let dest = destination(key);
    let mut b = dest.to_bytes();
    b.extend([9u8; 256]); // ElGamal encryption key
    b.extend([0u8; 32]); // unused signing key (Ed25519 length)
    b.push(ends.len() as u8);
    for (i, end) in ends.iter().enumerate() {
        b.extend([i as u8 + 1; 32]);
        b.extend((100 + i as u32).to_be_bytes());
        b.extend(end.to_be_bytes());
    }
    let sig = signer(key)(&b);
    b.extend(sig);
    b
}

#[test]
fn legacy_lease_set_reads_and_verifies() {
    let key = test_key(30);
    let now_ms = 1_700_000_000_000u64;
    let bytes = legacy_lease_set(&key, &[now_ms + 60_000, now_ms + 600_000]);
    let u = LeaseSet::parse(&bytes).unwrap();
    assert_eq!(u.peek_unverified().to_bytes(), bytes);
    let ls = u.verify(Date::from_millis(now_ms)).unwrap();
    assert_eq!(ls.leases().len(), 2);
    assert_eq!(ls.leases()[1].tunnel_id, TunnelId(101));
    assert_eq!(ls.latest_end(), Some(Date::from_millis(now_ms + 600_000)));
    // all leases over (plus i2pd's 51 s grace)
    let late = Date::from_millis(now_ms + 600_000 + 51_000);
    let e = LeaseSet::parse(&bytes).unwrap().verify(late).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Expired { .. }), "{e}");
    // a flipped lease byte
    let mut b = bytes.clone();
    b[391 + 256 + 32 + 1 + 5] ^= 1;
    let e = LeaseSet::parse(&b)
        .unwrap()
        .verify(Date::from_millis(now_ms))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Signature(_)), "{e}");
    // via the DatabaseStore dispatcher
    assert!(matches!(
        AnyLeaseSet::parse(1, &bytes).unwrap(),
        AnyLeaseSet::LeaseSet(_)
    ));
    let e = AnyLeaseSet::parse(7, &bytes).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Unsupported(_)), "{e}");
}

#[test]
fn encrypted_lease_set_outer_layer() {
    // The blinded key would be RedDSA in practice; the outer format is the same for any
    // signature type, and Ed25519 is what our crypto crate verifies today.
    let key = test_key(40);
    let mut b = Vec::new();
    b.extend(7u16.to_be_bytes());
    b.extend(public(&key));
    b.extend(PUBLISHED.to_be_bytes());
    b.extend(EXPIRES.to_be_bytes());
    b.extend(0u16.to_be_bytes());
    b.extend(5u16.to_be_bytes());
    b.extend([0xee; 5]);
    let mut signed = vec![5u8];
    signed.extend(&b);
    b.extend(signer(&key)(&signed));
    let u = EncryptedLeaseSet::parse(&b).unwrap();
    assert_eq!(u.peek_unverified().to_bytes(), b);
    let e = u.verify(published()).unwrap();
    assert_eq!(e.encrypted_data(), &[0xee; 5]);
    assert!(matches!(
        AnyLeaseSet::parse(5, &b).unwrap(),
        AnyLeaseSet::Encrypted(_)
    ));
    let mut bad = b.clone();
    bad[40] ^= 1;
    assert!(
        EncryptedLeaseSet::parse(&bad)
            .unwrap()
            .verify(published())
            .is_err()
    );
    let late = Date::from_secs(u64::from(PUBLISHED) + 601);
    assert!(EncryptedLeaseSet::parse(&b).unwrap().verify(late).is_err());
}
