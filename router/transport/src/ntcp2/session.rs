//! The tokio side of NTCP2: dial and accept (driving [`Initiator`]/[`Responder`] over a
//! `TcpStream` with timeouts and probing resistance), then run an established session as a
//! reader task and a writer task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use i2p_crypto::X25519Secret;
use i2p_wire::{Date, Hash, I2npMessage};
use rand::RngExt;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tracing::{debug, trace};

use super::block::{Block, FrameBuilder, TerminationReason, parse_blocks};
use super::frame::{DataPhase, FrameReceiver, FrameSender};
use super::handshake::{
    Established, HEAD_LEN, HandshakeError, Initiator, InitiatorParams, ReplayCache, Responder,
    ResponderParams,
};

/// Frames are filled up to about this much plaintext before being sent (the spec recommends a
/// few KB so the receiver can authenticate early).
pub const TARGET_FRAME_PLAINTEXT: usize = 16 * 1024;

/// Wall-clock seconds since the epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Wall-clock time as an I2P date.
pub fn now_date() -> Date {
    Date::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0),
    )
}

#[derive(Debug, Error)]
pub enum SessionError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    #[error("timed out during the handshake")]
    Timeout,
}

/// What dialing needs about the peer.
#[derive(Debug, Clone)]
pub struct DialTarget {
    pub hash: Hash,
    pub addr: SocketAddr,
    pub static_key: [u8; 32],
    pub iv: [u8; 16],
}

/// Dial `target` and run the initiator side of the handshake.
pub async fn connect(
    target: &DialTarget,
    bind: Option<std::net::IpAddr>,
    net_id: u8,
    local_static: &X25519Secret,
    local_router_info: &[u8],
    timeout: Duration,
) -> Result<(TcpStream, DataPhase), SessionError> {
    let fut = async {
        let mut stream = match bind {
            // dial from our own address (several test routers share one loopback)
            Some(ip) => {
                let socket = if ip.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                socket.bind(SocketAddr::new(ip, 0))?;
                socket.connect(target.addr).await?
            }
            None => TcpStream::connect(target.addr).await?,
        };
        stream.set_nodelay(true)?;
        let params = InitiatorParams {
            net_id,
            local_static,
            local_router_info,
            remote_hash: target.hash,
            remote_static: target.static_key,
            remote_iv: target.iv,
        };
        let (mut init, msg1) = Initiator::start(&params, now_secs(), &mut rand::rng())?;
        stream.write_all(&msg1).await?;
        let mut head = [0u8; HEAD_LEN];
        stream.read_exact(&mut head).await?;
        let pad = init.read_msg2(&head, now_secs())?;
        let mut padding = vec![0u8; pad];
        stream.read_exact(&mut padding).await?;
        let (msg3, data) = init.finish(&padding)?;
        stream.write_all(&msg3).await?;
        Ok::<_, SessionError>((stream, data))
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| SessionError::Timeout)?
}

/// Run the responder side of the handshake on an accepted stream. A bad message 1 gets the
/// spec's probing resistance: a random pause, then a random amount read, then close — never a
/// reply.
pub async fn accept(
    mut stream: TcpStream,
    params: ResponderParams,
    replay: &std::sync::Mutex<ReplayCache>,
    timeout: Duration,
) -> Result<(TcpStream, Established), SessionError> {
    stream.set_nodelay(true)?;
    let mut resp = Responder::new(params);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut head = [0u8; HEAD_LEN];
    tokio::time::timeout_at(deadline, stream.read_exact(&mut head))
        .await
        .map_err(|_| SessionError::Timeout)??;
    let info = {
        let mut cache = replay
            .lock()
            .map_err(|_| std::io::Error::other("replay cache poisoned"))?;
        resp.read_msg1(&head, now_secs(), &mut cache)
    };
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            probing_resistance(&mut stream).await;
            return Err(e.into());
        }
    };
    let fut = async {
        let mut padding = vec![0u8; info.padding_len];
        stream.read_exact(&mut padding).await?;
        let msg2 = resp.create_msg2(&padding, now_secs(), &mut rand::rng())?;
        stream.write_all(&msg2).await?;
        let mut msg3 = vec![0u8; resp.msg3_len()];
        stream.read_exact(&mut msg3).await?;
        let est = resp.read_msg3(&mut msg3, now_date())?;
        Ok::<_, SessionError>(est)
    };
    let est = tokio::time::timeout_at(deadline, fut)
        .await
        .map_err(|_| SessionError::Timeout)??;
    Ok((stream, est))
}

/// Pause 50..=2000 ms, read up to a random 0..=1024 more bytes (with the same pause as a
/// bound), then return so the caller drops the socket.
async fn probing_resistance(stream: &mut TcpStream) {
    let (pause, amount) = {
        let mut rng = rand::rng();
        (
            rng.random_range(50..=2000u64),
            rng.random_range(0..=1024usize),
        )
    };
    tokio::time::sleep(Duration::from_millis(pause)).await;
    let mut sink = vec![0u8; amount];
    let _ = tokio::time::timeout(Duration::from_millis(pause), stream.read_exact(&mut sink)).await;
}

/// What a running session reports.
#[derive(Debug)]
pub enum SessionEvent {
    Message {
        from: Hash,
        msg: I2npMessage,
    },
    RouterInfo {
        from: Hash,
        bytes: Vec<u8>,
        flood: bool,
    },
    Closed {
        peer: Hash,
        id: u64,
        reason: String,
    },
}

/// Byte and message counters shared by all sessions.
#[derive(Debug, Default)]
pub struct Counters {
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub bad_frames: AtomicU64,
}

/// Start the reader and writer tasks of an established session. The session ends when the
/// peer closes or errs, when `outbound` is closed (a Termination block is sent first), or after
/// `idle` without traffic in either direction.
#[allow(clippy::too_many_arguments)]
pub fn spawn_session(
    stream: TcpStream,
    data: DataPhase,
    peer: Hash,
    id: u64,
    outbound: mpsc::Receiver<I2npMessage>,
    first_frame: Option<Vec<u8>>,
    events: mpsc::Sender<SessionEvent>,
    counters: Arc<Counters>,
    idle: Duration,
) {
    let (rd, wr) = stream.into_split();
    let last_rx = Arc::new(AtomicU64::new(now_secs()));
    let DataPhase { send, recv } = data;
    let reader = tokio::spawn(read_loop(
        rd,
        recv,
        peer,
        events.clone(),
        counters.clone(),
        last_rx.clone(),
    ));
    tokio::spawn(async move {
        let reason = write_loop(wr, send, outbound, first_frame, &counters, &last_rx, idle).await;
        reader.abort();
        let reason = match reader.await {
            Ok(r) => r,
            Err(_) => reason,
        };
        let _ = events.send(SessionEvent::Closed { peer, id, reason }).await;
    });
}

/// Asks the kernel to acknowledge what we received at once instead of delaying the ACK (Linux
/// `TCP_QUICKACK`, which is not sticky, hence after every socket read). i2pd 2.45.1 does not set
/// `TCP_NODELAY` on its NTCP2 sockets, so Nagle holds its next small write until our ACK
/// arrives, and a delayed ACK (up to 40 ms) then stalls every request through an i2pd hop.
fn quick_ack(rd: &OwnedReadHalf) {
    #[cfg(target_os = "linux")]
    {
        let stream: &tokio::net::TcpStream = rd.as_ref();
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = rd;
}

/// Bytes read from the socket at once: several frames per system call when they queue up.
const READ_BUFFER: usize = 64 * 1024;

async fn read_loop(
    rd: OwnedReadHalf,
    mut recv: FrameReceiver,
    peer: Hash,
    events: mpsc::Sender<SessionEvent>,
    counters: Arc<Counters>,
    last_rx: Arc<AtomicU64>,
) -> String {
    let mut buf = Vec::with_capacity(TARGET_FRAME_PLAINTEXT + 64);
    let mut rd = tokio::io::BufReader::with_capacity(READ_BUFFER, rd);
    loop {
        let mut lb = [0u8; 2];
        if let Err(e) = rd.read_exact(&mut lb).await {
            return format!("read: {e}");
        }
        let len = match recv.frame_len(lb) {
            Ok(l) => l,
            Err(e) => return format!("framing: {e}"),
        };
        buf.resize(len, 0);
        if let Err(e) = rd.read_exact(&mut buf).await {
            return format!("read: {e}");
        }
        // everything the last socket read brought is consumed: acknowledge it now
        if rd.buffer().is_empty() {
            quick_ack(rd.get_ref());
        }
        counters
            .bytes_in
            .fetch_add(len as u64 + 2, Ordering::Relaxed);
        let n = match recv.open(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                counters.bad_frames.fetch_add(1, Ordering::Relaxed);
                return format!("frame {}: {e}", recv.frames());
            }
        };
        last_rx.store(now_secs(), Ordering::Relaxed);
        let blocks = match parse_blocks(&buf[..n]) {
            Ok(b) => b,
            Err(e) => {
                counters.bad_frames.fetch_add(1, Ordering::Relaxed);
                return format!("payload: {e}");
            }
        };
        for b in blocks {
            match b {
                Block::I2np(msg) => {
                    counters.messages_in.fetch_add(1, Ordering::Relaxed);
                    trace!(peer = %peer, type_id = msg.type_id(), "NTCP2 in");
                    if events
                        .send(SessionEvent::Message {
                            from: peer,
                            msg: *msg,
                        })
                        .await
                        .is_err()
                    {
                        return "router stopped".into();
                    }
                }
                Block::BadI2np(e) => {
                    debug!(peer = %peer, error = %e, "NTCP2: unparseable I2NP message skipped");
                }
                Block::RouterInfo { flood, router_info } => {
                    let _ = events
                        .send(SessionEvent::RouterInfo {
                            from: peer,
                            bytes: router_info.to_vec(),
                            flood,
                        })
                        .await;
                }
                Block::Termination { reason, .. } => {
                    return format!("peer terminated (reason {reason})");
                }
                Block::DateTime(_)
                | Block::Options(_)
                | Block::Padding(_)
                | Block::Unknown { .. } => {}
            }
        }
    }
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut send: FrameSender,
    mut outbound: mpsc::Receiver<I2npMessage>,
    first_frame: Option<Vec<u8>>,
    counters: &Counters,
    last_rx: &AtomicU64,
    idle: Duration,
) -> String {
    let mut out = Vec::with_capacity(TARGET_FRAME_PLAINTEXT + 64);
    if let Some(f) = first_frame {
        out.clear();
        if send.seal_into(&f, &mut out).is_ok() && wr.write_all(&out).await.is_err() {
            return "write failed".into();
        }
    }
    let mut last_tx = now_secs();
    let tick = idle
        .min(Duration::from_secs(10))
        .max(Duration::from_millis(100));
    loop {
        let first = match tokio::time::timeout(tick, outbound.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                let _ = send_termination(&mut wr, &mut send, 0, TerminationReason::Normal).await;
                return "closed by the router".into();
            }
            Err(_) => {
                let now = now_secs();
                let quiet = now.saturating_sub(last_tx.max(last_rx.load(Ordering::Relaxed)));
                if quiet >= idle.as_secs() {
                    let _ = send_termination(&mut wr, &mut send, 0, TerminationReason::IdleTimeout)
                        .await;
                    return "idle timeout".into();
                }
                continue;
            }
        };
        let mut f = FrameBuilder::new();
        let mut next = Some(first);
        while let Some(m) = next.take() {
            if !f.i2np(&m) {
                if f.is_empty() {
                    debug!(
                        type_id = m.type_id(),
                        "NTCP2: message too large for a frame, dropped"
                    );
                } else {
                    // frame full: send it and start the next with this message
                    if let Err(e) = seal_and_write(&mut wr, &mut send, f, &mut out, counters).await
                    {
                        return e;
                    }
                    f = FrameBuilder::new();
                    if !f.i2np(&m) {
                        debug!(type_id = m.type_id(), "NTCP2: message too large, dropped");
                    }
                }
            }
            counters.messages_out.fetch_add(1, Ordering::Relaxed);
            if f.len() < TARGET_FRAME_PLAINTEXT {
                next = outbound.try_recv().ok();
            }
        }
        if !f.is_empty()
            && let Err(e) = seal_and_write(&mut wr, &mut send, f, &mut out, counters).await
        {
            return e;
        }
        last_tx = now_secs();
    }
}

async fn seal_and_write(
    wr: &mut OwnedWriteHalf,
    send: &mut FrameSender,
    mut f: FrameBuilder,
    out: &mut Vec<u8>,
    counters: &Counters,
) -> Result<(), String> {
    let pad = rand::rng().random_range(0..=15usize);
    f.padding(pad, &mut rand::rng());
    out.clear();
    send.seal_into(&f.finish(), out)
        .map_err(|e| format!("seal: {e}"))?;
    wr.write_all(out).await.map_err(|e| format!("write: {e}"))?;
    counters
        .bytes_out
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    Ok(())
}

async fn send_termination(
    wr: &mut OwnedWriteHalf,
    send: &mut FrameSender,
    received: u64,
    reason: TerminationReason,
) -> std::io::Result<()> {
    let mut f = FrameBuilder::new();
    f.termination(received, reason);
    let mut out = Vec::new();
    send.seal_into(&f.finish(), &mut out)
        .map_err(std::io::Error::other)?;
    wr.write_all(&out).await?;
    wr.shutdown().await
}

/// The responder parameters for our router.
pub fn responder_params(
    net_id: u8,
    local_static: &X25519Secret,
    local_hash: Hash,
    local_iv: [u8; 16],
) -> ResponderParams {
    ResponderParams {
        net_id,
        local_static: local_static.clone(),
        local_hash,
        local_iv,
    }
}
