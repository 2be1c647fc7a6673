//! NTCP2 (spec/ntcp2.md): the protocol core is sans-IO ([`handshake`], [`frame`], [`block`]);
//! [`session`] drives it over tokio TCP streams.

pub mod block;
pub mod frame;
pub mod handshake;
pub mod session;

pub use block::{Block, BlockError, FrameBuilder, TerminationReason, parse_blocks};
pub use frame::{DataPhase, FrameError, FrameReceiver, FrameSender};
pub use handshake::{
    Established, HandshakeError, Initiator, InitiatorParams, Msg1Info, ReplayCache, Responder,
    ResponderParams,
};
