//! I2NP message headers (spec/i2np.md, "I2NP Message Header"): the standard 16-byte header
//! (type, message id, expiration in ms, payload size, checksum = first byte of SHA-256 of the
//! payload) and the 9-byte short header NTCP2, SSU2 and ECIES garlic cloves use (type,
//! message id, expiration in seconds; size and checksum come from the encapsulation).

use crate::error::{Error, ErrorKind, Field, Result, ResultExt};
use crate::primitives::Date;
use crate::reader::{Reader, Sink};

/// Length of the standard header.
pub const STANDARD_HEADER_LEN: usize = 16;
/// Length of the short (NTCP2/SSU2/garlic clove) header.
pub const SHORT_HEADER_LEN: usize = 9;

/// The checksum byte of a payload: the first byte of its SHA-256.
pub fn checksum(payload: &[u8]) -> u8 {
    let [first, ..] = i2p_crypto::sha256(payload);
    first
}

/// The standard 16-byte header, as read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StandardHeader {
    pub type_id: u8,
    pub msg_id: u32,
    pub expiration: Date,
    /// payload length
    pub size: u16,
    pub checksum: u8,
}

impl StandardHeader {
    /// Read the 16 header bytes (the payload is not touched).
    pub fn read(r: &mut Reader<'_>) -> Result<StandardHeader> {
        read_standard(r).at(Field::Header)
    }

    pub fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u8(self.type_id);
        out.put_u32(self.msg_id);
        out.put_u64(self.expiration.as_millis());
        out.put_u16(self.size);
        out.put_u8(self.checksum);
    }

    /// Fail with [`ErrorKind::BadChecksum`] unless `payload` hashes to the header checksum.
    /// `offset` is where the header starts, for the error.
    pub fn check_payload(&self, payload: &[u8], offset: usize) -> Result<()> {
        let actual = checksum(payload);
        if actual == self.checksum {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::BadChecksum {
                    expected: self.checksum,
                    actual,
                },
                offset + 15,
            )
            .at(Field::Checksum)
            .at(Field::Header))
        }
    }
}

fn read_standard(r: &mut Reader<'_>) -> Result<StandardHeader> {
    Ok(StandardHeader {
        type_id: r.u8().at(Field::Type)?,
        msg_id: r.u32().at(Field::MsgId)?,
        expiration: Date::from_millis(r.u64().at(Field::Expiration)?),
        size: r.u16().at(Field::Size)?,
        checksum: r.u8().at(Field::Checksum)?,
    })
}

/// The 9-byte short header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortHeader {
    pub type_id: u8,
    pub msg_id: u32,
    /// seconds since the epoch (wraps in 2106)
    pub expiration_secs: u32,
}

impl ShortHeader {
    pub fn read(r: &mut Reader<'_>) -> Result<ShortHeader> {
        let h = (|| {
            Ok(ShortHeader {
                type_id: r.u8().at(Field::Type)?,
                msg_id: r.u32().at(Field::MsgId)?,
                expiration_secs: r.u32().at(Field::Expiration)?,
            })
        })();
        h.at(Field::Header)
    }

    pub fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u8(self.type_id);
        out.put_u32(self.msg_id);
        out.put_u32(self.expiration_secs);
    }

    pub fn expiration(&self) -> Date {
        Date::from_secs(u64::from(self.expiration_secs))
    }
}
