//! The tunnel data layer: what happens to the 1024 bytes of a TunnelData message after its
//! tunnel id (spec/tunnel-message.md, spec/tunnel-implementation.md, spec/i2np.md
//! "TunnelData"). Everything here is sans-IO: randomness is passed in, time is passed in as
//! milliseconds, nothing is sent.
//!
//! # The payload
//!
//! A [`Payload`] is `IV (16) ‖ 1008 bytes`. Once every layer of encryption is gone, the 1008
//! bytes read `checksum (4) ‖ non-zero padding ‖ 0x00 ‖ content`, where the content (at most
//! [`MAX_CONTENT_LEN`] bytes, always ending exactly at byte 1024) is a run of fragments, each a
//! [`FragmentHeader`] and the bytes it announces. The checksum is the first four bytes of
//! SHA-256 over the content followed by the IV; padding and zero byte are not covered. The
//! reader finds the content by looking for the first zero byte after the checksum.
//!
//! A first fragment carries the [`DeliveryInstructions`] (local, to a router, or to a tunnel
//! on a router) and, only if the message continues elsewhere, a message id; follow-on
//! fragments carry the message id, a fragment number 1–63 and a "last" flag. Messages are I2NP
//! messages with the standard 16-byte header, and the id of a fragmented message is the id in
//! that header.
//!
//! # Who calls what
//!
//! Every hop adds one layer with [`LayerKeys::encrypt_layer`] (AES-256: the IV is encrypted
//! once with the IV key, the 1008 bytes are CBC-encrypted with the layer key under that IV,
//! and the IV is encrypted once more before it is forwarded). The tunnel's creator knows all
//! the hops' keys and undoes their layers in advance or afterwards with
//! [`LayerKeys::decrypt_layer`]:
//!
//! | role | steps |
//! |---|---|
//! | outbound gateway (we built the tunnel) | [`Gateway::put`] each message, [`Gateway::flush`], then [`pre_decrypt_outbound`] with every hop's keys |
//! | participant (transit hop) | [`LayerKeys::encrypt_layer`] with its own keys, forward |
//! | outbound endpoint (transit hop) | [`LayerKeys::encrypt_layer`] with its own keys, which reveals the plaintext; then [`Endpoint::receive`] |
//! | inbound gateway (transit hop) | [`Gateway::put`] each message (from TunnelGateway messages), [`Gateway::flush`], then [`LayerKeys::encrypt_layer`] with its own keys |
//! | inbound endpoint (we built the tunnel) | [`decrypt_inbound`] with every hop's keys, then [`Endpoint::receive`] |
//!
//! Both creator helpers take the hops' keys in path order, the order in which the message
//! passes the hops, and strip the layers from the last hop's back to the first's (i2pd
//! `Tunnel::EncryptTunnelMsg` walks its hop list, which `HandleTunnelBuildResponse` fills from
//! the last hop to the first).
//!
//! # Choices taken from i2pd 2.45.1
//!
//! Where the spec leaves room, this module does what i2pd does:
//!
//! * Layer cipher (`Crypto.cpp`, `TunnelEncryption::Encrypt` / `TunnelDecryption::Decrypt`):
//!   ECB(IV key) on the IV, CBC(layer key) on the data chained from that once-encrypted IV,
//!   ECB(IV key) on the IV again; decryption mirrors it.
//! * Packing (`TunnelGateway.cpp`, `TunnelGatewayBuffer::PutI2NPMsg`): content room is 1003
//!   bytes per payload (`TUNNEL_DATA_MAX_PAYLOAD_SIZE`); messages are appended to the open
//!   payload while they fit; a message that does not fit either starts a new payload or, by
//!   i2pd's estimate of how well its tail would pack, fills the rest of the open one as a first
//!   fragment and continues in follow-on fragments of up to 996 bytes, each in a payload of
//!   its own except the last, which leaves its payload open for the next message. Fragment
//!   numbers count up from 1; the fragmented first fragment's message id is the I2NP header's.
//! * Header bits (`TunnelEndpoint.cpp`, `HandleDecryptedTunnelDataMsg`): bit 7 follow-on;
//!   first fragment: delivery type in bits 6–5 (0 local, 1 tunnel, 2 router), bit 3
//!   fragmented, then tunnel id (4), hash (32), message id (4), size (2); follow-on: fragment
//!   number in bits 6–1, bit 0 last, then message id (4), size (2).
//! * Endpoint: follow-on fragments may arrive before their first fragment or out of order;
//!   incomplete messages are dropped 8 s after their first fragment arrived
//!   (`I2NP_MESSAGE_EXPIRATION_TIMEOUT`, `TunnelEndpoint::Cleanup`).
//!
//! Two small differences, both invisible to a reader that follows the spec: the padding is
//! fresh random non-zero bytes (i2pd copies a window of a per-gateway random buffer), and a
//! first fragment always carries at least one byte (i2pd may write an empty one when exactly
//! its header fits). The reader additionally skips the delay byte and extended options the
//! spec defines for flag bits 4 and 2, which i2pd never sets nor reads.

#![deny(clippy::indexing_slicing)]

mod endpoint;
mod fragment;
mod gateway;
mod layer;
mod payload;

pub use endpoint::{Endpoint, EndpointConfig, Received};
pub use fragment::{DeliveryInstructions, FragmentError, FragmentHeader};
pub use gateway::{Gateway, GatewayError};
pub use layer::{LayerKeys, decrypt_inbound, pre_decrypt_outbound};
pub use payload::{Fragment, PayloadError, parse_payload};

/// Bytes of a TunnelData message after its tunnel id: IV and encrypted data.
pub const PAYLOAD_LEN: usize = i2p_wire::i2np::tunnel::TUNNEL_DATA_LEN;
/// Length of the IV at the start of a payload.
pub const IV_LEN: usize = 16;
/// Length of the (encrypted) data after the IV.
pub const ENCRYPTED_LEN: usize = PAYLOAD_LEN - IV_LEN;
/// Length of the checksum at the start of the decrypted data.
pub const CHECKSUM_LEN: usize = 4;
/// Most content bytes (instructions and fragments) one payload holds: the decrypted data
/// minus checksum and zero byte (i2pd `TUNNEL_DATA_MAX_PAYLOAD_SIZE`).
pub const MAX_CONTENT_LEN: usize = ENCRYPTED_LEN - CHECKSUM_LEN - 1;
/// Length of a follow-on fragment's header.
pub const FOLLOW_ON_HEADER_LEN: usize = 7;
/// Most message bytes one follow-on fragment carries.
pub const MAX_FOLLOW_ON_LEN: usize = MAX_CONTENT_LEN - FOLLOW_ON_HEADER_LEN;
/// Highest follow-on fragment number (6 bits).
pub const MAX_FRAGMENT_NUMBER: u8 = 63;
/// Length of an I2NP message's standard header, which every message carried here has.
pub const I2NP_HEADER_LEN: usize = i2p_wire::i2np::STANDARD_HEADER_LEN;

/// The 1024 bytes of a TunnelData message after the tunnel id.
pub type Payload = [u8; PAYLOAD_LEN];
