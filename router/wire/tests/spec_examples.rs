//! Structured examples from the specs (spec/common-structures.md, spec/i2np.md,
//! proposals/161-ri-dest-padding.md), checked against what this crate builds and parses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;

use common::*;
use i2p_wire::certificate::signing_key_excess;
use i2p_wire::*;

#[test]
fn key_certificate_example_layouts_with_elgamal() {
    // spec/common-structures.md, "Key Certificates": example layouts using an ElGamal crypto
    // key: (signing key type, padding length, excess signing key data in the certificate)
    let table = [
        (SigType::DsaSha1, 0, 0),
        (SigType::EcdsaSha256P256, 64, 0),
        (SigType::EcdsaSha384P384, 32, 0),
        (SigType::EcdsaSha512P521, 0, 4),
        (SigType::RsaSha256_2048, 0, 128),
        (SigType::RsaSha384_3072, 0, 256),
        (SigType::RsaSha512_4096, 0, 384),
        (SigType::Ed25519, 96, 0),
        (SigType::Ed25519ph, 96, 0),
    ];
    let mut rng = Rng::new(161);
    for (sig, padding, excess) in table {
        assert_eq!(signing_key_excess(sig), excess, "{sig:?}");
        let enc_key = rng.bytes(256);
        let sig_key = rng.bytes(sig.public_key_len());
        let k = KeysAndCert::new(
            EncType::ElGamal,
            Some(&enc_key),
            sig,
            &sig_key,
            &rng.array32(),
        )
        .unwrap();
        assert_eq!(k.padding().len(), padding, "{sig:?}");
        let bytes = k.to_bytes();
        let cert_payload = if sig == SigType::DsaSha1 {
            0
        } else {
            4 + excess
        };
        assert_eq!(bytes.len(), 387 + cert_payload, "{sig:?}");
        assert_eq!(&bytes[..256], &enc_key[..]);
        // the signing key is aligned at the end of the 384-byte area, the rest in the cert
        let in_area = sig.public_key_len() - excess;
        assert_eq!(&bytes[384 - in_area..384], &sig_key[..in_area], "{sig:?}");
        assert_eq!(
            &bytes[bytes.len() - excess..],
            &sig_key[in_area..],
            "{sig:?}"
        );
        let back = KeysAndCert::parse(&bytes).unwrap();
        assert_eq!(back.signing_key(), &sig_key[..]);
        assert_eq!(back.encryption_key(), &enc_key[..]);
        assert_eq!(back, k);
    }
}

#[test]
fn key_certificate_with_types_zero_zero_is_allowed() {
    // "A KEY certificate with types 0,0 (ElGamal,DSA_SHA1) is allowed but discouraged."
    let mut bytes = vec![0xabu8; 384];
    bytes.extend([5, 0, 4, 0, 0, 0, 0]);
    let k = KeysAndCert::parse(&bytes).unwrap();
    assert_eq!(k.sig_type(), SigType::DsaSha1);
    assert_eq!(k.enc_type(), EncType::ElGamal);
    assert_eq!(k.signing_key().len(), 128);
    assert_eq!(
        k.to_bytes(),
        bytes,
        "kept as received, not canonicalised to NULL"
    );
}

#[test]
fn proposal_161_padding_compresses() {
    // proposal 161: a 391-byte X25519/Ed25519 RouterIdentity holds 320 bytes of padding and a
    // 391-byte Ed25519 Destination 352; repeating one 32-byte block makes both compress to
    // little more than their keys.
    let mut rng = Rng::new(9);
    let id =
        RouterIdentity::new_x25519_ed25519(&rng.array32(), &rng.array32(), &rng.array32()).unwrap();
    let dest = Destination::new(SigType::Ed25519, &rng.array32(), &rng.array32()).unwrap();
    let gz = |b: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(b).unwrap();
        enc.finish().unwrap().len()
    };
    for (bytes, padding) in [(id.to_bytes(), 320), (dest.to_bytes(), 352)] {
        assert_eq!(bytes.len(), 391);
        // the same structure with non-repeating padding, for comparison
        let mut random = bytes.clone();
        let start = 384 - 32 - padding;
        random[start..384 - 32].copy_from_slice(&rng.bytes(padding));
        let (z, zr) = (gz(&bytes), gz(&random));
        // the proposal estimates savings of padding - 32 bytes; deflate's own overhead on
        // such small inputs eats a little of that
        assert!(zr - z >= padding * 3 / 4, "{z} vs {zr}");
    }
}

#[test]
fn lease_set2_service_record_examples() {
    // spec/common-structures.md, LeaseSet2 "Options": the three service record examples
    let key = test_key(60);
    let dest = Destination::new(SigType::Ed25519, &public(&key), &[1; 32]).unwrap();
    let b = "b".repeat(44);
    let c = "c".repeat(44);
    let values = [
        format!("1 86400 0 0 25 {b}.b32.i2p"),
        format!("1 86400 0 0 25 {b}.b32.i2p,86400 1 0 25 {c}.b32.i2p"),
        "0 999999 25".to_string(),
    ];
    for v in values {
        let ls = LeaseSet2Builder::new(dest.clone(), 1_700_000_000, 600)
            .option("_smtp._tcp", v.clone())
            .option("_http._tcp", "0 86400 80")
            .encryption_key(EncryptionKey::new(EncType::X25519, &[2; 32]).unwrap())
            .sign(&signer(&key))
            .unwrap();
        let back = LeaseSet2::parse(&ls.to_bytes())
            .unwrap()
            .verify(Date::from_secs(1_700_000_000))
            .unwrap();
        assert_eq!(back.options().get_str("_smtp._tcp"), Some(v.as_str()));
        // "LS2 options MUST be sorted by key"
        let keys: Vec<String> = back.options().iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["_http._tcp", "_smtp._tcp"]);
    }
}

#[test]
fn fixed_sizes_from_the_spec() {
    // Lease 44 bytes, Lease2 40 bytes, LeaseSet2Header minimum 395, KeysAndCert minimum 387
    let lease = Lease {
        gateway: Hash::from_bytes([1; 32]),
        tunnel_id: TunnelId(2),
        end_date: Date::from_millis(3),
    };
    assert_eq!(lease.to_bytes().len(), 44);
    assert_eq!(Lease::parse(&lease.to_bytes()).unwrap(), lease);
    let lease2 = Lease2 {
        gateway: Hash::from_bytes([1; 32]),
        tunnel_id: TunnelId(2),
        end_date: 3,
    };
    assert_eq!(lease2.to_bytes().len(), 40);
    assert_eq!(Lease2::parse(&lease2.to_bytes()).unwrap(), lease2);
    let dsa = KeysAndCert::new(
        EncType::ElGamal,
        Some(&[1; 256]),
        SigType::DsaSha1,
        &[2; 128],
        &[0; 32],
    )
    .unwrap();
    assert_eq!(dsa.encoded_len(), KeysAndCert::MIN_LEN);
    assert_eq!(dsa.encoded_len() + 4 + 2 + 2, 395);
}
