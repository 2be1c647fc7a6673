//! What a router runs on: the wall clock it reads dates from and the network it opens
//! connections on. Production uses [`system_clock`] and [`TokioNetwork`] (real TCP); the
//! in-process simulation (`i2p-sim`) swaps in a clock that follows tokio's paused time and an
//! in-memory network, so the same router code runs a thousand routers in one process.
//!
//! The seam is deliberately small: five operations (dial, listen, accept, split, and the
//! optional quick ACK after a read) and one clock function. Everything above it sees
//! [`crate::TransportHandle`].

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use i2p_wire::Date;
use tokio::io::{AsyncRead, AsyncWrite};

/// Wall-clock time as an I2P date. Every date a router writes or checks comes from one of
/// these (ARCHITECTURE "Time").
pub type Clock = Arc<dyn Fn() -> Date + Send + Sync>;

/// The system clock (production: real peers check our dates).
pub fn system_clock() -> Clock {
    Arc::new(|| {
        Date::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
        )
    })
}

/// A clock that starts at `epoch_ms` and advances with tokio's clock, so dates and timers
/// move together when tokio's time is paused (the simulation). Create it inside the runtime:
/// it reads `tokio::time::Instant::now()` as its start.
pub fn virtual_clock(epoch_ms: u64) -> Clock {
    let start = tokio::time::Instant::now();
    Arc::new(move || {
        let elapsed = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        Date::from_millis(epoch_ms.saturating_add(elapsed))
    })
}

/// Seconds since the epoch on `clock`.
pub fn clock_secs(clock: &Clock) -> u64 {
    clock().as_millis() / 1000
}

/// A boxed future, as the object-safe traits below return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The read half of a connection.
pub trait NetRead: AsyncRead + Send + Unpin {
    /// Everything received so far was consumed: acknowledge it now rather than delaying the
    /// ACK (TCP: Linux `TCP_QUICKACK`). A no-op where there is no such thing.
    fn quick_ack(&self) {}
}

/// A connected byte stream: TCP in production, an in-memory pipe in the simulation.
pub trait NetStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// Split into independently owned halves (a reader task and a writer task use them).
    fn split(self: Box<Self>) -> (BoxRead, BoxWrite);
}

pub type BoxRead = Box<dyn NetRead>;
pub type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;
pub type BoxStream = Box<dyn NetStream>;

/// Accepts inbound connections on one address.
pub trait Listener: Send + 'static {
    /// The next connection and the remote address it came from.
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, SocketAddr)>>;
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// Opens connections and listeners.
pub trait Network: Send + Sync + 'static {
    /// Connect to `to`, from local address `bind` when given (several test routers share one
    /// loopback). Small writes must not be delayed (TCP: `TCP_NODELAY`).
    fn dial(&self, bind: Option<IpAddr>, to: SocketAddr) -> BoxFuture<'_, io::Result<BoxStream>>;
    /// Listen on `addr` (port 0: any free port).
    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>>;
}

/// Real TCP through tokio.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioNetwork;

impl Network for TokioNetwork {
    fn dial(&self, bind: Option<IpAddr>, to: SocketAddr) -> BoxFuture<'_, io::Result<BoxStream>> {
        Box::pin(async move {
            let stream = match bind {
                Some(ip) => {
                    let socket = if ip.is_ipv4() {
                        tokio::net::TcpSocket::new_v4()?
                    } else {
                        tokio::net::TcpSocket::new_v6()?
                    };
                    socket.bind(SocketAddr::new(ip, 0))?;
                    socket.connect(to).await?
                }
                None => tokio::net::TcpStream::connect(to).await?,
            };
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as BoxStream)
        })
    }

    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let l = tokio::net::TcpListener::bind(addr).await?;
            Ok(Box::new(TcpAcceptor(l)) as Box<dyn Listener>)
        })
    }
}

struct TcpAcceptor(tokio::net::TcpListener);

impl Listener for TcpAcceptor {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, SocketAddr)>> {
        Box::pin(async move {
            let (s, remote) = self.0.accept().await?;
            s.set_nodelay(true)?;
            Ok((Box::new(s) as BoxStream, remote))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl NetStream for tokio::net::TcpStream {
    fn split(self: Box<Self>) -> (BoxRead, BoxWrite) {
        let (r, w) = self.into_split();
        (Box::new(r), Box::new(w))
    }
}

impl NetRead for tokio::net::tcp::OwnedReadHalf {
    fn quick_ack(&self) {
        // i2pd 2.45.1 does not set TCP_NODELAY on its NTCP2 sockets, so Nagle holds its next
        // small write until our ACK arrives; a delayed ACK (up to 40 ms) would then stall every
        // request through an i2pd hop. TCP_QUICKACK is not sticky, hence after every read.
        #[cfg(target_os = "linux")]
        {
            let stream: &tokio::net::TcpStream = self.as_ref();
            let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
        }
    }
}

/// The clock and network a transport runs on.
#[derive(Clone)]
pub struct TransportEnv {
    pub network: Arc<dyn Network>,
    pub clock: Clock,
}

impl TransportEnv {
    /// Real TCP and the system clock.
    pub fn system() -> Self {
        TransportEnv {
            network: Arc::new(TokioNetwork),
            clock: system_clock(),
        }
    }
}

impl std::fmt::Debug for TransportEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportEnv").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_clock_follows_paused_time() {
        let clock = virtual_clock(1_000_000);
        assert_eq!(clock().as_millis(), 1_000_000);
        tokio::time::sleep(std::time::Duration::from_secs(90)).await;
        assert_eq!(clock().as_millis(), 1_090_000);
        assert_eq!(clock_secs(&clock), 1_090);
    }

    #[test]
    fn system_clock_is_now() {
        let a = system_clock()().as_millis();
        let b = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        assert!(u128::from(a).abs_diff(b) < 5_000);
    }
}
