//! The test environment: preflight checks (root, `ip`, `i2pd`), the stale-state sweep, and
//! [`TestEnv`], which owns one test's namespace and run directory.
//!
//! A missing prerequisite is an error, never a skip: with `CI=true` it is a CI setup fault, and
//! elsewhere the message says how to install what is missing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::process::sweep_stale;

const SYSTEM_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Finds `name` on `PATH` or in the usual system directories (root's `PATH` may lack sbin).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SYSTEM_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The `ip` program (iproute2).
pub fn ip_program() -> PathBuf {
    find_program("ip").unwrap_or_else(|| PathBuf::from("ip"))
}

/// The `i2pd` program: `$I2PD_BIN`, else `i2pd` on `PATH` or in the system directories.
pub fn i2pd_program() -> Option<PathBuf> {
    match std::env::var_os("I2PD_BIN") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => find_program("i2pd"),
    }
}

/// True when running under CI (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// What the preflight found.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The i2pd binary.
    pub i2pd: PathBuf,
    /// First line of `i2pd --version`.
    pub i2pd_version: String,
}

/// Checks for root, `ip`, `setsid` and `i2pd`; the error says how to get what is missing.
pub fn preflight() -> Result<Preflight> {
    let mut missing = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        missing.push("root (network namespaces need CAP_SYS_ADMIN; run as root)".to_owned());
    }
    if find_program("ip").is_none() {
        missing.push("`ip` (Debian package iproute2)".to_owned());
    }
    if find_program("setsid").is_none() {
        missing.push("`setsid` (Debian package util-linux)".to_owned());
    }
    let i2pd = i2pd_program();
    let mut i2pd_version = String::new();
    match &i2pd {
        None => missing.push("`i2pd` (Debian package i2pd, 2.45.1 tested)".to_owned()),
        Some(p) => match std::process::Command::new(p).arg("--version").output() {
            Ok(o) => {
                i2pd_version = String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
            }
            Err(e) => missing.push(format!("a working i2pd at {} ({e})", p.display())),
        },
    }
    if let (true, Some(i2pd)) = (missing.is_empty(), i2pd) {
        return Ok(Preflight { i2pd, i2pd_version });
    }
    let how = if in_ci() {
        "CI=true: .ci/run must install these before the tests run; this is a CI setup fault."
    } else {
        "Install as root: `apt-get install -y i2pd iproute2 util-linux`, or run \
         scripts/test.sh, which installs them without letting the package start a system i2pd."
    };
    Err(Error::Environment(format!(
        "the e2e tests need real i2pd routers in network namespaces; missing: {}. {how}",
        missing.join("; ")
    )))
}

static SWEEP: Once = Once::new();

/// Runs [`sweep_stale`] once per process and prints what it cleaned.
pub fn sweep_once() {
    SWEEP.call_once(|| {
        let report = sweep_stale();
        if !report.is_empty() {
            eprintln!("i2p-e2e: cleaned up after a dead test run: {report:?}");
        }
    });
}

/// Per-test run directory: removed when the test passes, kept (and its path printed) when the
/// test panics, when [`TestEnv::keep_dir`] was called, or with `I2P_E2E_KEEP=1`.
/// The base directory is `$I2P_E2E_DIR` or the system temp dir.
#[derive(Debug)]
struct RunDir {
    dir: Option<tempfile::TempDir>,
    keep: AtomicBool,
}

impl RunDir {
    fn create(label: &str) -> Result<Self> {
        let base = std::env::var_os("I2P_E2E_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
        std::fs::create_dir_all(&base)
            .map_err(|e| Error::io(format!("create {}", base.display()), e))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("i2pe2e-{label}-{}-", std::process::id()))
            .tempdir_in(&base)
            .map_err(|e| Error::io(format!("create run dir in {}", base.display()), e))?;
        let keep = std::env::var("I2P_E2E_KEEP").is_ok_and(|v| v == "1");
        Ok(RunDir {
            dir: Some(dir),
            keep: AtomicBool::new(keep),
        })
    }

    fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), tempfile::TempDir::path)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let keep = self.keep.load(Ordering::SeqCst) || std::thread::panicking();
        if let Some(dir) = self.dir.take().filter(|_| keep) {
            let path = dir.keep();
            eprintln!(
                "i2p-e2e: run state kept in {} (i2pd logs: r*/i2pd.log)",
                path.display()
            );
        }
    }
}

#[derive(Debug)]
struct Inner {
    label: String,
    // field order = drop order: the namespace goes before the directory
    netns: Netns,
    dir: RunDir,
    preflight: Preflight,
    created: Instant,
}

/// One test's world: an isolated namespace and a run directory. Cheap to clone; the namespace
/// is deleted when the last clone (including those held by nets and routers) is dropped.
#[derive(Debug, Clone)]
pub struct TestEnv {
    inner: Arc<Inner>,
}

impl TestEnv {
    /// Preflight, sweep (once per process), then a fresh namespace and run dir. `label` names
    /// the run dir (`i2pe2e-<label>-<pid>-XXXX`).
    pub fn new(label: &str) -> Result<TestEnv> {
        let preflight = preflight()?;
        sweep_once();
        let dir = RunDir::create(label)?;
        let netns = Netns::create()?;
        Ok(TestEnv {
            inner: Arc::new(Inner {
                label: label.to_owned(),
                netns,
                dir,
                preflight,
                created: Instant::now(),
            }),
        })
    }

    /// The test's label.
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// The namespace.
    pub fn netns(&self) -> &Netns {
        &self.inner.netns
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        self.inner.dir.path()
    }

    /// Keeps the run directory after the test even if it passes.
    pub fn keep_dir(&self) {
        self.inner.dir.keep.store(true, Ordering::SeqCst);
    }

    /// The i2pd binary and its version line.
    pub fn preflight(&self) -> &Preflight {
        &self.inner.preflight
    }

    /// When the environment was created.
    pub fn created(&self) -> Instant {
        self.inner.created
    }
}
