//! The app side of one stream: the front-end gets one half of an in-memory duplex; two small
//! tasks move bytes between the other half and the destination task.
//!
//! Flow control: the app may have at most as many unsent bytes in flight as the stream's send
//! buffer has room for. That room is a semaphore the upstream task takes permits from before
//! it reads; the destination task adds permits as the stream's send buffer drains (data
//! acknowledged). Downstream, received bytes go through a small bounded channel; the
//! destination task only reads from the stream what fits, so a slow reader leaves data in the
//! stream's receive buffer (which then chokes the sender) instead of growing memory here.

use std::sync::Arc;

use i2p_streaming::StreamId;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{Semaphore, mpsc};

use super::dest::DestCmd;

/// Bytes buffered inside the in-memory duplex, each way.
const DUPLEX_BUF: usize = 64 * 1024;
/// Largest chunk read from the app at once.
const READ_CHUNK: usize = 16 * 1024;
/// Chunks queued towards the app.
pub(super) const TO_APP_CHUNKS: usize = 32;

/// What the destination task keeps for a stream with an app attached.
#[derive(Debug)]
pub(super) struct Pipe {
    /// received bytes towards the app; `None` once EOF was signalled
    pub to_app: Option<mpsc::Sender<Vec<u8>>>,
    /// send-buffer room the app may use
    pub credit: Arc<Semaphore>,
    /// the stream's free send buffer when permits were last adjusted
    pub last_cap: usize,
    /// the remote finished sending: EOF once the buffered bytes are handed over
    pub finished: bool,
    /// the stream is gone: the pipe is dropped once the app has the rest
    pub closed: bool,
}

impl Pipe {
    /// Give the app the room the stream's send buffer gained since the last call.
    pub fn update_credit(&mut self, cap: usize) {
        if cap > self.last_cap {
            self.credit.add_permits(cap - self.last_cap);
        }
        self.last_cap = cap;
    }

    /// The stream is gone: stop both tasks.
    pub fn shut(&mut self) {
        self.credit.close();
        self.to_app = None;
    }
}

/// Start the two tasks of a stream; returns the app's half and the destination task's record.
pub(super) fn spawn(
    id: StreamId,
    cmds: mpsc::Sender<DestCmd>,
    send_capacity: usize,
) -> (DuplexStream, Pipe) {
    let (app, ours) = tokio::io::duplex(DUPLEX_BUF);
    let (mut rd, mut wr) = tokio::io::split(ours);
    let credit = Arc::new(Semaphore::new(send_capacity));
    let (to_app, mut from_dest) = mpsc::channel::<Vec<u8>>(TO_APP_CHUNKS);

    let up_credit = credit.clone();
    let up_cmds = cmds.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            // wait for room, then read at most that much
            match up_credit.acquire().await {
                Ok(p) => p.forget(),
                Err(_) => return, // stream gone
            }
            let room = (up_credit.available_permits() + 1).min(buf.len());
            let Some(slot) = buf.get_mut(..room) else {
                return;
            };
            let n = match rd.read(slot).await {
                Ok(0) | Err(_) => {
                    let _ = up_cmds.send(DestCmd::WriteClosed(id)).await;
                    return;
                }
                Ok(n) => n,
            };
            if n > 1 {
                let more = u32::try_from(n - 1).unwrap_or(u32::MAX);
                match up_credit.acquire_many(more).await {
                    Ok(p) => p.forget(),
                    Err(_) => return,
                }
            }
            let data = buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default();
            if up_cmds.send(DestCmd::Write { id, data }).await.is_err() {
                return;
            }
        }
    });

    tokio::spawn(async move {
        while let Some(chunk) = from_dest.recv().await {
            if wr.write_all(&chunk).await.is_err() {
                let _ = cmds.send(DestCmd::AppGone(id)).await;
                return;
            }
            let _ = cmds.try_send(DestCmd::Consumed(id));
        }
        let _ = wr.shutdown().await;
    });

    (
        app,
        Pipe {
            to_app: Some(to_app),
            credit,
            last_cap: send_capacity,
            finished: false,
            closed: false,
        },
    )
}
