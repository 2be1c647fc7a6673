//! Issue acceptance (tunnels, item 1): our router keeps at least 2 inbound and 2 outbound
//! exploratory tunnels of length 2 through i2pd hops for 10 minutes — longer than one tunnel
//! lifetime, so every tunnel is replaced at least once — and prints its build success rate,
//! which must be at least 80 % over those 10 minutes (the rate since start, ramp-up included,
//! is printed too: the first builds meet i2pd routers that are still forming their net).
//!
//! 5 i2pd routers (3 floodfills) and ours, reseeded with all five RouterInfos. Our router
//! builds with its default exploratory settings (2 hops, 3 tunnels each way) and
//! `router.distinct_subnets: false` (every test router is in 198.18.0.0/15). The router logs
//! "tunnel pool changed" with its live counts whenever they change; the test reads the counts
//! from the moment both reach 2 until 10.5 minutes later and requires the minimum to stay at
//! 2 or more. Its tunnel tests (a DeliveryStatus out through each outbound tunnel and back in
//! through an inbound one, i.e. through four i2pd hops) must pass, which shows the tunnels
//! carry data and not only that i2pd accepted the build.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use i2p_e2e::ident;
use i2p_e2e::wait::{Check, tail_file, wait_until};
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};

/// The window in which the pool must never drop below two tunnels each way: one tunnel
/// lifetime (600 s) plus the replacement margin.
const WINDOW: Duration = Duration::from_secs(630);

/// `key=value` from a log line (the first one).
fn field(line: &str, key: &str) -> Option<u64> {
    let pat = format!("{key}=");
    let at = line.find(&pat)? + pat.len();
    let digits: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn live_counts(lines: &[String]) -> Vec<(u64, u64)> {
    lines
        .iter()
        .filter_map(|l| Some((field(l, "live_in")?, field(l, "live_out")?)))
        .collect()
}

#[test]
fn our_router_keeps_exploratory_tunnels_through_i2pd() {
    let env = TestEnv::new("tunnels").expect("e2e environment");
    let net = I2pdNet::builder()
        .routers(5)
        .floodfills(3)
        .net_id(17)
        .start(&env)
        .expect("start 5 i2pd routers");
    let seed = {
        let infos: Vec<Vec<u8>> = (1..=5)
            .map(|i| std::fs::read(net.router(i).router_info_path()).expect("i2pd router.info"))
            .collect();
        let refs: Vec<&[u8]> = infos.iter().map(Vec::as_slice).collect();
        let path = env.dir().join("seed.zip");
        std::fs::write(&path, ident::reseed_zip(&refs).unwrap()).unwrap();
        path
    };
    let mut ours = OurRouter::prepare(
        &env,
        "ours",
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 30),
            ntcp2_port: 12130,
            floodfill: false,
            reseed_file: Some(seed),
            ..Default::default()
        },
    )
    .unwrap();
    let started = Instant::now();
    ours.start().expect("start our router");
    let log = ours.log_path();
    let diagnostics = || tail_file(&log, 40);
    let changes = || ours.log_lines_with(&["tunnel pool changed"]);

    // ramp-up: both directions at 2 or more
    let ready_index = wait_until(
        "two inbound and two outbound tunnels",
        Duration::from_secs(240),
        || {
            let lines = changes();
            let counts = live_counts(&lines);
            Ok(match counts.iter().position(|&(i, o)| i >= 2 && o >= 2) {
                Some(k) => Check::Done(k),
                None => Check::NotYet(format!(
                    "live (in, out) so far: {:?}; builds: {} built, {} timed out, {} declined",
                    counts.last(),
                    ours.log_lines_with(&["tunnel built"]).len(),
                    ours.log_lines_with(&["tunnel build timed out"]).len(),
                    ours.log_lines_with(&["tunnel build declined"]).len(),
                )),
            })
        },
        diagnostics,
    )
    .unwrap();
    let ramp = started.elapsed();
    println!(
        "2 inbound + 2 outbound exploratory tunnels {:.1} s after our start",
        ramp.as_secs_f64()
    );
    // build outcomes so far: the first builds go out while the i2pd routers are still forming
    // their own net (CI run on 1f6bd02: the four builds of the very first batch, 30 s in, all
    // timed out), so the rate asserted below is the one of the window, with steady peers
    let ended_builds = || {
        let built = ours.log_lines_with(&["tunnel built"]).len();
        let timed_out = ours.log_lines_with(&["tunnel build timed out"]).len();
        let declined = ours.log_lines_with(&["tunnel build declined"]).len();
        let unreadable = ours
            .log_lines_with(&["tunnel build reply unreadable"])
            .len();
        (built, timed_out, declined, unreadable)
    };
    let at_ready = ended_builds();
    let built_at_ready = at_ready.0;

    // hold for a full rotation, checking as we go so a collapse fails early
    let window_start = Instant::now();
    let mut min = (u64::MAX, u64::MAX);
    while window_start.elapsed() < WINDOW {
        std::thread::sleep(Duration::from_secs(5));
        let counts = live_counts(&changes());
        for &(i, o) in counts.iter().skip(ready_index) {
            min = (min.0.min(i), min.1.min(o));
        }
        assert!(
            min.0 >= 2 && min.1 >= 2,
            "the pool fell to {} inbound / {} outbound tunnels {:.0} s into the window\n{}",
            min.0,
            min.1,
            window_start.elapsed().as_secs_f64(),
            diagnostics()
        );
        net.ensure_running().expect("every i2pd router still runs");
    }

    let (built, timed_out, declined, unreadable) = ended_builds();
    let ended = built + timed_out + declined + unreadable;
    let rate = built as f64 / ended.max(1) as f64;
    let window_built = built - at_ready.0;
    let window_ended = ended - (at_ready.0 + at_ready.1 + at_ready.2 + at_ready.3);
    let window_rate = window_built as f64 / window_ended.max(1) as f64;
    let passed = ours.log_lines_with(&["tunnel test passed"]).len();
    let failed = ours.log_lines_with(&["tunnel test failed"]).len();
    let dropped = ours
        .log_lines_with(&["tunnel dropped after failed tests"])
        .len();
    println!(
        "{:.0} s window: live tunnels never below {} inbound / {} outbound; {} tunnels built \
         ({} during the window), {} timed out, {} declined, {} unreadable replies: build \
         success {:.1} % overall, {:.1} % in the window ({} of {}); tunnel tests {} passed, {} \
         failed; {} tunnels dropped after failed tests",
        WINDOW.as_secs_f64(),
        min.0,
        min.1,
        built,
        built - built_at_ready,
        timed_out,
        declined,
        unreadable,
        rate * 100.0,
        window_rate * 100.0,
        window_built,
        window_ended,
        passed,
        failed,
        dropped
    );
    assert!(
        built > built_at_ready + 4,
        "a full rotation must have replaced the first tunnels ({built_at_ready} built before \
         the window, {built} after)"
    );
    assert!(
        window_rate >= 0.8,
        "build success in the window {:.1} % ({window_built} of {window_ended}) is below 80 %",
        window_rate * 100.0
    );
    assert!(
        passed > 0,
        "no tunnel test came back through our tunnels\n{}",
        diagnostics()
    );

    // the build results per peer outlive the process: saved at shutdown (0600), loaded again
    ours.stop();
    let file = ours.dir().join("tunnel-profiles.txt");
    let text = std::fs::read_to_string(&file).expect("tunnel-profiles.txt after shutdown");
    let peers = text.lines().filter(|l| !l.starts_with('#')).count();
    assert!(peers >= 2, "profiles of at least two hops:\n{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "tunnel-profiles.txt mode");
    std::thread::sleep(Duration::from_secs(2));
    ours.start().expect("restart our router");
    let loaded = wait_until(
        "the profiles to be loaded after a restart",
        Duration::from_secs(30),
        || {
            let l = ours.log_lines_with(&["tunnel peer profiles loaded"]);
            Ok(match l.last() {
                Some(l) => Check::Done(field(l, "peers").unwrap_or(0)),
                None => Check::NotYet("not yet".into()),
            })
        },
        diagnostics,
    )
    .unwrap();
    println!("{peers} peer profiles saved at shutdown, {loaded} loaded at restart");
    assert_eq!(loaded as usize, peers);
}
