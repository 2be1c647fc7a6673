//! The client API: what front-ends (HTTP and SOCKS proxies, client/server tunnels, the SAM
//! bridge, address-book subscriptions) use to reach I2P. It is the only router interface they
//! see, so each of them works the same against the in-process router, a remote router over
//! SAM, or the in-memory [`mem::MemNetwork`] their tests run on.
//!
//! Shape: a [`Client`] creates or loads [`LocalDestination`]s (each with its own tunnels and
//! LeaseSet) and resolves names; a destination opens streams to other destinations, accepts
//! streams, and sends/receives datagrams. Traits return boxed futures so they can be used as
//! trait objects (`Arc<dyn Client>`).

pub mod error;
pub mod keys;
pub mod mem;
pub mod stream;
pub mod types;

pub use error::ClientError;
pub use keys::{KeyError, PrivateKeys};
pub use stream::{ByteStream, I2pStream};
pub use types::{
    ConnectOptions, Datagram, DatagramKind, DestinationKeys, DestinationSpec, Resolved, Target,
    TunnelOptions, resolve_address,
};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future (keeps the traits object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Entry point of the client API.
pub trait Client: Send + Sync {
    /// Create a destination (new keys, or the given ones) with its tunnels; the future
    /// resolves once the destination exists, not when its tunnels are ready (see
    /// [`LocalDestination::ready`]).
    fn create_destination(
        &self,
        spec: DestinationSpec,
    ) -> BoxFuture<'_, Result<Arc<dyn LocalDestination>, ClientError>>;

    /// Resolve a `.i2p` name, a `.b32.i2p` address or a base64 destination.
    fn resolve(&self, name: &str) -> BoxFuture<'_, Result<Resolved, ClientError>>;
}

/// A destination of ours: the thing that owns tunnels, a LeaseSet and streams.
pub trait LocalDestination: Send + Sync {
    /// Our public destination.
    fn destination(&self) -> &i2p_wire::Destination;

    /// `<52 chars>.b32.i2p`.
    fn b32(&self) -> String {
        self.destination().b32_address()
    }

    /// Resolves when inbound and outbound tunnels exist and the LeaseSet is published.
    fn ready(&self) -> BoxFuture<'_, Result<(), ClientError>>;

    /// Whether [`LocalDestination::ready`] would resolve immediately.
    fn is_ready(&self) -> bool;

    /// The full destination behind a hash (a LeaseSet lookup through our tunnels when the
    /// router does not have it yet), e.g. for SAM's `NAMING LOOKUP NAME=x.b32.i2p`.
    fn lookup_destination(
        &self,
        hash: i2p_wire::Hash,
    ) -> BoxFuture<'_, Result<i2p_wire::Destination, ClientError>>;

    /// Open a stream to `target`.
    fn connect(
        &self,
        target: Target,
        opts: ConnectOptions,
    ) -> BoxFuture<'_, Result<I2pStream, ClientError>>;

    /// Wait for the next incoming stream (to any of our ports).
    fn accept(&self) -> BoxFuture<'_, Result<I2pStream, ClientError>>;

    /// Send one datagram.
    fn send_datagram(
        &self,
        to: Target,
        datagram: Datagram,
    ) -> BoxFuture<'_, Result<(), ClientError>>;

    /// Wait for the next datagram addressed to us.
    fn recv_datagram(&self) -> BoxFuture<'_, Result<Datagram, ClientError>>;

    /// Our private keys in the shared `Destination ‖ PrivateKey ‖ SigningPrivateKey` layout
    /// (what SAM returns as `$privkey` and i2pd stores in `.dat` files).
    fn private_keys(&self) -> DestinationKeys;

    /// Tear the destination down: tunnels, LeaseSet, streams. Idempotent.
    fn close(&self);
}
