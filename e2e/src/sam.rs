//! A minimal blocking SAMv3 client for driving i2pd's SAM bridge from tests: HELLO, DEST
//! GENERATE, SESSION CREATE (STREAM), NAMING LOOKUP. Connect from inside the namespace (e.g. in
//! [`crate::Netns::run`]); the socket keeps working from any thread afterwards.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ident;

/// One SAM control connection (a session lives as long as it).
#[derive(Debug)]
pub struct SamControl {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    addr: SocketAddr,
}

/// A reply line split into `KEY=VALUE` pairs (quotes removed).
#[derive(Debug, Clone)]
pub struct SamReply {
    pub line: String,
}

impl SamReply {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        let mut rest = self.line.as_str();
        let prefix = format!("{key}=");
        while let Some(pos) = rest.find(&prefix) {
            let before_ok = pos == 0 || rest.as_bytes()[pos - 1] == b' ';
            let v = &rest[pos + prefix.len()..];
            if before_ok {
                return Some(match v.strip_prefix('"') {
                    Some(q) => q.split('"').next().unwrap_or("").to_owned(),
                    None => v.split(' ').next().unwrap_or("").to_owned(),
                });
            }
            rest = v;
        }
        None
    }

    fn ok(&self) -> bool {
        self.get("RESULT").as_deref() == Some("OK")
    }
}

impl SamControl {
    /// Connects and says HELLO (3.1–3.3).
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<SamControl> {
        let s = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| Error::io(format!("connect to SAM at {addr}"), e))?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| Error::io("SAM socket", e))?;
        let writer = s.try_clone().map_err(|e| Error::io("SAM socket", e))?;
        let mut c = SamControl {
            reader: BufReader::new(s),
            writer,
            addr,
        };
        let r = c.command("HELLO VERSION MIN=3.1 MAX=3.3")?;
        if !r.ok() {
            return Err(Error::parse("SAM HELLO", r.line));
        }
        Ok(c)
    }

    /// [`SamControl::connect`], retrying while nothing listens yet (a router that was just
    /// started), for up to `within`.
    pub fn connect_when_up(addr: SocketAddr, within: Duration) -> Result<SamControl> {
        let start = std::time::Instant::now();
        loop {
            match SamControl::connect(addr, Duration::from_secs(10)) {
                Ok(c) => return Ok(c),
                Err(e) if start.elapsed() >= within => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    /// Sends one line and reads one reply line (waiting up to `read_timeout`).
    pub fn command_with_timeout(&mut self, line: &str, read_timeout: Duration) -> Result<SamReply> {
        self.writer
            .set_read_timeout(Some(read_timeout))
            .map_err(|e| Error::io("SAM socket", e))?;
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| Error::io(format!("write to SAM at {}", self.addr), e))?;
        let mut reply = String::new();
        let n = self.reader.read_line(&mut reply).map_err(|e| {
            Error::io(
                format!("read from SAM at {} after {line:.40}", self.addr),
                e,
            )
        })?;
        if n == 0 {
            return Err(Error::parse("SAM reply", "connection closed"));
        }
        Ok(SamReply {
            line: reply.trim_end().to_owned(),
        })
    }

    /// `STREAM CONNECT` to `destination` (base64 or a name, e.g. `xxx.b32.i2p`) for session
    /// `id`, on this fresh connection; from then on the connection carries the stream. Returns
    /// its reader (which may already hold stream bytes) and writer.
    pub fn stream_connect(
        mut self,
        id: &str,
        destination: &str,
        timeout: Duration,
    ) -> Result<(BufReader<TcpStream>, TcpStream)> {
        let r = self.command_with_timeout(
            &format!("STREAM CONNECT ID={id} DESTINATION={destination} SILENT=false"),
            timeout,
        )?;
        if !r.ok() {
            return Err(Error::parse("SAM STREAM STATUS", r.line));
        }
        Ok((self.reader, self.writer))
    }

    /// `STREAM ACCEPT` for session `id` on this fresh connection: waits up to `timeout` for
    /// an incoming stream and returns the remote's destination (base64, the line SAM sends
    /// first), the reader (which may already hold stream bytes) and the writer.
    pub fn stream_accept(
        mut self,
        id: &str,
        timeout: Duration,
    ) -> Result<(String, BufReader<TcpStream>, TcpStream)> {
        let r =
            self.command_with_timeout(&format!("STREAM ACCEPT ID={id} SILENT=false"), timeout)?;
        if !r.ok() {
            return Err(Error::parse("SAM STREAM STATUS", r.line));
        }
        let mut from = String::new();
        self.reader
            .read_line(&mut from)
            .map_err(|e| Error::io("read the accepted stream's destination", e))?;
        let from = from
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok((from, self.reader, self.writer))
    }

    /// Sends one line and reads one reply line.
    pub fn command(&mut self, line: &str) -> Result<SamReply> {
        self.command_with_timeout(line, Duration::from_secs(30))
    }

    /// `DEST GENERATE SIGNATURE_TYPE=7`: (public destination, private keys), both base64.
    pub fn dest_generate(&mut self) -> Result<(String, String)> {
        let r = self.command("DEST GENERATE SIGNATURE_TYPE=7")?;
        match (r.get("PUB"), r.get("PRIV")) {
            (Some(p), Some(k)) => Ok((p, k)),
            _ => Err(Error::parse("SAM DEST REPLY", r.line)),
        }
    }

    /// `SESSION CREATE STYLE=STREAM` with the given keys and extra options; i2pd answers once
    /// the session's tunnels are built.
    pub fn session_create(
        &mut self,
        id: &str,
        private_keys: &str,
        options: &str,
        timeout: Duration,
    ) -> Result<()> {
        let r = self.command_with_timeout(
            &format!(
                "SESSION CREATE STYLE=STREAM ID={id} DESTINATION={private_keys} \
                 SIGNATURE_TYPE=7 {options}"
            ),
            timeout,
        )?;
        if r.ok() {
            Ok(())
        } else {
            Err(Error::parse("SAM SESSION STATUS", r.line))
        }
    }

    /// `NAMING LOOKUP NAME=...`: the destination, or the reply line as the error.
    pub fn naming_lookup(&mut self, name: &str, timeout: Duration) -> Result<String> {
        let r = self.command_with_timeout(&format!("NAMING LOOKUP NAME={name}"), timeout)?;
        match r.get("VALUE") {
            Some(v) if r.ok() => Ok(v),
            _ => Err(Error::parse("SAM NAMING REPLY", r.line)),
        }
    }
}

/// The identity hash of a base64 destination (SHA-256 of its bytes).
pub fn destination_hash(dest_b64: &str) -> Result<[u8; 32]> {
    let bytes = ident::base64_i2p_decode(dest_b64)?;
    Ok(Sha256::digest(&bytes).into())
}

/// The `.b32.i2p` address of a destination hash.
pub fn b32(hash: &[u8; 32]) -> String {
    format!("{}.b32.i2p", ident::base32_lower(hash))
}

/// Today's netDb routing key of `hash` (SHA-256 of the hash and the UTC date as `yyyyMMdd`).
pub fn routing_key(hash: &[u8; 32], unix_secs: u64) -> [u8; 32] {
    let (y, m, d) = civil_from_days(i64::try_from(unix_secs / 86_400).unwrap_or(0));
    let mut h = Sha256::new();
    h.update(hash);
    h.update(format!("{y:04}{m:02}{d:02}").as_bytes());
    h.finalize().into()
}

/// XOR distance, comparable as bytes.
pub fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        // 2026-11-22
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
    }

    #[test]
    fn reply_values() {
        let r = SamReply {
            line: "NAMING REPLY RESULT=OK NAME=\"a b\" VALUE=xyz".into(),
        };
        assert_eq!(r.get("RESULT").as_deref(), Some("OK"));
        assert_eq!(r.get("NAME").as_deref(), Some("a b"));
        assert_eq!(r.get("VALUE").as_deref(), Some("xyz"));
        assert_eq!(r.get("ALUE"), None);
    }
}
