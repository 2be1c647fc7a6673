//! I2P tunnels without IO (spec/tunnel-creation-ecies.md, spec/tunnel-message.md,
//! spec/tunnel-implementation.md, spec/i2np.md).
//!
//! | module | owns |
//! |---|---|
//! | [`build`] | short ECIES build records for both ends: the creator's `RequestBuilder`/`PendingBuild` (shuffled slots, fake records, pre-removed layers, replies read back) for our own tunnels, and the hop side; the key schedule |
//! | [`transit`] | the hop side of short (ECIES) build records, the creator's sealing/reading of them, and one hop's layer cipher — what transit tunnels need |
//! | [`gateway`] | the inbound gateway's fragmentation of a message into TunnelData payloads |

pub mod build;
pub mod gateway;
pub mod transit;
