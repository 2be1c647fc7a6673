//! The simulation at CI size: 100 routers, 5 floodfills, one seed. Asserts the goals of issue
//! 10 (at least 95 % of tunnel builds and 99 % of LeaseSet lookups succeed) and that the
//! network formed at all. One test per file, so the process's memory figures are its own.

use std::time::Duration;

use i2p_sim::scenario::{self, SimConfig};

#[test]
fn hundred_routers_bootstrap_build_tunnels_and_find_lease_sets() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,i2p_sim=info")),
        )
        .with_test_writer()
        .try_init();
    let cfg = SimConfig {
        routers: 100,
        floodfill_percent: 5.0,
        seed: 1,
        join_per_sec: 2.0,
        warmup: Duration::from_secs(10 * 60),
        duration: Duration::from_secs(20 * 60),
        publishers: 20,
        lookups: 200,
        ..SimConfig::default()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let r = scenario::run(&cfg, dir.path()).expect("simulation runs");
    println!("{}", r.table());
    println!("{}", r.to_json());

    assert_eq!(r.router_errors, 0, "a router stopped with an error");
    assert!(
        r.routers_known.p10 >= 50.0,
        "the netDb did not converge: p10 of routers known {}",
        r.routers_known.p10
    );
    assert!(
        r.builds_ok + r.builds_failed >= 100,
        "too few tunnel builds ended in the window to judge: {}",
        r.builds_ok + r.builds_failed
    );
    assert!(
        r.build_success() >= 0.95,
        "tunnel build success {:.1}% < 95%",
        r.build_success() * 100.0
    );
    assert_eq!(
        r.publishers_ready, r.publishers,
        "not every destination got tunnels and a published LeaseSet"
    );
    assert!(r.lookups >= 150, "too few lookups made: {}", r.lookups);
    assert!(
        r.lookup_success() >= 0.99,
        "LeaseSet lookup success {:.1}% < 99%",
        r.lookup_success() * 100.0
    );
    // virtual time really is virtual: 20 minutes must not take 20 minutes
    assert!(
        r.wall_run_secs < r.virtual_secs,
        "the run took {:.0} s for {:.0} virtual s",
        r.wall_run_secs,
        r.virtual_secs
    );
}
