//! The harness's error type: every failure says what was being done and carries the
//! diagnostics (log tails, console summaries) a CI log needs to explain it.

use std::path::PathBuf;
use std::time::Duration;

/// Result alias used throughout the harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while setting up, driving or observing a test network.
/// `Debug` prints the same text as `Display`, so a test's `.expect(..)` shows the multi-line
/// diagnostics readably instead of as one escaped string.
#[derive(thiserror::Error)]
pub enum Error {
    /// The machine lacks something the e2e tests need (root, `ip`, `i2pd`, our binary).
    #[error("e2e environment: {0}")]
    Environment(String),

    /// A filesystem or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A helper command (`ip ...`, `i2p-router identity ...`) exited unsuccessfully.
    #[error("command `{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for the log.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },

    /// The network namespace could leak packets, or an address outside the allowed ranges was asked for.
    #[error("network namespace {netns} is not isolated: {why}")]
    NotIsolated {
        /// Namespace name.
        netns: String,
        /// What the check found.
        why: String,
    },

    /// An address the harness refuses to put on the namespace's `lo`.
    #[error("refusing address {addr}: {why}")]
    AddressRefused {
        /// The address asked for.
        addr: std::net::Ipv4Addr,
        /// Why it is refused.
        why: &'static str,
    },

    /// A wait helper ran past its deadline.
    #[error("timed out after {waited:.1?} waiting for {what}\n{diagnostics}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long the wait lasted.
        waited: Duration,
        /// State of the network when the wait gave up.
        diagnostics: String,
    },

    /// A process the harness started exited when it should be running.
    #[error("{name} (pid {pid}) is not running: {status}\n{diagnostics}")]
    ProcessExited {
        /// The harness's name for it (`i2pd r3`, `i2p-router`).
        name: String,
        /// Its PID.
        pid: u32,
        /// Exit status as reported by wait().
        status: String,
        /// Log tail.
        diagnostics: String,
    },

    /// A file or page did not have the expected shape.
    #[error("cannot parse {what}: {why}")]
    Parse {
        /// What was parsed (a path, a console page).
        what: String,
        /// What was wrong.
        why: String,
    },

    /// An HTTP exchange with a console, a proxy or the eepsite backend failed.
    #[error("HTTP {url}: {why}")]
    Http {
        /// The URL or address.
        url: String,
        /// What went wrong.
        why: String,
    },

    /// A system call wrapped by `nix` failed.
    #[error("{what}: {source}")]
    Sys {
        /// What the harness was doing.
        what: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },

    /// A thread running code inside the namespace panicked.
    #[error("thread inside network namespace {0} panicked")]
    ThreadPanicked(String),

    /// A run-state file is missing where the harness expected it.
    #[error("missing {0}")]
    Missing(PathBuf),
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // every variant's message already includes its source
        write!(f, "{self}")
    }
}

impl Error {
    /// Shorthand for [`Error::Io`].
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Parse`].
    pub fn parse(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Parse {
            what: what.into(),
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::Sys`].
    pub fn sys(what: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            what: what.into(),
            source,
        }
    }
}
