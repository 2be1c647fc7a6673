//! NTCP2 session life cycles between two transport managers on the in-memory network and the
//! virtual clock: a session the peer closed ends at once (so the next message dials again
//! instead of vanishing into a dead connection), a session we close keeps reading what the
//! peer sent before it saw our Termination, and sessions replaced by a crossing dial stay open.
//! Virtual time makes every timing below exact.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use i2p_router::identity::{Ntcp2Keys, RouterKeys};
use i2p_sim::net::{LinkModel, VirtualNet};
use i2p_transport::env::{Clock, TransportEnv, virtual_clock};
use i2p_transport::manager::{
    self, RouterLookup, TransportConfig, TransportEvent, TransportHandle,
};
use i2p_wire::i2np::{DeliveryStatus, I2npBody};
use i2p_wire::{Encode, Hash, I2npMessage, RouterAddress, RouterInfo, RouterInfoBuilder};
use tokio::sync::mpsc;
use tokio::time::Instant;

const NET_ID: u8 = 99;
const PORT: u16 = 7654;
/// 2026-01-01 00:30 UTC: dates in RouterInfos and handshakes must look real.
const EPOCH_MS: u64 = 1_767_227_400_000;
/// One-way latency between the two routers.
const LATENCY_MS: u64 = 50;
/// Longer than the 5 s a closed session keeps reading (`LINGER` in the session code).
const PAST_LINGER: Duration = Duration::from_secs(10);

/// A router's keys and signed RouterInfo.
struct Router {
    ip: IpAddr,
    ntcp2: Ntcp2Keys,
    ri: RouterInfo,
    ri_bytes: Vec<u8>,
}

impl Router {
    fn hash(&self) -> Hash {
        self.ri.hash()
    }
}

/// Keys from `seed`, an NTCP2 address on `ip`:[`PORT`], published now on `clock`.
fn router(seed: u8, ip: Ipv4Addr, clock: &Clock) -> Router {
    let mut random = [0u8; 96];
    for (i, b) in random.iter_mut().enumerate() {
        *b = seed.wrapping_mul(131).wrapping_add(i as u8);
    }
    let keys = RouterKeys::from_random(&random).unwrap();
    let ntcp2 = Ntcp2Keys::from_random(&[seed.wrapping_add(100); 48]);
    let ip = IpAddr::V4(ip);
    let addr =
        RouterAddress::ntcp2_published(3, ntcp2.static_public(), ntcp2.iv(), ip, PORT).unwrap();
    let ri = RouterInfoBuilder::new(keys.identity().clone(), clock())
        .address(addr)
        .net_id(NET_ID)
        .caps("XR")
        .router_version("0.9.58")
        .sign(&|m| keys.sign(m).to_vec())
        .unwrap();
    let ri_bytes = ri.to_bytes();
    Router {
        ip,
        ntcp2,
        ri,
        ri_bytes,
    }
}

/// Everything a transport manager reported, with the virtual time it was read.
type Log = Arc<Mutex<Vec<(Instant, TransportEvent)>>>;

/// A running transport manager and the log of its events.
struct Node {
    handle: TransportHandle,
    log: Log,
}

impl Node {
    /// Ids of the messages received from `from`, in arrival order.
    fn received_from(&self, from: Hash) -> Vec<u32> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, e)| match e {
                TransportEvent::Message { from: f, msg } if *f == from => Some(msg.msg_id()),
                _ => None,
            })
            .collect()
    }

    /// When `peer` was last reported disconnected.
    fn disconnected(&self, peer: Hash) -> Option<Instant> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| matches!(e, TransportEvent::Disconnected { peer: p } if *p == peer))
            .map(|(t, _)| *t)
            .next_back()
    }
}

/// Starts a transport manager for `me` on `net` that knows the RouterInfos of `peers`.
async fn start(
    me: &Router,
    net: &Arc<VirtualNet>,
    clock: &Clock,
    peers: &[&Router],
    idle: Duration,
) -> Node {
    let table: Arc<Vec<Arc<RouterInfo>>> =
        Arc::new(peers.iter().map(|p| Arc::new(p.ri.clone())).collect());
    let lookup: RouterLookup = Arc::new(move |h: Hash| {
        let table = table.clone();
        Box::pin(async move { table.iter().find(|r| r.hash() == h).cloned() })
    });
    let (tx, mut rx) = mpsc::channel(1024);
    let (handle, _task) = manager::spawn_with(
        TransportConfig {
            net_id: NET_ID,
            listen: Some(SocketAddr::new(me.ip, PORT)),
            bind_outbound: Some(me.ip),
            local_hash: me.hash(),
            ntcp2_static: me.ntcp2.static_secret().clone(),
            ntcp2_iv: *me.ntcp2.iv(),
            router_info: me.ri_bytes.clone().into(),
            max_sessions: 100,
            max_handshakes_per_ip: 8,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: idle,
            allow_reserved: true,
        },
        TransportEnv {
            network: net.host(me.ip),
            clock: clock.clone(),
        },
        lookup,
        tx,
    )
    .await
    .unwrap();
    let log: Log = Arc::default();
    let sink = log.clone();
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            sink.lock().unwrap().push((Instant::now(), e));
        }
    });
    Node { handle, log }
}

/// A small message with id `id`, expiring a minute from now on `clock`.
fn status(id: u32, clock: &Clock) -> I2npMessage {
    I2npMessage::new(
        id,
        clock().saturating_add_millis(60_000),
        I2npBody::DeliveryStatus(DeliveryStatus {
            msg_id: id,
            timestamp: clock(),
        }),
    )
    .unwrap()
}

/// Waits (in steps of 1 ms virtual) until `done` holds or `within` has passed; whether it held.
async fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A virtual net with the same fixed latency between any two hosts.
fn fixed_net() -> Arc<VirtualNet> {
    VirtualNet::new(
        7,
        LinkModel {
            base_ms: LATENCY_MS,
            jitter_ms: 0,
        },
    )
}

fn ip_a() -> Ipv4Addr {
    Ipv4Addr::new(240, 0, 0, 1)
}

fn ip_b() -> Ipv4Addr {
    Ipv4Addr::new(240, 1, 0, 1)
}

/// B closes the session A opened; later A sends again. A's session must have ended when B's
/// Termination arrived, so the message dials a new session instead of being written into the
/// dead one (which B no longer reads: it was lost).
#[tokio::test(start_paused = true)]
async fn messages_after_the_peer_closed_get_through() {
    let clock = virtual_clock(EPOCH_MS);
    let net = fixed_net();
    let (a, b) = (router(1, ip_a(), &clock), router(2, ip_b(), &clock));
    let idle = Duration::from_secs(60);
    let na = start(&a, &net, &clock, &[&b], idle).await;
    let nb = start(&b, &net, &clock, &[&a], idle).await;

    na.handle.send(b.hash(), status(1, &clock));
    assert!(
        wait_until(Duration::from_secs(5), || nb.received_from(a.hash()) == [1]).await,
        "the first message did not arrive"
    );
    assert_eq!(na.handle.peers().await, vec![(b.hash(), false)]);
    assert_eq!(nb.handle.peers().await, vec![(a.hash(), true)]);
    assert_eq!(net.stats().connections, 1);

    // B closes the session (Termination), then nothing happens for longer than B lingers
    let closed_at = Instant::now();
    nb.handle.disconnect(a.hash()).await;
    tokio::time::sleep(PAST_LINGER).await;
    assert!(nb.handle.peers().await.is_empty());

    let resent_at = Instant::now();
    na.handle.send(b.hash(), status(2, &clock));
    let delivered = wait_until(Duration::from_secs(30), || {
        nb.received_from(a.hash()) == [1, 2]
    })
    .await;
    assert!(
        delivered,
        "a message sent after the peer closed the session was lost (B received {:?})",
        nb.received_from(a.hash())
    );
    // A noticed at once (one latency after B closed), told the router, and dialled again
    let disconnected = na
        .disconnected(b.hash())
        .expect("A never reported B disconnected");
    assert!(
        disconnected > closed_at && disconnected < resent_at,
        "B's Termination should have ended A's session before the resend"
    );
    assert!(
        disconnected - closed_at <= Duration::from_millis(2 * LATENCY_MS),
        "A's session ended {:?} after B closed it",
        disconnected - closed_at
    );
    assert_eq!(
        net.stats().connections,
        2,
        "the second message dialled anew"
    );
    assert_eq!(na.handle.peers().await, vec![(b.hash(), false)]);
}

/// Both ends close idle sessions after 3 s, and both send at times swept across that
/// boundary: while the session is busy, just before and after one end idles out, while a
/// Termination is on the way, and after both closed. Every message must arrive, once.
#[tokio::test(start_paused = true)]
async fn idle_sessions_close_on_both_ends_without_losing_messages() {
    let clock = virtual_clock(EPOCH_MS);
    let net = fixed_net();
    let (a, b) = (router(3, ip_a(), &clock), router(4, ip_b(), &clock));
    let idle = Duration::from_secs(3);
    let na = start(&a, &net, &clock, &[&b], idle).await;
    let nb = start(&b, &net, &clock, &[&a], idle).await;

    let (mut to_b, mut to_a) = (Vec::new(), Vec::new());
    let mut id = 0u32;
    let mut next_id = || {
        id += 1;
        id
    };
    // Each round starts with no session: A sends, which dials B. Then, swept over the idle
    // boundary in steps of 7 ms, B answers, and A sends again a little later.
    for round in 0..120u64 {
        let start = Instant::now();
        let m = next_id();
        na.handle.send(b.hash(), status(m, &clock));
        to_b.push(m);
        tokio::time::sleep_until(start + Duration::from_millis(2_600 + 7 * round)).await;
        let m = next_id();
        nb.handle.send(a.hash(), status(m, &clock));
        to_a.push(m);
        tokio::time::sleep(Duration::from_millis(round % 5 * 20 + 3)).await;
        let m = next_id();
        na.handle.send(b.hash(), status(m, &clock));
        to_b.push(m);
        // idle close on both ends and the linger are over long before this
        tokio::time::sleep_until(start + Duration::from_secs(20)).await;
    }
    let sorted = |mut v: Vec<u32>| {
        v.sort_unstable();
        v
    };
    let all =
        || sorted(nb.received_from(a.hash())) == to_b && sorted(na.received_from(b.hash())) == to_a;
    let delivered = wait_until(Duration::from_secs(30), all).await;
    let missing = |sent: &[u32], got: Vec<u32>| -> Vec<u32> {
        sent.iter().copied().filter(|m| !got.contains(m)).collect()
    };
    assert!(
        delivered,
        "lost A->B: {:?}, lost B->A: {:?} (of {} and {})",
        missing(&to_b, nb.received_from(a.hash())),
        missing(&to_a, na.received_from(b.hash())),
        to_b.len(),
        to_a.len()
    );
    // the sweep really crossed the idle boundary: sessions were closed and dialled again
    assert!(
        net.stats().connections >= 120,
        "only {} connections",
        net.stats().connections
    );
}

/// A and B send to each other at the same instant with no session: both dial, and each end
/// ends up with two sessions to the other (its own dial and the other's). The newer replaces
/// the older for sending, but the older stays open because the peer sends on it. Closing it
/// at once would end the peer's current session too, and the next messages would dial again
/// and cross again.
#[tokio::test(start_paused = true)]
async fn crossing_dials_keep_both_sessions_and_lose_nothing() {
    let clock = virtual_clock(EPOCH_MS);
    let net = fixed_net();
    let (a, b) = (router(5, ip_a(), &clock), router(6, ip_b(), &clock));
    let idle = Duration::from_secs(60);
    let na = start(&a, &net, &clock, &[&b], idle).await;
    let nb = start(&b, &net, &clock, &[&a], idle).await;

    let (mut to_b, mut to_a) = (Vec::new(), Vec::new());
    for i in 0..40u32 {
        na.handle.send(b.hash(), status(2 * i + 1, &clock));
        to_b.push(2 * i + 1);
        nb.handle.send(a.hash(), status(2 * i + 2, &clock));
        to_a.push(2 * i + 2);
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    let sorted = |mut v: Vec<u32>| {
        v.sort_unstable();
        v
    };
    let all =
        || sorted(nb.received_from(a.hash())) == to_b && sorted(na.received_from(b.hash())) == to_a;
    assert!(
        wait_until(Duration::from_secs(10), all).await,
        "lost messages: A got {:?}, B got {:?}",
        na.received_from(b.hash()),
        nb.received_from(a.hash())
    );
    assert_eq!(
        net.stats().connections,
        2,
        "the crossing sessions were closed and dialled again"
    );
    assert_eq!(net.stats().open, 2, "both crossing sessions stay open");
    assert_eq!(na.disconnected(b.hash()), None);
    assert_eq!(nb.disconnected(a.hash()), None);
    // each end sends on the session the other dialled (the newer one it saw)
    assert_eq!(na.handle.peers().await, vec![(b.hash(), true)]);
    assert_eq!(nb.handle.peers().await, vec![(a.hash(), true)]);
}
