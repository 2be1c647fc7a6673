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
        }
    }
}

impl OurRouterConfig {
    /// The YAML text.
    pub fn to_yaml(&self) -> String {
        format!(
            "# written by i2p-e2e\nnetwork:\n  net_id: {}\nrouter:\n  floodfill: {}\n  \
             bandwidth: {}\nntcp2:\n  enabled: true\n  host: {}\n  port: {}\nlog:\n  level: {}\n",
            self.net_id,
            self.floodfill,
            self.bandwidth,
            self.ntcp2_host,
            self.ntcp2_port,
            self.log_level
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

    /// Makes the binary write `router.info` (identity created if missing) and returns it. Today
    /// a run writes the file and exits; once the router keeps running, this starts it, waits for
    /// the file and stops it again. Either way the file is fresh: an old one is removed first.
    pub fn generate_router_info(&mut self, timeout: Duration) -> Result<Vec<u8>> {
        let path = self.router_info_path();
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("remove {}", path.display()), e)),
        }
        self.start()?;
        let log = self.log_path();
        let process = self.process.as_mut();
        let result = match process {
            None => Err(Error::Missing(path.clone())),
            Some(p) => wait_until(
                "our router to write router.info",
                timeout,
                || {
                    if let Some(b) = std::fs::read(&path)
                        .ok()
                        .filter(|b| crate::ident::RouterInfoSummary::parse(b).is_ok())
                    {
                        return Ok(Check::Done(b));
                    }
                    if !p.is_running() {
                        // exited: success must have left a parsable file (checked above, but
                        // re-read in case it appeared between the two checks)
                        return match std::fs::read(&path) {
                            Ok(b) => Ok(Check::Done(b)),
                            Err(_) => Err(p.exited_error()),
                        };
                    }
                    Ok(Check::NotYet("no router.info yet".into()))
                },
                || tail_file(&log, 20),
            ),
        };
        let status = self.process.as_mut().and_then(ManagedProcess::stop);
        let bytes = result?;
        if let Some(s) = status.filter(|s| !s.success() && s.code().is_some()) {
            return Err(Error::Command {
                command: format!(
                    "{} --data-dir {}",
                    self.binary.display(),
                    self.dir.display()
                ),
                status: s.to_string(),
                stderr: tail_file(&self.log_path(), 20),
            });
        }
        crate::ident::RouterInfoSummary::parse(&bytes)?;
        Ok(bytes)
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
