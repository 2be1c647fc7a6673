//! In-memory connections: two one-directional pipes whose bytes become readable a fixed
//! latency after they were written, in tokio time.
//!
//! A pipe holds at most [`WINDOW`] bytes written and not yet read (in flight or waiting to be
//! read); a writer beyond that waits, like a TCP sender against a full receive window. Chunks
//! keep their write order (a later write is never delivered before an earlier one).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use i2p_transport::env::{BoxRead, BoxWrite, NetRead, NetStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Bytes a pipe holds written and not yet read before its writer has to wait.
pub(crate) const WINDOW: usize = 256 * 1024;

/// Network-wide counters, shared by the net and every connection.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub dials: AtomicU64,
    pub refused: AtomicU64,
    pub connections: AtomicU64,
    pub open: AtomicU64,
    pub bytes: AtomicU64,
}

/// Shared by both pipes of one connection: counts it open until the last of its four halves
/// is gone.
#[derive(Debug)]
struct Conn {
    counters: Arc<Counters>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Bytes of one write (or of several writes due at the same instant).
#[derive(Debug)]
struct Chunk {
    /// When the reader may have them.
    at: Instant,
    data: Vec<u8>,
    /// How much of `data` the reader already took.
    off: usize,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Chunk>,
    /// Bytes in `queue` not yet read.
    in_flight: usize,
    writer_closed: bool,
    reader_closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

#[derive(Debug)]
struct Pipe {
    state: Mutex<State>,
    latency: Duration,
    conn: Arc<Conn>,
}

impl Pipe {
    fn lock(&self) -> io::Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| io::Error::other("sim pipe: lock poisoned"))
    }

    /// For `Drop`: the flags must be set even after a panic elsewhere.
    fn lock_anyway(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn store_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// The receiving end of a pipe.
#[derive(Debug)]
pub(crate) struct PipeReader {
    pipe: Arc<Pipe>,
    /// Wakes this reader when the next chunk is due; allocated on first use.
    sleep: Option<Pin<Box<Sleep>>>,
}

/// The sending end of a pipe.
#[derive(Debug)]
pub(crate) struct PipeWriter {
    pipe: Arc<Pipe>,
}

impl AsyncRead for PipeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // Twice at most: once before and once after the delivery timer fired.
        for _ in 0..2 {
            let due = {
                let mut st = match this.pipe.lock() {
                    Ok(st) => st,
                    Err(e) => return Poll::Ready(Err(e)),
                };
                let now = Instant::now();
                let mut copied = 0;
                while buf.remaining() > 0 {
                    let Some(head) = st.queue.front_mut() else {
                        break;
                    };
                    if head.at > now {
                        break;
                    }
                    let avail = head.data.get(head.off..).unwrap_or_default();
                    let n = avail.len().min(buf.remaining());
                    buf.put_slice(avail.get(..n).unwrap_or_default());
                    head.off += n;
                    copied += n;
                    if head.off >= head.data.len() {
                        st.queue.pop_front();
                    }
                }
                if copied > 0 {
                    st.in_flight = st.in_flight.saturating_sub(copied);
                    if st.queue.is_empty() && st.queue.capacity() > 4 {
                        st.queue = VecDeque::new();
                    }
                    let writer = st.write_waker.take();
                    drop(st);
                    if let Some(w) = writer {
                        w.wake();
                    }
                    return Poll::Ready(Ok(()));
                }
                match st.queue.front().map(|c| c.at) {
                    Some(at) => {
                        // A write cannot arrive before the head, but wake on it anyway: cheap.
                        store_waker(&mut st.read_waker, cx);
                        at
                    }
                    None if st.writer_closed => return Poll::Ready(Ok(())),
                    None => {
                        store_waker(&mut st.read_waker, cx);
                        return Poll::Pending;
                    }
                }
            };
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
            if sleep.deadline() != due {
                sleep.as_mut().reset(due);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        // The timer fired but the clock still reads earlier than the head: try again soon
        // rather than spin here.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl NetRead for PipeReader {}

impl Drop for PipeReader {
    fn drop(&mut self) {
        let mut st = self.pipe.lock_anyway();
        st.reader_closed = true;
        st.queue = VecDeque::new();
        st.in_flight = 0;
        st.read_waker = None;
        let writer = st.write_waker.take();
        drop(st);
        if let Some(w) = writer {
            w.wake();
        }
    }
}

impl AsyncWrite for PipeWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let pipe = &self.pipe;
        let mut st = match pipe.lock() {
            Ok(st) => st,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if st.reader_closed || st.writer_closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if st.in_flight >= WINDOW {
            store_waker(&mut st.write_waker, cx);
            return Poll::Pending;
        }
        let n = buf.len().min(WINDOW - st.in_flight);
        let data = buf.get(..n).unwrap_or_default();
        let at = Instant::now() + pipe.latency;
        match st.queue.back_mut() {
            // Not earlier than what is already queued (FIFO), so due with it: join it.
            Some(back) if back.at >= at => back.data.extend_from_slice(data),
            _ => st.queue.push_back(Chunk {
                at,
                data: data.to_vec(),
                off: 0,
            }),
        }
        st.in_flight += n;
        let reader = st.read_waker.take();
        drop(st);
        pipe.conn
            .counters
            .bytes
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
        if let Some(w) = reader {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close();
        Poll::Ready(Ok(()))
    }
}

impl PipeWriter {
    fn close(&self) {
        let mut st = self.pipe.lock_anyway();
        st.writer_closed = true;
        st.write_waker = None;
        let reader = st.read_waker.take();
        drop(st);
        if let Some(w) = reader {
            w.wake();
        }
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.close();
    }
}

fn pipe(latency: Duration, conn: &Arc<Conn>) -> (PipeWriter, PipeReader) {
    let pipe = Arc::new(Pipe {
        state: Mutex::new(State::default()),
        latency,
        conn: Arc::clone(conn),
    });
    (
        PipeWriter {
            pipe: Arc::clone(&pipe),
        },
        PipeReader { pipe, sleep: None },
    )
}

/// One end of an in-memory connection.
#[derive(Debug)]
pub(crate) struct SimStream {
    reader: PipeReader,
    writer: PipeWriter,
}

/// A new connection with `latency` each way: (dialler's end, acceptor's end).
pub(crate) fn connection(latency: Duration, counters: &Arc<Counters>) -> (SimStream, SimStream) {
    counters.connections.fetch_add(1, Ordering::Relaxed);
    counters.open.fetch_add(1, Ordering::Relaxed);
    let conn = Arc::new(Conn {
        counters: Arc::clone(counters),
    });
    let (up_w, up_r) = pipe(latency, &conn);
    let (down_w, down_r) = pipe(latency, &conn);
    (
        SimStream {
            reader: down_r,
            writer: up_w,
        },
        SimStream {
            reader: up_r,
            writer: down_w,
        },
    )
}

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_shutdown(cx)
    }
}

impl NetStream for SimStream {
    fn split(self: Box<Self>) -> (BoxRead, BoxWrite) {
        let SimStream { reader, writer } = *self;
        (Box::new(reader), Box::new(writer))
    }
}
