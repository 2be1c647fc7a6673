//! KeysAndCert and its two uses, [`RouterIdentity`] and [`Destination`]
//! (spec/common-structures.md, "KeysAndCert", "RouterIdentity", "Destination", "Key
//! Certificates"; padding per proposals/161-ri-dest-padding.md).
//!
//! Layout of the 384-byte key area in front of the certificate, as Java I2P and i2pd lay it
//! out: the first 256 bytes belong to the encryption key, which is left-aligned (padding after
//! it); the last 128 bytes belong to the signing key, which is right-aligned (padding before
//! it). Keys longer than their part (P-521 or RSA signing keys) put their first 256/128 bytes
//! there and the rest, signing excess first, in the KEY certificate. Without a KEY certificate
//! the area is a 256-byte ElGamal key and a 128-byte DSA-SHA1 key.
//!
//! The identity hash is the SHA-256 of the full encoding, padding and certificate included; it
//! is computed once when a value is parsed or built.
//!
//! In a Destination the encryption key field is unused (the LeaseSet carries the real keys);
//! Destinations built here fill it, like the padding, with a repeated 32-byte random block.

use core::fmt;
use core::ops::Deref;

use i2p_crypto::SigType;

use crate::base32;
use crate::base64;
use crate::certificate::{
    CRYPTO_AREA_LEN, Certificate, KEY_AREA_LEN, KeyCertificate, SIGNING_AREA_LEN,
    crypto_key_excess, signing_key_excess, unknown_type,
};
use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
use crate::primitives::{EncType, Hash};
use crate::reader::{Decode, Encode, Reader, Sink};

/// An encryption key, a signing key and a certificate. See the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct KeysAndCert {
    area: [u8; KEY_AREA_LEN],
    certificate: Certificate,
    enc_type: EncType,
    sig_type: SigType,
    encryption_key: Vec<u8>,
    signing_key: Vec<u8>,
    hash: Hash,
}

impl fmt::Debug for KeysAndCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeysAndCert")
            .field("hash", &self.hash)
            .field("enc_type", &self.enc_type)
            .field("sig_type", &self.sig_type)
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

/// Fill `buf` with `seed` repeated, starting at the start of `buf` (proposal 161).
pub fn fill_repeating(buf: &mut [u8], seed: &[u8; 32]) {
    for (b, s) in buf.iter_mut().zip(seed.iter().cycle()) {
        *b = *s;
    }
}

impl KeysAndCert {
    /// Minimum encoded size (384-byte key area plus a 3-byte NULL certificate).
    pub const MIN_LEN: usize = KEY_AREA_LEN + 3;

    /// Build from keys. `encryption_key` of `None` leaves the encryption field to the padding
    /// pattern (Destinations). The padding (and an unused encryption field) is `padding_seed`
    /// repeated, per proposal 161, so the structure compresses well; pass 32 fresh random
    /// bytes. ElGamal + DSA-SHA1 gets a NULL certificate, everything else a KEY certificate.
    pub fn new(
        enc_type: EncType,
        encryption_key: Option<&[u8]>,
        sig_type: SigType,
        signing_key: &[u8],
        padding_seed: &[u8; 32],
    ) -> Result<KeysAndCert> {
        let cl = enc_type.public_key_len();
        let sl = sig_type.public_key_len();
        if let Some(k) = encryption_key
            && k.len() != cl
        {
            return Err(Error::bad_length(k.len(), Expected::Exactly(cl as u32), 0)
                .at(Field::PublicKey)
                .at(Field::KeysAndCert));
        }
        if signing_key.len() != sl {
            return Err(
                Error::bad_length(signing_key.len(), Expected::Exactly(sl as u32), 0)
                    .at(Field::SigningKey)
                    .at(Field::KeysAndCert),
            );
        }
        let mut area = [0u8; KEY_AREA_LEN];
        let enc_in_area = cl.min(CRYPTO_AREA_LEN);
        let sig_in_area = sl.min(SIGNING_AREA_LEN);
        let sig_start = KEY_AREA_LEN - sig_in_area;
        let pad_start = if encryption_key.is_some() {
            enc_in_area
        } else {
            0
        };
        if let Some(pad) = area.get_mut(pad_start..sig_start) {
            fill_repeating(pad, padding_seed);
        }
        let (enc_area_part, enc_excess) = match encryption_key {
            Some(k) => k.split_at(enc_in_area),
            None => (&[][..], &[][..]),
        };
        if let Some(dst) = area.get_mut(..enc_area_part.len()) {
            dst.copy_from_slice(enc_area_part);
        }
        let (sig_area_part, sig_excess) = signing_key.split_at(sig_in_area);
        if let Some(dst) = area.get_mut(sig_start..) {
            dst.copy_from_slice(sig_area_part);
        }
        let certificate = if enc_type == EncType::ElGamal && sig_type == SigType::DsaSha1 {
            Certificate::Null
        } else {
            let mut excess = sig_excess.to_vec();
            // an absent encryption key of a long type gets pattern bytes as its excess
            match encryption_key {
                Some(_) => excess.extend_from_slice(enc_excess),
                None => {
                    let mut e = vec![0u8; crypto_key_excess(enc_type)];
                    fill_repeating(&mut e, padding_seed);
                    excess.extend_from_slice(&e);
                }
            }
            Certificate::Key(KeyCertificate::new(sig_type, enc_type, &excess)?)
        };
        let mut bytes = area.to_vec();
        certificate.encode_to(&mut bytes);
        KeysAndCert::parse(&bytes)
    }

    pub fn enc_type(&self) -> EncType {
        self.enc_type
    }

    pub fn sig_type(&self) -> SigType {
        self.sig_type
    }

    /// The encryption public key (for Destinations: unused filler).
    pub fn encryption_key(&self) -> &[u8] {
        &self.encryption_key
    }

    /// The signing public key (reassembled if part of it lives in the certificate).
    pub fn signing_key(&self) -> &[u8] {
        &self.signing_key
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The padding between the two keys (empty when the keys fill the area).
    pub fn padding(&self) -> &[u8] {
        let start = self.enc_type.public_key_len().min(CRYPTO_AREA_LEN);
        let end = KEY_AREA_LEN - self.sig_type.public_key_len().min(SIGNING_AREA_LEN);
        self.area.get(start..end).unwrap_or(&[])
    }

    /// SHA-256 of the full encoding: the router or destination hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }
}

impl Decode for KeysAndCert {
    const NAME: Field = Field::KeysAndCert;

    fn read(r: &mut Reader<'_>) -> Result<KeysAndCert> {
        read_keys_and_cert(r).at(Field::KeysAndCert)
    }
}

fn read_keys_and_cert(r: &mut Reader<'_>) -> Result<KeysAndCert> {
    let start = r.mark();
    let area: [u8; KEY_AREA_LEN] = r.array()?;
    let cert_at = r.position();
    let certificate = Certificate::read(r)?;
    let (enc_type, sig_type, excess): (EncType, SigType, &[u8]) = match &certificate {
        Certificate::Key(k) => {
            // type codes start 3 bytes into the certificate
            let sig = k
                .sig_type()
                .ok_or_else(|| unknown_type(k.sig_code(), cert_at + 3, Field::SigType))?;
            let enc = k
                .enc_type()
                .ok_or_else(|| unknown_type(k.crypto_code(), cert_at + 5, Field::CryptoType))?;
            (enc, sig, k.excess())
        }
        _ => (EncType::ElGamal, SigType::DsaSha1, &[]),
    };
    let cl = enc_type.public_key_len();
    let sl = sig_type.public_key_len();
    let sig_x = signing_key_excess(sig_type);
    let enc_x = crypto_key_excess(enc_type);
    if excess.len() != sig_x + enc_x {
        // only reachable for non-KEY certificates, which never carry excess; kept for safety
        return Err(Error::bad_length(
            excess.len(),
            Expected::Exactly((sig_x + enc_x) as u32),
            cert_at,
        )
        .at(Field::Certificate));
    }
    let (sig_excess, enc_excess) = excess.split_at(sig_x);
    let mut encryption_key = area.get(..cl.min(CRYPTO_AREA_LEN)).unwrap_or(&[]).to_vec();
    encryption_key.extend_from_slice(enc_excess);
    let mut signing_key = area
        .get(KEY_AREA_LEN - sl.min(SIGNING_AREA_LEN)..)
        .unwrap_or(&[])
        .to_vec();
    signing_key.extend_from_slice(sig_excess);
    let hash = Hash::digest(r.since(start));
    Ok(KeysAndCert {
        area,
        certificate,
        enc_type,
        sig_type,
        encryption_key,
        signing_key,
        hash,
    })
}

impl Encode for KeysAndCert {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put(&self.area);
        self.certificate.encode_to(out);
    }
}

/// A router's identity. Only ElGamal or X25519 encryption and the signature types the spec
/// allows for routers (DSA-SHA1, ECDSA, Ed25519) are accepted.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RouterIdentity(KeysAndCert);

impl RouterIdentity {
    /// An X25519 + Ed25519 router identity with proposal-161 padding from `padding_seed`
    /// (32 fresh random bytes).
    pub fn new_x25519_ed25519(
        x25519_public: &[u8; 32],
        ed25519_public: &[u8; 32],
        padding_seed: &[u8; 32],
    ) -> Result<RouterIdentity> {
        let k = KeysAndCert::new(
            EncType::X25519,
            Some(x25519_public),
            SigType::Ed25519,
            ed25519_public,
            padding_seed,
        )?;
        RouterIdentity::from_keys_and_cert(k, 0).at(Field::RouterIdentity)
    }

    fn from_keys_and_cert(k: KeysAndCert, offset: usize) -> Result<RouterIdentity> {
        if !k.enc_type.allowed_in_router_identity() {
            return Err(Error::new(
                ErrorKind::BadValue("encryption type not allowed in a RouterIdentity"),
                offset,
            )
            .at(Field::CryptoType));
        }
        if !router_sig_type_allowed(k.sig_type) {
            return Err(Error::new(
                ErrorKind::BadValue("signature type not allowed in a RouterIdentity"),
                offset,
            )
            .at(Field::SigType));
        }
        Ok(RouterIdentity(k))
    }

    pub fn keys_and_cert(&self) -> &KeysAndCert {
        &self.0
    }

    /// The router hash.
    pub fn hash(&self) -> Hash {
        self.0.hash
    }
}

fn router_sig_type_allowed(t: SigType) -> bool {
    matches!(
        t,
        SigType::DsaSha1
            | SigType::EcdsaSha256P256
            | SigType::EcdsaSha384P384
            | SigType::EcdsaSha512P521
            | SigType::Ed25519
    )
}

impl Deref for RouterIdentity {
    type Target = KeysAndCert;
    fn deref(&self) -> &KeysAndCert {
        &self.0
    }
}

impl Decode for RouterIdentity {
    const NAME: Field = Field::RouterIdentity;

    fn read(r: &mut Reader<'_>) -> Result<RouterIdentity> {
        let at = r.position();
        let k = read_keys_and_cert(r).at(Field::RouterIdentity)?;
        // the certificate starts at +384; point the error at it
        RouterIdentity::from_keys_and_cert(k, at + KEY_AREA_LEN).at(Field::RouterIdentity)
    }
}

impl Encode for RouterIdentity {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.0.encode_to(out);
    }
}

/// A client destination. Its encryption key field is unused.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Destination(KeysAndCert);

impl Destination {
    /// A destination with the given signing key; the unused encryption field and the padding
    /// are `padding_seed` repeated (proposal 161), the certificate says ElGamal (type 0) as the
    /// spec recommends for the unused field.
    pub fn new(
        sig_type: SigType,
        signing_key: &[u8],
        padding_seed: &[u8; 32],
    ) -> Result<Destination> {
        KeysAndCert::new(EncType::ElGamal, None, sig_type, signing_key, padding_seed)
            .map(Destination)
            .at(Field::Destination)
    }

    /// A destination that carries a real encryption public key in its key area (e.g. X25519,
    /// crypto type 4, which i2pd and Java I2P accept for destinations), so the private key
    /// stored beside it is the LeaseSet2 encryption key.
    pub fn with_encryption_key(
        enc_type: EncType,
        encryption_key: &[u8],
        sig_type: SigType,
        signing_key: &[u8],
        padding_seed: &[u8; 32],
    ) -> Result<Destination> {
        KeysAndCert::new(
            enc_type,
            Some(encryption_key),
            sig_type,
            signing_key,
            padding_seed,
        )
        .map(Destination)
        .at(Field::Destination)
    }

    pub fn keys_and_cert(&self) -> &KeysAndCert {
        &self.0
    }

    /// The destination hash (its netDb key and the content of its `.b32.i2p` address).
    pub fn hash(&self) -> Hash {
        self.0.hash
    }

    /// `<52 chars>.b32.i2p`.
    pub fn b32_address(&self) -> String {
        base32::b32_address(&self.0.hash)
    }

    /// The I2P Base64 form used in address books and `hosts.txt`.
    pub fn to_base64(&self) -> String {
        base64::encode(&self.0.to_bytes())
    }

    /// Parse the I2P Base64 form (the whole string must be one Destination).
    pub fn from_base64(s: &str) -> Result<Destination> {
        let bytes = base64::decode(s).at(Field::Destination)?;
        Destination::parse(&bytes)
    }
}

impl Deref for Destination {
    type Target = KeysAndCert;
    fn deref(&self) -> &KeysAndCert {
        &self.0
    }
}

impl Decode for Destination {
    const NAME: Field = Field::Destination;

    fn read(r: &mut Reader<'_>) -> Result<Destination> {
        read_keys_and_cert(r)
            .map(Destination)
            .at(Field::Destination)
    }
}

impl Encode for Destination {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.0.encode_to(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_identity_layout_and_padding() {
        let x = [1u8; 32];
        let s = [2u8; 32];
        let seed: [u8; 32] = core::array::from_fn(|i| i as u8 + 100);
        let id = RouterIdentity::new_x25519_ed25519(&x, &s, &seed).unwrap();
        let bytes = id.to_bytes();
        assert_eq!(bytes.len(), 391);
        assert_eq!(&bytes[..32], &x);
        assert_eq!(&bytes[352..384], &s);
        assert_eq!(&bytes[384..], &[5, 0, 4, 0, 7, 0, 4]);
        // 10 copies of the seed, starting right after the encryption key
        assert_eq!(id.padding().len(), 320);
        for c in id.padding().chunks(32) {
            assert_eq!(c, &seed);
        }
        assert_eq!(id.encryption_key(), &x);
        assert_eq!(id.signing_key(), &s);
        assert_eq!(id.hash(), Hash::digest(&bytes));
        assert_eq!(RouterIdentity::parse(&bytes).unwrap(), id);
    }

    #[test]
    fn destination_layout() {
        let s = [9u8; 32];
        let seed = [7u8; 32];
        let d = Destination::new(SigType::Ed25519, &s, &seed).unwrap();
        let bytes = d.to_bytes();
        assert_eq!(&bytes[384..], &[5, 0, 4, 0, 7, 0, 0]);
        assert!(bytes[..352].iter().all(|&b| b == 7));
        assert_eq!(&bytes[352..384], &s);
        assert_eq!(Destination::from_base64(&d.to_base64()).unwrap(), d);
    }

    #[test]
    fn p521_signing_key_uses_certificate_excess() {
        let sk: Vec<u8> = (0..132).map(|i| i as u8).collect();
        let d = Destination::new(SigType::EcdsaSha512P521, &sk, &[1; 32]).unwrap();
        let bytes = d.to_bytes();
        assert_eq!(bytes.len(), 384 + 3 + 4 + 4);
        assert_eq!(&bytes[256..384], &sk[..128]);
        assert_eq!(&bytes[391..], &sk[128..]);
        assert_eq!(d.signing_key(), &sk[..]);
        assert!(d.padding().is_empty());
        assert_eq!(Destination::parse(&bytes).unwrap(), d);
    }

    #[test]
    fn dsa_elgamal_uses_null_certificate() {
        let k = KeysAndCert::new(
            EncType::ElGamal,
            Some(&[3u8; 256]),
            SigType::DsaSha1,
            &[4u8; 128],
            &[0; 32],
        )
        .unwrap();
        assert_eq!(k.certificate(), &Certificate::Null);
        assert_eq!(k.encoded_len(), 387);
        assert!(k.padding().is_empty());
    }

    #[test]
    fn router_identity_rejects_disallowed_types() {
        let mut bytes = RouterIdentity::new_x25519_ed25519(&[1; 32], &[2; 32], &[3; 32])
            .unwrap()
            .to_bytes();
        bytes[390] = 5; // MLKEM512_X25519: LeaseSets only
        let e = RouterIdentity::parse(&bytes).unwrap_err();
        assert_eq!(e.path_string(), "RouterIdentity.crypto_type");
        bytes[390] = 9; // unknown crypto type
        let e = RouterIdentity::parse(&bytes).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::UnknownType { code: 9 }),
            "{e}"
        );
        assert_eq!(e.offset(), 389);
    }
}
