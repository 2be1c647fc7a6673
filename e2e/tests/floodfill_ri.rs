//! Issue acceptance (NTCP2 + netDb, item 3, the RouterInfo half): our floodfill is used by i2pd
//! for RouterInfos. An i2pd router publishes its RouterInfo to us (a DatabaseStore with a reply
//! token, because we are the floodfill closest to its routing key) and we flood it on; an i2pd
//! router that needs a RouterInfo only we hold looks it up at us and gets it.
//!
//! 6 i2pd routers (3 floodfills); router 6 is held back. Our floodfill A gets an identity
//! ground until A is closer to router 6's routing key (today's) than the three i2pd
//! floodfills, so router 6 — started late knowing only the floodfills, A among them —
//! publishes to A, which floods it to the i2pd floodfills. For the lookup, a RouterInfo of a
//! router X that never runs, ground to be closest to A, sits in A's netDb directory (A loads
//! it at start and does not flood it); router 5 opens a SAM session whose tunnels may only use
//! X (i2pd's `explicitPeers`, length 1), so it must look X up, at the floodfill closest to X:
//! A. (Router 6 itself is no good for this: it connects to router 5 within seconds of its
//! start, handing over its RouterInfo.)

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use i2p_e2e::sam::{self, SamControl};
use i2p_e2e::wait::{Check, tail_file, wait_until};
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv, ident};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn i2pd_publishes_a_routerinfo_to_our_floodfill_and_looks_it_up_there() {
    let env = TestEnv::new("floodfill-ri").expect("e2e environment");
    let mut net = I2pdNet::builder()
        .routers(6)
        .floodfills(3)
        .net_id(17)
        .held_back(&[6])
        .start(&env)
        .expect("start i2pd routers 1-5 (6 held back)");
    let r6 = net.router(6).hash;
    let r6_b64 = ident::base64_i2p(&r6);
    let floodfills: Vec<[u8; 32]> = (1..=3).map(|i| net.router(i).hash).collect();

    // not within 10 minutes of a routing-key rotation
    if unix_now() % 86_400 > 86_400 - 600 {
        std::thread::sleep(Duration::from_secs(86_400 - unix_now() % 86_400 + 5));
    }
    let rk6 = sam::routing_key(&r6, unix_now());
    let seed = {
        let infos: Vec<Vec<u8>> = (1..=5)
            .map(|i| std::fs::read(net.router(i).router_info_path()).unwrap())
            .collect();
        let refs: Vec<&[u8]> = infos.iter().map(Vec::as_slice).collect();
        let path = env.dir().join("seed.zip");
        std::fs::write(&path, ident::reseed_zip(&refs).unwrap()).unwrap();
        path
    };
    let mut found = None;
    for attempt in 1..=100 {
        let mut a = OurRouter::prepare(
            &env,
            &format!("a{attempt}"),
            OurRouterConfig {
                net_id: 17,
                ntcp2_host: Ipv4Addr::new(198, 18, 1, 50),
                ntcp2_port: 12150,
                floodfill: true,
                reseed_file: Some(seed.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        let ri = a.generate_router_info(Duration::from_secs(30)).unwrap();
        let a_hash = ident::ident_hash(&ri).unwrap();
        let to_a = sam::xor(&rk6, &a_hash);
        if floodfills.iter().all(|f| sam::xor(&rk6, f) > to_a) {
            found = Some((a, ri, a_hash, attempt));
            break;
        }
    }
    let (mut a, a_ri, a_hash, attempt) = found.expect("an identity closest to router 6's key");
    let a_b64 = ident::base64_i2p(&a_hash);
    println!("our floodfill {a_b64} (identity try {attempt}) is the closest to router 6");
    // X: a router that never runs, whose RouterInfo only A holds (in its netDb directory from
    // the start; A does not flood what it loads from disk), closest to A among the floodfills
    let mut x_found = None;
    for attempt in 1..=100 {
        let mut x = OurRouter::prepare(
            &env,
            &format!("x{attempt}"),
            OurRouterConfig {
                net_id: 17,
                ntcp2_host: Ipv4Addr::new(198, 18, 1, 51),
                ntcp2_port: 12151,
                ..Default::default()
            },
        )
        .unwrap();
        let ri = x.generate_router_info(Duration::from_secs(30)).unwrap();
        let h = ident::ident_hash(&ri).unwrap();
        let rk = sam::routing_key(&h, unix_now());
        let to_a = sam::xor(&rk, &a_hash);
        if floodfills.iter().all(|f| sam::xor(&rk, f) > to_a) {
            x_found = Some((ri, h));
            break;
        }
    }
    let (x_ri, x_hash) = x_found.expect("an identity X closest to A");
    let x_b64 = ident::base64_i2p(&x_hash);
    ident::install_into_netdb(&a.dir().join("netDb"), &x_ri).unwrap();
    a.start().expect("start our floodfill");
    let log = a.log_path();
    let diagnostics = || tail_file(&log, 40);

    // router 6 publishes within its first second: A must be listening by then, or i2pd's
    // store to A fails and it settles on the next floodfill (seen once in CI)
    wait_until(
        "our floodfill to listen and publish its RouterInfo",
        Duration::from_secs(60),
        || {
            Ok(
                match a
                    .log_lines_with(&["netDb: our RouterInfo is published"])
                    .first()
                {
                    Some(l) => Check::Done(l.clone()),
                    None => Check::NotYet("not published yet".into()),
                },
            )
        },
        diagnostics,
    )
    .unwrap();
    net.start_late(6, &[1, 2, 3], &[a_ri.as_slice()])
        .expect("start i2pd router 6");

    let store = wait_until(
        "router 6 to publish its RouterInfo to us with a reply token",
        Duration::from_secs(120),
        || {
            let l = a.log_lines_with(&[
                "netDb: DatabaseStore",
                &format!("key={r6_b64}"),
                "reply=true",
            ]);
            Ok(match l.first() {
                Some(l) => Check::Done(l.clone()),
                None => Check::NotYet("no store of router 6 yet".into()),
            })
        },
        diagnostics,
    )
    .unwrap();
    println!("{store}");
    let floods = wait_until(
        "the RouterInfo to be flooded on",
        Duration::from_secs(30),
        || {
            let l = a.log_lines_with(&["netDb: flooding", &format!("key={r6_b64}")]);
            Ok(if l.is_empty() {
                Check::NotYet("no flood yet".into())
            } else {
                Check::Done(l)
            })
        },
        diagnostics,
    )
    .unwrap();
    println!("flooded to {} floodfills", floods.len());

    // now router 5 needs X (a tunnel only through it); nobody but A has X's RouterInfo, so
    // router 5 must look it up at the floodfill closest to X: A
    wait_until(
        "router 5 to know our floodfill",
        Duration::from_secs(120),
        || {
            Ok(
                if net
                    .router(5)
                    .log_lines_containing(&format!("RouterInfo added: {a_b64}"))
                    .is_empty()
                {
                    Check::NotYet("not in router 5's log".into())
                } else {
                    Check::Done(())
                },
            )
        },
        diagnostics,
    )
    .unwrap();
    let sam5 = net.router(5).ports.sam;
    let peers = x_b64.clone();
    let _control = env
        .netns()
        .run(move || {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], sam5));
            let mut c = SamControl::connect(addr, Duration::from_secs(10))?;
            let (_, private) = c.dest_generate()?;
            // i2pd answers once the tunnels exist, which never happens through X: do not wait
            let _ = c.session_create(
                "via-x",
                &private,
                &format!(
                    "inbound.length=1 outbound.length=1 inbound.quantity=1 outbound.quantity=1 \
                     explicitPeers={peers}"
                ),
                Duration::from_secs(2),
            );
            Ok::<_, i2p_e2e::Error>(c)
        })
        .unwrap()
        .expect("SAM on i2pd router 5");

    let answer = wait_until(
        "router 5 to look X up at our floodfill and get it",
        Duration::from_secs(180),
        || {
            // not filtered by sender: i2pd sends the lookup through its exploratory tunnels,
            // so "from" is its reply tunnel's gateway (seen in CI), not router 5; nobody but
            // router 5 has a reason to look X up
            let asked =
                a.log_lines_with(&["netDb: answering a DatabaseLookup", &format!("key={x_b64}")]);
            // reply_type 1 is a DatabaseStore (found), 3 a DatabaseSearchReply (not found)
            Ok(match asked.iter().find(|l| l.contains("reply_type=1")) {
                Some(l) => Check::Done(l.clone()),
                None => Check::NotYet(format!(
                    "{} lookups for X, none answered with the RouterInfo",
                    asked.len()
                )),
            })
        },
        diagnostics,
    )
    .unwrap();
    println!("{answer}");
    // and router 5 now holds it
    wait_until(
        "router 5 to add X's RouterInfo",
        Duration::from_secs(30),
        || {
            Ok(
                if net
                    .router(5)
                    .log_lines_containing(&format!("RouterInfo added: {x_b64}"))
                    .is_empty()
                {
                    Check::NotYet("not in router 5's log".into())
                } else {
                    Check::Done(())
                },
            )
        },
        String::new,
    )
    .unwrap();
    net.ensure_running().expect("every i2pd router still runs");
}
