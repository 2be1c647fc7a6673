//! Issue acceptance (tunnels, item 3): real traffic transits our router. An i2pd-hosted eepsite
//! serves a 20 MiB file to a client on another i2pd router whose tunnels all pass through us:
//! a SAM stream session on router 5 with i2pd's `explicitPeers` = our router and length 1, so
//! we are the outbound endpoint of each of its outbound tunnels (the request and the ACKs leave
//! through us) and the inbound gateway of each of its inbound tunnels (the 20 MiB reach it
//! through us: TunnelGateway messages from the eepsite's outbound endpoints, fragmented into
//! TunnelData by us). The download's SHA-256 must equal the file's; our router's transit
//! counters and bytes sent are printed, and must account for the transfer.
//!
//! (The client side is pinned rather than the eepsite because i2pd 2.45.1 gives up publishing
//! a LeaseSet when its first inbound tunnel is ready before any outbound one and tries again
//! only when the LeaseSet changes; with a pinned one-hop server pool that can take ten minutes.
//! A client's LeaseSet travels with its first message and needs no publishing.)
//!
//! The SAM session keeps i2pd's default encryption type (ElGamal only), so i2pd builds its
//! outbound tunnels with VariableTunnelBuild and long ECIES records, which must work too.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use std::io::{Read, Write};

use i2p_e2e::ident::{self, RouterInfoSummary};
use i2p_e2e::sam::SamControl;
use i2p_e2e::wait::{Check, tail_file, wait_until};
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};
use sha2::{Digest, Sha256};

const SIZE: usize = 20 * 1024 * 1024;

/// `key=value` from a log line.
fn field(line: &str, key: &str) -> Option<u64> {
    let pat = format!(" {key}=");
    let at = line.find(&pat)? + pat.len();
    let digits: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

#[test]
fn eepsite_traffic_passes_through_our_router() {
    let env = TestEnv::new("transit-traffic").expect("e2e environment");
    let mut ours = OurRouter::prepare(
        &env,
        "ours",
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 40),
            ntcp2_port: 12140,
            floodfill: false,
            ..Default::default()
        },
    )
    .unwrap();
    let ri = ours.generate_router_info(Duration::from_secs(30)).unwrap();
    let hash = RouterInfoSummary::parse(&ri).unwrap().hash_b64();

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
    // the reseed file is read at start; the config was written by prepare, so write it again
    let mut config = ours.config().clone();
    config.reseed_file = Some(seed);
    std::fs::write(ours.config_path(), config.to_yaml()).unwrap();
    let started = Instant::now();
    ours.start().expect("start our router");
    let diagnostics = || tail_file(&ours.log_path(), 30);

    let eepsite = net.eepsite().expect("the net has an eepsite");
    let body: Vec<u8> = {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        (0..SIZE)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    };
    std::fs::write(eepsite.www.join("big.bin"), &body).unwrap();
    let want = Sha256::digest(&body);

    let first = net
        .wait_eepsite_reachable(Duration::from_secs(240))
        .expect("the eepsite answers through router 5's HTTP proxy");
    assert_eq!(first.status, 200);
    println!(
        "eepsite reachable {:.1} s after our start",
        started.elapsed().as_secs_f64()
    );

    // the client: a SAM session on router 5 whose tunnels may only use our router
    let r5 = ident::base64_i2p(&net.router(5).hash);
    let sam5 = std::net::SocketAddr::from(([127, 0, 0, 1], net.router(5).ports.sam));
    let peers = hash.clone();
    let t = Instant::now();
    let control = env
        .netns()
        .run(move || {
            let mut c = SamControl::connect(sam5, Duration::from_secs(10))?;
            let (_, private) = c.dest_generate()?;
            c.session_create(
                "via-us",
                &private,
                &format!(
                    "inbound.length=1 outbound.length=1 inbound.quantity=2 outbound.quantity=2 \
                     explicitPeers={peers}"
                ),
                Duration::from_secs(180),
            )?;
            Ok::<_, i2p_e2e::Error>(c)
        })
        .unwrap()
        .expect("a SAM session on router 5 with tunnels through us");
    println!(
        "SAM session with tunnels only through us ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let gateway_tunnels = ours
        .log_lines_with(&[
            "transit: participating",
            "InboundGateway",
            &format!("next={r5}"),
        ])
        .len();
    let endpoint_tunnels = ours
        .log_lines_with(&[
            "transit: participating",
            "OutboundEndpoint",
            &format!("from={r5}"),
        ])
        .len();
    let long_records = ours
        .log_lines_with(&[
            "transit: VariableTunnelBuild (long records) answered",
            "status=0",
        ])
        .len();
    println!("{long_records} VariableTunnelBuild requests (long records) accepted");
    assert!(
        long_records > 0,
        "no long-record build was accepted\n{}",
        diagnostics()
    );
    assert!(
        endpoint_tunnels > 0 && gateway_tunnels > 0,
        "router 5's tunnels must go through us ({endpoint_tunnels} endpoint, \
         {gateway_tunnels} gateway)\n{}",
        diagnostics()
    );

    let b32 = eepsite.b32.clone();
    let t = Instant::now();
    let raw = env
        .netns()
        .run(move || {
            let c = SamControl::connect(sam5, Duration::from_secs(10))?;
            let (mut reader, mut writer) =
                c.stream_connect("via-us", &b32, Duration::from_secs(120))?;
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
        .unwrap()
        .expect("download 20 MiB from the eepsite over the SAM stream");
    let secs = t.elapsed().as_secs_f64();
    drop(control);
    let got = i2p_e2e::http::parse_response(&raw).expect("an HTTP response");
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.body.len(), SIZE, "body length");
    assert_eq!(Sha256::digest(&got.body), want, "SHA-256 of the download");
    println!(
        "20 MiB from the eepsite through our router in {secs:.1} s ({:.2} MiB/s), checksum ok",
        20.0 / secs
    );

    // the next status line after the download: what we carried (a line written during the
    // download shows only part of it: counted from here, not from before the download)
    let status_before = ours.log_lines_with(&["INFO status "]).len();
    let status = wait_until(
        "a status line after the download",
        Duration::from_secs(75),
        || {
            let l = ours.log_lines_with(&["INFO status "]);
            Ok(if l.len() > status_before {
                Check::Done(l.last().cloned().unwrap_or_default())
            } else {
                Check::NotYet("no status line yet".into())
            })
        },
        diagnostics,
    )
    .unwrap();
    let out_bytes = field(&status, "out_bytes").unwrap_or(0);
    let forwarded = field(&status, "transit_forwarded").unwrap_or(0);
    println!(
        "our router: endpoint of {endpoint_tunnels} and gateway of {gateway_tunnels} of the \
         client's tunnels, {forwarded} transit messages forwarded, {:.1} MiB sent in total",
        out_bytes as f64 / 1_048_576.0
    );
    assert!(
        out_bytes as usize >= SIZE,
        "we sent only {out_bytes} bytes: the 20 MiB did not pass us"
    );
    net.ensure_running().expect("every i2pd router still runs");
}
