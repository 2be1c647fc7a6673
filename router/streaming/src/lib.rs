//! I2P streaming as a sans-IO state machine (spec/streaming.md for the packet and flags,
//! docs/api/streaming.md for the behaviour: setup, MTU, windows, choke, close, ping).
//!
//! A [`StreamManager`] holds all streams of one local Destination. Bytes go in with
//! [`StreamManager::on_packet`] (a streaming packet the caller took out of an I2CP Data
//! message) and the application calls `write`/`read`/`close`; packets come out of
//! [`StreamManager::poll_transmit`], events out of [`StreamManager::poll_event`], and the
//! caller drives the clock with [`StreamManager::poll_timeout`] and
//! [`StreamManager::handle_timeout`]. Nothing here does IO, reads a clock or picks its own
//! randomness.
//!
//! `now_ms` is milliseconds on the caller's clock. Only differences matter, except that an
//! offline signature's expiry is compared with `now_ms` read as Unix time.
//!
//! Where the spec leaves room, i2pd 2.45.1 (`libi2pd/Streaming.cpp`) decides:
//! - the SYN carries FROM, MAX_PACKET_SIZE (our MTU, 1730 by default) and a signature, plus
//!   NO_ACK; its payload is whatever was written before it went out; nothing else is sent
//!   until the peer's stream id is known (i2pd `Stream::SendBuffer`, `IsEstablished`);
//! - the SYN reply is sequence 0 with SYNCHRONIZE, FROM, MAX_PACKET_SIZE, signature and an
//!   ACK of the SYN (no NO_ACK);
//! - a packet with sequence number 0 and no SYNCHRONIZE is a plain ACK: its ACK fields are
//!   used, it is never acknowledged;
//! - packets for an unknown (non-zero) stream id are dropped, as i2pd drops them (a RESET
//!   could not be addressed: such packets carry no FROM); pings are answered whatever the id;
//! - non-SYN packets with send stream id 0 that arrive before their SYN are kept for 10 s;
//! - a CLOSE is answered with our own CLOSE at once; i2pd forgets the stream after sending
//!   its reply CLOSE and never retransmits it, so our CLOSE gives up after a timeout;
//! - i2pd ignores choke (DELAY_REQUESTED > 60000), MAX_PACKET_SIZE and NACK-driven fast
//!   retransmission; we implement them per the spec and stay compatible.

mod config;
mod manager;
mod stream;

pub use config::{InactivityAction, StreamConfig};
pub use manager::StreamManager;
pub use stream::StreamInfo;

use i2p_wire::Destination;

/// Our handle for a stream: the stream id we chose, which the peer puts in its packets'
/// send stream id field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u32);

/// A packet to send: to `remote`, in an I2CP Data message with these ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub remote: Destination,
    pub from_port: u16,
    pub to_port: u16,
    pub packet: Vec<u8>,
}

/// Why a stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// Both sides closed (CLOSE handshake), all our data acknowledged.
    Normal,
    /// The peer sent RESET on an established stream.
    ResetByPeer,
    /// We reset it ([`StreamManager::reset`] or an internal failure).
    LocalReset,
    /// The peer answered our SYN with RESET (not listening, or over its limits).
    Refused,
    /// A packet was retransmitted too often without an ACK.
    Timeout,
    /// Inactivity timeout with [`InactivityAction::Disconnect`].
    Idle,
}

/// What happened, for the application.
#[allow(clippy::large_enum_variant)] // rare events; a Box would only move the allocation
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// A peer opened a stream to us.
    Incoming {
        id: StreamId,
        remote: Destination,
        /// Our port (the Data message's destination port).
        local_port: u16,
        /// The peer's port.
        remote_port: u16,
    },
    /// Our SYN was acknowledged.
    Connected(StreamId),
    /// Data can be read.
    Readable(StreamId),
    /// Send buffer space came free after a short write.
    Writable(StreamId),
    /// The peer closed: `read` returns EOF (an empty vector) after the buffered data.
    Finished(StreamId),
    /// The stream is over; unread data of a normally closed stream can still be read.
    Closed { id: StreamId, reason: CloseReason },
    /// Answer to [`StreamManager::ping`].
    Pong { ping_id: u32, payload: Vec<u8> },
}

/// Why a packet was not taken. The manager has already counted it; nothing needs doing.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("malformed streaming packet: {0}")]
    Malformed(#[from] i2p_wire::Error),
    #[error("signature does not verify")]
    BadSignature,
    #[error("SYN, CLOSE, RESET or ping without a signature")]
    Unsigned,
    #[error("SYN or ping without FROM")]
    MissingFrom,
    #[error("SYN names another destination in its NACK field (replay protection)")]
    WrongTarget,
    #[error("FROM is not the stream's peer")]
    WrongSender,
    #[error("offline signature invalid or expired")]
    OfflineSignature,
    #[error("no stream with id {0}")]
    UnknownStream(u32),
}

/// Counters of one manager.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub packets_received: u64,
    /// New packets (SYN, data, CLOSE), not counting retransmissions and ACKs.
    pub packets_sent: u64,
    pub packets_resent: u64,
    pub fast_retransmits: u64,
    pub rto_expirations: u64,
    pub acks_sent: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub duplicates: u64,
    pub dropped_malformed: u64,
    pub dropped_bad_signature: u64,
    pub dropped_unknown_stream: u64,
    pub dropped_out_of_window: u64,
    pub dropped_buffer_full: u64,
    pub chokes_sent: u64,
    pub resets_sent: u64,
    pub resets_received: u64,
    pub refused: u64,
    pub pings_answered: u64,
    pub streams_opened: u64,
    pub streams_accepted: u64,
}
