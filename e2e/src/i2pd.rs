//! `I2pdNet`: a private network of real i2pd routers (Debian `i2pd`, 2.45.1 tested) inside a
//! test's namespace, set up the way e2e/README.md describes:
//!
//! 1. **Keys phase.** Every router starts once with an empty netDb until its log says
//!    `Daemon: Transports started` (its `router.info` then has final caps and addresses; the
//!    eepsite router also writes `eepsite.dat`), then gets SIGTERM.
//! 2. **RouterInfo exchange.** Progressive boot (default): router k's netDb gets routers 1..k-1
//!    and routers start `stagger` apart, so nobody dials a router before it is up (i2pd 2.45.1
//!    drops simultaneous SSU2 opens). `Full` gives everyone everything; `Separate` nothing.
//!    Foreign RouterInfos go into the netDb directories chosen by the test.
//! 3. **Run.** Router i listens on 198.18.<octet>.i (i2pd 2.45.1 refuses 127/8 and private
//!    ranges), private netId, no reseed URLs, address book on but inert, `bandwidth = X`.
//!
//! Ports of router i: NTCP2+SSU2 12000+i, console 7070+i, HTTP proxy 4400+i, SOCKS 4500+i,
//! SAM 7600+i (all inside the namespace, so every test can use the same numbers).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::console::{Console, PoolState, Summary, TransportSession};
use crate::env::TestEnv;
use crate::error::{Error, Result};
use crate::http::{self, FileServer};
use crate::ident;
use crate::process::ManagedProcess;
use crate::wait::{Check, tail_file, wait_until};

/// Port of the eepsite backend inside the namespace.
pub const EEPSITE_BACKEND_PORT: u16 = 8080;
/// The eepsite's name in every router's `hosts.txt`.
pub const EEPSITE_HOST: &str = "eepsite.testnet.i2p";

/// How RouterInfos are shared before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot {
    /// Router k knows routers 1..k-1; starts are `stagger` apart.
    Progressive {
        /// Pause between router starts.
        stagger: Duration,
    },
    /// Every router knows every other; all start at once (SSU2 then fails between i2pd 2.45.1
    /// routers and everything runs on NTCP2).
    Full,
    /// Nobody knows anybody (only foreign RouterInfos are installed); all start at once.
    Separate,
}

/// Ports of router `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterPorts {
    /// NTCP2 and SSU2 (tcp and udp) on the router's 198.18 address.
    pub transport: u16,
    /// Web console on 127.0.0.1.
    pub console: u16,
    /// HTTP proxy on 127.0.0.1.
    pub http_proxy: u16,
    /// SOCKS proxy on 127.0.0.1.
    pub socks: u16,
    /// SAM bridge on 127.0.0.1.
    pub sam: u16,
}

impl RouterPorts {
    /// The fixed layout for router `i` (1-based).
    pub fn for_index(i: usize) -> Self {
        let i = u16::try_from(i).unwrap_or(0);
        RouterPorts {
            transport: 12000 + i,
            console: 7070 + i,
            http_proxy: 4400 + i,
            socks: 4500 + i,
            sam: 7600 + i,
        }
    }
}

/// Settings for an [`I2pdNet`]; start it with [`I2pdNetBuilder::start`].
#[derive(Debug, Clone)]
pub struct I2pdNetBuilder {
    routers: usize,
    floodfills: usize,
    net_id: u16,
    third_octet: u8,
    client_hops: u8,
    exploratory_hops: u8,
    boot: Boot,
    eepsite: bool,
    /// eepsite tunnels only through these routers (i2pd `explicitPeers`), with this many hops
    eepsite_through: Option<(Vec<String>, u8)>,
    loglevel: String,
    /// routers left out of the run phase, for [`I2pdNet::start_late`]
    held_back: Vec<usize>,
    foreign: Vec<(Vec<u8>, Vec<usize>)>,
    reseed_zips: Vec<(usize, Vec<u8>)>,
}

impl Default for I2pdNetBuilder {
    fn default() -> Self {
        I2pdNetBuilder {
            routers: 5,
            floodfills: 3,
            net_id: 17,
            third_octet: 0,
            client_hops: 3,
            exploratory_hops: 2,
            boot: Boot::Progressive {
                stagger: Duration::from_secs(2),
            },
            eepsite: false,
            eepsite_through: None,
            loglevel: "info".into(),
            held_back: Vec::new(),
            foreign: Vec::new(),
            reseed_zips: Vec::new(),
        }
    }
}

impl I2pdNetBuilder {
    /// Number of i2pd routers (1..=200).
    pub fn routers(mut self, n: usize) -> Self {
        self.routers = n;
        self
    }
    /// Routers 1..=k are floodfills (capped at n-1 so a non-floodfill client exists).
    pub fn floodfills(mut self, k: usize) -> Self {
        self.floodfills = k;
        self
    }
    /// Private network id (never 2, the real network).
    pub fn net_id(mut self, id: u16) -> Self {
        self.net_id = id;
        self
    }
    /// Router i gets 198.18.`octet`.i.
    pub fn third_octet(mut self, octet: u8) -> Self {
        self.third_octet = octet;
        self
    }
    /// Length of client tunnels (HTTP/SOCKS proxy, SAM, eepsite).
    pub fn client_hops(mut self, hops: u8) -> Self {
        self.client_hops = hops;
        self
    }
    /// Length of exploratory tunnels.
    pub fn exploratory_hops(mut self, hops: u8) -> Self {
        self.exploratory_hops = hops;
        self
    }
    /// How RouterInfos are shared.
    pub fn boot(mut self, boot: Boot) -> Self {
        self.boot = boot;
        self
    }
    /// Build the eepsite's tunnels (both ways) only through `peers` (base64 router hashes,
    /// i2pd's `explicitPeers`), `hops` long (at most `peers.len()`): the way to make traffic
    /// pass a given router.
    pub fn eepsite_through(mut self, peers: Vec<String>, hops: u8) -> Self {
        self.eepsite_through = Some((peers, hops));
        self
    }

    /// Host an eepsite (i2pd `http` server tunnel) on router n-1 with a backend in the namespace.
    pub fn eepsite(mut self, on: bool) -> Self {
        self.eepsite = on;
        self
    }
    /// Leave these routers (1-based) out of the run phase: they get keys and a netDb like the
    /// others but start only with [`I2pdNet::start_late`] (e.g. to publish their RouterInfo to
    /// a floodfill that is running by then).
    pub fn held_back(mut self, routers: &[usize]) -> Self {
        self.held_back = routers.to_vec();
        self
    }

    /// i2pd log level (`info` default; `debug` for handshake detail).
    pub fn loglevel(mut self, level: &str) -> Self {
        self.loglevel = level.to_owned();
        self
    }
    /// Puts a foreign RouterInfo into the netDb directory of `routers` (1-based; empty = all)
    /// before they start.
    pub fn foreign_router_info(mut self, ri: Vec<u8>, routers: &[usize]) -> Self {
        self.foreign.push((ri, routers.to_vec()));
        self
    }
    /// Gives `router` a `reseed.zipfile` with these bytes (see [`ident::reseed_zip`]); i2pd
    /// checks the signature of every RouterInfo that arrives this way.
    pub fn reseed_zip(mut self, router: usize, zip: Vec<u8>) -> Self {
        self.reseed_zips.push((router, zip));
        self
    }

    fn effective_floodfills(&self) -> usize {
        if self.routers <= 1 {
            0
        } else {
            self.floodfills.min(self.routers - 1)
        }
    }

    fn eepsite_router(&self) -> Option<usize> {
        self.eepsite.then_some(if self.routers >= 3 {
            self.routers - 1
        } else {
            1
        })
    }

    /// Creates the routers in `env`'s namespace and starts them (keys phase, exchange, run).
    /// Returns once every router process is running; use the `wait_*` methods for readiness.
    pub fn start(self, env: &TestEnv) -> Result<I2pdNet> {
        if self.net_id == 2 {
            return Err(Error::Environment(
                "netId 2 is the real I2P network; refused".into(),
            ));
        }
        if !(1..=200).contains(&self.routers) {
            return Err(Error::Environment(format!(
                "{} routers: need 1..=200",
                self.routers
            )));
        }
        let mut net = I2pdNet {
            cfg: self,
            routers: Vec::new(),
            eepsite: None,
            timings: Timings::default(),
            env: env.clone(),
        };
        let result = net.bring_up();
        if result.is_err() {
            env.keep_dir();
        }
        result.map(|()| net)
    }
}

/// One i2pd router of the net.
#[derive(Debug)]
pub struct I2pdRouter {
    /// 1-based index.
    pub index: usize,
    /// Data directory (`i2pd.conf`, `i2pd.log`, `netDb/`, keys).
    pub dir: PathBuf,
    /// Its address on the namespace's `lo`.
    pub ip: Ipv4Addr,
    /// Its ports.
    pub ports: RouterPorts,
    /// Floodfill?
    pub floodfill: bool,
    /// Identity hash (known after the keys phase).
    pub hash: [u8; 32],
    process: Option<ManagedProcess>,
}

impl I2pdRouter {
    /// The router's console.
    pub fn console(&self) -> Console {
        Console {
            addr: SocketAddr::from(([127, 0, 0, 1], self.ports.console)),
        }
    }
    /// `i2pd.log` of the current run.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("i2pd.log")
    }
    /// Its netDb directory.
    pub fn netdb_dir(&self) -> PathBuf {
        self.dir.join("netDb")
    }
    /// Its own `router.info`.
    pub fn router_info_path(&self) -> PathBuf {
        self.dir.join("router.info")
    }
    /// Base64 identity hash.
    pub fn hash_b64(&self) -> String {
        ident::base64_i2p(&self.hash)
    }
    /// PID while running.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ManagedProcess::pid)
    }
    /// The managed process, if started.
    pub fn process(&self) -> Option<&ManagedProcess> {
        self.process.as_ref()
    }
    /// Lines of the current `i2pd.log` that contain `needle`.
    pub fn log_lines_containing(&self, needle: &str) -> Vec<String> {
        let text = std::fs::read(self.log_path()).unwrap_or_default();
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

/// The eepsite, if the net has one.
#[derive(Debug)]
pub struct Eepsite {
    /// Router hosting the server tunnel.
    pub router: usize,
    /// `xxx.b32.i2p`.
    pub b32: String,
    /// Files served by the backend (`index.html` is created).
    pub www: PathBuf,
    backend: FileServer,
}

impl Eepsite {
    /// Requests the backend has answered.
    pub fn backend_requests(&self) -> u64 {
        self.backend.served()
    }
}

/// When things happened, relative to the first router's start (run phase).
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Duration of the keys phase.
    pub keys_phase: Duration,
    /// When the first run-phase router was started.
    pub first_start: Option<Instant>,
    /// Start offset of each router (index 0 = router 1).
    pub router_starts: Vec<Duration>,
}

impl Timings {
    /// Time since the first router started.
    pub fn since_first_start(&self) -> Duration {
        self.first_start.map_or(Duration::ZERO, |t| t.elapsed())
    }
}

/// A running net of i2pd routers; every router is stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct I2pdNet {
    cfg: I2pdNetBuilder,
    routers: Vec<I2pdRouter>,
    eepsite: Option<Eepsite>,
    timings: Timings,
    // last: the namespace and run dir outlive the routers and the eepsite backend
    env: TestEnv,
}

impl I2pdNet {
    /// Default settings: 5 routers, 3 floodfills, netId 17, 198.18.0.i, 3 hops, progressive.
    pub fn builder() -> I2pdNetBuilder {
        I2pdNetBuilder::default()
    }

    /// The test environment.
    pub fn env(&self) -> &TestEnv {
        &self.env
    }
    /// All routers.
    pub fn routers(&self) -> &[I2pdRouter] {
        &self.routers
    }
    /// Router `i` (1-based).
    /// A reseed zip of every router's current `router.info`, written to `path` (what our
    /// router reads with `reseed.file` to join this net).
    pub fn write_reseed_zip(&self, path: &Path) -> Result<()> {
        let infos = self
            .routers
            .iter()
            .map(|r| {
                std::fs::read(r.router_info_path())
                    .map_err(|e| Error::io(format!("read {}", r.router_info_path().display()), e))
            })
            .collect::<Result<Vec<Vec<u8>>>>()?;
        let refs: Vec<&[u8]> = infos.iter().map(Vec::as_slice).collect();
        std::fs::write(path, ident::reseed_zip(&refs)?)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))
    }

    pub fn router(&self, i: usize) -> &I2pdRouter {
        &self.routers[i - 1]
    }
    /// The eepsite, if configured.
    pub fn eepsite(&self) -> Option<&Eepsite> {
        self.eepsite.as_ref()
    }
    /// Timings of the bring-up.
    pub fn timings(&self) -> &Timings {
        &self.timings
    }
    /// The network id.
    pub fn net_id(&self) -> u16 {
        self.cfg.net_id
    }
    /// Router index of the client used for eepsite checks (the last router).
    pub fn client_router(&self) -> usize {
        self.routers.len()
    }

    fn ip_of(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, self.cfg.third_octet, u8::try_from(i).unwrap_or(0))
    }

    fn bring_up(&mut self) -> Result<()> {
        let k = self.cfg.effective_floodfills();
        for i in 1..=self.cfg.routers {
            let ip = self.ip_of(i);
            self.env.netns().add_addr(ip)?;
            let dir = self.env.dir().join(format!("r{i}"));
            for sub in ["netDb", "tunnels.d"] {
                std::fs::create_dir_all(dir.join(sub))
                    .map_err(|e| Error::io(format!("create {}/{sub}", dir.display()), e))?;
            }
            self.routers.push(I2pdRouter {
                index: i,
                dir,
                ip,
                ports: RouterPorts::for_index(i),
                floodfill: i <= k,
                hash: [0; 32],
                process: None,
            });
        }
        self.env.netns().verify_isolation()?;
        self.keys_phase()?;
        self.exchange_router_infos()?;
        self.setup_eepsite()?;
        self.run_phase()
    }

    /// Phase 1: every router runs once with an empty netDb until its transports are up (its
    /// router.info then has final caps and addresses; the eepsite router writes eepsite.dat).
    fn keys_phase(&mut self) -> Result<()> {
        let t0 = Instant::now();
        for r in &self.routers {
            write_file(&r.dir.join("hosts.txt"), b"")?;
            write_file(
                &r.dir.join("subscriptions.txt"),
                b"# i2p-e2e testnet: no address book subscriptions\n",
            )?;
        }
        for i in 1..=self.routers.len() {
            self.write_config(i, false)?;
            self.start_router(i)?;
        }
        let eep = self.cfg.eepsite_router();
        for r in &self.routers {
            let log = r.log_path();
            let mut want = vec![r.router_info_path()];
            if eep == Some(r.index) {
                want.push(r.dir.join("eepsite.dat"));
            }
            wait_until(
                &format!(
                    "router {} keys phase (transports started, router.info written)",
                    r.index
                ),
                Duration::from_secs(30),
                || {
                    let log_text = std::fs::read(&log).unwrap_or_default();
                    let started =
                        String::from_utf8_lossy(&log_text).contains("Daemon: Transports started");
                    let missing: Vec<_> = want.iter().filter(|p| !p.is_file()).collect();
                    Ok(if started && missing.is_empty() {
                        Check::Done(())
                    } else {
                        Check::NotYet(format!(
                            "transports started: {started}; missing {missing:?}"
                        ))
                    })
                },
                || tail_file(&log, 20),
            )?;
        }
        std::thread::sleep(Duration::from_millis(500));
        self.stop_all();
        for r in &mut self.routers {
            let _ = std::fs::rename(r.log_path(), r.dir.join("i2pd.keys-phase.log"));
            r.hash = ident::ident_hash(&read_file(&r.router_info_path())?)?;
        }
        self.timings.keys_phase = t0.elapsed();
        Ok(())
    }

    /// Phase 2: fresh netDb directories filled according to the boot mode, plus foreign
    /// RouterInfos and reseed zips.
    fn exchange_router_infos(&mut self) -> Result<()> {
        let n = self.routers.len();
        let ris: Vec<Vec<u8>> = self
            .routers
            .iter()
            .map(|r| read_file(&r.router_info_path()))
            .collect::<Result<_>>()?;
        for r in &self.routers {
            let netdb = r.netdb_dir();
            for stale in [netdb.clone(), r.dir.join("peerProfiles")] {
                if stale.exists() {
                    std::fs::remove_dir_all(&stale)
                        .map_err(|e| Error::io(format!("clear {}", stale.display()), e))?;
                }
            }
            std::fs::create_dir_all(&netdb)
                .map_err(|e| Error::io(format!("create {}", netdb.display()), e))?;
            let known: Vec<usize> = match self.cfg.boot {
                Boot::Progressive { .. } => (1..r.index).collect(),
                Boot::Full => (1..=n).filter(|&j| j != r.index).collect(),
                Boot::Separate => Vec::new(),
            };
            for j in known {
                ident::install_into_netdb(&netdb, &ris[j - 1])?;
            }
            for (ri, targets) in &self.cfg.foreign {
                if targets.is_empty() || targets.contains(&r.index) {
                    ident::install_into_netdb(&netdb, ri)?;
                }
            }
        }
        for (router, zip) in &self.cfg.reseed_zips {
            let r = self.routers.get(router.wrapping_sub(1)).ok_or_else(|| {
                Error::Environment(format!("reseed zip for router {router}, net has {n}"))
            })?;
            write_file(&r.dir.join("reseed.zip"), zip)?;
        }
        Ok(())
    }

    /// The eepsite's name in every hosts.txt and its backend inside the namespace.
    fn setup_eepsite(&mut self) -> Result<()> {
        let Some(e) = self.cfg.eepsite_router() else {
            return Ok(());
        };
        let keys = read_file(&self.routers[e - 1].dir.join("eepsite.dat"))?;
        let dest = ident::destination_b64(&keys)?;
        for r in &self.routers {
            write_file(
                &r.dir.join("hosts.txt"),
                format!("{EEPSITE_HOST}={dest}\n").as_bytes(),
            )?;
        }
        let www = self.env.dir().join("www");
        std::fs::create_dir_all(&www).map_err(|e| Error::io("create www", e))?;
        write_file(
            &www.join("index.html"),
            format!("<html><body><h1>i2p-e2e eepsite</h1><p>router {e}</p></body></html>\n")
                .as_bytes(),
        )?;
        let backend = FileServer::start(
            self.env.netns(),
            SocketAddr::from(([127, 0, 0, 1], EEPSITE_BACKEND_PORT)),
            www.clone(),
        )?;
        self.eepsite = Some(Eepsite {
            router: e,
            b32: ident::b32_address(&keys)?,
            www,
            backend,
        });
        Ok(())
    }

    /// Phase 3: the real run; progressive boot spaces the starts.
    fn run_phase(&mut self) -> Result<()> {
        let n = self.routers.len();
        let first = Instant::now();
        self.timings.first_start = Some(first);
        for i in 1..=n {
            self.write_config(i, true)?;
            if self.cfg.held_back.contains(&i) {
                continue;
            }
            let this_start = first.elapsed();
            self.timings.router_starts.push(this_start);
            self.start_router(i)?;
            if let (Boot::Progressive { stagger }, true) = (self.cfg.boot, i < n) {
                // start-to-start spacing (start_router itself waits for the pidfile)
                std::thread::sleep((this_start + stagger).saturating_sub(first.elapsed()));
            }
        }
        std::thread::sleep(Duration::from_secs(1));
        self.ensure_running()
    }

    /// Start a router held back by [`I2pdNetBuilder::held_back`] with a netDb directory holding
    /// exactly the RouterInfos of routers `known` (1-based) and `extra`.
    pub fn start_late(&mut self, i: usize, known: &[usize], extra: &[&[u8]]) -> Result<()> {
        if !(1..=self.routers.len()).contains(&i)
            || !self.cfg.held_back.contains(&i)
            || self.routers[i - 1].process.is_some()
        {
            return Err(Error::Environment(format!(
                "router {i} was not held back or already runs"
            )));
        }
        let netdb = self.routers[i - 1].netdb_dir();
        std::fs::remove_dir_all(&netdb)
            .map_err(|e| Error::io(format!("clear {}", netdb.display()), e))?;
        std::fs::create_dir_all(&netdb)
            .map_err(|e| Error::io(format!("create {}", netdb.display()), e))?;
        for &j in known {
            let r = self
                .routers
                .get(j.wrapping_sub(1))
                .ok_or_else(|| Error::Environment(format!("router {j} is not in the net")))?;
            ident::install_into_netdb(&netdb, &read_file(&r.router_info_path())?)?;
        }
        for ri in extra {
            ident::install_into_netdb(&netdb, ri)?;
        }
        self.start_router(i)
    }

    fn start_router(&mut self, i: usize) -> Result<()> {
        let i2pd = self.env.preflight().i2pd.clone();
        let netns = self.env.netns();
        let r = &mut self.routers[i - 1];
        let conf = r.dir.join("i2pd.conf");
        let pidfile = r.dir.join("i2pd.pid");
        let _ = std::fs::remove_file(&pidfile);
        let mut cmd = netns.command(&i2pd);
        cmd.arg(format!("--datadir={}", r.dir.display()))
            .arg(format!("--conf={}", conf.display()));
        let mut p = netns.spawn(
            format!("i2pd r{i}"),
            cmd,
            format!("--conf={}", conf.display()),
            &r.dir.join("stdout.log"),
        )?;
        // i2pd writes its own getpid() to the pidfile: it must be the PID we track
        let pid = p.pid();
        let seen = wait_until(
            &format!("i2pd r{i} pidfile"),
            Duration::from_secs(10),
            || {
                p.ensure_running()?;
                Ok(match std::fs::read_to_string(&pidfile) {
                    Ok(s) if !s.trim().is_empty() => Check::Done(s.trim().to_owned()),
                    _ => Check::NotYet("no pidfile yet".into()),
                })
            },
            || tail_file(&r.dir.join("i2pd.log"), 10),
        )?;
        if seen != pid.to_string() {
            return Err(Error::Environment(format!(
                "i2pd r{i}: we started pid {pid} but i2pd.pid says {seen}; refusing to track an \
                 unknown process"
            )));
        }
        r.process = Some(p);
        Ok(())
    }

    fn write_config(&self, i: usize, run_phase: bool) -> Result<()> {
        let c = &self.cfg;
        let r = &self.routers[i - 1];
        let d = r.dir.display();
        let p = r.ports;
        let (ip, ff, hops, ehops) = (r.ip, r.floodfill, c.client_hops, c.exploratory_hops);
        let zip = r.dir.join("reseed.zip");
        let zipfile = if run_phase && c.reseed_zips.iter().any(|(j, _)| *j == i) {
            format!("zipfile = {}\n", zip.display())
        } else {
            String::new()
        };
        let conf = format!(
            "# generated by i2p-e2e: router {i} of {n}, floodfill={ff}\n\
log = file\nlogfile = {d}/i2pd.log\nloglevel = {lvl}\n\
tunconf = {d}/tunnels.conf\ntunnelsdir = {d}/tunnels.d\ncertsdir = /usr/share/i2pd/certificates\n\
pidfile = {d}/i2pd.pid\ndaemon = false\nservice = false\n\n\
# private network: own netId, addresses only on the namespace's lo\n\
netid = {netid}\nipv4 = true\nipv6 = false\nhost = {ip}\naddress4 = {ip}\nport = {tp}\n\
nat = false\nreservedrange = false\nfloodfill = {ff}\n\
# X: a non-floodfill defaults to L (48 KB/s) and then refuses transit tunnels under load\n\
bandwidth = X\nshare = 100\nnotransit = false\n\n\
[ntcp2]\nenabled = true\npublished = true\nport = {tp}\n\n\
[ssu2]\nenabled = true\npublished = true\nport = {tp}\nmtu4 = 1500\n\n\
[limits]\ntransittunnels = 2000\n\n\
[exploratory]\ninbound.length = {ehops}\noutbound.length = {ehops}\ninbound.quantity = 2\noutbound.quantity = 2\n\n\
[http]\nenabled = true\naddress = 127.0.0.1\nport = {cp}\nauth = false\nstrictheaders = false\n\n\
[httpproxy]\nenabled = true\naddress = 127.0.0.1\nport = {hp}\nkeys = transient-httpproxy\n\
inbound.length = {hops}\noutbound.length = {hops}\ninbound.quantity = 3\noutbound.quantity = 3\n\
addresshelper = true\noutproxy =\n\n\
[socksproxy]\nenabled = true\naddress = 127.0.0.1\nport = {sp}\nkeys = transient-socksproxy\n\
inbound.length = {hops}\noutbound.length = {hops}\ninbound.quantity = 3\noutbound.quantity = 3\n\
outproxy.enabled = false\n\n\
[sam]\nenabled = true\naddress = 127.0.0.1\nport = {samp}\nsinglethread = true\n\n\
[i2cp]\nenabled = false\n\n[bob]\nenabled = false\n\n[i2pcontrol]\nenabled = false\n\n\
[upnp]\nenabled = false\n\n\
[nettime]\nenabled = false\nfrompeers = false\nntpservers =\n\n\
[reseed]\nverify = false\nurls =\nyggurls =\nthreshold = 25\n{zipfile}\n\
# The address book stays enabled: with enabled=false i2pd 2.45.1 segfaults on SAM NAMING LOOKUP.\n\
# An EMPTY subscriptions/defaulturl kills i2pd 3 minutes after start (std::out_of_range), so\n\
# these are unresolvable placeholders; subscriptions.txt (comment only) and hosts.txt take over.\n\
[addressbook]\nenabled = true\ndefaulturl = http://none.invalid/hosts.txt\n\
subscriptions = http://none.invalid/hosts.txt\n\n\
[meshnets]\nyggdrasil = false\n\n[persist]\nprofiles = false\naddressbook = false\n\n\
[trust]\nenabled = false\n\n[precomputation]\nelgamal = false\n",
            n = c.routers,
            lvl = c.loglevel,
            netid = c.net_id,
            tp = p.transport,
            cp = p.console,
            hp = p.http_proxy,
            sp = p.socks,
            samp = p.sam,
        );
        write_file(&r.dir.join("i2pd.conf"), conf.as_bytes())?;
        let tunnels = if c.eepsite_router() == Some(i) {
            let (hops, explicit) = match &c.eepsite_through {
                Some((peers, n)) => (*n, format!("explicitPeers = {}\n", peers.join(","))),
                None => (hops, String::new()),
            };
            format!(
                "[eepsite]\ntype = http\nhost = 127.0.0.1\nport = {EEPSITE_BACKEND_PORT}\n\
                 keys = eepsite.dat\ninbound.length = {hops}\noutbound.length = {hops}\n\
                 inbound.quantity = 3\noutbound.quantity = 3\n{explicit}"
            )
        } else {
            String::new()
        };
        write_file(&r.dir.join("tunnels.conf"), tunnels.as_bytes())
    }

    /// SIGTERM to every router at once, then wait for each (SIGKILL after the timeout).
    pub fn stop_all(&mut self) {
        for r in &self.routers {
            if let Some(pid) = r.pid().and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
        for r in &mut self.routers {
            if let Some(mut p) = r.process.take() {
                p.stop();
            }
        }
    }

    /// Stops router `i` (SIGTERM, then SIGKILL).
    pub fn stop_router(&mut self, i: usize) {
        if let Some(mut p) = self.routers[i - 1].process.take() {
            p.stop();
        }
    }

    /// Errors if any router process has exited.
    pub fn ensure_running(&self) -> Result<()> {
        for r in &self.routers {
            if let Some(p) = r.process.as_ref().filter(|p| !p.alive()) {
                return Err(Error::ProcessExited {
                    name: p.name().to_owned(),
                    pid: p.pid(),
                    status: "exited".into(),
                    diagnostics: format!(
                        "{}{}",
                        tail_file(p.log_path(), 5),
                        tail_file(&r.log_path(), 15)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Runs `f` with every router's console, on one thread inside the namespace.
    pub fn with_consoles<T: Send>(
        &self,
        f: impl FnOnce(&[(usize, Console)]) -> T + Send,
    ) -> Result<T> {
        let consoles: Vec<(usize, Console)> = self
            .routers
            .iter()
            .map(|r| (r.index, r.console()))
            .collect();
        self.env.netns().run(move || f(&consoles))
    }

    /// Console summary of every router (errors per router, e.g. console not up yet).
    pub fn summaries(&self) -> Result<Vec<Result<Summary>>> {
        self.with_consoles(|cs| cs.iter().map(|(_, c)| c.summary()).collect())
    }

    /// Console summary of router `i`.
    pub fn summary(&self, i: usize) -> Result<Summary> {
        let c = self.router(i).console();
        self.env.netns().run(move || c.summary())?
    }

    /// Established transport sessions of router `i`.
    pub fn transports(&self, i: usize) -> Result<Vec<TransportSession>> {
        let c = self.router(i).console();
        self.env.netns().run(move || c.transports())?
    }

    /// The pool of client tunnel `name` on router `i`.
    pub fn pool(&self, i: usize, name: &str) -> Result<Option<PoolState>> {
        let c = self.router(i).console();
        self.env.netns().run(move || c.pool(name))?
    }

    /// Per-router state for a failure message: process, console summary, transports, log tail.
    pub fn diagnostics(&self) -> String {
        let mut out = format!(
            "i2pd net in namespace {} (run dir {}), {} since first router start\n",
            self.env.netns().name(),
            self.env.dir().display(),
            format_duration(self.timings.since_first_start()),
        );
        let states = self
            .with_consoles(|cs| {
                cs.iter()
                    .map(|(_, c)| {
                        let s = c
                            .summary()
                            .map_or_else(|e| format!("console: {e}"), |s| s.to_string());
                        let t = c.transports().map_or_else(
                            |e| format!("transports: {e}"),
                            |t| {
                                t.iter()
                                    .map(|s| format!("{}:{}", s.transport, s.peer_hash_prefix))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            },
                        );
                        (s, t)
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for (k, r) in self.routers.iter().enumerate() {
            let alive = match r.pid() {
                Some(pid) if crate::process::proc_cmdline(pid).is_some() => format!("pid {pid}"),
                Some(pid) => format!("pid {pid} GONE"),
                None => "not running".into(),
            };
            let _ = writeln!(
                out,
                "r{} {}:{} {} hash {} {}",
                r.index,
                r.ip,
                r.ports.transport,
                if r.floodfill { "ff" } else { "  " },
                r.hash_b64().get(..8).unwrap_or(""),
                alive
            );
            if let Some((s, t)) = states.get(k) {
                let _ = writeln!(out, "   {s}\n   sessions: {t}");
            }
            out.push_str(&tail_file(&r.log_path(), 8));
        }
        out
    }

    /// Waits until every router's console counts at least `expected(i)` routers in its netDb.
    pub fn wait_router_counts(
        &self,
        what: &str,
        timeout: Duration,
        expected: impl Fn(usize) -> u32,
    ) -> Result<Vec<Summary>> {
        let n = self.routers.len();
        let result = wait_until(
            what,
            timeout,
            || {
                self.ensure_running()?;
                let sums = self.summaries()?;
                let mut lagging = Vec::new();
                let mut ok = Vec::new();
                for (k, s) in sums.into_iter().enumerate() {
                    match s {
                        Ok(s) if s.routers >= expected(k + 1) => ok.push(s),
                        Ok(s) => lagging.push(format!("r{} knows {}", k + 1, s.routers)),
                        Err(e) => lagging.push(format!("r{}: {e}", k + 1)),
                    }
                }
                Ok(if ok.len() == n {
                    Check::Done(ok)
                } else {
                    Check::NotYet(lagging.join(", "))
                })
            },
            || self.diagnostics(),
        );
        if result.is_err() {
            self.env.keep_dir();
        }
        result
    }

    /// Waits until every router knows every router of the net (console count >= n: i2pd counts
    /// itself, see [`Summary::routers`]).
    pub fn wait_all_know_each_other(&self, timeout: Duration) -> Result<Vec<Summary>> {
        let all = u32::try_from(self.routers.len()).unwrap_or(0);
        self.wait_router_counts("every i2pd router to know all others", timeout, |_| all)
    }

    /// Waits until the HTTP proxy pool of every router has an established inbound and outbound
    /// client tunnel (i2pd's own readiness; its 1-hop bootstrap tunnels do not count).
    pub fn wait_client_tunnels(&self, timeout: Duration) -> Result<()> {
        let result = wait_until(
            "HTTP proxy client tunnels on every router",
            timeout,
            || {
                self.ensure_running()?;
                let pools = self.with_consoles(|cs| {
                    cs.iter()
                        .map(|(_, c)| c.pool("HTTP Proxy"))
                        .collect::<Vec<_>>()
                })?;
                let waiting: Vec<String> = pools
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| !matches!(p, Ok(Some(p)) if p.ready()))
                    .map(|(k, p)| format!("r{}: {p:?}", k + 1))
                    .collect();
                Ok(if waiting.is_empty() {
                    Check::Done(())
                } else {
                    Check::NotYet(waiting.join("; "))
                })
            },
            || self.diagnostics(),
        );
        if result.is_err() {
            self.env.keep_dir();
        }
        result
    }

    /// GET `path` on the eepsite through router `client`'s HTTP proxy, once.
    pub fn eepsite_get(&self, client: usize, path: &str) -> Result<http::HttpResponse> {
        self.eepsite_get_within(client, path, Duration::from_secs(60))
    }

    /// As [`I2pdNet::eepsite_get`], giving up after `timeout` (for big files).
    pub fn eepsite_get_within(
        &self,
        client: usize,
        path: &str,
        timeout: Duration,
    ) -> Result<http::HttpResponse> {
        let e = self
            .eepsite
            .as_ref()
            .ok_or_else(|| Error::Environment("the net has no eepsite".into()))?;
        let proxy = SocketAddr::from(([127, 0, 0, 1], self.router(client).ports.http_proxy));
        let url = format!("http://{}{path}", e.b32);
        let host = e.b32.clone();
        self.env
            .netns()
            .run(move || http::get(proxy, &url, &host, timeout))?
    }

    /// Waits until the eepsite answers 200 through the last router's HTTP proxy (its LeaseSet is
    /// published only once its own pool is ready, so tunnels-ready is not enough).
    pub fn wait_eepsite_reachable(&self, timeout: Duration) -> Result<http::HttpResponse> {
        let client = self.client_router();
        let result = wait_until(
            "eepsite reachable through the client router's HTTP proxy",
            timeout,
            || {
                self.ensure_running()?;
                Ok(match self.eepsite_get(client, "/") {
                    Ok(r) if r.status == 200 => Check::Done(r),
                    Ok(r) => Check::NotYet(format!("HTTP {}: {}", r.status, strip_tags(&r.text()))),
                    Err(e) => Check::NotYet(e.to_string()),
                })
            },
            || self.diagnostics(),
        );
        if result.is_err() {
            self.env.keep_dir();
        }
        result
    }
}

impl Drop for I2pdNet {
    fn drop(&mut self) {
        self.stop_all();
    }
}

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
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

/// `12.3s`.
pub fn format_duration(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).map_err(|e| Error::io(format!("write {}", path.display()), e))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("read {}", path.display()), e))
}
