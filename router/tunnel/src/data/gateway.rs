//! The gateway's preprocessing: packing and fragmenting I2NP messages into payloads
//! (spec/tunnel-message.md, "Message Preprocessing"; packing as i2pd `TunnelGateway.cpp`,
//! `TunnelGatewayBuffer::PutI2NPMsg`).

use i2p_crypto::CryptoRng;
use thiserror::Error;

use super::fragment::{DeliveryInstructions, FragmentHeader};
use super::payload::build_payload;
use super::{I2NP_HEADER_LEN, MAX_CONTENT_LEN, MAX_FOLLOW_ON_LEN, MAX_FRAGMENT_NUMBER, Payload};

/// Follow-on header bytes, as i2pd's packing estimate counts them.
const FOLLOW_ON_OVERHEAD: usize = 7;

/// A message the gateway refuses. Nothing is queued when `put` fails.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// Shorter than the standard 16-byte I2NP header.
    #[error("{0} bytes cannot be an I2NP message with the 16-byte header")]
    NotI2np(usize),
    /// The header's size field disagrees with the bytes after the header.
    #[error("I2NP header says {header} payload bytes, {actual} follow")]
    SizeMismatch { header: usize, actual: usize },
    /// More than a first fragment and 63 follow-on fragments can carry.
    #[error("a {len}-byte message does not fit in 64 fragments (at most {max})")]
    TooLarge { len: usize, max: usize },
}

/// Packs messages into plaintext payloads the way an i2pd gateway does.
///
/// [`Gateway::put`] queues messages; [`Gateway::flush`] closes the payload being filled and
/// returns everything finished, each with a fresh IV, checksum and padding. The caller then
/// encrypts them for its role (see the [module docs](super)) and prefixes the tunnel id.
/// i2pd flushes after every batch of messages it is handed, so a batch shares payloads but
/// separate batches do not.
#[derive(Debug, Default)]
pub struct Gateway {
    /// Content of the payload being filled, if one is open.
    open: Option<Vec<u8>>,
    /// Contents of finished payloads, oldest first.
    done: Vec<Vec<u8>>,
}

impl Gateway {
    pub fn new() -> Gateway {
        Gateway::default()
    }

    /// The largest message [`Gateway::put`] takes with these instructions: a first fragment
    /// at the start of a payload and 63 full follow-on fragments.
    pub fn max_message_len(instructions: &DeliveryInstructions) -> usize {
        first_fragment_room(MAX_CONTENT_LEN, instructions)
            + usize::from(MAX_FRAGMENT_NUMBER) * MAX_FOLLOW_ON_LEN
    }

    /// Queue one I2NP message (standard 16-byte header form, as from
    /// `I2npMessage::to_bytes`) for delivery with `instructions`. If it is fragmented, the
    /// fragments carry the message id from its header, as i2pd does.
    pub fn put(
        &mut self,
        instructions: &DeliveryInstructions,
        message: &[u8],
    ) -> Result<(), GatewayError> {
        let message_id = check_message(message)?;
        let max = Gateway::max_message_len(instructions);
        if message.len() > max {
            return Err(GatewayError::TooLarge {
                len: message.len(),
                max,
            });
        }
        let first = FragmentHeader::First {
            instructions: *instructions,
            message_id: None,
            size: 0,
        };
        // flag, routing fields and size: what an unfragmented message costs besides its bytes
        let whole_len = first.encoded_len() + message.len();

        // i2pd's choice between continuing the open payload and starting a new one, for a
        // message that does not fit whole: it estimates the length of the part that would end
        // up in the message's last payload, and starts a new payload if that estimate is zero
        // or larger than the room left here, or if the room left is under a fifth of the
        // message.
        if let Some(open) = &self.open {
            let room = MAX_CONTENT_LEN.saturating_sub(open.len());
            if whole_len > room {
                let follow_ons = whole_len / MAX_CONTENT_LEN;
                let tail = (whole_len + follow_ons * FOLLOW_ON_OVERHEAD) % MAX_CONTENT_LEN;
                let too_small = tail == 0 || tail > room || room < whole_len / 5;
                // Our own limits: the first fragment carries at least one byte, and the rest
                // must fit in 63 follow-ons (else a fresh payload, where it always does).
                let first_room = first_fragment_room(room, instructions);
                let fits = first_room > 0
                    && follow_ons_needed(message.len() - first_room.min(message.len()))
                        <= usize::from(MAX_FRAGMENT_NUMBER);
                if too_small || !fits {
                    self.close();
                }
            }
        }

        let mut open = self.open.take().unwrap_or_default();
        let room = MAX_CONTENT_LEN.saturating_sub(open.len());
        if whole_len <= room {
            write_first(&mut open, instructions, None, message);
            self.keep_or_close(open);
            return Ok(());
        }

        // A first fragment filling the rest of this payload, then follow-on fragments.
        let first_len = first_fragment_room(room, instructions).min(message.len());
        let (head, rest) = message
            .split_at_checked(first_len)
            .unwrap_or((message, &[]));
        write_first(&mut open, instructions, Some(message_id), head);
        self.done.push(open);

        let count = rest.chunks(MAX_FOLLOW_ON_LEN).len();
        for (i, chunk) in rest.chunks(MAX_FOLLOW_ON_LEN).enumerate() {
            let last = i + 1 == count;
            let number = u8::try_from(i + 1).unwrap_or(MAX_FRAGMENT_NUMBER);
            let mut content = Vec::with_capacity(MAX_CONTENT_LEN);
            let header = FragmentHeader::FollowOn {
                number,
                last,
                message_id,
                size: size_field(chunk.len()),
            };
            // the number is 1..=63 (checked against max_message_len above)
            let _ = header.encode_to(&mut content);
            content.extend_from_slice(chunk);
            if last {
                // the last follow-on leaves its payload open for the next message
                self.keep_or_close(content);
            } else {
                self.done.push(content);
            }
        }
        Ok(())
    }

    /// Close the payload being filled and lay out every finished payload: random IV,
    /// checksum, random non-zero padding, zero byte, content. The returned payloads are
    /// plaintext, oldest first; nothing stays queued.
    pub fn flush<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> Vec<Box<Payload>> {
        self.close();
        self.done
            .drain(..)
            .map(|content| build_payload(&content, rng))
            .collect()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.open.is_none() && self.done.is_empty()
    }

    fn close(&mut self) {
        if let Some(open) = self.open.take().filter(|c| !c.is_empty()) {
            self.done.push(open);
        }
    }

    /// Keep `content` open for more messages, or finish it when it is full.
    fn keep_or_close(&mut self, content: Vec<u8>) {
        if content.len() >= MAX_CONTENT_LEN {
            self.done.push(content);
        } else {
            self.open = Some(content);
        }
    }
}

/// The message id from the standard header, after checking the header's size field.
fn check_message(message: &[u8]) -> Result<u32, GatewayError> {
    let Some((header, body)) = message.split_first_chunk::<I2NP_HEADER_LEN>() else {
        return Err(GatewayError::NotI2np(message.len()));
    };
    let [_, a, b, c, d, _, _, _, _, _, _, _, _, s0, s1, _] = *header;
    let size = usize::from(u16::from_be_bytes([s0, s1]));
    if size != body.len() {
        return Err(GatewayError::SizeMismatch {
            header: size,
            actual: body.len(),
        });
    }
    Ok(u32::from_be_bytes([a, b, c, d]))
}

/// Message bytes a fragmented first fragment can carry in `room` content bytes (0 if its
/// header does not fit).
fn first_fragment_room(room: usize, instructions: &DeliveryInstructions) -> usize {
    let header = FragmentHeader::First {
        instructions: *instructions,
        message_id: Some(0),
        size: 0,
    };
    room.saturating_sub(header.encoded_len())
}

fn follow_ons_needed(rest: usize) -> usize {
    rest.div_ceil(MAX_FOLLOW_ON_LEN)
}

/// Sizes written here are at most one payload's content.
fn size_field(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

fn write_first(
    out: &mut Vec<u8>,
    instructions: &DeliveryInstructions,
    message_id: Option<u32>,
    data: &[u8],
) {
    let header = FragmentHeader::First {
        instructions: *instructions,
        message_id,
        size: size_field(data.len()),
    };
    // first-fragment headers always encode
    let _ = header.encode_to(out);
    out.extend_from_slice(data);
}
