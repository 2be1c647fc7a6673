//! Virtual IP addresses for `.i2p` names, the way Tor's `AutomapHostsOnResolve` works: the DNS
//! server answers an `A`/`AAAA` query for a `.i2p` name with an address from a private range,
//! and the SOCKS proxy and the transparent listener map a connection to that address back to
//! the name.
//!
//! Addresses are stable: the first choice for a name is derived from its SHA-256 (so a fresh
//! data dir tends to give the same answers), collisions probe linearly, and the table is
//! persisted so a restart never renumbers a name that software may have cached.

use crate::store::write_atomic;
use i2p_crypto::sha256;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The default IPv4 range (RFC 1918 space unlikely to be routed beside a sidecar).
pub const DEFAULT_V4: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 191, 0, 0), 16);
/// The default IPv6 range (inside fd00::/8, unique local addresses).
pub const DEFAULT_V6: (Ipv6Addr, u8) = (Ipv6Addr::new(0xfd69, 0x3270, 0x6972, 0, 0, 0, 0, 0), 64);

#[derive(Debug, Error)]
pub enum VirtualAddrError {
    #[error("IPv4 range /{0} is too small (at most /30)")]
    V4RangeTooSmall(u8),
    #[error("IPv6 range /{0} is too small (at most /126)")]
    V6RangeTooSmall(u8),
    #[error("the virtual address range is full ({0} names)")]
    Full(usize),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One name's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtualAddrs {
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
}

/// The name ↔ address table.
#[derive(Debug)]
pub struct VirtualMap {
    v4_base: u32,
    v4_size: u32,
    v6_base: u128,
    v6_size: u128,
    by_name: HashMap<String, VirtualAddrs>,
    by_v4: HashMap<Ipv4Addr, String>,
    by_v6: HashMap<Ipv6Addr, String>,
    file: Option<PathBuf>,
}

impl VirtualMap {
    /// An empty table over the given ranges (network address and prefix length).
    pub fn new(v4: (Ipv4Addr, u8), v6: (Ipv6Addr, u8)) -> Result<VirtualMap, VirtualAddrError> {
        if v4.1 > 30 {
            return Err(VirtualAddrError::V4RangeTooSmall(v4.1));
        }
        if v6.1 > 126 {
            return Err(VirtualAddrError::V6RangeTooSmall(v6.1));
        }
        let v4_size = 1u32 << (32 - v4.1);
        let v4_base = u32::from(v4.0) & !(v4_size - 1);
        let v6_bits = 128 - u32::from(v6.1);
        let v6_size = if v6_bits >= 128 {
            u128::MAX
        } else {
            1u128 << v6_bits
        };
        let v6_base = u128::from(v6.0) & !(v6_size.wrapping_sub(1));
        Ok(VirtualMap {
            v4_base,
            v4_size,
            v6_base,
            v6_size,
            by_name: HashMap::new(),
            by_v4: HashMap::new(),
            by_v6: HashMap::new(),
            file: None,
        })
    }

    /// Load the table from `path` (if it exists) and keep saving to it. Lines that do not fit
    /// the configured ranges are dropped (the range was changed), everything else is kept.
    pub fn open(
        path: &Path,
        v4: (Ipv4Addr, u8),
        v6: (Ipv6Addr, u8),
    ) -> Result<VirtualMap, VirtualAddrError> {
        let mut map = VirtualMap::new(v4, v6)?;
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for line in text.lines().filter(|l| !l.starts_with('#')) {
                    let mut f = line.split_whitespace();
                    let (Some(name), Some(a), Some(b)) = (f.next(), f.next(), f.next()) else {
                        continue;
                    };
                    let (Ok(a), Ok(b)) = (a.parse::<Ipv4Addr>(), b.parse::<Ipv6Addr>()) else {
                        continue;
                    };
                    if map.contains_v4(a)
                        && map.contains_v6(b)
                        && !map.by_v4.contains_key(&a)
                        && !map.by_v6.contains_key(&b)
                    {
                        map.insert(name.to_string(), VirtualAddrs { v4: a, v6: b });
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(VirtualAddrError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
        map.file = Some(path.to_path_buf());
        Ok(map)
    }

    pub fn contains_v4(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip).wrapping_sub(self.v4_base) < self.v4_size
    }

    pub fn contains_v6(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip).wrapping_sub(self.v6_base) < self.v6_size
    }

    fn insert(&mut self, name: String, a: VirtualAddrs) {
        self.by_v4.insert(a.v4, name.clone());
        self.by_v6.insert(a.v6, name.clone());
        self.by_name.insert(name, a);
    }

    /// The addresses of `name` (a lower-case `.i2p` name or `.b32.i2p` address), allocating
    /// them on first use (and saving the table).
    pub fn addrs_for(&mut self, name: &str) -> Result<VirtualAddrs, VirtualAddrError> {
        if let Some(a) = self.by_name.get(name) {
            return Ok(*a);
        }
        // usable IPv4 offsets: skip the network (0) and broadcast (size-1) addresses
        let usable = self.v4_size - 2;
        if self.by_name.len() as u64 >= u64::from(usable) {
            return Err(VirtualAddrError::Full(self.by_name.len()));
        }
        let h = sha256(name.as_bytes());
        let seed = u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
        let mut off = (seed % u64::from(usable)) as u32;
        let v4 = loop {
            let ip = Ipv4Addr::from(self.v4_base + 1 + off);
            if !self.by_v4.contains_key(&ip) {
                break ip;
            }
            off = (off + 1) % usable;
        };
        let v6_usable = self.v6_size.saturating_sub(2).max(1);
        let mut off6 = u128::from_be_bytes(h[8..24].try_into().unwrap_or([0; 16])) % v6_usable;
        let v6 = loop {
            let ip = Ipv6Addr::from(self.v6_base + 1 + off6);
            if !self.by_v6.contains_key(&ip) {
                break ip;
            }
            off6 = (off6 + 1) % v6_usable;
        };
        let a = VirtualAddrs { v4, v6 };
        self.insert(name.to_string(), a);
        self.save()?;
        Ok(a)
    }

    /// The name behind a virtual IPv4 address.
    pub fn name_for_v4(&self, ip: Ipv4Addr) -> Option<&str> {
        self.by_v4.get(&ip).map(String::as_str)
    }

    /// The name behind a virtual IPv6 address.
    pub fn name_for_v6(&self, ip: Ipv6Addr) -> Option<&str> {
        self.by_v6.get(&ip).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    fn save(&self) -> Result<(), VirtualAddrError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let mut entries: Vec<(&String, &VirtualAddrs)> = self.by_name.iter().collect();
        entries.sort_by_key(|(n, _)| n.as_str());
        let mut text =
            String::from("# .i2p name -> virtual IPv4 / IPv6 (kept stable across restarts)\n");
        for (n, a) in entries {
            text.push_str(&format!("{n} {} {}\n", a.v4, a.v6));
        }
        write_atomic(path, text.as_bytes()).map_err(|source| VirtualAddrError::Io {
            path: path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_in_range_stable_and_reversible() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("virtual.txt");
        let mut m = VirtualMap::open(&path, DEFAULT_V4, DEFAULT_V6).unwrap();
        let a = m.addrs_for("eepsite.testnet.i2p").unwrap();
        assert_eq!(a.v4.octets()[..2], [10, 191]);
        assert!(m.contains_v6(a.v6));
        assert_eq!(m.addrs_for("eepsite.testnet.i2p").unwrap(), a);
        assert_eq!(m.name_for_v4(a.v4), Some("eepsite.testnet.i2p"));
        assert_eq!(m.name_for_v6(a.v6), Some("eepsite.testnet.i2p"));
        let b = m.addrs_for("other.i2p").unwrap();
        assert_ne!(a.v4, b.v4);
        drop(m);
        let mut m = VirtualMap::open(&path, DEFAULT_V4, DEFAULT_V6).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m.addrs_for("other.i2p").unwrap(),
            b,
            "stable across a reload"
        );
    }

    #[test]
    fn collisions_probe_and_a_full_range_is_an_error() {
        // a /30 has two usable addresses
        let mut m = VirtualMap::new((Ipv4Addr::new(10, 0, 0, 0), 30), DEFAULT_V6).unwrap();
        let a = m.addrs_for("a.i2p").unwrap();
        let b = m.addrs_for("b.i2p").unwrap();
        assert_ne!(a.v4, b.v4);
        for ip in [a.v4, b.v4] {
            assert!([Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)].contains(&ip));
        }
        assert!(matches!(
            m.addrs_for("c.i2p"),
            Err(VirtualAddrError::Full(2))
        ));
        assert!(matches!(
            VirtualMap::new((Ipv4Addr::new(10, 0, 0, 0), 31), DEFAULT_V6),
            Err(VirtualAddrError::V4RangeTooSmall(31))
        ));
    }
}
