//! I2PTunnel-style tunnels over the client API (the runtime; the YAML that describes them is
//! the router's config). Server tunnels publish a TCP service as an I2P destination; client
//! tunnels listen on a local port and open a stream to a fixed destination per connection.
//!
//! | type | does |
//! |---|---|
//! | `server` | each incoming stream → a TCP connection to `target` |
//! | `http` | like `server`, plus per request: client-sent `X-I2P-*` headers removed, `X-I2P-DestHash`, `X-I2P-DestB64`, `X-I2P-DestB32` of the connecting destination added, `Host` rewritten to the configured host (Java I2P's I2PTunnelHTTPServer behaviour) |
//! | `irc` | like `server`, optionally sending a `WEBIRC` line first so the IRC server shows the client's b32 instead of 127.0.0.1 |
//! | `client` | each local TCP connection → a stream to `destination`:`port` |
//!
//! Server tunnels may restrict who connects with an access list of destination hashes.

use i2p_client::{ConnectOptions, I2pStream, LocalDestination, Target};
use i2p_wire::Hash;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

/// The longest HTTP request head an `http` server tunnel accepts from a client.
const MAX_HEAD: usize = 64 * 1024;
/// Time a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Who may connect to a server tunnel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AccessList {
    #[default]
    Everyone,
    Allow(HashSet<Hash>),
    Deny(HashSet<Hash>),
}

impl AccessList {
    pub fn permits(&self, h: &Hash) -> bool {
        match self {
            AccessList::Everyone => true,
            AccessList::Allow(s) => s.contains(h),
            AccessList::Deny(s) => !s.contains(h),
        }
    }
}

/// What a server tunnel does with each stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerKind {
    Plain,
    /// `host_header`: the `Host` value the backend expects (defaults to the target host).
    Http {
        host_header: String,
    },
    /// `webirc`: the WEBIRC password, if the IRC server is configured for it.
    Irc {
        webirc: Option<String>,
    },
}

/// A server tunnel: `dest`'s incoming streams go to `target` (`host:port`, any host).
#[derive(Clone, Debug)]
pub struct ServerTunnel {
    pub name: String,
    pub kind: ServerKind,
    pub target: String,
    /// only streams to this I2P port (0 = any)
    pub in_port: u16,
    pub access: AccessList,
}

/// Accept streams on `dest` forever and serve them as `tunnel` says.
pub async fn run_server(tunnel: Arc<ServerTunnel>, dest: Arc<dyn LocalDestination>) {
    info!(tunnel = %tunnel.name, b32 = %dest.b32(), target = %tunnel.target, "server tunnel up");
    loop {
        let stream = match dest.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!(tunnel = %tunnel.name, error = %e, "server tunnel stopped accepting");
                return;
            }
        };
        if tunnel.in_port != 0 && stream.local_port != tunnel.in_port {
            debug!(tunnel = %tunnel.name, port = stream.local_port, "stream to another port ignored");
            continue;
        }
        if !tunnel.access.permits(&stream.remote.hash()) {
            info!(tunnel = %tunnel.name, from = %stream.remote.b32_address(), "refused by the access list");
            continue;
        }
        let t = tunnel.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_stream(&t, stream).await {
                debug!(tunnel = %t.name, error = %e, "server tunnel stream ended");
            }
        });
    }
}

async fn serve_stream(t: &ServerTunnel, mut stream: I2pStream) -> std::io::Result<()> {
    let mut backend = TcpStream::connect(&t.target).await?;
    match &t.kind {
        ServerKind::Plain => {}
        ServerKind::Irc { webirc } => {
            if let Some(pw) = webirc {
                // WEBIRC <password> <gateway> <hostname> <ip>: the b32 stands in for the host
                let line = format!(
                    "WEBIRC {pw} cgiirc {} 127.0.0.1\r\n",
                    stream.remote.b32_address()
                );
                backend.write_all(line.as_bytes()).await?;
            }
        }
        ServerKind::Http { host_header } => {
            let head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "request head timeout")
                })??;
            let (head, rest) = head;
            let rewritten =
                rewrite_http_head(&head, host_header, &stream.remote).ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed request head")
                })?;
            backend.write_all(&rewritten).await?;
            backend.write_all(&rest).await?;
        }
    }
    tokio::io::copy_bidirectional(&mut stream, &mut backend).await?;
    Ok(())
}

/// Read up to and including the blank line; returns (head, bytes read past it).
async fn read_head<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(p + 4);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before the request head ended",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Rewrite an HTTP request head for the backend: drop client-sent `X-I2P-*` headers (so a
/// client cannot pose as another destination), set `Host`, add the connecting destination's
/// `X-I2P-DestHash` / `X-I2P-DestB64` / `X-I2P-DestB32`. `None` if the head is not HTTP.
pub fn rewrite_http_head(head: &[u8], host: &str, from: &i2p_wire::Destination) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next()?;
    let mut parts = request_line.split(' ');
    let (_method, _target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/") {
        return None;
    }
    let mut out = String::with_capacity(head.len() + 700);
    out.push_str(request_line);
    out.push_str("\r\n");
    out.push_str(&format!("Host: {host}\r\n"));
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, _) = line.split_once(':')?;
        let n = name.trim().to_ascii_lowercase();
        if n == "host" || n.starts_with("x-i2p-") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "X-I2P-DestHash: {}\r\n",
        i2p_wire::base64::encode(from.hash().as_ref())
    ));
    out.push_str(&format!("X-I2P-DestB64: {}\r\n", from.to_base64()));
    out.push_str(&format!("X-I2P-DestB32: {}\r\n", from.b32_address()));
    out.push_str("\r\n");
    Some(out.into_bytes())
}

/// A client tunnel: connections to `listener` become streams to `destination`:`port`.
#[derive(Clone, Debug)]
pub struct ClientTunnel {
    pub name: String,
    pub destination: String,
    pub port: u16,
}

/// Serve a client tunnel on `listener` until it fails.
pub async fn run_client(
    tunnel: Arc<ClientTunnel>,
    listener: TcpListener,
    dest: Arc<dyn LocalDestination>,
) -> std::io::Result<()> {
    info!(tunnel = %tunnel.name, addr = %listener.local_addr()?, to = %tunnel.destination, "client tunnel up");
    loop {
        let (mut conn, peer) = listener.accept().await?;
        let (t, d) = (tunnel.clone(), dest.clone());
        tokio::spawn(async move {
            let opts = ConnectOptions {
                from_port: 0,
                to_port: t.port,
                timeout: None,
            };
            match d.connect(Target::Name(t.destination.clone()), opts).await {
                Ok(mut s) => {
                    let _ = copy(&mut conn, &mut s).await;
                }
                Err(e) => {
                    warn!(tunnel = %t.name, %peer, error = %e, "client tunnel could not reach its destination")
                }
            }
        });
    }
}

async fn copy<A, B>(a: &mut A, b: &mut B) -> std::io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    tokio::io::copy_bidirectional(a, b).await
}
