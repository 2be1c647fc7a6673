//! NTCP2 between two instances of our own code: the sans-IO handshake byte by byte (incl.
//! tampering, replay, wrong netId, skew), then two transport managers exchanging I2NP messages
//! over loopback TCP. Interop with i2pd is tested in `e2e/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use i2p_crypto::{Ed25519SigningKey, X25519Secret};
use i2p_transport::manager::{self, RouterLookup, TransportConfig, TransportEvent};
use i2p_transport::ntcp2::block::{Block, parse_blocks};
use i2p_transport::ntcp2::handshake::{
    HandshakeError, Initiator, InitiatorParams, ReplayCache, Responder, ResponderParams,
};
use i2p_wire::i2np::{DeliveryStatus, I2npBody};
use i2p_wire::{
    Date, Encode, Hash, I2npMessage, RouterAddress, RouterIdentity, RouterInfo, RouterInfoBuilder,
};
use tokio::sync::mpsc;

const NET: u8 = 42;

struct Router {
    ri: RouterInfo,
    ri_bytes: Vec<u8>,
    static_key: X25519Secret,
    iv: [u8; 16],
}

fn router(seed: u8, port: u16, net_id: u8, published: Date) -> Router {
    let sign = Ed25519SigningKey::from_seed([seed; 32]);
    let enc = X25519Secret::from_bytes([seed.wrapping_add(1); 32]);
    let static_key = X25519Secret::from_bytes([seed.wrapping_add(2); 32]);
    let iv = [seed; 16];
    let id =
        RouterIdentity::new_x25519_ed25519(enc.public().as_bytes(), &sign.public(), &[seed; 32])
            .unwrap();
    let addr = RouterAddress::ntcp2_published(
        3,
        static_key.public().as_bytes(),
        &iv,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
    )
    .unwrap();
    let ri = RouterInfoBuilder::new(id, published)
        .address(addr)
        .net_id(net_id)
        .caps("XR")
        .router_version("0.9.58")
        .sign(&|m| sign.sign(m).to_vec())
        .unwrap();
    let ri_bytes = ri.to_bytes();
    Router {
        ri,
        ri_bytes,
        static_key,
        iv,
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn now() -> Date {
    Date::from_secs(now_secs())
}

fn params<'a>(alice: &'a Router, bob: &Router) -> InitiatorParams<'a> {
    InitiatorParams {
        net_id: NET,
        local_static: &alice.static_key,
        local_router_info: &alice.ri_bytes,
        remote_hash: bob.ri.hash(),
        remote_static: *bob.static_key.public().as_bytes(),
        remote_iv: bob.iv,
    }
}

fn responder(bob: &Router, net_id: u8) -> Responder {
    Responder::new(ResponderParams {
        net_id,
        local_static: bob.static_key.clone(),
        local_hash: bob.ri.hash(),
        local_iv: bob.iv,
    })
}

#[test]
fn handshake_and_data_phase_in_memory() {
    let (alice, bob) = (router(1, 1, NET, now()), router(2, 2, NET, now()));
    let t = now_secs();
    let (mut init, msg1) = Initiator::start(&params(&alice, &bob), t, &mut rand::rng()).unwrap();
    let mut resp = responder(&bob, NET);
    let mut replay = ReplayCache::new();
    let info = resp.read_msg1(&msg1[..64], t, &mut replay).unwrap();
    assert_eq!(msg1.len(), 64 + info.padding_len);
    let msg2 = resp.create_msg2(&msg1[64..], t, &mut rand::rng()).unwrap();
    let pad2 = init.read_msg2(&msg2[..64], t).unwrap();
    assert_eq!(msg2.len(), 64 + pad2);
    let (mut msg3, mut a) = init.finish(&msg2[64..]).unwrap();
    assert_eq!(msg3.len(), resp.msg3_len());
    let est = resp.read_msg3(&mut msg3, now()).unwrap();
    assert_eq!(est.router_info.hash(), alice.ri.hash());
    assert_eq!(est.router_info_bytes, alice.ri_bytes);
    let mut b = est.data;

    // data phase both ways, several frames so the SipHash IV chain and nonces advance
    for i in 0..5u8 {
        let mut wire = Vec::new();
        a.send.seal_into(&[0, 0, 4, 1, 2, 3, i], &mut wire).unwrap();
        let len = b.recv.frame_len([wire[0], wire[1]]).unwrap();
        assert_eq!(len, wire.len() - 2);
        let n = b.recv.open(&mut wire[2..]).unwrap();
        match &parse_blocks(&wire[2..2 + n]).unwrap()[0] {
            Block::DateTime(v) => assert_eq!(*v, u32::from_be_bytes([1, 2, 3, i])),
            other => panic!("{other:?}"),
        }
        let mut back = Vec::new();
        b.send.seal_into(&[254, 0, 1, i], &mut back).unwrap();
        let len = a.recv.frame_len([back[0], back[1]]).unwrap();
        let n = a.recv.open(&mut back[2..2 + len]).unwrap();
        assert_eq!(&back[2..2 + n], &[254, 0, 1, i]);
    }
    // a flipped bit in a frame fails authentication
    let mut wire = Vec::new();
    a.send.seal_into(&[254, 0, 0], &mut wire).unwrap();
    wire[5] ^= 1;
    b.recv.frame_len([wire[0], wire[1]]).unwrap();
    assert!(b.recv.open(&mut wire[2..]).is_err());
}

#[test]
fn message1_problems_are_detected() {
    let (alice, bob) = (router(3, 1, NET, now()), router(4, 2, NET, now()));
    let t = now_secs();
    let mut replay = ReplayCache::new();

    // replay: the same message 1 twice
    let (_, msg1) = Initiator::start(&params(&alice, &bob), t, &mut rand::rng()).unwrap();
    responder(&bob, NET)
        .read_msg1(&msg1[..64], t, &mut replay)
        .unwrap();
    assert_eq!(
        responder(&bob, NET)
            .read_msg1(&msg1[..64], t, &mut replay)
            .unwrap_err(),
        HandshakeError::Replay
    );

    // tampered options frame
    let (_, mut msg1) = Initiator::start(&params(&alice, &bob), t, &mut rand::rng()).unwrap();
    msg1[40] ^= 0x80;
    assert_eq!(
        responder(&bob, NET)
            .read_msg1(&msg1[..64], t, &mut replay)
            .unwrap_err(),
        HandshakeError::Aead { msg: 1 }
    );

    // sent to the wrong router (different IV → garbage key)
    let other = router(5, 3, NET, now());
    let (_, msg1) = Initiator::start(&params(&alice, &bob), t, &mut rand::rng()).unwrap();
    let e = responder(&other, NET)
        .read_msg1(&msg1[..64], t, &mut replay)
        .unwrap_err();
    assert!(
        matches!(
            e,
            HandshakeError::Aead { msg: 1 } | HandshakeError::BadEphemeralKey { msg: 1 }
        ),
        "{e:?}"
    );

    // another network
    let (_, msg1) = Initiator::start(&params(&alice, &bob), t, &mut rand::rng()).unwrap();
    assert_eq!(
        responder(&bob, NET + 1)
            .read_msg1(&msg1[..64], t, &mut replay)
            .unwrap_err(),
        HandshakeError::NetIdMismatch {
            ours: NET + 1,
            theirs: NET
        }
    );

    // clock skew of two minutes
    let (_, msg1) = Initiator::start(&params(&alice, &bob), t, &mut rand::rng()).unwrap();
    assert!(matches!(
        responder(&bob, NET)
            .read_msg1(&msg1[..64], t + 120, &mut replay)
            .unwrap_err(),
        HandshakeError::ClockSkew { msg: 1, .. }
    ));
}

#[test]
fn message3_checks_the_router_info() {
    let bob = router(7, 2, NET, now());
    let t = now_secs();
    let run = |alice: &Router| {
        let mut replay = ReplayCache::new();
        let (mut init, msg1) = Initiator::start(&params(alice, &bob), t, &mut rand::rng()).unwrap();
        let mut resp = responder(&bob, NET);
        resp.read_msg1(&msg1[..64], t, &mut replay).unwrap();
        let msg2 = resp.create_msg2(&msg1[64..], t, &mut rand::rng()).unwrap();
        init.read_msg2(&msg2[..64], t).unwrap();
        let (mut msg3, _) = init.finish(&msg2[64..]).unwrap();
        resp.read_msg3(&mut msg3, now()).map(|_| ())
    };
    // wrong netId in the RouterInfo
    let e = run(&router(8, 1, NET + 1, now())).unwrap_err();
    assert!(
        matches!(e, HandshakeError::RouterInfo(ref m) if m.contains("netId")),
        "{e:?}"
    );
    // static key not the one in the RouterInfo
    let mut liar = router(9, 1, NET, now());
    liar.static_key = X25519Secret::from_bytes([99; 32]);
    assert_eq!(run(&liar).unwrap_err(), HandshakeError::StaticKeyMismatch);
    // a RouterInfo published far in the future is refused
    let future = router(10, 1, NET, Date::from_secs(now_secs() + 7 * 24 * 3600));
    assert!(matches!(
        run(&future).unwrap_err(),
        HandshakeError::RouterInfo(_)
    ));
    // and a good one passes
    run(&router(11, 1, NET, now())).unwrap();
}

fn status(id: u32) -> I2npMessage {
    I2npMessage::new(
        id,
        Date::from_secs(now_secs() + 60),
        I2npBody::DeliveryStatus(DeliveryStatus {
            msg_id: id,
            timestamp: now(),
        }),
    )
    .unwrap()
}

async fn start(
    r: &Router,
    port: u16,
    peers: Vec<RouterInfo>,
) -> (manager::TransportHandle, mpsc::Receiver<TransportEvent>) {
    let table: Arc<Vec<Arc<RouterInfo>>> = Arc::new(peers.into_iter().map(Arc::new).collect());
    let lookup: RouterLookup = Arc::new(move |h: Hash| {
        let table = table.clone();
        Box::pin(async move { table.iter().find(|r| r.hash() == h).cloned() })
    });
    let (tx, rx) = mpsc::channel(1024);
    let (handle, _) = manager::spawn(
        TransportConfig {
            net_id: NET,
            listen: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
            bind_outbound: None,
            local_hash: r.ri.hash(),
            ntcp2_static: r.static_key.clone(),
            ntcp2_iv: r.iv,
            router_info: r.ri_bytes.clone().into(),
            max_sessions: 100,
            max_handshakes_per_ip: 8,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            allow_reserved: true,
        },
        lookup,
        tx,
    )
    .await
    .unwrap();
    (handle, rx)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn next_message(rx: &mut mpsc::Receiver<TransportEvent>) -> (Hash, I2npMessage) {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("timed out waiting for a message")
            .expect("events closed");
        if let TransportEvent::Message { from, msg } = ev {
            return (from, msg);
        }
    }
}

#[tokio::test]
async fn two_managers_exchange_messages_over_tcp() {
    let (pa, pb) = (free_port(), free_port());
    let (alice, bob) = (router(20, pa, NET, now()), router(21, pb, NET, now()));
    let (ha, mut ea) = start(&alice, pa, vec![bob.ri.clone()]).await;
    let (hb, mut eb) = start(&bob, pb, vec![]).await;

    // Alice dials Bob on demand; Bob learns Alice's RouterInfo from message 3
    for i in 0..50 {
        ha.send(bob.ri.hash(), status(i));
    }
    let mut got = Vec::new();
    let mut learned = false;
    while got.len() < 50 {
        match tokio::time::timeout(Duration::from_secs(10), eb.recv())
            .await
            .unwrap()
            .unwrap()
        {
            TransportEvent::Message { from, msg } => {
                assert_eq!(from, alice.ri.hash());
                got.push(msg.msg_id());
            }
            TransportEvent::RouterInfo { from, bytes, .. } => {
                assert_eq!(from, alice.ri.hash());
                assert_eq!(bytes, alice.ri_bytes);
                learned = true;
            }
            _ => {}
        }
    }
    assert!(learned);
    assert_eq!(got, (0..50).collect::<Vec<_>>(), "in order, none lost");

    // Bob answers over the same (inbound) session without knowing how to dial Alice
    hb.send(alice.ri.hash(), status(1000));
    let (from, msg) = next_message(&mut ea).await;
    assert_eq!((from, msg.msg_id()), (bob.ri.hash(), 1000));
    assert_eq!(ha.peers().await, vec![(bob.ri.hash(), false)]);
    assert_eq!(hb.peers().await, vec![(alice.ri.hash(), true)]);

    // a large message (tunnel-build sized and bigger) crosses intact
    let big = I2npMessage::new(
        7,
        Date::from_secs(now_secs() + 60),
        I2npBody::Data(i2p_wire::i2np::Data::new(vec![0xab; 40_000]).unwrap()),
    )
    .unwrap();
    ha.send(bob.ri.hash(), big.clone());
    let (_, msg) = next_message(&mut eb).await;
    assert_eq!(msg, big);
}

#[tokio::test]
async fn unreachable_peers_fail_fast_and_garbage_gets_no_answer() {
    let (pa, dead) = (free_port(), free_port());
    let alice = router(30, pa, NET, now());
    let ghost = router(31, dead, NET, now());
    let (ha, mut ea) = start(&alice, pa, vec![ghost.ri.clone()]).await;
    ha.send(ghost.ri.hash(), status(1));
    match tokio::time::timeout(Duration::from_secs(10), ea.recv())
        .await
        .unwrap()
        .unwrap()
    {
        TransportEvent::SendFailed { peer, dropped } => {
            assert_eq!((peer, dropped), (ghost.ri.hash(), 1));
        }
        other => panic!("{other:?}"),
    }
    // a prober sending random bytes gets nothing back, and the connection is closed
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", pa))
        .await
        .unwrap();
    s.write_all(&[0x55; 64]).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "no reply to a bad message 1");
    assert_eq!(
        ha.stats()
            .accepts_failed
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

/// Reads until EOF, reset or `limit`; returns how many bytes the peer sent.
async fn bytes_until_close(s: &mut tokio::net::TcpStream, limit: Duration) -> usize {
    use tokio::io::AsyncReadExt;
    let mut total = 0;
    let mut buf = [0u8; 256];
    let read_all = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    };
    tokio::time::timeout(limit, read_all)
        .await
        .expect("the listener neither answered nor closed the connection");
    total
}

/// Issue acceptance (NTCP2 bad input) over real TCP: garbage, a truncated message 1, a replayed
/// message 1, a wrong netId and a 10-minute clock skew each get no reply at all (the spec's
/// probing resistance: pause, read some, close), and the listener keeps serving a real peer.
#[tokio::test]
async fn bad_first_messages_get_no_answer_and_the_listener_keeps_serving() {
    use tokio::io::AsyncWriteExt;
    let (pa, pb) = (free_port(), free_port());
    let alice = router(40, pa, NET, now());
    let bob = router(41, pb, NET, now());
    let (hb, mut eb) = start(&bob, pb, vec![alice.ri.clone()]).await;
    let bob_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), pb);
    let connect = || tokio::net::TcpStream::connect(bob_addr);
    let msg1 = |net_id: u8, secs: u64| {
        let p = InitiatorParams {
            net_id,
            ..params(&alice, &bob)
        };
        Initiator::start(&p, secs, &mut rand::rng()).unwrap().1
    };
    let limit = Duration::from_secs(15);

    // a good message 1 is answered with message 2 (64 bytes and padding)...
    let good = msg1(NET, now_secs());
    let mut first = connect().await.unwrap();
    first.write_all(&good).await.unwrap();
    let answered = bytes_until_close(&mut first, Duration::from_secs(8))
        .await
        .min(64);
    // (the handshake times out after 5 s without message 3, closing the connection)
    assert_eq!(answered, 64, "a good message 1 must be answered");

    let probes: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", vec![0x5a; 96]),
        ("replayed message 1", good.clone()),
        ("wrong netId", msg1(NET + 1, now_secs())),
        ("clock 10 minutes behind", msg1(NET, now_secs() - 600)),
        ("clock 10 minutes ahead", msg1(NET, now_secs() + 600)),
        ("truncated message 1", good[..40].to_vec()),
    ];
    let mut tasks = Vec::new();
    for (what, bytes) in probes {
        let mut s = connect().await.unwrap();
        tasks.push(tokio::spawn(async move {
            s.write_all(&bytes).await.unwrap();
            (what, bytes_until_close(&mut s, limit).await)
        }));
    }
    for t in tasks {
        let (what, got) = t.await.unwrap();
        assert_eq!(got, 0, "{what}: the listener sent {got} bytes");
    }
    let failed = hb
        .stats()
        .accepts_failed
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(failed >= 6, "accepts_failed = {failed}");

    // ...and a real peer is still served
    let (ha, _ea) = start(&alice, pa, vec![bob.ri.clone()]).await;
    ha.send(bob.ri.hash(), status(77));
    let (from, msg) = next_message(&mut eb).await;
    assert_eq!(from, alice.ri.hash());
    assert_eq!(msg.msg_id(), 77);
}
