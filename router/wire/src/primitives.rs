//! Common scalar types of spec/common-structures.md, "Common type specification": [`Hash`](struct@Hash),
//! [`Date`], [`TunnelId`], [`I2pString`] (the length-prefixed String), and [`EncType`], the
//! crypto public key type codes of the "PublicKey" and "Key Certificates" tables. (Signature
//! type codes are [`i2p_crypto::SigType`].)

use core::fmt;

use crate::base32;
use crate::base64;
use crate::error::{Error, ErrorKind, Expected, Field, Result};
use crate::reader::{Decode, Encode, Reader, Sink};

/// A SHA-256 hash (32 bytes): router and destination identity hashes, netDb keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash([u8; 32]);

impl Hash {
    pub const LEN: usize = 32;

    pub const fn from_bytes(bytes: [u8; 32]) -> Hash {
        Hash(bytes)
    }
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }
    /// SHA-256 of `data`.
    pub fn digest(data: &[u8]) -> Hash {
        Hash(i2p_crypto::sha256(data))
    }
    /// True for the all-zero hash (used e.g. as "exploratory" marker in lookups).
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }
    /// I2P Base64 (44 characters).
    pub fn to_base64(&self) -> String {
        base64::encode(&self.0)
    }
    /// Parse the 44-character I2P Base64 form.
    pub fn from_base64(s: &str) -> Result<Hash> {
        base64::decode_array(s).map(Hash)
    }
    /// `<52 chars>.b32.i2p` (meaningful for destination hashes).
    pub fn to_b32_address(&self) -> String {
        base32::b32_address(self)
    }
    /// Parse a `.b32.i2p` address, see [`base32::parse_b32_address`].
    pub fn from_b32_address(s: &str) -> Result<Hash> {
        base32::parse_b32_address(s)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_base64())
    }
}

impl Decode for Hash {
    const NAME: Field = Field::Key;
    fn read(r: &mut Reader<'_>) -> Result<Hash> {
        r.array().map(Hash)
    }
}

impl Encode for Hash {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put(&self.0);
    }
}

/// Milliseconds since the Unix epoch (the 8-byte Date); 0 means "undefined".
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug)]
pub struct Date(u64);

impl Date {
    pub const ZERO: Date = Date(0);

    pub const fn from_millis(ms: u64) -> Date {
        Date(ms)
    }
    pub const fn from_secs(s: u64) -> Date {
        Date(s.saturating_mul(1000))
    }
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// Whole seconds (truncating).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    pub const fn saturating_add_millis(self, ms: u64) -> Date {
        Date(self.0.saturating_add(ms))
    }
    pub const fn saturating_sub_millis(self, ms: u64) -> Date {
        Date(self.0.saturating_sub(ms))
    }
}

impl fmt::Display for Date {
    /// ISO-8601 UTC, e.g. `2023-03-01T12:00:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let days = secs / 86_400;
        let sod = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's well-known algorithm, restricted to non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Decode for Date {
    const NAME: Field = Field::Published;
    fn read(r: &mut Reader<'_>) -> Result<Date> {
        r.u64().map(Date)
    }
}

impl Encode for Date {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u64(self.0);
    }
}

/// A 4-byte tunnel identifier (nonzero except in special cases).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug)]
pub struct TunnelId(pub u32);

impl fmt::Display for TunnelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Decode for TunnelId {
    const NAME: Field = Field::TunnelId;
    fn read(r: &mut Reader<'_>) -> Result<TunnelId> {
        r.u32().map(TunnelId)
    }
}

impl Encode for TunnelId {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u32(self.0);
    }
}

/// The length-prefixed String: 0–255 bytes.
///
/// The spec calls it UTF-8, but also notes that I2NP does not enforce it, and i2pd 2.45.1 does
/// not check; so parsing keeps the raw bytes (for exact re-encoding and signature checks) and
/// [`I2pString::as_str`] returns `None` for invalid UTF-8. Strings we build are always UTF-8.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct I2pString(Vec<u8>);

impl I2pString {
    pub const MAX_LEN: usize = 255;

    /// From UTF-8 text of at most 255 bytes.
    pub fn new(s: &str) -> Result<I2pString> {
        I2pString::from_bytes(s.as_bytes())
    }

    /// From raw bytes of at most 255 bytes.
    pub fn from_bytes(b: &[u8]) -> Result<I2pString> {
        if b.len() > Self::MAX_LEN {
            return Err(Error::bad_length(b.len(), Expected::AtMost(255), 0).at(Field::String));
        }
        Ok(I2pString(b.to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.0).ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for I2pString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for I2pString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl Decode for I2pString {
    const NAME: Field = Field::String;
    fn read(r: &mut Reader<'_>) -> Result<I2pString> {
        let n = r.u8()?;
        Ok(I2pString(r.bytes(n as usize)?.to_vec()))
    }
}

impl Encode for I2pString {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        // length <= 255 is an invariant of every constructor
        out.put_u8(u8::try_from(self.0.len()).unwrap_or(u8::MAX));
        out.put(&self.0);
    }
}

/// Crypto (encryption) public key type codes, from the "Key Certificates" table of
/// spec/common-structures.md. Handshake-only ML-KEM key types have no code and are not here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncType {
    /// 0: ElGamal-2048, 256 bytes. Unused filler in Destinations; deprecated for routers.
    ElGamal,
    /// 1: P-256, 64 bytes (reserved, proposal 145).
    P256,
    /// 2: P-384, 96 bytes (reserved).
    P384,
    /// 3: P-521, 132 bytes (reserved).
    P521,
    /// 4: X25519, 32 bytes, little-endian (ECIES).
    X25519,
    /// 5: ML-KEM-512 hybrid, 32-byte X25519 key; LeaseSets only.
    MlKem512X25519,
    /// 6: ML-KEM-768 hybrid, 32-byte X25519 key; LeaseSets only.
    MlKem768X25519,
    /// 7: ML-KEM-1024 hybrid, 32-byte X25519 key; LeaseSets only.
    MlKem1024X25519,
}

impl EncType {
    pub const ALL: [EncType; 8] = [
        EncType::ElGamal,
        EncType::P256,
        EncType::P384,
        EncType::P521,
        EncType::X25519,
        EncType::MlKem512X25519,
        EncType::MlKem768X25519,
        EncType::MlKem1024X25519,
    ];

    pub fn from_code(code: u16) -> Option<EncType> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    pub const fn code(self) -> u16 {
        match self {
            EncType::ElGamal => 0,
            EncType::P256 => 1,
            EncType::P384 => 2,
            EncType::P521 => 3,
            EncType::X25519 => 4,
            EncType::MlKem512X25519 => 5,
            EncType::MlKem768X25519 => 6,
            EncType::MlKem1024X25519 => 7,
        }
    }

    /// Public key length in bytes.
    pub const fn public_key_len(self) -> usize {
        match self {
            EncType::ElGamal => 256,
            EncType::P256 => 64,
            EncType::P384 => 96,
            EncType::P521 => 132,
            EncType::X25519
            | EncType::MlKem512X25519
            | EncType::MlKem768X25519
            | EncType::MlKem1024X25519 => 32,
        }
    }

    /// Whether the spec allows this type in a RouterIdentity key certificate.
    pub const fn allowed_in_router_identity(self) -> bool {
        matches!(self, EncType::ElGamal | EncType::X25519)
    }
}

/// Read a 2-byte signature type code and map it to [`i2p_crypto::SigType`].
pub(crate) fn read_sig_type(r: &mut Reader<'_>) -> Result<i2p_crypto::SigType> {
    let at = r.position();
    let code = r.u16()?;
    i2p_crypto::SigType::from_code(code).ok_or_else(|| {
        Error::new(
            ErrorKind::UnknownType {
                code: u32::from(code),
            },
            at,
        )
        .at(Field::SigType)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_display() {
        assert_eq!(Date::ZERO.to_string(), "1970-01-01T00:00:00.000Z");
        // 2000-02-29T23:59:59.999Z = 951868799999 ms (leap day of a leap century)
        assert_eq!(
            Date::from_millis(951_868_799_999).to_string(),
            "2000-02-29T23:59:59.999Z"
        );
        // 2106-02-07T06:28:15Z, where 4-byte second dates roll over
        assert_eq!(
            Date::from_secs(u64::from(u32::MAX)).to_string(),
            "2106-02-07T06:28:15.000Z"
        );
    }

    #[test]
    fn string_limits() {
        assert!(I2pString::new(&"x".repeat(255)).is_ok());
        assert!(I2pString::new(&"x".repeat(256)).is_err());
        let s = I2pString::parse(&[3, b'a', b'b', b'c']).unwrap();
        assert_eq!(s.as_str(), Some("abc"));
        assert_eq!(s.to_bytes(), [3, b'a', b'b', b'c']);
        let e = I2pString::parse(&[4, b'a']).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Truncated { .. }));
        // invalid UTF-8 is kept, not rejected
        let s = I2pString::parse(&[1, 0xff]).unwrap();
        assert_eq!(s.as_str(), None);
        assert_eq!(s.to_bytes(), [1, 0xff]);
    }

    #[test]
    fn enc_type_codes() {
        for t in EncType::ALL {
            assert_eq!(EncType::from_code(t.code()), Some(t));
        }
        assert_eq!(EncType::from_code(8), None);
        assert_eq!(EncType::X25519.public_key_len(), 32);
        assert_eq!(EncType::ElGamal.public_key_len(), 256);
    }
}
