//! The SAMv3 bridge (docs/api/samv3.md, versions 3.0–3.3) over the client API: HELLO with
//! version negotiation and optional USER/PASSWORD; SESSION CREATE (STREAM, DATAGRAM, RAW,
//! DATAGRAM2, DATAGRAM3, PRIMARY/MASTER) with TRANSIENT or given keys, returning once tunnels
//! are ready (`i2cp.dontPublishLeaseSet=true` keeps the LeaseSet out of the netDb); SESSION
//! ADD/REMOVE; STREAM CONNECT/ACCEPT/FORWARD (with SILENT); DATAGRAM SEND and
//! RAW SEND on the control socket; datagrams over UDP (default port 7655) both ways; NAMING
//! LOOKUP (ME, names, b32, base64); DEST GENERATE; PING/PONG; QUIT. A session lives as long as
//! its control socket.
//!
//! Bad input never takes the bridge down: a malformed line gets the family's `RESULT=I2P_ERROR`
//! reply and the connection goes on; an oversized line gets the error and the connection is
//! closed (it cannot be resynchronised); a client that sends no HELLO, or no first command
//! after it, within the handshake timeout gets `I2P_ERROR` and is disconnected (spec,
//! "Timeouts"). Reply lines never carry a line break taken from client input.

pub mod command;
pub mod session;

use command::Command;
use i2p_client::{
    Client, ClientError, ConnectOptions, Datagram, DatagramKind, DestinationKeys, DestinationSpec,
    I2pStream, LocalDestination, PrivateKeys, Resolved, Target, TunnelOptions,
};
use session::{Registry, Session, StreamSink, Style};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{OnceCell, mpsc};
use tracing::{debug, info, warn};

/// The highest SAM minor version we speak (3.3).
const MAX_MINOR: u8 = 3;
/// Largest datagram payload accepted from a client.
const MAX_DATAGRAM: usize = 64 * 1024;

/// SAM bridge settings.
#[derive(Clone, Debug)]
pub struct SamConfig {
    /// `Some((user, password))` requires them in HELLO (SAM 3.2).
    pub auth: Option<(String, String)>,
    /// Time a client has to send HELLO (and the first command).
    pub handshake_timeout: Duration,
    /// How long SESSION CREATE waits for tunnels before failing.
    pub session_ready_timeout: Duration,
    /// Tunnel settings when a client gives none.
    pub default_tunnels: TunnelOptions,
}

impl Default for SamConfig {
    fn default() -> Self {
        SamConfig {
            auth: None,
            handshake_timeout: Duration::from_secs(60),
            session_ready_timeout: Duration::from_secs(300),
            default_tunnels: TunnelOptions::default(),
        }
    }
}

/// The bridge: configuration, the client API, all sessions.
pub struct SamBridge {
    config: SamConfig,
    client: Arc<dyn Client>,
    registry: Registry,
    udp: Arc<UdpSocket>,
    utility: OnceCell<Arc<dyn LocalDestination>>,
}

impl std::fmt::Debug for SamBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamBridge")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The reply line family for a command verb.
fn family(verb: &str) -> (&'static str, &'static str) {
    match verb {
        "HELLO" => ("HELLO", "REPLY"),
        "STREAM" => ("STREAM", "STATUS"),
        "NAMING" => ("NAMING", "REPLY"),
        "DEST" => ("DEST", "REPLY"),
        _ => ("SESSION", "STATUS"),
    }
}

fn error_line(verb: &str, result: &str, message: &str) -> String {
    let (v, s) = family(verb);
    command::reply(v, s, &[("RESULT", result), ("MESSAGE", message)])
}

/// A client connection: buffered reads, writes either direct or through the session's writer.
struct Conn {
    rd: OwnedReadHalf,
    wr: Option<OwnedWriteHalf>,
    tx: Option<mpsc::Sender<Vec<u8>>>,
    buf: Vec<u8>,
    peer: SocketAddr,
    minor: u8,
}

enum LineError {
    TooLong,
    Io,
}

impl Conn {
    async fn read_line(&mut self) -> Result<Option<String>, LineError> {
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=p).collect();
                return Ok(Some(String::from_utf8_lossy(&line[..p]).into_owned()));
            }
            if self.buf.len() > command::MAX_LINE {
                return Err(LineError::TooLong);
            }
            let mut chunk = [0u8; 4096];
            match self.rd.read(&mut chunk).await {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return Err(LineError::Io),
            }
        }
    }

    async fn read_bytes(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            let mut chunk = [0u8; 8192];
            let got = self.rd.read(&mut chunk).await?;
            if got == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn send(&mut self, s: &str) -> std::io::Result<()> {
        if let Some(tx) = &self.tx {
            return tx
                .send(s.as_bytes().to_vec())
                .await
                .map_err(|_| std::io::ErrorKind::BrokenPipe.into());
        }
        match &mut self.wr {
            Some(w) => w.write_all(s.as_bytes()).await,
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Hand the writer to a task fed by a channel (session control sockets receive
    /// asynchronous DATAGRAM RECEIVED lines besides replies).
    fn channel_writer(&mut self) -> mpsc::Sender<Vec<u8>> {
        if let Some(tx) = &self.tx {
            return tx.clone();
        }
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
        if let Some(mut w) = self.wr.take() {
            tokio::spawn(async move {
                while let Some(b) = rx.recv().await {
                    if w.write_all(&b).await.is_err() {
                        break;
                    }
                }
            });
        }
        self.tx = Some(tx.clone());
        tx
    }

    /// The socket back in one piece, with any bytes already read past the command.
    fn into_stream(self) -> Option<(TcpStream, Vec<u8>)> {
        let wr = self.wr?;
        self.rd.reunite(wr).ok().map(|s| (s, self.buf))
    }
}

fn port_arg(cmd: &Command, key: &str, default: u16) -> Result<u16, String> {
    match cmd.get(key) {
        None | Some("") => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{key}={v} is not a port")),
    }
}

fn tunnel_options(cmd: &Command, defaults: &TunnelOptions) -> TunnelOptions {
    let mut t = defaults.clone();
    let get = |k: &str| cmd.get(k).and_then(|v| v.parse::<u8>().ok());
    let var = |k: &str| cmd.get(k).and_then(|v| v.parse::<i8>().ok());
    if let Some(v) = get("inbound.length") {
        t.inbound_length = v.min(7);
    }
    if let Some(v) = get("outbound.length") {
        t.outbound_length = v.min(7);
    }
    if let Some(v) = get("inbound.quantity") {
        t.inbound_quantity = v.clamp(1, 16);
    }
    if let Some(v) = get("outbound.quantity") {
        t.outbound_quantity = v.clamp(1, 16);
    }
    if let Some(v) = var("inbound.lengthVariance") {
        t.inbound_length_variance = v.clamp(-7, 7);
    }
    if let Some(v) = var("outbound.lengthVariance") {
        t.outbound_length_variance = v.clamp(-7, 7);
    }
    t
}

fn sig_type_ok(v: &str) -> bool {
    v == "7" || v.eq_ignore_ascii_case("EdDSA_SHA512_Ed25519")
}

/// Forward one incoming stream to a STREAM FORWARD target.
pub(crate) async fn forward_stream(mut stream: I2pStream, to: SocketAddr, silent: bool, minor: u8) {
    let conn = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(to)).await;
    let Ok(Ok(mut c)) = conn else {
        debug!(%to, "STREAM FORWARD target did not accept within 3 s; stream dropped");
        return;
    };
    if !silent {
        let line = dest_line(&stream, minor);
        if c.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
    let _ = tokio::io::copy_bidirectional(&mut c, &mut stream).await;
}

/// `$destination [FROM_PORT=n TO_PORT=n]\n` for an accepted stream.
fn dest_line(s: &I2pStream, minor: u8) -> String {
    if minor >= 2 {
        format!(
            "{} FROM_PORT={} TO_PORT={}\n",
            s.remote.to_base64(),
            s.remote_port,
            s.local_port
        )
    } else {
        format!("{}\n", s.remote.to_base64())
    }
}

impl SamBridge {
    /// `udp` is the datagram socket (bound to the SAM UDP port); it also sends forwarded
    /// datagrams to clients.
    pub fn new(config: SamConfig, client: Arc<dyn Client>, udp: UdpSocket) -> Arc<SamBridge> {
        Arc::new(SamBridge {
            config,
            client,
            registry: Registry::default(),
            udp: Arc::new(udp),
            utility: OnceCell::new(),
        })
    }

    /// Accept SAM clients on `listener` forever.
    pub async fn serve_tcp(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        info!(addr = %listener.local_addr()?, "SAM bridge listening");
        loop {
            let (s, peer) = listener.accept().await?;
            let me = self.clone();
            tokio::spawn(async move { me.handle(s, peer).await });
        }
    }

    /// Receive client datagrams on the UDP socket forever.
    pub async fn serve_udp(self: Arc<Self>) -> std::io::Result<()> {
        info!(addr = %self.udp.local_addr()?, "SAM datagram port listening");
        let mut buf = vec![0u8; MAX_DATAGRAM + 4096];
        loop {
            let (n, from) = self.udp.recv_from(&mut buf).await?;
            let pkt = buf.get(..n).unwrap_or(&[]).to_vec();
            let me = self.clone();
            tokio::spawn(async move {
                if let Err(e) = me.udp_datagram(&pkt).await {
                    debug!(%from, error = %e, "SAM UDP datagram dropped");
                }
            });
        }
    }

    async fn udp_datagram(&self, pkt: &[u8]) -> Result<(), String> {
        let nl = pkt
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("no header line")?;
        let header =
            std::str::from_utf8(pkt.get(..nl).unwrap_or(&[])).map_err(|_| "header is not UTF-8")?;
        let payload = pkt.get(nl + 1..).unwrap_or(&[]).to_vec();
        let mut words = header.split_whitespace();
        let (Some(ver), Some(nick), Some(dest)) = (words.next(), words.next(), words.next()) else {
            return Err("header needs version, nickname and destination".into());
        };
        if !ver.starts_with("3.") {
            return Err(format!("unsupported datagram version {ver}"));
        }
        // options are KEY=VALUE (docs/api/samv3.md); some clients (yosemite's
        // send_to_with_options) put bare positional values here, which are ignored rather
        // than costing the datagram
        let keyed: Vec<&str> = words.filter(|w| w.contains('=')).collect();
        let opts =
            command::parse(&format!("X Y {}", keyed.join(" "))).map_err(|e| e.to_string())?;
        let s = self
            .registry
            .get(nick)
            .ok_or_else(|| format!("no session {nick}"))?;
        let kind = s.style.datagram_kind().ok_or("not a datagram session")?;
        let dg = Datagram {
            kind,
            from: None,
            from_port: port_arg(&opts, "FROM_PORT", s.from_port)?,
            to_port: port_arg(&opts, "TO_PORT", s.to_port)?,
            payload,
        };
        s.dest
            .send_datagram(Target::Name(dest.to_string()), dg)
            .await
            .map_err(|e| e.to_string())
    }

    async fn handle(self: Arc<Self>, tcp: TcpStream, peer: SocketAddr) {
        let (rd, wr) = tcp.into_split();
        let mut c = Conn {
            rd,
            wr: Some(wr),
            tx: None,
            buf: Vec::new(),
            peer,
            minor: 0,
        };
        if !self.hello(&mut c).await {
            return;
        }
        let mut own: Option<Arc<Session>> = None;
        let mut first = true;
        let first_deadline = tokio::time::Instant::now() + self.config.handshake_timeout;
        loop {
            // the first command after HELLO must come within the handshake timeout (spec,
            // "Timeouts"; blank lines do not count); after it a socket may idle (a session's
            // control socket does)
            let next = if first {
                match tokio::time::timeout_at(first_deadline, c.read_line()).await {
                    Ok(r) => r,
                    Err(_) => {
                        let _ = c
                            .send(&error_line(
                                "SESSION",
                                "I2P_ERROR",
                                "timed out waiting for a command",
                            ))
                            .await;
                        break;
                    }
                }
            } else {
                c.read_line().await
            };
            let line = match next {
                Ok(Some(l)) => l,
                Ok(None) | Err(LineError::Io) => break,
                Err(LineError::TooLong) => {
                    let _ = c
                        .send(&error_line("SESSION", "I2P_ERROR", "command line too long"))
                        .await;
                    break;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            first = false;
            let cmd = match command::parse(&line) {
                Ok(cmd) => cmd,
                Err(e) => {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let _ = c
                        .send(&error_line(&verb, "I2P_ERROR", &e.to_string()))
                        .await;
                    // an oversized line means the client is out of step: close, as for one
                    // that never ends
                    if e == command::CommandError::TooLong {
                        break;
                    }
                    continue;
                }
            };
            let verb = cmd.verb.clone();
            let sub = cmd.sub.clone().unwrap_or_default();
            let result = match (verb.as_str(), sub.as_str()) {
                ("SESSION", "CREATE") if own.is_some() => {
                    c.send(&error_line(
                        "SESSION",
                        "I2P_ERROR",
                        "a session already exists on this socket",
                    ))
                    .await
                }
                ("SESSION", "CREATE") => match self.session_create(&mut c, &cmd).await {
                    Ok(s) => {
                        own = Some(s);
                        Ok(())
                    }
                    Err(line) => c.send(&line).await,
                },
                ("SESSION", "ADD") => {
                    let reply = self.session_add(&c, own.as_ref(), &cmd);
                    c.send(&reply).await
                }
                ("SESSION", "REMOVE") => {
                    let reply = self.session_remove(own.as_ref(), &cmd);
                    c.send(&reply).await
                }
                ("STREAM", "CONNECT" | "ACCEPT") if own.is_none() => {
                    self.stream_pipe(c, &cmd).await;
                    return;
                }
                ("STREAM", "FORWARD") if own.is_none() => {
                    self.stream_forward(c, &cmd).await;
                    return;
                }
                ("STREAM", _) => {
                    c.send(&error_line(
                        "STREAM",
                        "I2P_ERROR",
                        "use a separate socket for STREAM commands",
                    ))
                    .await
                }
                ("DATAGRAM" | "RAW", "SEND") => {
                    let reply = self.datagram_send(&mut c, own.as_ref(), &cmd).await;
                    match reply {
                        Some(r) => c.send(&r).await,
                        None => Ok(()),
                    }
                }
                ("NAMING", "LOOKUP") => {
                    let reply = self.naming_lookup(own.as_ref(), &cmd).await;
                    c.send(&reply).await
                }
                ("DEST", "GENERATE") => {
                    let reply = match cmd.get("SIGNATURE_TYPE") {
                        Some(t) if !sig_type_ok(t) => error_line(
                            "DEST",
                            "I2P_ERROR",
                            "only SIGNATURE_TYPE=7 (EdDSA_SHA512_Ed25519) is supported",
                        ),
                        _ => {
                            let k = PrivateKeys::generate(&mut rand::rng());
                            command::reply(
                                "DEST",
                                "REPLY",
                                &[
                                    ("PUB", &k.destination.to_base64()),
                                    ("PRIV", &k.to_base64()),
                                ],
                            )
                        }
                    };
                    c.send(&reply).await
                }
                ("PING", _) => {
                    c.send(&format!(
                        "PONG{}{}\n",
                        if cmd.text.is_empty() { "" } else { " " },
                        cmd.text
                    ))
                    .await
                }
                ("PONG", _) => Ok(()),
                ("QUIT" | "STOP" | "EXIT", _) => break,
                _ => {
                    c.send(&error_line(
                        &verb,
                        "I2P_ERROR",
                        &format!("unknown command {verb} {sub}"),
                    ))
                    .await
                }
            };
            if result.is_err() {
                break;
            }
        }
        if let Some(s) = own {
            self.close_session(&s);
        }
    }

    fn close_session(&self, s: &Arc<Session>) {
        if let Ok(subs) = s.subs.lock() {
            for sub in subs.iter() {
                self.registry.remove(&sub.id);
            }
        }
        self.registry.remove(&s.id);
        s.dest.close();
        info!(session = %s.id, "SAM session closed");
    }

    /// HELLO VERSION with negotiation and optional authentication. false: the connection ends.
    async fn hello(&self, c: &mut Conn) -> bool {
        let line = match tokio::time::timeout(self.config.handshake_timeout, c.read_line()).await {
            Ok(Ok(Some(l))) => l,
            Ok(Err(LineError::TooLong)) => {
                let _ = c
                    .send(&error_line("HELLO", "I2P_ERROR", "line too long"))
                    .await;
                return false;
            }
            Err(_) => {
                let _ = c
                    .send(&error_line(
                        "HELLO",
                        "I2P_ERROR",
                        "timed out waiting for HELLO",
                    ))
                    .await;
                return false;
            }
            _ => return false,
        };
        let cmd = match command::parse(&line) {
            Ok(cmd) if cmd.verb == "HELLO" && cmd.sub.as_deref() == Some("VERSION") => cmd,
            Ok(_) => {
                let _ = c
                    .send(&error_line("HELLO", "I2P_ERROR", "expected HELLO VERSION"))
                    .await;
                return false;
            }
            Err(e) => {
                let _ = c
                    .send(&error_line("HELLO", "I2P_ERROR", &e.to_string()))
                    .await;
                return false;
            }
        };
        // versions as (major, minor); we speak 3.0 ..= 3.MAX_MINOR
        let parse_version = |v: &str| -> Option<(u8, u8)> {
            let mut it = v.split('.');
            let major = it.next()?.parse().ok()?;
            let minor = match it.next() {
                Some(m) => m.parse().ok()?,
                None => 0,
            };
            Some((major, minor))
        };
        let bound = |key: &str, default: (u8, u8)| match cmd.get(key) {
            None | Some("") => Some(default),
            Some(v) => parse_version(v),
        };
        let (Some(client_min), Some(client_max)) =
            (bound("MIN", (3, 0)), bound("MAX", (3, MAX_MINOR)))
        else {
            let _ = c
                .send(&error_line("HELLO", "I2P_ERROR", "bad MIN or MAX version"))
                .await;
            return false;
        };
        let chosen = client_max.min((3, MAX_MINOR));
        if chosen < (3, 0) || chosen < client_min {
            let _ = c.send("HELLO REPLY RESULT=NOVERSION\n").await;
            return false;
        }
        let minor = chosen.1;
        if let Some((user, pass)) = &self.config.auth
            && (cmd.get("USER") != Some(user) || cmd.get("PASSWORD") != Some(pass))
        {
            let _ = c
                .send(&error_line("HELLO", "I2P_ERROR", "authentication failed"))
                .await;
            return false;
        }
        c.minor = minor;
        c.send(&format!("HELLO REPLY RESULT=OK VERSION=3.{minor}\n"))
            .await
            .is_ok()
    }

    async fn session_create(&self, c: &mut Conn, cmd: &Command) -> Result<Arc<Session>, String> {
        let fail = |r: &str, m: &str| error_line("SESSION", r, m);
        let style = cmd
            .get("STYLE")
            .and_then(Style::parse)
            .ok_or_else(|| fail("I2P_ERROR", "missing or unknown STYLE"))?;
        let id = cmd
            .get("ID")
            .filter(|i| !i.is_empty())
            .ok_or_else(|| fail("I2P_ERROR", "missing ID"))?
            .to_string();
        if self.registry.contains(&id) {
            return Err("SESSION STATUS RESULT=DUPLICATED_ID\n".into());
        }
        let keys = match cmd.get("DESTINATION") {
            None | Some("") => return Err(fail("I2P_ERROR", "missing DESTINATION")),
            Some("TRANSIENT") => {
                if let Some(t) = cmd.get("SIGNATURE_TYPE").filter(|t| !sig_type_ok(t)) {
                    return Err(fail(
                        "I2P_ERROR",
                        &format!(
                            "SIGNATURE_TYPE={t} is not supported; use 7 (EdDSA_SHA512_Ed25519)"
                        ),
                    ));
                }
                None
            }
            Some(k) => match PrivateKeys::from_base64(k) {
                Ok(pk) => Some(DestinationKeys(pk.to_bytes().to_vec())),
                Err(e) => return Err(fail("INVALID_KEY", &e.to_string())),
            },
        };
        let ports = (
            port_arg(cmd, "FROM_PORT", 0).map_err(|m| fail("I2P_ERROR", &m))?,
            port_arg(cmd, "TO_PORT", 0).map_err(|m| fail("I2P_ERROR", &m))?,
            0,
        );
        let protocol = cmd
            .get("PROTOCOL")
            .and_then(|p| p.parse().ok())
            .unwrap_or(18);
        let udp_forward = if style.datagram_kind().is_some() {
            match cmd.get("PORT") {
                Some(p) if !p.is_empty() => {
                    let port: u16 = p.parse().map_err(|_| fail("I2P_ERROR", "bad PORT"))?;
                    let host: IpAddr = match cmd.get("HOST") {
                        Some(h) if !h.is_empty() => h
                            .parse()
                            .map_err(|_| fail("I2P_ERROR", "HOST must be an IP address"))?,
                        _ => c.peer.ip(),
                    };
                    Some(SocketAddr::new(host, port))
                }
                _ => None,
            }
        } else {
            None
        };
        let spec = DestinationSpec {
            keys,
            tunnels: tunnel_options(cmd, &self.config.default_tunnels),
            // I2CP option (spec/i2cp-overview.md): a client that only connects out may ask us
            // to keep its LeaseSet out of the netDb; it then travels only with its own garlic
            publish: !cmd.flag("i2cp.dontPublishLeaseSet", false),
            nickname: format!("sam:{id}"),
        };
        let dest = match self.client.create_destination(spec).await {
            Ok(d) => d,
            Err(ClientError::DuplicateDestination) => {
                return Err("SESSION STATUS RESULT=DUPLICATED_DEST\n".into());
            }
            Err(ClientError::InvalidKey(m)) => return Err(fail("INVALID_KEY", &m)),
            Err(e) => return Err(fail("I2P_ERROR", &e.to_string())),
        };
        match tokio::time::timeout(self.config.session_ready_timeout, dest.ready()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                dest.close();
                return Err(fail("I2P_ERROR", &e.to_string()));
            }
            Err(_) => {
                dest.close();
                return Err(fail("I2P_ERROR", "tunnels were not ready in time"));
            }
        }
        let control = c.channel_writer();
        let header = cmd.flag("HEADER", false);
        let s = Session::new(
            id.clone(),
            style,
            dest.clone(),
            c.minor,
            ports,
            protocol,
            udp_forward,
            header,
            control,
        );
        if !self.registry.insert(&s) {
            dest.close();
            return Err("SESSION STATUS RESULT=DUPLICATED_ID\n".into());
        }
        let udp = self.udp.clone();
        session::spawn_dispatchers(&s, Arc::new(move |target, dg| deliver(&udp, &target, dg)));
        let privkey = dest.private_keys();
        let reply = command::reply(
            "SESSION",
            "STATUS",
            &[
                ("RESULT", "OK"),
                ("DESTINATION", &i2p_wire::base64::encode(&privkey.0)),
            ],
        );
        c.send(&reply).await.map_err(|_| String::new())?;
        info!(session = %id, style = ?style, b32 = %dest.b32(), "SAM session created");
        Ok(s)
    }

    fn session_add(&self, c: &Conn, own: Option<&Arc<Session>>, cmd: &Command) -> String {
        let fail = |r: &str, m: &str| error_line("SESSION", r, m);
        let Some(primary) = own.filter(|s| s.style == Style::Primary) else {
            return fail(
                "I2P_ERROR",
                "SESSION ADD needs a PRIMARY session on this socket",
            );
        };
        let Some(style) = cmd
            .get("STYLE")
            .and_then(Style::parse)
            .filter(|s| *s != Style::Primary)
        else {
            return fail("I2P_ERROR", "missing or bad STYLE");
        };
        let Some(id) = cmd.get("ID").filter(|i| !i.is_empty()) else {
            return fail("I2P_ERROR", "missing ID");
        };
        let (Ok(from), Ok(to)) = (port_arg(cmd, "FROM_PORT", 0), port_arg(cmd, "TO_PORT", 0))
        else {
            return fail("I2P_ERROR", "bad port");
        };
        let Ok(listen) = port_arg(cmd, "LISTEN_PORT", from) else {
            return fail("I2P_ERROR", "bad LISTEN_PORT");
        };
        if style == Style::Stream && listen != 0 && listen != from {
            return fail(
                "I2P_ERROR",
                "for STREAM, LISTEN_PORT must be 0 or FROM_PORT",
            );
        }
        let duplicate_route = primary
            .subs
            .lock()
            .map(|subs| {
                subs.iter()
                    .any(|s| s.style == style && s.listen_port == listen)
            })
            .unwrap_or(true);
        if duplicate_route {
            return fail(
                "I2P_ERROR",
                "a subsession with this style and listen port exists",
            );
        }
        let udp_forward = match (style.datagram_kind(), cmd.get("PORT")) {
            (Some(_), Some(p)) if !p.is_empty() => match p.parse::<u16>() {
                Ok(port) => Some(SocketAddr::new(
                    cmd.get("HOST")
                        .and_then(|h| h.parse().ok())
                        .unwrap_or(c.peer.ip()),
                    port,
                )),
                Err(_) => return fail("I2P_ERROR", "bad PORT"),
            },
            _ => None,
        };
        let protocol = cmd
            .get("PROTOCOL")
            .and_then(|p| p.parse().ok())
            .unwrap_or(18);
        let s = Session::new(
            id.to_string(),
            style,
            primary.dest.clone(),
            primary.version,
            (from, to, listen),
            protocol,
            udp_forward,
            cmd.flag("HEADER", false),
            primary.control.clone(),
        );
        if !self.registry.insert(&s) {
            return "SESSION STATUS RESULT=DUPLICATED_ID\n".into();
        }
        if let Ok(mut subs) = primary.subs.lock() {
            subs.push(s);
        }
        command::reply(
            "SESSION",
            "STATUS",
            &[
                ("RESULT", "OK"),
                ("ID", id),
                ("MESSAGE", &format!("ADD {id}")),
            ],
        )
    }

    fn session_remove(&self, own: Option<&Arc<Session>>, cmd: &Command) -> String {
        let fail = |m: &str| error_line("SESSION", "I2P_ERROR", m);
        let Some(primary) = own.filter(|s| s.style == Style::Primary) else {
            return fail("SESSION REMOVE needs a PRIMARY session on this socket");
        };
        let Some(id) = cmd.get("ID") else {
            return fail("missing ID");
        };
        let removed = primary
            .subs
            .lock()
            .map(|mut subs| {
                let before = subs.len();
                subs.retain(|s| s.id != id);
                before != subs.len()
            })
            .unwrap_or(false);
        if !removed {
            return fail(&format!("no subsession {id}"));
        }
        self.registry.remove(id);
        command::reply(
            "SESSION",
            "STATUS",
            &[
                ("RESULT", "OK"),
                ("ID", id),
                ("MESSAGE", &format!("REMOVE {id}")),
            ],
        )
    }

    fn stream_session(&self, cmd: &Command) -> Result<Arc<Session>, String> {
        let id = cmd.get("ID").unwrap_or("");
        match self.registry.get(id) {
            Some(s) if s.style == Style::Stream => Ok(s),
            Some(_) => Err(error_line(
                "STREAM",
                "I2P_ERROR",
                &format!("session {id} is not a STREAM session"),
            )),
            None => Err(error_line(
                "STREAM",
                "INVALID_ID",
                &format!("no session {id}"),
            )),
        }
    }

    /// STREAM CONNECT / ACCEPT: reply, then the socket carries the stream.
    async fn stream_pipe(&self, mut c: Conn, cmd: &Command) {
        let silent = cmd.flag("SILENT", false);
        let s = match self.stream_session(cmd) {
            Ok(s) => s,
            Err(line) => {
                let _ = c.send(&line).await;
                return;
            }
        };
        let connect = cmd.sub.as_deref() == Some("CONNECT");
        let stream = if connect {
            let Some(target) = cmd.get("DESTINATION").filter(|d| !d.is_empty()) else {
                let _ = c
                    .send(&error_line("STREAM", "INVALID_KEY", "missing DESTINATION"))
                    .await;
                return;
            };
            let opts = ConnectOptions {
                from_port: port_arg(cmd, "FROM_PORT", s.from_port).unwrap_or(s.from_port),
                to_port: port_arg(cmd, "TO_PORT", s.to_port).unwrap_or(s.to_port),
                timeout: None,
            };
            match s.dest.connect(Target::Name(target.to_string()), opts).await {
                Ok(st) => {
                    if !silent && c.send("STREAM STATUS RESULT=OK\n").await.is_err() {
                        return;
                    }
                    st
                }
                Err(e) => {
                    let result = match &e {
                        ClientError::InvalidKey(_) | ClientError::UnknownName(_) => "INVALID_KEY",
                        ClientError::LeaseSetNotFound(_) | ClientError::Refused => {
                            "CANT_REACH_PEER"
                        }
                        ClientError::Timeout(_) => "TIMEOUT",
                        _ => "I2P_ERROR",
                    };
                    if !silent {
                        let _ = c.send(&error_line("STREAM", result, &e.to_string())).await;
                    }
                    return;
                }
            }
        } else {
            if !silent && c.send("STREAM STATUS RESULT=OK\n").await.is_err() {
                return;
            }
            let st = s.accept_rx.lock().await.recv().await;
            let Some(st) = st else {
                if !silent {
                    let _ = c
                        .send(&error_line("STREAM", "I2P_ERROR", "session closed"))
                        .await;
                }
                return;
            };
            if !silent && c.send(&dest_line(&st, c.minor)).await.is_err() {
                return;
            }
            st
        };
        let Some((mut sock, pending)) = c.into_stream() else {
            return;
        };
        let mut stream = stream;
        if !pending.is_empty() && stream.write_all(&pending).await.is_err() {
            return;
        }
        let _ = tokio::io::copy_bidirectional(&mut sock, &mut stream).await;
    }

    /// STREAM FORWARD: incoming streams go to HOST:PORT until this socket closes.
    async fn stream_forward(&self, mut c: Conn, cmd: &Command) {
        let s = match self.stream_session(cmd) {
            Ok(s) => s,
            Err(line) => {
                let _ = c.send(&line).await;
                return;
            }
        };
        let port = match cmd.get("PORT").map(str::parse::<u16>) {
            Some(Ok(p)) => p,
            _ => {
                let _ = c
                    .send(&error_line("STREAM", "I2P_ERROR", "PORT is required"))
                    .await;
                return;
            }
        };
        let host = match cmd.get("HOST").filter(|h| !h.is_empty()) {
            Some(h) => match h.parse::<IpAddr>() {
                Ok(ip) => ip,
                Err(_) => {
                    let _ = c
                        .send(&error_line(
                            "STREAM",
                            "I2P_ERROR",
                            "HOST must be an IP address",
                        ))
                        .await;
                    return;
                }
            },
            None => c.peer.ip(),
        };
        if let Ok(mut sink) = s.sink.lock() {
            *sink = StreamSink::Forward {
                to: SocketAddr::new(host, port),
                silent: cmd.flag("SILENT", false),
                version: c.minor,
            };
        }
        if c.send("STREAM STATUS RESULT=OK\n").await.is_ok() {
            // wait for the forwarding socket to close
            let mut sink_buf = [0u8; 512];
            while matches!(c.rd.read(&mut sink_buf).await, Ok(n) if n > 0) {}
        }
        if let Ok(mut sink) = s.sink.lock() {
            *sink = StreamSink::Accept;
        }
        debug!(session = %s.id, "STREAM FORWARD ended");
    }

    async fn datagram_send(
        &self,
        c: &mut Conn,
        own: Option<&Arc<Session>>,
        cmd: &Command,
    ) -> Option<String> {
        let raw = cmd.verb == "RAW";
        let size: usize = match cmd.get("SIZE").map(str::parse) {
            Some(Ok(n)) if (1..=MAX_DATAGRAM).contains(&n) => n,
            _ => return Some(error_line("SESSION", "I2P_ERROR", "SIZE must be 1..65536")),
        };
        let payload = match c.read_bytes(size).await {
            Ok(p) => p,
            Err(_) => return None,
        };
        let session = match cmd.get("ID") {
            Some(id) => self.registry.get(id),
            None => own.cloned(),
        };
        let Some(s) = session else {
            return Some(error_line(
                "SESSION",
                "I2P_ERROR",
                "no session for DATAGRAM SEND",
            ));
        };
        let kind = match s.style.datagram_kind() {
            Some(DatagramKind::Raw) if raw => DatagramKind::Raw,
            Some(k) if !raw && k != DatagramKind::Raw => k,
            _ => {
                return Some(error_line(
                    "SESSION",
                    "I2P_ERROR",
                    "session style does not match the command",
                ));
            }
        };
        let Some(to) = cmd.get("DESTINATION") else {
            return Some(error_line("SESSION", "I2P_ERROR", "missing DESTINATION"));
        };
        let dg = Datagram {
            kind,
            from: None,
            from_port: port_arg(cmd, "FROM_PORT", s.from_port).unwrap_or(s.from_port),
            to_port: port_arg(cmd, "TO_PORT", s.to_port).unwrap_or(s.to_port),
            payload,
        };
        match s.dest.send_datagram(Target::Name(to.to_string()), dg).await {
            Ok(()) => None,
            Err(e) => {
                warn!(session = %s.id, error = %e, "SAM datagram send failed");
                None
            }
        }
    }

    async fn utility_dest(&self) -> Result<Arc<dyn LocalDestination>, ClientError> {
        self.utility
            .get_or_try_init(|| async {
                let spec = DestinationSpec {
                    publish: false,
                    nickname: "sam-utility".into(),
                    ..Default::default()
                };
                self.client.create_destination(spec).await
            })
            .await
            .cloned()
    }

    async fn naming_lookup(&self, own: Option<&Arc<Session>>, cmd: &Command) -> String {
        let name = cmd.get("NAME").unwrap_or("");
        let reply = |result: &str, value: Option<&str>, message: Option<&str>| {
            let mut args = vec![("RESULT", result), ("NAME", name)];
            if let Some(v) = value {
                args.push(("VALUE", v));
            }
            if let Some(m) = message {
                args.push(("MESSAGE", m));
            }
            command::reply("NAMING", "REPLY", &args)
        };
        if name.is_empty() {
            return reply("INVALID_KEY", None, Some("missing NAME"));
        }
        if name == "ME" {
            return match own {
                Some(s) => reply("OK", Some(&s.dest.destination().to_base64()), None),
                None => reply("INVALID_KEY", None, Some("no session on this socket")),
            };
        }
        let resolved = match self.client.resolve(name).await {
            Ok(r) => r,
            Err(ClientError::UnknownName(_)) => return reply("KEY_NOT_FOUND", None, None),
            Err(e) => return reply("INVALID_KEY", None, Some(&e.to_string())),
        };
        let dest = match resolved {
            Resolved::Destination(d) => d,
            Resolved::Hash(h) => {
                let via = match own {
                    Some(s) => Ok(s.dest.clone()),
                    None => self.utility_dest().await,
                };
                match via {
                    Ok(d) => match d.lookup_destination(h).await {
                        Ok(d) => d,
                        Err(_) => return reply("KEY_NOT_FOUND", None, None),
                    },
                    Err(e) => return reply("KEY_NOT_FOUND", None, Some(&e.to_string())),
                }
            }
        };
        reply("OK", Some(&dest.to_base64()), None)
    }
}

/// Hand a received datagram to its session: forwarded over UDP, or on the control socket.
fn deliver(udp: &UdpSocket, s: &Session, dg: Datagram) {
    let from = match &dg.from {
        Some(Resolved::Destination(d)) => d.to_base64(),
        Some(Resolved::Hash(h)) => i2p_wire::base64::encode(h.as_ref()),
        None => String::new(),
    };
    let ports = s.version >= 2;
    let raw = dg.kind == DatagramKind::Raw;
    if let Some(to) = s.udp_forward {
        let mut pkt = if raw {
            if s.header {
                format!(
                    "FROM_PORT={} TO_PORT={} PROTOCOL={}\n",
                    dg.from_port, dg.to_port, s.protocol
                )
                .into_bytes()
            } else {
                Vec::new()
            }
        } else if ports {
            format!("{from} FROM_PORT={} TO_PORT={}\n", dg.from_port, dg.to_port).into_bytes()
        } else {
            format!("{from}\n").into_bytes()
        };
        pkt.extend_from_slice(&dg.payload);
        if let Err(e) = udp.try_send_to(&pkt, to) {
            debug!(%to, error = %e, "forwarding a datagram to the SAM client failed");
        }
        return;
    }
    let mut out = if raw {
        if ports {
            format!(
                "RAW RECEIVED SIZE={} FROM_PORT={} TO_PORT={} PROTOCOL={}\n",
                dg.payload.len(),
                dg.from_port,
                dg.to_port,
                s.protocol
            )
        } else {
            format!("RAW RECEIVED SIZE={}\n", dg.payload.len())
        }
    } else if ports {
        format!(
            "DATAGRAM RECEIVED DESTINATION={from} SIZE={} FROM_PORT={} TO_PORT={}\n",
            dg.payload.len(),
            dg.from_port,
            dg.to_port
        )
    } else {
        format!(
            "DATAGRAM RECEIVED DESTINATION={from} SIZE={}\n",
            dg.payload.len()
        )
    }
    .into_bytes();
    out.extend_from_slice(&dg.payload);
    if s.control.try_send(out).is_err() {
        debug!(session = %s.id, "control socket backlog full; datagram dropped");
    }
}
