//! LeaseSet2 (DatabaseStore type 3) with its parts Lease2, OfflineSignature and the
//! LeaseSet2Header (spec/common-structures.md, "Lease2", "OfflineSignature",
//! "LeaseSet2Header", "LeaseSet2"; proposals/123-new-netdb-entries.md).
//!
//! The LeaseSet2 signature covers the DatabaseStore type byte (3) followed by everything up to
//! the signature. [`Unverified::<LeaseSet2>::verify`] applies i2pd 2.45.1's rules, in order:
//! the offline signature (if any) must not be expired and must verify under the destination's
//! key; the LeaseSet must not be expired (`published + expires` not before `now`) nor published
//! more than [`LEASE_SET_MAX_FUTURE_MS`] in the future; finally the signature must verify under
//! the transient key (if offline keys are used) or the destination's key.
//!
//! Whether an unpublished (flag bit 1) LeaseSet may be stored or flooded is netDb policy and is
//! not checked here.

use i2p_crypto::SigType;

use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
use crate::identity::Destination;
use crate::mapping::{Mapping, read_mapping};
use crate::primitives::{Date, EncType, Hash, TunnelId, read_sig_type};
use crate::reader::{Decode, Encode, Reader, Sink};
use crate::signed::{LEASE_SET_MAX_FUTURE_MS, Unverified};

/// DatabaseStore type byte of a LeaseSet2, prepended to the signed data.
pub const LEASE_SET2_STORE_TYPE: u8 = 3;
/// Most leases allowed in any LeaseSet.
pub const MAX_LEASES: usize = 16;

/// LeaseSet2 header flag bits.
pub mod flags {
    /// offline keys (an OfflineSignature follows the flags)
    pub const OFFLINE_KEYS: u16 = 1 << 0;
    /// unpublished: must not be flooded or sent in replies
    pub const UNPUBLISHED: u16 = 1 << 1;
    /// will be blinded and encrypted when published
    pub const BLINDED: u16 = 1 << 2;
}

/// A lease with a 4-byte end date (seconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease2 {
    /// hash of the inbound gateway's RouterIdentity
    pub gateway: Hash,
    pub tunnel_id: TunnelId,
    /// seconds since the epoch
    pub end_date: u32,
}

impl Lease2 {
    pub const LEN: usize = 40;

    pub fn end(&self) -> Date {
        Date::from_secs(u64::from(self.end_date))
    }
}

impl Decode for Lease2 {
    const NAME: Field = Field::Lease2;

    fn read(r: &mut Reader<'_>) -> Result<Lease2> {
        let gateway = Hash::read(r).at(Field::TunnelGw)?;
        let tunnel_id = TunnelId::read(r).at(Field::TunnelId)?;
        let end_date = r.u32().at(Field::EndDate)?;
        Ok(Lease2 {
            gateway,
            tunnel_id,
            end_date,
        })
    }
}

impl Encode for Lease2 {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.gateway.encode_to(out);
        self.tunnel_id.encode_to(out);
        out.put_u32(self.end_date);
    }
}

/// An offline signature: the destination's long-term key authorises a transient signing key
/// until `expires`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineSignature {
    expires: u32,
    transient_sig_type: SigType,
    transient_key: Vec<u8>,
    signature: Vec<u8>,
}

impl OfflineSignature {
    /// Create one, signing with the long-term key through `signer` (whose type is
    /// `signer_type`, the destination's signature type). The result is checked against
    /// `signer_public_key`.
    pub fn sign(
        expires_secs: u32,
        transient_sig_type: SigType,
        transient_key: &[u8],
        signer_type: SigType,
        signer_public_key: &[u8],
        signer: &dyn Fn(&[u8]) -> Vec<u8>,
    ) -> Result<OfflineSignature> {
        let want = transient_sig_type.public_key_len();
        if transient_key.len() != want {
            return Err(
                Error::bad_length(transient_key.len(), Expected::Exactly(want as u32), 6)
                    .at(Field::TransientKey)
                    .at(Field::OfflineSignature),
            );
        }
        let mut o = OfflineSignature {
            expires: expires_secs,
            transient_sig_type,
            transient_key: transient_key.to_vec(),
            signature: Vec::new(),
        };
        let signed = o.signed_bytes();
        let signature = signer(&signed);
        let want = signer_type.signature_len();
        if signature.len() != want {
            return Err(Error::bad_length(
                signature.len(),
                Expected::Exactly(want as u32),
                signed.len(),
            )
            .at(Field::Signature)
            .at(Field::OfflineSignature));
        }
        i2p_crypto::sig::verify(signer_type, signer_public_key, &signed, &signature).map_err(
            |e| {
                Error::new(ErrorKind::Signature(e), signed.len())
                    .at(Field::Signature)
                    .at(Field::OfflineSignature)
            },
        )?;
        o.signature = signature;
        Ok(o)
    }

    /// Read one whose signature was made with a key of type `signer_type`.
    pub fn read_for(r: &mut Reader<'_>, signer_type: SigType) -> Result<OfflineSignature> {
        read_offline(r, signer_type).at(Field::OfflineSignature)
    }

    /// Expiry, seconds since the epoch.
    pub fn expires_secs(&self) -> u32 {
        self.expires
    }

    pub fn expires(&self) -> Date {
        Date::from_secs(u64::from(self.expires))
    }

    pub fn transient_sig_type(&self) -> SigType {
        self.transient_sig_type
    }

    pub fn transient_key(&self) -> &[u8] {
        &self.transient_key
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The bytes the long-term key signs: expires, transient sig type, transient key.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(6 + self.transient_key.len());
        v.put_u32(self.expires);
        v.put_u16(self.transient_sig_type.code());
        v.put(&self.transient_key);
        v
    }

    /// Check expiry against `now` (i2pd: expired when `expires < now` in seconds) and the
    /// signature under the long-term key. `offset` is where this block starts, for errors.
    pub fn verify(
        &self,
        signer_type: SigType,
        signer_public_key: &[u8],
        now: Date,
        offset: usize,
    ) -> Result<()> {
        if u64::from(self.expires) < now.as_secs() {
            return Err(Error::new(
                ErrorKind::Expired {
                    expires: self.expires(),
                    now,
                },
                offset,
            )
            .at(Field::Expires)
            .at(Field::OfflineSignature));
        }
        let signed = self.signed_bytes();
        i2p_crypto::sig::verify(signer_type, signer_public_key, &signed, &self.signature).map_err(
            |e| {
                Error::new(ErrorKind::Signature(e), offset + signed.len())
                    .at(Field::Signature)
                    .at(Field::OfflineSignature)
            },
        )
    }
}

fn read_offline(r: &mut Reader<'_>, signer_type: SigType) -> Result<OfflineSignature> {
    let expires = r.u32().at(Field::Expires)?;
    let transient_sig_type = read_sig_type(r)?;
    let transient_key = r
        .bytes(transient_sig_type.public_key_len())
        .at(Field::TransientKey)?
        .to_vec();
    let signature = r
        .bytes(signer_type.signature_len())
        .at(Field::Signature)?
        .to_vec();
    Ok(OfflineSignature {
        expires,
        transient_sig_type,
        transient_key,
        signature,
    })
}

impl Encode for OfflineSignature {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u32(self.expires);
        out.put_u16(self.transient_sig_type.code());
        out.put(&self.transient_key);
        out.put(&self.signature);
    }
}

/// One encryption key of a LeaseSet2. Unknown types are kept (the length is explicit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptionKey {
    key_type: u16,
    key: Vec<u8>,
}

impl EncryptionKey {
    /// A key of a known type; the length must match the type.
    pub fn new(enc_type: EncType, key: &[u8]) -> Result<EncryptionKey> {
        let want = enc_type.public_key_len();
        if key.len() != want {
            return Err(
                Error::bad_length(key.len(), Expected::Exactly(want as u32), 0)
                    .at(Field::EncryptionKey),
            );
        }
        Ok(EncryptionKey {
            key_type: enc_type.code(),
            key: key.to_vec(),
        })
    }

    pub fn key_type_code(&self) -> u16 {
        self.key_type
    }
    pub fn enc_type(&self) -> Option<EncType> {
        EncType::from_code(self.key_type)
    }
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

/// The time fields shared by LeaseSet2, MetaLeaseSet and EncryptedLeaseSet.
pub(crate) fn check_ls2_times(
    published_secs: u32,
    expires_offset: u16,
    now: Date,
    offset: usize,
) -> Result<()> {
    let published = Date::from_secs(u64::from(published_secs));
    let expires = Date::from_secs(u64::from(published_secs) + u64::from(expires_offset));
    if now > expires {
        return Err(Error::new(ErrorKind::Expired { expires, now }, offset + 4).at(Field::Expires));
    }
    if published > now.saturating_add_millis(LEASE_SET_MAX_FUTURE_MS) {
        return Err(
            Error::new(ErrorKind::NotYetValid { published, now }, offset).at(Field::Published),
        );
    }
    Ok(())
}

/// A standard LeaseSet2. Obtain one by verifying a parsed [`Unverified`] or by building with
/// [`LeaseSet2Builder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSet2 {
    destination: Destination,
    published: u32,
    expires: u16,
    flags: u16,
    offline: Option<OfflineSignature>,
    options: Mapping,
    keys: Vec<EncryptionKey>,
    leases: Vec<Lease2>,
    signature: Vec<u8>,
}

impl LeaseSet2 {
    /// Parse (not verify) a LeaseSet2 as carried in a DatabaseStore (without the type byte).
    pub fn parse(bytes: &[u8]) -> Result<Unverified<LeaseSet2>> {
        <Unverified<LeaseSet2> as Decode>::parse(bytes)
    }

    pub fn read(r: &mut Reader<'_>) -> Result<Unverified<LeaseSet2>> {
        <Unverified<LeaseSet2> as Decode>::read(r)
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }
    /// The netDb key: the destination hash.
    pub fn hash(&self) -> Hash {
        self.destination.hash()
    }
    /// `published`, seconds since the epoch.
    pub fn published_secs(&self) -> u32 {
        self.published
    }
    pub fn published(&self) -> Date {
        Date::from_secs(u64::from(self.published))
    }
    /// The `expires` offset from `published`, in seconds.
    pub fn expires_offset(&self) -> u16 {
        self.expires
    }
    pub fn expires(&self) -> Date {
        Date::from_secs(u64::from(self.published) + u64::from(self.expires))
    }
    /// Raw flag bits (see [`flags`]); reserved bits are kept as received.
    pub fn flags(&self) -> u16 {
        self.flags
    }
    pub fn is_unpublished(&self) -> bool {
        self.flags & flags::UNPUBLISHED != 0
    }
    pub fn is_blinded(&self) -> bool {
        self.flags & flags::BLINDED != 0
    }
    pub fn offline_signature(&self) -> Option<&OfflineSignature> {
        self.offline.as_ref()
    }
    pub fn options(&self) -> &Mapping {
        &self.options
    }
    /// Encryption keys in the publisher's order of preference.
    pub fn encryption_keys(&self) -> &[EncryptionKey] {
        &self.keys
    }
    pub fn leases(&self) -> &[Lease2] {
        &self.leases
    }
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    fn encode_content<S: Sink + ?Sized>(&self, out: &mut S) {
        self.destination.encode_to(out);
        out.put_u32(self.published);
        out.put_u16(self.expires);
        out.put_u16(self.flags);
        if let Some(o) = &self.offline {
            o.encode_to(out);
        }
        self.options.encode_to(out);
        // counts are bounded by the parser and the builder
        out.put_u8(u8::try_from(self.keys.len()).unwrap_or(u8::MAX));
        for k in &self.keys {
            out.put_u16(k.key_type);
            out.put_u16(u16::try_from(k.key.len()).unwrap_or(u16::MAX));
            out.put(&k.key);
        }
        out.put_u8(u8::try_from(self.leases.len()).unwrap_or(u8::MAX));
        for l in &self.leases {
            l.encode_to(out);
        }
    }
}

impl Encode for LeaseSet2 {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.encode_content(out);
        out.put(&self.signature);
    }
}

fn read_lease_set2(r: &mut Reader<'_>) -> Result<Unverified<LeaseSet2>> {
    let start = r.mark();
    let destination = Destination::read(r)?;
    let published = r.u32().at(Field::Published)?;
    let expires = r.u16().at(Field::Expires)?;
    let flags = r.u16().at(Field::Flags)?;
    let offline = if flags & flags::OFFLINE_KEYS != 0 {
        Some(OfflineSignature::read_for(r, destination.sig_type())?)
    } else {
        None
    };
    let options = read_mapping(r).at(Field::Options)?;
    let numk_at = r.position();
    let numk = r.u8().at(Field::EncryptionKeys)? as usize;
    if numk == 0 {
        return Err(Error::bad_length(0, Expected::AtLeast(1), numk_at).at(Field::EncryptionKeys));
    }
    let mut keys = Vec::with_capacity(numk);
    for i in 0..numk {
        keys.push(read_encryption_key(r).at_index(Field::EncryptionKeys, i)?);
    }
    let num_at = r.position();
    let num = r.u8().at(Field::Leases)? as usize;
    if num > MAX_LEASES {
        return Err(
            Error::bad_length(num, Expected::AtMost(MAX_LEASES as u32), num_at).at(Field::Leases),
        );
    }
    let mut leases = Vec::with_capacity(num);
    for i in 0..num {
        leases.push(Lease2::read(r).at_index(Field::Leases, i)?);
    }
    let mut signed = vec![LEASE_SET2_STORE_TYPE];
    signed.extend_from_slice(r.since(start));
    let sig_type = offline
        .as_ref()
        .map_or(destination.sig_type(), |o| o.transient_sig_type);
    let signature = r
        .bytes(sig_type.signature_len())
        .at(Field::Signature)?
        .to_vec();
    Ok(Unverified::new(
        LeaseSet2 {
            destination,
            published,
            expires,
            flags,
            offline,
            options,
            keys,
            leases,
            signature,
        },
        signed,
    ))
}

fn read_encryption_key(r: &mut Reader<'_>) -> Result<EncryptionKey> {
    let key_type = r.u16().at(Field::KeyType)?;
    let len_at = r.position();
    let len = r.u16().at(Field::KeyLen)? as usize;
    if let Some(t) = EncType::from_code(key_type)
        && t.public_key_len() != len
    {
        return Err(
            Error::bad_length(len, Expected::Exactly(t.public_key_len() as u32), len_at)
                .at(Field::KeyLen),
        );
    }
    let key = r.bytes(len).at(Field::EncryptionKey)?.to_vec();
    Ok(EncryptionKey { key_type, key })
}

impl Decode for Unverified<LeaseSet2> {
    const NAME: Field = Field::LeaseSet2;

    fn read(r: &mut Reader<'_>) -> Result<Unverified<LeaseSet2>> {
        read_lease_set2(r).at(Field::LeaseSet2)
    }
}

/// Verify an optional offline block, then return the key type and key that sign the body.
pub(crate) fn verify_offline_then_pick_key<'k>(
    offline: Option<&'k OfflineSignature>,
    long_term_type: SigType,
    long_term_key: &'k [u8],
    now: Date,
    offline_offset: usize,
) -> Result<(SigType, &'k [u8])> {
    match offline {
        Some(o) => {
            o.verify(long_term_type, long_term_key, now, offline_offset)?;
            Ok((o.transient_sig_type, o.transient_key.as_slice()))
        }
        None => Ok((long_term_type, long_term_key)),
    }
}

impl Unverified<LeaseSet2> {
    /// Check the offline signature, the time rules and the signature; see the module docs.
    pub fn verify(self, now: Date) -> Result<LeaseSet2> {
        let ls = &self.value;
        let header_at = ls.destination.encoded_len();
        let (sig_type, key) = verify_offline_then_pick_key(
            ls.offline.as_ref(),
            ls.destination.sig_type(),
            ls.destination.signing_key(),
            now,
            header_at + 8,
        )
        .at(Field::LeaseSet2)?;
        check_ls2_times(ls.published, ls.expires, now, header_at).at(Field::LeaseSet2)?;
        // `signed` has the type byte in front: the signature starts at signed.len() - 1
        i2p_crypto::sig::verify(sig_type, key, &self.signed, &ls.signature).map_err(|e| {
            Error::new(ErrorKind::Signature(e), self.signed.len().saturating_sub(1))
                .at(Field::Signature)
                .at(Field::LeaseSet2)
        })?;
        Ok(self.value)
    }
}

/// Builds and signs a LeaseSet2 (options sorted, key lengths and counts checked). With an
/// offline signature, `sign` must sign with the transient key; otherwise with the
/// destination's key.
#[derive(Clone, Debug)]
pub struct LeaseSet2Builder {
    destination: Destination,
    published: u32,
    expires: u16,
    extra_flags: u16,
    offline: Option<OfflineSignature>,
    options: Vec<(String, String)>,
    keys: Vec<EncryptionKey>,
    leases: Vec<Lease2>,
}

impl LeaseSet2Builder {
    /// `published_secs`: seconds since the epoch; `expires_offset`: seconds after that (the
    /// spec says about 660 at most for a LeaseSet2).
    pub fn new(destination: Destination, published_secs: u32, expires_offset: u16) -> Self {
        LeaseSet2Builder {
            destination,
            published: published_secs,
            expires: expires_offset,
            extra_flags: 0,
            offline: None,
            options: Vec::new(),
            keys: Vec::new(),
            leases: Vec::new(),
        }
    }

    pub fn offline_signature(mut self, o: OfflineSignature) -> Self {
        self.offline = Some(o);
        self
    }

    /// Set the "unpublished" flag (client LeaseSets that must not be flooded).
    pub fn unpublished(mut self, yes: bool) -> Self {
        if yes {
            self.extra_flags |= flags::UNPUBLISHED;
        } else {
            self.extra_flags &= !flags::UNPUBLISHED;
        }
        self
    }

    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// Add an encryption key (most preferred first).
    pub fn encryption_key(mut self, key: EncryptionKey) -> Self {
        self.keys.push(key);
        self
    }

    pub fn lease(mut self, lease: Lease2) -> Self {
        self.leases.push(lease);
        self
    }

    pub fn sign(self, signer: &dyn Fn(&[u8]) -> Vec<u8>) -> Result<LeaseSet2> {
        let ctx = |e: Error| e.at(Field::LeaseSet2);
        if self.keys.is_empty() || self.keys.len() > 255 {
            return Err(ctx(Error::bad_length(
                self.keys.len(),
                Expected::Between(1, 255),
                0,
            )
            .at(Field::EncryptionKeys)));
        }
        if self.leases.len() > MAX_LEASES {
            return Err(ctx(Error::bad_length(
                self.leases.len(),
                Expected::AtMost(MAX_LEASES as u32),
                0,
            )
            .at(Field::Leases)));
        }
        let options = Mapping::from_pairs(self.options).map_err(|e| ctx(e.at(Field::Options)))?;
        let mut flags_value = self.extra_flags;
        if self.offline.is_some() {
            flags_value |= flags::OFFLINE_KEYS;
        }
        let mut ls = LeaseSet2 {
            destination: self.destination,
            published: self.published,
            expires: self.expires,
            flags: flags_value,
            offline: self.offline,
            options,
            keys: self.keys,
            leases: self.leases,
            signature: Vec::new(),
        };
        let mut signed = vec![LEASE_SET2_STORE_TYPE];
        ls.encode_content(&mut signed);
        let (sig_type, key) = match &ls.offline {
            Some(o) => (o.transient_sig_type, o.transient_key.as_slice()),
            None => (ls.destination.sig_type(), ls.destination.signing_key()),
        };
        let signature = signer(&signed);
        let want = sig_type.signature_len();
        if signature.len() != want {
            return Err(ctx(Error::bad_length(
                signature.len(),
                Expected::Exactly(want as u32),
                signed.len(),
            )
            .at(Field::Signature)));
        }
        i2p_crypto::sig::verify(sig_type, key, &signed, &signature).map_err(|e| {
            ctx(Error::new(ErrorKind::Signature(e), signed.len()).at(Field::Signature))
        })?;
        ls.signature = signature;
        Ok(ls)
    }
}
