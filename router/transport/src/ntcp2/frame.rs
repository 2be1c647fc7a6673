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
        let l = len.to_be_bytes();
        out.extend_from_slice(&[l[0] ^ m[0], l[1] ^ m[1]]);
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
        let len = usize::from(u16::from_be_bytes([
            obfuscated[0] ^ m[0],
            obfuscated[1] ^ m[1],
        ]));
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
