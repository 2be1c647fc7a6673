//! The floors: the bare `i2p-crypto` primitives a hot path cannot avoid, on the same byte
//! counts as the path. Nothing here is router logic.

use std::hint::black_box;

use i2p_crypto::aead::{decrypt_detached, encrypt_detached, noise_nonce};
use i2p_crypto::aes::Aes256;
use i2p_crypto::hash::hkdf2;
use i2p_crypto::sha256_parts;
use i2p_crypto::siphash::SipLengthMask;

use crate::harness::Bench;

/// Which side of an AEAD floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Seal,
    Open,
}

/// ChaCha20-Poly1305 over `len` bytes with `ad_len` bytes of associated data and a counter
/// nonce, optionally preceded by one NTCP2 SipHash length mask and by `hkdf_steps`
/// `HKDF(ck, ikm, info, 64)` ratchet steps (the garlic tag and key chains).
#[derive(Debug)]
pub struct AeadFloor {
    direction: Direction,
    key: [u8; 32],
    nonce: u64,
    ad: Vec<u8>,
    mask: Option<SipLengthMask>,
    hkdf_steps: usize,
    chain: [u8; 32],
    constant: [u8; 32],
    /// Seal: one buffer encrypted over and over. Open: one sealed buffer per operation.
    bufs: Vec<(Vec<u8>, [u8; 16])>,
    len: usize,
}

impl AeadFloor {
    pub fn new(direction: Direction, len: usize, ad_len: usize) -> AeadFloor {
        AeadFloor {
            direction,
            key: [0x33; 32],
            nonce: 0,
            ad: vec![0xad; ad_len],
            mask: None,
            hkdf_steps: 0,
            chain: [0x44; 32],
            constant: [0x55; 32],
            bufs: vec![(vec![0x66; len], [0; 16])],
            len,
        }
    }

    /// Add the NTCP2 length obfuscation (one SipHash-2-4 per frame).
    pub fn with_siphash_mask(mut self) -> AeadFloor {
        self.mask = Some(SipLengthMask::new(&[7; 16], [9; 8]));
        self
    }

    /// Add `steps` HKDF-SHA256 ratchet steps (64-byte output) per operation.
    pub fn with_hkdf_steps(mut self, steps: usize) -> AeadFloor {
        self.hkdf_steps = steps;
        self
    }

    fn ratchet(&mut self) {
        for i in 0..self.hkdf_steps {
            // alternate the tag chain (32-byte constant as input) and the key chain (none)
            let ikm: &[u8] = if i % 2 == 0 { &self.constant } else { &[] };
            let (ck, out) = hkdf2(&self.chain, ikm, b"SessionTagKeyGen");
            self.chain = *ck;
            black_box(&*out);
        }
    }
}

impl Bench for AeadFloor {
    fn prepare(&mut self, iters: usize) {
        if self.direction == Direction::Seal {
            return;
        }
        self.bufs.resize_with(iters, || (Vec::new(), [0; 16]));
        for (i, (buf, tag)) in self.bufs.iter_mut().enumerate() {
            buf.clear();
            buf.resize(self.len, 0x66);
            let n = noise_nonce(self.nonce + i as u64);
            *tag = encrypt_detached(&self.key, &n, &self.ad, buf);
        }
    }

    fn run(&mut self, iters: usize) -> usize {
        let mut failed = 0;
        match self.direction {
            Direction::Seal => {
                for _ in 0..iters {
                    if let Some(m) = self.mask.as_mut() {
                        black_box(m.next_mask());
                    }
                    self.ratchet();
                    let n = noise_nonce(self.nonce);
                    self.nonce += 1;
                    if let Some((buf, _)) = self.bufs.first_mut() {
                        black_box(encrypt_detached(&self.key, &n, &self.ad, buf));
                    }
                }
            }
            Direction::Open => {
                let mut bufs = std::mem::take(&mut self.bufs);
                for (buf, tag) in bufs.iter_mut().take(iters) {
                    if let Some(m) = self.mask.as_mut() {
                        black_box(m.next_mask());
                    }
                    self.ratchet();
                    let n = noise_nonce(self.nonce);
                    self.nonce += 1;
                    if decrypt_detached(&self.key, &n, &self.ad, buf, tag).is_err() {
                        failed += 1;
                    }
                    black_box(&buf);
                }
                failed += iters.saturating_sub(bufs.len());
                self.bufs = bufs;
            }
        }
        failed
    }
}

/// One tunnel layer as its bare AES-256 steps on a 1024-byte payload: ECB on the IV, CBC over
/// the 1008 data bytes chained from it, ECB on the IV again.
#[derive(Debug)]
pub struct TunnelLayerFloor {
    iv_key: Aes256,
    layer_key: Aes256,
    iv: [u8; 16],
    data: Vec<u8>,
}

impl TunnelLayerFloor {
    pub fn new() -> TunnelLayerFloor {
        TunnelLayerFloor {
            iv_key: Aes256::new(&[1; 32]),
            layer_key: Aes256::new(&[2; 32]),
            iv: [3; 16],
            data: vec![4; 1008],
        }
    }
}

impl Default for TunnelLayerFloor {
    fn default() -> Self {
        TunnelLayerFloor::new()
    }
}

impl Bench for TunnelLayerFloor {
    fn run(&mut self, iters: usize) -> usize {
        let mut failed = 0;
        for _ in 0..iters {
            self.iv_key.encrypt_block(&mut self.iv);
            let mut chain = self.iv;
            if self
                .layer_key
                .cbc_encrypt(&mut chain, &mut self.data)
                .is_err()
            {
                failed += 1;
            }
            self.iv_key.encrypt_block(&mut self.iv);
            black_box((&self.iv, &self.data));
        }
        failed
    }
}

/// The tunnel payload checksums: per payload, SHA-256 over `content ‖ IV` (the lengths the
/// path's payloads really hash), plus one copy of the whole message.
#[derive(Debug)]
pub struct ChecksumFloor {
    hashed: Vec<usize>,
    src: Vec<u8>,
    dst: Vec<u8>,
    scratch: Vec<u8>,
}

impl ChecksumFloor {
    /// `hashed`: bytes hashed per payload (content plus the 16-byte IV); `message_len`: bytes
    /// copied once.
    pub fn new(hashed: Vec<usize>, message_len: usize) -> ChecksumFloor {
        ChecksumFloor {
            hashed,
            src: vec![0x5a; message_len],
            dst: vec![0; message_len],
            scratch: vec![0x77; 1024],
        }
    }
}

impl Bench for ChecksumFloor {
    fn run(&mut self, iters: usize) -> usize {
        for _ in 0..iters {
            for &n in &self.hashed {
                let content = n.saturating_sub(16).min(self.scratch.len() - 16);
                let (iv, rest) = self.scratch.split_at(16);
                black_box(sha256_parts(&[&rest[..content], iv]));
            }
            self.dst.copy_from_slice(black_box(&self.src));
            black_box(&self.dst);
        }
        0
    }
}

/// Memory movement only: `copies` copies of `len` bytes (for paths without cryptography).
#[derive(Debug)]
pub struct CopyFloor {
    copies: usize,
    a: Vec<u8>,
    b: Vec<u8>,
}

impl CopyFloor {
    pub fn new(len: usize, copies: usize) -> CopyFloor {
        CopyFloor {
            copies,
            a: vec![0x11; len],
            b: vec![0; len],
        }
    }
}

impl Bench for CopyFloor {
    fn run(&mut self, iters: usize) -> usize {
        for _ in 0..iters {
            for _ in 0..self.copies {
                self.b.copy_from_slice(black_box(&self.a));
                std::mem::swap(&mut self.a, &mut self.b);
            }
            black_box(&self.a);
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aead_open_floor_authenticates_what_it_prepared() {
        let mut f = AeadFloor::new(Direction::Open, 100, 8)
            .with_siphash_mask()
            .with_hkdf_steps(2);
        for n in [1, 5, 3] {
            f.prepare(n);
            assert_eq!(f.run(n), 0);
        }
        // a batch larger than what was prepared counts the missing ones as failures
        f.prepare(2);
        assert_eq!(f.run(3), 1);
    }
}
