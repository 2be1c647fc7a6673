//! The streaming protocol packet (spec/streaming.md, "Packet Format" and "Flags and Option Data
//! Fields"; replay prevention per proposals/164-streaming.md).
//!
//! Layout: send stream ID, receive stream ID, sequence number, ack-through (4 bytes each), a
//! NACK count and that many 4-byte NACKs, a 1-byte resend delay, 2 bytes of flags, a 2-byte
//! option size, the option data, then the payload up to the end of the buffer (the packet has
//! no length field; I2CP/garlic framing delimits it). The option fields appear in the order
//! the spec fixes: delay requested, FROM destination, max packet size, offline signature,
//! signature.
//!
//! [`StreamPacket`] keeps the option *contents* in `Option` fields and derives the five
//! option flag bits from them when encoding, so a value can never claim an option it does not
//! carry. Unknown flag bits and option bytes after the known options are kept, so parsing and
//! encoding round-trip exactly.
//!
//! Signature length: with a FROM destination it is that destination's signature length (or
//! the transient key's, when an offline signature is present); without FROM (CLOSE/RESET
//! packets on an established stream) the signature is the rest of the option area, which the
//! spec allows since it is the last option. The signature covers the whole packet with the
//! signature bytes set to zero ([`StreamPacket::signed_bytes`]).

use i2p_crypto::SigType;

use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
use crate::identity::Destination;
use crate::lease_set2::OfflineSignature;
use crate::primitives::{Date, Hash};
use crate::reader::{Decode, Encode, Reader, Sink};

/// SYNCHRONIZE: the first packet of each direction.
pub const FLAG_SYNCHRONIZE: u16 = 1 << 0;
/// CLOSE: the sender will send no more payload.
pub const FLAG_CLOSE: u16 = 1 << 1;
/// RESET: abnormal close.
pub const FLAG_RESET: u16 = 1 << 2;
/// SIGNATURE_INCLUDED (option field, last).
pub const FLAG_SIGNATURE_INCLUDED: u16 = 1 << 3;
/// SIGNATURE_REQUESTED (unused by every known implementation).
pub const FLAG_SIGNATURE_REQUESTED: u16 = 1 << 4;
/// FROM_INCLUDED (option field: the sender's Destination).
pub const FLAG_FROM_INCLUDED: u16 = 1 << 5;
/// DELAY_REQUESTED (option field: 2-byte delay in ms; above 60000 means "choked").
pub const FLAG_DELAY_REQUESTED: u16 = 1 << 6;
/// MAX_PACKET_SIZE_INCLUDED (option field: 2-byte maximum payload size).
pub const FLAG_MAX_PACKET_SIZE_INCLUDED: u16 = 1 << 7;
/// PROFILE_INTERACTIVE (ignored).
pub const FLAG_PROFILE_INTERACTIVE: u16 = 1 << 8;
/// ECHO: ping (send stream ID set) or pong (receive stream ID set).
pub const FLAG_ECHO: u16 = 1 << 9;
/// NO_ACK: ignore the ack-through field.
pub const FLAG_NO_ACK: u16 = 1 << 10;
/// OFFLINE_SIGNATURE (option field: an LS2-style offline signature block).
pub const FLAG_OFFLINE_SIGNATURE: u16 = 1 << 11;

/// The flag bits whose presence is derived from the option fields of [`StreamPacket`].
pub const OPTION_FLAGS: u16 = FLAG_SIGNATURE_INCLUDED
    | FLAG_FROM_INCLUDED
    | FLAG_DELAY_REQUESTED
    | FLAG_MAX_PACKET_SIZE_INCLUDED
    | FLAG_OFFLINE_SIGNATURE;

/// Size of a packet without NACKs, options or payload.
pub const MIN_PACKET_LEN: usize = 22;

/// Delay-requested values at or above this mean "choked" (spec: greater than 60000).
pub const CHOKE_DELAY: u16 = 60_001;

/// The NACK count that, in a SYNCHRONIZE packet, carries the target's destination hash
/// (proposals/164-streaming.md).
pub const SYN_HASH_NACKS: usize = 8;

/// The most NACKs the 1-byte count can carry.
pub const MAX_NACKS: usize = 255;

/// One streaming packet. See the module docs.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct StreamPacket {
    pub send_stream_id: u32,
    pub receive_stream_id: u32,
    pub sequence_num: u32,
    pub ack_through: u32,
    /// At most [`MAX_NACKS`] are encoded. In a SYN, eight NACKs carry the target's hash.
    pub nacks: Vec<u32>,
    /// Seconds; informational only.
    pub resend_delay: u8,
    /// The flag bits other than [`OPTION_FLAGS`] (those follow the option fields below);
    /// option bits set here are ignored when encoding.
    pub flags: u16,
    pub delay_requested: Option<u16>,
    pub from: Option<Destination>,
    pub max_packet_size: Option<u16>,
    pub offline_signature: Option<OfflineSignature>,
    pub signature: Option<Vec<u8>>,
    /// Option bytes after the known options (none in practice; kept for exact round trips).
    pub extra_options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl StreamPacket {
    /// Parse one packet; everything after the options is payload. Pure: for fuzzing.
    pub fn parse(bytes: &[u8]) -> Result<StreamPacket> {
        read_packet(&mut Reader::new(bytes)).at(Field::StreamPacket)
    }

    /// The flags as they are (or would be) on the wire.
    pub fn wire_flags(&self) -> u16 {
        let mut f = self.flags & !OPTION_FLAGS;
        if self.delay_requested.is_some() {
            f |= FLAG_DELAY_REQUESTED;
        }
        if self.from.is_some() {
            f |= FLAG_FROM_INCLUDED;
        }
        if self.max_packet_size.is_some() {
            f |= FLAG_MAX_PACKET_SIZE_INCLUDED;
        }
        if self.offline_signature.is_some() {
            f |= FLAG_OFFLINE_SIGNATURE;
        }
        if self.signature.is_some() {
            f |= FLAG_SIGNATURE_INCLUDED;
        }
        f
    }

    /// Whether `flag` (one of the `FLAG_*` constants) is set on the wire.
    pub fn has(&self, flag: u16) -> bool {
        self.wire_flags() & flag != 0
    }

    pub fn is_syn(&self) -> bool {
        self.has(FLAG_SYNCHRONIZE)
    }
    pub fn is_close(&self) -> bool {
        self.has(FLAG_CLOSE)
    }
    pub fn is_reset(&self) -> bool {
        self.has(FLAG_RESET)
    }
    pub fn is_echo(&self) -> bool {
        self.has(FLAG_ECHO)
    }
    pub fn is_no_ack(&self) -> bool {
        self.has(FLAG_NO_ACK)
    }

    /// A plain ACK: sequence number 0 without SYNCHRONIZE; it must not be acked.
    pub fn is_plain_ack(&self) -> bool {
        self.sequence_num == 0 && !self.is_syn()
    }

    /// The ack-through value, unless NO_ACK says to ignore it.
    pub fn ack(&self) -> Option<u32> {
        (!self.is_no_ack()).then_some(self.ack_through)
    }

    /// Whether the sender signals "choked" (delay requested above 60000).
    pub fn is_choke(&self) -> bool {
        self.delay_requested.is_some_and(|d| d >= CHOKE_DELAY)
    }

    /// In a SYN with exactly eight NACKs, the destination hash the sender meant to reach
    /// (proposals/164-streaming.md).
    pub fn syn_target_hash(&self) -> Option<Hash> {
        if !self.is_syn() || self.nacks.len() != SYN_HASH_NACKS {
            return None;
        }
        let mut h = [0u8; 32];
        for (chunk, n) in h.chunks_exact_mut(4).zip(&self.nacks) {
            chunk.copy_from_slice(&n.to_be_bytes());
        }
        Some(Hash::from_bytes(h))
    }

    /// Put `target` into the NACK field the way proposal 164 asks a SYN to carry it.
    pub fn set_syn_target_hash(&mut self, target: &Hash) {
        self.nacks = target
            .as_bytes()
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap_or([0; 4])))
            .collect();
    }

    /// The signature type and key that must verify this packet's signature, as far as the
    /// packet itself says: the offline block's transient key, else the FROM destination's
    /// signing key. `None` without FROM (the caller knows the key from the stream's SYN).
    pub fn included_signer(&self) -> Option<(SigType, &[u8])> {
        match (&self.offline_signature, &self.from) {
            (Some(o), _) => Some((o.transient_sig_type(), o.transient_key())),
            (None, Some(d)) => Some((d.sig_type(), d.signing_key())),
            (None, None) => None,
        }
    }

    /// Check the offline signature block (expiry against `now`, signature by the FROM
    /// destination's key). Ok when the packet has none.
    pub fn verify_offline_signature(&self, now: Date) -> Result<()> {
        let Some(o) = &self.offline_signature else {
            return Ok(());
        };
        let Some(from) = &self.from else {
            return Err(
                Error::new(ErrorKind::Missing("FROM for OFFLINE_SIGNATURE"), 0)
                    .at(Field::StreamPacket),
            );
        };
        o.verify(
            from.sig_type(),
            from.signing_key(),
            now,
            self.offline_offset(),
        )
        .at(Field::StreamPacket)
    }

    /// Byte offset where the option data starts.
    fn options_offset(&self) -> usize {
        MIN_PACKET_LEN + 4 * self.nacks.len().min(MAX_NACKS)
    }

    fn offline_offset(&self) -> usize {
        let mut at = self.options_offset();
        if self.delay_requested.is_some() {
            at += 2;
        }
        if let Some(d) = &self.from {
            at += d.encoded_len();
        }
        if self.max_packet_size.is_some() {
            at += 2;
        }
        at
    }

    /// Byte offset of the signature (if there is one).
    pub fn signature_offset(&self) -> Option<usize> {
        self.signature.as_ref()?;
        Some(
            self.offline_offset()
                + self
                    .offline_signature
                    .as_ref()
                    .map_or(0, |o| o.encoded_len()),
        )
    }

    /// The bytes the signature covers: the encoded packet with the signature set to zeros.
    /// `None` when the packet carries no signature.
    pub fn signed_bytes(&self) -> Option<Vec<u8>> {
        let sig = self.signature.as_ref()?;
        let zeroed = StreamPacket {
            signature: Some(vec![0u8; sig.len()]),
            ..self.clone_header_and_options()
        };
        let mut out = Vec::with_capacity(self.encoded_len());
        zeroed.encode_to(&mut out);
        out.extend_from_slice(&self.payload);
        Some(out)
    }

    /// A copy without the payload (encode_to of it writes everything up to the payload).
    fn clone_header_and_options(&self) -> StreamPacket {
        StreamPacket {
            send_stream_id: self.send_stream_id,
            receive_stream_id: self.receive_stream_id,
            sequence_num: self.sequence_num,
            ack_through: self.ack_through,
            nacks: self.nacks.clone(),
            resend_delay: self.resend_delay,
            flags: self.flags,
            delay_requested: self.delay_requested,
            from: self.from.clone(),
            max_packet_size: self.max_packet_size,
            offline_signature: self.offline_signature.clone(),
            signature: self.signature.clone(),
            extra_options: self.extra_options.clone(),
            payload: Vec::new(),
        }
    }

    /// Verify the signature with `sig_type`/`public_key` (see [`Self::included_signer`]).
    pub fn verify_signature(&self, sig_type: SigType, public_key: &[u8]) -> Result<()> {
        let (Some(sig), Some(signed), Some(at)) = (
            self.signature.as_ref(),
            self.signed_bytes(),
            self.signature_offset(),
        ) else {
            return Err(Error::new(ErrorKind::Missing("signature"), 0).at(Field::StreamPacket));
        };
        i2p_crypto::sig::verify(sig_type, public_key, &signed, sig).map_err(|e| {
            Error::new(ErrorKind::Signature(e), at)
                .at(Field::Signature)
                .at(Field::StreamPacket)
        })
    }

    /// Sign: set a zeroed signature of `sig_len` bytes, let `signer` sign the resulting
    /// bytes, and store its output (which must be `sig_len` bytes long).
    pub fn sign(&mut self, sig_len: usize, signer: &dyn Fn(&[u8]) -> Vec<u8>) -> Result<()> {
        self.signature = Some(vec![0u8; sig_len]);
        let signed = self.to_bytes();
        let sig = signer(&signed);
        if sig.len() != sig_len {
            return Err(Error::new(
                ErrorKind::BadLength {
                    got: u32::try_from(sig.len()).unwrap_or(u32::MAX),
                    expected: Expected::Exactly(u32::try_from(sig_len).unwrap_or(u32::MAX)),
                },
                self.signature_offset().unwrap_or(0),
            )
            .at(Field::Signature)
            .at(Field::StreamPacket));
        }
        self.signature = Some(sig);
        Ok(())
    }

    fn option_len(&self) -> usize {
        let mut n = 0;
        if self.delay_requested.is_some() {
            n += 2;
        }
        if let Some(d) = &self.from {
            n += d.encoded_len();
        }
        if self.max_packet_size.is_some() {
            n += 2;
        }
        if let Some(o) = &self.offline_signature {
            n += o.encoded_len();
        }
        if let Some(s) = &self.signature {
            n += s.len();
        }
        n + self.extra_options.len()
    }
}

fn read_packet(r: &mut Reader<'_>) -> Result<StreamPacket> {
    let send_stream_id = r.u32()?;
    let receive_stream_id = r.u32()?;
    let sequence_num = r.u32()?;
    let ack_through = r.u32()?;
    let nack_count = r.u8().at(Field::Nacks)?;
    let mut nacks = Vec::with_capacity(usize::from(nack_count));
    for i in 0..usize::from(nack_count) {
        nacks.push(r.u32().at_index(Field::Nacks, i)?);
    }
    let resend_delay = r.u8()?;
    let flags = r.u16().at(Field::Flags)?;
    let option_size = r.u16().at(Field::OptionSize)?;
    let mut o = r.sub(usize::from(option_size)).at(Field::Options)?;
    let mut p = StreamPacket {
        send_stream_id,
        receive_stream_id,
        sequence_num,
        ack_through,
        nacks,
        resend_delay,
        flags: flags & !OPTION_FLAGS,
        ..StreamPacket::default()
    };
    read_options(&mut o, flags, &mut p).at(Field::Options)?;
    p.payload = r.rest().to_vec();
    Ok(p)
}

fn read_options(o: &mut Reader<'_>, flags: u16, p: &mut StreamPacket) -> Result<()> {
    if flags & FLAG_DELAY_REQUESTED != 0 {
        p.delay_requested = Some(o.u16().at(Field::DelayRequested)?);
    }
    if flags & FLAG_FROM_INCLUDED != 0 {
        p.from = Some(Destination::read(o).at(Field::From)?);
    }
    if flags & FLAG_MAX_PACKET_SIZE_INCLUDED != 0 {
        p.max_packet_size = Some(o.u16().at(Field::MaxPacketSize)?);
    }
    if flags & FLAG_OFFLINE_SIGNATURE != 0 {
        let Some(from) = &p.from else {
            return Err(Error::new(
                ErrorKind::Missing("FROM_INCLUDED, required with OFFLINE_SIGNATURE"),
                o.position(),
            )
            .at(Field::OfflineSignature));
        };
        p.offline_signature = Some(OfflineSignature::read_for(o, from.sig_type())?);
    }
    if flags & FLAG_SIGNATURE_INCLUDED != 0 {
        let len = match (&p.offline_signature, &p.from) {
            (Some(off), _) => off.transient_sig_type().signature_len(),
            (None, Some(d)) => d.sig_type().signature_len(),
            (None, None) => {
                if o.is_empty() {
                    return Err(Error::new(ErrorKind::Missing("signature"), o.position())
                        .at(Field::Signature));
                }
                o.remaining()
            }
        };
        p.signature = Some(o.bytes(len).at(Field::Signature)?.to_vec());
    }
    p.extra_options = o.rest().to_vec();
    Ok(())
}

impl Encode for StreamPacket {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u32(self.send_stream_id);
        out.put_u32(self.receive_stream_id);
        out.put_u32(self.sequence_num);
        out.put_u32(self.ack_through);
        let nacks = self.nacks.get(..MAX_NACKS).unwrap_or(&self.nacks);
        out.put_u8(u8::try_from(nacks.len()).unwrap_or(u8::MAX));
        for n in nacks {
            out.put_u32(*n);
        }
        out.put_u8(self.resend_delay);
        out.put_u16(self.wire_flags());
        // options never approach 64 KiB (a Destination is under 1 KiB)
        out.put_u16(u16::try_from(self.option_len()).unwrap_or(u16::MAX));
        if let Some(d) = self.delay_requested {
            out.put_u16(d);
        }
        if let Some(d) = &self.from {
            d.encode_to(out);
        }
        if let Some(m) = self.max_packet_size {
            out.put_u16(m);
        }
        if let Some(o) = &self.offline_signature {
            o.encode_to(out);
        }
        if let Some(s) = &self.signature {
            out.put(s);
        }
        out.put(&self.extra_options);
        out.put(&self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use i2p_crypto::Ed25519SigningKey;

    fn dest(seed: u8) -> (Ed25519SigningKey, Destination) {
        let k = Ed25519SigningKey::from_seed([seed; 32]);
        let d = Destination::new(SigType::Ed25519, &k.public(), &[seed ^ 0x55; 32]).unwrap();
        (k, d)
    }

    #[test]
    fn minimal_packet_layout() {
        let bytes = [
            0, 0, 0, 1, // send stream id
            0, 0, 0, 2, // receive stream id
            0, 0, 0, 3, // seq
            0, 0, 0, 4, // ack through
            0, // nack count
            9, // resend delay
            0x04, 0x00, // NO_ACK
            0, 0, // option size
            b'h', b'i',
        ];
        let p = StreamPacket::parse(&bytes).unwrap();
        assert_eq!(
            (
                p.send_stream_id,
                p.receive_stream_id,
                p.sequence_num,
                p.ack_through
            ),
            (1, 2, 3, 4)
        );
        assert_eq!(p.resend_delay, 9);
        assert!(p.is_no_ack());
        assert_eq!(p.ack(), None);
        assert_eq!(p.payload, b"hi");
        assert_eq!(p.to_bytes(), bytes);
        assert_eq!(StreamPacket::parse(&bytes[..21]).unwrap_err().offset(), 20);
    }

    #[test]
    fn plain_ack_with_nacks_round_trips() {
        let p = StreamPacket {
            send_stream_id: 7,
            receive_stream_id: 8,
            ack_through: 20,
            nacks: vec![11, 12, 19],
            ..StreamPacket::default()
        };
        let b = p.to_bytes();
        assert_eq!(b.len(), MIN_PACKET_LEN + 12);
        assert_eq!(b[16], 3);
        let q = StreamPacket::parse(&b).unwrap();
        assert_eq!(q, p);
        assert!(q.is_plain_ack());
        assert_eq!(q.ack(), Some(20));
    }

    #[test]
    fn syn_options_are_in_spec_order_and_signature_covers_zeroed_field() {
        let (k, d) = dest(1);
        let (_, bob) = dest(2);
        let mut p = StreamPacket {
            receive_stream_id: 0x1234_5678,
            flags: FLAG_SYNCHRONIZE | FLAG_NO_ACK,
            delay_requested: Some(0),
            from: Some(d.clone()),
            max_packet_size: Some(1812),
            payload: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            ..StreamPacket::default()
        };
        p.set_syn_target_hash(&bob.hash());
        p.sign(64, &|m| k.sign(m).to_vec()).unwrap();
        let b = p.to_bytes();
        // header: 22 + 8 NACKs
        let opt = MIN_PACKET_LEN + 32;
        assert_eq!(b[16], 8);
        let flags = u16::from_be_bytes([b[opt - 4], b[opt - 3]]);
        assert_eq!(
            flags,
            FLAG_SYNCHRONIZE
                | FLAG_NO_ACK
                | FLAG_DELAY_REQUESTED
                | FLAG_FROM_INCLUDED
                | FLAG_MAX_PACKET_SIZE_INCLUDED
                | FLAG_SIGNATURE_INCLUDED
        );
        let option_size = u16::from_be_bytes([b[opt - 2], b[opt - 1]]) as usize;
        assert_eq!(option_size, 2 + 391 + 2 + 64);
        assert_eq!(&b[opt..opt + 2], &[0, 0]); // delay first
        assert_eq!(&b[opt + 2..opt + 393], &d.to_bytes()[..]); // then FROM
        assert_eq!(&b[opt + 393..opt + 395], &1812u16.to_be_bytes()); // then MTU
        let sig_at = opt + 395;
        assert_eq!(p.signature_offset(), Some(sig_at));
        assert_eq!(&b[sig_at..sig_at + 64], &p.signature.clone().unwrap()[..]);
        // the signature covers the packet with its own bytes zeroed
        let mut zeroed = b.clone();
        zeroed[sig_at..sig_at + 64].fill(0);
        assert_eq!(p.signed_bytes().unwrap(), zeroed);
        i2p_crypto::sig::verify(
            SigType::Ed25519,
            &k.public(),
            &zeroed,
            &b[sig_at..sig_at + 64],
        )
        .unwrap();

        let q = StreamPacket::parse(&b).unwrap();
        assert_eq!(q, p);
        assert_eq!(q.to_bytes(), b);
        assert_eq!(q.syn_target_hash(), Some(bob.hash()));
        let (t, key) = q.included_signer().unwrap();
        q.verify_signature(t, key).unwrap();
        // any flipped bit breaks it, including in the NACK (target hash) field
        for at in [0, 17, opt + 1, b.len() - 1] {
            let mut bad = b.clone();
            bad[at] ^= 1;
            let bp = StreamPacket::parse(&bad).unwrap();
            assert!(bp.verify_signature(t, key).is_err(), "byte {at}");
        }
    }

    #[test]
    fn close_without_from_takes_rest_of_options_as_signature() {
        let (k, _) = dest(3);
        let mut p = StreamPacket {
            send_stream_id: 1,
            receive_stream_id: 2,
            sequence_num: 5,
            ack_through: 4,
            flags: FLAG_CLOSE,
            ..StreamPacket::default()
        };
        p.sign(64, &|m| k.sign(m).to_vec()).unwrap();
        let b = p.to_bytes();
        assert_eq!(b.len(), MIN_PACKET_LEN + 64);
        let q = StreamPacket::parse(&b).unwrap();
        assert_eq!(q.signature.as_ref().map(Vec::len), Some(64));
        assert!(q.included_signer().is_none());
        q.verify_signature(SigType::Ed25519, &k.public()).unwrap();
        assert_eq!(q.to_bytes(), b);
    }

    #[test]
    fn offline_signature_path() {
        let (long_term, d) = dest(4);
        let transient = Ed25519SigningKey::from_seed([5; 32]);
        let off = OfflineSignature::sign(
            2_000_000_000,
            SigType::Ed25519,
            &transient.public(),
            SigType::Ed25519,
            &long_term.public(),
            &|m| long_term.sign(m).to_vec(),
        )
        .unwrap();
        let mut p = StreamPacket {
            flags: FLAG_SYNCHRONIZE,
            receive_stream_id: 9,
            from: Some(d),
            offline_signature: Some(off),
            ..StreamPacket::default()
        };
        p.sign(64, &|m| transient.sign(m).to_vec()).unwrap();
        let b = p.to_bytes();
        let q = StreamPacket::parse(&b).unwrap();
        assert_eq!(q, p);
        q.verify_offline_signature(Date::from_secs(1_900_000_000))
            .unwrap();
        let e = q
            .verify_offline_signature(Date::from_secs(2_000_000_001))
            .unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Expired { .. }), "{e}");
        let (t, key) = q.included_signer().unwrap();
        assert_eq!(key, &transient.public());
        q.verify_signature(t, key).unwrap();
        assert!(
            q.verify_signature(SigType::Ed25519, &long_term.public())
                .is_err()
        );
    }

    #[test]
    fn errors_say_where() {
        // NACK count larger than the data
        let mut b = StreamPacket::default().to_bytes();
        b[16] = 2;
        let e = StreamPacket::parse(&b).unwrap_err();
        assert_eq!(e.path_string(), "StreamPacket.nacks[1]");
        assert_eq!(e.offset(), 21);
        // option size past the end
        let mut b = StreamPacket::default().to_bytes();
        b[21] = 5;
        let e = StreamPacket::parse(&b).unwrap_err();
        assert_eq!(e.path_string(), "StreamPacket.options");
        assert_eq!(e.offset(), 22);
        // FROM flag with a truncated destination
        let mut b = StreamPacket::default().to_bytes();
        b[19] = FLAG_FROM_INCLUDED as u8;
        b[21] = 10;
        b.extend_from_slice(&[0; 10]);
        let e = StreamPacket::parse(&b).unwrap_err();
        assert!(
            e.path_string().starts_with("StreamPacket.options.from"),
            "{e}"
        );
        // signature flag without FROM and without bytes
        let mut b = StreamPacket::default().to_bytes();
        b[19] = FLAG_SIGNATURE_INCLUDED as u8;
        let e = StreamPacket::parse(&b).unwrap_err();
        assert_eq!(e.path_string(), "StreamPacket.options.signature");
        // offline signature without FROM
        let mut b = StreamPacket::default().to_bytes();
        b[18] = (FLAG_OFFLINE_SIGNATURE >> 8) as u8;
        b[21] = 4;
        b.extend_from_slice(&[0; 4]);
        let e = StreamPacket::parse(&b).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Missing(_)), "{e}");
    }

    #[test]
    fn unknown_flags_and_trailing_options_round_trip() {
        let mut b = StreamPacket::default().to_bytes();
        b[18] = 0xF1; // bits 12-15 and PROFILE_INTERACTIVE
        b[19] = FLAG_DELAY_REQUESTED as u8;
        b[21] = 5;
        b.extend_from_slice(&[0xEA, 0x61, 1, 2, 3]); // delay 60001, then 3 unknown bytes
        b.extend_from_slice(b"payload");
        let p = StreamPacket::parse(&b).unwrap();
        assert!(p.is_choke());
        assert_eq!(p.extra_options, vec![1, 2, 3]);
        assert_eq!(p.payload, b"payload");
        assert_eq!(p.to_bytes(), b);
    }
}
