//! The Mapping (spec/common-structures.md, "Mapping"): a 2-byte size followed by
//! `key=value;` entries where key and value are length-prefixed Strings.
//!
//! Parsing keeps the entries in wire order (so signed structures re-encode exactly) and only
//! *records* whether they are canonical (sorted by key, no duplicates); i2pd 2.45.1 accepts
//! unsorted mappings and duplicate keys in RouterInfos (the last value wins), so rejecting them
//! is left to callers via [`Mapping::check_canonical`]. Lookups follow i2pd: the last entry
//! with a key wins.
//!
//! Building ([`Mapping::from_pairs`]) always produces canonical output: sorted by key in the
//! order of Java's `String.compareTo` (UTF-16 code units, what the spec prescribes), no
//! duplicate keys, every string ≤ 255 bytes and the whole ≤ 65535 bytes.

use core::cmp::Ordering;

use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
use crate::primitives::I2pString;
use crate::reader::{Decode, Encode, Reader, Sink};

/// Largest allowed value of the size field.
pub const MAX_MAPPING_SIZE: usize = 65535;

/// Where the first non-canonical entry was found by the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Problem {
    kind: ProblemKind,
    index: usize,
    offset: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProblemKind {
    Unsorted,
    Duplicate,
}

/// A key/value mapping in wire order. See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    entries: Vec<(I2pString, I2pString)>,
    problem: Option<Problem>,
}

/// Compare keys the way Java's `String.compareTo` does (UTF-16 code units), falling back to
/// bytes for invalid UTF-8.
pub fn java_key_order(a: &[u8], b: &[u8]) -> Ordering {
    match (core::str::from_utf8(a), core::str::from_utf8(b)) {
        (Ok(x), Ok(y)) if !(x.is_ascii() && y.is_ascii()) => x.encode_utf16().cmp(y.encode_utf16()),
        _ => a.cmp(b),
    }
}

impl Mapping {
    /// The empty mapping (encodes as two zero bytes).
    pub fn empty() -> Mapping {
        Mapping::default()
    }

    /// Build a canonical mapping: sorted, no duplicate keys, lengths checked.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Mapping>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut entries = Vec::new();
        for (i, (k, v)) in pairs.into_iter().enumerate() {
            let key = I2pString::new(k.as_ref())
                .at(Field::Key)
                .at_index(Field::Entries, i)?;
            let value = I2pString::new(v.as_ref())
                .at(Field::Value)
                .at_index(Field::Entries, i)?;
            entries.push((key, value));
        }
        entries.sort_by(|a, b| java_key_order(a.0.as_bytes(), b.0.as_bytes()));
        for (i, w) in entries.windows(2).enumerate() {
            if let [a, b] = w
                && a.0 == b.0
            {
                return Err(Error::new(ErrorKind::DuplicateKey, 0)
                    .at_index(Field::Entries, i + 1)
                    .at(Field::Mapping));
            }
        }
        let m = Mapping {
            entries,
            problem: None,
        };
        let size = m.content_len();
        if size > MAX_MAPPING_SIZE {
            return Err(
                Error::bad_length(size, Expected::AtMost(MAX_MAPPING_SIZE as u32), 0)
                    .at(Field::Size)
                    .at(Field::Mapping),
            );
        }
        Ok(m)
    }

    /// Entries in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&I2pString, &I2pString)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key` (the last one if the key is duplicated, as in i2pd).
    pub fn get(&self, key: &str) -> Option<&I2pString> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.as_bytes() == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// The value of `key` as text (`None` if absent or not UTF-8).
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(I2pString::as_str)
    }

    /// True if keys are strictly increasing (sorted, no duplicates).
    pub fn is_canonical(&self) -> bool {
        self.problem.is_none()
    }

    /// Fail with [`ErrorKind::Unsorted`] or [`ErrorKind::DuplicateKey`] (pointing at the first
    /// offending entry) unless the mapping is canonical.
    pub fn check_canonical(&self) -> Result<()> {
        match self.problem {
            None => Ok(()),
            Some(p) => {
                let kind = match p.kind {
                    ProblemKind::Unsorted => ErrorKind::Unsorted,
                    ProblemKind::Duplicate => ErrorKind::DuplicateKey,
                };
                Err(Error::new(kind, p.offset)
                    .at_index(Field::Entries, p.index)
                    .at(Field::Mapping))
            }
        }
    }

    /// Bytes after the 2-byte size field.
    fn content_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum()
    }
}

impl Decode for Mapping {
    const NAME: Field = Field::Mapping;

    fn read(r: &mut Reader<'_>) -> Result<Mapping> {
        read_mapping(r).at(Field::Mapping)
    }
}

pub(crate) fn read_mapping(r: &mut Reader<'_>) -> Result<Mapping> {
    let size = r.u16().at(Field::Size)?;
    let mut body = r.sub(size as usize).at(Field::Size)?;
    let mut entries: Vec<(I2pString, I2pString)> = Vec::new();
    let mut problem = None;
    let mut i = 0usize;
    while !body.is_empty() {
        let start = body.position();
        let (k, v) = read_entry(&mut body).at_index(Field::Entries, i)?;
        if problem.is_none()
            && let Some((prev, _)) = entries.last()
        {
            let kind = match java_key_order(prev.as_bytes(), k.as_bytes()) {
                Ordering::Less => None,
                Ordering::Equal => Some(ProblemKind::Duplicate),
                Ordering::Greater => {
                    // unsorted, but it could still duplicate an earlier key; report unsorted
                    Some(ProblemKind::Unsorted)
                }
            };
            problem = kind.map(|kind| Problem {
                kind,
                index: i,
                offset: start,
            });
        }
        entries.push((k, v));
        i += 1;
    }
    Ok(Mapping { entries, problem })
}

fn read_entry(r: &mut Reader<'_>) -> Result<(I2pString, I2pString)> {
    let k = I2pString::read(r).at(Field::Key)?;
    expect_byte(r, b'=', "expected '=' after the key")?;
    let v = I2pString::read(r).at(Field::Value)?;
    expect_byte(r, b';', "expected ';' after the value")?;
    Ok((k, v))
}

fn expect_byte(r: &mut Reader<'_>, want: u8, what: &'static str) -> Result<()> {
    let at = r.position();
    if r.u8()? == want {
        Ok(())
    } else {
        Err(Error::bad_value(what, at))
    }
}

impl Encode for Mapping {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        // size <= 65535 is an invariant of both constructors (parse and from_pairs)
        out.put_u16(u16::try_from(self.content_len()).unwrap_or(u16::MAX));
        for (k, v) in &self.entries {
            k.encode_to(out);
            out.put_u8(b'=');
            v.encode_to(out);
            out.put_u8(b';');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (k, v) in entries {
            body.push(k.len() as u8);
            body.extend_from_slice(k.as_bytes());
            body.push(b'=');
            body.push(v.len() as u8);
            body.extend_from_slice(v.as_bytes());
            body.push(b';');
        }
        let mut out = (body.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn parse_keeps_wire_order_and_flags_problems() {
        let bytes = raw(&[("b", "1"), ("a", "2")]);
        let m = Mapping::parse(&bytes).unwrap();
        assert_eq!(
            m.to_bytes(),
            bytes,
            "exact round trip of an unsorted mapping"
        );
        assert!(!m.is_canonical());
        let e = m.check_canonical().unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Unsorted);
        assert_eq!(e.path_string(), "Mapping.entries[1]");
        assert_eq!(e.offset(), 8);

        let bytes = raw(&[("a", "1"), ("a", "2")]);
        let m = Mapping::parse(&bytes).unwrap();
        assert_eq!(
            m.check_canonical().unwrap_err().kind(),
            &ErrorKind::DuplicateKey
        );
        assert_eq!(m.get_str("a"), Some("2"), "last wins, like i2pd");

        let bytes = raw(&[("a", "1"), ("b", "2")]);
        let m = Mapping::parse(&bytes).unwrap();
        assert!(m.check_canonical().is_ok());
        assert_eq!(m.get_str("b"), Some("2"));
        assert_eq!(m.get_str("c"), None);
    }

    #[test]
    fn parse_rejects_bad_separators_and_overruns() {
        let mut bytes = raw(&[("a", "1")]);
        bytes[4] = b':';
        let e = Mapping::parse(&bytes).unwrap_err();
        assert_eq!(e.path_string(), "Mapping.entries[0]");
        assert_eq!(e.offset(), 4);
        // size field says one byte more than the entries: the last entry overruns it
        let mut bytes = raw(&[("a", "1")]);
        bytes[1] -= 1;
        bytes.pop();
        let e = Mapping::parse(&bytes).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Truncated { .. }), "{e}");
        // size bigger than the input
        let e = Mapping::parse(&[0, 10, 1]).unwrap_err();
        assert_eq!(e.path_string(), "Mapping.size");
        assert_eq!(Mapping::parse(&[0, 0]).unwrap(), Mapping::empty());
    }

    #[test]
    fn builder_is_canonical() {
        let m = Mapping::from_pairs([
            ("netId", "2"),
            ("caps", "XfR"),
            ("router.version", "0.9.57"),
        ])
        .unwrap();
        let keys: Vec<_> = m.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["caps", "netId", "router.version"]);
        let bytes = m.to_bytes();
        let back = Mapping::parse(&bytes).unwrap();
        assert!(back.is_canonical());
        assert_eq!(back, m);
        let e = Mapping::from_pairs([("a", "1"), ("a", "2")]).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::DuplicateKey);
        assert!(Mapping::from_pairs([("a".repeat(256), "1".to_string())]).is_err());
        // 300 entries of 255+255+4 bytes exceed 65535
        let big: Vec<_> = (0..300)
            .map(|i| (format!("{i:0>255}"), "v".repeat(255)))
            .collect();
        let e = Mapping::from_pairs(big).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::BadLength { .. }), "{e}");
    }

    #[test]
    fn java_order_uses_utf16_units() {
        // U+FF61 sorts before U+1F600 in UTF-8 byte order *and* after it in UTF-16 order
        let a = "\u{FF61}";
        let b = "\u{1F600}";
        assert_eq!(a.as_bytes().cmp(b.as_bytes()), Ordering::Less);
        assert_eq!(
            java_key_order(a.as_bytes(), b.as_bytes()),
            Ordering::Greater
        );
        assert_eq!(java_key_order(b"caps", b"netId"), Ordering::Less);
    }
}
