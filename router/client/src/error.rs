//! Errors of the client API. Each variant maps to one thing a front-end tells its user: an
//! HTTP error page, a SOCKS reply code, a SAM `RESULT=` value.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// A `.i2p` name that no address book knows.
    #[error("unknown host name {0}")]
    UnknownName(String),
    /// Not a name, b32 address or destination.
    #[error("invalid destination or key: {0}")]
    InvalidKey(String),
    /// The destination's LeaseSet could not be found in the network database.
    #[error("destination {0} is not reachable (LeaseSet not found)")]
    LeaseSetNotFound(String),
    /// The peer did not answer in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The peer refused or reset the stream.
    #[error("connection refused or reset by the peer")]
    Refused,
    /// Our destination has no tunnels yet.
    #[error("local destination is not ready (no tunnels yet)")]
    NotReady,
    /// A destination with these keys already exists here.
    #[error("duplicate destination")]
    DuplicateDestination,
    /// The destination or the router was closed.
    #[error("closed")]
    Closed,
    /// The router could not do it (details in its log).
    #[error("router error: {0}")]
    Router(String),
}
