//! The router-backed client API (`i2p_client::Client`): local destinations with their own
//! tunnel pools, LeaseSet2 publishing, ECIES-ratchet garlic sessions and streaming.
//!
//! Shape (ARCHITECTURE.md, "The running router"):
//!
//! ```text
//!  front-end ──Client/LocalDestination──> RouterDestination (handle)
//!                                            │ DestCmd (bounded)
//!                                            v
//!  dispatcher (main task) <──HubCmd── destination task: garlic::Sessions, streaming::StreamManager,
//!   owns each destination's              LeaseSet2 + publishing, remote LeaseSet cache
//!   TunnelPool, routes TunnelData ──DestEvent──> (messages out of its inbound tunnels, lease changes)
//!                                            │ per stream: a pipe task between the app's
//!                                            v duplex half and the destination task
//! ```
//!
//! The dispatcher keeps the tunnel pools because it already owns all tunnel traffic; the
//! destination task never touches a socket and the pools never see garlic.

mod dest;
pub mod keys_file;
mod pipe;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use i2p_client::{
    BoxFuture, Client, ClientError, DestinationSpec, LocalDestination, PrivateKeys, Resolved,
};
use i2p_tunnel::data::DeliveryInstructions;
use i2p_tunnel::pool::PoolConfig;
use i2p_wire::{Hash, I2npMessage, TunnelId};
use tokio::sync::mpsc;

use crate::netdb::NetDbHandle;

pub use dest::RouterDestination;

/// Commands from destination tasks to the dispatcher (which owns the tunnel pools).
#[derive(Debug)]
pub enum HubCmd {
    /// A new destination: build its pool and send it [`DestEvent`]s.
    Register {
        id: u32,
        nickname: String,
        pool: PoolConfig,
        events: mpsc::Sender<DestEvent>,
    },
    /// The destination is closed: its tunnels are dropped.
    Unregister(u32),
    /// Send `msg` through one of the destination's outbound tunnels.
    Send {
        id: u32,
        msg: I2npMessage,
        to: DeliveryInstructions,
    },
}

/// Events from the dispatcher to a destination task.
#[derive(Debug)]
pub enum DestEvent {
    /// A message that came out of one of the destination's inbound tunnels.
    Message(I2npMessage),
    /// The destination's tunnels changed: usable inbound gateways (gateway, tunnel id,
    /// expiration ms) and the number of usable outbound tunnels.
    Tunnels {
        inbound: Vec<(Hash, TunnelId, u64)>,
        outbound: usize,
    },
}

/// Capacity of the channels between the dispatcher and a destination task.
pub const DEST_CHANNEL: usize = 4096;

/// The client API of a running router.
#[derive(Clone)]
pub struct RouterClient {
    hub: mpsc::Sender<HubCmd>,
    netdb: NetDbHandle,
    next_id: Arc<AtomicU32>,
    settings: Arc<ClientSettings>,
}

impl std::fmt::Debug for RouterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterClient")
    }
}

/// Router-wide settings destinations inherit.
#[derive(Clone)]
pub struct ClientSettings {
    /// Never put two routers of one /16 into a tunnel.
    pub distinct_subnets: bool,
    /// The address book; `None` resolves only `.b32.i2p` and base64 destinations.
    pub naming: Option<Arc<crate::naming::Naming>>,
    /// Open streams of all local destinations together (each destination adds the change of
    /// its own count after every step); read by the operator endpoints' `i2p_streams`.
    pub open_streams: Arc<std::sync::atomic::AtomicI64>,
    /// The router's clock.
    pub clock: crate::netdb::Clock,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("distinct_subnets", &self.distinct_subnets)
            .field("naming", &self.naming.is_some())
            .finish_non_exhaustive()
    }
}

impl RouterClient {
    pub fn new(hub: mpsc::Sender<HubCmd>, netdb: NetDbHandle, settings: ClientSettings) -> Self {
        RouterClient {
            hub,
            netdb,
            next_id: Arc::new(AtomicU32::new(1)),
            settings: Arc::new(settings),
        }
    }
}

/// Resolve a name: `.b32.i2p` addresses and base64 destinations always, other `.i2p` names
/// through the address book when there is one.
pub fn resolve_name(
    name: &str,
    naming: Option<&crate::naming::Naming>,
) -> Result<Resolved, ClientError> {
    match naming {
        Some(n) => n.resolve(name),
        None => i2p_client::resolve_address(name),
    }
}

impl Client for RouterClient {
    fn create_destination(
        &self,
        spec: DestinationSpec,
    ) -> BoxFuture<'_, Result<Arc<dyn LocalDestination>, ClientError>> {
        Box::pin(async move {
            let keys = match &spec.keys {
                Some(k) => PrivateKeys::from_bytes(&k.0)
                    .map_err(|e| ClientError::InvalidKey(e.to_string()))?,
                None => PrivateKeys::generate(&mut rand::rng()),
            };
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let d = dest::spawn(
                id,
                keys,
                spec,
                self.hub.clone(),
                self.netdb.clone(),
                &self.settings,
            )
            .await?;
            Ok(d as Arc<dyn LocalDestination>)
        })
    }

    fn resolve(&self, name: &str) -> BoxFuture<'_, Result<Resolved, ClientError>> {
        let r = resolve_name(name, self.settings.naming.as_deref());
        Box::pin(async move { r })
    }
}
