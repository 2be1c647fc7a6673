//! Issue 6 acceptance, item 2: repliable and raw datagrams between a SAM session on our router
//! and a SAM session on i2pd 2.45.1, both ways, over the real network (LeaseSet lookups at the
//! i2pd floodfills, ECIES-ratchet garlic, client tunnels through the i2pd routers).
//!
//! Both bridges forward received datagrams over UDP (`PORT=`/`HOST=` in SESSION CREATE); the
//! test sends through each bridge's UDP port (i2pd 2.45.1 listens one below its SAM TCP port).
//! What i2pd 2.45.1's SAM can do shapes the checks (libi2pd_client/SAM.cpp):
//! - it sends every datagram with ports 0 → 0 and has no way to set them, and it forwards
//!   repliable datagrams as `<sender destination>\n<payload>` and raw ones as the bare
//!   payload, without ports; so the ports are checked where our side reports them: on what
//!   arrives from i2pd (0 and 0) and on datagrams between two of our own sessions (their
//!   tunnels run through the i2pd routers too);
//! - a UDP header line must hold only version, session ID and destination;
//! - its TRANSIENT destinations sign with DSA_SHA1, so the repliable datagrams from i2pd
//!   exercise the DSA rule of spec/datagrams.md (the signature covers SHA-256 of the payload);
//! - it drops datagrams while it looks up the target's LeaseSet (Datagram.cpp,
//!   `DatagramSession::FlushSendQueue`), so each direction first sends a warm-up datagram
//!   every few seconds until one arrives (its latency is the first-arrival figure) and only
//!   then the counted batch.
//!
//! Datagrams may be lost: a batch passes when most of it arrives, byte for byte; the figures
//! are printed.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use i2p_e2e::sam::SamControl;
use i2p_e2e::wait::tail_file;
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};

const OUR_SAM: u16 = 27656;
/// Our bridge's UDP port (OurRouterConfig puts it one below the TCP port).
const OUR_SAM_UDP: u16 = OUR_SAM - 1;
/// Datagrams per counted batch.
const BATCH: usize = 10;
/// How many of a batch must arrive.
const MUST_ARRIVE: usize = 7;
/// How long a batch may take to arrive after its last datagram was sent.
const BATCH_WAIT: Duration = Duration::from_secs(45);
/// How long the warm-up datagrams are repeated before a direction counts as broken.
const WARM_UP_FOR: Duration = Duration::from_secs(120);

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Payload `i` of direction `tag`: a readable prefix (for logs) and bytes of varying size
/// (about 60 B to 4.5 KB, so some span several tunnel messages).
fn payload(tag: &str, i: usize) -> Vec<u8> {
    let mut p = format!("{tag}#{i:02}|").into_bytes();
    let seed = tag
        .bytes()
        .fold(i as u64 + 1, |h, b| h.wrapping_mul(31) ^ u64::from(b));
    p.extend(pseudo_random(48 + i * 467, seed));
    p
}

/// One SAM session, created on its own control connection (which must stay open).
struct Session {
    _control: SamControl,
    /// the session's public destination (base64)
    dest: String,
    /// where the bridge forwards what the session receives
    inbox: UdpSocket,
}

/// A UDP socket inside the namespace for a bridge to forward to.
fn inbox(env: &TestEnv) -> UdpSocket {
    let s = env
        .netns()
        .run(|| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)))
        .unwrap()
        .expect("bind a UDP inbox");
    s.set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    s
}

fn create_session(
    env: &TestEnv,
    sam: SocketAddr,
    id: &str,
    options: &str,
    diagnostics: &dyn Fn() -> String,
) -> Session {
    let inbox = inbox(env);
    let port = inbox.local_addr().unwrap().port();
    let line = format!(
        "SESSION CREATE {options} ID={id} DESTINATION=TRANSIENT HOST=127.0.0.1 PORT={port} \
         inbound.length=2 outbound.length=2"
    );
    let t = Instant::now();
    let made = env
        .netns()
        .run(move || {
            let mut c = SamControl::connect_when_up(sam, Duration::from_secs(60))?;
            let r = c.command_with_timeout(&line, Duration::from_secs(240))?;
            if !r.line.contains("RESULT=OK") {
                return Err(i2p_e2e::Error::parse("SESSION CREATE", r.line));
            }
            let me = c.naming_lookup("ME", Duration::from_secs(10))?;
            Ok::<_, i2p_e2e::Error>((c, me))
        })
        .unwrap();
    let (control, dest) = match made {
        Ok(m) => m,
        Err(e) => panic!("session {id} on SAM {sam}: {e}\n{}", diagnostics()),
    };
    println!(
        "session {id} on SAM {sam} ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Session {
        _control: control,
        dest,
        inbox,
    }
}

/// What a forwarded datagram looked like, split into its header line (if the format has
/// one) and payload.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `header\npayload`
    HeaderLine,
    /// the payload only (i2pd's raw forwarding)
    Bare,
}

struct Received {
    at: Instant,
    header: String,
    payload: Vec<u8>,
}

fn receive_one(inbox: &UdpSocket, format: Format) -> Option<Received> {
    let mut buf = vec![0u8; 70_000];
    let n = match inbox.recv(&mut buf) {
        Ok(n) => n,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            return None;
        }
        Err(e) => panic!("UDP inbox: {e}"),
    };
    let pkt = &buf[..n];
    let at = Instant::now();
    Some(match format {
        Format::Bare => Received {
            at,
            header: String::new(),
            payload: pkt.to_vec(),
        },
        Format::HeaderLine => {
            let nl = pkt
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or_else(|| panic!("forwarded datagram without a header line ({n} bytes)"));
            Received {
                at,
                header: String::from_utf8_lossy(&pkt[..nl]).into_owned(),
                payload: pkt[nl + 1..].to_vec(),
            }
        }
    })
}

/// One direction: `send(payload)` hands a datagram to the sending bridge.
struct Direction<'a> {
    name: &'a str,
    tag: &'a str,
    send: &'a (dyn Fn(&[u8]) + Sync),
    inbox: &'a UdpSocket,
    format: Format,
    /// checks a received header line; returns what is wrong
    check_header: &'a dyn Fn(&str) -> Result<(), String>,
}

struct Figures {
    first_arrival: Duration,
    first_latency: Duration,
    warm_ups: usize,
    sent: usize,
    received: usize,
    median_latency: Duration,
    max_latency: Duration,
}

fn run_direction(d: &Direction<'_>, diagnostics: &dyn Fn() -> String) -> Figures {
    // warm-up: one datagram every 5 s until one arrives
    let warm = format!("{}-warm-up", d.tag);
    let start = Instant::now();
    let mut warm_sent: Vec<Instant> = Vec::new();
    let (first_arrival, first_latency) = loop {
        if start.elapsed() > WARM_UP_FOR {
            panic!(
                "{}: none of {} warm-up datagrams arrived in {WARM_UP_FOR:?}\n{}",
                d.name,
                warm_sent.len(),
                diagnostics()
            );
        }
        if warm_sent
            .last()
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
        {
            (d.send)(&payload(&warm, warm_sent.len()));
            warm_sent.push(Instant::now());
        }
        if let Some(r) = receive_one(d.inbox, d.format) {
            if !r.payload.starts_with(warm.as_bytes()) {
                panic!("{}: unexpected datagram during warm-up", d.name);
            }
            let i = (0..warm_sent.len())
                .find(|&i| payload(&warm, i) == r.payload)
                .unwrap_or_else(|| panic!("{}: a warm-up datagram arrived altered", d.name));
            if let Err(e) = (d.check_header)(&r.header) {
                panic!("{}: header {:?}: {e}", d.name, r.header);
            }
            // from the first send (LeaseSet lookups and lost warm-ups included), and the
            // latency of the datagram that arrived
            break (r.at - warm_sent[0], r.at - warm_sent[i]);
        }
    };
    let warm_ups = warm_sent.len();
    // the batch: sent from a second thread while this one receives, so that arrival times
    // are real; late warm-ups may still come in, they are recognised and skipped
    let mut got: Vec<Option<Instant>> = vec![None; BATCH];
    let sent_at = std::thread::scope(|scope| {
        let sender = scope.spawn(|| {
            let mut sent_at = Vec::with_capacity(BATCH);
            for i in 0..BATCH {
                sent_at.push(Instant::now());
                (d.send)(&payload(d.tag, i));
                std::thread::sleep(Duration::from_millis(200));
            }
            sent_at
        });
        let deadline = Instant::now() + Duration::from_millis(200) * BATCH as u32 + BATCH_WAIT;
        while Instant::now() < deadline && got.iter().any(Option::is_none) {
            let Some(r) = receive_one(d.inbox, d.format) else {
                continue;
            };
            if r.payload.starts_with(warm.as_bytes()) {
                continue;
            }
            let i = (0..BATCH)
                .find(|&i| payload(d.tag, i) == r.payload)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: a datagram arrived that was not sent or was altered ({} bytes, starts {:?})",
                        d.name,
                        r.payload.len(),
                        String::from_utf8_lossy(&r.payload[..r.payload.len().min(24)])
                    )
                });
            if let Err(e) = (d.check_header)(&r.header) {
                panic!("{}: header {:?}: {e}", d.name, r.header);
            }
            assert!(got[i].is_none(), "{}: datagram {i} arrived twice", d.name);
            got[i] = Some(r.at);
        }
        sender.join().expect("sender thread")
    });
    let mut latencies: Vec<Duration> = got
        .iter()
        .zip(&sent_at)
        .filter_map(|(at, sent)| at.map(|at| at.duration_since(*sent)))
        .collect();
    latencies.sort();
    let received = latencies.len();
    let figures = Figures {
        first_arrival,
        first_latency,
        warm_ups,
        sent: BATCH,
        received,
        median_latency: latencies.get(received / 2).copied().unwrap_or_default(),
        max_latency: latencies.last().copied().unwrap_or_default(),
    };
    println!(
        "{}: first arrival {:.3} s after the first send (warm-ups sent: {}, the one that arrived \
         took {:.3} s); batch: sent {}, \
         received {} (payload bytes and header checked), latency median {:.3} s, max {:.3} s",
        d.name,
        figures.first_arrival.as_secs_f64(),
        figures.warm_ups,
        figures.first_latency.as_secs_f64(),
        figures.sent,
        figures.received,
        figures.median_latency.as_secs_f64(),
        figures.max_latency.as_secs_f64()
    );
    assert!(
        received >= MUST_ARRIVE,
        "{}: only {received} of {BATCH} datagrams arrived (need {MUST_ARRIVE})\n{}",
        d.name,
        diagnostics()
    );
    figures
}

/// Send through a SAM bridge's UDP port (from inside the namespace).
fn udp_sender(env: &TestEnv, bridge: SocketAddr) -> impl Fn(&str, &[u8]) {
    let sock = env
        .netns()
        .run(|| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)))
        .unwrap()
        .expect("bind a UDP socket");
    move |header: &str, payload: &[u8]| {
        let mut pkt = format!("{header}\n").into_bytes();
        pkt.extend_from_slice(payload);
        sock.send_to(&pkt, bridge)
            .expect("send to the SAM UDP port");
    }
}

fn expect_eq(what: &str, got: Option<&str>, want: &str) -> Result<(), String> {
    match got {
        Some(g) if g == want => Ok(()),
        Some(g) => Err(format!(
            "{what} is {:.20}…, want {:.20}…",
            g.to_owned(),
            want.to_owned()
        )),
        None => Err(format!("no {what}")),
    }
}

/// `KEY=value` of a header line.
fn field<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    header
        .split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn datagrams_between_our_sam_and_i2pd() {
    let env = TestEnv::new("datagrams").expect("e2e environment");
    let mut ours = OurRouter::prepare(
        &env,
        "ours",
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 50),
            ntcp2_port: 12150,
            floodfill: false,
            sam_port: Some(OUR_SAM),
            ..Default::default()
        },
    )
    .unwrap();
    let ri = ours.generate_router_info(Duration::from_secs(30)).unwrap();
    let net = I2pdNet::builder()
        .routers(5)
        .floodfills(3)
        .net_id(17)
        .foreign_router_info(ri, &[])
        .start(&env)
        .expect("start 5 i2pd routers");
    let seed = env.dir().join("seed.zip");
    net.write_reseed_zip(&seed)
        .expect("reseed zip of the i2pd routers");
    let mut config = ours.config().clone();
    config.reseed_file = Some(seed);
    std::fs::write(ours.config_path(), config.to_yaml()).unwrap();
    let started = Instant::now();
    ours.start().expect("start our router");
    let i2pd_router = 5;
    let i2pd_log = net.router(i2pd_router).log_path();
    let our_log = ours.log_path();
    let diagnostics = move || {
        format!(
            "--- our router:\n{}\n--- i2pd router {i2pd_router}:\n{}",
            tail_file(&our_log, 40),
            tail_file(&i2pd_log, 25)
        )
    };
    net.wait_client_tunnels(Duration::from_secs(240))
        .expect("client tunnels on every i2pd router");
    println!(
        "i2pd client tunnels ready {:.1} s after our start",
        started.elapsed().as_secs_f64()
    );

    let our_sam = SocketAddr::from(([127, 0, 0, 1], OUR_SAM));
    let i2pd_sam_port = net.router(i2pd_router).ports.sam;
    let i2pd_sam = SocketAddr::from(([127, 0, 0, 1], i2pd_sam_port));
    // i2pd 2.45.1 binds its SAM datagram socket to the TCP port minus one
    let i2pd_udp = SocketAddr::from(([127, 0, 0, 1], i2pd_sam_port - 1));
    let our_udp = SocketAddr::from(([127, 0, 0, 1], OUR_SAM_UDP));

    // ours: repliable and raw (raw with HEADER=true so that ports are forwarded), plus one
    // more of each to check ports between two of our destinations
    let ours_dg = create_session(
        &env,
        our_sam,
        "ours-dg",
        "STYLE=DATAGRAM SIGNATURE_TYPE=7",
        &diagnostics,
    );
    let ours_raw = create_session(
        &env,
        our_sam,
        "ours-raw",
        "STYLE=RAW SIGNATURE_TYPE=7 HEADER=true",
        &diagnostics,
    );
    let ours_dg2 = create_session(
        &env,
        our_sam,
        "ours-dg2",
        "STYLE=DATAGRAM SIGNATURE_TYPE=7",
        &diagnostics,
    );
    let ours_raw2 = create_session(
        &env,
        our_sam,
        "ours-raw2",
        "STYLE=RAW SIGNATURE_TYPE=7 HEADER=true",
        &diagnostics,
    );
    // i2pd: TRANSIENT keeps its default DSA_SHA1 signing key; ECIES enabled beside ElGamal
    // (its SAM default is ElGamal only, which our destinations cannot reach)
    let i2pd_dg = create_session(
        &env,
        i2pd_sam,
        "i2pd-dg",
        "STYLE=DATAGRAM i2cp.leaseSetEncType=0,4",
        &diagnostics,
    );
    let i2pd_raw = create_session(
        &env,
        i2pd_sam,
        "i2pd-raw",
        "STYLE=RAW i2cp.leaseSetEncType=0,4",
        &diagnostics,
    );
    // a DSA_SHA1/ElGamal destination has the null certificate: 256 + 128 + 3 bytes
    assert_eq!(
        i2p_e2e::ident::base64_i2p_decode(&i2pd_dg.dest)
            .unwrap()
            .len(),
        387,
        "i2pd's TRANSIENT destination is a DSA_SHA1 one"
    );

    let to_ours = udp_sender(&env, our_udp);
    let to_i2pd = udp_sender(&env, i2pd_udp);

    // 1. ours → i2pd, repliable (i2pd forwards `<sender>\n<payload>`). First, so that our
    // router has to look up i2pd's DSA-signed LeaseSet2 at the floodfills (later it also
    // arrives bundled with i2pd's datagrams)
    let send = |p: &[u8]| {
        to_ours(
            &format!("3.3 ours-dg {} FROM_PORT=1111 TO_PORT=2222", i2pd_dg.dest),
            p,
        )
    };
    let check = |h: &str| expect_eq("sender destination", Some(h), &ours_dg.dest);
    run_direction(
        &Direction {
            name: "1. repliable ours → i2pd",
            tag: "dg-ours-i2pd",
            send: &send,
            inbox: &i2pd_dg.inbox,
            format: Format::HeaderLine,
            check_header: &check,
        },
        &diagnostics,
    );

    // 2. i2pd → ours, repliable
    let send = |p: &[u8]| to_i2pd(&format!("3.0 i2pd-dg {}", ours_dg.dest), p);
    let check = |h: &str| {
        expect_eq(
            "sender destination",
            h.split_whitespace().next(),
            &i2pd_dg.dest,
        )?;
        expect_eq("FROM_PORT", field(h, "FROM_PORT"), "0")?;
        expect_eq("TO_PORT", field(h, "TO_PORT"), "0")
    };
    run_direction(
        &Direction {
            name: "2. repliable i2pd → ours",
            tag: "dg-i2pd-ours",
            send: &send,
            inbox: &ours_dg.inbox,
            format: Format::HeaderLine,
            check_header: &check,
        },
        &diagnostics,
    );

    // 3. ours → i2pd, raw (i2pd forwards the bare payload)
    let send = |p: &[u8]| {
        to_ours(
            &format!("3.3 ours-raw {} FROM_PORT=3333 TO_PORT=4444", i2pd_raw.dest),
            p,
        )
    };
    let no_header = |_: &str| Ok(());
    run_direction(
        &Direction {
            name: "3. raw ours → i2pd",
            tag: "raw-ours-i2pd",
            send: &send,
            inbox: &i2pd_raw.inbox,
            format: Format::Bare,
            check_header: &no_header,
        },
        &diagnostics,
    );

    // 4. i2pd → ours, raw (ours forwards `FROM_PORT=.. TO_PORT=.. PROTOCOL=18\n<payload>`)
    let send = |p: &[u8]| to_i2pd(&format!("3.0 i2pd-raw {}", ours_raw.dest), p);
    let check = |h: &str| {
        expect_eq("FROM_PORT", field(h, "FROM_PORT"), "0")?;
        expect_eq("TO_PORT", field(h, "TO_PORT"), "0")?;
        expect_eq("PROTOCOL", field(h, "PROTOCOL"), "18")
    };
    run_direction(
        &Direction {
            name: "4. raw i2pd → ours",
            tag: "raw-i2pd-ours",
            send: &send,
            inbox: &ours_raw.inbox,
            format: Format::HeaderLine,
            check_header: &check,
        },
        &diagnostics,
    );

    // 5. ports end to end: between two of our destinations (tunnels through the i2pd routers)
    let send = |p: &[u8]| {
        to_ours(
            &format!("3.3 ours-dg {} FROM_PORT=1234 TO_PORT=4321", ours_dg2.dest),
            p,
        )
    };
    let check = |h: &str| {
        expect_eq(
            "sender destination",
            h.split_whitespace().next(),
            &ours_dg.dest,
        )?;
        expect_eq("FROM_PORT", field(h, "FROM_PORT"), "1234")?;
        expect_eq("TO_PORT", field(h, "TO_PORT"), "4321")
    };
    run_direction(
        &Direction {
            name: "5. repliable ours → ours, ports 1234 → 4321",
            tag: "dg-ours-ours",
            send: &send,
            inbox: &ours_dg2.inbox,
            format: Format::HeaderLine,
            check_header: &check,
        },
        &diagnostics,
    );
    let send = |p: &[u8]| {
        to_ours(
            &format!(
                "3.3 ours-raw {} FROM_PORT=5678 TO_PORT=8765",
                ours_raw2.dest
            ),
            p,
        )
    };
    let check = |h: &str| {
        expect_eq("FROM_PORT", field(h, "FROM_PORT"), "5678")?;
        expect_eq("TO_PORT", field(h, "TO_PORT"), "8765")?;
        expect_eq("PROTOCOL", field(h, "PROTOCOL"), "18")
    };
    run_direction(
        &Direction {
            name: "6. raw ours → ours, ports 5678 → 8765",
            tag: "raw-ours-ours",
            send: &send,
            inbox: &ours_raw2.inbox,
            format: Format::HeaderLine,
            check_header: &check,
        },
        &diagnostics,
    );

    let refused = ours.log_lines_with(&["datagram dropped"]);
    assert!(
        refused.is_empty(),
        "our router refused datagrams:\n{}",
        refused.join("\n")
    );
    net.ensure_running().expect("every i2pd router still runs");
}
