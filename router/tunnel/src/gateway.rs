//! The inbound gateway's job (spec/tunnel-message.md): turn one I2NP message (standard 16-byte
//! header form) into TunnelData payloads for the tunnel's endpoint, with "local" delivery
//! instructions, fragmenting what does not fit.
//!
//! Each 1024-byte payload (the part of a TunnelData message after the tunnel id) is laid out as
//! `IV (16) ‖ checksum (4) ‖ non-zero padding ‖ 0x00 ‖ instructions and fragments`, the content
//! sitting at the end; the checksum is the first 4 bytes of SHA-256(content ‖ IV) as the
//! endpoint sees it after every layer is removed. We put one message's fragments in payloads
//! of their own (no packing of several messages into one payload): simpler, and any endpoint
//! reads it. The caller adds its own layer with [`crate::transit::LayerCipher::encrypt`].
//!
//! Fragment headers (i2pd `TunnelGateway.cpp` / `TunnelEndpoint.cpp`): a first fragment starts
//! with a flag byte (bit 7 clear, delivery type in bits 6–5 — 0 is local — bit 3 "fragmented"),
//! then the message id if fragmented, then a 2-byte size; a follow-on fragment's flag byte has
//! bit 7 set, the fragment number (1–63) in bits 6–1 and "last" in bit 0, then the message id
//! and a 2-byte size.

use i2p_crypto::{CryptoRng, sha256_parts};
use thiserror::Error;

/// A TunnelData payload after the tunnel id.
pub const PAYLOAD_LEN: usize = 1024;
const IV_LEN: usize = 16;
/// checksum (4) + the zero byte (1)
const OVERHEAD: usize = 5;
/// Room for instructions and fragment data in one payload.
pub const CONTENT_MAX: usize = PAYLOAD_LEN - IV_LEN - OVERHEAD;
const FIRST_UNFRAGMENTED_HEADER: usize = 3;
const FIRST_FRAGMENTED_HEADER: usize = 7;
const FOLLOW_ON_HEADER: usize = 7;
const MAX_FOLLOW_ONS: usize = 63;
/// The largest message a gateway can send (one first fragment and 63 follow-ons).
pub const MAX_MESSAGE: usize =
    (CONTENT_MAX - FIRST_FRAGMENTED_HEADER) + MAX_FOLLOW_ONS * (CONTENT_MAX - FOLLOW_ON_HEADER);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum GatewayError {
    #[error("a {0}-byte message does not fit in a tunnel (at most {MAX_MESSAGE})")]
    TooLarge(usize),
    #[error("an empty message")]
    Empty,
}

/// Fragment `message` (an I2NP message in standard-header form) for local delivery at the
/// tunnel endpoint. `msg_id` identifies the fragments of a fragmented message.
pub fn fragment_local<R: CryptoRng + ?Sized>(
    message: &[u8],
    msg_id: u32,
    rng: &mut R,
) -> Result<Vec<[u8; PAYLOAD_LEN]>, GatewayError> {
    if message.is_empty() {
        return Err(GatewayError::Empty);
    }
    if message.len() > MAX_MESSAGE {
        return Err(GatewayError::TooLarge(message.len()));
    }
    let mut contents: Vec<Vec<u8>> = Vec::new();
    if message.len() + FIRST_UNFRAGMENTED_HEADER <= CONTENT_MAX {
        let mut c = Vec::with_capacity(message.len() + FIRST_UNFRAGMENTED_HEADER);
        c.push(0x00);
        c.extend_from_slice(&(message.len() as u16).to_be_bytes());
        c.extend_from_slice(message);
        contents.push(c);
    } else {
        let first_len = CONTENT_MAX - FIRST_FRAGMENTED_HEADER;
        let (first, mut rest) = message.split_at(first_len);
        let mut c = Vec::with_capacity(CONTENT_MAX);
        c.push(0x08);
        c.extend_from_slice(&msg_id.to_be_bytes());
        c.extend_from_slice(&(first.len() as u16).to_be_bytes());
        c.extend_from_slice(first);
        contents.push(c);
        let mut number: u8 = 1;
        while !rest.is_empty() {
            let take = rest.len().min(CONTENT_MAX - FOLLOW_ON_HEADER);
            let (part, tail) = rest.split_at(take);
            let last = tail.is_empty();
            let mut c = Vec::with_capacity(take + FOLLOW_ON_HEADER);
            c.push(0x80 | (number << 1) | u8::from(last));
            c.extend_from_slice(&msg_id.to_be_bytes());
            c.extend_from_slice(&(part.len() as u16).to_be_bytes());
            c.extend_from_slice(part);
            contents.push(c);
            rest = tail;
            number = number.saturating_add(1);
        }
    }
    Ok(contents
        .into_iter()
        .map(|content| payload(&content, rng))
        .collect())
}

/// Lay out one payload around `content` (at most [`CONTENT_MAX`] bytes).
fn payload<R: CryptoRng + ?Sized>(content: &[u8], rng: &mut R) -> [u8; PAYLOAD_LEN] {
    let mut p = [0u8; PAYLOAD_LEN];
    let (iv, body) = p.split_at_mut(IV_LEN);
    rng.fill_bytes(iv);
    let content_at = body.len() - content.len();
    let zero_at = content_at - 1;
    // non-zero padding between the checksum and the zero byte
    if let Some(padding) = body.get_mut(4..zero_at) {
        for b in padding {
            let mut x = [0u8; 1];
            while x[0] == 0 {
                rng.fill_bytes(&mut x);
            }
            *b = x[0];
        }
    }
    if let Some(z) = body.get_mut(zero_at) {
        *z = 0;
    }
    body[content_at..].copy_from_slice(content);
    let sum = sha256_parts(&[content, iv]);
    body[..4].copy_from_slice(&sum[..4]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a payload the way the spec describes it (independently of the writer above):
    /// find the first zero after the checksum, check the checksum, return the content.
    fn content_of(p: &[u8; PAYLOAD_LEN]) -> &[u8] {
        let iv = &p[..16];
        let body = &p[16..];
        let zero = 4 + body[4..].iter().position(|&b| b == 0).expect("zero byte");
        let content = &body[zero + 1..];
        let mut h = Vec::new();
        h.extend_from_slice(content);
        h.extend_from_slice(iv);
        let sum = i2p_crypto::sha256(&h);
        assert_eq!(&body[..4], &sum[..4], "checksum");
        content
    }

    #[test]
    fn small_message_is_one_unfragmented_local_fragment() {
        let msg: Vec<u8> = (0..300u32).map(|i| (i % 251) as u8 + 1).collect();
        let ps = fragment_local(&msg, 7, &mut rand::rng()).unwrap();
        assert_eq!(ps.len(), 1);
        let c = content_of(&ps[0]);
        assert_eq!(c[0], 0x00, "first fragment, local, not fragmented");
        assert_eq!(u16::from_be_bytes([c[1], c[2]]), 300);
        assert_eq!(&c[3..], &msg[..]);
    }

    #[test]
    fn exactly_full_and_one_byte_more() {
        let full = vec![9u8; CONTENT_MAX - 3];
        let ps = fragment_local(&full, 1, &mut rand::rng()).unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(content_of(&ps[0]).len(), CONTENT_MAX);
        let more = vec![9u8; CONTENT_MAX - 2];
        assert_eq!(fragment_local(&more, 1, &mut rand::rng()).unwrap().len(), 2);
    }

    #[test]
    fn large_message_is_fragmented_and_reassembles() {
        let msg: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
        let ps = fragment_local(&msg, 0xabcd_0123, &mut rand::rng()).unwrap();
        assert_eq!(ps.len(), 6);
        let mut joined = Vec::new();
        for (i, p) in ps.iter().enumerate() {
            let c = content_of(p);
            if i == 0 {
                assert_eq!(c[0], 0x08, "first fragment, local, fragmented");
                assert_eq!(&c[1..5], &0xabcd_0123u32.to_be_bytes());
                let n = usize::from(u16::from_be_bytes([c[5], c[6]]));
                assert_eq!(c.len(), 7 + n);
                joined.extend_from_slice(&c[7..]);
            } else {
                assert_eq!(c[0] & 0x80, 0x80, "follow-on");
                assert_eq!(usize::from((c[0] >> 1) & 0x3f), i, "fragment number");
                assert_eq!(c[0] & 1 == 1, i == ps.len() - 1, "last flag");
                assert_eq!(&c[1..5], &0xabcd_0123u32.to_be_bytes());
                let n = usize::from(u16::from_be_bytes([c[5], c[6]]));
                assert_eq!(c.len(), 7 + n);
                joined.extend_from_slice(&c[7..]);
            }
        }
        assert_eq!(joined, msg);
    }

    #[test]
    fn limits() {
        assert_eq!(
            fragment_local(&[], 1, &mut rand::rng()).unwrap_err(),
            GatewayError::Empty
        );
        let too_big = vec![1u8; MAX_MESSAGE + 1];
        assert_eq!(
            fragment_local(&too_big, 1, &mut rand::rng()).unwrap_err(),
            GatewayError::TooLarge(MAX_MESSAGE + 1)
        );
        assert_eq!(
            fragment_local(&vec![1u8; MAX_MESSAGE], 1, &mut rand::rng())
                .unwrap()
                .len(),
            64
        );
    }
}
