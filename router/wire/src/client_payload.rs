//! The payload of an I2NP Data message between destinations: the I2CP client payload
//! (spec/i2cp.md "Payload"; spec/datagrams.md; spec/streaming.md). It is a gzip stream whose
//! header carries the client protocol and ports:
//!
//! - bytes 4–5 of the gzip header (the first half of MTIME) hold the source port and bytes
//!   6–7 the destination port, both big-endian (as i2pd 2.45.1 `StreamingDestination::
//!   CreateDataMessage` writes them, whatever gzip itself says about MTIME's byte order);
//! - byte 9 (OS) is the protocol: 6 streaming, 17 repliable datagram, 18 raw datagram, 19
//!   Datagram2, 20 Datagram3.
//!
//! The body may be compressed or use stored (level 0) blocks; either way the gzip CRC is
//! checked when reading.

use std::io::{Read, Write};

use crate::error::{Error, ErrorKind, Field, Result};

/// Client protocol numbers carried in the gzip header's OS byte.
pub mod protocol {
    pub const STREAMING: u8 = 6;
    pub const DATAGRAM: u8 = 17;
    pub const RAW: u8 = 18;
    pub const DATAGRAM2: u8 = 19;
    pub const DATAGRAM3: u8 = 20;
}

/// Most bytes a client payload may inflate to (a Data message is at most 64 KiB; streaming
/// packets and datagrams are far smaller, so this only stops gzip bombs).
pub const MAX_INFLATED: usize = 256 * 1024;

/// A decoded client payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPayload {
    pub protocol: u8,
    pub from_port: u16,
    pub to_port: u16,
    pub data: Vec<u8>,
}

/// gzip's fixed header length (no optional fields are written).
const HEADER: usize = 10;

impl ClientPayload {
    /// Encode as gzip; `compress` picks fast deflate over stored blocks (streaming payloads
    /// are often compressed data already, so i2pd sends most of them stored).
    pub fn encode(&self, compress: bool) -> Result<Vec<u8>> {
        let [f0, f1] = self.from_port.to_be_bytes();
        let [t0, t1] = self.to_port.to_be_bytes();
        // flate2 writes MTIME little-endian: pick the value whose LE bytes are the ports in
        // big-endian order
        let mtime = u32::from_le_bytes([f0, f1, t0, t1]);
        let level = if compress {
            flate2::Compression::fast()
        } else {
            flate2::Compression::none()
        };
        let err = |_| Error::bad_value("gzip compression failed", 0).at(Field::Gzip);
        let mut enc = flate2::GzBuilder::new()
            .mtime(mtime)
            .operating_system(self.protocol)
            .write(Vec::with_capacity(self.data.len() + 32), level);
        enc.write_all(&self.data).map_err(err)?;
        enc.finish().map_err(err)
    }

    /// Decode a gzip client payload, inflating at most [`MAX_INFLATED`] bytes.
    pub fn decode(bytes: &[u8]) -> Result<ClientPayload> {
        let header: &[u8; HEADER] = bytes
            .first_chunk()
            .ok_or_else(|| Error::bad_value("client payload shorter than a gzip header", 0))
            .map_err(|e| e.at(Field::Gzip))?;
        let [_, _, _, _, f0, f1, t0, t1, _, proto] = *header;
        let mut data = Vec::new();
        let cap = u64::try_from(MAX_INFLATED).unwrap_or(u64::MAX) + 1;
        flate2::read::GzDecoder::new(bytes)
            .take(cap)
            .read_to_end(&mut data)
            .map_err(|_| Error::bad_value("invalid gzip data", 0).at(Field::Gzip))?;
        if data.len() > MAX_INFLATED {
            return Err(Error::new(
                ErrorKind::TooLarge {
                    limit: u32::try_from(MAX_INFLATED).unwrap_or(u32::MAX),
                },
                0,
            )
            .at(Field::Gzip));
        }
        Ok(ClientPayload {
            protocol: proto,
            from_port: u16::from_be_bytes([f0, f1]),
            to_port: u16::from_be_bytes([t0, t1]),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_levels_and_header_layout() {
        let p = ClientPayload {
            protocol: protocol::STREAMING,
            from_port: 0x1234,
            to_port: 80,
            data: (0..5000u32).map(|i| (i % 251) as u8).collect(),
        };
        for compress in [false, true] {
            let b = p.encode(compress).unwrap();
            // what i2pd reads: ports big-endian at 4..8, protocol at 9
            assert_eq!(&b[..4], &[0x1f, 0x8b, 8, 0]);
            assert_eq!(&b[4..8], &[0x12, 0x34, 0, 80]);
            assert_eq!(b[9], 6);
            assert_eq!(ClientPayload::decode(&b).unwrap(), p);
        }
    }

    #[test]
    fn bad_crc_and_bombs_are_errors() {
        let p = ClientPayload {
            protocol: 18,
            from_port: 1,
            to_port: 2,
            data: vec![7; 100],
        };
        let mut b = p.encode(false).unwrap();
        let n = b.len();
        b[n - 6] ^= 1; // CRC32
        assert!(ClientPayload::decode(&b).is_err());
        let bomb = ClientPayload {
            data: vec![0; MAX_INFLATED + 1],
            ..p
        };
        assert!(ClientPayload::decode(&bomb.encode(true).unwrap()).is_err());
        assert!(ClientPayload::decode(&[0x1f, 0x8b]).is_err());
    }
}
