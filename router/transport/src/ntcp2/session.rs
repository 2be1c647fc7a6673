//! The tokio side of NTCP2: dial and accept (driving [`Initiator`]/[`Responder`] over a
//! connection of the [`Network`] with timeouts and probing resistance), then run an
//! established session as a reader task and a writer task. Dates come from the router's
//! [`Clock`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use i2p_crypto::X25519Secret;
use i2p_wire::{Hash, I2npMessage};
use rand::RngExt;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::{debug, trace};

use crate::env::{BoxRead, BoxStream, BoxWrite, Clock, Network, clock_secs};

use super::block::{Block, FrameBuilder, TerminationReason, parse_blocks};
use super::frame::{DataPhase, FrameReceiver, FrameSender};
use super::handshake::{
    Established, HEAD_LEN, HandshakeError, Initiator, InitiatorParams, ReplayCache, Responder,
    ResponderParams,
};

/// Frames are filled up to about this much plaintext before being sent (the spec recommends a
/// few KB so the receiver can authenticate early).
pub const TARGET_FRAME_PLAINTEXT: usize = 16 * 1024;

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
#[allow(clippy::too_many_arguments)]
pub async fn connect(
    network: &dyn Network,
    clock: &Clock,
    target: &DialTarget,
    bind: Option<std::net::IpAddr>,
    net_id: u8,
    local_static: &X25519Secret,
    local_router_info: &[u8],
    timeout: Duration,
) -> Result<(BoxStream, DataPhase), SessionError> {
    let fut = async {
        // from our own address when given (several test routers share one loopback)
        let mut stream = network.dial(bind, target.addr).await?;
        let params = InitiatorParams {
            net_id,
            local_static,
            local_router_info,
            remote_hash: target.hash,
            remote_static: target.static_key,
            remote_iv: target.iv,
        };
        let (mut init, msg1) = Initiator::start(&params, clock_secs(clock), &mut rand::rng())?;
        stream.write_all(&msg1).await?;
        let mut head = [0u8; HEAD_LEN];
        stream.read_exact(&mut head).await?;
        let pad = init.read_msg2(&head, clock_secs(clock))?;
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
    mut stream: BoxStream,
    clock: &Clock,
    params: ResponderParams,
    replay: &std::sync::Mutex<ReplayCache>,
    timeout: Duration,
) -> Result<(BoxStream, Established), SessionError> {
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
        resp.read_msg1(&head, clock_secs(clock), &mut cache)
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
        let msg2 = resp.create_msg2(&padding, clock_secs(clock), &mut rand::rng())?;
        stream.write_all(&msg2).await?;
        let mut msg3 = vec![0u8; resp.msg3_len()];
        stream.read_exact(&mut msg3).await?;
        let est = resp.read_msg3(&mut msg3, clock())?;
        Ok::<_, SessionError>(est)
    };
    let est = tokio::time::timeout_at(deadline, fut)
        .await
        .map_err(|_| SessionError::Timeout)??;
    Ok((stream, est))
}

/// Pause 50..=2000 ms, read up to a random 0..=1024 more bytes (with the same pause as a
/// bound), then return so the caller drops the socket.
async fn probing_resistance(stream: &mut BoxStream) {
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
    stream: BoxStream,
    clock: Clock,
    data: DataPhase,
    peer: Hash,
    id: u64,
    outbound: mpsc::Receiver<I2npMessage>,
    first_frame: Option<Vec<u8>>,
    events: mpsc::Sender<SessionEvent>,
    counters: Arc<Counters>,
    idle: Duration,
) {
    let (rd, wr) = stream.split();
    let last_rx = Arc::new(AtomicU64::new(clock_secs(&clock)));
    let DataPhase { send, recv } = data;
    let reader = tokio::spawn(read_loop(
        rd,
        recv,
        peer,
        events.clone(),
        counters.clone(),
        last_rx.clone(),
        clock.clone(),
    ));
    tokio::spawn(async move {
        let mut reader = reader;
        let writer = write_loop(
            wr,
            send,
            outbound,
            first_frame,
            &counters,
            &last_rx,
            idle,
            &clock,
        );
        tokio::pin!(writer);
        let reason = tokio::select! {
            reason = &mut writer => {
                // We closed (idle, or the router dropped the session). Messages the peer sent
                // before our Termination reached it are still on the way: keep reading until
                // the peer closes its side, for at most LINGER, so they are not lost.
                match tokio::time::timeout(LINGER, &mut reader).await {
                    Ok(Ok(_)) => reason,
                    _ => {
                        reader.abort();
                        reason
                    }
                }
            }
            // The peer closed or broke the connection: the session ends now, so the manager
            // stops queueing messages into it and dials again when there are more.
            r = &mut reader => r.unwrap_or_else(|e| format!("reader: {e}")),
        };
        let _ = events.send(SessionEvent::Closed { peer, id, reason }).await;
    });
}

/// How long a session we closed keeps reading what the peer sent before it saw our
/// Termination block.
const LINGER: Duration = Duration::from_secs(5);

/// Bytes read from the socket at once: several frames per system call when they queue up.
const READ_BUFFER: usize = 64 * 1024;

/// Reads this small are made straight into the caller's bytes (no buffer).
const SMALL_READ: usize = 16;

/// The socket side of the read loop: reads up to [`READ_BUFFER`] at a time and hands out
/// exact byte counts. While data keeps coming the buffer is reused; once everything read is
/// consumed and nothing more is waiting, it is freed and the next frame's length is read
/// without one, so an idle session holds no read buffer (a floodfill keeps about a thousand
/// sessions open).
struct Inbound {
    rd: BoxRead,
    buf: Vec<u8>,
    pos: usize,
}

impl Inbound {
    /// Fill `out` with the next `out.len()` bytes.
    async fn read_exact(&mut self, out: &mut [u8]) -> std::io::Result<()> {
        let mut done = 0;
        while done < out.len() {
            if self.pos == self.buf.len() {
                self.refill(out.len() - done <= SMALL_READ).await?;
                if self.buf.is_empty() {
                    // idle: a frame's length, read without holding a buffer
                    match self.rd.read(&mut out[done..]).await? {
                        0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                        n => done += n,
                    }
                    continue;
                }
            }
            let n = (out.len() - done).min(self.buf.len() - self.pos);
            out[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            done += n;
            self.pos += n;
            if self.pos == self.buf.len() {
                // all of the last read is consumed: acknowledge it
                self.rd.quick_ack();
            }
        }
        Ok(())
    }

    /// The buffer is consumed: read more into it. Busy (the buffer is still allocated): take
    /// whatever is waiting now without blocking. Nothing waiting, or idle: free the buffer;
    /// for a small read (`small`) leave it empty for the caller to read directly, otherwise
    /// allocate and wait.
    async fn refill(&mut self, small: bool) -> std::io::Result<()> {
        self.pos = 0;
        self.buf.clear();
        if self.buf.capacity() > 0 {
            let mut read = std::pin::pin!(self.rd.read_buf(&mut self.buf));
            let ready = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(match read.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => Some(r),
                    std::task::Poll::Pending => None,
                })
            })
            .await;
            match ready {
                Some(Ok(0)) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Some(r) => return r.map(|_| ()),
                None => self.buf = Vec::new(),
            }
        }
        if !small {
            self.buf.reserve(READ_BUFFER);
            if self.rd.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }
}

async fn read_loop(
    rd: BoxRead,
    mut recv: FrameReceiver,
    peer: Hash,
    events: mpsc::Sender<SessionEvent>,
    counters: Arc<Counters>,
    last_rx: Arc<AtomicU64>,
    clock: Clock,
) -> String {
    // grows to the largest frame seen
    let mut buf = Vec::new();
    let mut rd = Inbound {
        rd,
        buf: Vec::new(),
        pos: 0,
    };
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
        last_rx.store(clock_secs(&clock), Ordering::Relaxed);
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

#[allow(clippy::too_many_arguments)]
async fn write_loop(
    mut wr: BoxWrite,
    mut send: FrameSender,
    mut outbound: mpsc::Receiver<I2npMessage>,
    first_frame: Option<Vec<u8>>,
    counters: &Counters,
    last_rx: &AtomicU64,
    idle: Duration,
    clock: &Clock,
) -> String {
    // grows to the largest frame sent
    let mut out = Vec::new();
    if let Some(f) = first_frame {
        out.clear();
        if send.seal_into(&f, &mut out).is_ok() && wr.write_all(&out).await.is_err() {
            return "write failed".into();
        }
    }
    let mut last_tx = clock_secs(clock);
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
                let now = clock_secs(clock);
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
        last_tx = clock_secs(clock);
    }
}

async fn seal_and_write(
    wr: &mut BoxWrite,
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
    wr: &mut BoxWrite,
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
