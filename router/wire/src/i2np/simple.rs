//! The small I2NP bodies (spec/i2np.md): DeliveryStatus (type 10), Garlic (11, the encrypted
//! clove set stays opaque: its format depends on ElGamal/AES vs ECIES ratchet) and Data (20).

use crate::error::{Error, Expected, Field, Result, ResultExt};
use crate::primitives::Date;
use crate::reader::{Decode, Encode, Reader, Sink};

/// Largest payload that fits an I2NP message (2-byte size) after a 4-byte length prefix.
pub const MAX_LENGTH_PREFIXED: usize = 65535 - 4;

/// Acknowledgement of a message id (also used for tunnel tests and netDb store replies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryStatus {
    pub msg_id: u32,
    pub timestamp: Date,
}

impl Decode for DeliveryStatus {
    const NAME: Field = Field::DeliveryStatus;

    fn read(r: &mut Reader<'_>) -> Result<DeliveryStatus> {
        let msg_id = r.u32().at(Field::MsgId).at(Field::DeliveryStatus)?;
        let timestamp = Date::read(r)
            .at(Field::Timestamp)
            .at(Field::DeliveryStatus)?;
        Ok(DeliveryStatus { msg_id, timestamp })
    }
}

impl Encode for DeliveryStatus {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u32(self.msg_id);
        self.timestamp.encode_to(out);
    }
}

fn read_length_prefixed(r: &mut Reader<'_>) -> Result<Vec<u8>> {
    let len = r.u32().at(Field::Length)?;
    let n = usize::try_from(len).unwrap_or(usize::MAX);
    Ok(r.bytes(n).at(Field::Payload)?.to_vec())
}

fn check_len(data: &[u8], field: Field) -> Result<()> {
    if data.len() > MAX_LENGTH_PREFIXED {
        return Err(
            Error::bad_length(data.len(), Expected::AtMost(MAX_LENGTH_PREFIXED as u32), 0)
                .at(field),
        );
    }
    Ok(())
}

/// A garlic message: 4-byte length and the encrypted data (opaque here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Garlic {
    data: Vec<u8>,
}

impl Garlic {
    pub fn new(data: Vec<u8>) -> Result<Garlic> {
        check_len(&data, Field::Garlic)?;
        Ok(Garlic { data })
    }
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

impl Decode for Garlic {
    const NAME: Field = Field::Garlic;

    fn read(r: &mut Reader<'_>) -> Result<Garlic> {
        read_length_prefixed(r)
            .map(|data| Garlic { data })
            .at(Field::Garlic)
    }
}

impl Encode for Garlic {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u32(u32::try_from(self.data.len()).unwrap_or(u32::MAX));
        out.put(&self.data);
    }
}

/// A data message: 4-byte length and an opaque payload (client data inside garlic cloves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    payload: Vec<u8>,
}

impl Data {
    pub fn new(payload: Vec<u8>) -> Result<Data> {
        check_len(&payload, Field::Data)?;
        Ok(Data { payload })
    }
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    pub fn into_payload(self) -> Vec<u8> {
        self.payload
    }
}

impl Decode for Data {
    const NAME: Field = Field::Data;

    fn read(r: &mut Reader<'_>) -> Result<Data> {
        read_length_prefixed(r)
            .map(|payload| Data { payload })
            .at(Field::Data)
    }
}

impl Encode for Data {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u32(u32::try_from(self.payload.len()).unwrap_or(u32::MAX));
        out.put(&self.payload);
    }
}
