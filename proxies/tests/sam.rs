//! The SAM bridge over the in-memory I2P, driven with raw SAM lines: version negotiation,
//! sessions (duplicates, bad keys, lifetime = control socket), STREAM CONNECT/ACCEPT/FORWARD,
//! datagrams over UDP and the control socket, NAMING, DEST GENERATE, PRIMARY subsessions, and
//! bad input that never stops the bridge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use i2p_client::PrivateKeys;
use i2p_client::mem::MemNetwork;
use i2p_proxies::sam::{SamBridge, SamConfig};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

struct Sam {
    tcp: SocketAddr,
    udp: SocketAddr,
    net: MemNetwork,
}

async fn start() -> Sam {
    let net = MemNetwork::new();
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let udp_addr = udp.local_addr().unwrap();
    let bridge = SamBridge::new(SamConfig::default(), net.client(), udp);
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = l.local_addr().unwrap();
    tokio::spawn(bridge.clone().serve_tcp(l));
    tokio::spawn(bridge.serve_udp());
    Sam {
        tcp,
        udp: udp_addr,
        net,
    }
}

struct Line(BufReader<TcpStream>);

impl Line {
    async fn open(sam: &Sam) -> Line {
        let mut l = Line(BufReader::new(TcpStream::connect(sam.tcp).await.unwrap()));
        assert_eq!(
            l.cmd("HELLO VERSION MIN=3.0 MAX=3.3").await,
            "HELLO REPLY RESULT=OK VERSION=3.3"
        );
        l
    }
    async fn cmd(&mut self, c: &str) -> String {
        self.0
            .get_mut()
            .write_all(format!("{c}\n").as_bytes())
            .await
            .unwrap();
        self.line().await
    }
    async fn line(&mut self) -> String {
        let mut s = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.0.read_line(&mut s))
            .await
            .unwrap()
            .unwrap();
        s.trim_end_matches('\n').to_string()
    }
    fn stream(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.0
    }
}

fn value<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or("")
}

/// A session; returns its control socket and public destination (base64).
async fn session(sam: &Sam, style: &str, id: &str, extra: &str) -> (Line, String) {
    let mut c = Line::open(sam).await;
    let r = c
        .cmd(&format!(
            "SESSION CREATE STYLE={style} ID={id} DESTINATION=TRANSIENT SIGNATURE_TYPE=7 {extra}"
        ))
        .await;
    assert!(
        r.starts_with("SESSION STATUS RESULT=OK DESTINATION="),
        "{r}"
    );
    let keys = PrivateKeys::from_base64(value(&r, "DESTINATION")).unwrap();
    (c, keys.destination.to_base64())
}

#[tokio::test]
async fn hello_negotiates_versions() {
    let sam = start().await;
    for (hello, want) in [
        ("HELLO VERSION", "HELLO REPLY RESULT=OK VERSION=3.3"),
        (
            "HELLO VERSION MIN=3.0 MAX=3.1",
            "HELLO REPLY RESULT=OK VERSION=3.1",
        ),
        (
            "HELLO VERSION MIN=3.1 MAX=4.0",
            "HELLO REPLY RESULT=OK VERSION=3.3",
        ),
        (
            "HELLO VERSION MIN=3.4 MAX=3.9",
            "HELLO REPLY RESULT=NOVERSION",
        ),
        ("HELLO VERSION MAX=2.0", "HELLO REPLY RESULT=NOVERSION"),
    ] {
        let mut c = Line(BufReader::new(TcpStream::connect(sam.tcp).await.unwrap()));
        assert_eq!(c.cmd(hello).await, want, "{hello}");
    }
    let mut c = Line(BufReader::new(TcpStream::connect(sam.tcp).await.unwrap()));
    assert!(
        c.cmd("SESSION CREATE STYLE=STREAM")
            .await
            .starts_with("HELLO REPLY RESULT=I2P_ERROR")
    );
}

#[tokio::test]
async fn sessions_duplicates_keys_and_lifetime() {
    let sam = start().await;
    let (ctl, _) = session(&sam, "STREAM", "s1", "").await;
    let mut c = Line::open(&sam).await;
    assert_eq!(
        c.cmd("SESSION CREATE STYLE=STREAM ID=s1 DESTINATION=TRANSIENT")
            .await,
        "SESSION STATUS RESULT=DUPLICATED_ID"
    );
    assert!(
        c.cmd("SESSION CREATE STYLE=STREAM ID=s2 DESTINATION=notakey")
            .await
            .starts_with("SESSION STATUS RESULT=INVALID_KEY")
    );
    assert!(
        c.cmd("SESSION CREATE STYLE=STREAM ID=s2 DESTINATION=TRANSIENT SIGNATURE_TYPE=1")
            .await
            .contains("I2P_ERROR")
    );
    // the same keys twice
    let keys = PrivateKeys::generate(&mut rand::rng()).to_base64();
    let mut a = Line::open(&sam).await;
    assert!(
        a.cmd(&format!(
            "SESSION CREATE STYLE=STREAM ID=k1 DESTINATION={}",
            *keys
        ))
        .await
        .contains("RESULT=OK")
    );
    let mut b = Line::open(&sam).await;
    assert_eq!(
        b.cmd(&format!(
            "SESSION CREATE STYLE=STREAM ID=k2 DESTINATION={}",
            *keys
        ))
        .await,
        "SESSION STATUS RESULT=DUPLICATED_DEST"
    );
    // closing the control socket ends the session: its ID can be used again
    drop(ctl);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_again, _) = session(&sam, "STREAM", "s1", "").await;
}

#[tokio::test]
async fn stream_connect_accept_and_forward() {
    let sam = start().await;
    let (_srv_ctl, srv_dest) = session(&sam, "STREAM", "srv", "").await;
    let (_cli_ctl, cli_dest) = session(&sam, "STREAM", "cli", "").await;
    let srv_b32 = i2p_wire::Destination::from_base64(&srv_dest)
        .unwrap()
        .b32_address();
    sam.net.add_name(
        "server.i2p",
        &i2p_wire::Destination::from_base64(&srv_dest).unwrap(),
    );

    let mut acc = Line::open(&sam).await;
    assert_eq!(
        acc.cmd("STREAM ACCEPT ID=srv").await,
        "STREAM STATUS RESULT=OK"
    );
    let mut con = Line::open(&sam).await;
    assert_eq!(
        con.cmd(&format!(
            "STREAM CONNECT ID=cli DESTINATION={srv_b32} TO_PORT=80"
        ))
        .await,
        "STREAM STATUS RESULT=OK"
    );
    let dest_line = acc.line().await;
    assert_eq!(dest_line, format!("{cli_dest} FROM_PORT=0 TO_PORT=80"));
    con.stream().get_mut().write_all(b"ping").await.unwrap();
    let mut b = [0u8; 4];
    acc.stream().read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"ping");
    acc.stream().get_mut().write_all(b"pong").await.unwrap();
    con.stream().read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"pong");

    // CONNECT by name and by base64 with an unknown name and an invalid ID
    let mut bad = Line::open(&sam).await;
    assert!(
        bad.cmd("STREAM CONNECT ID=cli DESTINATION=nobody.i2p")
            .await
            .starts_with("STREAM STATUS RESULT=INVALID_KEY")
    );
    let mut bad = Line::open(&sam).await;
    assert!(
        bad.cmd("STREAM CONNECT ID=nope DESTINATION=server.i2p")
            .await
            .starts_with("STREAM STATUS RESULT=INVALID_ID")
    );
    let mut bad = Line::open(&sam).await;
    let absent = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p";
    assert!(
        bad.cmd(&format!("STREAM CONNECT ID=cli DESTINATION={absent}"))
            .await
            .starts_with("STREAM STATUS RESULT=CANT_REACH_PEER")
    );

    // FORWARD to a local listener
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let mut fwd = Line::open(&sam).await;
    assert_eq!(
        fwd.cmd(&format!("STREAM FORWARD ID=srv PORT={port} HOST=127.0.0.1"))
            .await,
        "STREAM STATUS RESULT=OK"
    );
    let mut con = Line::open(&sam).await;
    assert_eq!(
        con.cmd("STREAM CONNECT ID=cli DESTINATION=server.i2p")
            .await,
        "STREAM STATUS RESULT=OK"
    );
    let (s, _) = l.accept().await.unwrap();
    let mut s = BufReader::new(s);
    let mut first = String::new();
    s.read_line(&mut first).await.unwrap();
    assert!(first.starts_with(&cli_dest), "{first}");
    con.stream()
        .get_mut()
        .write_all(b"via forward")
        .await
        .unwrap();
    let mut buf = [0u8; 11];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"via forward");
}

#[tokio::test]
async fn datagrams_over_udp_and_the_control_socket() {
    let sam = start().await;
    let inbox = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let inbox_port = inbox.local_addr().unwrap().port();
    let (_a, a_dest) = session(
        &sam,
        "DATAGRAM",
        "dga",
        &format!("PORT={inbox_port} HOST=127.0.0.1"),
    )
    .await;
    let (_b, b_dest) = session(&sam, "DATAGRAM", "dgb", "").await;
    // B sends to A through the UDP port
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sender
        .send_to(
            format!("3.0 dgb {a_dest} TO_PORT=9\nhello a").as_bytes(),
            sam.udp,
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), inbox.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let got = String::from_utf8_lossy(&buf[..n]).to_string();
    assert_eq!(got, format!("{b_dest} FROM_PORT=0 TO_PORT=9\nhello a"));
    // RAW over the control socket both ways
    let (mut r1, r1_dest) = session(&sam, "RAW", "raw1", "").await;
    let (mut r2, _) = session(&sam, "RAW", "raw2", "").await;
    r2.stream()
        .get_mut()
        .write_all(format!("RAW SEND DESTINATION={r1_dest} SIZE=5\nhello").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        r1.line().await,
        "RAW RECEIVED SIZE=5 FROM_PORT=0 TO_PORT=0 PROTOCOL=18"
    );
    let mut p = [0u8; 5];
    r1.stream().read_exact(&mut p).await.unwrap();
    assert_eq!(&p, b"hello");
}

#[tokio::test]
async fn naming_dest_generate_and_primary() {
    let sam = start().await;
    let (mut p, p_dest) = session(&sam, "PRIMARY", "prim", "").await;
    assert_eq!(
        p.cmd("NAMING LOOKUP NAME=ME").await,
        format!("NAMING REPLY RESULT=OK NAME=ME VALUE={p_dest}")
    );
    let b32 = i2p_wire::Destination::from_base64(&p_dest)
        .unwrap()
        .b32_address();
    assert_eq!(
        p.cmd(&format!("NAMING LOOKUP NAME={b32}")).await,
        format!("NAMING REPLY RESULT=OK NAME={b32} VALUE={p_dest}")
    );
    assert_eq!(
        p.cmd("NAMING LOOKUP NAME=nobody.i2p").await,
        "NAMING REPLY RESULT=KEY_NOT_FOUND NAME=nobody.i2p"
    );
    let g = p.cmd("DEST GENERATE SIGNATURE_TYPE=7").await;
    let keys = PrivateKeys::from_base64(value(&g, "PRIV")).unwrap();
    assert_eq!(keys.destination.to_base64(), value(&g, "PUB"));

    assert_eq!(
        p.cmd("SESSION ADD STYLE=STREAM ID=web FROM_PORT=80").await,
        "SESSION STATUS RESULT=OK ID=web MESSAGE=\"ADD web\""
    );
    assert!(
        p.cmd("SESSION ADD STYLE=STREAM ID=web2 FROM_PORT=80")
            .await
            .contains("I2P_ERROR"),
        "same route twice"
    );
    let (_c, _) = session(&sam, "STREAM", "caller", "").await;
    let mut acc = Line::open(&sam).await;
    assert_eq!(
        acc.cmd("STREAM ACCEPT ID=web").await,
        "STREAM STATUS RESULT=OK"
    );
    let mut con = Line::open(&sam).await;
    assert_eq!(
        con.cmd(&format!(
            "STREAM CONNECT ID=caller DESTINATION={b32} TO_PORT=80"
        ))
        .await,
        "STREAM STATUS RESULT=OK"
    );
    assert!(acc.line().await.ends_with("TO_PORT=80"));
    assert!(
        p.cmd("SESSION REMOVE ID=web")
            .await
            .starts_with("SESSION STATUS RESULT=OK")
    );
    assert!(p.cmd("SESSION REMOVE ID=web").await.contains("I2P_ERROR"));
}

#[tokio::test]
async fn bad_input_gets_errors_and_the_bridge_keeps_serving() {
    let sam = start().await;
    let mut c = Line::open(&sam).await;
    assert!(
        c.cmd("FROB NICATE")
            .await
            .starts_with("SESSION STATUS RESULT=I2P_ERROR")
    );
    assert!(
        c.cmd("NAMING LOOKUP NAME=\"unterminated")
            .await
            .starts_with("NAMING REPLY RESULT=I2P_ERROR")
    );
    assert!(
        c.cmd("STREAM CONNECT ID=x ID=y")
            .await
            .starts_with("STREAM STATUS RESULT=I2P_ERROR")
    );
    assert_eq!(c.cmd("PING still alive").await, "PONG still alive");
    // an oversized line: an error, then the connection is closed
    let mut big = Line::open(&sam).await;
    big.0
        .get_mut()
        .write_all(&vec![b'A'; 20_000])
        .await
        .unwrap();
    big.0.get_mut().write_all(b"\n").await.unwrap();
    assert!(
        big.line()
            .await
            .starts_with("SESSION STATUS RESULT=I2P_ERROR")
    );
    let mut rest = Vec::new();
    let _ = big.0.read_to_end(&mut rest).await;
    // others are unaffected
    assert_eq!(c.cmd("PING").await, "PONG");
    let (_s, _) = session(&sam, "STREAM", "after", "").await;
}
