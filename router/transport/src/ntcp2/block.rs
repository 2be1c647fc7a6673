//! NTCP2 data-phase blocks (spec/ntcp2.md, "Unencrypted data" and the block sections): a frame's
//! plaintext is a sequence of `type (1) ‖ size (2, big-endian) ‖ data`.
//!
//! Parsing never reads past a block's declared size, rejects the ordering violations the spec
//! names (padding not last, termination followed by anything but padding, two padding blocks)
//! and keeps unknown block types as [`Block::Unknown`] so the caller can ignore them (the spec
//! asks receivers to treat them as padding).

use i2p_wire::I2npMessage;
use thiserror::Error;

pub const BLOCK_DATETIME: u8 = 0;
pub const BLOCK_OPTIONS: u8 = 1;
pub const BLOCK_ROUTER_INFO: u8 = 2;
pub const BLOCK_I2NP: u8 = 3;
pub const BLOCK_TERMINATION: u8 = 4;
pub const BLOCK_PADDING: u8 = 254;

/// Block header: type and size.
pub const BLOCK_HEADER_LEN: usize = 3;
/// Largest frame plaintext (65535-byte AEAD frame minus the 16-byte tag).
pub const MAX_FRAME_PLAINTEXT: usize = 65519;
/// Largest data of a single block.
pub const MAX_BLOCK_DATA: usize = 65516;

/// Termination reason codes (spec/ntcp2.md, "Termination").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TerminationReason {
    Normal = 0,
    TerminationReceived = 1,
    IdleTimeout = 2,
    RouterShutdown = 3,
    DataPhaseAeadFailure = 4,
    IncompatibleOptions = 5,
    IncompatibleSignatureType = 6,
    ClockSkew = 7,
    PaddingViolation = 8,
    AeadFramingError = 9,
    PayloadFormatError = 10,
    Message1Error = 11,
    Message2Error = 12,
    Message3Error = 13,
    IntraFrameReadTimeout = 14,
    RouterInfoSignatureFailure = 15,
    StaticKeyMismatch = 16,
    Banned = 17,
}

/// One parsed block. Borrowed data points into the decrypted frame.
#[derive(Debug)]
pub enum Block<'a> {
    /// seconds since the epoch
    DateTime(u32),
    /// padding/traffic parameters (12 bytes or more; negotiation is unspecified, kept raw)
    Options(&'a [u8]),
    /// a RouterInfo (not gzipped) with the flood-request flag
    RouterInfo {
        flood: bool,
        router_info: &'a [u8],
    },
    /// an I2NP message with the 9-byte short header, parsed
    I2np(Box<I2npMessage>),
    /// an I2NP block whose message did not parse (the error is reported, the rest of the frame
    /// still counts)
    BadI2np(i2p_wire::Error),
    Termination {
        valid_frames: u64,
        reason: u8,
    },
    Padding(usize),
    Unknown {
        block_type: u8,
        len: usize,
    },
}

/// A frame whose block structure is broken (the spec's "payload format error").
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("block at offset {offset}: header truncated")]
    TruncatedHeader { offset: usize },
    #[error(
        "block type {block_type} at offset {offset}: size {size} exceeds the {left} bytes left"
    )]
    Overrun {
        block_type: u8,
        offset: usize,
        size: usize,
        left: usize,
    },
    #[error("block type {block_type} at offset {offset}: size {size} is invalid for this block")]
    BadSize {
        block_type: u8,
        offset: usize,
        size: usize,
    },
    #[error("block type {block_type} at offset {offset} follows a padding block")]
    AfterPadding { block_type: u8, offset: usize },
    #[error("block type {block_type} at offset {offset} follows a termination block")]
    AfterTermination { block_type: u8, offset: usize },
}

/// Parse every block of a frame's plaintext.
pub fn parse_blocks(mut data: &[u8]) -> Result<Vec<Block<'_>>, BlockError> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    let mut seen_padding = false;
    let mut seen_termination = false;
    while !data.is_empty() {
        if data.len() < BLOCK_HEADER_LEN {
            return Err(BlockError::TruncatedHeader { offset });
        }
        let block_type = data[0];
        let size = usize::from(u16::from_be_bytes([data[1], data[2]]));
        let left = data.len() - BLOCK_HEADER_LEN;
        if size > left {
            return Err(BlockError::Overrun {
                block_type,
                offset,
                size,
                left,
            });
        }
        if seen_padding {
            return Err(BlockError::AfterPadding { block_type, offset });
        }
        if seen_termination && block_type != BLOCK_PADDING {
            return Err(BlockError::AfterTermination { block_type, offset });
        }
        let body = &data[BLOCK_HEADER_LEN..BLOCK_HEADER_LEN + size];
        let bad_size = || BlockError::BadSize {
            block_type,
            offset,
            size,
        };
        let block = match block_type {
            BLOCK_DATETIME => {
                let b: [u8; 4] = body.try_into().map_err(|_| bad_size())?;
                Block::DateTime(u32::from_be_bytes(b))
            }
            BLOCK_OPTIONS => Block::Options(body),
            BLOCK_ROUTER_INFO => {
                let (&flag, ri) = body.split_first().ok_or_else(bad_size)?;
                Block::RouterInfo {
                    flood: flag & 1 == 1,
                    router_info: ri,
                }
            }
            BLOCK_I2NP => {
                if size < i2p_wire::i2np::SHORT_HEADER_LEN {
                    return Err(bad_size());
                }
                match I2npMessage::parse_short(body) {
                    Ok(m) => Block::I2np(Box::new(m)),
                    Err(e) => Block::BadI2np(e),
                }
            }
            BLOCK_TERMINATION => {
                if size < 9 {
                    return Err(bad_size());
                }
                let mut f = [0u8; 8];
                f.copy_from_slice(&body[..8]);
                seen_termination = true;
                Block::Termination {
                    valid_frames: u64::from_be_bytes(f),
                    reason: body[8],
                }
            }
            BLOCK_PADDING => {
                seen_padding = true;
                Block::Padding(size)
            }
            other => Block::Unknown {
                block_type: other,
                len: size,
            },
        };
        out.push(block);
        offset += BLOCK_HEADER_LEN + size;
        data = &data[BLOCK_HEADER_LEN + size..];
    }
    Ok(out)
}

/// Appends blocks to a frame plaintext buffer.
#[derive(Debug, Default)]
pub struct FrameBuilder {
    buf: Vec<u8>,
}

impl FrameBuilder {
    pub fn new() -> FrameBuilder {
        FrameBuilder::default()
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Room left for block data after one more block header.
    pub fn room(&self) -> usize {
        MAX_FRAME_PLAINTEXT.saturating_sub(self.buf.len() + BLOCK_HEADER_LEN)
    }

    fn header(&mut self, block_type: u8, size: usize) {
        self.buf.push(block_type);
        // callers keep sizes within MAX_BLOCK_DATA
        self.buf
            .extend_from_slice(&u16::try_from(size).unwrap_or(u16::MAX).to_be_bytes());
    }

    pub fn date_time(&mut self, secs: u32) -> &mut Self {
        self.header(BLOCK_DATETIME, 4);
        self.buf.extend_from_slice(&secs.to_be_bytes());
        self
    }

    /// A RouterInfo block; false (nothing added) if it does not fit.
    pub fn router_info(&mut self, router_info: &[u8], flood: bool) -> bool {
        if router_info.len() + 1 > self.room() {
            return false;
        }
        self.header(BLOCK_ROUTER_INFO, router_info.len() + 1);
        self.buf.push(u8::from(flood));
        self.buf.extend_from_slice(router_info);
        true
    }

    /// An I2NP block with the short header; false (nothing added) if it does not fit.
    pub fn i2np(&mut self, msg: &I2npMessage) -> bool {
        let start = self.buf.len();
        self.header(BLOCK_I2NP, 0);
        msg.encode_short_to(&mut self.buf);
        let size = self.buf.len() - start - BLOCK_HEADER_LEN;
        if size > MAX_BLOCK_DATA || self.buf.len() > MAX_FRAME_PLAINTEXT {
            self.buf.truncate(start);
            return false;
        }
        self.buf[start + 1..start + 3].copy_from_slice(&(size as u16).to_be_bytes());
        true
    }

    pub fn termination(&mut self, valid_frames: u64, reason: TerminationReason) -> &mut Self {
        self.header(BLOCK_TERMINATION, 9);
        self.buf.extend_from_slice(&valid_frames.to_be_bytes());
        self.buf.push(reason as u8);
        self
    }

    /// A padding block of `len` random bytes (clamped to what fits); must be the last block.
    pub fn padding<R: rand_core::Rng + ?Sized>(&mut self, len: usize, rng: &mut R) -> &mut Self {
        let len = len.min(self.room());
        self.header(BLOCK_PADDING, len);
        let start = self.buf.len();
        self.buf.resize(start + len, 0);
        rng.fill_bytes(&mut self.buf[start..]);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use i2p_wire::Date;
    use i2p_wire::i2np::{DeliveryStatus, I2npBody};

    fn status_msg(id: u32) -> I2npMessage {
        I2npMessage::new(
            id,
            Date::from_secs(1_800_000_000),
            I2npBody::DeliveryStatus(DeliveryStatus {
                msg_id: 7,
                timestamp: Date::from_millis(1234),
            }),
        )
        .unwrap()
    }

    #[test]
    fn blocks_round_trip_in_order() {
        let mut f = FrameBuilder::new();
        f.date_time(1_700_000_000);
        assert!(f.router_info(b"not really a router info", true));
        assert!(f.i2np(&status_msg(42)));
        f.termination(9, TerminationReason::IdleTimeout);
        f.padding(5, &mut rand::rng());
        let bytes = f.finish();
        let blocks = parse_blocks(&bytes).unwrap();
        assert_eq!(blocks.len(), 5);
        assert!(matches!(blocks[0], Block::DateTime(1_700_000_000)));
        match &blocks[1] {
            Block::RouterInfo { flood, router_info } => {
                assert!(*flood);
                assert_eq!(*router_info, b"not really a router info");
            }
            b => panic!("{b:?}"),
        }
        match &blocks[2] {
            Block::I2np(m) => assert_eq!(**m, status_msg(42)),
            b => panic!("{b:?}"),
        }
        assert!(matches!(
            blocks[3],
            Block::Termination {
                valid_frames: 9,
                reason: 2
            }
        ));
        assert!(matches!(blocks[4], Block::Padding(5)));
    }

    #[test]
    fn malformed_frames_are_rejected_with_positions() {
        // size runs past the end
        assert_eq!(
            parse_blocks(&[3, 0, 10, 1, 2]).unwrap_err(),
            BlockError::Overrun {
                block_type: 3,
                offset: 0,
                size: 10,
                left: 2
            }
        );
        // truncated header after a good block
        assert_eq!(
            parse_blocks(&[0, 0, 4, 0, 0, 0, 1, 3, 0]).unwrap_err(),
            BlockError::TruncatedHeader { offset: 7 }
        );
        // DateTime must be 4 bytes
        assert!(matches!(
            parse_blocks(&[0, 0, 3, 1, 2, 3]).unwrap_err(),
            BlockError::BadSize { block_type: 0, .. }
        ));
        // nothing after padding
        assert!(matches!(
            parse_blocks(&[254, 0, 0, 0, 0, 4, 0, 0, 0, 1]).unwrap_err(),
            BlockError::AfterPadding { offset: 3, .. }
        ));
        // only padding after termination
        let mut t = vec![4, 0, 9];
        t.extend_from_slice(&[0; 9]);
        t.extend_from_slice(&[0, 0, 4, 0, 0, 0, 1]);
        assert!(matches!(
            parse_blocks(&t).unwrap_err(),
            BlockError::AfterTermination { offset: 12, .. }
        ));
    }

    #[test]
    fn unknown_blocks_and_bad_i2np_do_not_break_the_frame() {
        let mut bytes = vec![200, 0, 2, 9, 9];
        // an I2NP block with an unparseable DeliveryStatus (too short)
        bytes.extend_from_slice(&[3, 0, 10, 10, 0, 0, 0, 1, 0, 0, 0, 5, 1]);
        bytes.extend_from_slice(&[0, 0, 4, 0, 0, 0, 1]);
        let blocks = parse_blocks(&bytes).unwrap();
        assert!(matches!(
            blocks[0],
            Block::Unknown {
                block_type: 200,
                len: 2
            }
        ));
        assert!(matches!(blocks[1], Block::BadI2np(_)));
        assert!(matches!(blocks[2], Block::DateTime(1)));
    }

    #[test]
    fn oversized_i2np_is_refused_not_truncated() {
        let mut f = FrameBuilder::new();
        f.buf.resize(MAX_FRAME_PLAINTEXT - 10, 0);
        let before = f.len();
        assert!(!f.i2np(&status_msg(1)));
        assert_eq!(f.len(), before);
    }
}
