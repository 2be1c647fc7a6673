//! Deadline-bounded polling that explains itself on timeout.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Outcome of one poll.
#[derive(Debug)]
pub enum Check<T> {
    /// The condition holds; stop waiting.
    Done(T),
    /// Not yet; the note says what was seen (it ends up in the timeout error).
    NotYet(String),
}

/// How often [`wait_until`] polls.
pub const POLL: Duration = Duration::from_millis(500);

/// Polls `check` every [`POLL`] until it is `Done`, it fails, or `timeout` passes. On timeout the
/// error carries the last poll's note and `diagnostics()`.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Check<T>>,
    diagnostics: impl FnOnce() -> String,
) -> Result<T> {
    let start = Instant::now();
    loop {
        let note = match check()? {
            Check::Done(v) => return Ok(v),
            Check::NotYet(note) => note,
        };
        if start.elapsed() >= timeout {
            return Err(Error::Timeout {
                what: what.to_owned(),
                waited: start.elapsed(),
                diagnostics: format!("last check: {note}\n{}", diagnostics()),
            });
        }
        std::thread::sleep(POLL);
    }
}

/// The last `lines` lines of a text file, indented, or a note that it cannot be read.
pub fn tail_file(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let from = all.len().saturating_sub(lines);
            let mut out = format!(
                "  --- last {} lines of {} ---\n",
                all.len() - from,
                path.display()
            );
            for l in &all[from..] {
                out.push_str("  | ");
                out.push_str(l);
                out.push('\n');
            }
            out
        }
        Err(e) => format!("  ({}: {e})\n", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_carries_note_and_diagnostics() {
        let err = wait_until::<()>(
            "never",
            Duration::from_millis(10),
            || Ok(Check::NotYet("still nothing".into())),
            || "diag text".into(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("never") && msg.contains("still nothing") && msg.contains("diag text")
        );
    }

    #[test]
    fn done_returns_value() {
        let mut n = 0;
        let v = wait_until(
            "count",
            Duration::from_secs(5),
            || {
                n += 1;
                Ok(if n >= 2 {
                    Check::Done(n)
                } else {
                    Check::NotYet(String::new())
                })
            },
            String::new,
        )
        .unwrap();
        assert_eq!(v, 2);
    }
}
