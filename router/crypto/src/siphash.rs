//! SipHash-2-4, used by NTCP2 to obfuscate frame lengths (spec/ntcp2.md, "SipHash obfuscated
//! length"): each frame's 2-byte length is XORed with a mask taken from a SipHash output, and
//! that output becomes the input ("IV") for the next frame.
//!
//! Byte order, as i2pd and Java I2P do it (the spec leaves it open): the mask is the first two
//! output bytes read as a little-endian u16, XORed with the length value, and the result is
//! written big-endian. So the first length byte on the wire is masked with output byte 1.

use std::hash::Hasher;

/// SipHash-2-4 with the 128-bit key given as two little-endian u64 halves.
pub fn siphash24(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut h = siphasher::sip::SipHasher24::new_with_keys(k0, k1);
    h.write(data);
    h.finish()
}

/// One direction of NTCP2 length obfuscation: keys and the chained 8-byte IV.
#[derive(Clone)]
pub struct SipLengthMask {
    k0: u64,
    k1: u64,
    iv: [u8; 8],
}

impl std::fmt::Debug for SipLengthMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SipLengthMask([redacted])")
    }
}

impl SipLengthMask {
    /// `key` is the 16-byte SipHash key from the data-phase KDF (k0 = first 8 bytes,
    /// little-endian), `iv` the initial 8-byte IV.
    pub fn new(key: &[u8; 16], iv: [u8; 8]) -> SipLengthMask {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&key[..8]);
        b.copy_from_slice(&key[8..]);
        SipLengthMask {
            k0: u64::from_le_bytes(a),
            k1: u64::from_le_bytes(b),
            iv,
        }
    }

    /// The next mask: IV := SipHash(IV) (8 bytes, little-endian), mask = IV[0..2] as a
    /// little-endian u16, to be XORed with the length value before it is written big-endian.
    pub fn next_mask(&mut self) -> u16 {
        self.iv = siphash24(self.k0, self.k1, &self.iv).to_le_bytes();
        u16::from_le_bytes([self.iv[0], self.iv[1]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_paper_vector() {
        // SipHash paper, appendix A: key 00..0f, message 00..0e → a129ca6149be45e5
        let key: Vec<u8> = (0u8..16).collect();
        let k0 = u64::from_le_bytes(key[..8].try_into().unwrap());
        let k1 = u64::from_le_bytes(key[8..].try_into().unwrap());
        let msg: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash24(k0, k1, &msg), 0xa129ca6149be45e5);
    }

    #[test]
    fn mask_chains_the_iv() {
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mut m = SipLengthMask::new(&key, [7; 8]);
        let first = m.next_mask();
        let k0 = u64::from_le_bytes(key[..8].try_into().unwrap());
        let k1 = u64::from_le_bytes(key[8..].try_into().unwrap());
        let h1 = siphash24(k0, k1, &[7; 8]).to_le_bytes();
        assert_eq!(first, u16::from_le_bytes([h1[0], h1[1]]));
        let h2 = siphash24(k0, k1, &h1).to_le_bytes();
        assert_eq!(m.next_mask(), u16::from_le_bytes([h2[0], h2[1]]));
    }
}
