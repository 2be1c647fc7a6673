//! The SAM bridge over the in-memory I2P, driven with raw SAM lines: version negotiation,
//! sessions (duplicates, bad keys, lifetime = control socket), STREAM CONNECT/ACCEPT/FORWARD,
//! datagrams over UDP and the control socket, NAMING, DEST GENERATE, PRIMARY subsessions, what
//! third-party clients (i2plib, i2psam, yosemite; e2e `sam_clients`) send, and bad input
//! (malformed, unknown, oversized, duplicate IDs, slow clients) that gets the spec's error
//! replies (docs/api/samv3.md) and never stops the bridge serving others.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use i2p_client::PrivateKeys;
use i2p_client::mem::MemNetwork;
use i2p_proxies::sam::command::MAX_LINE;
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
    start_with(SamConfig::default()).await
}

async fn start_with(config: SamConfig) -> Sam {
    let net = MemNetwork::new();
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let udp_addr = udp.local_addr().unwrap();
    let bridge = SamBridge::new(config, net.client(), udp);
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

/// Reads until EOF (the bridge closed the socket), with a time limit.
async fn closed(l: &mut Line) -> Vec<u8> {
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), l.0.read_to_end(&mut rest))
        .await
        .expect("the bridge closes the socket")
        .unwrap();
    rest
}

fn pseudo_random(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[tokio::test]
async fn malformed_and_unknown_lines_get_their_familys_error_and_the_socket_goes_on() {
    let sam = start().await;
    let mut c = Line::open(&sam).await;
    let e = "SESSION STATUS RESULT=I2P_ERROR";
    for (line, want) in [
        // unknown verbs and sub-commands: the reply family of the verb, SESSION otherwise
        ("FROB NICATE", e),
        ("SESSION", e),
        ("SESSION FROB ID=x", e),
        ("NAMING FROB", "NAMING REPLY RESULT=I2P_ERROR"),
        ("DEST FROB", "DEST REPLY RESULT=I2P_ERROR"),
        ("HELLO VERSION", "HELLO REPLY RESULT=I2P_ERROR"),
        ("DATAGRAM FROB", e),
        ("STREAM FROB ID=x", "STREAM STATUS RESULT=I2P_ERROR"),
        // malformed: quoting, duplicate keys, missing or bad values
        ("SESSION CREATE STYLE=STREAM ID=\"open", e),
        (
            "SESSION CREATE STYLE=STREAM ID=a ID=b DESTINATION=TRANSIENT",
            e,
        ),
        ("SESSION CREATE ID=a DESTINATION=TRANSIENT", e),
        ("SESSION CREATE STYLE=BOGUS ID=a DESTINATION=TRANSIENT", e),
        ("SESSION CREATE STYLE=STREAM DESTINATION=TRANSIENT", e),
        ("SESSION CREATE STYLE=STREAM ID= DESTINATION=TRANSIENT", e),
        ("SESSION CREATE STYLE=STREAM ID=a", e),
        (
            "SESSION CREATE STYLE=STREAM ID=a DESTINATION=TRANSIENT FROM_PORT=70000",
            e,
        ),
        (
            "SESSION CREATE STYLE=DATAGRAM ID=a DESTINATION=TRANSIENT PORT=x",
            e,
        ),
        (
            "SESSION CREATE STYLE=DATAGRAM ID=a DESTINATION=TRANSIENT PORT=1 HOST=nohost",
            e,
        ),
        (
            "SESSION CREATE STYLE=STREAM ID=a DESTINATION=AAAA",
            "SESSION STATUS RESULT=INVALID_KEY",
        ),
        ("SESSION ADD STYLE=STREAM ID=x", e),
        ("SESSION REMOVE ID=x", e),
        ("NAMING LOOKUP", "NAMING REPLY RESULT=INVALID_KEY"),
        ("NAMING LOOKUP NAME=ME", "NAMING REPLY RESULT=INVALID_KEY"),
        (
            "NAMING LOOKUP NAME=\"a b\" NAME=c",
            "NAMING REPLY RESULT=I2P_ERROR",
        ),
        (
            "DEST GENERATE SIGNATURE_TYPE=99",
            "DEST REPLY RESULT=I2P_ERROR",
        ),
        ("DATAGRAM SEND DESTINATION=x SIZE=0", e),
        ("RAW SEND DESTINATION=x SIZE=abc", e),
        ("DATAGRAM SEND DESTINATION=x SIZE=99999999", e),
        // control characters: still one reply line, without them echoed as line breaks
        ("\u{1}\u{2} \u{7f}", e),
        ("FOO\rBAR BAZ", e),
    ] {
        let r = c.cmd(line).await;
        assert!(r.starts_with(want), "{line:?} -> {r:?}");
        assert!(!r.contains('\r'), "{line:?} -> {r:?}");
        assert_eq!(c.cmd("PING ok").await, "PONG ok", "after {line:?}");
    }
    // bytes that are not UTF-8
    c.stream()
        .get_mut()
        .write_all(b"\xff\xfe GARBAGE \x80\x00\n")
        .await
        .unwrap();
    assert!(c.line().await.starts_with(e));
    assert_eq!(c.cmd("PING").await, "PONG");
    // the ID refused above was never taken
    let (_a, _) = session(&sam, "STREAM", "a", "").await;
}

#[tokio::test]
async fn bad_stream_commands_get_stream_errors() {
    let sam = start().await;
    let (_s, _) = session(&sam, "STREAM", "s", "").await;
    let (_d, _) = session(&sam, "DATAGRAM", "d", "").await;
    for (line, want) in [
        (
            "STREAM CONNECT ID=nope DESTINATION=x.i2p",
            "STREAM STATUS RESULT=INVALID_ID",
        ),
        ("STREAM CONNECT ID=s", "STREAM STATUS RESULT=INVALID_KEY"),
        (
            "STREAM CONNECT ID=s DESTINATION=AAAA",
            "STREAM STATUS RESULT=INVALID_KEY",
        ),
        ("STREAM ACCEPT ID=d", "STREAM STATUS RESULT=I2P_ERROR"),
        ("STREAM FORWARD ID=s", "STREAM STATUS RESULT=I2P_ERROR"),
        (
            "STREAM FORWARD ID=s PORT=1 HOST=nohost",
            "STREAM STATUS RESULT=I2P_ERROR",
        ),
    ] {
        let mut c = Line::open(&sam).await;
        let r = c.cmd(line).await;
        assert!(r.starts_with(want), "{line:?} -> {r:?}");
    }
}

#[tokio::test]
async fn oversized_lines_get_an_error_and_only_that_socket_closes() {
    let sam = start().await;
    let (mut ctl, dest) = session(&sam, "STREAM", "keeps", "").await;
    // a line of exactly the limit is fine
    let mut c = Line::open(&sam).await;
    let text = "x".repeat(MAX_LINE - "PING ".len());
    assert_eq!(c.cmd(&format!("PING {text}")).await, format!("PONG {text}"));
    // one byte more: the error, then the bridge closes this socket
    let r = c.cmd(&format!("PING {text}y")).await;
    assert!(r.starts_with("SESSION STATUS RESULT=I2P_ERROR"), "{r}");
    closed(&mut c).await;
    // a line that never ends
    let mut c = Line::open(&sam).await;
    c.stream()
        .get_mut()
        .write_all(&vec![b'N'; 3 * MAX_LINE])
        .await
        .unwrap();
    assert!(
        c.line()
            .await
            .starts_with("SESSION STATUS RESULT=I2P_ERROR")
    );
    closed(&mut c).await;
    // before HELLO
    let mut c = Line(BufReader::new(TcpStream::connect(sam.tcp).await.unwrap()));
    c.stream()
        .get_mut()
        .write_all(format!("HELLO VERSION MIN={}\n", "3".repeat(2 * MAX_LINE)).as_bytes())
        .await
        .unwrap();
    assert!(c.line().await.starts_with("HELLO REPLY RESULT=I2P_ERROR"));
    closed(&mut c).await;
    // the session on another socket is untouched
    assert_eq!(
        ctl.cmd("NAMING LOOKUP NAME=ME").await,
        format!("NAMING REPLY RESULT=OK NAME=ME VALUE={dest}")
    );
}

#[tokio::test]
async fn duplicate_ids_across_sessions_and_subsessions() {
    let sam = start().await;
    let (mut p, p_dest) = session(&sam, "PRIMARY", "prim", "").await;
    assert!(
        p.cmd("SESSION ADD STYLE=STREAM ID=sub")
            .await
            .starts_with("SESSION STATUS RESULT=OK")
    );
    let (_other, _) = session(&sam, "STREAM", "other", "").await;
    // a subsession ID and a session ID share one name space
    let mut c = Line::open(&sam).await;
    for id in ["prim", "sub", "other"] {
        assert_eq!(
            c.cmd(&format!(
                "SESSION CREATE STYLE=STREAM ID={id} DESTINATION=TRANSIENT"
            ))
            .await,
            "SESSION STATUS RESULT=DUPLICATED_ID",
            "{id}"
        );
    }
    for id in ["prim", "sub", "other"] {
        assert_eq!(
            p.cmd(&format!("SESSION ADD STYLE=DATAGRAM ID={id} PORT=9"))
                .await,
            "SESSION STATUS RESULT=DUPLICATED_ID",
            "{id}"
        );
    }
    // a second SESSION CREATE on a socket that has one
    assert!(
        p.cmd("SESSION CREATE STYLE=STREAM ID=fresh DESTINATION=TRANSIENT")
            .await
            .starts_with("SESSION STATUS RESULT=I2P_ERROR")
    );
    // two clients racing for one ID: exactly one gets it
    let race = |sam_tcp| async move {
        let mut l = Line(BufReader::new(TcpStream::connect(sam_tcp).await.unwrap()));
        l.cmd("HELLO VERSION").await;
        let r = l
            .cmd("SESSION CREATE STYLE=STREAM ID=race DESTINATION=TRANSIENT")
            .await;
        (l, r)
    };
    let ((_l1, r1), (_l2, r2)) = tokio::join!(race(sam.tcp), race(sam.tcp));
    let mut results = [
        r1.split(' ').take(3).collect::<Vec<_>>().join(" "),
        r2.split(' ').take(3).collect::<Vec<_>>().join(" "),
    ];
    results.sort();
    assert_eq!(
        results,
        [
            "SESSION STATUS RESULT=DUPLICATED_ID".to_string(),
            "SESSION STATUS RESULT=OK".to_string()
        ]
    );
    // the original sessions still serve
    assert_eq!(
        p.cmd("NAMING LOOKUP NAME=ME").await,
        format!("NAMING REPLY RESULT=OK NAME=ME VALUE={p_dest}")
    );
    let mut acc = Line::open(&sam).await;
    assert_eq!(
        acc.cmd("STREAM ACCEPT ID=sub").await,
        "STREAM STATUS RESULT=OK"
    );
}

#[tokio::test]
async fn slow_clients_time_out_with_the_spec_replies() {
    let sam = start_with(SamConfig {
        handshake_timeout: Duration::from_millis(300),
        ..SamConfig::default()
    })
    .await;
    // no HELLO
    let mut c = Line(BufReader::new(TcpStream::connect(sam.tcp).await.unwrap()));
    assert!(c.line().await.starts_with("HELLO REPLY RESULT=I2P_ERROR"));
    closed(&mut c).await;
    // HELLO, then nothing (blank lines do not count as a command)
    let mut c = Line::open(&sam).await;
    let t = std::time::Instant::now();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // the last ones may find the socket closed already
        let _ = c.stream().get_mut().write_all(b"\n").await;
    }
    assert!(
        c.line()
            .await
            .starts_with("SESSION STATUS RESULT=I2P_ERROR")
    );
    closed(&mut c).await;
    assert!(t.elapsed() < Duration::from_secs(2));
    // a session's control socket may idle after its first command
    let (mut ctl, dest) = session(&sam, "STREAM", "idle", "").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        ctl.cmd("NAMING LOOKUP NAME=ME").await,
        format!("NAMING REPLY RESULT=OK NAME=ME VALUE={dest}")
    );
}

#[tokio::test]
async fn garbage_from_many_clients_does_not_disturb_a_running_stream() {
    let sam = start().await;
    let (mut srv_ctl, srv_dest) = session(&sam, "STREAM", "echo", "").await;
    let (_cli_ctl, _) = session(&sam, "STREAM", "talker", "").await;
    let mut acc = Line::open(&sam).await;
    assert_eq!(
        acc.cmd("STREAM ACCEPT ID=echo").await,
        "STREAM STATUS RESULT=OK"
    );
    let mut con = Line::open(&sam).await;
    assert_eq!(
        con.cmd(&format!("STREAM CONNECT ID=talker DESTINATION={srv_dest}"))
            .await,
        "STREAM STATUS RESULT=OK"
    );
    acc.line().await;
    let echo = tokio::spawn(async move {
        let (mut r, mut w) = tokio::io::split(acc.0);
        tokio::io::copy(&mut r, &mut w).await
    });

    const N: usize = 1 << 20;
    let data = pseudo_random(N, 0x5eed);
    let (mut r, mut w) = tokio::io::split(con.0);
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        for chunk in sent.chunks(8192) {
            w.write_all(chunk).await.unwrap();
            tokio::task::yield_now().await;
        }
        w
    });
    let reader = tokio::spawn(async move {
        let mut back = vec![0u8; N];
        r.read_exact(&mut back).await.map(|_| back)
    });

    // meanwhile: sixteen clients misbehave in eight ways
    let mut junk = Vec::new();
    for i in 0..16u64 {
        let tcp = sam.tcp;
        junk.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(tcp).await.unwrap();
            let bytes = pseudo_random(40_000, i + 1);
            let _ = match i % 8 {
                // random bytes before HELLO
                0 => s.write_all(&bytes).await,
                // HELLO, then random bytes (with newlines somewhere)
                1 => {
                    let _ = s.write_all(b"HELLO VERSION\n").await;
                    s.write_all(&bytes).await
                }
                // HELLO, then a flood of unknown commands
                2 => {
                    let _ = s.write_all(b"HELLO VERSION\n").await;
                    s.write_all("FROB NICATE\n".repeat(2000).as_bytes()).await
                }
                // a live session's ID again
                3 => {
                    s.write_all(
                        b"HELLO VERSION\nSESSION CREATE STYLE=STREAM ID=echo DESTINATION=TRANSIENT\n",
                    )
                    .await
                }
                // half a line, then gone
                4 => s.write_all(b"HELLO VERSION\nSESSION CRE").await,
                // STREAM commands that fail
                5 => {
                    s.write_all(b"HELLO VERSION\nSTREAM CONNECT ID=echo DESTINATION=AAAA\n")
                        .await
                }
                // a datagram command that promises more bytes than it sends
                6 => {
                    s.write_all(b"HELLO VERSION\nDATAGRAM SEND ID=echo DESTINATION=x SIZE=60000\nabc")
                        .await
                }
                // an oversized line
                _ => {
                    let _ = s.write_all(b"HELLO VERSION\n").await;
                    s.write_all(&vec![b'Q'; 2 * MAX_LINE]).await
                }
            };
            // read whatever the bridge answers, briefly, then go away
            let mut sink = vec![0u8; 65536];
            let _ = tokio::time::timeout(Duration::from_millis(300), s.read(&mut sink)).await;
        }));
    }
    for j in junk {
        j.await.unwrap();
    }

    let back = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the echo came back")
        .unwrap()
        .unwrap();
    assert!(back == data, "the stream's bytes came back unchanged");
    drop(writer.await.unwrap());
    echo.abort();
    // the bridge still answers old and new clients
    assert_eq!(
        srv_ctl.cmd("NAMING LOOKUP NAME=ME").await,
        format!("NAMING REPLY RESULT=OK NAME=ME VALUE={srv_dest}")
    );
    let (_after, _) = session(&sam, "STREAM", "after", "").await;
}

#[tokio::test]
async fn dont_publish_lease_set_keeps_a_session_out_of_lookups() {
    // yosemite sends i2cp.dontPublishLeaseSet=true for sessions that only connect out
    let sam = start().await;
    let (_hidden, hidden_dest) =
        session(&sam, "STREAM", "hidden", "i2cp.dontPublishLeaseSet=true").await;
    let (_shown, shown_dest) = session(&sam, "STREAM", "shown", "").await;
    let b32 = |d: &str| i2p_wire::Destination::from_base64(d).unwrap().b32_address();
    let mut c = Line::open(&sam).await;
    let hidden = b32(&hidden_dest);
    assert_eq!(
        c.cmd(&format!("NAMING LOOKUP NAME={hidden}")).await,
        format!("NAMING REPLY RESULT=KEY_NOT_FOUND NAME={hidden}")
    );
    let shown = b32(&shown_dest);
    assert_eq!(
        c.cmd(&format!("NAMING LOOKUP NAME={shown}")).await,
        format!("NAMING REPLY RESULT=OK NAME={shown} VALUE={shown_dest}")
    );
    // it still connects out
    let mut acc = Line::open(&sam).await;
    assert_eq!(
        acc.cmd("STREAM ACCEPT ID=shown").await,
        "STREAM STATUS RESULT=OK"
    );
    let mut con = Line::open(&sam).await;
    assert_eq!(
        con.cmd(&format!("STREAM CONNECT ID=hidden DESTINATION={shown}"))
            .await,
        "STREAM STATUS RESULT=OK"
    );
    assert!(acc.line().await.starts_with(&hidden_dest));
}

#[tokio::test]
async fn udp_datagram_headers_with_bare_values_still_send() {
    // yosemite's send_to_with_options writes "3.0 ID DEST 0 0 0 0 true": values without keys,
    // which once made the bridge drop the datagram
    let sam = start().await;
    let inbox = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = inbox.local_addr().unwrap().port();
    let (_a, a_dest) = session(
        &sam,
        "DATAGRAM",
        "ua",
        &format!("PORT={port} HOST=127.0.0.1"),
    )
    .await;
    let (_b, b_dest) = session(&sam, "DATAGRAM", "ub", "").await;
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = vec![0u8; 4096];
    for (header, ports) in [
        (
            format!("3.0 ub {a_dest} 0 0 0 0 true"),
            "FROM_PORT=0 TO_PORT=0",
        ),
        (
            format!("3.3 ub {a_dest} 7 FROM_PORT=5 junk TO_PORT=9"),
            "FROM_PORT=5 TO_PORT=9",
        ),
    ] {
        sender
            .send_to(format!("{header}\npayload").as_bytes(), sam.udp)
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), inbox.recv(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no datagram for header {header:?}"))
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&buf[..n]),
            format!("{b_dest} {ports}\npayload")
        );
    }
}
