//! Plain data types of the client API.

use i2p_wire::{Destination, Hash};

/// Where to connect or send: resolved lazily by the router.
// A Destination is ~400 bytes; these values are built once per connection, not per packet.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A name to resolve (`x.i2p`, `x.b32.i2p`, or base64).
    Name(String),
    /// A destination hash (from a `.b32.i2p` address); the router fetches the LeaseSet, which
    /// carries the full destination.
    Hash(Hash),
    /// A full destination.
    Destination(Destination),
}

/// The result of resolving a name.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    Hash(Hash),
    Destination(Destination),
}

impl Resolved {
    pub fn hash(&self) -> Hash {
        match self {
            Resolved::Hash(h) => *h,
            Resolved::Destination(d) => d.hash(),
        }
    }
}

/// Resolve what needs no address book: a `.b32.i2p` address (its hash) or a base64
/// destination. Any other `.i2p` name is [`ClientError::UnknownName`].
pub fn resolve_address(name: &str) -> Result<Resolved, crate::ClientError> {
    use crate::ClientError;
    let lower = name.trim().to_ascii_lowercase();
    if lower.ends_with(".b32.i2p") {
        return i2p_wire::base32::parse_b32_address(&lower)
            .map(Resolved::Hash)
            .map_err(|e| ClientError::InvalidKey(e.to_string()));
    }
    if lower.ends_with(".i2p") {
        return Err(ClientError::UnknownName(lower));
    }
    Destination::from_base64(name.trim())
        .map(Resolved::Destination)
        .map_err(|e| ClientError::InvalidKey(e.to_string()))
}

impl From<Resolved> for Target {
    fn from(r: Resolved) -> Target {
        match r {
            Resolved::Hash(h) => Target::Hash(h),
            Resolved::Destination(d) => Target::Destination(d),
        }
    }
}

/// Tunnel settings of a destination (the I2CP `inbound.*`/`outbound.*` options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelOptions {
    pub inbound_length: u8,
    pub outbound_length: u8,
    pub inbound_quantity: u8,
    pub outbound_quantity: u8,
    pub inbound_length_variance: i8,
    pub outbound_length_variance: i8,
}

impl Default for TunnelOptions {
    /// The I2CP defaults (spec/i2cp-overview.md): 3 hops and 2 tunnels each way, no variance.
    fn default() -> Self {
        TunnelOptions {
            inbound_length: 3,
            outbound_length: 3,
            inbound_quantity: 2,
            outbound_quantity: 2,
            inbound_length_variance: 0,
            outbound_length_variance: 0,
        }
    }
}

/// Private keys of a destination, in the i2pd/Java private key file layout (Destination,
/// encryption private key, signing private key).
#[derive(Clone, PartialEq, Eq)]
pub struct DestinationKeys(pub Vec<u8>);

impl std::fmt::Debug for DestinationKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DestinationKeys({} bytes, redacted)", self.0.len())
    }
}

/// What destination to create.
#[derive(Clone, Debug, Default)]
pub struct DestinationSpec {
    /// Existing keys, or `None` for fresh (transient unless the caller saves them).
    pub keys: Option<DestinationKeys>,
    pub tunnels: TunnelOptions,
    /// Publish a LeaseSet (servers); clients that only connect out may leave it unpublished.
    pub publish: bool,
    /// A name for logs and the status page (e.g. the tunnel's name).
    pub nickname: String,
}

/// Options for opening a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    pub from_port: u16,
    pub to_port: u16,
    /// Give up after this long (None: the router's default).
    pub timeout: Option<std::time::Duration>,
}

/// Datagram flavours (spec/datagrams.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatagramKind {
    /// Repliable, signed (protocol 17).
    Repliable,
    /// Raw, anonymous (protocol 18).
    Raw,
    /// Datagram2 (protocol 19).
    Datagram2,
    /// Datagram3 (protocol 20).
    Datagram3,
}

/// A datagram sent or received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    pub kind: DatagramKind,
    /// The sender, when the kind carries it (repliable/Datagram2 carry a destination; Datagram3
    /// a hash; raw nothing).
    pub from: Option<Resolved>,
    pub from_port: u16,
    pub to_port: u16,
    pub payload: Vec<u8>,
}
