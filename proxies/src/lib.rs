//! Front-ends that turn ordinary TCP, HTTP and SOCKS clients and servers into I2P streams.
//! They depend only on the client API (`i2p-client`), never on router internals.
//!
//! | module | owns |
//! |---|---|
//! | [`socks`] | the SOCKS4a/5 proxy (and its pure handshake parser, [`socks::proto`]) |
//! | [`http`] | the HTTP proxy: planning ([`http::plan`]), pages, the hyper server |
//! | [`sam`] | the SAMv3 bridge (TCP control port and UDP datagram port) |
//! | [`tunnels`] | I2PTunnel-style server (plain, http, irc) and client tunnels |
//! | [`names`] | mapping the DNS server's virtual addresses back to names |

pub mod http;
pub mod names;
pub mod sam;
pub mod socks;
pub mod tunnels;
