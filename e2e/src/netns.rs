//! `Netns`: one isolated network namespace per test, holding nothing but `lo`.
//!
//! The namespace is created with `ip netns add`, so it has a name under `/run/netns/` that
//! `ip netns exec` (for child processes) and `setns(2)` (for harness threads) can enter. It is
//! checked for isolation right after creation: `lo` must be its only link and every route in
//! every table must go through `lo`; the harness refuses to continue otherwise. Addresses can only
//! be added from 198.18.0.0/15 (RFC 2544 benchmarking, never routed; i2pd 2.45.1 refuses 127/8
//! and the private ranges, see e2e/README.md) or 127.0.0.0/8.
//!
//! Namespaces are per-thread on Linux, so [`Netns::run`] runs a closure on a fresh thread that
//! first `setns`es into the namespace: that thread's sockets (TCP to 127.0.0.1, the consoles,
//! the proxies) live inside it. The thread ends with the closure and is never reused.

use std::ffi::OsStr;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sched::{CloneFlags, setns};

use crate::error::{Error, Result};
use crate::process::{ManagedProcess, NETNS_PREFIX, Registry, proc_netns_inode};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs `ip ARGS...`, returning stdout; a non-zero exit is an [`Error::Command`].
pub fn ip(args: &[&str]) -> Result<String> {
    let out = Command::new(crate::env::ip_program())
        .args(args)
        .output()
        .map_err(|e| Error::io(format!("run ip {}", args.join(" ")), e))?;
    if !out.status.success() {
        return Err(Error::Command {
            command: format!("ip {}", args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Refuses any address outside 198.18.0.0/15 and 127.0.0.0/8.
pub fn check_allowed_addr(addr: Ipv4Addr) -> Result<()> {
    let o = addr.octets();
    if (o[0] == 198 && (o[1] == 18 || o[1] == 19)) || o[0] == 127 {
        Ok(())
    } else {
        Err(Error::AddressRefused {
            addr,
            why: "only 198.18.0.0/15 and 127.0.0.0/8 may be put on a test namespace's lo",
        })
    }
}

/// What [`Netns::verify_isolation`] saw.
#[derive(Debug, Clone)]
pub struct IsolationReport {
    /// Link names (must be exactly `["lo"]`).
    pub links: Vec<String>,
    /// Every route line of every table, IPv4 and IPv6 (each must use `dev lo`).
    pub routes: Vec<String>,
}

/// A named network namespace that has only `lo`; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
    inode: u64,
    registry: Registry,
    addrs: Mutex<Vec<Ipv4Addr>>,
}

impl Netns {
    /// Creates `i2pe2e-<pid>-<n>`, brings `lo` up and checks isolation.
    pub fn create() -> Result<Netns> {
        let name = format!(
            "{NETNS_PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        // The record comes first, so a namespace of ours never exists without an owner on disk.
        let registry = Registry::create(&name)?;
        if let Err(e) = ip(&["netns", "add", &name]) {
            registry.remove();
            return Err(e);
        }
        let mut ns = Netns {
            name,
            inode: 0,
            registry,
            addrs: Mutex::new(Vec::new()),
        };
        let path = ns.path();
        ns.inode = std::fs::metadata(&path)
            .map_err(|e| Error::io(format!("stat {}", path.display()), e))?
            .ino();
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        ns.verify_isolation()?;
        Ok(ns)
    }

    /// The namespace's name (`ip netns exec NAME ...`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/NAME`.
    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// The namespace's inode, as `/proc/PID/ns/net` shows it for processes inside.
    pub fn inode(&self) -> u64 {
        self.inode
    }

    /// The record of processes started in this namespace.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Checks that `lo` is the only link and that no route leaves it.
    pub fn verify_isolation(&self) -> Result<IsolationReport> {
        let refuse = |why: String| Error::NotIsolated {
            netns: self.name.clone(),
            why,
        };
        let links: Vec<String> = ip(&["-n", &self.name, "-o", "link", "show"])?
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_owned())
            .collect();
        if links != ["lo"] {
            return Err(refuse(format!("links are {links:?}, expected only lo")));
        }
        let mut routes = Vec::new();
        for family in ["-4", "-6"] {
            for line in ip(&["-n", &self.name, family, "route", "show", "table", "all"])?.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                let dev = words.windows(2).find(|w| w[0] == "dev").map(|w| w[1]);
                if dev != Some("lo") {
                    return Err(refuse(format!("route not via lo: {line}")));
                }
                if words.first() == Some(&"default") {
                    return Err(refuse(format!("default route: {line}")));
                }
                routes.push(line.to_owned());
            }
        }
        Ok(IsolationReport { links, routes })
    }

    /// Puts `addr/32` on the namespace's `lo` (idempotent); see [`check_allowed_addr`].
    pub fn add_addr(&self, addr: Ipv4Addr) -> Result<()> {
        check_allowed_addr(addr)?;
        let mut addrs = self
            .addrs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if addrs.contains(&addr) {
            return Ok(());
        }
        ip(&[
            "-n",
            &self.name,
            "addr",
            "add",
            &format!("{addr}/32"),
            "dev",
            "lo",
        ])?;
        addrs.push(addr);
        Ok(())
    }

    /// Addresses added so far.
    pub fn addrs(&self) -> Vec<Ipv4Addr> {
        self.addrs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Moves the *current thread* into the namespace and checks that it arrived. Only for
    /// threads the harness created for that purpose.
    pub(crate) fn enter_current_thread(path: &Path, inode: u64) -> Result<()> {
        let f = File::open(path).map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        setns(&f, CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::sys(format!("setns({}, CLONE_NEWNET)", path.display()), e))?;
        let link = std::fs::read_link("/proc/thread-self/ns/net")
            .map_err(|e| Error::io("readlink /proc/thread-self/ns/net", e))?;
        if link.to_string_lossy() != format!("net:[{inode}]") {
            return Err(Error::NotIsolated {
                netns: path.display().to_string(),
                why: format!("thread is in {} after setns", link.display()),
            });
        }
        Ok(())
    }

    /// Runs `f` on a new thread inside the namespace and returns its result. A panic in `f`
    /// is resumed on the calling thread.
    pub fn run<T: Send, F: FnOnce() -> T + Send>(&self, f: F) -> Result<T> {
        let path = self.path();
        let inode = self.inode;
        std::thread::scope(|s| {
            let handle = std::thread::Builder::new()
                .name(format!("in-{}", self.name))
                .spawn_scoped(s, move || -> Result<T> {
                    Self::enter_current_thread(&path, inode)?;
                    Ok(f())
                })
                .map_err(|e| Error::io("spawn namespace thread", e))?;
            handle
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Starts `f` on a new background thread inside the namespace; join the handle for its
    /// result (the error is a failure to enter the namespace).
    pub fn spawn_thread<T: Send + 'static, F: FnOnce() -> T + Send + 'static>(
        &self,
        f: F,
    ) -> Result<std::thread::JoinHandle<Result<T>>> {
        let path = self.path();
        let inode = self.inode;
        std::thread::Builder::new()
            .name(format!("bg-{}", self.name))
            .spawn(move || -> Result<T> {
                Self::enter_current_thread(&path, inode)?;
                Ok(f())
            })
            .map_err(|e| Error::io("spawn namespace thread", e))
    }

    /// Runs an async block on a tokio current-thread runtime on a thread inside the namespace.
    pub fn run_async<T, Fut, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        Fut: std::future::Future<Output = T>,
        F: FnOnce() -> Fut + Send,
    {
        self.run(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::io("build tokio runtime", e))?;
            Ok(rt.block_on(f()))
        })?
    }

    /// `ip netns exec NAME setsid PROGRAM`: add arguments, then start it with [`Netns::spawn`].
    /// Both `ip netns exec` and `setsid` exec, so the child's PID is PROGRAM's; `setsid` keeps
    /// terminal signals (Ctrl-C's SIGINT) away from it.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(crate::env::ip_program());
        c.args(["netns", "exec", &self.name, "setsid"]).arg(program);
        c
    }

    /// Starts `cmd` (from [`Netns::command`]) and records it; see [`ManagedProcess::spawn`].
    pub fn spawn(
        &self,
        name: impl Into<String>,
        cmd: Command,
        tag: impl Into<String>,
        log: &Path,
    ) -> Result<ManagedProcess> {
        let p = ManagedProcess::spawn(name, cmd, tag, log, &self.registry)?;
        Ok(p)
    }

    /// Checks that process `pid` lives in this namespace.
    pub fn contains_pid(&self, pid: u32) -> Result<bool> {
        Ok(proc_netns_inode(pid)? == self.inode)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(pids) = ip(&["netns", "pids", &self.name]) {
            let pids = pids.split_whitespace().collect::<Vec<_>>().join(" ");
            if !pids.is_empty() {
                eprintln!(
                    "i2p-e2e: processes still inside {} at teardown: {pids} (not signalled)",
                    self.name
                );
            }
        }
        if let Err(e) = crate::process::netns_delete(&self.name) {
            eprintln!("i2p-e2e: {e}");
        }
        self.registry.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_benchmark_and_loopback_addresses_are_allowed() {
        for ok in ["198.18.0.1", "198.19.255.254", "127.0.0.2"] {
            assert!(check_allowed_addr(ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "10.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "100.64.0.1",
            "8.8.8.8",
            "198.20.0.1",
        ] {
            assert!(check_allowed_addr(bad.parse().unwrap()).is_err(), "{bad}");
        }
    }
}
