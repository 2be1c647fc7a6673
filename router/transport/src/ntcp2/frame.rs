//! NTCP2 data-phase framing (spec/ntcp2.md, "Data Phase"): each frame is a 2-byte length,
//! XORed with a SipHash-derived mask, followed by a ChaCha20-Poly1305 frame (no associated
//! data, nonce counting from 0 per direction). The two directions are independent, so the
//! sender and receiver halves can live in different tasks.

use i2p_crypto::CipherState;
use i2p_crypto::siphash::SipLengthMask;
use thiserror::Error;

use super::block::MAX_FRAME_PLAINTEXT;

/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Smallest and largest encrypted frame (the tag alone, and the 2-byte length's maximum).
pub const MIN_FRAME_LEN: usize = TAG_LEN;
pub const MAX_FRAME_LEN: usize = 65535;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame length {0} is below the 16-byte minimum")]
    TooShort(usize),
    #[error("frame plaintext of {0} bytes exceeds 65519")]
    TooLong(usize),
    #[error("frame authentication failed")]
    Aead,
    #[error("nonce space exhausted")]
    Exhausted,
}

/// Both directions of an established session.
#[derive(Debug)]
pub struct DataPhase {
    pub send: FrameSender,
    pub recv: FrameReceiver,
}

/// Encrypts outgoing frames.
#[derive(Debug)]
pub struct FrameSender {
    cipher: CipherState,
    mask: SipLengthMask,
}

impl FrameSender {
    pub(crate) fn new(cipher: CipherState, mask: SipLengthMask) -> FrameSender {
        FrameSender { cipher, mask }
    }

    /// Append `obfuscated length ‖ ciphertext ‖ tag` for `plaintext` to `out`.
    pub fn seal_into(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        if plaintext.len() > MAX_FRAME_PLAINTEXT {
            return Err(FrameError::TooLong(plaintext.len()));
        }
        let len = (plaintext.len() + TAG_LEN) as u16;
        let m = self.mask.next_mask();
        out.extend_from_slice(&(len ^ m).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_in_place(&[], &mut out[start..])
            .map_err(|_| FrameError::Exhausted)?
            .ok_or(FrameError::Exhausted)?;
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Frames sent so far.
    pub fn frames(&self) -> u64 {
        self.cipher.nonce()
    }
}

/// Decrypts incoming frames: call [`FrameReceiver::frame_len`] on each 2-byte length, read that
/// many bytes, then [`FrameReceiver::open`].
#[derive(Debug)]
pub struct FrameReceiver {
    cipher: CipherState,
    mask: SipLengthMask,
}

impl FrameReceiver {
    pub(crate) fn new(cipher: CipherState, mask: SipLengthMask) -> FrameReceiver {
        FrameReceiver { cipher, mask }
    }

    /// De-obfuscate the next frame's length.
    pub fn frame_len(&mut self, obfuscated: [u8; 2]) -> Result<usize, FrameError> {
        let m = self.mask.next_mask();
        let len = usize::from(u16::from_be_bytes(obfuscated) ^ m);
        if len < MIN_FRAME_LEN {
            return Err(FrameError::TooShort(len));
        }
        Ok(len)
    }

    /// Authenticate and decrypt a frame in place; returns the plaintext length.
    pub fn open(&mut self, frame: &mut [u8]) -> Result<usize, FrameError> {
        self.cipher
            .decrypt_in_place(&[], frame)
            .map_err(|_| FrameError::Aead)
    }

    /// Frames received and authenticated so far (the Termination block's counter).
    pub fn frames(&self) -> u64 {
        self.cipher.nonce()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use i2p_crypto::siphash::siphash24;

    /// The byte order i2pd 2.45.1 uses (NTCP2.cpp, SetNextSentFrameLength): the first two
    /// SipHash output bytes form a little-endian u16 that is XORed with the length, and the
    /// result goes out big-endian — so the high length byte meets output byte 1.
    #[test]
    fn length_mask_byte_order_matches_i2pd() {
        let key: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
        let iv = [9u8; 8];
        let mut sender = FrameSender::new(CipherState::new([3; 32]), SipLengthMask::new(&key, iv));
        let plaintext = vec![0u8; 0x0102 - TAG_LEN];
        let mut out = Vec::new();
        sender.seal_into(&plaintext, &mut out).unwrap();
        let k0 = u64::from_le_bytes(key[..8].try_into().unwrap());
        let k1 = u64::from_le_bytes(key[8..].try_into().unwrap());
        let h = siphash24(k0, k1, &iv).to_le_bytes();
        assert_eq!(out[0], 0x01 ^ h[1]);
        assert_eq!(out[1], 0x02 ^ h[0]);

        let mut receiver =
            FrameReceiver::new(CipherState::new([3; 32]), SipLengthMask::new(&key, iv));
        assert_eq!(receiver.frame_len([out[0], out[1]]).unwrap(), 0x0102);
        let mut frame = out[2..].to_vec();
        assert_eq!(receiver.open(&mut frame).unwrap(), plaintext.len());
    }
}
