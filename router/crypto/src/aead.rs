//! ChaCha20-Poly1305 (RFC 8439) with the nonce layout Noise and I2P use, and the raw ChaCha20
//! stream cipher (SSU2 header protection, tunnel-build layer encryption).
//!
//! Noise nonce: 4 zero bytes then the 64-bit counter little-endian (spec/ntcp2.md,
//! "Authenticated Encryption"). Hot paths (NTCP2 frames, garlic) encrypt in place with the
//! 16-byte tag detached, so no call allocates.

use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit};
use thiserror::Error;

/// Length of the Poly1305 authentication tag.
pub const TAG_LEN: usize = 16;

/// Authentication failed (or the buffer was too short to hold a tag).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("AEAD authentication failed")]
pub struct AeadError;

/// The 12-byte nonce for a Noise counter.
pub fn noise_nonce(n: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&n.to_le_bytes());
    nonce
}

fn cipher(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(key.into())
}

/// Encrypt `buf` in place under a 12-byte nonce; returns the tag.
pub fn encrypt_detached(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    // encryption only fails for inputs longer than 2^38 bytes, which I2P never produces;
    // a zero tag would then make the receiver drop the message.
    match cipher(key).encrypt_inout_detached(nonce.into(), ad, buf.into()) {
        Ok(tag) => tag.into(),
        Err(_) => [0u8; 16],
    }
}

/// Decrypt `buf` in place and check `tag`. On failure `buf` is left encrypted.
pub fn decrypt_detached(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ad: &[u8],
    buf: &mut [u8],
    tag: &[u8; 16],
) -> Result<(), AeadError> {
    cipher(key)
        .decrypt_inout_detached(nonce.into(), ad, buf.into(), tag.into())
        .map_err(|_| AeadError)
}

/// Encrypt `plaintext` into a new `Vec` holding ciphertext ‖ tag.
pub fn seal(key: &[u8; 32], nonce: &[u8; 12], ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = encrypt_detached(key, nonce, ad, &mut out);
    out.extend_from_slice(&tag);
    out
}

/// Decrypt ciphertext ‖ tag into a new `Vec`.
pub fn open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, AeadError> {
    let split = sealed.len().checked_sub(TAG_LEN).ok_or(AeadError)?;
    let (ct, tag) = sealed.split_at(split);
    let tag: &[u8; 16] = tag.try_into().map_err(|_| AeadError)?;
    let mut out = ct.to_vec();
    decrypt_detached(key, nonce, ad, &mut out, tag)?;
    Ok(out)
}

/// Decrypt ciphertext ‖ tag in place in `buf`; returns the plaintext length
/// (`buf.len() - 16`). On failure `buf` is unchanged.
pub fn open_in_place(
    key: &[u8; 32],
    nonce: &[u8; 12],
    ad: &[u8],
    buf: &mut [u8],
) -> Result<usize, AeadError> {
    let split = buf.len().checked_sub(TAG_LEN).ok_or(AeadError)?;
    let (ct, tag) = buf.split_at_mut(split);
    let tag: [u8; 16] = (&*tag).try_into().map_err(|_| AeadError)?;
    decrypt_detached(key, nonce, ad, ct, &tag)?;
    Ok(split)
}

/// XOR `buf` with the raw ChaCha20 (RFC 8439, 32-bit block counter) keystream, starting at
/// keystream byte `offset` (block counter `offset / 64`).
pub fn chacha20_xor(key: &[u8; 32], nonce: &[u8; 12], offset: u64, buf: &mut [u8]) {
    let mut c = chacha20::ChaCha20::new(key.into(), nonce.into());
    c.seek(offset);
    c.apply_keystream(buf);
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

    #[test]
    fn rfc8439_section_2_8_2() {
        let key: [u8; 32] = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
            .try_into()
            .unwrap();
        let nonce: [u8; 12] = hex("070000004041424344454647").try_into().unwrap();
        let ad = hex("50515253c0c1c2c3c4c5c6c7");
        let pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let sealed = seal(&key, &nonce, &ad, pt);
        let expected_ct = hex(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
             3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
             92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
             3ff4def08e4b7a9de576d26586cec64b6116",
        );
        assert_eq!(&sealed[..pt.len()], &expected_ct[..]);
        assert_eq!(
            &sealed[pt.len()..],
            &hex("1ae10b594f09e26a7e902ecbd0600691")[..]
        );
        assert_eq!(open(&key, &nonce, &ad, &sealed).unwrap(), pt.to_vec());
        let mut bad = sealed.clone();
        bad[3] ^= 1;
        assert_eq!(open(&key, &nonce, &ad, &bad), Err(AeadError));
        assert_eq!(open(&key, &nonce, b"other ad", &sealed), Err(AeadError));
        assert_eq!(open(&key, &nonce, &ad, &sealed[..10]), Err(AeadError));
        let mut inplace = sealed.clone();
        let n = open_in_place(&key, &nonce, &ad, &mut inplace).unwrap();
        assert_eq!(&inplace[..n], &pt[..]);
    }

    #[test]
    fn rfc8439_section_2_4_2_keystream_at_counter_1() {
        let key: [u8; 32] = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .try_into()
            .unwrap();
        let nonce: [u8; 12] = hex("000000000000004a00000000").try_into().unwrap();
        let mut buf = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec();
        chacha20_xor(&key, &nonce, 64, &mut buf);
        assert_eq!(
            &buf[..16],
            &hex("6e2e359a2568f98041ba0728dd0d6981")[..],
            "counter 1 = keystream offset 64"
        );
    }

    #[test]
    fn noise_nonce_layout() {
        assert_eq!(noise_nonce(1), [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(noise_nonce(0x0102), [0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0]);
    }
}
