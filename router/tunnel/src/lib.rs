//! I2P tunnels without IO (spec/tunnel-creation-ecies.md, spec/tunnel-message.md,
//! spec/tunnel-implementation.md, spec/i2np.md).
//!
//! | module | owns |
//! |---|---|
//! | [`build`] | ECIES-X25519 build request/reply records: creating them for our own tunnels, and opening, answering and re-encrypting them as a hop; the key derivations |
//! | [`transit`] | the hop side of short (ECIES) build records, the creator's sealing/reading of them, and one hop's layer cipher — what transit tunnels need |
//! | [`gateway`] | the inbound gateway's fragmentation of a message into TunnelData payloads |
//! | [`pool`] | our own tunnels: building them through chosen peers, reading the replies, testing, replacing before expiry, sending through outbound and receiving at the end of inbound tunnels |
//! | [`data`] | tunnel layer encryption (IV and layer keys), TunnelData messages, delivery instructions, gateway fragmentation and endpoint reassembly |

pub mod build;
pub mod data;
pub mod gateway;
pub mod long_record;
pub mod pool;
pub mod transit;
