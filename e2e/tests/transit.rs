//! Issue acceptance (tunnels, item 2): real i2pd 2.45.1 routers build tunnels through our
//! router — as participant, inbound gateway and outbound endpoint — and traffic flows.
//!
//! 5 i2pd routers (3 floodfills) and ours (not a floodfill). Once every i2pd router knows our
//! RouterInfo, the test opens SAM sessions (2-hop tunnels, 3 each way) on four i2pd routers,
//! so they build fresh tunnels from a netDb that includes us. Passing means: our router opened
//! an i2pd build record, accepted as a participant, forwarded the request; the creator found
//! our reply valid (its console lists an *established* tunnel through our hash); and TunnelData
//! went through us with our layer added; and as the inbound gateway of an i2pd tunnel we
//! fragmented TunnelGateway messages into TunnelData that the creator accepted (its tunnel
//! tests pass, so the tunnel stays established); and as the outbound endpoint we answered the
//! creator through its reply tunnel (garlic-wrapped OutboundTunnelBuildReply) and delivered the
//! reassembled messages the tunnel carried. The counts per role are printed.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use i2p_e2e::ident::{self, RouterInfoSummary};
use i2p_e2e::sam::SamControl;
use i2p_e2e::wait::{Check, tail_file, wait_until};
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};

/// The text of an HTML fragment (tags removed).
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn i2pd_builds_tunnels_through_our_router() {
    let env = TestEnv::new("transit").expect("e2e environment");
    let net = I2pdNet::builder()
        .routers(5)
        .floodfills(3)
        .net_id(17)
        .start(&env)
        .expect("start 5 i2pd routers");
    let seed = {
        let ri = std::fs::read(net.router(1).router_info_path()).expect("i2pd router.info");
        let path = env.dir().join("seed.zip");
        std::fs::write(&path, ident::reseed_zip(&[&ri]).unwrap()).unwrap();
        path
    };
    let mut ours = OurRouter::prepare(
        &env,
        "ours",
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 20),
            ntcp2_port: 12120,
            floodfill: false,
            reseed_file: Some(seed),
            ..Default::default()
        },
    )
    .unwrap();
    let ri = ours.generate_router_info(Duration::from_secs(30)).unwrap();
    let hash = RouterInfoSummary::parse(&ri).unwrap().hash_b64();
    let prefix = hash[..4].to_owned();
    let started = Instant::now();
    ours.start().expect("start our router");
    let diagnostics = || tail_file(&ours.log_path(), 30);

    for i in 1..=5 {
        wait_until(
            &format!("i2pd router {i} to learn our RouterInfo"),
            Duration::from_secs(150),
            || {
                let seen = net
                    .router(i)
                    .log_lines_containing(&format!("RouterInfo added: {hash}"));
                Ok(if seen.is_empty() {
                    Check::NotYet("not yet".into())
                } else {
                    Check::Done(())
                })
            },
            diagnostics,
        )
        .unwrap();
    }
    println!(
        "every i2pd router knows us {:.1} s after our start",
        started.elapsed().as_secs_f64()
    );

    // fresh client tunnels on four i2pd routers
    let mut sessions = Vec::new();
    for i in [1, 2, 4, 5] {
        let sam = net.router(i).ports.sam;
        let t = Instant::now();
        let control = env
            .netns()
            .run(move || {
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], sam));
                let mut c = SamControl::connect(addr, Duration::from_secs(10))?;
                let (_, private) = c.dest_generate()?;
                c.session_create(
                    &format!("transit-{i}"),
                    &private,
                    "inbound.length=2 outbound.length=2 inbound.quantity=3 outbound.quantity=3",
                    Duration::from_secs(180),
                )?;
                Ok::<_, i2p_e2e::Error>(c)
            })
            .unwrap()
            .unwrap_or_else(|e| panic!("SAM session on i2pd router {i}: {e}"));
        println!(
            "SAM session on router {i} ready in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        sessions.push(control);
    }

    let forwarded = wait_until(
        "TunnelData to pass through a tunnel we participate in",
        Duration::from_secs(240),
        || {
            let l = ours.log_lines_with(&["transit: first TunnelData forwarded"]);
            Ok(match l.first() {
                Some(l) => Check::Done(l.clone()),
                None => Check::NotYet(format!(
                    "{} tunnels accepted so far",
                    ours.log_lines_with(&["transit: participating"]).len()
                )),
            })
        },
        diagnostics,
    )
    .unwrap();
    println!("{forwarded}");

    let gateway = wait_until(
        "TunnelData to leave us as an inbound gateway",
        Duration::from_secs(240),
        || {
            let l = ours.log_lines_with(&["transit: first TunnelData sent as inbound gateway"]);
            Ok(match l.first() {
                Some(l) => Check::Done(l.clone()),
                None => Check::NotYet(format!(
                    "{} gateway tunnels accepted so far",
                    ours.log_lines_with(&["transit: participating", "InboundGateway"])
                        .len()
                )),
            })
        },
        diagnostics,
    )
    .unwrap();
    println!("{gateway}");

    let endpoint = wait_until(
        "a message to leave us as an outbound endpoint",
        Duration::from_secs(240),
        || {
            let l = ours.log_lines_with(&["transit: first message delivered as outbound endpoint"]);
            Ok(match l.first() {
                Some(l) => Check::Done(l.clone()),
                None => Check::NotYet(format!(
                    "{} endpoint tunnels accepted so far",
                    ours.log_lines_with(&["transit: participating", "OutboundEndpoint"])
                        .len()
                )),
            })
        },
        diagnostics,
    )
    .unwrap();
    println!("{endpoint}");

    let through_us = wait_until(
        "an i2pd console to list an established tunnel through our router",
        Duration::from_secs(60),
        || {
            for i in 1..=5 {
                let c = net.router(i).console();
                let page = env.netns().run(move || c.page("page=tunnels"))??;
                let text = page.replace("&#8658;", "=");
                if let Some(line) = text
                    .split("<div class=\"listitem\">")
                    .skip(1)
                    .map(|item| strip_tags(item.split("</div>").next().unwrap_or("")))
                    .find(|l| l.contains(&format!(" {prefix} ")) && l.contains("established"))
                {
                    return Ok(Check::Done((i, line.trim().to_owned())));
                }
            }
            Ok(Check::NotYet("no established tunnel lists our hash".into()))
        },
        String::new,
    )
    .unwrap();
    println!(
        "i2pd router {} lists a tunnel through us: {}",
        through_us.0, through_us.1
    );
    println!(
        "{:.0} s: build requests for us: {} accepted as participant, {} as inbound gateway, \
         {} as outbound endpoint, {} rejected, {} replayed or stale",
        started.elapsed().as_secs_f64(),
        ours.log_lines_with(&["transit: participating", "Participant"])
            .len(),
        ours.log_lines_with(&["transit: participating", "InboundGateway"])
            .len(),
        ours.log_lines_with(&["transit: participating", "OutboundEndpoint"])
            .len(),
        ours.log_lines_with(&["transit: build request rejected"])
            .len(),
        ours.log_lines_with(&["transit: replayed or stale"]).len(),
    );
    drop(sessions);
    net.ensure_running().expect("every i2pd router still runs");
}
