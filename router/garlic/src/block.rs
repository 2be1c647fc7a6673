//! The payload block codec of ECIES-X25519-AEAD-Ratchet messages (spec/ecies.md, "5) Payload").
//!
//! Every decrypted payload (New Session, New Session Reply, Existing Session) is a sequence of
//! `type (1) ‖ size (2, big endian) ‖ data (size)` blocks. [`parse_payload`] walks that sequence
//! without reading past a block's declared size; block types it does not know are kept as
//! [`Block::Unknown`] so the caller can skip them (the spec asks receivers to ignore them).
//! Garlic Clove blocks carry the delivery instructions of spec/i2np.md ("Garlic Clove Delivery
//! Instructions") followed by an I2NP message with the 9-byte short header.

use i2p_wire::{Hash, I2npMessage, TunnelId};

/// Block type numbers (spec/ecies.md, "Payload Section Decrypted data").
pub mod kind {
    pub const DATE_TIME: u8 = 0;
    pub const TERMINATION: u8 = 4;
    pub const OPTIONS: u8 = 5;
    pub const MESSAGE_NUMBERS: u8 = 6;
    pub const NEXT_KEY: u8 = 7;
    pub const ACK: u8 = 8;
    pub const ACK_REQUEST: u8 = 9;
    pub const GARLIC_CLOVE: u8 = 11;
    pub const PADDING: u8 = 254;
}

/// Flag bits of a NextKey block.
pub mod next_key_flag {
    /// A public key follows the key id.
    pub const KEY_PRESENT: u8 = 0x01;
    /// This is the tag receiver's answer (reverse key), not the tag sender's forward key.
    pub const REVERSE: u8 = 0x02;
    /// The tag sender asks the receiver for a new reverse key.
    pub const REQUEST_REVERSE: u8 = 0x04;
}

/// Largest block data size (the size field is 16 bits).
pub const MAX_BLOCK_DATA: usize = u16::MAX as usize;

/// Where a clove is to be delivered (spec/i2np.md, "Garlic Clove Delivery Instructions").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Local,
    Destination(Hash),
    Router(Hash),
    Tunnel { gateway: Hash, tunnel_id: TunnelId },
}

/// One clove: delivery instructions and the I2NP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clove {
    pub delivery: Delivery,
    pub message: I2npMessage,
}

/// A NextKey block (spec/ecies.md, "Next DH Ratchet Public Key").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextKey {
    /// Raw flags ([`next_key_flag`]); bit 0 is derived from `key` when encoding.
    pub flags: u8,
    pub key_id: u16,
    pub key: Option<[u8; 32]>,
}

impl NextKey {
    pub fn is_reverse(&self) -> bool {
        self.flags & next_key_flag::REVERSE != 0
    }
    pub fn requests_reverse(&self) -> bool {
        self.flags & next_key_flag::REQUEST_REVERSE != 0
    }
}

/// One decoded payload block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Seconds since the epoch.
    DateTime(u32),
    /// Reason code and optional additional data.
    Termination {
        reason: u8,
        data: Vec<u8>,
    },
    /// Options block, kept undecoded (the spec leaves its use unimplemented).
    Options(Vec<u8>),
    /// PN: the index of the last tag sent in the previous tag set.
    MessageNumbers(u16),
    NextKey(NextKey),
    /// (tag set id, message number) pairs.
    Ack(Vec<(u16, u16)>),
    /// Flags byte (unused, 0).
    AckRequest(u8),
    Clove(Clove),
    /// Number of padding bytes (their content is ignored and encoded as zeros).
    Padding(u16),
    /// A block type we do not interpret.
    Unknown {
        kind: u8,
        data: Vec<u8>,
    },
}

/// Why a payload could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    #[error("block at offset {offset}: truncated header")]
    TruncatedHeader { offset: usize },
    #[error("block at offset {offset}: size {size} runs past the payload end")]
    Overrun { offset: usize, size: usize },
    #[error("block type {kind} at offset {offset}: {what}")]
    Malformed {
        kind: u8,
        offset: usize,
        what: &'static str,
    },
    #[error("clove at offset {offset}: {source}")]
    BadClove {
        offset: usize,
        source: i2p_wire::Error,
    },
    #[error("block data of {0} bytes does not fit the 16-bit size field")]
    TooLarge(usize),
}

/// Decode a whole decrypted payload into blocks, in order.
pub fn parse_payload(payload: &[u8]) -> Result<Vec<Block>, BlockError> {
    let mut blocks = Vec::new();
    let mut offset = 0usize;
    while offset < payload.len() {
        let Some(&[kind, a, b]) = payload
            .get(offset..offset + 3)
            .and_then(|h| h.first_chunk())
        else {
            return Err(BlockError::TruncatedHeader { offset });
        };
        let size = usize::from(u16::from_be_bytes([a, b]));
        let start = offset + 3;
        let data = payload
            .get(start..start + size)
            .ok_or(BlockError::Overrun { offset, size })?;
        blocks.push(parse_block(kind, data, start)?);
        offset = start + size;
    }
    Ok(blocks)
}

fn parse_block(kind: u8, data: &[u8], offset: usize) -> Result<Block, BlockError> {
    let bad = |what| BlockError::Malformed { kind, offset, what };
    let be16 = |d: &[u8], at: usize| -> Option<u16> {
        d.get(at..at + 2)
            .and_then(|b| b.first_chunk::<2>())
            .map(|b| u16::from_be_bytes(*b))
    };
    Ok(match kind {
        kind::DATE_TIME => {
            let ts: [u8; 4] = data.try_into().map_err(|_| bad("size is not 4"))?;
            Block::DateTime(u32::from_be_bytes(ts))
        }
        kind::TERMINATION => {
            let (&reason, rest) = data.split_first().ok_or(bad("empty"))?;
            Block::Termination {
                reason,
                data: rest.to_vec(),
            }
        }
        kind::OPTIONS => Block::Options(data.to_vec()),
        kind::MESSAGE_NUMBERS => {
            if data.len() != 2 {
                return Err(bad("size is not 2"));
            }
            Block::MessageNumbers(be16(data, 0).ok_or(bad("size is not 2"))?)
        }
        kind::NEXT_KEY => {
            let (&flags, rest) = data.split_first().ok_or(bad("empty"))?;
            let key_id = be16(rest, 0).ok_or(bad("truncated key id"))?;
            let key = if flags & next_key_flag::KEY_PRESENT != 0 {
                if data.len() != 35 {
                    return Err(bad("size is not 35 with a key"));
                }
                Some(
                    *rest
                        .get(2..)
                        .and_then(|k| k.first_chunk::<32>())
                        .ok_or(bad("truncated key"))?,
                )
            } else {
                if data.len() != 3 {
                    return Err(bad("size is not 3 without a key"));
                }
                None
            };
            Block::NextKey(NextKey { flags, key_id, key })
        }
        kind::ACK => {
            if data.is_empty() || !data.len().is_multiple_of(4) {
                return Err(bad("size is not a positive multiple of 4"));
            }
            Block::Ack(
                data.chunks_exact(4)
                    .filter_map(|c| Some((be16(c, 0)?, be16(c, 2)?)))
                    .collect(),
            )
        }
        kind::ACK_REQUEST => Block::AckRequest(data.first().copied().unwrap_or(0)),
        kind::GARLIC_CLOVE => Block::Clove(parse_clove(data, offset)?),
        kind::PADDING => Block::Padding(u16::try_from(data.len()).unwrap_or(u16::MAX)),
        other => Block::Unknown {
            kind: other,
            data: data.to_vec(),
        },
    })
}

/// Parse the data of a Garlic Clove block (delivery instructions ‖ short-header I2NP message).
pub fn parse_clove(data: &[u8], offset: usize) -> Result<Clove, BlockError> {
    let bad = |what| BlockError::Malformed {
        kind: kind::GARLIC_CLOVE,
        offset,
        what,
    };
    let (&flag, rest) = data.split_first().ok_or(bad("empty clove"))?;
    if flag & 0x80 != 0 {
        return Err(bad("encrypted clove delivery is not supported"));
    }
    let hash = |at: usize| -> Result<Hash, BlockError> {
        rest.get(at..)
            .and_then(|r| r.first_chunk::<32>())
            .map(|h| Hash::from_bytes(*h))
            .ok_or(bad("truncated delivery instructions"))
    };
    let (delivery, mut used) = match (flag >> 5) & 3 {
        0 => (Delivery::Local, 0),
        1 => (Delivery::Destination(hash(0)?), 32),
        2 => (Delivery::Router(hash(0)?), 32),
        _ => {
            let gateway = hash(0)?;
            let tid = rest
                .get(32..36)
                .and_then(|b| b.first_chunk::<4>())
                .map(|b| u32::from_be_bytes(*b))
                .ok_or(bad("truncated tunnel id"))?;
            (
                Delivery::Tunnel {
                    gateway,
                    tunnel_id: TunnelId(tid),
                },
                36,
            )
        }
    };
    if flag & 0x10 != 0 {
        used += 4; // delay field, unused
    }
    let msg = rest
        .get(used..)
        .ok_or(bad("truncated delivery instructions"))?;
    let message = I2npMessage::parse_short(msg).map_err(|source| BlockError::BadClove {
        offset: offset + 1 + used,
        source,
    })?;
    Ok(Clove { delivery, message })
}

/// Append the data of a Garlic Clove block (without the block header).
pub fn encode_clove_data(out: &mut Vec<u8>, clove: &Clove) {
    match clove.delivery {
        Delivery::Local => out.push(0),
        Delivery::Destination(h) => {
            out.push(1 << 5);
            out.extend_from_slice(h.as_bytes());
        }
        Delivery::Router(h) => {
            out.push(2 << 5);
            out.extend_from_slice(h.as_bytes());
        }
        Delivery::Tunnel { gateway, tunnel_id } => {
            out.push(3 << 5);
            out.extend_from_slice(gateway.as_bytes());
            out.extend_from_slice(&tunnel_id.0.to_be_bytes());
        }
    }
    out.extend_from_slice(&clove.message.to_short_bytes());
}

impl Block {
    /// The encoded size of this block including its 3-byte header.
    pub fn encoded_len(&self) -> usize {
        3 + match self {
            Block::DateTime(_) => 4,
            Block::Termination { data, .. } => 1 + data.len(),
            Block::Options(d) | Block::Unknown { data: d, .. } => d.len(),
            Block::MessageNumbers(_) => 2,
            Block::NextKey(nk) => {
                if nk.key.is_some() {
                    35
                } else {
                    3
                }
            }
            Block::Ack(acks) => 4 * acks.len(),
            Block::AckRequest(_) => 1,
            Block::Clove(c) => clove_data_len(c),
            Block::Padding(n) => usize::from(*n),
        }
    }

    /// Append this block (header and data) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), BlockError> {
        let size = self.encoded_len() - 3;
        let size16 = u16::try_from(size).map_err(|_| BlockError::TooLarge(size))?;
        let kind = match self {
            Block::DateTime(_) => kind::DATE_TIME,
            Block::Termination { .. } => kind::TERMINATION,
            Block::Options(_) => kind::OPTIONS,
            Block::MessageNumbers(_) => kind::MESSAGE_NUMBERS,
            Block::NextKey(_) => kind::NEXT_KEY,
            Block::Ack(_) => kind::ACK,
            Block::AckRequest(_) => kind::ACK_REQUEST,
            Block::Clove(_) => kind::GARLIC_CLOVE,
            Block::Padding(_) => kind::PADDING,
            Block::Unknown { kind, .. } => *kind,
        };
        out.push(kind);
        out.extend_from_slice(&size16.to_be_bytes());
        match self {
            Block::DateTime(ts) => out.extend_from_slice(&ts.to_be_bytes()),
            Block::Termination { reason, data } => {
                out.push(*reason);
                out.extend_from_slice(data);
            }
            Block::Options(d) | Block::Unknown { data: d, .. } => out.extend_from_slice(d),
            Block::MessageNumbers(pn) => out.extend_from_slice(&pn.to_be_bytes()),
            Block::NextKey(nk) => {
                let flags = match nk.key {
                    Some(_) => nk.flags | next_key_flag::KEY_PRESENT,
                    None => nk.flags & !next_key_flag::KEY_PRESENT,
                };
                out.push(flags);
                out.extend_from_slice(&nk.key_id.to_be_bytes());
                if let Some(k) = &nk.key {
                    out.extend_from_slice(k);
                }
            }
            Block::Ack(acks) => {
                for (ts, n) in acks {
                    out.extend_from_slice(&ts.to_be_bytes());
                    out.extend_from_slice(&n.to_be_bytes());
                }
            }
            Block::AckRequest(f) => out.push(*f),
            Block::Clove(c) => encode_clove_data(out, c),
            Block::Padding(n) => out.resize(out.len() + usize::from(*n), 0),
        }
        Ok(())
    }
}

fn clove_data_len(c: &Clove) -> usize {
    let di = match c.delivery {
        Delivery::Local => 1,
        Delivery::Destination(_) | Delivery::Router(_) => 33,
        Delivery::Tunnel { .. } => 37,
    };
    di + c.message.to_short_bytes().len()
}

/// Encode a sequence of blocks into one payload.
pub fn encode_payload(blocks: &[Block]) -> Result<Vec<u8>, BlockError> {
    let mut out = Vec::with_capacity(blocks.iter().map(Block::encoded_len).sum());
    for b in blocks {
        b.encode(&mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use i2p_wire::i2np::DeliveryStatus;
    use i2p_wire::{Date, I2npBody};

    fn status(id: u32) -> I2npMessage {
        I2npMessage::new(
            id,
            Date::from_secs(1_700_000_000),
            I2npBody::DeliveryStatus(DeliveryStatus {
                msg_id: 77,
                timestamp: Date::from_millis(1_700_000_000_123),
            }),
        )
        .unwrap()
    }

    fn all_blocks() -> Vec<Block> {
        let h = Hash::from_bytes([7; 32]);
        vec![
            Block::DateTime(1_700_000_001),
            Block::Options(vec![0; 21]),
            Block::MessageNumbers(513),
            Block::NextKey(NextKey {
                flags: next_key_flag::KEY_PRESENT | next_key_flag::REQUEST_REVERSE,
                key_id: 0,
                key: Some([9; 32]),
            }),
            Block::NextKey(NextKey {
                flags: next_key_flag::REVERSE,
                key_id: 3,
                key: None,
            }),
            Block::Ack(vec![(0, 1), (2, 65535)]),
            Block::AckRequest(0),
            Block::Clove(Clove {
                delivery: Delivery::Local,
                message: status(1),
            }),
            Block::Clove(Clove {
                delivery: Delivery::Destination(h),
                message: status(2),
            }),
            Block::Clove(Clove {
                delivery: Delivery::Router(h),
                message: status(3),
            }),
            Block::Clove(Clove {
                delivery: Delivery::Tunnel {
                    gateway: h,
                    tunnel_id: TunnelId(0x0102_0304),
                },
                message: status(4),
            }),
            Block::Unknown {
                kind: 200,
                data: vec![1, 2, 3],
            },
            Block::Termination {
                reason: 1,
                data: b"bye".to_vec(),
            },
            Block::Padding(5),
        ]
    }

    #[test]
    fn every_block_round_trips() {
        let blocks = all_blocks();
        let bytes = encode_payload(&blocks).unwrap();
        assert_eq!(
            bytes.len(),
            blocks.iter().map(Block::encoded_len).sum::<usize>()
        );
        assert_eq!(parse_payload(&bytes).unwrap(), blocks);
        // each one alone too
        for b in &blocks {
            let one = encode_payload(std::slice::from_ref(b)).unwrap();
            assert_eq!(parse_payload(&one).unwrap(), vec![b.clone()], "{b:?}");
        }
    }

    #[test]
    fn layouts_match_the_spec_tables() {
        // DateTime: 0, size 4, seconds big endian
        assert_eq!(
            encode_payload(&[Block::DateTime(0x0102_0304)]).unwrap(),
            [0, 0, 4, 1, 2, 3, 4]
        );
        // NextKey without key: 7, size 3, flags, key id
        assert_eq!(
            encode_payload(&[Block::NextKey(NextKey {
                flags: next_key_flag::REVERSE,
                key_id: 0x0102,
                key: None
            })])
            .unwrap(),
            [7, 0, 3, 2, 1, 2]
        );
        let with_key = encode_payload(&[Block::NextKey(NextKey {
            flags: 0,
            key_id: 1,
            key: Some([0xaa; 32]),
        })])
        .unwrap();
        assert_eq!(&with_key[..6], &[7, 0, 35, 1, 0, 1]);
        assert_eq!(with_key.len(), 3 + 35);
        // Ack: 8, 4 per ack; AckRequest: 9, size 1, flags
        assert_eq!(
            encode_payload(&[Block::Ack(vec![(1, 2)]), Block::AckRequest(0)]).unwrap(),
            [8, 0, 4, 0, 1, 0, 2, 9, 0, 1, 0]
        );
        // MessageNumbers: 6, size 2, PN; Termination: 4, reason
        assert_eq!(
            encode_payload(&[
                Block::MessageNumbers(7),
                Block::Termination {
                    reason: 0,
                    data: vec![]
                }
            ])
            .unwrap(),
            [6, 0, 2, 0, 7, 4, 0, 1, 0]
        );
        // clove: 11, size, LOCAL flag 0, then type/msg id/expiration seconds
        let c = encode_payload(&[Block::Clove(Clove {
            delivery: Delivery::Local,
            message: status(0x0a0b_0c0d),
        })])
        .unwrap();
        assert_eq!(&c[..3], &[11, 0, 1 + 9 + 12]);
        assert_eq!(c[3], 0);
        assert_eq!(c[4], 10);
        assert_eq!(&c[5..9], &[0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(&c[9..13], &1_700_000_000u32.to_be_bytes());
        // tunnel delivery: flag 0x60, gateway hash, then tunnel id
        let t = encode_payload(&[Block::Clove(Clove {
            delivery: Delivery::Tunnel {
                gateway: Hash::from_bytes([1; 32]),
                tunnel_id: TunnelId(5),
            },
            message: status(1),
        })])
        .unwrap();
        assert_eq!(t[3], 0x60);
        assert_eq!(&t[36..40], &[0, 0, 0, 5]);
    }

    #[test]
    fn unknown_blocks_are_kept_aside_and_parsing_continues() {
        let bytes = [
            150, 0, 2, 0xde, 0xad, // unknown
            1, 0, 0, // session id type (unused by us): unknown, empty
            0, 0, 4, 0, 0, 0, 9, // date time
            254, 0, 0,
        ];
        let b = parse_payload(&bytes).unwrap();
        assert_eq!(
            b,
            vec![
                Block::Unknown {
                    kind: 150,
                    data: vec![0xde, 0xad]
                },
                Block::Unknown {
                    kind: 1,
                    data: vec![]
                },
                Block::DateTime(9),
                Block::Padding(0)
            ]
        );
    }

    #[test]
    fn malformed_blocks_are_errors_not_panics() {
        assert_eq!(parse_payload(&[]).unwrap(), vec![]);
        assert!(matches!(
            parse_payload(&[11, 0]),
            Err(BlockError::TruncatedHeader { .. })
        ));
        assert!(matches!(
            parse_payload(&[11, 0, 9, 0]),
            Err(BlockError::Overrun { .. })
        ));
        assert!(matches!(
            parse_payload(&[0, 0, 3, 1, 2, 3]),
            Err(BlockError::Malformed { .. })
        ));
        assert!(matches!(
            parse_payload(&[7, 0, 3, 1, 0, 0]), // key flag but size 3
            Err(BlockError::Malformed { .. })
        ));
        assert!(matches!(
            parse_payload(&[8, 0, 3, 0, 0, 0]),
            Err(BlockError::Malformed { .. })
        ));
        assert!(matches!(
            parse_payload(&[11, 0, 3, 0x40, 1, 2]),
            Err(BlockError::Malformed { .. })
        ));
        assert!(matches!(
            parse_payload(&[11, 0, 2, 0, 10]),
            Err(BlockError::BadClove { .. })
        ));
        // a clove must not read into the next block
        let mut two = encode_payload(&[Block::Clove(Clove {
            delivery: Delivery::Local,
            message: status(1),
        })])
        .unwrap();
        two[2] -= 1; // shorten the declared size by one
        assert!(parse_payload(&two).is_err());
    }
}
