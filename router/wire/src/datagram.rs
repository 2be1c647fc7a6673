//! Datagram bodies: what an I2CP client payload (see [`crate::client_payload`]) carries when
//! its protocol byte says "datagram" (spec/datagrams.md; proposals/163-datagram2.md for
//! Datagram2 and Datagram3).
//!
//! | protocol | type | layout | sender |
//! |---|---|---|---|
//! | 18 | raw | payload only | unknown |
//! | 17 | [`Datagram1`] (repliable) | Destination ‖ signature ‖ payload | signed Destination |
//! | 19 | [`Datagram2`] | Destination ‖ flags ‖ \[options\] ‖ \[offline block\] ‖ payload ‖ signature | signed Destination, replay-bound to the target |
//! | 20 | [`Datagram3`] | sender hash ‖ flags ‖ \[options\] ‖ payload | claimed hash, not signed |
//!
//! Raw datagrams need no codec: the client payload's data is the payload.
//!
//! Signatures:
//! - Datagram1: over the payload, except for DSA_SHA1 senders, whose signature covers the
//!   SHA-256 digest of the payload (the spec says so and i2pd 2.45.1 `Datagram.cpp` signs and
//!   verifies that way).
//! - Datagram2: over the 32-byte hash of the *target* destination (not transmitted) followed
//!   by everything from the flags to the end of the payload, whatever the key type. The
//!   signing key is the transient key of the offline block when there is one.
//!
//! The flags field is a big-endian 16-bit number: version in bits 0–3 (2 or 3), bit 4 =
//! options present, bit 5 = offline block present (Datagram2 only). Bits the spec leaves
//! unused are kept as received so that every datagram re-encodes to its exact bytes.
//!
//! Parsing returns errors and never panics. Signed kinds parse into [`Unverified`] and are
//! usable only after `verify`.

use std::borrow::Cow;

use i2p_crypto::SigType;

use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt, clamp_u32};
use crate::identity::Destination;
use crate::lease_set2::OfflineSignature;
use crate::mapping::Mapping;
use crate::primitives::{Date, Hash};
use crate::reader::{Decode, Encode, Reader, Sink};
use crate::signed::Unverified;

/// Version bits of the flags field.
pub const VERSION_MASK: u16 = 0x000f;
/// Flags bit: an options Mapping follows the flags.
pub const FLAG_OPTIONS: u16 = 0x0010;
/// Flags bit (Datagram2): an offline signature block follows the options.
pub const FLAG_OFFLINE: u16 = 0x0020;
/// The version number a Datagram2 carries in its flags.
pub const DATAGRAM2_VERSION: u16 = 2;
/// The version number a Datagram3 carries in its flags.
pub const DATAGRAM3_VERSION: u16 = 3;

fn check_signature_len(sig_type: SigType, sig: &[u8], at: usize, field: Field) -> Result<()> {
    let want = sig_type.signature_len();
    if sig.len() == want {
        Ok(())
    } else {
        Err(
            Error::bad_length(sig.len(), Expected::Exactly(clamp_u32(want)), at)
                .at(Field::Signature)
                .at(field),
        )
    }
}

fn read_version(r: &mut Reader<'_>, want: u16, what: &'static str) -> Result<u16> {
    let at = r.position();
    let flags = r.u16().at(Field::Flags)?;
    if flags & VERSION_MASK != want {
        return Err(Error::bad_value(what, at).at(Field::Flags));
    }
    Ok(flags)
}

// ---------------------------------------------------------------------------------------------
// Datagram1

/// A repliable datagram (protocol 17): the sender's Destination, its signature, the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram1 {
    from: Destination,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

/// What a Datagram1 signature covers for a sender of `sig_type`.
fn datagram1_message(sig_type: SigType, payload: &[u8]) -> Cow<'_, [u8]> {
    if sig_type == SigType::DsaSha1 {
        Cow::Owned(i2p_crypto::sha256(payload).to_vec())
    } else {
        Cow::Borrowed(payload)
    }
}

impl Datagram1 {
    /// Sign `payload` as `from` (whose signing key `signer` holds).
    pub fn sign(
        from: Destination,
        payload: Vec<u8>,
        signer: &dyn Fn(&[u8]) -> Vec<u8>,
    ) -> Result<Datagram1> {
        let signature = signer(&datagram1_message(from.sig_type(), &payload));
        check_signature_len(
            from.sig_type(),
            &signature,
            from.encoded_len(),
            Field::Datagram1,
        )?;
        Ok(Datagram1 {
            from,
            signature,
            payload,
        })
    }

    /// Parse the layout; the signature is checked by [`Unverified::<Datagram1>::verify`].
    pub fn parse(bytes: &[u8]) -> Result<Unverified<Datagram1>> {
        let mut r = Reader::new(bytes);
        read_datagram1(&mut r).at(Field::Datagram1)
    }

    pub fn from(&self) -> &Destination {
        &self.from
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The sender and the payload.
    pub fn into_parts(self) -> (Destination, Vec<u8>) {
        (self.from, self.payload)
    }
}

fn read_datagram1(r: &mut Reader<'_>) -> Result<Unverified<Datagram1>> {
    let from = Destination::read(r).at(Field::From)?;
    let signature = r
        .bytes(from.sig_type().signature_len())
        .at(Field::Signature)?
        .to_vec();
    let payload = r.rest().to_vec();
    let signed = datagram1_message(from.sig_type(), &payload).into_owned();
    Ok(Unverified::new(
        Datagram1 {
            from,
            signature,
            payload,
        },
        signed,
    ))
}

impl Unverified<Datagram1> {
    /// Check the signature with the embedded Destination's key.
    pub fn verify(self) -> Result<Datagram1> {
        let d = &self.value;
        i2p_crypto::sig::verify(
            d.from.sig_type(),
            d.from.signing_key(),
            &self.signed,
            &d.signature,
        )
        .map_err(|e| {
            Error::new(ErrorKind::Signature(e), d.from.encoded_len())
                .at(Field::Signature)
                .at(Field::Datagram1)
        })?;
        Ok(self.value)
    }
}

impl Encode for Datagram1 {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.from.encode_to(out);
        out.put(&self.signature);
        out.put(&self.payload);
    }
}

// ---------------------------------------------------------------------------------------------
// Datagram2

/// A Datagram2 (protocol 19): repliable, signed, bound to its target (replay prevention),
/// with optional options and an optional offline signature block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram2 {
    from: Destination,
    /// flag bits other than version, options and offline, as received (zero when built)
    reserved_flags: u16,
    options: Option<Mapping>,
    offline: Option<OfflineSignature>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl Datagram2 {
    /// Sign `payload` from `from` to the destination whose hash is `to`. With `offline`,
    /// `signer` must hold the transient key of that block; without, `from`'s key. Empty
    /// options are left out.
    pub fn sign(
        from: Destination,
        to: &Hash,
        options: Option<Mapping>,
        offline: Option<OfflineSignature>,
        payload: Vec<u8>,
        signer: &dyn Fn(&[u8]) -> Vec<u8>,
    ) -> Result<Datagram2> {
        let mut d = Datagram2 {
            from,
            reserved_flags: 0,
            options: options.filter(|m| !m.is_empty()),
            offline,
            payload,
            signature: Vec::new(),
        };
        let mut msg = to.as_ref().to_vec();
        d.encode_signed_part(&mut msg);
        let signature = signer(&msg);
        check_signature_len(
            d.signer_type(),
            &signature,
            d.encoded_len(),
            Field::Datagram2,
        )?;
        d.signature = signature;
        Ok(d)
    }

    /// Parse the layout; signatures are checked by [`Unverified::<Datagram2>::verify`].
    pub fn parse(bytes: &[u8]) -> Result<Unverified<Datagram2>> {
        let mut r = Reader::new(bytes);
        read_datagram2(&mut r).at(Field::Datagram2)
    }

    pub fn from(&self) -> &Destination {
        &self.from
    }

    pub fn options(&self) -> Option<&Mapping> {
        self.options.as_ref()
    }

    pub fn offline_signature(&self) -> Option<&OfflineSignature> {
        self.offline.as_ref()
    }

    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The sender and the payload.
    pub fn into_parts(self) -> (Destination, Vec<u8>) {
        (self.from, self.payload)
    }

    /// The flags field as it is encoded.
    pub fn flags(&self) -> u16 {
        let mut f = self.reserved_flags | DATAGRAM2_VERSION;
        if self.options.is_some() {
            f |= FLAG_OPTIONS;
        }
        if self.offline.is_some() {
            f |= FLAG_OFFLINE;
        }
        f
    }

    /// Type of the key the main signature is made with.
    fn signer_type(&self) -> SigType {
        match &self.offline {
            Some(o) => o.transient_sig_type(),
            None => self.from.sig_type(),
        }
    }

    /// flags ‖ options ‖ offline block ‖ payload: the signed part after the target hash.
    fn encode_signed_part<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u16(self.flags());
        if let Some(m) = &self.options {
            m.encode_to(out);
        }
        if let Some(o) = &self.offline {
            o.encode_to(out);
        }
        out.put(&self.payload);
    }
}

fn read_datagram2(r: &mut Reader<'_>) -> Result<Unverified<Datagram2>> {
    let from = Destination::read(r).at(Field::From)?;
    let signed_from = r.position();
    let flags = read_version(r, DATAGRAM2_VERSION, "Datagram2 version is not 2")?;
    let options = if flags & FLAG_OPTIONS != 0 {
        Some(Mapping::read(r).at(Field::Options)?)
    } else {
        None
    };
    let offline = if flags & FLAG_OFFLINE != 0 {
        Some(OfflineSignature::read_for(r, from.sig_type())?)
    } else {
        None
    };
    let sig_len = match &offline {
        Some(o) => o.transient_sig_type().signature_len(),
        None => from.sig_type().signature_len(),
    };
    let at = r.position();
    let rest = r.rest();
    let Some((payload, signature)) = rest
        .len()
        .checked_sub(sig_len)
        .and_then(|n| rest.split_at_checked(n))
    else {
        return Err(Error::new(
            ErrorKind::Truncated {
                needed: clamp_u32(sig_len),
                available: clamp_u32(rest.len()),
            },
            at,
        )
        .at(Field::Signature));
    };
    let mut signed = Vec::with_capacity(at - signed_from + payload.len());
    let d = Datagram2 {
        from,
        reserved_flags: flags & !(VERSION_MASK | FLAG_OPTIONS | FLAG_OFFLINE),
        options,
        offline,
        payload: payload.to_vec(),
        signature: signature.to_vec(),
    };
    d.encode_signed_part(&mut signed);
    Ok(Unverified::new(d, signed))
}

impl Unverified<Datagram2> {
    /// Check the offline block (expiry against `now`, signature by the sender's key) if any
    /// and the main signature for target hash `to` (our own destination's hash: a datagram
    /// made for someone else fails here, which is the replay protection).
    pub fn verify(self, to: &Hash, now: Date) -> Result<Datagram2> {
        let d = &self.value;
        let from_len = d.from.encoded_len();
        let (sig_type, key) = match &d.offline {
            Some(o) => {
                let at = from_len + 2 + d.options.as_ref().map_or(0, Encode::encoded_len);
                o.verify(d.from.sig_type(), d.from.signing_key(), now, at)
                    .at(Field::Datagram2)?;
                (o.transient_sig_type(), o.transient_key())
            }
            None => (d.from.sig_type(), d.from.signing_key()),
        };
        let mut msg = Vec::with_capacity(32 + self.signed.len());
        msg.extend_from_slice(to.as_ref());
        msg.extend_from_slice(&self.signed);
        i2p_crypto::sig::verify(sig_type, key, &msg, &d.signature).map_err(|e| {
            Error::new(ErrorKind::Signature(e), from_len + self.signed.len())
                .at(Field::Signature)
                .at(Field::Datagram2)
        })?;
        Ok(self.value)
    }
}

impl Encode for Datagram2 {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.from.encode_to(out);
        self.encode_signed_part(out);
        out.put(&self.signature);
    }
}

// ---------------------------------------------------------------------------------------------
// Datagram3

/// A Datagram3 (protocol 20): repliable by hash, not signed. The sender hash is a claim; the
/// spec leaves authenticating it to the layers below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram3 {
    from: Hash,
    /// flag bits other than version and options, as received (zero when built)
    reserved_flags: u16,
    options: Option<Mapping>,
    payload: Vec<u8>,
}

impl Datagram3 {
    /// A Datagram3 from `from`; empty options are left out.
    pub fn new(from: Hash, options: Option<Mapping>, payload: Vec<u8>) -> Datagram3 {
        Datagram3 {
            from,
            reserved_flags: 0,
            options: options.filter(|m| !m.is_empty()),
            payload,
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Datagram3> {
        let mut r = Reader::new(bytes);
        read_datagram3(&mut r).at(Field::Datagram3)
    }

    /// The hash the sender claims.
    pub fn from(&self) -> &Hash {
        &self.from
    }

    pub fn options(&self) -> Option<&Mapping> {
        self.options.as_ref()
    }

    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The claimed sender hash and the payload.
    pub fn into_parts(self) -> (Hash, Vec<u8>) {
        (self.from, self.payload)
    }

    /// The flags field as it is encoded.
    pub fn flags(&self) -> u16 {
        let mut f = self.reserved_flags | DATAGRAM3_VERSION;
        if self.options.is_some() {
            f |= FLAG_OPTIONS;
        }
        f
    }
}

fn read_datagram3(r: &mut Reader<'_>) -> Result<Datagram3> {
    let from = Hash::read(r).at(Field::From)?;
    let flags = read_version(r, DATAGRAM3_VERSION, "Datagram3 version is not 3")?;
    let options = if flags & FLAG_OPTIONS != 0 {
        Some(Mapping::read(r).at(Field::Options)?)
    } else {
        None
    };
    Ok(Datagram3 {
        from,
        reserved_flags: flags & !(VERSION_MASK | FLAG_OPTIONS),
        options,
        payload: r.rest().to_vec(),
    })
}

impl Encode for Datagram3 {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.from.encode_to(out);
        out.put_u16(self.flags());
        if let Some(m) = &self.options {
            m.encode_to(out);
        }
        out.put(&self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use i2p_crypto::Ed25519SigningKey;

    fn dest(seed: u8) -> (Ed25519SigningKey, Destination) {
        let k = Ed25519SigningKey::from_seed([seed; 32]);
        let d = Destination::new(SigType::Ed25519, &k.public(), &[seed ^ 0x5a; 32]).unwrap();
        (k, d)
    }

    fn signer(k: &Ed25519SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
        |b| k.sign(b).to_vec()
    }

    const NOW: Date = Date::from_millis(1_800_000_000_000);

    #[test]
    fn datagram1_layout_round_trip_and_tampering() {
        let (k, d) = dest(1);
        let payload = b"hello over i2p".to_vec();
        let dg = Datagram1::sign(d.clone(), payload.clone(), &signer(&k)).unwrap();
        let bytes = dg.to_bytes();
        // Destination ‖ 64-byte Ed25519 signature (over the bare payload) ‖ payload
        let dl = d.encoded_len();
        assert_eq!(&bytes[..dl], d.to_bytes().as_slice());
        assert_eq!(&bytes[dl..dl + 64], k.sign(&payload).as_slice());
        assert_eq!(&bytes[dl + 64..], payload.as_slice());
        let back = Datagram1::parse(&bytes).unwrap().verify().unwrap();
        assert_eq!(back, dg);
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.into_parts(), (d, payload));

        // any flipped byte in the key, the signature or the payload fails
        // (the Ed25519 key ends the 384-byte key area, before the 7-byte key certificate)
        for i in [dl - 8, dl + 3, dl + 64, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let res = Datagram1::parse(&bad).and_then(Unverified::<Datagram1>::verify);
            assert!(res.is_err(), "flipped byte {i} accepted");
        }
    }

    #[test]
    fn datagram1_empty_payload_and_truncation() {
        let (k, d) = dest(2);
        let dg = Datagram1::sign(d.clone(), Vec::new(), &signer(&k)).unwrap();
        let bytes = dg.to_bytes();
        assert_eq!(bytes.len(), d.encoded_len() + 64);
        assert_eq!(
            Datagram1::parse(&bytes)
                .unwrap()
                .verify()
                .unwrap()
                .payload(),
            b""
        );
        // shorter than Destination + signature: a parse error at the signature
        let e = Datagram1::parse(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Truncated { .. }), "{e}");
        assert_eq!(e.path_string(), "Datagram1.signature");
        for n in [0, 1, 100, d.encoded_len() - 1] {
            assert!(Datagram1::parse(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn datagram1_signer_of_wrong_length_is_refused() {
        let (_, d) = dest(3);
        let e = Datagram1::sign(d, b"x".to_vec(), &|_| vec![0u8; 40]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::BadLength { .. }), "{e}");
    }

    #[test]
    fn datagram2_round_trip_binds_the_target() {
        let (k, d) = dest(4);
        let to = Hash::digest(b"target");
        let opts = Mapping::from_pairs([("a", "b"), ("k", "v")]).unwrap();
        for options in [None, Some(opts)] {
            let payload: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
            let dg = Datagram2::sign(
                d.clone(),
                &to,
                options.clone(),
                None,
                payload.clone(),
                &signer(&k),
            )
            .unwrap();
            let bytes = dg.to_bytes();
            let dl = d.encoded_len();
            let flags = u16::from_be_bytes([bytes[dl], bytes[dl + 1]]);
            assert_eq!(flags & VERSION_MASK, 2);
            assert_eq!(flags & FLAG_OPTIONS != 0, options.is_some());
            assert_eq!(flags & FLAG_OFFLINE, 0);
            // the signature is the last 64 bytes, over target hash ‖ flags .. payload
            let (body, sig) = bytes.split_at(bytes.len() - 64);
            let mut msg = to.as_ref().to_vec();
            msg.extend_from_slice(&body[dl..]);
            assert_eq!(sig, k.sign(&msg).as_slice());
            let back = Datagram2::parse(&bytes).unwrap().verify(&to, NOW).unwrap();
            assert_eq!(back, dg);
            assert_eq!(back.to_bytes(), bytes);
            assert_eq!(back.options(), options.as_ref());
            assert_eq!(back.payload(), payload.as_slice());
            // for another target it does not verify
            let other = Hash::digest(b"someone else");
            assert!(
                Datagram2::parse(&bytes)
                    .unwrap()
                    .verify(&other, NOW)
                    .is_err()
            );
        }
    }

    #[test]
    fn datagram2_offline_signature() {
        let (k, d) = dest(5);
        let transient = Ed25519SigningKey::from_seed([9; 32]);
        let expires = u32::try_from(NOW.as_secs() + 3600).unwrap();
        let off = OfflineSignature::sign(
            expires,
            SigType::Ed25519,
            &transient.public(),
            SigType::Ed25519,
            d.signing_key(),
            &signer(&k),
        )
        .unwrap();
        let to = Hash::digest(b"t");
        let dg = Datagram2::sign(
            d.clone(),
            &to,
            None,
            Some(off),
            b"offline".to_vec(),
            &signer(&transient),
        )
        .unwrap();
        assert_eq!(dg.flags(), DATAGRAM2_VERSION | FLAG_OFFLINE);
        let bytes = dg.to_bytes();
        let back = Datagram2::parse(&bytes).unwrap().verify(&to, NOW).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        assert!(back.offline_signature().is_some());
        // expired offline block
        let late = Date::from_secs(u64::from(expires) + 1);
        assert!(Datagram2::parse(&bytes).unwrap().verify(&to, late).is_err());
        // signed with the long-term key instead of the transient one
        let wrong = Datagram2 {
            signature: {
                let mut m = to.as_ref().to_vec();
                dg.encode_signed_part(&mut m);
                k.sign(&m).to_vec()
            },
            ..dg.clone()
        };
        let res = Datagram2::parse(&wrong.to_bytes())
            .unwrap()
            .verify(&to, NOW);
        assert!(res.is_err());
    }

    #[test]
    fn datagram2_malformed() {
        let (k, d) = dest(6);
        let to = Hash::digest(b"x");
        let bytes = Datagram2::sign(d.clone(), &to, None, None, b"p".to_vec(), &signer(&k))
            .unwrap()
            .to_bytes();
        let dl = d.encoded_len();
        // wrong version
        for v in [0u8, 1, 3, 0x0f] {
            let mut bad = bytes.clone();
            bad[dl + 1] = (bad[dl + 1] & 0xf0) | v;
            let e = Datagram2::parse(&bad).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::BadValue(_)), "{e}");
        }
        // no room for the signature
        let e = Datagram2::parse(&bytes[..dl + 2 + 63]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Truncated { .. }), "{e}");
        // options flag without a mapping
        let mut bad = bytes[..dl + 2].to_vec();
        bad[dl + 1] |= FLAG_OPTIONS as u8;
        assert!(Datagram2::parse(&bad).is_err());
        // options flag whose mapping size runs past the end
        let mut bad = bytes.clone();
        bad[dl + 1] |= FLAG_OPTIONS as u8;
        bad.splice(dl + 2..dl + 2, [0xff, 0xff]);
        assert!(Datagram2::parse(&bad).is_err());
        // offline flag with a truncated block
        let mut bad = bytes[..dl + 2 + 10].to_vec();
        bad[dl + 1] |= FLAG_OFFLINE as u8;
        assert!(Datagram2::parse(&bad).is_err());
        // reserved flag bits are kept (and signed)
        let mut odd = bytes.clone();
        odd[dl] |= 0x80;
        let parsed = Datagram2::parse(&odd).unwrap();
        assert_eq!(parsed.peek_unverified().to_bytes(), odd);
        assert!(parsed.verify(&to, NOW).is_err());
        for n in 0..dl + 2 {
            assert!(Datagram2::parse(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn datagram3_round_trip_and_malformed() {
        let from = Hash::digest(b"sender");
        let opts = Mapping::from_pairs([("x", "1")]).unwrap();
        for options in [None, Some(opts), Some(Mapping::empty())] {
            let dg = Datagram3::new(from, options.clone(), b"payload".to_vec());
            let bytes = dg.to_bytes();
            assert_eq!(&bytes[..32], from.as_ref());
            let flags = u16::from_be_bytes([bytes[32], bytes[33]]);
            assert_eq!(flags & VERSION_MASK, 3);
            let has_options = options.as_ref().is_some_and(|m| !m.is_empty());
            assert_eq!(flags & FLAG_OPTIONS != 0, has_options);
            let back = Datagram3::parse(&bytes).unwrap();
            assert_eq!(back, dg);
            assert_eq!(back.to_bytes(), bytes);
            assert_eq!(back.clone().into_parts(), (from, b"payload".to_vec()));
        }
        // the minimum: hash and flags, empty payload
        let mut min = from.as_ref().to_vec();
        min.extend_from_slice(&[0, 3]);
        assert_eq!(Datagram3::parse(&min).unwrap().payload(), b"");
        // an empty options mapping that is present on the wire round-trips
        let mut with_empty = from.as_ref().to_vec();
        with_empty.extend_from_slice(&[0, 0x13, 0, 0, b'z']);
        let p = Datagram3::parse(&with_empty).unwrap();
        assert_eq!(p.payload(), b"z");
        assert_eq!(p.to_bytes(), with_empty);
        for n in 0..34 {
            assert!(Datagram3::parse(&min[..n]).is_err());
        }
        let mut bad = min.clone();
        bad[33] = 2;
        assert!(Datagram3::parse(&bad).is_err());
        let mut bad = min.clone();
        bad[33] |= FLAG_OPTIONS as u8;
        assert!(Datagram3::parse(&bad).is_err());
    }

    #[test]
    fn kinds_do_not_pass_for_each_other() {
        // a Datagram2 read as a Datagram1 fails its signature (proposal 163's design goal)
        let (k, d) = dest(7);
        let to = Hash::digest(b"me");
        let d2 = Datagram2::sign(d.clone(), &to, None, None, vec![1; 100], &signer(&k))
            .unwrap()
            .to_bytes();
        assert!(
            Datagram1::parse(&d2)
                .and_then(Unverified::<Datagram1>::verify)
                .is_err()
        );
        let d1 = Datagram1::sign(d, vec![1; 100], &signer(&k))
            .unwrap()
            .to_bytes();
        assert!(
            Datagram2::parse(&d1)
                .and_then(|u| u.verify(&to, NOW))
                .is_err()
        );
    }
}
