//! I2P's Base32 (RFC 4648 alphabet, lowercase, no padding) and `.b32.i2p` addresses
//! (docs/overview/naming.md, "Base32 Names"; spec/b32encrypted.md for the longer "b33"
//! form used by encrypted LeaseSets).
//!
//! A classic address is the 52-character Base32 encoding of the SHA-256 [`Hash`](struct@Hash) of a
//! Destination followed by `.b32.i2p`. Addresses of 56 or more characters are encrypted
//! LeaseSet ("b33") addresses; they are recognised and rejected with
//! [`ErrorKind::Unsupported`] until blinding is implemented.
//!
//! Decoding is strict about the alphabet and about non-canonical trailing bits, and refuses
//! `=` padding. Upper-case input is accepted because host names are case-insensitive.

use crate::error::{Error, ErrorKind, Expected, Field, Result};
use crate::primitives::Hash;

/// The 32 characters, in value order.
pub const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The suffix of Base32 addresses.
pub const B32_SUFFIX: &str = ".b32.i2p";

/// Characters in a classic (hash) address label.
pub const B32_HASH_CHARS: usize = 52;

/// Minimum characters in an encrypted-LeaseSet ("b33") address label.
pub const B33_MIN_CHARS: usize = 56;

fn sym(v: u64) -> char {
    ALPHABET.get((v & 31) as usize).copied().unwrap_or(b'a') as char
}

fn value(c: u8) -> Option<u8> {
    match c {
        b'a'..=b'z' => Some(c - b'a'),
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// Encode, lowercase, without padding.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity((data.len() * 8).div_ceil(5));
    let mut acc: u64 = 0;
    let mut nbits = 0u32;
    for &b in data {
        acc = (acc << 8) | u64::from(b);
        nbits += 8;
        while nbits >= 5 {
            nbits -= 5;
            out.push(sym(acc >> nbits));
        }
        acc &= (1 << nbits) - 1;
    }
    if nbits > 0 {
        out.push(sym(acc << (5 - nbits)));
    }
    out
}

fn err(kind: ErrorKind, offset: usize) -> Error {
    Error::new(kind, offset).at(Field::Base32)
}

/// Strictly decode unpadded Base32 (either case). Error offsets are character indices.
pub fn decode(s: &str) -> Result<Vec<u8>> {
    let bytes = s.as_bytes();
    // 1, 3 and 6 leftover characters can never come from whole bytes
    if matches!(bytes.len() % 8, 1 | 3 | 6) {
        return Err(err(
            ErrorKind::BadValue("length is not a valid unpadded base32 length"),
            bytes.len(),
        ));
    }
    let mut out = Vec::with_capacity(bytes.len() * 5 / 8);
    let mut acc: u64 = 0;
    let mut nbits = 0u32;
    for (i, &c) in bytes.iter().enumerate() {
        let v = value(c).ok_or_else(|| {
            let what = if c == b'=' {
                "padding is not used in I2P base32"
            } else {
                "character outside the base32 alphabet"
            };
            err(ErrorKind::BadValue(what), i)
        })?;
        acc = (acc << 5) | u64::from(v);
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
            acc &= (1 << nbits) - 1;
        }
    }
    if acc != 0 {
        return Err(err(
            ErrorKind::NotCanonical("non-zero unused bits in the last character"),
            bytes.len().saturating_sub(1),
        ));
    }
    Ok(out)
}

/// `<52 chars>.b32.i2p` for a destination hash.
pub fn b32_address(hash: &Hash) -> String {
    let mut s = encode(hash.as_bytes());
    s.push_str(B32_SUFFIX);
    s
}

/// Parse a classic `.b32.i2p` address (the suffix is optional and case-insensitive) back to
/// the destination hash. Encrypted-LeaseSet addresses give [`ErrorKind::Unsupported`].
pub fn parse_b32_address(address: &str) -> Result<Hash> {
    let label = strip_suffix_ignore_case(address, B32_SUFFIX).unwrap_or(address);
    let n = label.len();
    if n == B32_HASH_CHARS {
        let bytes = decode(label).map_err(|e| e.at(Field::B32Address))?;
        let arr = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            Error::bad_length(bytes.len(), Expected::Exactly(32), 0).at(Field::B32Address)
        })?;
        Ok(Hash::from_bytes(arr))
    } else if n >= B33_MIN_CHARS {
        Err(Error::new(
            ErrorKind::Unsupported("encrypted LeaseSet (b33) address, not supported yet"),
            0,
        )
        .at(Field::B32Address))
    } else {
        Err(Error::bad_length(n, Expected::Exactly(B32_HASH_CHARS as u32), 0).at(Field::B32Address))
    }
}

fn strip_suffix_ignore_case<'s>(s: &'s str, suffix: &str) -> Option<&'s str> {
    let split = s.len().checked_sub(suffix.len())?;
    if !s.is_char_boundary(split) {
        return None;
    }
    let (head, tail) = s.split_at(split);
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_lowercase_unpadded() {
        // RFC 4648 section 10 vectors, lower-cased and with the padding removed
        for (plain, enc) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(encode(plain.as_bytes()), enc);
            assert_eq!(decode(enc).unwrap(), plain.as_bytes());
            assert_eq!(decode(&enc.to_uppercase()).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn strictness() {
        assert!(decode("my======").is_err(), "padding");
        assert!(decode("mz").is_err(), "non-canonical trailing bits");
        assert!(decode("m").is_err(), "impossible length");
        assert!(decode("m0").is_err(), "0 is not in the alphabet");
        assert!(decode("m1").is_err(), "1 is not in the alphabet");
    }

    #[test]
    fn b32_addresses() {
        let h = Hash::from_bytes([0xab; 32]);
        let a = b32_address(&h);
        assert_eq!(a.len(), 52 + 8);
        assert!(a.ends_with(".b32.i2p"));
        assert_eq!(parse_b32_address(&a).unwrap(), h);
        assert_eq!(parse_b32_address(&a.to_uppercase()).unwrap(), h);
        assert_eq!(parse_b32_address(&a[..52]).unwrap(), h);
        // the documented example in docs/overview/naming.md is a valid classic address
        assert!(
            parse_b32_address("ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p")
                .is_ok()
        );
        let b33 = format!("{}.b32.i2p", "a".repeat(56));
        let e = parse_b32_address(&b33).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Unsupported(_)), "{e}");
        assert!(e.to_string().contains("encrypted LeaseSet"), "{e}");
        assert!(parse_b32_address("abc.b32.i2p").is_err());
        // 52 characters whose last one has non-zero unused bits
        let mut bad = a[..52].to_string();
        bad.pop();
        bad.push('b');
        assert!(parse_b32_address(&bad).is_err());
    }
}
