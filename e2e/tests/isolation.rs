//! Network safety of the harness itself: the namespace holds only `lo` and no route leaves it,
//! every process the harness started lives in that namespace (and every process in the
//! namespace was started and recorded by the harness), harness threads that enter it really are
//! in it, and the isolation check does fire when a namespace is not isolated.

// Test code: helpers outside #[test] fns panic on failure, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use i2p_e2e::process::{REGISTRY_ROOT, proc_netns_inode};
use i2p_e2e::{I2pdNet, Netns, TestEnv};

fn recorded_pids(netns: &Netns) -> BTreeSet<u32> {
    let dir = std::path::Path::new(REGISTRY_ROOT)
        .join(netns.name())
        .join("procs");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect()
}

fn pids_inside(netns: &Netns) -> BTreeSet<u32> {
    let out = Command::new("ip")
        .args(["netns", "pids", netns.name()])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

#[test]
fn isolation() {
    let env = TestEnv::new("isolation").expect("e2e environment");
    let netns = env.netns();
    let net = I2pdNet::builder()
        .routers(3)
        .floodfills(2)
        .net_id(19)
        .third_octet(2)
        .eepsite(true)
        .start(&env)
        .expect("start 3 i2pd routers");
    net.wait_all_know_each_other(Duration::from_secs(90))
        .expect("routers meet");

    // Only lo, every route through lo, no default route (checked again now that routers run
    // and addresses were added).
    let report = netns.verify_isolation().expect("isolated");
    assert_eq!(report.links, ["lo"]);
    assert!(
        report.routes.iter().all(|r| r.contains(" dev lo")),
        "{:?}",
        report.routes
    );
    for ip in netns.addrs() {
        assert_eq!(ip.octets()[..3], [198, 18, 2], "{ip}");
    }

    // Every recorded PID is in the namespace, and nothing else is.
    let host_ns = proc_netns_inode(std::process::id()).unwrap();
    assert_ne!(host_ns, netns.inode());
    let recorded = recorded_pids(netns);
    let routers: BTreeSet<u32> = net.routers().iter().filter_map(|r| r.pid()).collect();
    assert_eq!(routers.len(), 3);
    assert_eq!(recorded, routers, "registry vs running routers");
    for &pid in &recorded {
        assert_eq!(proc_netns_inode(pid).unwrap(), netns.inode(), "pid {pid}");
        let cmdline = i2p_e2e::process::proc_cmdline(pid).unwrap();
        assert!(
            cmdline.starts_with("/usr/sbin/i2pd ") || cmdline.contains("i2pd "),
            "{cmdline}"
        );
    }
    assert_eq!(
        pids_inside(netns),
        recorded,
        "processes inside the namespace vs recorded"
    );

    // A harness thread that enters the namespace is in it; the calling thread is not.
    let inode = netns.run(proc_self_thread_ns).unwrap();
    assert_eq!(inode, netns.inode());
    assert_eq!(proc_self_thread_ns(), host_ns);
    // ... and so are async tasks run there: router 1's console answers a tokio connection.
    let console = net.router(1).console().addr;
    let (inode, connected) = netns
        .run_async(|| async move {
            let c = tokio::net::TcpStream::connect(console).await;
            (proc_self_thread_ns(), c.is_ok())
        })
        .unwrap();
    assert_eq!((inode, connected), (netns.inode(), true));

    // The eepsite backend listens inside the namespace only: a request from a namespace thread
    // reaches it, one from the host namespace does not (whatever else may answer there).
    let backend = net.eepsite().unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], i2p_e2e::i2pd::EEPSITE_BACKEND_PORT));
    let before = backend.backend_requests();
    let inside = netns
        .run(move || i2p_e2e::http::get(addr, "/", "backend", Duration::from_secs(5)))
        .unwrap()
        .expect("backend answers inside");
    assert_eq!(inside.status, 200);
    assert_eq!(backend.backend_requests(), before + 1);
    let _ = i2p_e2e::http::get(addr, "/", "backend", Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        backend.backend_requests(),
        before + 1,
        "host-side request reached the backend"
    );
}

const SWEEP_CHILD_ENV: &str = "I2P_E2E_SWEEP_CHILD_OUT";

/// Helper run as a separate process by `sweep_cleans_up_after_a_killed_owner`: it creates a
/// namespace, starts a recorded process in it, reports both and waits to be SIGKILLed.
#[test]
#[ignore = "helper process for sweep_cleans_up_after_a_killed_owner"]
fn sweep_helper_owner() {
    let out = std::env::var(SWEEP_CHILD_ENV).expect("run by the sweep test");
    let env = TestEnv::new("sweep-helper").unwrap();
    let tag = format!("987.{}", std::process::id());
    let mut cmd = env.netns().command("sleep");
    cmd.arg(&tag);
    let p = env
        .netns()
        .spawn("sleep", cmd, tag.clone(), &env.dir().join("sleep.log"))
        .unwrap();
    std::fs::write(
        &out,
        format!(
            "{} {} {tag} {}\n",
            env.netns().name(),
            p.pid(),
            env.dir().display()
        ),
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(300));
}

/// A test process killed with SIGKILL cannot clean up; the next harness start must: the dead
/// owner's namespace is deleted and its recorded process stopped.
#[test]
fn sweep_cleans_up_after_a_killed_owner() {
    let env = TestEnv::new("sweep").expect("e2e environment");
    let out = env.dir().join("child.out");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "sweep_helper_owner", "--nocapture"])
        .env(SWEEP_CHILD_ENV, &out)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !out.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&out).expect("helper reported its namespace");
    let mut words = text.split_whitespace();
    let (ns, pid, tag) = (
        words.next().unwrap(),
        words.next().unwrap(),
        words.next().unwrap(),
    );
    // the helper's run dir is only ours to delete (a killed run's dir is kept for debugging)
    let helper_dir = words.next().unwrap();
    assert!(helper_dir.contains("i2pe2e-sweep-helper-"));
    std::fs::remove_dir_all(helper_dir).unwrap();
    let pid: u32 = pid.parse().unwrap();
    assert!(
        i2p_e2e::process::list_harness_namespaces()
            .iter()
            .any(|n| n == ns)
    );
    assert!(
        i2p_e2e::process::proc_cmdline(pid).unwrap().contains(tag),
        "helper's sleep runs"
    );

    let report = i2p_e2e::process::sweep_stale();
    assert!(
        report.namespaces_deleted.iter().any(|n| n == ns),
        "{report:?}"
    );
    assert!(
        report.processes_stopped.iter().any(|(p, _)| *p == pid),
        "{report:?}"
    );
    assert!(
        !i2p_e2e::process::list_harness_namespaces()
            .iter()
            .any(|n| n == ns)
    );
    assert!(!std::path::Path::new(REGISTRY_ROOT).join(ns).exists());
    // Our own (live) namespace was not touched.
    assert!(
        i2p_e2e::process::list_harness_namespaces()
            .iter()
            .any(|n| n == env.netns().name())
    );
    // the helper's sleep was reparented, so it may linger as a zombie; it must not run
    let still = i2p_e2e::process::proc_cmdline(pid).is_some_and(|c| c.contains(tag));
    assert!(!still, "recorded process still running after the sweep");
}

fn proc_self_thread_ns() -> u64 {
    let link = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    let s = link.to_string_lossy().into_owned();
    s.trim_start_matches("net:[")
        .trim_end_matches(']')
        .parse()
        .unwrap()
}

/// The check must be able to fail: a link other than lo, or a route not through lo, is refused.
#[test]
fn isolation_check_refuses_leaky_namespaces() {
    let env = TestEnv::new("isolation-neg").expect("e2e environment");
    let netns = env.netns();
    netns
        .verify_isolation()
        .expect("fresh namespace is isolated");

    // An unreachable route (no device): harmless, but not "via lo", so refused.
    let ip = |args: &[&str]| {
        let out = Command::new("ip")
            .arg("-n")
            .arg(netns.name())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ip(&["route", "add", "unreachable", "198.19.77.0/24"]);
    let err = netns
        .verify_isolation()
        .expect_err("route not via lo must be refused");
    assert!(err.to_string().contains("route not via lo"), "{err}");
    ip(&["route", "del", "unreachable", "198.19.77.0/24"]);
    netns.verify_isolation().expect("isolated again");

    // A veth pair with both ends inside the namespace: it connects nothing outside, but it is a
    // second link, so refused.
    ip(&[
        "link", "add", "e2ea", "type", "veth", "peer", "name", "e2eb",
    ]);
    let err = netns
        .verify_isolation()
        .expect_err("extra links must be refused");
    assert!(err.to_string().contains("expected only lo"), "{err}");
    ip(&["link", "del", "e2ea"]);
    netns.verify_isolation().expect("isolated again");

    // Addresses outside 198.18.0.0/15 and 127/8 are refused before `ip` is run.
    assert!(netns.add_addr("10.1.2.3".parse().unwrap()).is_err());
    assert!(netns.add_addr("192.168.0.1".parse().unwrap()).is_err());
    assert!(netns.addrs().is_empty());
}
