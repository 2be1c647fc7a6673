//! `i2p-testnet-bench` — issue 10's testnet benchmark: the same five-router network shape run
//! as all-i2pd, all-ours and mixed, one after the other on this machine, measured the same way,
//! printed as a table with the ratio ours/i2pd. Run it with `scripts/bench.sh` (root: every
//! network lives in its own namespace that has only `lo`, as in the e2e tests).
//!
//! Shape (every topology): five routers, three of them floodfills, netId 17, reseeded from a
//! file; an eepsite (an HTTP server tunnel in front of a local file server) on router 4,
//! fetched through router 5's HTTP proxy; client and server tunnels 3 hops and 3 tunnels each
//! way, exploratory tunnels 2 hops and 2 each way; log level info.
//!
//! - `i2pd`: five i2pd routers (the e2e harness's progressive boot, 2 s apart: i2pd 2.45.1 drops
//!   simultaneous SSU2 opens, see e2e/README.md).
//! - `ours`: five of our routers, started together, each reseeded with all five RouterInfos.
//! - `mixed`: i2pd routers 1-3 (two floodfills: the harness makes one router of a net a
//!   non-floodfill), ours as 4 (floodfill, the eepsite) and 5 (the client).
//!
//! Per run: seconds from the first router start to the first 200 through the proxy; resident
//! memory of every router a few seconds later (idle) and after the transfers; a 20 MiB download
//! (checked against its SHA-256) with the CPU seconds all five routers used meanwhile; 200
//! small GETs one after another (p50, p99). Each topology runs `--reps` times (default 3),
//! interleaved (i2pd, ours, mixed, i2pd, ...) so drift of the machine hits all alike; the table
//! shows medians, the ratio is median(ours) / median(i2pd).

// A benchmark driver: a broken setup aborts it with the reason (no router input is parsed here
// beyond what the harness already checks).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use i2p_e2e::http::{self, FileServer, HttpResponse};
use i2p_e2e::process::proc_cpu_seconds;
use i2p_e2e::wait::tail_file;
use i2p_e2e::{I2pdNet, OurRouter, OurRouterConfig, TestEnv};
use sha2::{Digest, Sha256};

const BIG: usize = 20 * 1024 * 1024;
const SMALL_GETS: usize = 200;
const BACKEND_PORT: u16 = 8080;
const OUR_PROXY_PORT: u16 = 4444;
const FIRST_FETCH_LIMIT: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Topology {
    I2pd,
    Ours,
    Mixed,
}

impl Topology {
    fn name(self) -> &'static str {
        match self {
            Topology::I2pd => "i2pd",
            Topology::Ours => "ours",
            Topology::Mixed => "mixed",
        }
    }
}

/// What one run measured; `None` where that step failed (the reason is printed).
#[derive(Debug, Default, Clone)]
struct Run {
    start_to_fetch_s: Option<f64>,
    mib_per_s: Option<f64>,
    cpu_s_per_mib: Option<f64>,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    small_failed: usize,
    rss_idle_mib: Option<f64>,
    rss_after_mib: Option<f64>,
    rss_idle_max_mib: Option<f64>,
    rss_after_max_mib: Option<f64>,
}

/// A running network of one topology: how to reach the eepsite and which processes to measure.
struct Net {
    env: TestEnv,
    proxy: SocketAddr,
    b32: String,
    www: PathBuf,
    started: Instant,
    /// (label, pid) of every router
    pids: Vec<(String, u32)>,
    // kept alive for the run; dropped (processes stopped) at the end
    _i2pd: Option<I2pdNet>,
    _ours: Vec<OurRouter>,
    _backend: Option<FileServer>,
}

impl Net {
    fn get(&self, path: &str, timeout: Duration) -> i2p_e2e::Result<HttpResponse> {
        let proxy = self.proxy;
        let url = format!("http://{}{path}", self.b32);
        let host = self.b32.clone();
        self.env
            .netns()
            .run(move || http::get(proxy, &url, &host, timeout))?
    }

    fn cpu_seconds(&self) -> f64 {
        self.pids
            .iter()
            .map(|(_, pid)| proc_cpu_seconds(*pid).unwrap_or(f64::NAN))
            .sum()
    }

    /// Resident memory of every router in MiB.
    fn rss_mib(&self) -> Vec<f64> {
        self.pids
            .iter()
            .map(|(_, pid)| rss_kib(*pid).map_or(f64::NAN, |k| k as f64 / 1024.0))
            .collect()
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn our_config(i: u8, floodfill: bool) -> OurRouterConfig {
    OurRouterConfig {
        net_id: 17,
        ntcp2_host: Ipv4Addr::new(198, 18, 0, 10 + i),
        ntcp2_port: 12100 + u16::from(i),
        floodfill,
        bandwidth: 'X',
        log_level: "info".into(),
        exploratory_hops: Some(2),
        exploratory_quantity: Some(2),
        shared_client_hops: Some(3),
        shared_client_quantity: Some(3),
        ..Default::default()
    }
}

const SITE_TUNNEL: &str = "tunnels:\n  - name: bench-site\n    type: http\n    target: \
    127.0.0.1:8080\n    inbound_length: 3\n    outbound_length: 3\n    inbound_quantity: 3\n    \
    outbound_quantity: 3\n";

/// Our routers `indexes` (1-based positions in the shape): prepared, RouterInfos written.
fn prepare_ours(env: &TestEnv, indexes: &[(u8, bool)]) -> Vec<(u8, OurRouter, Vec<u8>)> {
    indexes
        .iter()
        .map(|&(i, ff)| {
            let mut cfg = our_config(i, ff);
            if i == 4 {
                cfg.extra_yaml = SITE_TUNNEL.into();
            }
            if i == 5 {
                cfg.http_proxy_port = Some(OUR_PROXY_PORT);
            }
            let mut r = OurRouter::prepare(env, &format!("ours{i}"), cfg).expect("prepare");
            let ri = r
                .generate_router_info(Duration::from_secs(30))
                .expect("router-info");
            (i, r, ri)
        })
        .collect()
}

fn start_ours(routers: &mut [(u8, OurRouter, Vec<u8>)], seed: PathBuf) {
    for (_, r, _) in routers.iter_mut() {
        let mut cfg = r.config().clone();
        cfg.reseed_file = Some(seed.clone());
        std::fs::write(r.config_path(), cfg.to_yaml()).unwrap();
    }
    for (_, r, _) in routers.iter_mut() {
        r.start().expect("start our router");
    }
}

fn our_site_b32(r: &OurRouter) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(b32) = r
            .log_lines_with(&["server tunnel published at", "bench-site"])
            .first()
            .and_then(|l| l.split_whitespace().find(|w| w.ends_with(".b32.i2p")))
        {
            return b32.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no 'server tunnel published at' in our router 4's log:\n{}",
            tail_file(&r.log_path(), 30)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn bring_up(topology: Topology, rep: usize) -> Net {
    let env = TestEnv::new(&format!("bench-{}-{rep}", topology.name())).expect("test env");
    match topology {
        Topology::I2pd => {
            let net = I2pdNet::builder()
                .routers(5)
                .floodfills(3)
                .net_id(17)
                .client_hops(3)
                .exploratory_hops(2)
                .eepsite(true)
                .start(&env)
                .expect("start five i2pd routers");
            let e = net.eepsite().expect("eepsite");
            let pids = net
                .routers()
                .iter()
                .enumerate()
                .map(|(k, r)| (format!("i2pd{}", k + 1), r.pid().expect("i2pd pid")))
                .collect();
            Net {
                env: env.clone(),
                proxy: SocketAddr::from(([127, 0, 0, 1], net.router(5).ports.http_proxy)),
                b32: e.b32.clone(),
                www: e.www.clone(),
                started: net.timings().first_start.expect("first start"),
                pids,
                _i2pd: Some(net),
                _ours: Vec::new(),
                _backend: None,
            }
        }
        Topology::Ours | Topology::Mixed => {
            let www = env.dir().join("www");
            std::fs::create_dir_all(&www).unwrap();
            std::fs::write(
                www.join("index.html"),
                "<html><body><h1>i2p-testnet-bench eepsite</h1></body></html>\n",
            )
            .unwrap();
            let backend = FileServer::start(
                env.netns(),
                SocketAddr::from(([127, 0, 0, 1], BACKEND_PORT)),
                www.clone(),
            )
            .expect("backend");
            let shape: &[(u8, bool)] = if topology == Topology::Ours {
                &[(1, true), (2, true), (3, true), (4, false), (5, false)]
            } else {
                &[(4, true), (5, false)]
            };
            let mut ours = prepare_ours(&env, shape);
            let seed = env.dir().join("seed.zip");
            let (i2pd, started) = if topology == Topology::Ours {
                let infos: Vec<&[u8]> = ours.iter().map(|(_, _, ri)| ri.as_slice()).collect();
                std::fs::write(&seed, i2p_e2e::ident::reseed_zip(&infos).unwrap()).unwrap();
                let started = Instant::now();
                start_ours(&mut ours, seed);
                (None, started)
            } else {
                let mut b = I2pdNet::builder()
                    .routers(3)
                    .floodfills(3)
                    .net_id(17)
                    .client_hops(3)
                    .exploratory_hops(2);
                for (_, _, ri) in &ours {
                    b = b.foreign_router_info(ri.clone(), &[]);
                }
                let net = b.start(&env).expect("start three i2pd routers");
                net.write_reseed_zip(&seed).unwrap();
                start_ours(&mut ours, seed);
                let started = net.timings().first_start.expect("first start");
                (Some(net), started)
            };
            let b32 = our_site_b32(&ours.iter().find(|(i, _, _)| *i == 4).unwrap().1);
            let mut pids: Vec<(String, u32)> = Vec::new();
            if let Some(net) = &i2pd {
                for (k, r) in net.routers().iter().enumerate() {
                    pids.push((format!("i2pd{}", k + 1), r.pid().expect("i2pd pid")));
                }
            }
            for (i, r, _) in &ours {
                pids.push((format!("ours{i}"), r.process().expect("running").pid()));
            }
            Net {
                env: env.clone(),
                proxy: SocketAddr::from(([127, 0, 0, 1], OUR_PROXY_PORT)),
                b32,
                www,
                started,
                pids,
                _i2pd: i2pd,
                _ours: ours.into_iter().map(|(_, r, _)| r).collect(),
                _backend: Some(backend),
            }
        }
    }
}

fn pseudo_random(len: usize, mut x: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        // xorshift64*: incompressible enough that no layer can shortcut it
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

fn mean(v: &[f64]) -> Option<f64> {
    let ok: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    (!ok.is_empty()).then(|| ok.iter().sum::<f64>() / ok.len() as f64)
}

fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().filter(|x| x.is_finite()).reduce(f64::max)
}

fn one_run(topology: Topology, rep: usize, body: &[u8], digest: &[u8]) -> Run {
    let t_setup = Instant::now();
    let net = bring_up(topology, rep);
    let mut run = Run::default();
    let tag = format!("[{} #{rep}]", topology.name());
    println!(
        "{tag} routers running ({:.1} s of setup before the first start measured separately): {}",
        t_setup.elapsed().as_secs_f64() - net.started.elapsed().as_secs_f64(),
        net.pids
            .iter()
            .map(|(l, p)| format!("{l}={p}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    std::fs::write(net.www.join("big.bin"), body).unwrap();

    // 1. start to the first successful fetch
    let mut last = String::new();
    let mut attempts = Vec::new();
    while net.started.elapsed() < FIRST_FETCH_LIMIT {
        let t = net.started.elapsed().as_secs_f64();
        match net.get("/", Duration::from_secs(15)) {
            Ok(r) if r.status == 200 => {
                run.start_to_fetch_s = Some(net.started.elapsed().as_secs_f64());
                break;
            }
            Ok(r) => last = format!("HTTP {}", r.status),
            Err(e) => last = e.to_string(),
        }
        attempts.push(format!(
            "{t:.1}-{:.1} s: {}",
            net.started.elapsed().as_secs_f64(),
            last.chars().take(60).collect::<String>()
        ));
        std::thread::sleep(Duration::from_millis(250));
    }
    if !attempts.is_empty() {
        let n = attempts.len();
        let shown: Vec<&String> = attempts.iter().skip(n.saturating_sub(4)).collect();
        println!("{tag} {n} unsuccessful fetch(es) before, the last ones: {shown:?}");
    }
    if std::env::var_os("I2P_BENCH_KEEP").is_some() {
        net.env.keep_dir();
        println!("{tag} run dir kept: {}", net.env.dir().display());
    }
    let Some(first) = run.start_to_fetch_s else {
        println!(
            "{tag} FAILED: no page within {FIRST_FETCH_LIMIT:?} (last: {last}); run dir kept: {}",
            net.env.dir().display()
        );
        net.env.keep_dir();
        return run;
    };
    println!("{tag} first fetch {first:.1} s after the first router start");

    // 2. idle memory
    std::thread::sleep(Duration::from_secs(5));
    let idle = net.rss_mib();
    run.rss_idle_mib = mean(&idle);
    run.rss_idle_max_mib = max(&idle);

    // 3. 20 MiB with the CPU time of all routers
    let cpu0 = net.cpu_seconds();
    let t0 = Instant::now();
    match net.get("/big.bin", Duration::from_secs(600)) {
        Ok(r)
            if r.status == 200 && r.body.len() == BIG && Sha256::digest(&r.body)[..] == *digest =>
        {
            let secs = t0.elapsed().as_secs_f64();
            let cpu = net.cpu_seconds() - cpu0;
            let mib = BIG as f64 / (1024.0 * 1024.0);
            run.mib_per_s = Some(mib / secs);
            run.cpu_s_per_mib = Some(cpu / mib);
            println!(
                "{tag} 20 MiB in {secs:.1} s = {:.2} MiB/s, {cpu:.1} CPU-s over all routers",
                mib / secs
            );
        }
        Ok(r) => println!(
            "{tag} 20 MiB FAILED: HTTP {}, {} bytes, checksum {}",
            r.status,
            r.body.len(),
            if Sha256::digest(&r.body)[..] == *digest {
                "ok"
            } else {
                "wrong"
            }
        ),
        Err(e) => println!("{tag} 20 MiB FAILED: {e}"),
    }

    // 4. small GETs, one after another
    let mut lat = Vec::with_capacity(SMALL_GETS);
    for _ in 0..SMALL_GETS {
        let t = Instant::now();
        match net.get("/", Duration::from_secs(30)) {
            Ok(r) if r.status == 200 => lat.push(t.elapsed().as_secs_f64() * 1000.0),
            _ => run.small_failed += 1,
        }
    }
    lat.sort_by(f64::total_cmp);
    run.p50_ms = percentile(&lat, 50.0);
    run.p99_ms = percentile(&lat, 99.0);
    println!(
        "{tag} {SMALL_GETS} small GETs: p50 {:.0} ms, p99 {:.0} ms, {} failed",
        run.p50_ms.unwrap_or(f64::NAN),
        run.p99_ms.unwrap_or(f64::NAN),
        run.small_failed
    );

    // 5. memory after the transfers
    let after = net.rss_mib();
    run.rss_after_mib = mean(&after);
    run.rss_after_max_mib = max(&after);
    println!(
        "{tag} RSS per router, idle: {}; after: {} (MiB)",
        fmt_list(&net.pids, &idle),
        fmt_list(&net.pids, &after)
    );
    run
}

fn fmt_list(pids: &[(String, u32)], v: &[f64]) -> String {
    pids.iter()
        .zip(v)
        .map(|((l, _), x)| format!("{l} {x:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn usage() -> ! {
    eprintln!(
        "usage: i2p-testnet-bench [--reps N] [--only i2pd,ours,mixed]\n\
         run as root (network namespaces); scripts/bench.sh builds and runs it"
    );
    std::process::exit(2)
}

fn main() {
    let mut reps = 3usize;
    let mut topologies = vec![Topology::I2pd, Topology::Ours, Topology::Mixed];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => {
                reps = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n >= 1)
                    .unwrap_or_else(|| usage())
            }
            "--only" => {
                let list = args.next().unwrap_or_else(|| usage());
                topologies = list
                    .split(',')
                    .map(|t| match t {
                        "i2pd" => Topology::I2pd,
                        "ours" => Topology::Ours,
                        "mixed" => Topology::Mixed,
                        _ => usage(),
                    })
                    .collect();
            }
            _ => usage(),
        }
    }
    if let Err(e) = i2p_e2e::env::preflight() {
        eprintln!("i2p-testnet-bench: {e}");
        std::process::exit(1);
    }
    println!(
        "i2p-testnet-bench: {} ({}), {reps} rep(s) of {}; our binary {}",
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string())
            )
            .unwrap_or_default(),
        format_args!(
            "{} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        ),
        topologies
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", "),
        OurRouter::binary()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| e.to_string())
    );
    let body = pseudo_random(BIG, 0x9e37_79b9_7f4a_7c15);
    let digest = Sha256::digest(&body).to_vec();
    let t_all = Instant::now();
    let mut results: Vec<(Topology, Run)> = Vec::new();
    for rep in 1..=reps {
        for &t in &topologies {
            let run = one_run(t, rep, &body, &digest);
            results.push((t, run));
        }
    }

    // the table
    type Pick = fn(&Run) -> Option<f64>;
    let rows: [(&str, Pick, bool); 9] = [
        ("start to first fetch (s)", |r| r.start_to_fetch_s, false),
        ("20 MiB throughput (MiB/s)", |r| r.mib_per_s, true),
        ("CPU-s per MiB, all routers", |r| r.cpu_s_per_mib, false),
        (
            "MiB per CPU-second",
            |r| r.cpu_s_per_mib.map(|c| 1.0 / c),
            true,
        ),
        ("small GET p50 (ms)", |r| r.p50_ms, false),
        ("small GET p99 (ms)", |r| r.p99_ms, false),
        ("RSS idle, mean/router (MiB)", |r| r.rss_idle_mib, false),
        ("RSS after, mean/router (MiB)", |r| r.rss_after_mib, false),
        (
            "RSS after, max router (MiB)",
            |r| r.rss_after_max_mib,
            false,
        ),
    ];
    let med = |t: Topology, pick: Pick| {
        median(
            results
                .iter()
                .filter(|(tt, _)| *tt == t)
                .filter_map(|(_, r)| pick(r))
                .collect(),
        )
    };
    let count = |t: Topology, pick: Pick| {
        results
            .iter()
            .filter(|(tt, r)| *tt == t && pick(r).is_some())
            .count()
    };
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.2}"));
    println!(
        "\n==> medians over {reps} rep(s) (n = runs with a value); ratio = ours / i2pd \
         (higher is better for MiB/s and MiB per CPU-second, lower for the rest)"
    );
    let mut header = format!("{:<30}", "figure");
    for t in &topologies {
        header += &format!(" {:>12}", format!("{} (n)", t.name()));
    }
    header += &format!(" {:>10} {:>10}", "ours/i2pd", "mixed/i2pd");
    println!("{header}");
    for (label, pick, _higher_better) in rows {
        let mut line = format!("{label:<30}");
        for &t in &topologies {
            line += &format!(
                " {:>12}",
                format!("{} ({})", cell(med(t, pick)), count(t, pick))
            );
        }
        let ratio = |t: Topology| match (med(t, pick), med(Topology::I2pd, pick)) {
            (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        line += &format!(
            " {:>10} {:>10}",
            ratio(Topology::Ours),
            ratio(Topology::Mixed)
        );
        println!("{line}");
    }
    let failed: usize = results.iter().map(|(_, r)| r.small_failed).sum();
    println!(
        "small GETs failed over all runs: {failed}; total time {:.0} s",
        t_all.elapsed().as_secs_f64()
    );
}
