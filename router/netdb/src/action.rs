//! What the netDb state machine asks its IO shell to do ([`Action`]) and the results it
//! reports ([`LookupResult`]).

use std::fmt;
use std::sync::Arc;

use i2p_wire::i2np::TunnelGateway;
use i2p_wire::{Hash, I2npBody, I2npMessage, TunnelId};

use crate::entry::{LeaseSetEntry, RouterEntry};

/// Identifies a lookup started through [`crate::NetDb::lookup_router`] or
/// [`crate::NetDb::lookup_lease_set`]. A second request for a key that is already being
/// looked up gets the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub u64);

impl fmt::Display for LookupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lookup#{}", self.0)
    }
}

/// How a lookup ended.
#[derive(Clone, Debug)]
pub enum LookupResult {
    RouterInfo(RouterEntry),
    LeaseSet(LeaseSetEntry),
    /// every floodfill asked answered without it, or did not answer in time
    NotFound,
    /// we know no floodfill to ask
    NoFloodfills,
}

impl LookupResult {
    pub fn is_found(&self) -> bool {
        matches!(
            self,
            LookupResult::RouterInfo(_) | LookupResult::LeaseSet(_)
        )
    }
}

/// An instruction to the IO shell.
#[derive(Clone, Debug)]
pub enum Action {
    /// Send `msg` to router `to` over a transport session (dialling it if needed).
    Send { to: Hash, msg: I2npMessage },
    /// Deliver `msg` into tunnel `tunnel_id` at its inbound gateway `gateway`. Without an
    /// outbound tunnel of our own this is a TunnelGateway message sent to `gateway` directly
    /// (see [`Action::tunnel_gateway_message`]), which is what i2pd does too.
    SendToTunnel {
        gateway: Hash,
        tunnel_id: TunnelId,
        msg: I2npMessage,
    },
    /// Write this RouterInfo to persistent storage (new or updated).
    Persist { hash: Hash, bytes: Arc<[u8]> },
    /// Remove this RouterInfo from persistent storage.
    Delete { hash: Hash },
    /// A lookup started by the shell finished.
    LookupDone {
        id: LookupId,
        key: Hash,
        result: LookupResult,
    },
    /// A floodfill confirmed the store of our RouterInfo.
    Published { floodfill: Hash },
    /// A message that arrived in a garlic clove addressed to the router but is not the
    /// netDb's (e.g. a ShortTunnelBuild, which i2pd wraps for ECIES hops): the shell routes
    /// it like a message `from` that router.
    Deliver { from: Hash, msg: I2npMessage },
}

impl Action {
    /// For [`Action::SendToTunnel`]: the TunnelGateway message to send to the gateway
    /// directly, with a fresh `wrapper_msg_id` and the inner message's expiration.
    pub fn tunnel_gateway_message(
        tunnel_id: TunnelId,
        msg: &I2npMessage,
        wrapper_msg_id: u32,
    ) -> Result<I2npMessage, i2p_wire::Error> {
        let tg = TunnelGateway::new(tunnel_id, msg)?;
        I2npMessage::new(
            wrapper_msg_id,
            msg.expiration(),
            I2npBody::TunnelGateway(tg),
        )
    }
}
