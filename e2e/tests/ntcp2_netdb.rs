//! Issue acceptance (NTCP2 and the netDb against real i2pd 2.45.1): 5 i2pd routers (3
//! floodfills) and two of ours — A a floodfill, B not — in one namespace.
//!
//! 1. A and B, each reseeded from a zip holding **one** i2pd floodfill's RouterInfo, learn
//!    every router of the net (their netDb directories) within 2 minutes.
//! 2. NTCP2 both ways: our logs show sessions we dialled and sessions i2pd dialled; i2pd's
//!    console lists sessions with our hashes that carried bytes in both directions.
//! 3. A serves as a floodfill: DatabaseStores from i2pd (floods of RouterInfos) arrive; and, made
//!    deterministic, a LeaseSet store with a reply token: the test asks i2pd's SAM bridge
//!    (router 4, once it knows A) for destinations until one's routing key today is closer to A
//!    than to any i2pd floodfill, and creates a session with it. i2pd publishes that LeaseSet to
//!    A (garlic-wrapped through a tunnel, with a reply token), A stores it and floods it to the
//!    i2pd floodfills; router 5 then resolves the destination's .b32.i2p with SAM NAMING LOOKUP
//!    and A answers that lookup with the LeaseSet. RouterInfo lookups answered with a
//!    RouterInfo are counted and printed, not asserted: i2pd only looks up RouterInfos it lacks,
//!    and in a net this small flooding has given every floodfill everything.
//! 4. A restart of A keeps its identity and netDb and reconnects.
//!
//! Bad handshakes (item 5) are in router/transport/tests/ntcp2.rs over real TCP; the fuzz
//! targets in router/fuzz; reseed verification (item 6) in router/node/tests.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use i2p_e2e::ident::{self, RouterInfoSummary};
use i2p_e2e::sam::{self, SamControl};
use i2p_e2e::wait::{Check, wait_until};
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};

fn config(host: u8, floodfill: bool) -> OurRouterConfig {
    OurRouterConfig {
        net_id: 17,
        ntcp2_host: Ipv4Addr::new(198, 18, 1, host),
        ntcp2_port: 12100 + u16::from(host),
        floodfill,
        ..Default::default()
    }
}

/// The router hash in our log's `router_hash=` / `from=` form from a RouterInfo file.
fn hash_of(ri: &[u8]) -> String {
    RouterInfoSummary::parse(ri).expect("RouterInfo").hash_b64()
}

fn diagnostics(r: &OurRouter) -> impl FnOnce() -> String + '_ {
    || i2p_e2e::wait::tail_file(&r.log_path(), 30)
}

#[test]
fn our_routers_join_an_i2pd_net() {
    let env = TestEnv::new("ntcp2-netdb").expect("e2e environment");

    let net = I2pdNet::builder()
        .routers(5)
        .floodfills(3)
        .net_id(17)
        .start(&env)
        .expect("start 5 i2pd routers");
    let i2pd_hashes: Vec<String> = net.routers().iter().map(|r| r.hash_b64()).collect();
    let seed = |i: usize| {
        let ri = std::fs::read(net.router(i).router_info_path()).expect("i2pd router.info");
        let zip = ident::reseed_zip(&[&ri]).unwrap();
        let path = env.dir().join(format!("seed-{i}.zip"));
        std::fs::write(&path, zip).unwrap();
        path
    };

    let mut a = OurRouter::prepare(
        &env,
        "ours-a",
        OurRouterConfig {
            reseed_file: Some(seed(1)),
            ..config(10, true)
        },
    )
    .unwrap();
    let mut b = OurRouter::prepare(
        &env,
        "ours-b",
        OurRouterConfig {
            reseed_file: Some(seed(2)),
            // zero-hop tunnels: with 2-hop tunnels a router dials every other router within a
            // second of its start and i2pd reuses those sessions, so no i2pd router would ever
            // need to dial it. A keeps its tunnels (well connected, i2pd's lookups find it);
            // B only talks to floodfills itself, so i2pd routers building through B dial it.
            exploratory_hops: Some(0),
            ..config(11, false)
        },
    )
    .unwrap();
    let a_hash = hash_of(&a.generate_router_info(Duration::from_secs(30)).unwrap());
    let b_hash = hash_of(&b.generate_router_info(Duration::from_secs(30)).unwrap());

    let started = Instant::now();
    a.start().expect("start A");
    b.start().expect("start B");

    // 1. every router of the net in both netDbs within 2 minutes
    for (name, r, other) in [("A", &a, &b_hash), ("B", &b, &a_hash)] {
        let mut want: Vec<&String> = i2pd_hashes.iter().collect();
        want.push(other);
        wait_until(
            &format!("{name} to learn all 6 other routers"),
            Duration::from_secs(120).saturating_sub(started.elapsed()),
            || {
                let have = r.netdb_hashes();
                let missing: Vec<_> = want.iter().filter(|h| !have.contains(h)).collect();
                Ok(if missing.is_empty() {
                    Check::Done(())
                } else {
                    Check::NotYet(format!("missing {missing:?}"))
                })
            },
            diagnostics(r),
        )
        .unwrap();
        println!(
            "{name} knows every router {:.1} s after start",
            started.elapsed().as_secs_f64()
        );
    }

    // 2. sessions both ways
    let i2pd_prefix8: Vec<&str> = i2pd_hashes.iter().map(|h| &h[..8]).collect();
    let established = |r: &OurRouter, inbound: bool| -> Vec<String> {
        r.log_lines_with(&["NTCP2 session established", &format!("inbound={inbound}")])
            .into_iter()
            .filter(|l| {
                i2pd_prefix8
                    .iter()
                    .any(|p| l.contains(&format!("peer={p}")))
            })
            .collect()
    };
    for (name, r) in [("A", &a), ("B", &b)] {
        assert!(
            !established(r, false).is_empty(),
            "{name} dialled no i2pd router"
        );
    }
    let dialled = wait_until(
        "an i2pd router to dial one of our routers",
        Duration::from_secs(180),
        || {
            Ok(
                match established(&b, true)
                    .first()
                    .or(established(&a, true).first())
                {
                    Some(l) => Check::Done(l.clone()),
                    None => Check::NotYet("no inbound session from i2pd".into()),
                },
            )
        },
        diagnostics(&b),
    )
    .unwrap();
    println!("inbound: {dialled}");
    for (name, hash) in [("A", &a_hash), ("B", &b_hash)] {
        let seen = wait_until(
            &format!("an i2pd console to list a session with {name} that carried bytes both ways"),
            Duration::from_secs(60),
            || {
                for i in 1..=5 {
                    let sessions = net.transports(i)?;
                    if let Some(s) = sessions.iter().find(|s| {
                        s.transport.starts_with("NTCP2")
                            && s.peer_hash_prefix == hash[..4]
                            && s.bytes.is_some_and(|(tx, rx)| tx > 0 && rx > 0)
                    }) {
                        return Ok(Check::Done((i, s.clone())));
                    }
                }
                Ok(Check::NotYet("no such session yet".into()))
            },
            String::new,
        )
        .unwrap();
        println!("i2pd router {} has {:?}", seen.0, seen.1);
    }

    // 3. A as a floodfill
    let from_i2pd = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| i2pd_hashes.iter().any(|h| l.contains(&format!("from={h}"))))
            .collect()
    };
    let stores = from_i2pd(a.log_lines_with(&["netDb: DatabaseStore "]));
    assert!(!stores.is_empty(), "no DatabaseStore from i2pd reached A");

    // 3a. a LeaseSet for which A is the closest floodfill, published by i2pd router 4
    let decode = |b64: &str| -> [u8; 32] {
        ident::base64_i2p_decode(b64)
            .unwrap()
            .try_into()
            .expect("32-byte hash")
    };
    let a_key = decode(&a_hash);
    let other_floodfills: Vec<[u8; 32]> = i2pd_hashes[..3].iter().map(|h| decode(h)).collect();
    // routers 4 (publisher) and 5 (looker-up) must know A before they pick floodfills
    for i in [4, 5] {
        wait_until(
            &format!("i2pd router {i} to learn A's RouterInfo"),
            Duration::from_secs(120),
            || {
                let seen = net
                    .router(i)
                    .log_lines_containing(&format!("RouterInfo added: {a_hash}"));
                Ok(if seen.is_empty() {
                    Check::NotYet(format!("not in router {i}'s log yet"))
                } else {
                    Check::Done(())
                })
            },
            String::new,
        )
        .unwrap();
    }
    let sam4 = net.router(4).ports.sam;
    let sam5 = net.router(5).ports.sam;
    let mut attempt = 0;
    let (control, dest, dest_hash, dest_b64, stored) = loop {
        attempt += 1;
        let other_floodfills = other_floodfills.clone();
        let (mut control, dest, tries) = env
            .netns()
            .run(move || {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], sam4));
                let mut c = SamControl::connect(addr, Duration::from_secs(10))?;
                for tries in 1..=200 {
                    let (public, private) = c.dest_generate()?;
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs();
                    // not within 10 minutes of a routing-key rotation
                    if (now % 86_400) > 86_400 - 600 {
                        std::thread::sleep(Duration::from_secs(86_400 - now % 86_400 + 5));
                        continue;
                    }
                    let rk = sam::routing_key(&sam::destination_hash(&public)?, now);
                    let to_a = sam::xor(&rk, &a_key);
                    if other_floodfills.iter().all(|f| sam::xor(&rk, f) > to_a) {
                        return Ok::<_, i2p_e2e::Error>((c, (public, private), tries));
                    }
                }
                panic!("no destination closest to A in 200 tries");
            })
            .unwrap()
            .expect("SAM on i2pd router 4");
        let dest_hash = sam::destination_hash(&dest.0).unwrap();
        let dest_b64 = ident::base64_i2p(&dest_hash);
        println!(
            "destination {} (try {tries}) is closest to A",
            sam::b32(&dest_hash)
        );
        let private = dest.1.clone();
        let t = Instant::now();
        control = env
            .netns()
            .run(move || {
                control
                    .session_create(
                        &format!("e2e-near-a-{attempt}"),
                        &private,
                        "inbound.length=1 outbound.length=1 inbound.quantity=2 outbound.quantity=2",
                        Duration::from_secs(180),
                    )
                    .map(|()| control)
            })
            .unwrap()
            .expect("SAM session on i2pd router 4");
        println!(
            "i2pd SAM session ready in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let stored = wait_until(
            "i2pd to publish the LeaseSet to A",
            Duration::from_secs(60),
            || {
                let l = a.log_lines_with(&[
                    "netDb: DatabaseStore ",
                    &format!("key={dest_b64}"),
                    "reply=true",
                ]);
                Ok(match l.first() {
                    Some(l) => Check::Done(l.clone()),
                    None => Check::NotYet("no store of that key with a reply token".into()),
                })
            },
            String::new,
        );
        match stored {
            Ok(l) => break (control, dest, dest_hash, dest_b64, l),
            Err(e) if attempt < 3 => {
                // i2pd 2.45.1 gives up publishing when the destination's first inbound tunnel
                // is ready before any outbound one and tries again only when the LeaseSet
                // changes (Destination.cpp, "Destination is not ready"): take a new destination
                println!("attempt {attempt}: {e}; i2pd's publish stalled, new destination");
                drop(control);
            }
            Err(e) => panic!("{e}\n{}", diagnostics(&a)()),
        }
    };
    println!("A got the LeaseSet store: {stored}");
    let floods = wait_until(
        "A to flood the LeaseSet to i2pd floodfills",
        Duration::from_secs(30),
        || {
            let floods: Vec<String> = a
                .log_lines_with(&["netDb: flooding", &format!("key={dest_b64}")])
                .into_iter()
                .filter(|l| i2pd_hashes.iter().any(|h| l.contains(&format!("to={h}"))))
                .collect();
            Ok(if floods.is_empty() {
                Check::NotYet("no flood yet".into())
            } else {
                Check::Done(floods.len())
            })
        },
        diagnostics(&a),
    )
    .unwrap();
    println!("A flooded it to {floods} i2pd floodfills");
    let name = sam::b32(&dest_hash);
    let looked_up = env
        .netns()
        .run(move || {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], sam5));
            let mut c = SamControl::connect(addr, Duration::from_secs(10))?;
            c.naming_lookup(&name, Duration::from_secs(60))
        })
        .unwrap()
        .expect("i2pd router 5 resolves the destination");
    assert_eq!(looked_up, dest.0, "router 5 found another destination");
    // not filtered by sender: router 5 sends its lookup through its outbound tunnel, whose
    // endpoint may be A or B (then the lookup comes "from" one of ours); only i2pd routers
    // look this destination up
    let ls_answers = a.log_lines_with(&["answering a DatabaseLookup", &format!("key={dest_b64}")]);
    println!(
        "A answered {} lookups of it: {ls_answers:?}",
        ls_answers.len()
    );
    // i2pd's SAM naming lookups come from a destination without ECIES and ask for an
    // ElGamal/AES-encrypted reply, which A now sends; any reply A could not send does not count
    let found = ls_answers
        .iter()
        .filter(|l| l.split_whitespace().any(|w| w == "reply_type=1"))
        .count();
    let unsent = a
        .log_lines_with(&[
            "reply encryption we do not support",
            &format!("key={dest_b64}"),
        ])
        .len();
    assert!(
        found > unsent,
        "A, the closest floodfill, did not answer router 5's lookup with the LeaseSet \
         ({found} found, {unsent} of them not sent: unsupported reply encryption)"
    );
    drop(control);

    let ri_answers: Vec<String> =
        from_i2pd(a.log_lines_with(&["answering a DatabaseLookup", "kind=RouterInfo"]))
            .into_iter()
            .filter(|l| l.split_whitespace().any(|w| w == "reply_type=1"))
            .collect();
    println!(
        "{:.0} s: A answered {} lookups from i2pd, {} of them RouterInfo lookups with the RouterInfo",
        started.elapsed().as_secs_f64(),
        from_i2pd(a.log_lines_with(&["answering a DatabaseLookup"])).len(),
        ri_answers.len()
    );

    // 4. restart A: same identity, netDb kept, reconnects
    let known_before = a.netdb_hashes().len();
    a.stop();
    let lines_before = a.log_lines_with(&[""]).len();
    a.start().expect("restart A");
    wait_until(
        "A to reconnect after a restart",
        Duration::from_secs(60),
        || {
            let lines = a.log_lines_with(&[""]);
            let after = &lines[lines_before.min(lines.len())..];
            let connected = after
                .iter()
                .any(|l| l.contains("NTCP2 session established"));
            Ok(if connected {
                Check::Done(())
            } else {
                Check::NotYet("no session since the restart".into())
            })
        },
        diagnostics(&a),
    )
    .unwrap();
    let lines = a.log_lines_with(&[""]);
    let after = &lines[lines_before.min(lines.len())..];
    assert!(
        after
            .iter()
            .any(|l| l.contains("router identity loaded") && l.contains(&a_hash)),
        "A came back with another identity: {after:?}"
    );
    assert!(
        !after
            .iter()
            .any(|l| l.contains("created a new router identity")),
        "A regenerated its keys"
    );
    let loaded = after
        .iter()
        .find(|l| l.contains("loaded the netDb directory"))
        .expect("netDb load line");
    assert!(
        loaded.contains(&format!("loaded={known_before} ")),
        "A had {known_before} RouterInfos on disk before the restart: {loaded}"
    );
    net.ensure_running().expect("every i2pd router still runs");
}
