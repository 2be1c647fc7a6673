//! Issue acceptance (destinations, items 1–3): streams between destinations on our router and
//! destinations on i2pd, over ECIES-ratchet garlic, LeaseSet2 and streaming.
//!
//! Our router runs the SAM bridge (it sits on the router's client API, so SAM is simply the
//! most convenient remote control for the test):
//!
//! 1. a transient destination of ours opens a stream to the i2pd eepsite's `.b32.i2p` (its
//!    LeaseSet2 looked up at the i2pd floodfills) and downloads 20 MiB over HTTP; SHA-256 must
//!    match;
//! 2. a second destination of ours accepts streams; a SAM client on i2pd router 5 connects to
//!    its `.b32.i2p` (so i2pd must find our LeaseSet2 at the floodfills: we published it
//!    through our tunnels) and sends 20 MiB that our side echoes back while the upload runs;
//!    both directions' SHA-256 must match.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use i2p_e2e::sam::SamControl;
use i2p_e2e::wait::tail_file;
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};
use sha2::{Digest, Sha256};

const SIZE: usize = 20 * 1024 * 1024;
const OUR_SAM: u16 = 27656;

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

#[test]
fn streams_between_our_destinations_and_i2pd() {
    let env = TestEnv::new("destinations").expect("e2e environment");
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
        .eepsite(true)
        .foreign_router_info(ri, &[])
        .start(&env)
        .expect("start 5 i2pd routers with an eepsite");
    let seed = env.dir().join("seed.zip");
    net.write_reseed_zip(&seed)
        .expect("reseed zip of the i2pd routers");
    let mut config = ours.config().clone();
    config.reseed_file = Some(seed);
    std::fs::write(ours.config_path(), config.to_yaml()).unwrap();
    let started = Instant::now();
    ours.start().expect("start our router");
    let diagnostics = || tail_file(&ours.log_path(), 40);

    let eepsite = net.eepsite().expect("the net has an eepsite");
    let body = pseudo_random(SIZE, 0x9e37_79b9_7f4a_7c15);
    std::fs::write(eepsite.www.join("big.bin"), &body).unwrap();
    let want = Sha256::digest(&body);
    net.wait_eepsite_reachable(Duration::from_secs(240))
        .expect("the eepsite answers through router 5's HTTP proxy");
    println!(
        "i2pd eepsite reachable {:.1} s after our start",
        started.elapsed().as_secs_f64()
    );

    // ---------------------------------------------------------------------------------------
    // 1. our destination → i2pd eepsite
    let sam = SocketAddr::from(([127, 0, 0, 1], OUR_SAM));
    let t = Instant::now();
    let control = env
        .netns()
        .run(move || {
            let mut c = SamControl::connect_when_up(sam, Duration::from_secs(60))?;
            let r = c.command_with_timeout(
                "SESSION CREATE STYLE=STREAM ID=client DESTINATION=TRANSIENT \
                 SIGNATURE_TYPE=7 inbound.length=2 outbound.length=2",
                Duration::from_secs(180),
            )?;
            Ok::<_, i2p_e2e::Error>((c, r.line))
        })
        .unwrap();
    let (control, line) = match control {
        Ok(c) => c,
        Err(e) => panic!("SESSION CREATE on our SAM: {e}\n{}", diagnostics()),
    };
    assert!(line.contains("RESULT=OK"), "{line}\n{}", diagnostics());
    println!(
        "our client destination ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let cpu = |net: &I2pdNet, ours: &OurRouter| {
        let pid = ours.process().map(|p| p.pid()).unwrap_or(0);
        let mine = i2p_e2e::process::proc_cpu_seconds(pid).unwrap_or(0.0);
        let theirs: f64 = (1..=5)
            .filter_map(|i| net.router(i).pid())
            .filter_map(i2p_e2e::process::proc_cpu_seconds)
            .sum();
        (mine, theirs)
    };
    let cpu_before = cpu(&net, &ours);
    let b32 = eepsite.b32.clone();
    let t = Instant::now();
    let raw = env
        .netns()
        .run(move || {
            let c = SamControl::connect(sam, Duration::from_secs(10))?;
            let (mut reader, mut writer) =
                c.stream_connect("client", &b32, Duration::from_secs(120))?;
            writer
                .write_all(
                    format!("GET /big.bin HTTP/1.1\r\nHost: {b32}\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .map_err(|e| i2p_e2e::Error::io("write the request", e))?;
            reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_secs(90)))
                .map_err(|e| i2p_e2e::Error::io("SAM stream", e))?;
            let mut raw = Vec::new();
            reader
                .read_to_end(&mut raw)
                .map_err(|e| i2p_e2e::Error::io("read the response", e))?;
            Ok::<_, i2p_e2e::Error>(raw)
        })
        .unwrap();
    let raw = match raw {
        Ok(r) => r,
        Err(e) => panic!("download through our destination: {e}\n{}", diagnostics()),
    };
    let secs = t.elapsed().as_secs_f64();
    let got = i2p_e2e::http::parse_response(&raw).expect("an HTTP response");
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.body.len(), SIZE, "body length");
    assert_eq!(Sha256::digest(&got.body), want, "SHA-256 of the download");
    let cpu_after = cpu(&net, &ours);
    println!(
        "1. 20 MiB from the i2pd eepsite to our destination in {secs:.1} s ({:.2} MiB/s), \
         checksum ok; CPU-seconds meanwhile: our router {:.1}, the five i2pd routers {:.1}",
        20.0 / secs,
        cpu_after.0 - cpu_before.0,
        cpu_after.1 - cpu_before.1
    );
    drop(control);

    // ---------------------------------------------------------------------------------------
    // 2. i2pd (router 5's SAM) → a destination of ours that echoes
    let t = Instant::now();
    let server = env
        .netns()
        .run(move || {
            let mut c = SamControl::connect(sam, Duration::from_secs(10))?;
            let r = c.command_with_timeout(
                "SESSION CREATE STYLE=STREAM ID=server DESTINATION=TRANSIENT \
                 SIGNATURE_TYPE=7 inbound.length=2 outbound.length=2",
                Duration::from_secs(180),
            )?;
            if !r.line.contains("RESULT=OK") {
                return Err(i2p_e2e::Error::parse("SESSION CREATE server", r.line));
            }
            let me = c.naming_lookup("ME", Duration::from_secs(10))?;
            Ok::<_, i2p_e2e::Error>((c, me))
        })
        .unwrap();
    let (server_control, server_dest) = match server {
        Ok(s) => s,
        Err(e) => panic!("server session on our SAM: {e}\n{}", diagnostics()),
    };
    let server_b32 = i2p_e2e::sam::b32(&i2p_e2e::sam::destination_hash(&server_dest).unwrap());
    println!(
        "our server destination {server_b32} ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // our side: accept one stream and echo it
    let echo = env
        .netns()
        .spawn_thread(move || {
            let c = SamControl::connect(sam, Duration::from_secs(10))?;
            let (from, mut reader, mut writer) =
                c.stream_accept("server", Duration::from_secs(300))?;
            reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_secs(120)))
                .map_err(|e| i2p_e2e::Error::io("accepted stream", e))?;
            let mut n = 0usize;
            loop {
                let buf = reader
                    .fill_buf()
                    .map_err(|e| i2p_e2e::Error::io("echo read", e))?;
                if buf.is_empty() {
                    break;
                }
                writer
                    .write_all(buf)
                    .map_err(|e| i2p_e2e::Error::io("echo write", e))?;
                let len = buf.len();
                n += len;
                reader.consume(len);
                if n >= SIZE {
                    break;
                }
            }
            Ok::<_, i2p_e2e::Error>((from, n))
        })
        .expect("echo thread in the namespace");

    let sam5 = SocketAddr::from(([127, 0, 0, 1], net.router(5).ports.sam));
    let upload = pseudo_random(SIZE, 0x1234_5678_9abc_def1);
    let up_sha = Sha256::digest(&upload);
    let target = server_b32.clone();
    let t = Instant::now();
    let result = env
        .netns()
        .run(move || {
            let mut c = SamControl::connect(sam5, Duration::from_secs(10))?;
            let (_, private) = c.dest_generate()?;
            // ECIES enabled as in i2pd's own HTTP proxy and tunnels ("0,4"); a destination
            // with ElGamal only (i2pd's SAM default) would need ElGamal/AES garlic from us
            c.session_create(
                "to-ours",
                &private,
                "inbound.length=2 outbound.length=2 i2cp.leaseSetEncType=0,4",
                Duration::from_secs(180),
            )?;
            let s = SamControl::connect(sam5, Duration::from_secs(10))?;
            let (mut reader, mut writer) =
                s.stream_connect("to-ours", &target, Duration::from_secs(180))?;
            let connected = t.elapsed();
            let writer_thread = std::thread::spawn(move || writer.write_all(&upload));
            reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_secs(120)))
                .map_err(|e| i2p_e2e::Error::io("SAM stream", e))?;
            let mut back = vec![0u8; SIZE];
            reader
                .read_exact(&mut back)
                .map_err(|e| i2p_e2e::Error::io("read the echo", e))?;
            writer_thread
                .join()
                .map_err(|_| i2p_e2e::Error::parse("upload", "writer thread panicked"))?
                .map_err(|e| i2p_e2e::Error::io("upload", e))?;
            Ok::<_, i2p_e2e::Error>((c, connected, back))
        })
        .unwrap();
    let (_i2pd_control, connected, back) = match result {
        Ok(r) => r,
        Err(e) => panic!("i2pd → our destination: {e}\n{}", diagnostics()),
    };
    let secs = t.elapsed().as_secs_f64();
    let (from, echoed) = echo
        .join()
        .expect("echo thread")
        .expect("netns")
        .expect("echo");
    assert_eq!(echoed, SIZE, "bytes our side received");
    assert_eq!(Sha256::digest(&back), up_sha, "SHA-256 of the echo");
    assert!(!from.is_empty(), "SAM named the connecting destination");
    println!(
        "2. i2pd found our LeaseSet2 and connected in {:.1} s; 20 MiB up and 20 MiB echoed \
         back in {secs:.1} s total ({:.2} MiB/s each way), checksums ok",
        connected.as_secs_f64(),
        20.0 / (secs - connected.as_secs_f64()).max(0.001)
    );
    drop(server_control);
    net.ensure_running().expect("every i2pd router still runs");
}
