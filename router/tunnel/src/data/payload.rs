//! Laying out and reading a decrypted payload: `IV ‖ checksum ‖ non-zero padding ‖ 0x00 ‖
//! content` (spec/tunnel-message.md, "Tunnel Message (Decrypted)").

use i2p_crypto::{CryptoRng, sha256_parts};
use thiserror::Error;

use super::fragment::{FragmentError, FragmentHeader};
use super::{CHECKSUM_LEN, IV_LEN, MAX_CONTENT_LEN, PAYLOAD_LEN, Payload};

/// Where the checksum starts (right after the IV).
const CHECKSUM_AT: usize = IV_LEN;
/// Where the padding starts.
const PADDING_AT: usize = IV_LEN + CHECKSUM_LEN;

/// A decrypted payload that cannot be read.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// No zero byte ends the padding: not a tunnel message (or a layer key is wrong).
    #[error("no zero byte after the checksum")]
    NoZeroByte,
    /// The checksum does not match content and IV (corrupted, or a layer key is wrong).
    #[error("checksum mismatch")]
    BadChecksum,
    /// A fragment header is malformed. `offset` counts from the start of the payload.
    #[error("fragment header at payload offset {offset}: {error}")]
    Fragment { offset: usize, error: FragmentError },
    /// A fragment announces more data than the payload has left.
    #[error("fragment at payload offset {offset} announces {size} bytes, {available} are left")]
    FragmentOverrun {
        offset: usize,
        size: usize,
        available: usize,
    },
}

/// One fragment of a payload: its header and the message bytes it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub header: FragmentHeader,
    pub data: &'a [u8],
}

/// Check a decrypted payload's checksum and split its content into fragments. Nothing is
/// returned unless the whole content parses. Content that is empty (cover traffic, which
/// nobody sends today) gives no fragments.
pub fn parse_payload(payload: &Payload) -> Result<Vec<Fragment<'_>>, PayloadError> {
    let (content, content_at) = checked_content(payload)?;
    let mut fragments = Vec::new();
    let mut pos = 0usize;
    while let Some(rest) = content.get(pos..).filter(|rest| !rest.is_empty()) {
        let offset = content_at.saturating_add(pos);
        let (header, header_len) = FragmentHeader::parse(rest)
            .map_err(|error| PayloadError::Fragment { offset, error })?;
        let size = usize::from(header.size());
        let data = rest
            .get(header_len..)
            .and_then(|after| after.get(..size))
            .ok_or(PayloadError::FragmentOverrun {
                offset,
                size,
                available: rest.len().saturating_sub(header_len),
            })?;
        fragments.push(Fragment { header, data });
        pos = pos.saturating_add(header_len).saturating_add(size);
    }
    Ok(fragments)
}

/// The content of a decrypted payload after its checksum was verified, and where it starts.
fn checked_content(payload: &Payload) -> Result<(&[u8], usize), PayloadError> {
    let iv = payload.get(..IV_LEN).unwrap_or_default();
    let checksum = payload.get(CHECKSUM_AT..PADDING_AT).unwrap_or_default();
    let after_checksum = payload.get(PADDING_AT..).unwrap_or_default();
    let zero = after_checksum
        .iter()
        .position(|&b| b == 0)
        .ok_or(PayloadError::NoZeroByte)?;
    let content_at = PADDING_AT.saturating_add(zero).saturating_add(1);
    let content = payload.get(content_at..).unwrap_or_default();
    let hash = sha256_parts(&[content, iv]);
    if hash.get(..CHECKSUM_LEN) != Some(checksum) {
        return Err(PayloadError::BadChecksum);
    }
    Ok((content, content_at))
}

/// Lay out a plaintext payload around `content` (at most [`MAX_CONTENT_LEN`] bytes; more is
/// cut): a random IV, the checksum, random non-zero padding, the zero byte and the content at
/// the end.
pub(super) fn build_payload<R: CryptoRng + ?Sized>(content: &[u8], rng: &mut R) -> Box<Payload> {
    let content = content.get(..MAX_CONTENT_LEN).unwrap_or(content);
    let mut p = Box::new([0u8; PAYLOAD_LEN]);
    let content_at = PAYLOAD_LEN - content.len();
    let zero_at = content_at - 1;
    if let Some(iv) = p.get_mut(..IV_LEN) {
        rng.fill_bytes(iv);
    }
    if let Some(padding) = p.get_mut(PADDING_AT..zero_at) {
        fill_non_zero(padding, rng);
    }
    // p[zero_at] stays 0
    if let Some(dst) = p.get_mut(content_at..) {
        dst.copy_from_slice(content);
    }
    let hash = sha256_parts(&[content, p.get(..IV_LEN).unwrap_or_default()]);
    if let (Some(dst), Some(src)) = (p.get_mut(CHECKSUM_AT..PADDING_AT), hash.get(..CHECKSUM_LEN)) {
        dst.copy_from_slice(src);
    }
    p
}

/// Random bytes, none of them zero (zeros are redrawn, so the rest stay uniform over 1–255).
fn fill_non_zero<R: CryptoRng + ?Sized>(buf: &mut [u8], rng: &mut R) {
    rng.fill_bytes(buf);
    for b in buf.iter_mut() {
        while *b == 0 {
            let mut one = [0u8; 1];
            rng.fill_bytes(&mut one);
            let [x] = one;
            *b = x;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::data::DeliveryInstructions;

    #[test]
    fn layout_of_a_built_payload() {
        let content = [0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc];
        let p = build_payload(&content, &mut rand::rng());
        assert_eq!(&p[PAYLOAD_LEN - 6..], &content);
        assert_eq!(p[PAYLOAD_LEN - 7], 0, "zero byte right before the content");
        assert!(
            p[20..PAYLOAD_LEN - 7].iter().all(|&b| b != 0),
            "non-zero padding"
        );
        let sum = i2p_crypto::sha256(&[&content[..], &p[..16]].concat());
        assert_eq!(&p[16..20], &sum[..4]);
        let frags = parse_payload(&p).unwrap();
        assert_eq!(frags.len(), 1);
        assert_eq!(frags[0].data, &[0xaa, 0xbb, 0xcc]);
        assert_eq!(
            frags[0].header,
            FragmentHeader::First {
                instructions: DeliveryInstructions::Local,
                message_id: None,
                size: 3
            }
        );
    }

    #[test]
    fn full_and_empty_content() {
        let full = vec![0x5a; MAX_CONTENT_LEN];
        let p = build_payload(&full, &mut rand::rng());
        assert_eq!(p[20], 0, "no padding: the zero byte follows the checksum");
        let (c, at) = checked_content(&p).unwrap();
        assert_eq!((c.len(), at), (MAX_CONTENT_LEN, 21));

        let p = build_payload(&[], &mut rand::rng());
        assert_eq!(parse_payload(&p).unwrap(), vec![]);
    }

    #[test]
    fn errors() {
        let mut p = build_payload(&[0x00, 0x00, 0x01, 0x42], &mut rand::rng());
        p[PAYLOAD_LEN - 1] ^= 1;
        assert_eq!(parse_payload(&p), Err(PayloadError::BadChecksum));
        p[PAYLOAD_LEN - 1] ^= 1;
        p[3] ^= 0x80; // the IV is covered too
        assert_eq!(parse_payload(&p), Err(PayloadError::BadChecksum));

        let mut p = Box::new([0xffu8; PAYLOAD_LEN]);
        assert_eq!(parse_payload(&p), Err(PayloadError::NoZeroByte));
        p[19] = 0; // inside the checksum: does not count
        assert_eq!(parse_payload(&p), Err(PayloadError::NoZeroByte));

        let p = build_payload(&[0x00, 0x00, 0x05, 1, 2], &mut rand::rng());
        assert_eq!(
            parse_payload(&p),
            Err(PayloadError::FragmentOverrun {
                offset: PAYLOAD_LEN - 5,
                size: 5,
                available: 2
            })
        );
        let p = build_payload(&[0x00, 0x00, 0x01, 1, 0x60], &mut rand::rng());
        assert_eq!(
            parse_payload(&p),
            Err(PayloadError::Fragment {
                offset: PAYLOAD_LEN - 1,
                error: FragmentError::ReservedDeliveryType
            })
        );
    }
}
