//! Front-ends that turn ordinary TCP/HTTP/SOCKS clients and servers into I2P streams.
//!
//! Home of the HTTP proxy, the SOCKS proxy and the YAML-configured client/server tunnels
//! (issue "HTTP and SOCKS proxies"). They depend only on the router's client API, never on
//! router internals. Nothing is implemented here yet.
