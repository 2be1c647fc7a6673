//! The bootstrap scenario: `routers` routers, `floodfill_percent` of them floodfills, all
//! reseeding from one seed router, on a [`VirtualNet`] and one virtual clock. After a warm-up,
//! some routers publish a destination and others look its LeaseSet up. The [`Report`] has the
//! tunnel build success rate, the LeaseSet lookup success and latency (virtual time), the
//! messages per router, and the wall-clock time and memory of the whole run.
//!
//! Everything runs on one `current_thread` runtime with tokio's time paused: time only moves
//! when every task waits, straight to the next timer, so CPU work takes no virtual time and
//! only timers and link latency advance the clock. The runtime has no IO driver, so a real
//! socket or signal anywhere in the router would panic at once instead of leaking out.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant as WallInstant};

use i2p_client::{DestinationSpec, LocalDestination, TunnelOptions};
use i2p_router::config::{Config, NetId, PortSetting};
use i2p_router::identity::{Ntcp2Keys, RouterKeys};
use i2p_router::ops::Snapshot;
use i2p_router::run::{Env, Identity, RouterHandles, run_router};
use i2p_transport::env::{TransportEnv, virtual_clock};
use i2p_wire::Hash;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::net::{LinkModel, VirtualNet};

/// 2026-01-01T00:30:00Z: a run of a few hours does not cross the daily routing-key change.
pub const DEFAULT_EPOCH_MS: u64 = 1_767_227_400_000;
/// Every router listens on this port of its own address.
const PORT: u16 = 12345;
/// A network ID of our own (never 2).
const NET_ID: u8 = 99;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub routers: usize,
    /// share of floodfills in percent (the seed is one of them)
    pub floodfill_percent: f64,
    /// seeds identities, floodfill choice, link latencies and scenario choices
    pub seed: u64,
    /// routers started per virtual second after the seed
    pub join_per_sec: f64,
    /// virtual time from the start to the destinations and the measurement window
    pub warmup: Duration,
    /// routers that publish a destination at the end of the warm-up
    pub publishers: usize,
    /// LeaseSet lookups by other routers, spread over `lookup_spread` once the destinations
    /// are ready
    pub lookups: usize,
    pub lookup_spread: Duration,
    /// virtual length of the whole run
    pub duration: Duration,
    /// hops of the destinations' tunnels
    pub dest_hops: u8,
    pub epoch_ms: u64,
    pub link: LinkModel,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            routers: 1000,
            floodfill_percent: 5.0,
            seed: 1,
            join_per_sec: 10.0,
            warmup: Duration::from_secs(10 * 60),
            publishers: 100,
            lookups: 1000,
            lookup_spread: Duration::from_secs(5 * 60),
            duration: Duration::from_secs(25 * 60),
            dest_hops: 2,
            epoch_ms: DEFAULT_EPOCH_MS,
            link: LinkModel::default(),
        }
    }
}

/// Distribution of a figure over routers or events.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dist {
    pub count: usize,
    pub mean: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Dist {
    pub fn of(mut v: Vec<f64>) -> Dist {
        if v.is_empty() {
            return Dist::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Dist {
            count: v.len(),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p10: at(0.10),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub routers: usize,
    pub floodfills: usize,
    pub seed: u64,
    /// virtual seconds simulated
    pub virtual_secs: f64,
    /// wall-clock seconds: setup (identities), the run, all
    pub wall_setup_secs: f64,
    pub wall_run_secs: f64,
    /// resident memory of the process (kB) at the end of the warm-up, at the end, and peak
    pub rss_warmup_kib: u64,
    pub rss_end_kib: u64,
    pub rss_peak_kib: u64,
    /// tunnel builds that ended (succeeded, declined, timed out, unreadable reply) inside the
    /// measurement window [warm-up, end], all pools of all routers
    pub builds_ok: u64,
    pub builds_failed: u64,
    /// the same over the whole run, from the start
    pub builds_ok_total: u64,
    pub builds_failed_total: u64,
    /// builds not started for lack of suitable peers, whole run
    pub builds_no_peers: u64,
    pub publishers: usize,
    pub publishers_ready: usize,
    /// virtual ms from creating a destination to its LeaseSet being published
    pub ready_ms: Dist,
    pub lookups: usize,
    pub lookups_ok: usize,
    /// virtual ms per successful lookup
    pub lookup_ms: Dist,
    /// I2NP messages in + out per router per virtual minute over the window
    pub msgs_per_min_floodfill: Dist,
    pub msgs_per_min_other: Dist,
    /// routers each router knows at the end
    pub routers_known: Dist,
    /// NTCP2 sessions per router at the end
    pub sessions_floodfill: Dist,
    pub sessions_other: Dist,
    /// connections refused at the session limit or the per-IP handshake limit
    pub accepts_refused: u64,
    pub dials: u64,
    pub dials_refused: u64,
    /// messages the transports dropped: queue full, peer unreachable (whole run)
    pub dropped_full: u64,
    pub dropped_unreachable: u64,
    /// build requests our transit refused (whole run)
    pub transit_rejected: u64,
    /// routers whose task ended with an error
    pub router_errors: usize,
}

impl Report {
    /// Tunnel build success in the window (0–1; 0 when none ended).
    pub fn build_success(&self) -> f64 {
        ratio(self.builds_ok, self.builds_ok + self.builds_failed)
    }

    pub fn build_success_total(&self) -> f64 {
        ratio(
            self.builds_ok_total,
            self.builds_ok_total + self.builds_failed_total,
        )
    }

    /// LeaseSet lookup success (0–1; 0 when none were made).
    pub fn lookup_success(&self) -> f64 {
        ratio(self.lookups_ok as u64, self.lookups as u64)
    }

    /// A human-readable table.
    pub fn table(&self) -> String {
        let d = |d: &Dist| {
            format!(
                "mean {:.1}  p10 {:.1}  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (n={})",
                d.mean, d.p10, d.p50, d.p90, d.p99, d.max, d.count
            )
        };
        let mut t = String::new();
        let mut line = |k: &str, v: String| {
            t.push_str(&format!("{k:<34} {v}\n"));
        };
        line(
            "routers (floodfills)",
            format!("{} ({}), seed {}", self.routers, self.floodfills, self.seed),
        );
        line(
            "virtual time",
            format!(
                "{:.0} s ({:.1} min)",
                self.virtual_secs,
                self.virtual_secs / 60.0
            ),
        );
        line(
            "wall clock",
            format!(
                "{:.1} s (setup {:.1} s, run {:.1} s); {:.1}x real time",
                self.wall_setup_secs + self.wall_run_secs,
                self.wall_setup_secs,
                self.wall_run_secs,
                self.virtual_secs / self.wall_run_secs.max(1e-9)
            ),
        );
        line(
            "memory (RSS)",
            format!(
                "{:.0} MiB after warm-up, {:.0} MiB at the end, peak {:.0} MiB ({:.0} KiB/router)",
                self.rss_warmup_kib as f64 / 1024.0,
                self.rss_end_kib as f64 / 1024.0,
                self.rss_peak_kib as f64 / 1024.0,
                self.rss_peak_kib as f64 / self.routers.max(1) as f64
            ),
        );
        line(
            "tunnel builds, window",
            format!(
                "{:.1}% of {} ended ({} ok, {} failed)",
                self.build_success() * 100.0,
                self.builds_ok + self.builds_failed,
                self.builds_ok,
                self.builds_failed
            ),
        );
        line(
            "tunnel builds, whole run",
            format!(
                "{:.1}% of {} ended; {} not started for lack of peers",
                self.build_success_total() * 100.0,
                self.builds_ok_total + self.builds_failed_total,
                self.builds_no_peers
            ),
        );
        line(
            "destinations ready",
            format!("{} of {}", self.publishers_ready, self.publishers),
        );
        line("  time to ready (virtual ms)", d(&self.ready_ms));
        line(
            "LeaseSet lookups",
            format!(
                "{:.1}% of {} found",
                self.lookup_success() * 100.0,
                self.lookups
            ),
        );
        line("  latency (virtual ms)", d(&self.lookup_ms));
        line(
            "messages/router/min, floodfill",
            d(&self.msgs_per_min_floodfill),
        );
        line("messages/router/min, other", d(&self.msgs_per_min_other));
        line("routers known per router", d(&self.routers_known));
        line("sessions per floodfill", d(&self.sessions_floodfill));
        line("sessions per other router", d(&self.sessions_other));
        line(
            "connections",
            format!(
                "{} dials, {} refused by the network, {} refused at limits",
                self.dials, self.dials_refused, self.accepts_refused
            ),
        );
        line(
            "messages dropped",
            format!(
                "{} at full queues, {} to unreachable peers; {} transit requests refused",
                self.dropped_full, self.dropped_unreachable, self.transit_rejected
            ),
        );
        line(
            "routers that stopped with an error",
            self.router_errors.to_string(),
        );
        t
    }

    /// The report as a JSON object.
    pub fn to_json(&self) -> String {
        let d = |d: &Dist| {
            format!(
                "{{\"count\":{},\"mean\":{:.3},\"p10\":{:.3},\"p50\":{:.3},\"p90\":{:.3},\"p99\":{:.3},\"max\":{:.3}}}",
                d.count, d.mean, d.p10, d.p50, d.p90, d.p99, d.max
            )
        };
        format!(
            concat!(
                "{{\"routers\":{},\"floodfills\":{},\"seed\":{},\"virtual_secs\":{:.1},",
                "\"wall_setup_secs\":{:.2},\"wall_run_secs\":{:.2},\"rss_warmup_kib\":{},",
                "\"rss_end_kib\":{},\"rss_peak_kib\":{},\"builds_ok\":{},\"builds_failed\":{},",
                "\"build_success\":{:.4},\"builds_ok_total\":{},\"builds_failed_total\":{},",
                "\"builds_no_peers\":{},\"publishers\":{},\"publishers_ready\":{},",
                "\"ready_ms\":{},\"lookups\":{},\"lookups_ok\":{},\"lookup_success\":{:.4},",
                "\"lookup_ms\":{},\"msgs_per_min_floodfill\":{},\"msgs_per_min_other\":{},",
                "\"routers_known\":{},\"sessions_floodfill\":{},\"sessions_other\":{},",
                "\"accepts_refused\":{},\"dials\":{},\"dials_refused\":{},\"dropped_full\":{},",
                "\"dropped_unreachable\":{},\"transit_rejected\":{},\"router_errors\":{}}}"
            ),
            self.routers,
            self.floodfills,
            self.seed,
            self.virtual_secs,
            self.wall_setup_secs,
            self.wall_run_secs,
            self.rss_warmup_kib,
            self.rss_end_kib,
            self.rss_peak_kib,
            self.builds_ok,
            self.builds_failed,
            self.build_success(),
            self.builds_ok_total,
            self.builds_failed_total,
            self.builds_no_peers,
            self.publishers,
            self.publishers_ready,
            d(&self.ready_ms),
            self.lookups,
            self.lookups_ok,
            self.lookup_success(),
            d(&self.lookup_ms),
            d(&self.msgs_per_min_floodfill),
            d(&self.msgs_per_min_other),
            d(&self.routers_known),
            d(&self.sessions_floodfill),
            d(&self.sessions_other),
            self.accepts_refused,
            self.dials,
            self.dials_refused,
            self.dropped_full,
            self.dropped_unreachable,
            self.transit_rejected,
            self.router_errors
        )
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// `VmRSS` and `VmHWM` of this process in kB (0 where /proc is not there).
pub fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The address of router `i`: in 240.0.0.0/4 (reserved, never routed), each router in its own
/// /16 so the one-router-per-/16 tunnel rule stays meaningful. 4096 routers at most.
pub fn router_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        240 + u8::try_from(i / 256).unwrap_or(15).min(15),
        u8::try_from(i % 256).unwrap_or(0),
        0,
        1,
    ))
}

/// Longest run (virtual time).
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Most routers one run can address.
pub const MAX_ROUTERS: usize = 4096;

struct Node {
    ip: IpAddr,
    floodfill: bool,
    config: Config,
    identity: Option<Identity>,
}

fn router_config(ip: IpAddr, floodfill: bool, seed_file: &Path) -> Config {
    let mut c = Config::default();
    if let Some(id) = NetId::new(NET_ID) {
        c.network.net_id = id;
    }
    c.router.floodfill = floodfill;
    c.ntcp2.host = Some(ip);
    c.ntcp2.port = PortSetting::Fixed(NonZeroU16::MIN.saturating_add(PORT - 1));
    c.reseed.file = Some(seed_file.to_path_buf());
    c.reseed.urls = None;
    c
}

/// A bare zip with one `routerInfo-<b64>.dat` (what a reseed from a file accepts).
fn write_seed_zip(path: &Path, hash: &Hash, ri: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut z = zip::ZipWriter::new(file);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file(format!("routerInfo-{}.dat", hash.to_base64()), opts)
        .map_err(|e| e.to_string())?;
    z.write_all(ri).map_err(|e| e.to_string())?;
    z.finish().map_err(|e| e.to_string())?;
    Ok(())
}

/// Run the scenario. `work_dir` holds the seed's reseed zip (nothing else is written).
pub fn run(cfg: &SimConfig, work_dir: &Path) -> Result<Report, String> {
    if cfg.routers < 2 || cfg.routers > MAX_ROUTERS {
        return Err(format!("routers must be 2..={MAX_ROUTERS}"));
    }
    if cfg.warmup >= cfg.duration {
        return Err("the warm-up must be shorter than the run".into());
    }
    if cfg.duration > MAX_DURATION || cfg.lookup_spread > MAX_DURATION {
        return Err("a run is at most 7 virtual days".into());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let seed_file = work_dir.join("seed.zip");
    let result = rt.block_on(run_async(cfg.clone(), seed_file));
    // the routers' tasks are dropped with the runtime
    drop(rt);
    result
}

async fn run_async(cfg: SimConfig, seed_file: PathBuf) -> Result<Report, String> {
    let wall_start = WallInstant::now();
    let clock = virtual_clock(cfg.epoch_ms);
    let start = Instant::now();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let net = VirtualNet::new(cfg.seed, cfg.link);

    // identities and roles
    let floodfills = ((cfg.routers as f64 * cfg.floodfill_percent / 100.0).round() as usize)
        .clamp(1, cfg.routers);
    let mut order: Vec<usize> = (1..cfg.routers).collect();
    shuffle(&mut order, &mut rng);
    let ff_set: std::collections::HashSet<usize> = std::iter::once(0)
        .chain(order.iter().copied().take(floodfills - 1))
        .collect();
    let mut nodes = Vec::with_capacity(cfg.routers);
    for i in 0..cfg.routers {
        let mut r96 = [0u8; 96];
        rng.fill_bytes(&mut r96);
        let mut r48 = [0u8; 48];
        rng.fill_bytes(&mut r48);
        let keys = RouterKeys::from_random(&r96).map_err(|e| e.to_string())?;
        let ntcp2 = Ntcp2Keys::from_random(&r48);
        let ip = router_ip(i);
        let floodfill = ff_set.contains(&i);
        let config = router_config(ip, floodfill, &seed_file);
        let port = NonZeroU16::new(PORT).ok_or("port")?;
        nodes.push(Node {
            ip,
            floodfill,
            config,
            identity: Some(Identity { keys, ntcp2, port }),
        });
    }
    // the seed's RouterInfo is the whole reseed bundle
    {
        let seed = &nodes[0];
        let id = seed.identity.as_ref().ok_or("seed identity")?;
        let ri = i2p_router::router_info::build(
            &seed.config,
            &id.keys,
            &id.ntcp2,
            id.port,
            clock().as_millis(),
        )
        .map_err(|e| e.to_string())?;
        write_seed_zip(&seed_file, &id.keys.hash(), &ri)?;
    }
    let wall_setup = wall_start.elapsed();
    let wall_run_start = WallInstant::now();
    info!(
        routers = cfg.routers,
        floodfills,
        setup_ms = wall_setup.as_millis(),
        "simulation: identities made"
    );

    // a watchdog: virtual time must keep moving (a livelock would hang the run instead)
    let virtual_ms = Arc::new(AtomicU64::new(0));
    let stop_watchdog = Arc::new(std::sync::atomic::AtomicBool::new(false));
    spawn_watchdog(virtual_ms.clone(), stop_watchdog.clone());
    {
        let virtual_ms = virtual_ms.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(1));
            let wall = WallInstant::now();
            loop {
                t.tick().await;
                let v = start.elapsed();
                virtual_ms.store(
                    u64::try_from(v.as_millis()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                if v.as_secs().is_multiple_of(60) && v.as_secs() > 0 {
                    info!(
                        virtual_min = v.as_secs() / 60,
                        wall_s = wall.elapsed().as_secs(),
                        rss_mib = memory_kib().0 / 1024,
                        "simulation: progress"
                    );
                }
            }
        });
    }

    // start the routers: the seed, then the others at join_per_sec
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles: Vec<Option<RouterHandles>> = Vec::with_capacity(cfg.routers);
    let mut tasks = Vec::with_capacity(cfg.routers);
    let gap = Duration::from_secs_f64(1.0 / cfg.join_per_sec.max(0.001));
    for (i, node) in nodes.iter_mut().enumerate() {
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        let Some(id) = node.identity.take() else {
            continue;
        };
        let config = node.config.clone();
        let env_transport = TransportEnv {
            network: net.host(node.ip),
            clock: clock.clone(),
        };
        let mut stop = stop_rx.clone();
        let (tx, rx) = oneshot::channel();
        tasks.push(tokio::spawn(async move {
            let env = Env {
                transport: env_transport,
                data_dir: None,
                frontends: false,
            };
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            run_router(&config, id, env, None, shutdown, Some(tx)).await
        }));
        handles.push(rx.await.ok());
    }
    info!(
        virtual_s = start.elapsed().as_secs(),
        "simulation: all routers started"
    );

    // warm-up
    tokio::time::sleep_until(start + cfg.warmup).await;
    let (rss_warmup, _) = memory_kib();
    let base: Vec<Snapshot> = handles.iter().map(snapshot).collect();
    info!(rss_mib = rss_warmup / 1024, "simulation: warm-up over");

    // destinations on non-floodfill routers
    let others: Vec<usize> = (0..cfg.routers).filter(|i| !nodes[*i].floodfill).collect();
    let mut pick = others.clone();
    shuffle(&mut pick, &mut rng);
    let publishers: Vec<usize> = pick.iter().copied().take(cfg.publishers).collect();
    let mut dest_tasks = Vec::new();
    for &p in &publishers {
        let Some(h) = handles[p].clone() else {
            continue;
        };
        let spec = DestinationSpec {
            keys: None,
            tunnels: TunnelOptions {
                inbound_length: cfg.dest_hops,
                outbound_length: cfg.dest_hops,
                ..TunnelOptions::default()
            },
            publish: true,
            nickname: format!("sim-{p}"),
        };
        dest_tasks.push(tokio::spawn(async move {
            use i2p_client::Client as _;
            let t0 = Instant::now();
            let d = h.client.create_destination(spec).await.ok()?;
            let ok = tokio::time::timeout(Duration::from_secs(300), d.ready()).await;
            let ready = matches!(ok, Ok(Ok(()))).then(|| t0.elapsed());
            Some((d, ready))
        }));
    }
    let mut dests: Vec<(usize, Arc<dyn LocalDestination>)> = Vec::new();
    let mut ready_ms = Vec::new();
    for (t, &p) in dest_tasks.into_iter().zip(&publishers) {
        if let Ok(Some((d, ready))) = t.await {
            if let Some(r) = ready {
                ready_ms.push(r.as_secs_f64() * 1000.0);
            }
            dests.push((p, d));
        }
    }
    let publishers_ready = ready_ms.len();
    info!(
        ready = publishers_ready,
        of = publishers.len(),
        virtual_s = start.elapsed().as_secs(),
        "simulation: destinations"
    );

    // lookups: distinct (router, destination) pairs, the router neither a floodfill nor the host
    let ready_dests: Vec<(usize, Hash)> = dests
        .iter()
        .filter(|(_, d)| d.is_ready())
        .map(|(p, d)| (*p, d.destination().hash()))
        .collect();
    let mut lookup_tasks = Vec::new();
    let mut pairs = std::collections::HashSet::new();
    let spread_ms = u64::try_from(cfg.lookup_spread.as_millis())
        .unwrap_or(1)
        .max(1);
    let lookup_start = Instant::now();
    if !ready_dests.is_empty() {
        let mut tries = 0;
        while lookup_tasks.len() < cfg.lookups && tries < cfg.lookups * 20 {
            tries += 1;
            let (host, key) = ready_dests[rng.random_range(0..ready_dests.len())];
            let r = others[rng.random_range(0..others.len())];
            if r == host || !pairs.insert((r, key)) {
                continue;
            }
            let Some(h) = handles[r].clone() else {
                continue;
            };
            let at = lookup_start + Duration::from_millis(rng.random_range(0..spread_ms));
            lookup_tasks.push(tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                let t0 = Instant::now();
                // the netDb checked the LeaseSet against the key when it stored it
                let ok = h.netdb.lookup_lease_set(key).await.is_some();
                if !ok {
                    warn!(router = r, %key, ms = t0.elapsed().as_millis(), "simulation: LeaseSet lookup failed");
                }
                (ok, t0.elapsed())
            }));
        }
    }
    let lookups = lookup_tasks.len();
    let mut lookup_ms = Vec::new();
    for t in lookup_tasks {
        if let Ok((true, dt)) = t.await {
            lookup_ms.push(dt.as_secs_f64() * 1000.0);
        }
    }
    info!(
        found = lookup_ms.len(),
        of = lookups,
        virtual_s = start.elapsed().as_secs(),
        "simulation: lookups"
    );

    // run to the end, then measure
    tokio::time::sleep_until(start + cfg.duration).await;
    let end: Vec<Snapshot> = handles.iter().map(snapshot).collect();
    let (rss_end, rss_peak) = memory_kib();
    // the lookups may have run past the planned end
    let window_min = (start.elapsed().saturating_sub(cfg.warmup)).as_secs_f64() / 60.0;
    let mut report = Report {
        routers: cfg.routers,
        floodfills,
        seed: cfg.seed,
        virtual_secs: start.elapsed().as_secs_f64(),
        wall_setup_secs: wall_setup.as_secs_f64(),
        wall_run_secs: wall_run_start.elapsed().as_secs_f64(),
        rss_warmup_kib: rss_warmup,
        rss_end_kib: rss_end,
        rss_peak_kib: rss_peak,
        publishers: publishers.len(),
        publishers_ready,
        ready_ms: Dist::of(ready_ms),
        lookups,
        lookups_ok: lookup_ms.len(),
        lookup_ms: Dist::of(lookup_ms),
        ..Report::default()
    };
    let (mut msgs_ff, mut msgs_other, mut known, mut sess_ff, mut sess_other) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, (b, e)) in base.iter().zip(&end).enumerate() {
        report.builds_ok +=
            (e.builds_ok + e.client_builds_ok).saturating_sub(b.builds_ok + b.client_builds_ok);
        report.builds_failed += (e.builds_failed + e.client_builds_failed)
            .saturating_sub(b.builds_failed + b.client_builds_failed);
        report.builds_ok_total += e.builds_ok + e.client_builds_ok;
        report.builds_failed_total += e.builds_failed + e.client_builds_failed;
        report.builds_no_peers += e.builds_no_peers;
        let msgs = (e.messages_in + e.messages_out).saturating_sub(b.messages_in + b.messages_out)
            as f64
            / window_min;
        known.push(e.routers as f64);
        if nodes[i].floodfill {
            msgs_ff.push(msgs);
            sess_ff.push(e.peers as f64);
        } else {
            msgs_other.push(msgs);
            sess_other.push(e.peers as f64);
        }
        report.transit_rejected += e.transit_rejected;
        if let Some(h) = &handles[i] {
            let st = h.transport.stats();
            report.accepts_refused += st.accepts_refused.load(Ordering::Relaxed);
            report.dropped_full += st.dropped_full.load(Ordering::Relaxed);
            report.dropped_unreachable += st.dropped_unreachable.load(Ordering::Relaxed);
        }
    }
    report.msgs_per_min_floodfill = Dist::of(msgs_ff);
    report.msgs_per_min_other = Dist::of(msgs_other);
    report.routers_known = Dist::of(known);
    report.sessions_floodfill = Dist::of(sess_ff);
    report.sessions_other = Dist::of(sess_other);
    let ns = net.stats();
    report.dials = ns.dials;
    report.dials_refused = ns.refused;

    // stop every router; the ones that already ended count as errors
    let _ = stop_tx.send(true);
    drop(dests);
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(30), t).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                warn!(error = %e, "simulation: a router stopped with an error");
                report.router_errors += 1;
            }
            _ => {}
        }
    }
    stop_watchdog.store(true, Ordering::Relaxed);
    report.wall_run_secs = wall_run_start.elapsed().as_secs_f64();
    Ok(report)
}

fn snapshot(h: &Option<RouterHandles>) -> Snapshot {
    h.as_ref().map(|h| h.ops.snapshot()).unwrap_or_default()
}

fn shuffle<T>(v: &mut [T], rng: &mut StdRng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// Abort with a message when virtual time stands still for 300 real seconds (a task that is
/// never idle stops tokio from advancing paused time: the run would hang, not fail).
fn spawn_watchdog(virtual_ms: Arc<AtomicU64>, stop: Arc<std::sync::atomic::AtomicBool>) {
    std::thread::spawn(move || {
        let mut last = (virtual_ms.load(Ordering::Relaxed), WallInstant::now());
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_secs(1));
            let now = virtual_ms.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, WallInstant::now());
            } else if last.1.elapsed() > Duration::from_secs(300) {
                eprintln!(
                    "i2p-sim: virtual time stuck at {} ms for 300 s of real time (a livelock: some task never waits); aborting",
                    now
                );
                std::process::abort();
            }
        }
    });
}
