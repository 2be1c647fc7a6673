//! The single error type of this crate: what was wrong ([`ErrorKind`]), where in the input it
//! was (byte offset from the start of the buffer being parsed) and in which structure/field
//! (a path such as `RouterInfo.addresses[1].options`).
//!
//! Errors never allocate: the path is a small fixed array of [`Field`] names plus indices,
//! filled from the innermost field outwards as the error propagates up through the parsers.

use core::fmt;

use i2p_crypto::SignatureError;

use crate::primitives::Date;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Maximum number of path segments kept in an [`Error`]; deeper (outer) segments are dropped
/// and shown as `…`.
pub const MAX_PATH_DEPTH: usize = 8;

macro_rules! fields {
    ($($(#[$m:meta])* $variant:ident => $name:literal,)*) => {
        /// A structure or field name as it appears in error paths.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Field {
            $($(#[$m])* $variant,)*
        }

        impl Field {
            /// The name printed in error paths.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }
        }
    };
}

fields! {
    // encodings
    Base64 => "base64",
    Base32 => "base32",
    B32Address => "b32_address",
    // common structures
    String => "String",
    Mapping => "Mapping",
    Certificate => "Certificate",
    KeysAndCert => "KeysAndCert",
    RouterIdentity => "RouterIdentity",
    Destination => "Destination",
    RouterAddress => "RouterAddress",
    RouterInfo => "RouterInfo",
    Lease => "Lease",
    Lease2 => "Lease2",
    LeaseSet => "LeaseSet",
    LeaseSet2 => "LeaseSet2",
    EncryptedLeaseSet => "EncryptedLeaseSet",
    MetaLeaseSet => "MetaLeaseSet",
    OfflineSignature => "OfflineSignature",
    // I2NP
    I2npMessage => "I2npMessage",
    Header => "header",
    Body => "body",
    DatabaseStore => "DatabaseStore",
    DatabaseLookup => "DatabaseLookup",
    DatabaseSearchReply => "DatabaseSearchReply",
    DeliveryStatus => "DeliveryStatus",
    Garlic => "Garlic",
    TunnelData => "TunnelData",
    TunnelGateway => "TunnelGateway",
    Data => "Data",
    TunnelBuild => "TunnelBuild",
    TunnelBuildReply => "TunnelBuildReply",
    VariableTunnelBuild => "VariableTunnelBuild",
    VariableTunnelBuildReply => "VariableTunnelBuildReply",
    ShortTunnelBuild => "ShortTunnelBuild",
    OutboundTunnelBuildReply => "OutboundTunnelBuildReply",
    // datagrams (spec/datagrams.md)
    Datagram1 => "Datagram1",
    Datagram2 => "Datagram2",
    Datagram3 => "Datagram3",
    // fields
    Size => "size",
    Length => "length",
    Key => "key",
    Value => "value",
    Entries => "entries",
    CertType => "type",
    Payload => "payload",
    SigType => "sig_type",
    CryptoType => "crypto_type",
    PublicKey => "public_key",
    SigningKey => "signing_key",
    Padding => "padding",
    Published => "published",
    Addresses => "addresses",
    Peers => "peers",
    Options => "options",
    Signature => "signature",
    Cost => "cost",
    Expiration => "expiration",
    TransportStyle => "transport_style",
    Expires => "expires",
    Flags => "flags",
    TransientKey => "transient_public_key",
    EncryptionKeys => "encryption_keys",
    EncryptionKey => "encryption_key",
    KeyType => "key_type",
    KeyLen => "key_len",
    Leases => "leases",
    Revocations => "revocations",
    TunnelGw => "tunnel_gw",
    TunnelId => "tunnel_id",
    EndDate => "end_date",
    BlindedKey => "blinded_public_key",
    EncryptedData => "encrypted_data",
    Type => "type",
    MsgId => "msg_id",
    Checksum => "checksum",
    ReplyToken => "reply_token",
    ReplyTunnel => "reply_tunnel_id",
    ReplyGateway => "reply_gateway",
    From => "from",
    ExcludedPeers => "excluded_peers",
    ReplyKey => "reply_key",
    ReplyTags => "reply_tags",
    PeerHashes => "peer_hashes",
    Timestamp => "timestamp",
    Records => "records",
    Message => "message",
    StoreData => "data",
    Gzip => "gzip",
    // streaming (spec/streaming.md)
    StreamPacket => "StreamPacket",
    Nacks => "nacks",
    OptionSize => "option_size",
    DelayRequested => "delay_requested",
    MaxPacketSize => "max_packet_size",
    // option keys
    OptS => "s",
    OptI => "i",
    OptHost => "host",
    OptPort => "port",
    OptV => "v",
    OptCaps => "caps",
    OptMtu => "mtu",
    OptNetId => "netId",
    OptVersion => "router.version",
    OptIntroducer => "introducer",
}

/// What the expected length was, for [`ErrorKind::BadLength`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Exactly(u32),
    AtMost(u32),
    AtLeast(u32),
    Between(u32, u32),
    OneOf(&'static [u32]),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Exactly(n) => write!(f, "exactly {n}"),
            Expected::AtMost(n) => write!(f, "at most {n}"),
            Expected::AtLeast(n) => write!(f, "at least {n}"),
            Expected::Between(a, b) => write!(f, "{a}..={b}"),
            Expected::OneOf(list) => {
                f.write_str("one of ")?;
                for (i, n) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str("/")?;
                    }
                    write!(f, "{n}")?;
                }
                Ok(())
            }
        }
    }
}

/// What was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("truncated: needed {needed} bytes, {available} available")]
    Truncated { needed: u32, available: u32 },
    #[error("{count} trailing bytes after the end of the structure")]
    TrailingBytes { count: u32 },
    #[error("bad length {got}, expected {expected}")]
    BadLength { got: u32, expected: Expected },
    #[error("unknown type code {code}")]
    UnknownType { code: u32 },
    #[error("mapping keys are not sorted")]
    Unsorted,
    #[error("duplicate mapping key")]
    DuplicateKey,
    #[error("not canonical: {0}")]
    NotCanonical(&'static str),
    #[error("bad value: {0}")]
    BadValue(&'static str),
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("checksum mismatch: header has {expected:#04x}, body hashes to {actual:#04x}")]
    BadChecksum { expected: u8, actual: u8 },
    #[error("signature: {0}")]
    Signature(SignatureError),
    #[error("expired at {expires} (now {now})")]
    Expired { expires: Date, now: Date },
    #[error("not yet valid: published {published} is too far after now {now}")]
    NotYetValid { published: Date, now: Date },
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    #[error("decompressed data exceeds the limit of {limit} bytes")]
    TooLarge { limit: u32 },
    #[error("output buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall { needed: u32, available: u32 },
}

const NO_INDEX: u16 = u16::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    field: Field,
    index: u16,
}

const EMPTY_SEGMENT: Segment = Segment {
    field: Field::Body,
    index: NO_INDEX,
};

/// A parse/validation error: kind, byte offset and field path. See the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    offset: u32,
    /// innermost first
    path: [Segment; MAX_PATH_DEPTH],
    depth: u8,
    path_overflow: bool,
}

pub(crate) fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Error {
    /// A new error of `kind` at byte `offset`, with an empty path.
    pub fn new(kind: ErrorKind, offset: usize) -> Error {
        Error {
            kind,
            offset: clamp_u32(offset),
            path: [EMPTY_SEGMENT; MAX_PATH_DEPTH],
            depth: 0,
            path_overflow: false,
        }
    }

    pub(crate) fn bad_value(what: &'static str, offset: usize) -> Error {
        Error::new(ErrorKind::BadValue(what), offset)
    }

    pub(crate) fn bad_length(got: usize, expected: Expected, offset: usize) -> Error {
        Error::new(
            ErrorKind::BadLength {
                got: clamp_u32(got),
                expected,
            },
            offset,
        )
    }

    /// What was wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Byte offset from the start of the buffer being parsed (for lazily parsed embedded data,
    /// such as a decompressed RouterInfo, from the start of that embedded data).
    pub fn offset(&self) -> usize {
        self.offset as usize
    }

    /// The path, outermost first, as `(name, index)` pairs.
    pub fn path(&self) -> impl Iterator<Item = (&'static str, Option<usize>)> + '_ {
        self.path.iter().take(self.depth as usize).rev().map(|s| {
            (
                s.field.name(),
                (s.index != NO_INDEX).then_some(s.index as usize),
            )
        })
    }

    /// The path rendered like `RouterInfo.addresses[1].options` (allocates; for logs/tests).
    pub fn path_string(&self) -> String {
        let mut s = String::new();
        // infallible for String
        let _ = self.write_path(&mut s);
        s
    }

    fn write_path(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        if self.path_overflow {
            f.write_str("…")?;
        }
        for (i, (name, index)) in self.path().enumerate() {
            if i > 0 || self.path_overflow {
                f.write_str(".")?;
            }
            f.write_str(name)?;
            if let Some(ix) = index {
                write!(f, "[{ix}]")?;
            }
        }
        Ok(())
    }

    fn push(mut self, field: Field, index: u16) -> Error {
        // Do not repeat the same segment twice in a row (a structure may be wrapped by its own
        // reader and by a caller naming the same field).
        if let Some(last) = self
            .depth
            .checked_sub(1)
            .and_then(|d| self.path.get(d as usize))
            && last.field == field
            && last.index == index
        {
            return self;
        }
        match self.path.get_mut(self.depth as usize) {
            Some(slot) => {
                *slot = Segment { field, index };
                self.depth += 1;
            }
            None => self.path_overflow = true,
        }
        self
    }

    /// Prefix the path with `field` (called as the error propagates outwards).
    pub fn at(self, field: Field) -> Error {
        self.push(field, NO_INDEX)
    }

    /// Prefix the path with `field[index]`.
    pub fn at_index(self, field: Field, index: usize) -> Error {
        let ix = u16::try_from(index).unwrap_or(NO_INDEX - 1);
        self.push(field, ix)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.depth > 0 || self.path_overflow {
            self.write_path(f)?;
            f.write_str(" ")?;
        }
        write!(f, "at byte {}: {}", self.offset, self.kind)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({self})")
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Signature(e) => Some(e),
            _ => None,
        }
    }
}

/// Adds path context to a `Result<_, Error>`.
pub trait ResultExt<T> {
    /// Prefix the error path with `field`.
    fn at(self, field: Field) -> Result<T>;
    /// Prefix the error path with `field[index]`.
    fn at_index(self, field: Field, index: usize) -> Result<T>;
}

impl<T> ResultExt<T> for Result<T> {
    #[inline]
    fn at(self, field: Field) -> Result<T> {
        self.map_err(|e| e.at(field))
    }
    #[inline]
    fn at_index(self, field: Field, index: usize) -> Result<T> {
        self.map_err(|e| e.at_index(field, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_path_and_offset() {
        let e = Error::new(
            ErrorKind::Truncated {
                needed: 2,
                available: 0,
            },
            412,
        )
        .at(Field::Options)
        .at_index(Field::Addresses, 1)
        .at(Field::RouterInfo);
        assert_eq!(e.path_string(), "RouterInfo.addresses[1].options");
        assert_eq!(
            e.to_string(),
            "RouterInfo.addresses[1].options at byte 412: truncated: needed 2 bytes, 0 available"
        );
    }

    #[test]
    fn path_overflow_keeps_innermost() {
        let mut e = Error::new(ErrorKind::Unsorted, 0);
        for i in 0..(MAX_PATH_DEPTH + 3) {
            e = e.at_index(Field::Entries, i);
        }
        let s = e.path_string();
        assert!(s.starts_with("….entries[7]"), "{s}");
        assert!(s.ends_with("entries[0]"), "{s}");
    }

    #[test]
    fn error_is_small() {
        // Errors are returned by every read; keep them well under clippy's result_large_err.
        assert!(
            core::mem::size_of::<Error>() <= 112,
            "{}",
            core::mem::size_of::<Error>()
        );
    }
}
