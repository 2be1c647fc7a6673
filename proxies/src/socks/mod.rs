//! The SOCKS proxy: SOCKS5 (no auth or username/password) and SOCKS4/4a CONNECT to `.i2p` and
//! `.b32.i2p` hosts, over the client API. IPv4/IPv6 targets inside the DNS server's virtual
//! range map back to the name they were handed out for; any other target is refused with
//! "connection not allowed by ruleset" unless an outproxy is configured — nothing leaves the
//! router for a clearnet address by accident.

pub mod proto;

use crate::names::VirtualNames;
use i2p_client::{ClientError, ConnectOptions, LocalDestination, Target};
use proto::{ConnectRequest, Host, Parsed, Reply5, SocksError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

/// The longest handshake we buffer before giving up on a client.
const MAX_HANDSHAKE: usize = 1024;
/// A client must finish the handshake within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// SOCKS proxy settings.
#[derive(Clone, Debug, Default)]
pub struct SocksConfig {
    /// `Some((user, password))` requires RFC 1929 authentication.
    pub auth: Option<(String, String)>,
    /// An I2P destination (name or b32) running a SOCKS5 server, used for non-I2P targets.
    pub outproxy: Option<String>,
}

/// Why a client's request ended without a stream.
#[derive(Debug, thiserror::Error)]
pub enum SocksFailure {
    #[error("handshake: {0}")]
    Protocol(#[from] SocksError),
    #[error("handshake timed out or was too long")]
    Handshake,
    #[error("authentication failed")]
    Auth,
    #[error("{0} is not an I2P destination and no outproxy is configured")]
    NotI2p(String),
    #[error("I2P: {0}")]
    Client(#[from] ClientError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Accept SOCKS clients on `listener` until it fails; one task per client.
pub async fn serve(
    listener: TcpListener,
    config: Arc<SocksConfig>,
    dest: Arc<dyn LocalDestination>,
    names: Arc<dyn VirtualNames>,
) -> std::io::Result<()> {
    info!(addr = %listener.local_addr()?, "SOCKS proxy listening");
    loop {
        let (conn, peer) = listener.accept().await?;
        let (config, dest, names) = (config.clone(), dest.clone(), names.clone());
        tokio::spawn(async move {
            if let Err(e) = handle(conn, peer, &config, dest.as_ref(), names.as_ref()).await {
                debug!(%peer, error = %e, "SOCKS request failed");
            }
        });
    }
}

/// Read until `parse` is satisfied, keeping surplus bytes in `buf`.
async fn read_until<R, T>(
    io: &mut R,
    buf: &mut Vec<u8>,
    parse: impl Fn(&[u8]) -> Result<Parsed<T>, SocksError>,
) -> Result<T, SocksFailure>
where
    R: AsyncRead + Unpin,
{
    loop {
        if let Parsed::Done(v, used) = parse(buf)? {
            buf.drain(..used);
            return Ok(v);
        }
        if buf.len() >= MAX_HANDSHAKE {
            return Err(SocksFailure::Handshake);
        }
        let mut chunk = [0u8; 512];
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(SocksFailure::Handshake);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn handle(
    mut conn: TcpStream,
    peer: SocketAddr,
    config: &SocksConfig,
    dest: &dyn LocalDestination,
    names: &dyn VirtualNames,
) -> Result<(), SocksFailure> {
    let mut buf = Vec::with_capacity(256);
    let req = tokio::time::timeout(HANDSHAKE_TIMEOUT, negotiate(&mut conn, &mut buf, config))
        .await
        .map_err(|_| SocksFailure::Handshake)??;
    let target = match &req.host {
        Host::Name(n) if is_i2p(n) => Some(n.to_ascii_lowercase()),
        Host::Name(_) => None,
        Host::V4(ip) => names.name_for_ip((*ip).into()),
        Host::V6(ip) => names.name_for_ip((*ip).into()),
    };
    let shown = match &req.host {
        Host::Name(n) => n.clone(),
        Host::V4(ip) => ip.to_string(),
        Host::V6(ip) => ip.to_string(),
    };
    let stream = match (target, &config.outproxy) {
        (Some(name), _) => {
            let opts = ConnectOptions {
                from_port: 0,
                to_port: req.port,
                timeout: None,
            };
            dest.connect(Target::Name(name), opts).await
        }
        (None, Some(outproxy)) => via_outproxy(dest, outproxy, &req).await,
        (None, None) => {
            warn!(%peer, host = %shown, "SOCKS: refusing a non-I2P target (no outproxy configured)");
            reply(&mut conn, &req, Err(Reply5::NotAllowed)).await?;
            return Err(SocksFailure::NotI2p(shown));
        }
    };
    let mut stream = match stream {
        Ok(s) => s,
        Err(e) => {
            reply(&mut conn, &req, Err(reply_code(&e))).await?;
            return Err(e.into());
        }
    };
    reply(&mut conn, &req, Ok(())).await?;
    debug!(%peer, host = %shown, port = req.port, "SOCKS stream open");
    if !buf.is_empty() {
        stream.write_all(&buf).await?;
    }
    tokio::io::copy_bidirectional(&mut conn, &mut stream).await?;
    Ok(())
}

async fn negotiate(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
    config: &SocksConfig,
) -> Result<ConnectRequest, SocksFailure> {
    read_until(conn, buf, |b| {
        Ok(if b.is_empty() {
            Parsed::Incomplete
        } else {
            Parsed::Done((), 0)
        })
    })
    .await?;
    match proto::version(buf) {
        Some(5) => {
            let offered = read_until(conn, buf, proto::parse_greeting).await?;
            let method = proto::choose_method(&offered, config.auth.is_some());
            conn.write_all(&[5, method]).await?;
            if method == proto::METHOD_NOT_ACCEPTABLE {
                return Err(SocksError::NoAcceptableMethod.into());
            }
            if let Some((user, pass)) = &config.auth {
                let (u, p) = read_until(conn, buf, proto::parse_userpass).await?;
                let ok = u == user.as_bytes() && p == pass.as_bytes();
                conn.write_all(&[1, if ok { 0 } else { 1 }]).await?;
                if !ok {
                    return Err(SocksFailure::Auth);
                }
            }
            match read_until(conn, buf, proto::parse_socks5_request).await {
                Err(SocksFailure::Protocol(e)) => {
                    let code = match e {
                        SocksError::Command(_) => Reply5::CommandNotSupported,
                        SocksError::AddressType(_) => Reply5::AddressTypeNotSupported,
                        _ => Reply5::GeneralFailure,
                    };
                    conn.write_all(&proto::socks5_reply(code)).await?;
                    Err(e.into())
                }
                other => other,
            }
        }
        Some(4) => {
            if config.auth.is_some() {
                conn.write_all(&proto::socks4_reply(false)).await?;
                return Err(SocksFailure::Auth);
            }
            match read_until(conn, buf, proto::parse_socks4_request).await {
                Err(e @ SocksFailure::Protocol(_)) => {
                    conn.write_all(&proto::socks4_reply(false)).await?;
                    Err(e)
                }
                other => other,
            }
        }
        Some(v) => Err(SocksError::Version(v).into()),
        None => Err(SocksFailure::Handshake),
    }
}

async fn reply(
    conn: &mut TcpStream,
    req: &ConnectRequest,
    result: Result<(), Reply5>,
) -> std::io::Result<()> {
    if req.version == 4 {
        conn.write_all(&proto::socks4_reply(result.is_ok())).await
    } else {
        conn.write_all(&proto::socks5_reply(
            result.err().unwrap_or(Reply5::Succeeded),
        ))
        .await
    }
}

/// The SOCKS5 reply for a client-API error.
pub fn reply_code(e: &ClientError) -> Reply5 {
    match e {
        ClientError::UnknownName(_)
        | ClientError::InvalidKey(_)
        | ClientError::LeaseSetNotFound(_) => Reply5::HostUnreachable,
        ClientError::Timeout(_) => Reply5::TtlExpired,
        ClientError::Refused => Reply5::ConnectionRefused,
        ClientError::NotReady => Reply5::NetworkUnreachable,
        _ => Reply5::GeneralFailure,
    }
}

fn is_i2p(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h.ends_with(".i2p")
}

/// Reach a clearnet target through an outproxy destination that speaks SOCKS5.
async fn via_outproxy(
    dest: &dyn LocalDestination,
    outproxy: &str,
    req: &ConnectRequest,
) -> Result<i2p_client::I2pStream, ClientError> {
    let mut s = dest
        .connect(
            Target::Name(outproxy.to_string()),
            ConnectOptions::default(),
        )
        .await?;
    let fail = |_| ClientError::Refused;
    s.write_all(&[5, 1, 0]).await.map_err(fail)?;
    let mut m = [0u8; 2];
    s.read_exact(&mut m).await.map_err(fail)?;
    if m != [5, 0] {
        return Err(ClientError::Refused);
    }
    let mut r = vec![5, 1, 0];
    match &req.host {
        Host::Name(n) => {
            let n = n.as_bytes();
            r.push(3);
            r.push(
                u8::try_from(n.len())
                    .map_err(|_| ClientError::InvalidKey("host name too long".into()))?,
            );
            r.extend_from_slice(n);
        }
        Host::V4(ip) => {
            r.push(1);
            r.extend_from_slice(&ip.octets());
        }
        Host::V6(ip) => {
            r.push(4);
            r.extend_from_slice(&ip.octets());
        }
    }
    r.extend_from_slice(&req.port.to_be_bytes());
    s.write_all(&r).await.map_err(fail)?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.map_err(fail)?;
    if head[1] != 0 {
        return Err(ClientError::Refused);
    }
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut l = [0u8; 1];
            s.read_exact(&mut l).await.map_err(fail)?;
            usize::from(l[0]) + 2
        }
        _ => return Err(ClientError::Refused),
    };
    let mut skip = vec![0u8; rest];
    s.read_exact(&mut skip).await.map_err(fail)?;
    Ok(s)
}
