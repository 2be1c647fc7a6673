//! I2P's Base64: RFC 4648 Base64 with the URL-unsafe characters replaced, `+` → `-` and
//! `/` → `~`, with `=` padding (see spec/common-structures.md and docs/overview/naming.md;
//! i2pd's `Base.cpp` uses the same alphabet and always pads).
//!
//! Decoding is strict: the length must be a multiple of 4, `=` may only appear as one or two
//! final characters, every other character must be in the alphabet, and the unused low bits
//! of the last character must be zero (so every byte string has exactly one encoding).

use crate::error::{Error, ErrorKind, Expected, Field, Result};

/// The 64 characters, in value order.
pub const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";

const INVALID: u8 = 0xff;

// Evaluated at compile time: an out-of-bounds index would be a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const fn decode_table() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
}

static DECODE: [u8; 256] = decode_table();

fn sym(v: u32) -> char {
    // v < 64 by construction; `get` keeps the no-panic rule
    ALPHABET.get((v & 63) as usize).copied().unwrap_or(b'A') as char
}

/// Length of the encoding of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Encode with the I2P alphabet and `=` padding.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(data.len()));
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        if let [a, b, d] = *c {
            let v = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(d);
            out.push(sym(v >> 18));
            out.push(sym(v >> 12));
            out.push(sym(v >> 6));
            out.push(sym(v));
        }
    }
    match *chunks.remainder() {
        [a] => {
            let v = u32::from(a) << 16;
            out.push(sym(v >> 18));
            out.push(sym(v >> 12));
            out.push_str("==");
        }
        [a, b] => {
            let v = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.push(sym(v >> 18));
            out.push(sym(v >> 12));
            out.push(sym(v >> 6));
            out.push('=');
        }
        _ => {}
    }
    out
}

fn err(kind: ErrorKind, offset: usize) -> Error {
    Error::new(kind, offset).at(Field::Base64)
}

/// Strictly decode I2P Base64 (see the module docs). Error offsets are character indices.
pub fn decode(s: &str) -> Result<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(err(
            ErrorKind::BadValue("length is not a multiple of 4"),
            bytes.len(),
        ));
    }
    let pad = bytes
        .iter()
        .rev()
        .take(2)
        .take_while(|&&c| c == b'=')
        .count();
    let body_len = bytes.len() - pad;
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut nbits = 0u32;
    for (i, &c) in bytes.iter().take(body_len).enumerate() {
        let v = DECODE.get(c as usize).copied().unwrap_or(INVALID);
        if v == INVALID {
            let what = if c == b'=' {
                "padding '=' before the end"
            } else {
                "character outside the I2P base64 alphabet"
            };
            return Err(err(ErrorKind::BadValue(what), i));
        }
        acc = (acc << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
            acc &= (1 << nbits) - 1;
        }
    }
    // leftover bits (2 with one '=' missing byte... ) must be zero
    if acc != 0 {
        return Err(err(
            ErrorKind::NotCanonical("non-zero unused bits in the last character"),
            body_len.saturating_sub(1),
        ));
    }
    Ok(out)
}

/// Decode and require exactly `N` bytes.
pub fn decode_array<const N: usize>(s: &str) -> Result<[u8; N]> {
    let v = decode(s)?;
    <[u8; N]>::try_from(v.as_slice())
        .map_err(|_| Error::bad_length(v.len(), Expected::Exactly(N as u32), 0).at(Field::Base64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        // RFC 4648 section 10; none of these use the two substituted characters
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), enc);
            assert_eq!(decode(enc).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn substituted_characters() {
        // 0xfb 0xff 0xbf is "+/+/" in standard base64, "-~-~" in I2P's
        assert_eq!(encode(&[0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf]), "-~-~-~-~");
        assert_eq!(
            decode("-~-~-~-~").unwrap(),
            [0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf]
        );
        assert!(decode("+/+/").is_err());
    }

    #[test]
    fn strictness() {
        assert!(decode("Zg=").is_err(), "bad length");
        assert!(decode("Zh==").is_err(), "non-canonical trailing bits");
        assert!(decode("Zm9=").is_err(), "non-canonical trailing bits");
        assert!(decode("Z===").is_err(), "too much padding");
        assert!(decode("Zg==Zg==").is_err(), "padding in the middle");
        assert!(decode("Zm 9").is_err(), "space");
        let e = decode("Zm9v!mFy").unwrap_err();
        assert_eq!(e.offset(), 4);
        assert!(e.to_string().starts_with("base64 at byte 4"), "{e}");
    }

    #[test]
    fn round_trip_all_lengths() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..data.len() {
            let s = encode(&data[..n]);
            assert_eq!(s.len(), encoded_len(n));
            assert_eq!(decode(&s).unwrap(), &data[..n]);
        }
    }
}
