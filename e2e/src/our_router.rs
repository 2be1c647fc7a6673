//! `OurRouter`: our `i2p-router` binary as a managed process inside a test's namespace, with its
//! own data directory, YAML config (keys as in `router/node/config/default.yaml`) and an address
//! from 198.18.0.0/15 on the namespace's `lo`.
//!
//! The binary is `$I2P_ROUTER_BIN`, else `i2p-router` next to the test executable
//! (`target/<profile>/i2p-router`; test executables live in `target/<profile>/deps/`).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::env::TestEnv;
use crate::error::{Error, Result};
use crate::process::ManagedProcess;
use crate::wait::{Check, tail_file, wait_until};

/// Settings written to our router's YAML config.
#[derive(Debug, Clone)]
pub struct OurRouterConfig {
    /// `network.net_id`.
    pub net_id: u16,
    /// `ntcp2.host`: the published (and bound) address; put on the namespace's `lo`.
    pub ntcp2_host: Ipv4Addr,
    /// `ntcp2.port`.
    pub ntcp2_port: u16,
    /// `router.floodfill`.
    pub floodfill: bool,
    /// `router.bandwidth` (class letter).
    pub bandwidth: char,
    /// `log.level`.
    pub log_level: String,
    /// `reseed.file`: a zip or SU3 of RouterInfos read when the netDb is small.
    pub reseed_file: Option<PathBuf>,
    /// `router.distinct_subnets`: off by default here, because every test router lives in
    /// 198.18.0.0/15 and a tunnel could otherwise never have two hops.
    pub distinct_subnets: bool,
    /// `exploratory.inbound_length` and `outbound_length`; `None` keeps the router's default.
    pub exploratory_hops: Option<u8>,
    /// `exploratory.inbound_quantity` and `outbound_quantity`; `None` keeps the default.
    pub exploratory_quantity: Option<u8>,
    /// `sam.port` (the bridge is enabled on 127.0.0.1 with `udp_port` one below); `None`
    /// turns SAM off (the router's default is on at 7656).
    pub sam_port: Option<u16>,
    /// `http_proxy.port` on 127.0.0.1; `None` turns the HTTP proxy off (the router's default
    /// is on at 4444).
    pub http_proxy_port: Option<u16>,
    /// `socks_proxy.port` on 127.0.0.1; `None` turns the SOCKS proxy off.
    pub socks_port: Option<u16>,
    /// `shared_client` tunnel lengths (both directions); `None` keeps the default.
    pub shared_client_hops: Option<u8>,
    /// `shared_client` tunnel quantities (both directions); `None` keeps the default.
    pub shared_client_quantity: Option<u8>,
    /// `dns.port` on 127.0.0.1; `None` turns the DNS server off (the router's default is on
    /// at 5353).
    pub dns_port: Option<u16>,
    /// `ops.port` on 127.0.0.1; `None` turns the operator endpoints off (the router's default
    /// is on at 7070).
    pub ops_port: Option<u16>,
    /// YAML appended at the end (e.g. a `tunnels:` list).
    pub extra_yaml: String,
}

impl Default for OurRouterConfig {
    fn default() -> Self {
        OurRouterConfig {
            net_id: 17,
            ntcp2_host: Ipv4Addr::new(198, 18, 1, 10),
            ntcp2_port: 12110,
            floodfill: false,
            bandwidth: 'X',
            log_level: "debug".into(),
            reseed_file: None,
            distinct_subnets: false,
            exploratory_hops: None,
            exploratory_quantity: None,
            sam_port: None,
            http_proxy_port: None,
            socks_port: None,
            shared_client_hops: None,
            shared_client_quantity: None,
            dns_port: None,
            ops_port: None,
            extra_yaml: String::new(),
        }
    }
}

impl OurRouterConfig {
    /// The YAML text.
    pub fn to_yaml(&self) -> String {
        let section = |name: &str, hops: Option<u8>, quantity: Option<u8>| {
            let mut s = String::new();
            if let Some(n) = hops {
                s += &format!("  inbound_length: {n}\n  outbound_length: {n}\n");
            }
            if let Some(n) = quantity {
                s += &format!("  inbound_quantity: {n}\n  outbound_quantity: {n}\n");
            }
            if s.is_empty() {
                s
            } else {
                format!("{name}:\n{s}")
            }
        };
        let exploratory = section(
            "exploratory",
            self.exploratory_hops,
            self.exploratory_quantity,
        );
        let sam = match self.sam_port {
            Some(p) => format!(
                "sam:\n  enabled: true\n  host: 127.0.0.1\n  port: {p}\n  udp_port: {}\n",
                p.saturating_sub(1)
            ),
            None => "sam:\n  enabled: false\n".to_string(),
        };
        let http = match self.http_proxy_port {
            Some(p) => format!("http_proxy:\n  enabled: true\n  host: 127.0.0.1\n  port: {p}\n"),
            None => "http_proxy:\n  enabled: false\n".to_string(),
        };
        let socks = match self.socks_port {
            Some(p) => format!("socks_proxy:\n  enabled: true\n  host: 127.0.0.1\n  port: {p}\n"),
            None => "socks_proxy:\n  enabled: false\n".to_string(),
        };
        let dns = match self.dns_port {
            Some(p) => format!("dns:\n  enabled: true\n  host: 127.0.0.1\n  port: {p}\n"),
            None => "dns:\n  enabled: false\n".to_string(),
        };
        let ops = match self.ops_port {
            Some(p) => format!("ops:\n  enabled: true\n  host: 127.0.0.1\n  port: {p}\n"),
            None => "ops:\n  enabled: false\n".to_string(),
        };
        let shared = section(
            "shared_client",
            self.shared_client_hops,
            self.shared_client_quantity,
        );
        let reseed = match &self.reseed_file {
            // a JSON string is a valid YAML scalar, whatever the path holds
            Some(p) => format!("reseed:\n  file: {:?}\n", p.display().to_string()),
            None => String::new(),
        };
        format!(
            "# written by i2p-e2e\nnetwork:\n  net_id: {}\nrouter:\n  floodfill: {}\n  \
             bandwidth: {}\n  distinct_subnets: {}\nntcp2:\n  enabled: true\n  host: {}\n  port: {}\n{reseed}{exploratory}{sam}{http}{socks}{shared}{dns}{ops}log:\n  \
             level: {}\n{}",
            self.net_id,
            self.floodfill,
            self.bandwidth,
            self.distinct_subnets,
            self.ntcp2_host,
            self.ntcp2_port,
            self.log_level,
            self.extra_yaml
        )
    }
}

/// Our router in the test namespace.
#[derive(Debug)]
pub struct OurRouter {
    binary: PathBuf,
    dir: PathBuf,
    config: OurRouterConfig,
    process: Option<ManagedProcess>,
    // last: the namespace outlives the process
    env: TestEnv,
}

impl OurRouter {
    /// Locates the `i2p-router` binary; the error says how to build it.
    pub fn binary() -> Result<PathBuf> {
        if let Some(p) = std::env::var_os("I2P_ROUTER_BIN").filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(Error::Environment(format!(
                    "I2P_ROUTER_BIN={} does not exist",
                    p.display()
                )))
            };
        }
        let exe = std::env::current_exe().map_err(|e| Error::io("current_exe", e))?;
        let mut candidates = Vec::new();
        for dir in exe.ancestors().skip(1).take(2) {
            candidates.push(dir.join("i2p-router"));
        }
        candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| {
                Error::Environment(format!(
                    "our router binary is not built (looked for {}). Build it with \
                 `cargo build -p i2p-router --bin i2p-router` (same profile and target dir as \
                 the tests; scripts/test.sh does this) or set I2P_ROUTER_BIN",
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// Creates `<run dir>/<name>/` with `config.yaml` and puts the NTCP2 host on `lo`.
    pub fn prepare(env: &TestEnv, name: &str, config: OurRouterConfig) -> Result<OurRouter> {
        let binary = Self::binary()?;
        let dir = env.dir().join(name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        env.netns().add_addr(config.ntcp2_host)?;
        let r = OurRouter {
            env: env.clone(),
            binary,
            dir,
            config,
            process: None,
        };
        std::fs::write(r.config_path(), r.config.to_yaml())
            .map_err(|e| Error::io(format!("write {}", r.config_path().display()), e))?;
        Ok(r)
    }

    /// Data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// `config.yaml` in the data dir.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.yaml")
    }
    /// `router.info` in the data dir.
    pub fn router_info_path(&self) -> PathBuf {
        self.dir.join("router.info")
    }
    /// Where stdout/stderr of the process go.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("i2p-router.log")
    }
    /// The config it was prepared with.
    pub fn config(&self) -> &OurRouterConfig {
        &self.config
    }

    /// Runs the binary to completion inside the namespace with `args` (e.g. `["identity",
    /// "--data-dir", DIR]`) and returns its stdout; a non-zero exit is an error.
    pub fn run_to_completion(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(crate::env::ip_program());
        cmd.args(["netns", "exec", self.env.netns().name()])
            .arg(&self.binary)
            .args(args);
        let out = cmd
            .output()
            .map_err(|e| Error::io(format!("run {cmd:?}"), e))?;
        if !out.status.success() {
            return Err(Error::Command {
                command: format!("{} {}", self.binary.display(), args.join(" ")),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `i2p-router identity --data-dir DIR`: creates the identity if missing.
    pub fn create_identity(&self) -> Result<String> {
        let dir = self.dir.display().to_string();
        self.run_to_completion(&["identity", "--data-dir", &dir])
    }

    /// Starts `i2p-router --data-dir DIR --config DIR/config.yaml` as a managed process.
    pub fn start(&mut self) -> Result<()> {
        let mut cmd = self.env.netns().command(&self.binary);
        let dir = self.dir.display().to_string();
        let conf = self.config_path().display().to_string();
        cmd.args(["--data-dir", &dir, "--config", &conf]);
        let p = self.env.netns().spawn(
            "i2p-router",
            cmd,
            format!("--data-dir {dir}"),
            &self.log_path(),
        )?;
        self.process = Some(p);
        Ok(())
    }

    /// `i2p-router router-info`: writes a fresh signed `router.info` for the current config
    /// (creating the identity if missing) and exits; returns the file's bytes.
    pub fn generate_router_info(&mut self, _timeout: Duration) -> Result<Vec<u8>> {
        let dir = self.dir.display().to_string();
        let conf = self.config_path().display().to_string();
        self.run_to_completion(&["router-info", "--data-dir", &dir, "--config", &conf])?;
        let path = self.router_info_path();
        let bytes =
            std::fs::read(&path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        crate::ident::RouterInfoSummary::parse(&bytes)?;
        Ok(bytes)
    }

    /// Lines of our router's log (stdout and stderr) that contain every one of `needles`.
    pub fn log_lines_with(&self, needles: &[&str]) -> Vec<String> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_owned)
            .collect()
    }

    /// The router hashes (I2P base64) of the RouterInfo files in our netDb directory.
    pub fn netdb_hashes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Ok(subdirs) = std::fs::read_dir(self.dir.join("netDb")) else {
            return out;
        };
        for sub in subdirs.flatten() {
            let Ok(files) = std::fs::read_dir(sub.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if let Some(h) = name
                    .strip_prefix("routerInfo-")
                    .and_then(|n| n.strip_suffix(".dat"))
                {
                    out.push(h.to_owned());
                }
            }
        }
        out.sort();
        out
    }

    /// The process, while started.
    pub fn process(&self) -> Option<&ManagedProcess> {
        self.process.as_ref()
    }

    /// Waits until `router.info` exists and parses, and returns its bytes.
    pub fn wait_router_info(&self, timeout: Duration) -> Result<Vec<u8>> {
        let path = self.router_info_path();
        wait_until(
            "our router to write router.info",
            timeout,
            || {
                Ok(match std::fs::read(&path) {
                    Ok(b) if crate::ident::RouterInfoSummary::parse(&b).is_ok() => Check::Done(b),
                    Ok(b) => {
                        Check::NotYet(format!("router.info has {} bytes, unparsable", b.len()))
                    }
                    Err(e) => Check::NotYet(format!("{}: {e}", path.display())),
                })
            },
            || tail_file(&self.log_path(), 20),
        )
    }

    /// Stops the process (SIGTERM, then SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop();
        }
    }
}

impl Drop for OurRouter {
    fn drop(&mut self) {
        self.stop();
    }
}
