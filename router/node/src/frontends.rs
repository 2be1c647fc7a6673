//! Front-ends the router starts from its configuration, all on the in-process client API.
//! So far: the SAMv3 bridge (`sam:`).

use std::net::SocketAddr;
use std::sync::Arc;

use i2p_client::Client;
use tokio::net::{TcpListener, UdpSocket};
use tracing::warn;

use crate::client::RouterClient;
use crate::config::Config;
use crate::run::RunError;

/// Handles of the running front-ends (their tasks stop with the runtime).
#[derive(Debug, Default)]
pub struct Frontends {
    pub sam: Option<SocketAddr>,
}

/// Start what the configuration enables. A port that cannot be bound is an error: a router
/// that silently runs without the bridge it was asked for is worse than one that stops.
pub async fn start(config: &Config, client: &RouterClient) -> Result<Frontends, RunError> {
    let mut out = Frontends::default();
    if config.sam.enabled {
        let tcp_addr = SocketAddr::new(config.sam.host, config.sam.port.get());
        let udp_addr = SocketAddr::new(config.sam.host, config.sam.udp_port.get());
        let listener = TcpListener::bind(tcp_addr)
            .await
            .map_err(|source| RunError::Listen {
                addr: tcp_addr,
                source,
            })?;
        let udp = UdpSocket::bind(udp_addr)
            .await
            .map_err(|source| RunError::Listen {
                addr: udp_addr,
                source,
            })?;
        let client: Arc<dyn Client> = Arc::new(client.clone());
        let bridge =
            i2p_proxies::sam::SamBridge::new(i2p_proxies::sam::SamConfig::default(), client, udp);
        let b = bridge.clone();
        tokio::spawn(async move {
            if let Err(e) = b.serve_tcp(listener).await {
                warn!(error = %e, "SAM bridge stopped");
            }
        });
        tokio::spawn(async move {
            if let Err(e) = bridge.serve_udp().await {
                warn!(error = %e, "SAM datagram port stopped");
            }
        });
        out.sam = Some(tcp_addr);
    }
    Ok(out)
}
