//! An in-memory network with latency in tokio time, behind the transport's
//! [`Network`] seam.
//!
//! One [`VirtualNet`] is the whole internet; [`VirtualNet::host`] gives each simulated router a
//! [`Network`] handle that dials and listens as one IP address. Connections are pairs of
//! in-memory pipes: bytes written become readable one one-way latency later (in order, with a
//! 256 KiB window per direction), a dial takes one round trip, and a dial to an address nobody
//! listens on is refused after that round trip.
//!
//! Time is tokio's: under a paused clock (`start_paused`, `tokio::time::pause`) a simulation
//! of many routers runs as fast as the CPU allows, and the clock jumps to the next delivery or
//! timer whenever every task waits.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use i2p_transport::env::{BoxFuture, BoxStream, Listener, Network};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::pipe::{self, Counters};

/// Connections a listener queues before it accepts them (Linux's default `somaxconn`); a dial
/// beyond that is refused.
const BACKLOG: usize = 4096;

/// Ports handed out to diallers and to listeners on port 0: `40000..65535`.
const EPHEMERAL_FIRST: u16 = 40000;
const EPHEMERAL_COUNT: u64 = 65535 - 40000;

/// One-way latencies are capped at a day (keeps instant arithmetic far from overflow).
const MAX_LATENCY_MS: u64 = 24 * 3600 * 1000;

/// How long bytes take between two hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkModel {
    /// The one-way latency every pair of hosts has at least.
    pub base_ms: u64,
    /// Up to this much more, fixed per pair of hosts (a hash of the two addresses and the
    /// net's seed).
    pub jitter_ms: u64,
}

impl Default for LinkModel {
    /// 20-150 ms one way: routers spread over a continent or two.
    fn default() -> Self {
        LinkModel {
            base_ms: 20,
            jitter_ms: 130,
        }
    }
}

/// Counters over the network's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Dials attempted (with a valid local address).
    pub dials: u64,
    /// Dials refused: nobody listening, or the listener's backlog full.
    pub refused: u64,
    /// Connections established.
    pub connections: u64,
    /// Connections with at least one end still held.
    pub open: u64,
    /// Bytes written into connections, both directions.
    pub bytes: u64,
}

type Backlog = mpsc::Sender<(BoxStream, SocketAddr)>;

/// A registered listener: its id (so a dropped one removes only itself) and its queue.
struct Registration {
    id: u64,
    backlog: Backlog,
}

/// The simulated internet. See the module docs.
pub struct VirtualNet {
    seed: u64,
    link: LinkModel,
    listeners: Mutex<HashMap<SocketAddr, Registration>>,
    next_listener: AtomicU64,
    next_port: AtomicU64,
    counters: Arc<Counters>,
}

impl fmt::Debug for VirtualNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualNet")
            .field("seed", &self.seed)
            .field("link", &self.link)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl VirtualNet {
    /// An empty network. `seed` fixes the per-pair latencies.
    pub fn new(seed: u64, link: LinkModel) -> Arc<VirtualNet> {
        Arc::new(VirtualNet {
            seed,
            link,
            listeners: Mutex::new(HashMap::new()),
            next_listener: AtomicU64::new(0),
            next_port: AtomicU64::new(0),
            counters: Arc::new(Counters::default()),
        })
    }

    /// The network as host `ip` sees it: dials come from `ip`, listeners listen on `ip`.
    pub fn host(self: &Arc<Self>, ip: IpAddr) -> Arc<dyn Network> {
        Arc::new(Host {
            net: Arc::clone(self),
            ip,
        })
    }

    /// The link model the net was created with.
    pub fn link(&self) -> LinkModel {
        self.link
    }

    /// The one-way latency between `a` and `b`: the same both ways, and the same for the same
    /// seed and link model.
    pub fn latency(&self, a: IpAddr, b: IpAddr) -> Duration {
        let (a, b) = (ip_key(a), ip_key(b));
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut h = mix(self.seed);
        for word in [lo as u64, (lo >> 64) as u64, hi as u64, (hi >> 64) as u64] {
            h = mix(h ^ word);
        }
        let jitter = h % self.link.jitter_ms.saturating_add(1);
        let ms = self.link.base_ms.saturating_add(jitter).min(MAX_LATENCY_MS);
        Duration::from_millis(ms)
    }

    /// Counters so far.
    pub fn stats(&self) -> NetStats {
        let c = &self.counters;
        NetStats {
            dials: c.dials.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            connections: c.connections.load(Ordering::Relaxed),
            open: c.open.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
        }
    }

    fn listeners(&self) -> io::Result<MutexGuard<'_, HashMap<SocketAddr, Registration>>> {
        self.listeners
            .lock()
            .map_err(|_| io::Error::other("sim net: lock poisoned"))
    }

    fn ephemeral_port(&self) -> u16 {
        let n = self.next_port.fetch_add(1, Ordering::Relaxed) % EPHEMERAL_COUNT;
        EPHEMERAL_FIRST.saturating_add(u16::try_from(n).unwrap_or(0))
    }

    /// Hands a new connection to the listener on `to` and returns the dialler's end.
    fn connect(
        &self,
        from: SocketAddr,
        to: SocketAddr,
        latency: Duration,
    ) -> io::Result<BoxStream> {
        let mut listeners = self.listeners()?;
        let refused = || {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(%from, %to, "sim: connection refused");
            io::Error::from(io::ErrorKind::ConnectionRefused)
        };
        let Some(reg) = listeners.get(&to) else {
            return Err(refused());
        };
        let (client, server) = pipe::connection(latency, &self.counters);
        match reg.backlog.try_send((Box::new(server), from)) {
            Ok(()) => Ok(Box::new(client)),
            Err(TrySendError::Full(_)) => Err(refused()),
            Err(TrySendError::Closed(_)) => {
                listeners.remove(&to);
                Err(refused())
            }
        }
    }
}

/// An address as one number: IPv4 as its IPv4-mapped IPv6 address.
fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The splitmix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One host's view of the net.
#[derive(Debug)]
struct Host {
    net: Arc<VirtualNet>,
    ip: IpAddr,
}

impl Host {
    /// `ip` as a local address of this host: its own address or the unspecified one.
    fn local(&self, ip: IpAddr) -> io::Result<()> {
        if ip == self.ip || ip.is_unspecified() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("sim: {ip} is not this host's address {}", self.ip),
            ))
        }
    }
}

impl Network for Host {
    fn dial(&self, bind: Option<IpAddr>, to: SocketAddr) -> BoxFuture<'_, io::Result<BoxStream>> {
        Box::pin(async move {
            if let Some(ip) = bind {
                self.local(ip)?;
            }
            let net = &self.net;
            net.counters.dials.fetch_add(1, Ordering::Relaxed);
            let latency = net.latency(self.ip, to.ip());
            // SYN there, SYN-ACK back.
            tokio::time::sleep(latency.saturating_mul(2)).await;
            let from = SocketAddr::new(self.ip, net.ephemeral_port());
            net.connect(from, to, latency)
        })
    }

    fn listen(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>> {
        Box::pin(async move {
            self.local(addr.ip())?;
            let net = &self.net;
            let mut listeners = net.listeners()?;
            let port = if addr.port() == 0 {
                (0..EPHEMERAL_COUNT)
                    .map(|_| net.ephemeral_port())
                    .find(|&p| !listeners.contains_key(&SocketAddr::new(self.ip, p)))
                    .ok_or(io::ErrorKind::AddrInUse)?
            } else {
                addr.port()
            };
            let key = SocketAddr::new(self.ip, port);
            if listeners.contains_key(&key) {
                return Err(io::ErrorKind::AddrInUse.into());
            }
            let id = net.next_listener.fetch_add(1, Ordering::Relaxed);
            let (backlog, queue) = mpsc::channel(BACKLOG);
            listeners.insert(key, Registration { id, backlog });
            Ok(Box::new(SimListener {
                net: Arc::clone(net),
                key,
                local: SocketAddr::new(addr.ip(), port),
                id,
                queue,
            }) as Box<dyn Listener>)
        })
    }
}

/// Accepts the connections dialled to one address; unregisters on drop.
struct SimListener {
    net: Arc<VirtualNet>,
    /// Where diallers reach it.
    key: SocketAddr,
    /// What it was asked to listen on, with the port chosen.
    local: SocketAddr,
    id: u64,
    queue: mpsc::Receiver<(BoxStream, SocketAddr)>,
}

impl fmt::Debug for SimListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Listener for SimListener {
    fn accept(&mut self) -> BoxFuture<'_, io::Result<(BoxStream, SocketAddr)>> {
        Box::pin(async move {
            self.queue
                .recv()
                .await
                .ok_or_else(|| io::Error::other("sim listener: unregistered"))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

impl Drop for SimListener {
    fn drop(&mut self) {
        let mut listeners = self
            .net
            .listeners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if listeners.get(&self.key).is_some_and(|r| r.id == self.id) {
            listeners.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::Instant;

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    fn fixed(ms: u64) -> Arc<VirtualNet> {
        VirtualNet::new(
            1,
            LinkModel {
                base_ms: ms,
                jitter_ms: 0,
            },
        )
    }

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_arrive_in_order_after_the_latency() {
        let net = fixed(50);
        let (a, b) = (net.host(ip(1)), net.host(ip(2)));
        let mut l = b.listen(SocketAddr::new(ip(2), 7000)).await.unwrap();
        let start = Instant::now();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let accepted = start.elapsed();
            let mut first = [0u8; 5];
            s.read_exact(&mut first).await.unwrap();
            let first_at = start.elapsed();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            (accepted, first_at, first, rest, start.elapsed())
        });
        let mut c = a.dial(None, SocketAddr::new(ip(2), 7000)).await.unwrap();
        assert_eq!(ms(start.elapsed()), 100, "a dial takes one round trip");
        c.write_all(b"hello").await.unwrap();
        for i in 0..10u8 {
            tokio::time::sleep(Duration::from_millis(7)).await;
            c.write_all(&[i; 100]).await.unwrap();
        }
        drop(c);
        let (accepted, first_at, first, rest, end) = server.await.unwrap();
        assert_eq!(ms(accepted), 100);
        assert_eq!(&first, b"hello");
        assert!(first_at >= Duration::from_millis(150), "{first_at:?}");
        assert!(first_at < Duration::from_millis(152), "{first_at:?}");
        let want: Vec<u8> = (0..10u8).flat_map(|i| [i; 100]).collect();
        assert_eq!(rest, want);
        // The last write went out at 170 ms and arrived 50 ms later.
        assert_eq!(ms(end), 220);
        assert_eq!(net.stats().bytes, 1005);
    }

    #[tokio::test(start_paused = true)]
    async fn dial_to_nobody_is_refused_after_a_round_trip() {
        let net = fixed(30);
        let a = net.host(ip(1));
        let start = Instant::now();
        let err = a
            .dial(None, SocketAddr::new(ip(9), 1234))
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(ms(start.elapsed()), 60);
        let stats = net.stats();
        assert_eq!((stats.dials, stats.refused, stats.connections), (1, 1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn listener_addresses_are_exclusive_and_freed_on_drop() {
        let net = fixed(10);
        let (a, b) = (net.host(ip(1)), net.host(ip(2)));
        let to = SocketAddr::new(ip(2), 7000);
        let l = b.listen(to).await.unwrap();
        assert_eq!(l.local_addr().unwrap(), to);
        let err = b.listen(to).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        // The same port on the wildcard address is the same port.
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 7000);
        assert_eq!(
            b.listen(any).await.err().unwrap().kind(),
            io::ErrorKind::AddrInUse
        );
        drop(l);
        let err = a.dial(None, to).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let mut l = b.listen(any).await.unwrap();
        assert_eq!(l.local_addr().unwrap(), any);
        let _c = a.dial(None, to).await.unwrap();
        let (_s, from) = l.accept().await.unwrap();
        assert_eq!(from.ip(), ip(1));
    }

    #[tokio::test(start_paused = true)]
    async fn port_zero_and_foreign_addresses() {
        let net = fixed(10);
        let (a, b) = (net.host(ip(1)), net.host(ip(2)));
        let mut l = b.listen(SocketAddr::new(ip(2), 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        assert_eq!(addr.ip(), ip(2));
        assert!((40000..65535).contains(&addr.port()), "{addr}");
        let l2 = b.listen(SocketAddr::new(ip(2), 0)).await.unwrap();
        assert_ne!(l2.local_addr().unwrap(), addr);

        let err = b.listen(SocketAddr::new(ip(3), 7000)).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);
        let err = a.dial(Some(ip(3)), addr).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AddrNotAvailable);

        let _c = a.dial(Some(ip(1)), addr).await.unwrap();
        let (_s, from) = l.accept().await.unwrap();
        assert_eq!(from.ip(), ip(1));
        assert!((40000..65535).contains(&from.port()), "{from}");
    }

    #[tokio::test(start_paused = true)]
    async fn ephemeral_ports_wrap_within_their_range() {
        let net = fixed(0);
        let ports: Vec<u16> = (0..EPHEMERAL_COUNT + 2)
            .map(|_| net.ephemeral_port())
            .collect();
        assert_eq!(ports[0], 40000);
        assert_eq!(ports[ports.len() - 3], 65534);
        assert_eq!(ports[ports.len() - 2], 40000);
        assert!(ports.iter().all(|p| (40000..65535).contains(p)));
    }

    #[tokio::test(start_paused = true)]
    async fn writer_drop_is_eof_after_the_data() {
        let net = fixed(20);
        let (a, b) = (net.host(ip(1)), net.host(ip(2)));
        let mut l = b.listen(SocketAddr::new(ip(2), 1)).await.unwrap();
        let c = a.dial(None, SocketAddr::new(ip(2), 1)).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let (mut cr, mut cw) = c.split();
        let (mut sr, mut sw) = s.split();
        cw.write_all(&[7u8; 1000]).await.unwrap();
        drop(cw);
        let mut got = Vec::new();
        sr.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, vec![7u8; 1000]);
        // A half-closed connection still carries the other direction; shutdown is EOF too.
        sw.write_all(b"bye").await.unwrap();
        sw.shutdown().await.unwrap();
        assert_eq!(
            sw.write(b"x").await.err().unwrap().kind(),
            io::ErrorKind::BrokenPipe
        );
        let mut got = Vec::new();
        cr.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
        assert_eq!(net.stats().open, 1);
        drop((sr, sw));
        assert_eq!(net.stats().open, 1, "the dialler still holds its reader");
        drop(cr);
        assert_eq!(net.stats().open, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn reader_drop_breaks_the_writer() {
        let net = fixed(20);
        let (a, b) = (net.host(ip(1)), net.host(ip(2)));
        let mut l = b.listen(SocketAddr::new(ip(2), 1)).await.unwrap();
        let c = a.dial(None, SocketAddr::new(ip(2), 1)).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let (mut cr, mut cw) = c.split();
        cw.write_all(b"unread").await.unwrap();
        drop(s);
        let err = cw.write_all(b"more").await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(cr.read(&mut [0u8; 8]).await.unwrap(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_holds_the_writer_back() {
        let net = fixed(25);
        let (a, b) = (net.host(ip(1)), net.host(ip(2)));
        let mut l = b.listen(SocketAddr::new(ip(2), 1)).await.unwrap();
        let c = a.dial(None, SocketAddr::new(ip(2), 1)).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let data: Vec<u8> = (0..1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let (_cr, mut cw) = c.split();
        let expected = data.clone();
        let writer = tokio::spawn(async move {
            cw.write_all(&data).await.unwrap();
            cw.shutdown().await.unwrap();
        });
        // Nobody reads: the writer stops at the window.
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!writer.is_finished());
        assert_eq!(net.stats().bytes, pipe::WINDOW as u64);

        let (mut sr, _sw) = s.split();
        let mut got = Vec::with_capacity(expected.len());
        let mut buf = [0u8; 4096];
        loop {
            let n = sr.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            sr.quick_ack();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        writer.await.unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes changed or reordered");
    }

    #[tokio::test(start_paused = true)]
    async fn latency_is_symmetric_deterministic_and_in_range() {
        let link = LinkModel::default();
        let n1 = VirtualNet::new(42, link);
        let n2 = VirtualNet::new(42, link);
        let n3 = VirtualNet::new(43, link);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let mut differs = false;
        for i in 1..50u8 {
            for (x, y) in [(ip(i), ip(i + 1)), (ip(i), v6)] {
                let d = n1.latency(x, y);
                assert_eq!(d, n1.latency(y, x));
                assert_eq!(d, n2.latency(x, y));
                assert!(d >= Duration::from_millis(20) && d <= Duration::from_millis(150));
                differs |= d != n3.latency(x, y);
            }
        }
        assert!(differs, "the seed changes latencies");
        let spread: std::collections::HashSet<_> =
            (1..50u8).map(|i| n1.latency(ip(i), ip(200))).collect();
        assert!(spread.len() > 10, "jitter spreads latencies: {spread:?}");
        assert_eq!(fixed(33).latency(ip(1), ip(2)), Duration::from_millis(33));
    }

    #[tokio::test(start_paused = true)]
    async fn dial_and_delivery_follow_the_pair_latency() {
        let net = VirtualNet::new(7, LinkModel::default());
        let (a, b) = (net.host(ip(1)), net.host(ip(2)));
        let one_way = net.latency(ip(1), ip(2));
        let mut l = b.listen(SocketAddr::new(ip(2), 1)).await.unwrap();
        let start = Instant::now();
        let mut c = a.dial(None, SocketAddr::new(ip(2), 1)).await.unwrap();
        assert_eq!(start.elapsed(), one_way * 2);
        let (mut s, _) = l.accept().await.unwrap();
        s.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(start.elapsed(), one_way * 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_backlog_refuses() {
        let net = fixed(1);
        let (a, b) = (net.host(ip(1)), net.host(ip(2)));
        let to = SocketAddr::new(ip(2), 1);
        let _l = b.listen(to).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..BACKLOG {
            held.push(a.dial(None, to).await.unwrap());
        }
        let err = a.dial(None, to).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let stats = net.stats();
        assert_eq!(stats.connections, BACKLOG as u64 + 1);
        assert_eq!(stats.open, BACKLOG as u64);
    }
}
