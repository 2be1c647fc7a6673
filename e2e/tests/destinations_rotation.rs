//! Issue acceptance (destinations, item 3): LeaseSets survive tunnel rotation. A SAM client on
//! i2pd router 5 opens a stream to an echo destination of ours and exchanges a small message
//! every 20 s for 11 minutes — longer than a tunnel's 10-minute life, so every tunnel of both
//! destinations is replaced on the way and each side must learn the other's new leases (our
//! LeaseSet2 republished through our tunnels and sent along in our garlic; i2pd's arriving in
//! its garlic). The stream must keep working, or reconnect cleanly (at most twice); every
//! round's echo must match. The test also checks that our destination's tunnels did expire and
//! that it published its LeaseSet2 again.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use i2p_e2e::sam::SamControl;
use i2p_e2e::wait::tail_file;
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};

const OUR_SAM: u16 = 27657;
const RUN: Duration = Duration::from_secs(11 * 60);
const EVERY: Duration = Duration::from_secs(20);
const MESSAGE: usize = 1024;

type Stream = (BufReader<TcpStream>, TcpStream);

/// Echo every stream accepted on our `server` session, one thread per stream.
fn echo_forever(sam: SocketAddr) {
    loop {
        let Ok(c) = SamControl::connect(sam, Duration::from_secs(10)) else {
            return;
        };
        let Ok((_, mut reader, mut writer)) = c.stream_accept("server", Duration::from_secs(900))
        else {
            return;
        };
        std::thread::spawn(move || {
            loop {
                let n = match reader.fill_buf() {
                    Ok([]) | Err(_) => return,
                    Ok(buf) => {
                        if writer.write_all(buf).is_err() {
                            return;
                        }
                        buf.len()
                    }
                };
                reader.consume(n);
            }
        });
    }
}

fn round(s: &mut Stream, i: u32) -> Result<(), String> {
    let msg: Vec<u8> = (0..MESSAGE)
        .map(|k| (k as u32 ^ i.wrapping_mul(2_654_435_761)) as u8)
        .collect();
    s.1.write_all(&msg).map_err(|e| format!("write: {e}"))?;
    let mut back = vec![0u8; MESSAGE];
    s.0.read_exact(&mut back)
        .map_err(|e| format!("read: {e}"))?;
    if back == msg {
        Ok(())
    } else {
        Err("echo differs".into())
    }
}

#[test]
fn a_stream_survives_tunnel_rotation() {
    let env = TestEnv::new("dest-rotation").expect("e2e environment");
    let mut ours = OurRouter::prepare(
        &env,
        "ours",
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 51),
            ntcp2_port: 12151,
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
    ours.start().expect("start our router");
    let diagnostics = || tail_file(&ours.log_path(), 40);

    let sam = SocketAddr::from(([127, 0, 0, 1], OUR_SAM));
    let server = env
        .netns()
        .run(move || {
            let mut c = SamControl::connect_when_up(sam, Duration::from_secs(60))?;
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
    let (_server_control, server_dest) = match server {
        Ok(s) => s,
        Err(e) => panic!("server session on our SAM: {e}\n{}", diagnostics()),
    };
    let b32 = i2p_e2e::sam::b32(&i2p_e2e::sam::destination_hash(&server_dest).unwrap());
    let _echo = env
        .netns()
        .spawn_thread(move || echo_forever(sam))
        .expect("echo thread");

    let sam5 = SocketAddr::from(([127, 0, 0, 1], net.router(5).ports.sam));
    let outcome = env
        .netns()
        .run(move || {
            let mut c = SamControl::connect(sam5, Duration::from_secs(10))?;
            let (_, private) = c.dest_generate()?;
            c.session_create(
                "rot",
                &private,
                "inbound.length=2 outbound.length=2 i2cp.leaseSetEncType=0,4",
                Duration::from_secs(180),
            )?;
            let open = || -> Result<Stream, i2p_e2e::Error> {
                let s = SamControl::connect(sam5, Duration::from_secs(10))?;
                let (r, w) = s.stream_connect("rot", &b32, Duration::from_secs(180))?;
                r.get_ref()
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .map_err(|e| i2p_e2e::Error::io("SAM stream", e))?;
                Ok((r, w))
            };
            let mut stream = open()?;
            let start = Instant::now();
            let (mut rounds, mut reconnects) = (0u32, 0u32);
            let mut log = Vec::new();
            while start.elapsed() < RUN {
                let t = Instant::now();
                if let Err(e) = round(&mut stream, rounds) {
                    log.push(format!(
                        "round {rounds} at {:.0} s failed ({e}); reconnecting",
                        start.elapsed().as_secs_f64()
                    ));
                    reconnects += 1;
                    if reconnects > 2 {
                        return Ok((rounds, reconnects, log, false));
                    }
                    stream = open()?;
                    if let Err(e) = round(&mut stream, rounds) {
                        log.push(format!("round {rounds} failed after reconnecting: {e}"));
                        return Ok((rounds, reconnects, log, false));
                    }
                }
                rounds += 1;
                std::thread::sleep(EVERY.saturating_sub(t.elapsed()));
            }
            drop(c);
            Ok::<_, i2p_e2e::Error>((rounds, reconnects, log, true))
        })
        .unwrap();
    let (rounds, reconnects, log, ok) = match outcome {
        Ok(o) => o,
        Err(e) => panic!("i2pd client: {e}\n{}", diagnostics()),
    };
    for l in &log {
        println!("{l}");
    }
    assert!(
        ok,
        "the stream did not survive ({rounds} rounds, {reconnects} reconnects)\n{}",
        diagnostics()
    );
    let expired = ours
        .log_lines_with(&["tunnel expired", "pool=sam:server"])
        .len();
    let published = ours
        .log_lines_with(&["publishing our LeaseSet2", "dest=sam:server"])
        .len();
    println!(
        "{rounds} echo rounds over {} s with {reconnects} reconnects; our destination's \
         tunnels expired {expired} times and its LeaseSet2 was published {published} times",
        RUN.as_secs()
    );
    assert!(
        expired >= 2,
        "our tunnels never rotated ({expired} expired)"
    );
    assert!(
        published >= 2,
        "our LeaseSet2 was published only {published} times"
    );
    net.ensure_running().expect("every i2pd router still runs");
}
