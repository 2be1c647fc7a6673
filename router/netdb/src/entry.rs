//! netDb entries and the checks an entry passes before it is stored: [`RouterEntry`] (a
//! verified RouterInfo with its exact bytes and derived flags), [`LeaseSetEntry`] (any LeaseSet
//! kind, kept as the received bytes), and [`StoreError`], the reason a store was refused.
//!
//! What is checked here does not depend on netDb state: parse, key = hash, signature and time
//! rules (`Unverified::verify(now)`), netId, `router.version`, usable addresses, unpublished
//! LeaseSets. Newer-wins, expiry and table limits are decided by [`crate::NetDb`].

use std::sync::Arc;

use i2p_crypto::SigType;
use i2p_wire::i2np::StoreKind;
use i2p_wire::{AnyLeaseSet, Date, Encode, Hash, RouterCaps, RouterInfo, Transport, Version};

/// i2pd 2.45.1 (`NETDB_MIN_FLOODFILL_VERSION`) only uses floodfills of at least 0.9.38.
pub const MIN_FLOODFILL_VERSION: Version = Version([0, 9, 38, 0]);

/// Why an entry was not stored. Every refusal is logged with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("malformed: {0}")]
    Malformed(i2p_wire::Error),
    #[error("verification failed: {0}")]
    Verify(i2p_wire::Error),
    #[error("store key {key} is not the entry's hash {actual}")]
    KeyMismatch { key: Hash, actual: Hash },
    #[error("the all-zero key is not a valid netDb key")]
    ZeroKey,
    #[error("RouterInfo has no netId option")]
    MissingNetId,
    #[error("RouterInfo is for netId {got}, we are on {want}")]
    WrongNetId { got: u32, want: u8 },
    #[error("RouterInfo has no valid router.version")]
    BadVersion,
    #[error("RouterInfo has no NTCP2 or SSU2 address we could use")]
    NoUsableAddress,
    #[error("RouterInfo published {published} is older than the {max_age_ms} ms we keep")]
    TooOld { published: Date, max_age_ms: u64 },
    #[error("LeaseSet expired at {expires} (now {now})")]
    Expired { expires: Date, now: Date },
    #[error("LeaseSet is flagged unpublished and must not be stored in the netDb")]
    Unpublished,
    #[error("unsolicited LeaseSet store, and we are not a floodfill")]
    NotFloodfill,
    #[error("{0} stores are not supported")]
    Unsupported(&'static str),
    #[error("a store of our own RouterInfo")]
    OwnRouterInfo,
    #[error("the netDb already holds its limit of {limit} {what}")]
    TableFull { what: &'static str, limit: usize },
}

/// The result of a store that was not refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOutcome {
    /// a key we did not have
    New,
    /// replaced an older entry
    Updated,
    /// we already had this or a newer entry; nothing changed
    Unchanged,
}

impl StoreOutcome {
    /// New or updated.
    pub fn changed(self) -> bool {
        !matches!(self, StoreOutcome::Unchanged)
    }
}

/// A verified RouterInfo in the netDb.
#[derive(Clone, Debug)]
pub struct RouterEntry {
    info: Arc<RouterInfo>,
    bytes: Arc<[u8]>,
    caps: RouterCaps,
    floodfill: bool,
    introducers_only: bool,
}

impl RouterEntry {
    /// Parse and check a RouterInfo (see the module docs); `key` is the key it was stored
    /// under, if any.
    pub fn validate(
        bytes: &[u8],
        key: Option<&Hash>,
        net_id: u8,
        now: Date,
    ) -> Result<RouterEntry, StoreError> {
        let unverified = RouterInfo::parse(bytes).map_err(StoreError::Malformed)?;
        // the identity hash does not depend on the signature: check it before the costly part
        let actual = unverified.peek_unverified().hash();
        if let Some(key) = key
            && *key != actual
        {
            return Err(StoreError::KeyMismatch { key: *key, actual });
        }
        let info = unverified.verify(now).map_err(StoreError::Verify)?;
        match info.net_id().map_err(StoreError::Malformed)? {
            None => return Err(StoreError::MissingNetId),
            Some(got) if got != u32::from(net_id) => {
                return Err(StoreError::WrongNetId { got, want: net_id });
            }
            Some(_) => {}
        }
        let version = info
            .router_version()
            .ok()
            .flatten()
            .ok_or(StoreError::BadVersion)?;
        let usable = |t: Transport| {
            info.addresses().iter().any(|a| {
                a.transport() == t && {
                    let published = matches!(a.host(), Ok(Some(_)));
                    let caps = a.caps();
                    published || caps.v4 || caps.v6
                }
            })
        };
        if !usable(Transport::Ntcp2) && !usable(Transport::Ssu2) {
            return Err(StoreError::NoUsableAddress);
        }
        let caps = info.caps();
        let reachable_v4 = info.addresses().iter().any(|a| {
            matches!(a.transport(), Transport::Ntcp2 | Transport::Ssu2)
                && matches!(a.host(), Ok(Some(ip)) if ip.is_ipv4())
        });
        let published_any = info
            .addresses()
            .iter()
            .any(|a| matches!(a.host(), Ok(Some(_))));
        let introducers_only = !published_any
            && info.addresses().iter().any(|a| {
                a.transport() == Transport::Ssu2 && a.introducers().is_ok_and(|i| !i.is_empty())
            });
        // i2pd 2.45.1 `IsEligibleFloodfill`: reachable over IPv4, recent enough, not DSA
        let floodfill = caps.floodfill
            && reachable_v4
            && version >= MIN_FLOODFILL_VERSION
            && info.identity().sig_type() != SigType::DsaSha1;
        Ok(RouterEntry {
            info: Arc::new(info),
            bytes: Arc::from(bytes),
            caps,
            floodfill,
            introducers_only,
        })
    }

    /// Wrap our own RouterInfo (already verified by whoever built it).
    pub fn from_own(info: RouterInfo) -> RouterEntry {
        let bytes: Arc<[u8]> = Arc::from(info.to_bytes());
        let caps = info.caps();
        RouterEntry {
            floodfill: caps.floodfill,
            caps,
            bytes,
            info: Arc::new(info),
            introducers_only: false,
        }
    }

    pub fn hash(&self) -> Hash {
        self.info.hash()
    }
    pub fn info(&self) -> &Arc<RouterInfo> {
        &self.info
    }
    /// The exact bytes received (what is persisted and sent on).
    pub fn bytes(&self) -> &Arc<[u8]> {
        &self.bytes
    }
    pub fn published(&self) -> Date {
        self.info.published()
    }
    pub fn caps(&self) -> RouterCaps {
        self.caps
    }
    /// A floodfill we would use: `f` in caps, reachable over IPv4, version ≥ 0.9.38, not DSA.
    pub fn is_floodfill(&self) -> bool {
        self.floodfill
    }
    /// Only reachable through SSU2 introducers (such RouterInfos go stale in about an hour).
    pub fn introducers_only(&self) -> bool {
        self.introducers_only
    }
}

/// A LeaseSet of any kind, kept as the received bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSetEntry {
    kind: StoreKind,
    bytes: Arc<[u8]>,
    published: Date,
    expires: Date,
}

impl LeaseSetEntry {
    /// Parse and check a LeaseSet stored under `key` (see the module docs).
    pub fn validate(
        kind: StoreKind,
        bytes: &[u8],
        key: &Hash,
        now: Date,
    ) -> Result<LeaseSetEntry, StoreError> {
        let check_key = |actual: Hash| {
            if actual == *key {
                Ok(())
            } else {
                Err(StoreError::KeyMismatch { key: *key, actual })
            }
        };
        let parsed = match kind {
            StoreKind::RouterInfo => return Err(StoreError::Unsupported("RouterInfo as LeaseSet")),
            StoreKind::MetaLeaseSet => return Err(StoreError::Unsupported("MetaLeaseSet")),
            _ => AnyLeaseSet::parse(kind.code(), bytes).map_err(StoreError::Malformed)?,
        };
        let (published, expires) = match parsed {
            AnyLeaseSet::LeaseSet(u) => {
                check_key(u.peek_unverified().hash())?;
                let ls = u.verify(now).map_err(StoreError::Verify)?;
                // legacy LeaseSets have no published date: the newest lease end orders them
                let end = ls.latest_end().unwrap_or(Date::ZERO);
                (end, end)
            }
            AnyLeaseSet::LeaseSet2(u) => {
                check_key(u.peek_unverified().hash())?;
                let ls = u.verify(now).map_err(StoreError::Verify)?;
                if ls.is_unpublished() {
                    return Err(StoreError::Unpublished);
                }
                (ls.published(), ls.expires())
            }
            AnyLeaseSet::Encrypted(u) => {
                // stored under SHA-256(blinded sig type ‖ blinded key), as i2pd computes it
                let e = u.peek_unverified();
                let mut pre = Vec::with_capacity(2 + e.blinded_key().len());
                pre.extend_from_slice(&e.blinded_sig_type().code().to_be_bytes());
                pre.extend_from_slice(e.blinded_key());
                check_key(Hash::digest(&pre))?;
                let ls = u.verify(now).map_err(StoreError::Verify)?;
                if ls.is_unpublished() {
                    return Err(StoreError::Unpublished);
                }
                (ls.published(), ls.expires())
            }
        };
        Ok(LeaseSetEntry {
            kind,
            bytes: Arc::from(bytes),
            published,
            expires,
        })
    }

    pub fn kind(&self) -> StoreKind {
        self.kind
    }
    pub fn bytes(&self) -> &Arc<[u8]> {
        &self.bytes
    }
    /// Published date (for legacy LeaseSets: the latest lease end).
    pub fn published(&self) -> Date {
        self.published
    }
    pub fn expires(&self) -> Date {
        self.expires
    }

    /// Whether `self` should replace `old` (i2pd: LeaseSet2 by published date, legacy by
    /// expiration; a different kind always replaces).
    pub fn is_newer_than(&self, old: &LeaseSetEntry) -> bool {
        if self.kind != old.kind {
            return true;
        }
        match self.kind {
            StoreKind::LeaseSet => self.expires > old.expires,
            _ => self.published > old.published,
        }
    }
}
