//! RouterInfo (spec/common-structures.md, "RouterInfo"): identity, published date,
//! addresses, the unused peer list, options and a signature over everything before it.
//! Standard options and caps letters per docs/overview/network-database.md ("RouterInfo") and
//! proposals/162-congestion-caps.md.
//!
//! [`RouterInfo::parse`] returns an [`Unverified`]; [`Unverified::<RouterInfo>::verify`]
//! checks that `published` is not more than [`ROUTER_INFO_MAX_FUTURE_MS`] ahead of `now` (the
//! tolerance of i2pd 2.45.1) and then the signature over the exact received bytes. How *old*
//! a RouterInfo may be depends on netDb state (i2pd keeps them 1 to 27 hours), so that is the
//! netDb's decision, not checked here.
//!
//! [`RouterInfoBuilder`] creates and signs our own RouterInfo in canonical form.

use i2p_crypto::SigType;

use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
use crate::identity::RouterIdentity;
use crate::mapping::{Mapping, read_mapping};
use crate::primitives::{Date, Hash};
use crate::reader::{Decode, Encode, Reader, Sink};
use crate::router_address::{RouterAddress, read_router_address};
use crate::signed::{ROUTER_INFO_MAX_FUTURE_MS, Unverified};

/// i2pd 2.45.1 drops RouterInfos larger than this (`MAX_RI_BUFFER_SIZE`), so the builder
/// refuses to produce them.
pub const I2PD_MAX_ROUTER_INFO_LEN: usize = 3072;

/// Shared bandwidth class letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BandwidthClass {
    /// under 12 KBps
    K,
    /// 12–48 KBps
    L,
    /// 48–64 KBps
    M,
    /// 64–128 KBps
    N,
    /// 128–256 KBps
    O,
    /// 256–2000 KBps
    P,
    /// over 2000 KBps
    X,
}

impl BandwidthClass {
    pub const ALL: [BandwidthClass; 7] = [
        BandwidthClass::K,
        BandwidthClass::L,
        BandwidthClass::M,
        BandwidthClass::N,
        BandwidthClass::O,
        BandwidthClass::P,
        BandwidthClass::X,
    ];

    pub fn letter(self) -> char {
        match self {
            BandwidthClass::K => 'K',
            BandwidthClass::L => 'L',
            BandwidthClass::M => 'M',
            BandwidthClass::N => 'N',
            BandwidthClass::O => 'O',
            BandwidthClass::P => 'P',
            BandwidthClass::X => 'X',
        }
    }

    fn from_letter(c: char) -> Option<BandwidthClass> {
        Self::ALL.into_iter().find(|b| b.letter() == c)
    }
}

/// Congestion caps of proposal 162, least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Congestion {
    /// `D`: medium congestion or a low-performance router
    Medium,
    /// `E`: high congestion
    High,
    /// `G`: rejecting all tunnels
    RejectingTunnels,
}

/// The router `caps` option, parsed. Unknown letters are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouterCaps {
    pub floodfill: bool,
    pub hidden: bool,
    pub reachable: bool,
    pub unreachable: bool,
    /// the most severe congestion letter present
    pub congestion: Option<Congestion>,
    bandwidth: u8,
}

impl RouterCaps {
    pub fn parse(s: &str) -> RouterCaps {
        let mut c = RouterCaps::default();
        for ch in s.chars() {
            match ch {
                'f' => c.floodfill = true,
                'H' => c.hidden = true,
                'R' => c.reachable = true,
                'U' => c.unreachable = true,
                'D' | 'E' | 'G' => {
                    let level = match ch {
                        'D' => Congestion::Medium,
                        'E' => Congestion::High,
                        _ => Congestion::RejectingTunnels,
                    };
                    c.congestion = c.congestion.max(Some(level));
                }
                other => {
                    if let Some(b) = BandwidthClass::from_letter(other) {
                        c.bandwidth |= 1 << (b as u8);
                    }
                }
            }
        }
        c
    }

    /// All bandwidth letters present (routers may publish several, e.g. `PO`).
    pub fn bandwidth_classes(&self) -> impl Iterator<Item = BandwidthClass> + '_ {
        BandwidthClass::ALL
            .into_iter()
            .filter(|b| self.bandwidth & (1 << (*b as u8)) != 0)
    }

    /// The highest bandwidth class present.
    pub fn bandwidth(&self) -> Option<BandwidthClass> {
        self.bandwidth_classes().last()
    }
}

/// A dotted numeric version such as `router.version=0.9.57`, compared numerically (up to four
/// components; missing ones count as zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub [u32; 4]);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let mut v = [0u32; 4];
        for (n, part) in s.split('.').enumerate() {
            let slot = v.get_mut(n)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        Some(Version(v))
    }
}

/// A router's published information. Obtain one by verifying a parsed [`Unverified`] or by
/// building with [`RouterInfoBuilder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterInfo {
    identity: RouterIdentity,
    published: Date,
    addresses: Vec<RouterAddress>,
    peers: Vec<Hash>,
    options: Mapping,
    signature: Vec<u8>,
}

impl RouterInfo {
    /// Parse (not verify) a RouterInfo; trailing bytes are an error.
    pub fn parse(bytes: &[u8]) -> Result<Unverified<RouterInfo>> {
        <Unverified<RouterInfo> as Decode>::parse(bytes)
    }

    /// Read an embedded RouterInfo (not verified).
    pub fn read(r: &mut Reader<'_>) -> Result<Unverified<RouterInfo>> {
        <Unverified<RouterInfo> as Decode>::read(r)
    }

    pub fn identity(&self) -> &RouterIdentity {
        &self.identity
    }

    /// The router hash (SHA-256 of the identity).
    pub fn hash(&self) -> Hash {
        self.identity.hash()
    }

    pub fn published(&self) -> Date {
        self.published
    }

    pub fn addresses(&self) -> &[RouterAddress] {
        &self.addresses
    }

    /// The unused peer hash list (always empty in practice).
    pub fn peers(&self) -> &[Hash] {
        &self.peers
    }

    pub fn options(&self) -> &Mapping {
        &self.options
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// `caps`, parsed (empty caps when absent).
    pub fn caps(&self) -> RouterCaps {
        self.options
            .get_str("caps")
            .map(RouterCaps::parse)
            .unwrap_or_default()
    }

    /// `netId`; `Ok(None)` if absent.
    pub fn net_id(&self) -> Result<Option<u32>> {
        match self.options.get("netId") {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u32>().ok())
                .map(Some)
                .ok_or_else(|| {
                    Error::new(ErrorKind::BadValue("netId is not a number"), 0)
                        .at(Field::OptNetId)
                        .at(Field::Options)
                        .at(Field::RouterInfo)
                }),
        }
    }

    /// `router.version`; `Ok(None)` if absent.
    pub fn router_version(&self) -> Result<Option<Version>> {
        match self.options.get("router.version") {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(Version::parse)
                .map(Some)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::BadValue("router.version is not a dotted number"),
                        0,
                    )
                    .at(Field::OptVersion)
                    .at(Field::Options)
                    .at(Field::RouterInfo)
                }),
        }
    }

    fn encode_signed_part<S: Sink + ?Sized>(&self, out: &mut S) {
        encode_signed_part(
            out,
            &self.identity,
            self.published,
            &self.addresses,
            &self.peers,
            &self.options,
        );
    }
}

fn encode_signed_part<S: Sink + ?Sized>(
    out: &mut S,
    identity: &RouterIdentity,
    published: Date,
    addresses: &[RouterAddress],
    peers: &[Hash],
    options: &Mapping,
) {
    identity.encode_to(out);
    published.encode_to(out);
    // counts <= 255 are invariants of the parser and of the builder
    out.put_u8(u8::try_from(addresses.len()).unwrap_or(u8::MAX));
    for a in addresses {
        a.encode_to(out);
    }
    out.put_u8(u8::try_from(peers.len()).unwrap_or(u8::MAX));
    for p in peers {
        p.encode_to(out);
    }
    options.encode_to(out);
}

impl Encode for RouterInfo {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        self.encode_signed_part(out);
        out.put(&self.signature);
    }
}

fn read_router_info(r: &mut Reader<'_>) -> Result<Unverified<RouterInfo>> {
    let start = r.mark();
    let identity = RouterIdentity::read(r)?;
    let published = Date::read(r).at(Field::Published)?;
    let n = r.u8().at(Field::Addresses)?;
    let mut addresses = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        addresses.push(read_router_address(r).at_index(Field::Addresses, i)?);
    }
    let np = r.u8().at(Field::Peers)?;
    let mut peers = Vec::new();
    for i in 0..np as usize {
        peers.push(Hash::read(r).at_index(Field::Peers, i)?);
    }
    let options = read_mapping(r).at(Field::Options)?;
    let signed = r.since(start).to_vec();
    let signature = r
        .bytes(identity.sig_type().signature_len())
        .at(Field::Signature)?
        .to_vec();
    Ok(Unverified::new(
        RouterInfo {
            identity,
            published,
            addresses,
            peers,
            options,
            signature,
        },
        signed,
    ))
}

impl Decode for Unverified<RouterInfo> {
    const NAME: Field = Field::RouterInfo;

    fn read(r: &mut Reader<'_>) -> Result<Unverified<RouterInfo>> {
        read_router_info(r).at(Field::RouterInfo)
    }
}

impl Unverified<RouterInfo> {
    /// Check the time rule and the signature; see the module docs.
    pub fn verify(self, now: Date) -> Result<RouterInfo> {
        let ri = &self.value;
        if ri.published > now.saturating_add_millis(ROUTER_INFO_MAX_FUTURE_MS) {
            // offset of `published` is right after the identity
            return Err(Error::new(
                ErrorKind::NotYetValid {
                    published: ri.published,
                    now,
                },
                ri.identity.encoded_len(),
            )
            .at(Field::Published)
            .at(Field::RouterInfo));
        }
        i2p_crypto::sig::verify(
            ri.identity.sig_type(),
            ri.identity.signing_key(),
            &self.signed,
            &ri.signature,
        )
        .map_err(|e| {
            Error::new(ErrorKind::Signature(e), self.signed.len())
                .at(Field::Signature)
                .at(Field::RouterInfo)
        })?;
        Ok(self.value)
    }
}

/// i2pd 2.45.1 reads RouterInfo mapping strings into 255-byte C buffers and silently drops
/// any key or value of 255 bytes; refuse to publish such strings.
pub const I2PD_MAX_ROUTER_INFO_STRING: usize = 254;

fn check_i2pd_string_limit(m: &Mapping) -> Result<()> {
    for (i, (k, v)) in m.iter().enumerate() {
        for (s, field) in [(k, Field::Key), (v, Field::Value)] {
            if s.len() > I2PD_MAX_ROUTER_INFO_STRING {
                return Err(Error::bad_length(
                    s.len(),
                    Expected::AtMost(I2PD_MAX_ROUTER_INFO_STRING as u32),
                    0,
                )
                .at(field)
                .at_index(Field::Entries, i));
            }
        }
    }
    Ok(())
}

/// Builds and signs a RouterInfo in canonical form: options and address options sorted by
/// key without duplicates, zero address expirations, no peer list, strings and size within
/// what i2pd 2.45.1 can read. Include `netId` and `router.version`: i2pd marks RouterInfos
/// without them unreachable. The wire crate holds no keys: `sign` gets a callback that signs
/// bytes with the identity's signing key.
#[derive(Clone, Debug)]
pub struct RouterInfoBuilder {
    identity: RouterIdentity,
    published: Date,
    addresses: Vec<RouterAddress>,
    options: Vec<(String, String)>,
}

impl RouterInfoBuilder {
    pub fn new(identity: RouterIdentity, published: Date) -> RouterInfoBuilder {
        RouterInfoBuilder {
            identity,
            published,
            addresses: Vec::new(),
            options: Vec::new(),
        }
    }

    /// Add an address (see [`RouterAddress::ntcp2_published`] and friends).
    pub fn address(mut self, address: RouterAddress) -> RouterInfoBuilder {
        self.addresses.push(address);
        self
    }

    /// Add a router option; duplicates are rejected by [`RouterInfoBuilder::sign`].
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> RouterInfoBuilder {
        self.options.push((key.into(), value.into()));
        self
    }

    /// `netId` (2 is the public network; tests must use another).
    pub fn net_id(self, net_id: u8) -> RouterInfoBuilder {
        self.option("netId", net_id.to_string())
    }

    /// `caps`, e.g. `"LR"`.
    pub fn caps(self, caps: &str) -> RouterInfoBuilder {
        self.option("caps", caps)
    }

    /// `router.version`, the I2NP API version we implement, e.g. `"0.9.57"`.
    pub fn router_version(self, version: &str) -> RouterInfoBuilder {
        self.option("router.version", version)
    }

    /// Serialize, sign with `signer`, and check the result (signature length, signature
    /// validity against the identity's key, size limit).
    pub fn sign(self, signer: &dyn Fn(&[u8]) -> Vec<u8>) -> Result<RouterInfo> {
        let ctx = |e: Error| e.at(Field::RouterInfo);
        if self.addresses.len() > 255 {
            return Err(ctx(Error::bad_length(
                self.addresses.len(),
                Expected::AtMost(255),
                0,
            )
            .at(Field::Addresses)));
        }
        let options = Mapping::from_pairs(self.options).map_err(|e| ctx(e.at(Field::Options)))?;
        check_i2pd_string_limit(&options).map_err(|e| ctx(e.at(Field::Options)))?;
        for (i, a) in self.addresses.iter().enumerate() {
            check_i2pd_string_limit(a.options())
                .map_err(|e| ctx(e.at(Field::Options).at_index(Field::Addresses, i)))?;
            a.options()
                .check_canonical()
                .map_err(|e| ctx(e.at(Field::Options).at_index(Field::Addresses, i)))?;
            if !a.expiration().is_zero() {
                return Err(ctx(Error::new(
                    ErrorKind::NotCanonical("address expiration must be zero"),
                    0,
                )
                .at(Field::Expiration)
                .at_index(Field::Addresses, i)));
            }
        }
        let mut signed = Vec::new();
        encode_signed_part(
            &mut signed,
            &self.identity,
            self.published,
            &self.addresses,
            &[],
            &options,
        );
        let sig_type: SigType = self.identity.sig_type();
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
        i2p_crypto::sig::verify(sig_type, self.identity.signing_key(), &signed, &signature)
            .map_err(|e| {
                ctx(Error::new(ErrorKind::Signature(e), signed.len()).at(Field::Signature))
            })?;
        let total = signed.len() + signature.len();
        if total > I2PD_MAX_ROUTER_INFO_LEN {
            return Err(ctx(Error::bad_length(
                total,
                Expected::AtMost(I2PD_MAX_ROUTER_INFO_LEN as u32),
                0,
            )));
        }
        Ok(RouterInfo {
            identity: self.identity,
            published: self.published,
            addresses: self.addresses,
            peers: Vec::new(),
            options,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_parsing() {
        let c = RouterCaps::parse("XfR");
        assert!(c.floodfill && c.reachable && !c.unreachable);
        assert_eq!(c.bandwidth(), Some(BandwidthClass::X));
        let c = RouterCaps::parse("POUDE");
        assert_eq!(
            c.bandwidth_classes().collect::<Vec<_>>(),
            [BandwidthClass::O, BandwidthClass::P]
        );
        assert_eq!(c.congestion, Some(Congestion::High));
        assert!(c.unreachable);
        assert_eq!(
            RouterCaps::parse("LG").congestion,
            Some(Congestion::RejectingTunnels)
        );
        assert_eq!(RouterCaps::parse("").bandwidth(), None);
    }

    #[test]
    fn versions() {
        let v = Version::parse("0.9.57").unwrap();
        assert!(v > Version::parse("0.9.9").unwrap());
        assert!(v < Version::parse("0.9.57.1").unwrap());
        assert_eq!(Version::parse("0.9").unwrap(), Version([0, 9, 0, 0]));
        assert!(Version::parse("0.9.x").is_none());
        assert!(Version::parse("1.2.3.4.5").is_none());
        assert!(Version::parse("").is_none());
    }
}
