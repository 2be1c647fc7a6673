//! Front-ends the router starts from its configuration, all on the in-process client API: the
//! SAMv3 bridge (`sam:`), the HTTP and SOCKS proxies (`http_proxy:`, `socks_proxy:`, sharing
//! one destination, `shared_client:`) and the I2PTunnel-style tunnels (`tunnels:` plus the
//! files of `<data-dir>/tunnels.d/`), which SIGHUP reloads.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use i2p_client::{Client, DestinationKeys, DestinationSpec, LocalDestination, TunnelOptions};
use i2p_proxies::tunnels::{AccessList, ClientTunnel, ServerKind, ServerTunnel};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::client::RouterClient;
use crate::config::{
    Access, Config, TunnelConfig, TunnelKeys, TunnelKind, TunnelShape, check_tunnel_set,
    load_tunnel_dir,
};
use crate::naming::Naming;
use crate::run::RunError;

/// The directory of extra tunnel files, under the data directory.
pub const TUNNELS_DIR: &str = "tunnels.d";

/// Handles of the running front-ends (their tasks stop with the runtime).
#[derive(Debug, Default)]
pub struct Frontends {
    pub sam: Option<SocketAddr>,
    pub http_proxy: Option<SocketAddr>,
    pub socks_proxy: Option<SocketAddr>,
    pub dns: Option<SocketAddr>,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Listen { addr, source })
}

/// Start what the configuration enables. A port that cannot be bound, or a tunnel that cannot
/// start, is an error: a router that silently runs without the front-end it was asked for is
/// worse than one that stops and says why.
pub async fn start(
    config: &Config,
    router: &RouterClient,
    naming: &Arc<Naming>,
    ops: &Arc<crate::ops::Ops>,
    data_dir: &Path,
    config_path: Option<&Path>,
) -> Result<Frontends, RunError> {
    let mut out = Frontends::default();
    let client: Arc<dyn Client> = Arc::new(router.clone());
    if config.sam.enabled {
        let tcp_addr = SocketAddr::new(config.sam.host, config.sam.port.get());
        let udp_addr = SocketAddr::new(config.sam.host, config.sam.udp_port.get());
        let listener = bind(tcp_addr).await?;
        let udp = UdpSocket::bind(udp_addr)
            .await
            .map_err(|source| RunError::Listen {
                addr: udp_addr,
                source,
            })?;
        let bridge = i2p_proxies::sam::SamBridge::new(
            i2p_proxies::sam::SamConfig::default(),
            client.clone(),
            udp,
        );
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

    if config.dns.enabled {
        let addr = SocketAddr::new(config.dns.host, config.dns.port.get());
        let (udp, tcp) = crate::naming::bind_dns(addr)
            .await
            .map_err(|source| RunError::Listen { addr, source })?;
        tokio::spawn(crate::naming::serve_dns(naming.clone(), udp, tcp));
        out.dns = Some(addr);
    }

    // the proxies: bind first, so a taken port stops the router before any tunnel is built
    let hp = &config.http_proxy;
    let sp = &config.socks_proxy;
    let http_listener = match hp.enabled {
        true => Some(bind(SocketAddr::new(hp.host, hp.port.get())).await?),
        false => None,
    };
    let socks_listener = match sp.enabled {
        true => Some(bind(SocketAddr::new(sp.host, sp.port.get())).await?),
        false => None,
    };
    let feeds: Vec<String> = match &config.addressbook.subscriptions {
        Some(list) => list.0.clone(),
        None if config.network.net_id == crate::config::NetId::MAIN => {
            vec![crate::naming::DEFAULT_PUBLIC_FEED.to_string()]
        }
        None => Vec::new(),
    };
    let (kick_tx, kick_rx) = tokio::sync::mpsc::channel::<()>(1);
    let transparent_listener = match config.transparent.enabled {
        true => Some(
            bind(SocketAddr::new(
                config.transparent.host,
                config.transparent.port.get(),
            ))
            .await?,
        ),
        false => None,
    };
    if http_listener.is_some()
        || socks_listener.is_some()
        || transparent_listener.is_some()
        || !feeds.is_empty()
    {
        let sc = &config.shared_client;
        let spec = DestinationSpec {
            keys: None,
            tunnels: TunnelOptions {
                inbound_length: sc.inbound_length,
                outbound_length: sc.outbound_length,
                inbound_quantity: sc.inbound_quantity,
                outbound_quantity: sc.outbound_quantity,
                inbound_length_variance: 0,
                outbound_length_variance: 0,
            },
            // as i2pd's proxies: replies find us through the LeaseSet bundled with our
            // messages, nobody needs to look it up
            publish: false,
            nickname: "shared clients".into(),
        };
        let dest = client
            .create_destination(spec)
            .await
            .map_err(|e| RunError::Frontend(format!("proxy destination: {e}")))?;
        if http_listener.is_some() || socks_listener.is_some() || transparent_listener.is_some() {
            ops.watch("shared clients", dest.clone());
        }
        let every =
            std::time::Duration::from_secs(u64::from(config.addressbook.refresh_hours) * 3600);
        tokio::spawn(crate::naming::run_subscriptions(
            naming.clone(),
            dest.clone(),
            feeds,
            every,
            kick_rx,
        ));
        if let Some(listener) = transparent_listener {
            tokio::spawn(crate::naming::serve_transparent(
                naming.clone(),
                dest.clone(),
                listener,
            ));
        }
        if let Some(listener) = http_listener {
            out.http_proxy = listener.local_addr().ok();
            let pcfg = i2p_proxies::http::HttpProxyConfig {
                jump_services: hp
                    .jump_services
                    .0
                    .iter()
                    .map(|url| i2p_proxies::http::pages::JumpService {
                        name: url
                            .trim_start_matches("http://")
                            .split('/')
                            .next()
                            .unwrap_or(url)
                            .to_string(),
                        url_prefix: url.clone(),
                    })
                    .collect(),
                outproxy: hp.outproxy.clone(),
                ..Default::default()
            };
            let proxy = i2p_proxies::http::HttpProxy::new(
                pcfg,
                client.clone(),
                dest.clone(),
                naming.clone(),
            );
            tokio::spawn(async move {
                if let Err(e) = proxy.serve(listener).await {
                    error!(error = %e, "HTTP proxy stopped");
                }
            });
        }
        if let Some(listener) = socks_listener {
            out.socks_proxy = listener.local_addr().ok();
            let scfg = Arc::new(i2p_proxies::socks::SocksConfig {
                auth: sp.username.clone().zip(sp.password.clone()),
                outproxy: sp.outproxy.clone(),
            });
            let (d, names) = (dest.clone(), naming.clone());
            tokio::spawn(async move {
                if let Err(e) = i2p_proxies::socks::serve(listener, scfg, d, names).await {
                    error!(error = %e, "SOCKS proxy stopped");
                }
            });
        }
    }

    // tunnels
    let mut set = TunnelSet {
        client: client.clone(),
        ops: ops.clone(),
        data_dir: data_dir.to_path_buf(),
        running: HashMap::new(),
    };
    let wanted = collect_tunnels(&config.tunnels, data_dir)
        .map_err(|e| RunError::Frontend(format!("tunnels: {e}")))?;
    for t in &wanted {
        let r = set
            .start_one(t)
            .await
            .map_err(|e| RunError::Frontend(format!("tunnel {:?} ({}): {e}", t.name, t.origin)))?;
        set.running.insert(t.name.clone(), r);
    }
    let config_path = config_path.map(Path::to_path_buf);
    tokio::spawn(reload_on_sighup(set, config_path, kick_tx));
    Ok(out)
}

/// The config file's tunnels plus those of `<data-dir>/tunnels.d`, checked as one set.
pub fn collect_tunnels(
    from_config: &[TunnelConfig],
    data_dir: &Path,
) -> Result<Vec<TunnelConfig>, String> {
    let mut all = from_config.to_vec();
    all.extend(load_tunnel_dir(&data_dir.join(TUNNELS_DIR)).map_err(|e| e.to_string())?);
    check_tunnel_set(&all)?;
    Ok(all)
}

struct Running {
    config: TunnelConfig,
    dest: Arc<dyn LocalDestination>,
    task: JoinHandle<()>,
}

impl Running {
    fn stop(self) {
        self.task.abort();
        self.dest.close();
    }
}

struct TunnelSet {
    client: Arc<dyn Client>,
    ops: Arc<crate::ops::Ops>,
    data_dir: PathBuf,
    running: HashMap<String, Running>,
}

impl TunnelSet {
    async fn start_one(&self, t: &TunnelConfig) -> Result<Running, String> {
        let keys = match &t.keys {
            TunnelKeys::Transient => None,
            TunnelKeys::File(p) => {
                let path = key_path(&self.data_dir, p);
                if let Some(parent) = path.parent() {
                    create_private_dir(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                let (keys, created) =
                    crate::client::keys_file::load_or_create(&path).map_err(|e| e.to_string())?;
                if created {
                    info!(tunnel = %t.name, file = %path.display(), "new destination keys written");
                }
                Some(DestinationKeys(keys.to_bytes().to_vec()))
            }
        };
        let spec = DestinationSpec {
            keys,
            tunnels: tunnel_options(&t.shape),
            publish: t.is_server(),
            nickname: t.name.clone(),
        };
        // bind before building tunnels: a taken port is reported at once
        let listener = match &t.kind {
            TunnelKind::Client { listen, .. } => Some(
                TcpListener::bind(listen)
                    .await
                    .map_err(|e| format!("cannot listen on {listen}: {e}"))?,
            ),
            _ => None,
        };
        let dest = self
            .client
            .create_destination(spec)
            .await
            .map_err(|e| e.to_string())?;
        let task = match (&t.kind, listener) {
            (
                TunnelKind::Client {
                    destination, port, ..
                },
                Some(listener),
            ) => {
                info!(
                    tunnel = %t.name,
                    listen = %listener.local_addr().map_or_else(|_| "?".into(), |a| a.to_string()),
                    to = %destination,
                    b32 = %dest.b32(),
                    "client tunnel configured"
                );
                let ct = Arc::new(ClientTunnel {
                    name: t.name.clone(),
                    destination: destination.clone(),
                    port: *port,
                });
                let (d, name) = (dest.clone(), t.name.clone());
                tokio::spawn(async move {
                    if let Err(e) = i2p_proxies::tunnels::run_client(ct, listener, d).await {
                        error!(tunnel = %name, error = %e, "client tunnel stopped");
                    }
                })
            }
            (kind, _) => {
                let (server, skind) = match kind {
                    TunnelKind::Server(s) => (s, ServerKind::Plain),
                    TunnelKind::Http {
                        server,
                        host_header,
                    } => (
                        server,
                        ServerKind::Http {
                            host_header: host_header.clone(),
                        },
                    ),
                    TunnelKind::Irc { server, webirc } => (
                        server,
                        ServerKind::Irc {
                            webirc: webirc.clone(),
                        },
                    ),
                    TunnelKind::Client { .. } => {
                        return Err("client tunnel without a listener".into());
                    }
                };
                // the one line an operator looks for: where the service is published
                info!(
                    tunnel = %t.name,
                    kind = %t.kind,
                    target = %server.target,
                    "server tunnel published at {}",
                    dest.b32()
                );
                let st = Arc::new(ServerTunnel {
                    name: t.name.clone(),
                    kind: skind,
                    target: server.target.clone(),
                    in_port: server.inport,
                    access: match &server.access {
                        Access::Everyone => AccessList::Everyone,
                        Access::Allow(v) => AccessList::Allow(v.iter().copied().collect()),
                        Access::Deny(v) => AccessList::Deny(v.iter().copied().collect()),
                    },
                });
                let d = dest.clone();
                tokio::spawn(i2p_proxies::tunnels::run_server(st, d))
            }
        };
        self.ops.watch(&t.name, dest.clone());
        if t.is_server() {
            self.ops.published(&t.name, dest.b32());
        }
        Ok(Running {
            config: t.clone(),
            dest,
            task,
        })
    }

    /// Bring the running set to `wanted`: stop what is gone or changed, start what is new or
    /// changed, leave the rest alone. A tunnel that fails to start is logged; the others run.
    async fn apply(&mut self, wanted: Vec<TunnelConfig>) {
        let keep: Vec<String> = self
            .running
            .iter()
            .filter(|(name, r)| {
                wanted
                    .iter()
                    .any(|w| &w.name == *name && w.same_settings(&r.config))
            })
            .map(|(n, _)| n.clone())
            .collect();
        let stop: Vec<String> = self
            .running
            .keys()
            .filter(|n| !keep.contains(n))
            .cloned()
            .collect();
        for name in stop {
            if let Some(r) = self.running.remove(&name) {
                info!(tunnel = %name, "tunnel stopped (removed or changed)");
                self.ops.unwatch(&name);
                r.stop();
            }
        }
        for t in wanted.iter().filter(|t| !keep.contains(&t.name)) {
            match self.start_one(t).await {
                Ok(r) => {
                    info!(tunnel = %t.name, origin = %t.origin, "tunnel started");
                    self.running.insert(t.name.clone(), r);
                }
                Err(e) => {
                    error!(tunnel = %t.name, origin = %t.origin, error = %e, "tunnel not started")
                }
            }
        }
    }
}

fn tunnel_options(s: &TunnelShape) -> TunnelOptions {
    TunnelOptions {
        inbound_length: s.inbound_length,
        outbound_length: s.outbound_length,
        inbound_quantity: s.inbound_quantity,
        outbound_quantity: s.outbound_quantity,
        inbound_length_variance: s.inbound_length_variance,
        outbound_length_variance: s.outbound_length_variance,
    }
}

/// A tunnel key path: absolute as given, relative under the data directory.
pub fn key_path(data_dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        data_dir.join(p)
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// SIGHUP: fetch the address book subscriptions now, and re-read the config file's
/// `tunnels:` and `tunnels.d/`. A file with an error leaves
/// every tunnel as it was (logged); only tunnels are reloaded, other sections need a restart.
async fn reload_on_sighup(
    mut set: TunnelSet,
    config_path: Option<PathBuf>,
    feeds: tokio::sync::mpsc::Sender<()>,
) {
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "cannot listen for SIGHUP; tunnels will not be reloaded");
            return;
        }
    };
    while hup.recv().await.is_some() {
        info!("SIGHUP: reloading tunnels, fetching subscriptions");
        // a fetch already waiting to start is enough
        let _ = feeds.try_send(());
        let from_config = match &config_path {
            // the environment cannot set tunnels, but it is part of what made the config valid
            Some(p) => match crate::cli::config_env()
                .map_err(|e| e.to_string())
                .and_then(|env| Config::load_with_env(p, &env).map_err(|e| e.to_string()))
            {
                Ok(l) => l.config.tunnels,
                Err(e) => {
                    error!("reload refused, tunnels unchanged: {e}");
                    continue;
                }
            },
            None => Vec::new(),
        };
        match collect_tunnels(&from_config, &set.data_dir) {
            Ok(wanted) => set.apply(wanted).await,
            Err(e) => error!("reload refused, tunnels unchanged: {e}"),
        }
    }
}
