//! Issue acceptance: our RouterInfo (testnet netId, an NTCP2 address on 198.18.x.y), made by
//! our `i2p-router` binary, is accepted by real i2pd 2.45.1 routers.
//!
//! Two ways in, because i2pd treats them differently:
//! - **netDb directory** (the acceptance item): i2pd loads `r<c>/routerInfo-<hash>.dat` at
//!   start, checking netId, addresses and age but *not* the signature (2.45.1 reads its own
//!   netDb with `ReadFromBuffer(false)`; a copy with a flipped signature byte is loaded and
//!   counted too). The negative twin for this path is a RouterInfo for the wrong netId.
//! - **reseed zip**: every RouterInfo that arrives this way goes through the signature check,
//!   so this is where our signature is proven valid, and where a copy with one flipped
//!   signature byte is rejected (`RouterInfo: Signature verification failed`).

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::time::Duration;

use i2p_e2e::ident::{self, RouterInfoSummary, base64_i2p};
use i2p_e2e::{Boot, I2pdNet, OurRouter, OurRouterConfig, TestEnv};

/// Our binary writes an identity and a RouterInfo for `net_id`, publishing NTCP2 on host:port.
fn our_router_info(env: &TestEnv, name: &str, net_id: u16, host: Ipv4Addr, port: u16) -> Vec<u8> {
    let config = OurRouterConfig {
        net_id,
        ntcp2_host: host,
        ntcp2_port: port,
        ..Default::default()
    };
    let mut ours = OurRouter::prepare(env, name, config).expect("our router's data dir");
    ours.create_identity().expect("i2p-router identity");
    let ri = ours
        .generate_router_info(Duration::from_secs(30))
        .expect("our router.info");
    let s = RouterInfoSummary::parse(&ri).expect("our RouterInfo parses");
    assert_eq!(
        s.property("netId"),
        Some(net_id.to_string().as_str()),
        "{s:?}"
    );
    assert_eq!(s.hosts("NTCP2"), vec![host], "{s:?}");
    ri
}

/// What the netDb-directory check found.
#[derive(Debug)]
struct Accepted {
    counts: Vec<u32>,
}

/// Is the RouterInfo with `hash`, preinstalled in every router's netDb directory, accepted?
/// Accepted means: no router deleted or refused it at load, every console counts it, and the
/// file is still in every netDb after `hold` (past i2pd's first netDb save, which deletes
/// RouterInfos it considers unreachable or expired).
fn check_netdb_acceptance(
    net: &I2pdNet,
    hash: &[u8; 32],
    hold: Duration,
) -> Result<Accepted, String> {
    let b64 = base64_i2p(hash);
    let rel = ident::netdb_relative_path(hash);
    let n = u32::try_from(net.routers().len()).unwrap();
    let refused = |net: &I2pdNet| -> Option<String> {
        net.routers().iter().find_map(|r| {
            let lines = refusals(&r.log_lines_containing(""), &b64);
            (!lines.is_empty()).then(|| format!("router {} refused it: {lines:?}", r.index))
        })
    };
    let missing = |net: &I2pdNet| -> Option<String> {
        net.routers()
            .iter()
            .find(|r| !r.netdb_dir().join(&rel).is_file())
            .map(|r| format!("router {} no longer has {}", r.index, rel.display()))
    };
    // give i2pd time to load its netDb, then look for a refusal before waiting on counts
    std::thread::sleep(Duration::from_secs(2));
    if let Some(why) = refused(net).or_else(|| missing(net)) {
        return Err(why);
    }
    net.wait_router_counts(
        "every console to count the i2pd routers and ours",
        Duration::from_secs(60),
        |_| n + 1,
    )
    .map_err(|e| e.to_string())?;
    let until = net
        .timings()
        .router_starts
        .last()
        .copied()
        .unwrap_or_default()
        + hold;
    let mut counts;
    loop {
        counts = net
            .summaries()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| s.map(|s| s.routers).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(why) = refused(net).or_else(|| missing(net)) {
            return Err(why);
        }
        if counts.iter().any(|&c| c < n + 1) {
            return Err(format!("a router stopped counting it: {counts:?}"));
        }
        if net.timings().since_first_start() >= until {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    Ok(Accepted { counts })
}

/// Lines of an i2pd log that refuse the RouterInfo with base64 hash `b64`:
/// - `NetDb: RI from <path with hash> is invalid or too old. Delete` (load-time rejection);
/// - `RouterInfo: Unexpected netId=...` (carries no hash; the test nets hold no other foreign
///   RouterInfo, and i2pd routers share the net's id);
/// - `RouterInfo: Signature verification failed` (no hash either) when one of the next two
///   lines names ours. Such failures also happen between i2pd routers themselves (seen: an
///   update of an i2pd router's RouterInfo failing at startup), so they count only when
///   attributable to ours.
fn refusals(log: &[String], b64: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in log.iter().enumerate() {
        let sig_ours = l.contains("Signature verification failed")
            && log.iter().skip(i + 1).take(2).any(|n| n.contains(b64));
        if (l.contains("is invalid or too old") && l.contains(b64))
            || l.contains("RouterInfo: Unexpected")
            || sig_ours
        {
            out.push(l.clone());
        }
    }
    out
}

#[test]
fn our_routerinfo_in_netdb_dir_is_accepted_by_i2pd() {
    let env = TestEnv::new("our-ri-netdb").expect("e2e environment");
    let host = Ipv4Addr::new(198, 18, 4, 100);
    let ri = our_router_info(&env, "ours", 21, host, 12100);
    let hash = ident::ident_hash(&ri).unwrap();
    let net = I2pdNet::builder()
        .routers(3)
        .floodfills(2)
        .net_id(21)
        .third_octet(4)
        .foreign_router_info(ri, &[])
        .start(&env)
        .expect("start 3 i2pd routers");
    // At load, router k had routers 1..k-1 plus ours in its netDb directory.
    for r in net.routers() {
        let want = format!("NetDb: {} routers loaded", r.index);
        assert!(
            !r.log_lines_containing(&want).is_empty(),
            "router {}: no \"{want}\"",
            r.index
        );
    }
    // 65 s: i2pd's netDb thread first saves (and prunes) its netDb 60 s after start.
    let accepted =
        check_netdb_acceptance(&net, &hash, Duration::from_secs(65)).unwrap_or_else(|why| {
            panic!(
                "i2pd did not accept our RouterInfo: {why}\n{}",
                net.diagnostics()
            )
        });
    assert_eq!(accepted.counts, vec![4, 4, 4]);
    println!(
        "our RouterInfo {} accepted by 3 i2pd routers; still present {:.0?} after the first start",
        base64_i2p(&hash),
        net.timings().since_first_start()
    );
}

/// The negative twin of the netDb-directory check: the same binary and the same check, but a
/// RouterInfo for another netId. i2pd deletes it at load, so the check must fail.
#[test]
fn wrong_netid_routerinfo_in_netdb_dir_is_refused_by_i2pd() {
    let env = TestEnv::new("our-ri-netdb-neg").expect("e2e environment");
    let ri = our_router_info(&env, "ours", 22, Ipv4Addr::new(198, 18, 6, 100), 12100);
    let hash = ident::ident_hash(&ri).unwrap();
    let net = I2pdNet::builder()
        .routers(2)
        .floodfills(1)
        .net_id(23)
        .third_octet(6)
        .foreign_router_info(ri, &[])
        .start(&env)
        .expect("start 2 i2pd routers");
    let why = check_netdb_acceptance(&net, &hash, Duration::from_secs(10))
        .expect_err("a RouterInfo for netId 22 must not be accepted by a netId 23 router");
    assert!(
        why.contains("refused it") || why.contains("no longer has"),
        "{why}"
    );
    for r in net.routers() {
        assert!(
            !r.log_lines_containing("RouterInfo: Unexpected netId=22")
                .is_empty(),
            "router {}",
            r.index
        );
        assert!(
            !r.netdb_dir()
                .join(ident::netdb_relative_path(&hash))
                .exists()
        );
    }
    // router 2 loaded router 1 and itself, and not ours (router 1 learns router 2 later)
    assert_eq!(
        net.summary(2).unwrap().routers,
        2,
        "router 2 counts the two i2pd routers only"
    );
}

/// Through the signature-checked path: our RouterInfo is added; a copy with one flipped
/// signature byte is rejected with a signature failure and not counted.
#[test]
fn i2pd_verifies_our_routerinfo_signature() {
    let env = TestEnv::new("our-ri-sig").expect("e2e environment");
    let ri = our_router_info(&env, "ours", 24, Ipv4Addr::new(198, 18, 7, 100), 12100);
    let hash = ident::ident_hash(&ri).unwrap();
    let mut flipped = ri.clone();
    *flipped.last_mut().unwrap() ^= 0x01; // last byte of the Ed25519 signature
    let net = I2pdNet::builder()
        .routers(2)
        .floodfills(0)
        .boot(Boot::Separate)
        .net_id(24)
        .third_octet(7)
        .reseed_zip(1, ident::reseed_zip(&[&ri]).unwrap())
        .reseed_zip(2, ident::reseed_zip(&[&flipped]).unwrap())
        .start(&env)
        .expect("start 2 separate i2pd routers");
    // router 1: itself + ours
    net.wait_router_counts(
        "router 1 to count our RouterInfo",
        Duration::from_secs(30),
        |i| {
            if i == 1 { 2 } else { 1 }
        },
    )
    .expect("router 1 adds our RouterInfo from its reseed zip");
    let r1 = net.router(1);
    let added = r1.log_lines_containing(&format!("NetDb: RouterInfo added: {}", base64_i2p(&hash)));
    assert!(
        !added.is_empty(),
        "router 1 log does not show ours added\n{}",
        net.diagnostics()
    );
    assert!(
        r1.log_lines_containing("Signature verification failed")
            .is_empty()
    );
    // router 2: the flipped copy fails the signature check and is not counted
    let r2 = net.router(2);
    assert!(
        !r2.log_lines_containing("RouterInfo: Signature verification failed")
            .is_empty(),
        "router 2 did not report a signature failure\n{}",
        net.diagnostics()
    );
    assert!(
        r2.log_lines_containing("NetDb: RouterInfo added")
            .is_empty()
    );
    assert_eq!(
        net.summary(2).unwrap().routers,
        1,
        "router 2 counts only itself"
    );
}

/// `refusals` on lines from a real i2pd 2.45.1 log: a signature failure that belongs to an
/// i2pd router's update is not ours; the same failure next to our hash is.
#[test]
fn refusal_lines_are_attributed_to_our_hash() {
    let ours = "3GsJ8htywHTE-Sp~WfQu5o8577YmtP-cLG9gj5Wo9PQ=";
    let other = [
        "11:29:40@666/info - NetDb: RouterInfo added: oy5ccmaQpxQwp5R4jKnZEcgF83WNFHT-0nbJX0CINpE=",
        "11:29:40@819/error - RouterInfo: Signature verification failed",
        "11:29:40@819/info - NetDb: RouterInfo updated: oy5ccmaQpxQwp5R4jKnZEcgF83WNFHT-0nbJX0CINpE=",
        "11:29:40@819/info - NetDb: Exploring new 9 routers ...",
    ];
    let log: Vec<String> = other.iter().map(|s| s.to_string()).collect();
    assert!(refusals(&log, ours).is_empty());
    let mut log = log;
    log[2] = format!("11:29:40@819/info - NetDb: RouterInfo updated: {ours}");
    assert_eq!(refusals(&log, ours), vec![log[1].clone()]);
    let deleted = format!(
        "11:22:38@728/warn - NetDb: RI from /tmp/x/r1/netDb/r3/routerInfo-{ours}.dat is invalid \
         or too old. Delete"
    );
    assert_eq!(
        refusals(std::slice::from_ref(&deleted), ours),
        vec![deleted.clone()]
    );
    let netid = "11:22:38@728/error - RouterInfo: Unexpected netId=22".to_string();
    assert_eq!(
        refusals(std::slice::from_ref(&netid), ours),
        vec![netid.clone()]
    );
}
