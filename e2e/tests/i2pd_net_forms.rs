//! The harness brings up a 5-router i2pd net with progressive boot, every router learns every
//! other router, and the eepsite on router 4 is reachable through router 5's HTTP proxy (LeaseSet
//! published to and looked up through the floodfills, 3-hop tunnels both ways). If this fails, no
//! other e2e result means anything.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use i2p_e2e::i2pd::format_duration;
use i2p_e2e::{I2pdNet, TestEnv};

#[test]
fn i2pd_net_forms() {
    let env = TestEnv::new("forms").expect("e2e environment");
    let net = I2pdNet::builder()
        .routers(5)
        .floodfills(3)
        .net_id(17)
        .third_octet(0)
        .eepsite(true)
        .start(&env)
        .expect("start 5 i2pd routers");
    let sums = net
        .wait_all_know_each_other(Duration::from_secs(120))
        .expect("routers meet");
    let formed = net.timings().since_first_start();

    // Each router counts exactly the 5 routers of the net (i2pd counts itself) and the 3
    // floodfills; nothing else exists in this namespace.
    for (k, s) in sums.iter().enumerate() {
        assert_eq!(
            (s.routers, s.floodfills),
            (5, 3),
            "router {} summary: {s}",
            k + 1
        );
    }
    // Routers learnt of later routers only through the network (progressive boot seeds router 1
    // with nobody), so router 1 knowing all 4 proves RouterInfos flowed between i2pd routers.
    let ident = net.summary(1).expect("router 1 summary").router_ident;
    assert_eq!(ident.as_deref(), Some(net.router(1).hash_b64().as_str()));

    // Established sessions to the other routers, by hash prefix.
    let sessions = net.transports(5).expect("router 5 transports");
    for other in 1..=4 {
        let prefix = &net.router(other).hash_b64()[..4];
        assert!(
            sessions.iter().any(|s| s.peer_hash_prefix == prefix),
            "router 5 has no session with router {other} ({prefix}): {sessions:?}"
        );
    }

    // End to end through i2pd: client tunnels, LeaseSet via floodfills, server tunnel, backend.
    let eepsite = net.eepsite().expect("eepsite configured");
    assert_eq!(eepsite.router, 4);
    let served_before = eepsite.backend_requests();
    let page = net
        .wait_eepsite_reachable(Duration::from_secs(120))
        .expect("eepsite reachable");
    assert!(page.text().contains("i2p-e2e eepsite"), "{}", page.text());
    assert!(
        eepsite.backend_requests() > served_before,
        "the page did not come from our backend"
    );
    let reachable = net.timings().since_first_start();
    println!(
        "i2pd_net_forms: keys phase {}, all 5 routers know each other {} after the first start \
         (starts at {:?}), eepsite reachable at {}",
        format_duration(net.timings().keys_phase),
        format_duration(formed),
        net.timings().router_starts,
        format_duration(reachable),
    );
}
