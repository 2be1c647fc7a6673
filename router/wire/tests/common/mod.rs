//! Shared helpers for the integration tests: the captured i2pd 2.45.1 data, a deterministic
//! byte generator and an Ed25519 test signer.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/i2pd-2.45.1")
}

pub fn read(name: &str) -> Vec<u8> {
    let p = data_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// `rN.router.info` for N = 1..=5.
pub fn own_router_infos() -> Vec<(String, Vec<u8>)> {
    (1..=5)
        .map(|n| {
            let name = format!("r{n}.router.info");
            let bytes = read(&name);
            (name, bytes)
        })
        .collect()
}

/// Every file under `r5-netDb`, as (path relative to the data dir, bytes).
pub fn netdb_files() -> Vec<(String, Vec<u8>)> {
    let root = data_dir().join("r5-netDb");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let rel = f.strip_prefix(data_dir()).unwrap().display().to_string();
            out.push((rel, std::fs::read(&f).unwrap()));
        }
    }
    assert!(!out.is_empty(), "no netDb files found");
    out
}

/// All captured RouterInfos: own ones plus the netDb.
pub fn all_router_infos() -> Vec<(String, Vec<u8>)> {
    let mut v = own_router_infos();
    v.extend(netdb_files());
    v
}

/// xorshift64*: deterministic pseudo-random bytes for robustness loops.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
    pub fn array32(&mut self) -> [u8; 32] {
        let mut a = [0u8; 32];
        for b in &mut a {
            *b = self.next_u64() as u8;
        }
        a
    }
}

/// A deterministic Ed25519 key for tests.
pub fn test_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn public(key: &SigningKey) -> [u8; 32] {
    key.verifying_key().to_bytes()
}

/// A signing callback over `key`, in the shape the builders take.
pub fn signer(key: &SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |msg: &[u8]| key.sign(msg).to_bytes().to_vec()
}
