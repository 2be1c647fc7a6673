//! Processes the harness starts, tracked strictly by PID, and the on-disk record that lets a
//! later run clean up after a test process that was killed.
//!
//! Every child is started through `ip netns exec NS setsid PROGRAM ...`; both `ip netns exec`
//! and `setsid` (when not a process-group leader, which a freshly spawned child is not) replace
//! themselves with the next program, so the PID `spawn` returns is the program's own. Stopping
//! is SIGTERM, a wait, then SIGKILL. Never SIGINT: i2pd answers SIGINT with a graceful shutdown
//! that waits up to 10 minutes for transit tunnels.
//!
//! The record lives under `/run/i2pe2e/<netns>/`: `owner` holds the owning test process's PID
//! and start time, `procs/<pid>` the child's start time and a tag that must occur in its
//! `/proc/PID/cmdline`. [`sweep_stale`] only touches records whose owner is dead, and only
//! signals a recorded PID whose start time and cmdline still match, so a recycled PID is never
//! signalled.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Root of the records of running harness instances.
pub const REGISTRY_ROOT: &str = "/run/i2pe2e";
/// Prefix of every namespace (and registry entry) the harness creates.
pub const NETNS_PREFIX: &str = "i2pe2e-";
/// How long a process gets between SIGTERM and SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Start time of a process in clock ticks since boot (field 22 of `/proc/PID/stat`).
pub fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) may contain spaces and parentheses: split after the last ')'
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// CPU time (user + system) a process has used so far, in seconds (fields 14 and 15 of
/// `/proc/PID/stat`, in clock ticks of 1/100 s on Linux).
pub fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// `/proc/PID/cmdline` with NULs turned into spaces; `None` if the process is gone.
pub fn proc_cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

/// The network namespace inode a process lives in (`/proc/PID/ns/net` -> `net:[INODE]`).
pub fn proc_netns_inode(pid: u32) -> Result<u64> {
    let link = fs::read_link(format!("/proc/{pid}/ns/net"))
        .map_err(|e| Error::io(format!("readlink /proc/{pid}/ns/net"), e))?;
    let s = link.to_string_lossy();
    s.strip_prefix("net:[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            Error::parse(
                format!("/proc/{pid}/ns/net"),
                format!("unexpected link {s}"),
            )
        })
}

/// True if `pid` runs, was started at `start_time` (when known) and its cmdline contains `tag`.
fn still_ours(pid: u32, start_time: Option<u64>, tag: &str) -> bool {
    if start_time.is_some() && proc_start_time(pid) != start_time {
        return false;
    }
    proc_cmdline(pid).is_some_and(|c| c.contains(tag))
}

/// The on-disk record of one harness namespace and the processes started in it.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
}

impl Registry {
    /// Creates the record for namespace `netns`, owned by this process.
    pub fn create(netns: &str) -> Result<Self> {
        // built under a name the sweep ignores, then renamed: a concurrent sweep never sees a
        // record without its owner
        let dir = Path::new(REGISTRY_ROOT).join(netns);
        let tmp = Path::new(REGISTRY_ROOT).join(format!(".{netns}.tmp"));
        let io = |what: &str, e| Error::io(format!("{what} {}", tmp.display()), e);
        fs::create_dir_all(tmp.join("procs")).map_err(|e| io("create", e))?;
        let me = std::process::id();
        let start = proc_start_time(me).unwrap_or(0);
        fs::write(tmp.join("owner"), format!("{me} {start}\n"))
            .map_err(|e| io("write owner in", e))?;
        fs::rename(&tmp, &dir).map_err(|e| io("rename", e))?;
        Ok(Registry { dir })
    }

    fn record(&self, pid: u32, tag: &str) -> Result<()> {
        let start = proc_start_time(pid).unwrap_or(0);
        let path = self.dir.join("procs").join(pid.to_string());
        fs::write(&path, format!("{start}\n{tag}\n"))
            .map_err(|e| Error::io(format!("write {}", path.display()), e))
    }

    fn forget(&self, pid: u32) {
        let _ = fs::remove_file(self.dir.join("procs").join(pid.to_string()));
    }

    /// Removes the record (called once the namespace is gone).
    pub fn remove(&self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A child process started by the harness; stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    pid: u32,
    tag: String,
    child: Option<Child>,
    exit: Option<ExitStatus>,
    registry: Registry,
    log: PathBuf,
    stop_timeout: Duration,
}

impl ManagedProcess {
    /// Spawns `cmd` with stdin from /dev/null and stdout+stderr appended to `log`, and records it.
    /// `tag` must be a string that occurs in the program's command line.
    pub fn spawn(
        name: impl Into<String>,
        mut cmd: Command,
        tag: impl Into<String>,
        log: &Path,
        registry: &Registry,
    ) -> Result<Self> {
        let name = name.into();
        let tag = tag.into();
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::io(format!("open {}", log.display()), e))?;
        let err = out.try_clone().map_err(|e| Error::io("dup log fd", e))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawn {name} ({cmd:?})"), e))?;
        let pid = child.id();
        let p = ManagedProcess {
            name,
            pid,
            tag,
            child: Some(child),
            exit: None,
            registry: registry.clone(),
            log: log.to_path_buf(),
            stop_timeout: DEFAULT_STOP_TIMEOUT,
        };
        // The start time is stable across exec; the cmdline changes from `ip ...` to `setsid ...`
        // to the program, all of which carry the tag's arguments.
        registry.record(pid, &p.tag)?;
        Ok(p)
    }

    /// The harness's name for the process.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its PID (the program's own; see the module docs).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The cmdline tag it was recorded with.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Where its stdout/stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Sets how long `stop` waits after SIGTERM before SIGKILL.
    pub fn set_stop_timeout(&mut self, t: Duration) {
        self.stop_timeout = t;
    }

    /// True while the process has not exited (reaps it if it has).
    pub fn is_running(&mut self) -> bool {
        if self.exit.is_some() {
            return false;
        }
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(status))) => {
                self.exit = Some(status);
                self.registry.forget(self.pid);
                false
            }
            Some(Err(_)) | None => false,
        }
    }

    /// The error to report when the process is found dead.
    pub fn exited_error(&self) -> Error {
        Error::ProcessExited {
            name: self.name.clone(),
            pid: self.pid,
            status: self
                .exit
                .map_or_else(|| "unknown".into(), |s| s.to_string()),
            diagnostics: crate::wait::tail_file(&self.log, 15),
        }
    }

    /// True if the process still runs, without reaping it: its `/proc/PID/cmdline` still holds
    /// the tag (a zombie's cmdline is empty).
    pub fn alive(&self) -> bool {
        self.exit.is_none() && still_ours(self.pid, None, &self.tag)
    }

    /// Errors with [`Error::ProcessExited`] unless the process is running.
    pub fn ensure_running(&mut self) -> Result<()> {
        if self.is_running() {
            Ok(())
        } else {
            Err(self.exited_error())
        }
    }

    /// SIGTERM, wait up to the stop timeout, then SIGKILL. Returns the exit status.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if !self.is_running() {
            return self.exit;
        }
        let child = self.child.as_mut()?;
        // We hold the unreaped child, so this PID cannot have been recycled.
        let pid = Pid::from_raw(i32::try_from(self.pid).ok()?);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + self.stop_timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.exit = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.exit.is_none() {
            eprintln!(
                "i2p-e2e: {} (pid {}) ignored SIGTERM for {:?}, sending SIGKILL",
                self.name, self.pid, self.stop_timeout
            );
            let _ = kill(pid, Signal::SIGKILL);
            self.exit = child.wait().ok();
        }
        self.registry.forget(self.pid);
        self.exit
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What [`sweep_stale`] did.
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Namespaces deleted.
    pub namespaces_deleted: Vec<String>,
    /// `(pid, tag)` of processes stopped.
    pub processes_stopped: Vec<(u32, String)>,
    /// Harness namespaces left alone, with the reason.
    pub left_alone: Vec<String>,
}

impl SweepReport {
    /// True if nothing was found to clean.
    pub fn is_empty(&self) -> bool {
        self.namespaces_deleted.is_empty() && self.processes_stopped.is_empty()
    }
}

fn owner_alive(dir: &Path) -> bool {
    let Ok(s) = fs::read_to_string(dir.join("owner")) else {
        return false;
    };
    let mut it = s.split_whitespace();
    let (Some(pid), Some(start)) = (it.next(), it.next()) else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    proc_start_time(pid) == Some(start)
}

fn stop_foreign(pid: u32, start: Option<u64>, tag: &str) {
    let Ok(raw) = i32::try_from(pid) else { return };
    if kill(Pid::from_raw(raw), Signal::SIGTERM).is_err() {
        return;
    }
    let deadline = Instant::now() + DEFAULT_STOP_TIMEOUT;
    while Instant::now() < deadline {
        if !still_ours(pid, start, tag) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if still_ours(pid, start, tag) {
        let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
    }
}

/// Harness namespaces that currently exist (`ip netns list`, names starting with the prefix).
pub fn list_harness_namespaces() -> Vec<String> {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(NETNS_PREFIX))
        .map(str::to_owned)
        .collect()
}

fn netns_has_pids(name: &str) -> bool {
    Command::new("ip")
        .args(["netns", "pids", name])
        .output()
        .map(|o| !o.stdout.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(true)
}

/// Cleans up after harness instances whose owner process is dead: stops the processes they
/// recorded (only while start time and cmdline tag still match) and deletes their namespaces.
/// Namespaces of live owners are never touched. A harness namespace without any record is
/// deleted only if no process is inside it.
pub fn sweep_stale() -> SweepReport {
    let mut report = SweepReport::default();
    let existing = list_harness_namespaces();
    let mut recorded = Vec::new();
    if let Ok(entries) = fs::read_dir(REGISTRY_ROOT) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path();
            if !name.starts_with(NETNS_PREFIX) {
                continue;
            }
            recorded.push(name.clone());
            if owner_alive(&dir) {
                continue;
            }
            if let Ok(procs) = fs::read_dir(dir.join("procs")) {
                for p in procs.flatten() {
                    let Ok(pid) = p.file_name().to_string_lossy().parse::<u32>() else {
                        continue;
                    };
                    let body = fs::read_to_string(p.path()).unwrap_or_default();
                    let mut lines = body.lines();
                    let start = lines
                        .next()
                        .and_then(|s| s.parse::<u64>().ok())
                        .filter(|&s| s > 0);
                    let tag = lines.next().unwrap_or("").to_owned();
                    if tag.is_empty() || !still_ours(pid, start, &tag) {
                        continue;
                    }
                    stop_foreign(pid, start, &tag);
                    report.processes_stopped.push((pid, tag));
                }
            }
            if existing.contains(&name) && netns_delete(&name).is_ok() {
                report.namespaces_deleted.push(name.clone());
            }
            let _ = fs::remove_dir_all(&dir);
        }
    }
    for name in existing.iter().filter(|n| !recorded.contains(n)) {
        if netns_has_pids(name) {
            report
                .left_alone
                .push(format!("{name}: no record and processes inside"));
        } else if netns_delete(name).is_ok() {
            report.namespaces_deleted.push(name.clone());
        }
    }
    report
}

/// `ip netns del NAME`.
pub(crate) fn netns_delete(name: &str) -> Result<()> {
    crate::netns::ip(&["netns", "del", name]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_and_cmdline_are_readable() {
        let me = std::process::id();
        assert!(proc_start_time(me).is_some());
        assert!(proc_cmdline(me).is_some());
        assert!(proc_netns_inode(me).unwrap() > 0);
        assert!(!still_ours(
            me,
            None,
            "this tag is not in any test cmdline \u{1}"
        ));
    }
}
