//! AES-256 in the two modes I2P uses: CBC without padding (NTCP2 ephemeral-key obfuscation,
//! tunnel layer encryption) and single-block ECB (tunnel IV encryption,
//! spec/tunnel-implementation.md).
//!
//! CBC is written out over the block cipher so callers can carry the chaining state across
//! messages: NTCP2 encrypts message 2's key with the IV that message 1 ended on (spec/ntcp2.md,
//! "Key obfuscation").

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use thiserror::Error;
use zeroize::Zeroize;

/// The input was not a whole number of 16-byte blocks.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("AES-CBC input of {0} bytes is not a multiple of 16")]
pub struct NotBlockAligned(pub usize);

/// An expanded AES-256 key. The round keys are erased on drop by the `aes` crate's zeroize
/// support; `Debug` prints nothing.
#[derive(Clone)]
pub struct Aes256(aes::Aes256);

impl std::fmt::Debug for Aes256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aes256([redacted])")
    }
}

impl Aes256 {
    pub fn new(key: &[u8; 32]) -> Aes256 {
        Aes256(aes::Aes256::new(key.into()))
    }

    /// Encrypt one block in place (ECB).
    pub fn encrypt_block(&self, block: &mut [u8; 16]) {
        self.0.encrypt_block(block.into());
    }

    /// Decrypt one block in place (ECB).
    pub fn decrypt_block(&self, block: &mut [u8; 16]) {
        self.0.decrypt_block(block.into());
    }

    /// CBC-encrypt `buf` in place starting from `iv`; `iv` is updated to the last ciphertext
    /// block, so a following call continues the chain.
    pub fn cbc_encrypt(&self, iv: &mut [u8; 16], buf: &mut [u8]) -> Result<(), NotBlockAligned> {
        if !buf.len().is_multiple_of(16) {
            return Err(NotBlockAligned(buf.len()));
        }
        for chunk in buf.chunks_exact_mut(16) {
            let block: &mut [u8; 16] = chunk.try_into().map_err(|_| NotBlockAligned(16))?;
            for (b, v) in block.iter_mut().zip(iv.iter()) {
                *b ^= v;
            }
            self.encrypt_block(block);
            iv.copy_from_slice(block);
        }
        Ok(())
    }

    /// CBC-decrypt `buf` in place starting from `iv`; `iv` is updated to the last ciphertext
    /// block.
    pub fn cbc_decrypt(&self, iv: &mut [u8; 16], buf: &mut [u8]) -> Result<(), NotBlockAligned> {
        if !buf.len().is_multiple_of(16) {
            return Err(NotBlockAligned(buf.len()));
        }
        let mut prev = *iv;
        for chunk in buf.chunks_exact_mut(16) {
            let block: &mut [u8; 16] = chunk.try_into().map_err(|_| NotBlockAligned(16))?;
            let ct = *block;
            self.decrypt_block(block);
            for (b, v) in block.iter_mut().zip(prev.iter()) {
                *b ^= v;
            }
            prev = ct;
        }
        *iv = prev;
        prev.zeroize();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const KEY: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    const PT: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51
                      30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

    #[test]
    fn sp800_38a_ecb_and_cbc_aes256() {
        let key: [u8; 32] = hex(KEY).try_into().unwrap();
        let aes = Aes256::new(&key);
        // F.1.5 ECB-AES256.Encrypt, block 1
        let mut block: [u8; 16] = hex("6bc1bee22e409f96e93d7e117393172a").try_into().unwrap();
        aes.encrypt_block(&mut block);
        assert_eq!(block.to_vec(), hex("f3eed1bdb5d2a03c064b5a7e3db181f8"));
        aes.decrypt_block(&mut block);
        assert_eq!(block.to_vec(), hex("6bc1bee22e409f96e93d7e117393172a"));

        // F.2.5 CBC-AES256.Encrypt, in two calls to prove the chaining state carries over
        let iv0: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let mut buf = hex(PT);
        let mut iv = iv0;
        aes.cbc_encrypt(&mut iv, &mut buf[..16]).unwrap();
        aes.cbc_encrypt(&mut iv, &mut buf[16..]).unwrap();
        assert_eq!(
            buf,
            hex(
                "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d
                 39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"
            )
        );
        assert_eq!(iv.to_vec(), buf[48..].to_vec());
        let mut iv = iv0;
        aes.cbc_decrypt(&mut iv, &mut buf).unwrap();
        assert_eq!(buf, hex(PT));
        assert_eq!(
            aes.cbc_encrypt(&mut iv, &mut [0u8; 15]),
            Err(NotBlockAligned(15))
        );
    }
}
