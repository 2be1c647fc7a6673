//! The other netDb LeaseSet kinds (spec/common-structures.md): the legacy LeaseSet
//! (DatabaseStore type 1, "Lease" and "LeaseSet"), EncryptedLeaseSet (type 5, outer layer
//! only; see spec/encryptedleaseset.md) and MetaLeaseSet (type 7, recognised but not
//! supported), plus [`AnyLeaseSet`] to dispatch on the DatabaseStore type.
//!
//! Legacy LeaseSet signatures cover all preceding bytes (no type prefix); verification
//! requires at least one lease that has not ended (with i2pd's 51-second grace). The
//! EncryptedLeaseSet signature covers the type byte 5 and the content, under the blinded key
//! or the transient key; its inner layers need blinding keys and are left to a later module.

use i2p_crypto::SigType;

use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
use crate::identity::Destination;
use crate::lease_set2::{
    LeaseSet2, MAX_LEASES, OfflineSignature, check_ls2_times, flags, verify_offline_then_pick_key,
};
use crate::primitives::{Date, Hash, TunnelId, read_sig_type};
use crate::reader::{Decode, Encode, Reader, Sink};
use crate::signed::{LEASE_END_GRACE_MS, Unverified};

/// DatabaseStore type of the legacy LeaseSet.
pub const LEASE_SET_STORE_TYPE: u8 = 1;
/// DatabaseStore type of an EncryptedLeaseSet.
pub const ENCRYPTED_LEASE_SET_STORE_TYPE: u8 = 5;
/// DatabaseStore type of a MetaLeaseSet.
pub const META_LEASE_SET_STORE_TYPE: u8 = 7;

/// Length of the legacy LeaseSet's encryption key (always ElGamal).
pub const LEASE_SET_ENCRYPTION_KEY_LEN: usize = 256;

/// A lease with an 8-byte end date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub gateway: Hash,
    pub tunnel_id: TunnelId,
    pub end_date: Date,
}

impl Lease {
    pub const LEN: usize = 44;
}

impl Decode for Lease {
    const NAME: Field = Field::Lease;

    fn read(r: &mut Reader<'_>) -> Result<Lease> {
        Ok(Lease {
            gateway: Hash::read(r).at(Field::TunnelGw)?,
            tunnel_id: TunnelId::read(r).at(Field::TunnelId)?,
            end_date: Date::read(r).at(Field::EndDate)?,
        })
    }
}

impl Encode for Lease {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.gateway.encode_to(out);
        self.tunnel_id.encode_to(out);
        self.end_date.encode_to(out);
    }
}

/// The legacy LeaseSet (type 1), for reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSet {
    destination: Destination,
    encryption_key: Vec<u8>,
    signing_key: Vec<u8>,
    leases: Vec<Lease>,
    signature: Vec<u8>,
}

impl LeaseSet {
    pub fn parse(bytes: &[u8]) -> Result<Unverified<LeaseSet>> {
        <Unverified<LeaseSet> as Decode>::parse(bytes)
    }

    pub fn read(r: &mut Reader<'_>) -> Result<Unverified<LeaseSet>> {
        <Unverified<LeaseSet> as Decode>::read(r)
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }
    pub fn hash(&self) -> Hash {
        self.destination.hash()
    }
    /// The 256-byte ElGamal encryption key.
    pub fn encryption_key(&self) -> &[u8] {
        &self.encryption_key
    }
    /// The unused revocation signing key.
    pub fn signing_key(&self) -> &[u8] {
        &self.signing_key
    }
    pub fn leases(&self) -> &[Lease] {
        &self.leases
    }
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
    /// The latest lease end (`None` without leases).
    pub fn latest_end(&self) -> Option<Date> {
        self.leases.iter().map(|l| l.end_date).max()
    }
}

impl Encode for LeaseSet {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.destination.encode_to(out);
        out.put(&self.encryption_key);
        out.put(&self.signing_key);
        out.put_u8(u8::try_from(self.leases.len()).unwrap_or(u8::MAX));
        for l in &self.leases {
            l.encode_to(out);
        }
        out.put(&self.signature);
    }
}

fn read_lease_set(r: &mut Reader<'_>) -> Result<Unverified<LeaseSet>> {
    let start = r.mark();
    let destination = Destination::read(r)?;
    let encryption_key = r
        .bytes(LEASE_SET_ENCRYPTION_KEY_LEN)
        .at(Field::EncryptionKey)?
        .to_vec();
    let signing_key = r
        .bytes(destination.sig_type().public_key_len())
        .at(Field::SigningKey)?
        .to_vec();
    let num_at = r.position();
    let num = r.u8().at(Field::Leases)? as usize;
    if num > MAX_LEASES {
        return Err(
            Error::bad_length(num, Expected::AtMost(MAX_LEASES as u32), num_at).at(Field::Leases),
        );
    }
    let mut leases = Vec::with_capacity(num);
    for i in 0..num {
        leases.push(Lease::read(r).at_index(Field::Leases, i)?);
    }
    let signed = r.since(start).to_vec();
    let signature = r
        .bytes(destination.sig_type().signature_len())
        .at(Field::Signature)?
        .to_vec();
    Ok(Unverified::new(
        LeaseSet {
            destination,
            encryption_key,
            signing_key,
            leases,
            signature,
        },
        signed,
    ))
}

impl Decode for Unverified<LeaseSet> {
    const NAME: Field = Field::LeaseSet;

    fn read(r: &mut Reader<'_>) -> Result<Unverified<LeaseSet>> {
        read_lease_set(r).at(Field::LeaseSet)
    }
}

impl Unverified<LeaseSet> {
    /// Require a lease that has not ended (plus i2pd's grace), then check the signature.
    pub fn verify(self, now: Date) -> Result<LeaseSet> {
        let ls = &self.value;
        let latest = ls.latest_end().unwrap_or(Date::ZERO);
        if latest.saturating_add_millis(LEASE_END_GRACE_MS) <= now {
            return Err(Error::new(
                ErrorKind::Expired {
                    expires: latest,
                    now,
                },
                0,
            )
            .at(Field::Leases)
            .at(Field::LeaseSet));
        }
        let d = &ls.destination;
        i2p_crypto::sig::verify(d.sig_type(), d.signing_key(), &self.signed, &ls.signature)
            .map_err(|e| {
                Error::new(ErrorKind::Signature(e), self.signed.len())
                    .at(Field::Signature)
                    .at(Field::LeaseSet)
            })?;
        Ok(self.value)
    }
}

/// The outer layer of an EncryptedLeaseSet (type 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedLeaseSet {
    blinded_sig_type: SigType,
    blinded_key: Vec<u8>,
    published: u32,
    expires: u16,
    flags: u16,
    offline: Option<OfflineSignature>,
    encrypted_data: Vec<u8>,
    signature: Vec<u8>,
}

impl EncryptedLeaseSet {
    pub fn parse(bytes: &[u8]) -> Result<Unverified<EncryptedLeaseSet>> {
        <Unverified<EncryptedLeaseSet> as Decode>::parse(bytes)
    }

    pub fn read(r: &mut Reader<'_>) -> Result<Unverified<EncryptedLeaseSet>> {
        <Unverified<EncryptedLeaseSet> as Decode>::read(r)
    }

    pub fn blinded_sig_type(&self) -> SigType {
        self.blinded_sig_type
    }
    pub fn blinded_key(&self) -> &[u8] {
        &self.blinded_key
    }
    pub fn published(&self) -> Date {
        Date::from_secs(u64::from(self.published))
    }
    pub fn expires(&self) -> Date {
        Date::from_secs(u64::from(self.published) + u64::from(self.expires))
    }
    pub fn flags(&self) -> u16 {
        self.flags
    }
    pub fn is_unpublished(&self) -> bool {
        self.flags & flags::UNPUBLISHED != 0
    }
    pub fn offline_signature(&self) -> Option<&OfflineSignature> {
        self.offline.as_ref()
    }
    /// The outer ciphertext (decryption needs the blinding keys; not implemented yet).
    pub fn encrypted_data(&self) -> &[u8] {
        &self.encrypted_data
    }
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl Encode for EncryptedLeaseSet {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u16(self.blinded_sig_type.code());
        out.put(&self.blinded_key);
        out.put_u32(self.published);
        out.put_u16(self.expires);
        out.put_u16(self.flags);
        if let Some(o) = &self.offline {
            o.encode_to(out);
        }
        out.put_u16(u16::try_from(self.encrypted_data.len()).unwrap_or(u16::MAX));
        out.put(&self.encrypted_data);
        out.put(&self.signature);
    }
}

fn read_encrypted(r: &mut Reader<'_>) -> Result<Unverified<EncryptedLeaseSet>> {
    let start = r.mark();
    let blinded_sig_type = read_sig_type(r)?;
    let blinded_key = r
        .bytes(blinded_sig_type.public_key_len())
        .at(Field::BlindedKey)?
        .to_vec();
    let published = r.u32().at(Field::Published)?;
    let expires = r.u16().at(Field::Expires)?;
    let flags_value = r.u16().at(Field::Flags)?;
    let offline = if flags_value & flags::OFFLINE_KEYS != 0 {
        Some(OfflineSignature::read_for(r, blinded_sig_type)?)
    } else {
        None
    };
    let len_at = r.position();
    let len = r.u16().at(Field::Length)? as usize;
    if len == 0 {
        return Err(Error::bad_length(0, Expected::AtLeast(1), len_at).at(Field::Length));
    }
    let encrypted_data = r.bytes(len).at(Field::EncryptedData)?.to_vec();
    let mut signed = vec![ENCRYPTED_LEASE_SET_STORE_TYPE];
    signed.extend_from_slice(r.since(start));
    let sig_type = offline
        .as_ref()
        .map_or(blinded_sig_type, OfflineSignature::transient_sig_type);
    let signature = r
        .bytes(sig_type.signature_len())
        .at(Field::Signature)?
        .to_vec();
    Ok(Unverified::new(
        EncryptedLeaseSet {
            blinded_sig_type,
            blinded_key,
            published,
            expires,
            flags: flags_value,
            offline,
            encrypted_data,
            signature,
        },
        signed,
    ))
}

impl Decode for Unverified<EncryptedLeaseSet> {
    const NAME: Field = Field::EncryptedLeaseSet;

    fn read(r: &mut Reader<'_>) -> Result<Unverified<EncryptedLeaseSet>> {
        read_encrypted(r).at(Field::EncryptedLeaseSet)
    }
}

impl Unverified<EncryptedLeaseSet> {
    /// Offline signature, time rules, then the outer signature (same rules as LeaseSet2).
    pub fn verify(self, now: Date) -> Result<EncryptedLeaseSet> {
        let e = &self.value;
        let header_at = 2 + e.blinded_key.len();
        let (sig_type, key) = verify_offline_then_pick_key(
            e.offline.as_ref(),
            e.blinded_sig_type,
            &e.blinded_key,
            now,
            header_at + 8,
        )
        .at(Field::EncryptedLeaseSet)?;
        check_ls2_times(e.published, e.expires, now, header_at).at(Field::EncryptedLeaseSet)?;
        i2p_crypto::sig::verify(sig_type, key, &self.signed, &e.signature).map_err(|err| {
            Error::new(
                ErrorKind::Signature(err),
                self.signed.len().saturating_sub(1),
            )
            .at(Field::Signature)
            .at(Field::EncryptedLeaseSet)
        })?;
        Ok(self.value)
    }
}

/// Any LeaseSet kind that a DatabaseStore can carry, parsed but not verified.
#[derive(Clone, Debug)]
pub enum AnyLeaseSet {
    LeaseSet(Unverified<LeaseSet>),
    LeaseSet2(Unverified<LeaseSet2>),
    Encrypted(Unverified<EncryptedLeaseSet>),
}

impl AnyLeaseSet {
    /// Parse `bytes` as the LeaseSet kind named by the DatabaseStore type (1, 3, 5 or 7).
    /// MetaLeaseSets (7) give [`ErrorKind::Unsupported`].
    pub fn parse(store_type: u8, bytes: &[u8]) -> Result<AnyLeaseSet> {
        match store_type {
            LEASE_SET_STORE_TYPE => LeaseSet::parse(bytes).map(AnyLeaseSet::LeaseSet),
            crate::lease_set2::LEASE_SET2_STORE_TYPE => {
                LeaseSet2::parse(bytes).map(AnyLeaseSet::LeaseSet2)
            }
            ENCRYPTED_LEASE_SET_STORE_TYPE => {
                EncryptedLeaseSet::parse(bytes).map(AnyLeaseSet::Encrypted)
            }
            META_LEASE_SET_STORE_TYPE => Err(Error::new(
                ErrorKind::Unsupported("MetaLeaseSet contents are not supported yet"),
                0,
            )
            .at(Field::MetaLeaseSet)),
            other => Err(Error::new(
                ErrorKind::UnknownType {
                    code: u32::from(other),
                },
                0,
            )
            .at(Field::Type)),
        }
    }
}
