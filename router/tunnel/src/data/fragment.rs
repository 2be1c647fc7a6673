//! Delivery instructions and fragment headers inside a tunnel message's content
//! (spec/tunnel-message.md, "Tunnel Message Delivery Instructions"). Not to be confused with
//! the garlic clove delivery instructions of spec/i2np.md, which look different.

use i2p_wire::{Hash, TunnelId};
use thiserror::Error;

use super::{FOLLOW_ON_HEADER_LEN, MAX_FRAGMENT_NUMBER};

/// Flag bit 7: set on follow-on fragments, clear on first fragments.
const FOLLOW_ON: u8 = 0x80;
/// First fragment: the delivery type sits in bits 6–5.
const TYPE_SHIFT: u32 = 5;
const TYPE_MASK: u8 = 0x03;
/// First fragment, bit 4: a delay byte follows the routing fields (never set in practice).
const DELAY: u8 = 0x10;
/// First fragment, bit 3: the message continues in follow-on fragments; a message id follows.
const FRAGMENTED: u8 = 0x08;
/// First fragment, bit 2: extended options (length byte and bytes) follow the message id.
const EXTENDED: u8 = 0x04;
/// Follow-on fragment, bit 0: this is the message's last fragment.
const LAST: u8 = 0x01;
/// Follow-on fragment: the number sits in bits 6–1.
const NUMBER_MASK: u8 = 0x3f;

const TYPE_LOCAL: u8 = 0;
const TYPE_TUNNEL: u8 = 1;
const TYPE_ROUTER: u8 = 2;

/// Where the endpoint sends a message. Only first fragments carry these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryInstructions {
    /// Hand the message to the endpoint router itself (inbound tunnels).
    Local,
    /// Send the message to this router.
    Router(Hash),
    /// Wrap the message in a TunnelGateway message for this tunnel id and send it to the
    /// router with this hash, the tunnel's gateway.
    Tunnel(TunnelId, Hash),
}

impl DeliveryInstructions {
    fn type_bits(&self) -> u8 {
        match self {
            DeliveryInstructions::Local => TYPE_LOCAL,
            DeliveryInstructions::Tunnel(..) => TYPE_TUNNEL,
            DeliveryInstructions::Router(_) => TYPE_ROUTER,
        }
    }

    /// Bytes of routing fields after the flag byte: none, a hash, or a tunnel id and a hash.
    fn routing_len(&self) -> usize {
        match self {
            DeliveryInstructions::Local => 0,
            DeliveryInstructions::Router(_) => Hash::LEN,
            DeliveryInstructions::Tunnel(..) => 4 + Hash::LEN,
        }
    }

    fn put_routing(&self, out: &mut Vec<u8>) {
        match self {
            DeliveryInstructions::Local => {}
            DeliveryInstructions::Router(hash) => out.extend_from_slice(hash.as_bytes()),
            DeliveryInstructions::Tunnel(tunnel, hash) => {
                out.extend_from_slice(&tunnel.0.to_be_bytes());
                out.extend_from_slice(hash.as_bytes());
            }
        }
    }
}

/// The header in front of each fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragmentHeader {
    /// A whole message, or the first fragment of one (then `message_id` is set).
    First {
        instructions: DeliveryInstructions,
        /// Present exactly when the message continues in follow-on fragments.
        message_id: Option<u32>,
        /// Bytes of message data after this header.
        size: u16,
    },
    /// A later fragment of a message.
    FollowOn {
        /// 1 to 63, counting up from the first follow-on fragment.
        number: u8,
        /// The message ends with this fragment.
        last: bool,
        /// The id the first fragment carried.
        message_id: u32,
        /// Bytes of message data after this header.
        size: u16,
    },
}

/// A fragment header that cannot be read or written.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum FragmentError {
    /// The header runs past the end of the content (byte counts from the header's start).
    #[error("fragment header needs {needed} bytes, only {available} are left")]
    Truncated { needed: usize, available: usize },
    /// Delivery type 3 is not defined.
    #[error("reserved delivery type 3")]
    ReservedDeliveryType,
    /// A follow-on fragment number outside 1–63.
    #[error("follow-on fragment number {0} (must be 1 to 63)")]
    FragmentNumber(u8),
}

impl FragmentHeader {
    /// Bytes of message data this header announces.
    pub fn size(&self) -> u16 {
        match self {
            FragmentHeader::First { size, .. } | FragmentHeader::FollowOn { size, .. } => *size,
        }
    }

    /// Encoded length of this header (as written by [`FragmentHeader::encode_to`]).
    pub fn encoded_len(&self) -> usize {
        match self {
            FragmentHeader::First {
                instructions,
                message_id,
                ..
            } => 1 + instructions.routing_len() + if message_id.is_some() { 4 } else { 0 } + 2,
            FragmentHeader::FollowOn { .. } => FOLLOW_ON_HEADER_LEN,
        }
    }

    /// Append the header to `out`. Delay and extended options are never written.
    pub fn encode_to(&self, out: &mut Vec<u8>) -> Result<(), FragmentError> {
        match *self {
            FragmentHeader::First {
                instructions,
                message_id,
                size,
            } => {
                let mut flag = instructions.type_bits() << TYPE_SHIFT;
                if message_id.is_some() {
                    flag |= FRAGMENTED;
                }
                out.push(flag);
                instructions.put_routing(out);
                if let Some(id) = message_id {
                    out.extend_from_slice(&id.to_be_bytes());
                }
                out.extend_from_slice(&size.to_be_bytes());
            }
            FragmentHeader::FollowOn {
                number,
                last,
                message_id,
                size,
            } => {
                if number == 0 || number > MAX_FRAGMENT_NUMBER {
                    return Err(FragmentError::FragmentNumber(number));
                }
                out.push(FOLLOW_ON | (number << 1) | if last { LAST } else { 0 });
                out.extend_from_slice(&message_id.to_be_bytes());
                out.extend_from_slice(&size.to_be_bytes());
            }
        }
        Ok(())
    }

    /// Read a header from the start of `bytes`; returns it and the number of bytes it took.
    /// The fragment data is not checked here (see [`super::parse_payload`]).
    pub fn parse(bytes: &[u8]) -> Result<(FragmentHeader, usize), FragmentError> {
        let mut r = Cursor { bytes, pos: 0 };
        let flag = r.u8()?;
        let header = if flag & FOLLOW_ON != 0 {
            let number = (flag >> 1) & NUMBER_MASK;
            if number == 0 {
                return Err(FragmentError::FragmentNumber(0));
            }
            let message_id = r.u32()?;
            let size = r.u16()?;
            FragmentHeader::FollowOn {
                number,
                last: flag & LAST != 0,
                message_id,
                size,
            }
        } else {
            let instructions = match (flag >> TYPE_SHIFT) & TYPE_MASK {
                TYPE_LOCAL => DeliveryInstructions::Local,
                TYPE_TUNNEL => {
                    let tunnel = TunnelId(r.u32()?);
                    DeliveryInstructions::Tunnel(tunnel, r.hash()?)
                }
                TYPE_ROUTER => DeliveryInstructions::Router(r.hash()?),
                _ => return Err(FragmentError::ReservedDeliveryType),
            };
            if flag & DELAY != 0 {
                r.take(1)?;
            }
            let message_id = if flag & FRAGMENTED != 0 {
                Some(r.u32()?)
            } else {
                None
            };
            if flag & EXTENDED != 0 {
                let len = r.u8()?;
                r.take(usize::from(len))?;
            }
            let size = r.u16()?;
            FragmentHeader::First {
                instructions,
                message_id,
                size,
            }
        };
        Ok((header, r.pos))
    }
}

/// A bounds-checked reader over a header.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FragmentError> {
        let end = self.pos.saturating_add(n);
        let out = self
            .bytes
            .get(self.pos..end)
            .ok_or(FragmentError::Truncated {
                needed: end,
                available: self.bytes.len(),
            })?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FragmentError> {
        let pos = self.pos;
        self.take(N)?
            .try_into()
            .map_err(|_| FragmentError::Truncated {
                needed: pos.saturating_add(N),
                available: self.bytes.len(),
            })
    }

    fn u8(&mut self) -> Result<u8, FragmentError> {
        self.array::<1>().map(|[b]| b)
    }

    fn u16(&mut self) -> Result<u16, FragmentError> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, FragmentError> {
        self.array().map(u32::from_be_bytes)
    }

    fn hash(&mut self) -> Result<Hash, FragmentError> {
        self.array().map(Hash::from_bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn round_trip(h: FragmentHeader) -> Vec<u8> {
        let mut out = Vec::new();
        h.encode_to(&mut out).unwrap();
        assert_eq!(out.len(), h.encoded_len());
        let (back, used) = FragmentHeader::parse(&out).unwrap();
        assert_eq!(back, h);
        assert_eq!(used, out.len());
        out
    }

    #[test]
    fn first_fragment_layouts() {
        let hash = Hash::from_bytes([0x11; 32]);
        let local = round_trip(FragmentHeader::First {
            instructions: DeliveryInstructions::Local,
            message_id: None,
            size: 0x0102,
        });
        assert_eq!(local, [0x00, 0x01, 0x02]);

        let router = round_trip(FragmentHeader::First {
            instructions: DeliveryInstructions::Router(hash),
            message_id: Some(0xa1b2_c3d4),
            size: 7,
        });
        assert_eq!(
            router.len(),
            39,
            "spec: 39 bytes for a ROUTER first fragment"
        );
        assert_eq!(router[0], 0x48, "type 2 in bits 6-5, fragmented bit 3");
        assert_eq!(&router[1..33], &[0x11; 32]);
        assert_eq!(&router[33..37], &[0xa1, 0xb2, 0xc3, 0xd4]);
        assert_eq!(&router[37..], &[0, 7]);

        let tunnel = round_trip(FragmentHeader::First {
            instructions: DeliveryInstructions::Tunnel(TunnelId(0x0a0b_0c0d), hash),
            message_id: None,
            size: 9,
        });
        assert_eq!(
            tunnel.len(),
            39,
            "spec: 39 bytes for an unfragmented TUNNEL one"
        );
        assert_eq!(tunnel[0], 0x20);
        assert_eq!(&tunnel[1..5], &[0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(&tunnel[5..37], &[0x11; 32]);
    }

    #[test]
    fn follow_on_layout_and_numbers() {
        let b = round_trip(FragmentHeader::FollowOn {
            number: 63,
            last: true,
            message_id: 0x0102_0304,
            size: 996,
        });
        assert_eq!(b, [0xff, 1, 2, 3, 4, 0x03, 0xe4]);
        let b = round_trip(FragmentHeader::FollowOn {
            number: 1,
            last: false,
            message_id: 5,
            size: 1,
        });
        assert_eq!(b[0], 0x82);
        for bad in [0u8, 64, 200] {
            let h = FragmentHeader::FollowOn {
                number: bad,
                last: false,
                message_id: 1,
                size: 1,
            };
            assert_eq!(
                h.encode_to(&mut Vec::new()),
                Err(FragmentError::FragmentNumber(bad))
            );
        }
        assert_eq!(
            FragmentHeader::parse(&[0x81, 0, 0, 0, 1, 0, 1]),
            Err(FragmentError::FragmentNumber(0))
        );
    }

    #[test]
    fn bad_headers() {
        assert_eq!(
            FragmentHeader::parse(&[0x60, 0, 1]),
            Err(FragmentError::ReservedDeliveryType)
        );
        assert!(matches!(
            FragmentHeader::parse(&[]),
            Err(FragmentError::Truncated { .. })
        ));
        assert!(matches!(
            FragmentHeader::parse(&[0x40; 20]),
            Err(FragmentError::Truncated { .. })
        ));
        assert!(matches!(
            FragmentHeader::parse(&[0x82, 0, 0]),
            Err(FragmentError::Truncated { .. })
        ));
    }

    #[test]
    fn delay_and_extended_options_are_skipped() {
        // local, delay byte, fragmented, extended options of 2 bytes
        let bytes = [0x1c, 0x99, 0, 0, 0, 9, 2, 0xee, 0xee, 0, 5];
        let (h, used) = FragmentHeader::parse(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(
            h,
            FragmentHeader::First {
                instructions: DeliveryInstructions::Local,
                message_id: Some(9),
                size: 5
            }
        );
    }
}
