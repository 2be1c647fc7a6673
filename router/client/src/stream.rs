//! The stream type front-ends read and write: any async byte stream plus who is on the other
//! end and which ports.

use i2p_wire::Destination;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Anything that can carry a stream's bytes.
pub trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> ByteStream for T {}

/// An open I2P stream.
pub struct I2pStream {
    io: Box<dyn ByteStream>,
    /// The remote destination.
    pub remote: Destination,
    pub local_port: u16,
    pub remote_port: u16,
}

impl std::fmt::Debug for I2pStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I2pStream")
            .field("remote", &self.remote.b32_address())
            .field("local_port", &self.local_port)
            .field("remote_port", &self.remote_port)
            .finish()
    }
}

impl I2pStream {
    pub fn new(
        io: Box<dyn ByteStream>,
        remote: Destination,
        local_port: u16,
        remote_port: u16,
    ) -> I2pStream {
        I2pStream {
            io,
            remote,
            local_port,
            remote_port,
        }
    }
}

impl AsyncRead for I2pStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for I2pStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
