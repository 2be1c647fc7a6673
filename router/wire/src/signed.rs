//! The [`Unverified`] wrapper that every signed structure parses into, and the time
//! tolerances the `verify` methods apply (taken from what i2pd 2.45.1 accepts).
//!
//! A parsed RouterInfo, LeaseSet, LeaseSet2 or EncryptedLeaseSet cannot be used until its
//! `verify(now)` method has checked the signature over the exact bytes that were received and
//! the structure's time rules. The only other way in is the deliberately named
//! [`Unverified::peek_unverified`], meant for logging and diagnostics.

use core::fmt;

/// How far in the future a RouterInfo's `published` may be: i2pd 2.45.1 drops RouterInfos
/// published more than `NETDB_EXPIRATION_TIMEOUT_THRESHOLD` (2 minutes) ahead of its clock.
pub const ROUTER_INFO_MAX_FUTURE_MS: u64 = 2 * 60 * 1000;

/// How far in the future a LeaseSet2's `published` may be (i2pd 2.45.1: the same 2 minutes).
pub const LEASE_SET_MAX_FUTURE_MS: u64 = 2 * 60 * 1000;

/// Grace period after a legacy LeaseSet's last lease ends (i2pd's `LEASE_ENDDATE_THRESHOLD`).
pub const LEASE_END_GRACE_MS: u64 = 51_000;

/// A parsed signed structure whose signature and time rules have not been checked yet.
#[derive(Clone)]
pub struct Unverified<T> {
    pub(crate) value: T,
    /// exactly the bytes the signature covers (including any type-byte prefix)
    pub(crate) signed: Vec<u8>,
}

impl<T> Unverified<T> {
    pub(crate) fn new(value: T, signed: Vec<u8>) -> Unverified<T> {
        Unverified { value, signed }
    }

    /// Look at the contents WITHOUT any verification. Everything here may be forged; use it
    /// only for logging/diagnostics (e.g. printing the claimed identity hash), never to act on.
    pub fn peek_unverified(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Unverified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Unverified").field(&self.value).finish()
    }
}
