//! The SU3 signed file container (spec/updates.md, "SU3 File Specification"): reseed bundles,
//! router updates, plugins and news feeds.
//!
//! [`Su3::parse`] reads the 40-byte header, the version and signer ID, and splits the file into
//! the signed prefix (header through the end of the content), the content and the signature.
//! It checks the layout only: which signer to trust for which content type, and the signature
//! itself, are up to the caller (the node's reseed module verifies reseed files against the
//! configured signer certificates). Unused header bytes are not required to be zero, so files
//! from later format revisions still parse; anything that does not fit is a [`Su3Error`].

use core::fmt;

use i2p_crypto::SigType;

/// The magic number at offset 0.
pub const MAGIC: &[u8; 6] = b"I2Psu3";
/// Length of the fixed header before the version field.
pub const HEADER_LEN: usize = 40;
/// The version field is at least this long (NUL padded).
pub const MIN_VERSION_LEN: usize = 16;

/// What the content is stored as (header byte 25).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Zip,
    Xml,
    Html,
    XmlGz,
    TxtGz,
    Dmg,
    Exe,
    Other(u8),
}

impl FileType {
    pub fn from_code(code: u8) -> FileType {
        match code {
            0 => FileType::Zip,
            1 => FileType::Xml,
            2 => FileType::Html,
            3 => FileType::XmlGz,
            4 => FileType::TxtGz,
            5 => FileType::Dmg,
            6 => FileType::Exe,
            other => FileType::Other(other),
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileType::Zip => f.write_str("zip"),
            FileType::Xml => f.write_str("xml"),
            FileType::Html => f.write_str("html"),
            FileType::XmlGz => f.write_str("xml.gz"),
            FileType::TxtGz => f.write_str("txt.gz"),
            FileType::Dmg => f.write_str("dmg"),
            FileType::Exe => f.write_str("exe"),
            FileType::Other(c) => write!(f, "unknown file type {c}"),
        }
    }
}

/// What the content is for (header byte 27); it selects the trusted signers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    Unknown,
    RouterUpdate,
    Plugin,
    Reseed,
    News,
    Blocklist,
    Other(u8),
}

impl ContentType {
    pub fn from_code(code: u8) -> ContentType {
        match code {
            0 => ContentType::Unknown,
            1 => ContentType::RouterUpdate,
            2 => ContentType::Plugin,
            3 => ContentType::Reseed,
            4 => ContentType::News,
            5 => ContentType::Blocklist,
            other => ContentType::Other(other),
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentType::Unknown => f.write_str("unknown"),
            ContentType::RouterUpdate => f.write_str("router update"),
            ContentType::Plugin => f.write_str("plugin"),
            ContentType::Reseed => f.write_str("reseed data"),
            ContentType::News => f.write_str("news feed"),
            ContentType::Blocklist => f.write_str("blocklist"),
            ContentType::Other(c) => write!(f, "unknown content type {c}"),
        }
    }
}

/// Why bytes are not an SU3 file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Su3Error {
    #[error("not an SU3 file: bad magic number")]
    BadMagic,
    #[error("SU3 format version {0} is not supported (only 0)")]
    UnsupportedFormat(u8),
    #[error("SU3 signature type {0} is unknown")]
    UnknownSigType(u16),
    #[error("SU3 signature length {got} does not match {sig_type:?} ({expected} bytes)")]
    SignatureLength {
        sig_type: SigType,
        got: u16,
        expected: usize,
    },
    #[error("SU3 version field is {0} bytes, at least 16 required")]
    VersionTooShort(u8),
    #[error("SU3 {field} is not UTF-8")]
    NotUtf8 { field: &'static str },
    #[error(
        "SU3 file truncated in the {field}: {needed} bytes needed at offset {offset}, {available} available"
    )]
    Truncated {
        field: &'static str,
        offset: usize,
        needed: u64,
        available: usize,
    },
    #[error("{0} bytes after the SU3 signature")]
    TrailingBytes(usize),
}

/// A parsed SU3 file; borrows from the input.
#[derive(Clone, PartialEq, Eq)]
pub struct Su3<'a> {
    pub sig_type: SigType,
    /// the version string without its NUL padding (for reseeds: seconds since the epoch)
    pub version: &'a str,
    /// who signed it, e.g. `zzz@mail.i2p`
    pub signer_id: &'a str,
    pub file_type: FileType,
    pub content_type: ContentType,
    /// header, version, signer ID and content: what the signature covers
    pub signed: &'a [u8],
    pub content: &'a [u8],
    pub signature: &'a [u8],
}

impl fmt::Debug for Su3<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Su3")
            .field("sig_type", &self.sig_type)
            .field("version", &self.version)
            .field("signer_id", &self.signer_id)
            .field("file_type", &self.file_type)
            .field("content_type", &self.content_type)
            .field("content_len", &self.content.len())
            .finish()
    }
}

fn take<'a>(
    bytes: &'a [u8],
    offset: usize,
    len: u64,
    field: &'static str,
) -> Result<&'a [u8], Su3Error> {
    let truncated = || Su3Error::Truncated {
        field,
        offset,
        needed: len,
        available: bytes.len().saturating_sub(offset),
    };
    let n = usize::try_from(len).map_err(|_| truncated())?;
    let end = offset.checked_add(n).ok_or_else(truncated)?;
    bytes.get(offset..end).ok_or_else(truncated)
}

fn byte(header: &[u8], i: usize) -> u8 {
    header.get(i).copied().unwrap_or(0)
}

impl<'a> Su3<'a> {
    /// Parse an SU3 file (a pure function, for fuzzing too).
    pub fn parse(bytes: &'a [u8]) -> Result<Su3<'a>, Su3Error> {
        let header = take(bytes, 0, HEADER_LEN as u64, "header").map_err(|e| {
            // a short file that does not even start right is "not an SU3 file"
            if bytes.len() < MAGIC.len() || !bytes.starts_with(MAGIC) {
                Su3Error::BadMagic
            } else {
                e
            }
        })?;
        if !header.starts_with(MAGIC) {
            return Err(Su3Error::BadMagic);
        }
        let format = byte(header, 7);
        if format != 0 {
            return Err(Su3Error::UnsupportedFormat(format));
        }
        let sig_code = u16::from_be_bytes([byte(header, 8), byte(header, 9)]);
        let sig_type = SigType::from_code(sig_code).ok_or(Su3Error::UnknownSigType(sig_code))?;
        let sig_len = u16::from_be_bytes([byte(header, 10), byte(header, 11)]);
        if usize::from(sig_len) != sig_type.signature_len() {
            return Err(Su3Error::SignatureLength {
                sig_type,
                got: sig_len,
                expected: sig_type.signature_len(),
            });
        }
        let version_len = byte(header, 13);
        if usize::from(version_len) < MIN_VERSION_LEN {
            return Err(Su3Error::VersionTooShort(version_len));
        }
        let signer_len = byte(header, 15);
        let mut content_len = [0u8; 8];
        content_len.copy_from_slice(header.get(16..24).unwrap_or(&[0; 8]));
        let content_len = u64::from_be_bytes(content_len);
        let file_type = FileType::from_code(byte(header, 25));
        let content_type = ContentType::from_code(byte(header, 27));

        let mut at = HEADER_LEN;
        let version = take(bytes, at, u64::from(version_len), "version")?;
        at += usize::from(version_len);
        let signer = take(bytes, at, u64::from(signer_len), "signer ID")?;
        at += usize::from(signer_len);
        let content = take(bytes, at, content_len, "content")?;
        at += content.len();
        let signed = bytes.get(..at).unwrap_or_default();
        let signature = take(bytes, at, u64::from(sig_len), "signature")?;
        at += signature.len();
        if at != bytes.len() {
            return Err(Su3Error::TrailingBytes(bytes.len() - at));
        }
        let version = core::str::from_utf8(version)
            .map_err(|_| Su3Error::NotUtf8 { field: "version" })?
            .trim_end_matches('\0');
        let signer_id =
            core::str::from_utf8(signer).map_err(|_| Su3Error::NotUtf8 { field: "signer ID" })?;
        Ok(Su3 {
            sig_type,
            version,
            signer_id,
            file_type,
            content_type,
            signed,
            content,
            signature,
        })
    }
}

/// Build an SU3 file around `content` with `signature_of` signing the prefix (for tools and
/// tests; the signature must have the length of `sig_type`).
pub fn build(
    sig_type: SigType,
    version: &str,
    signer_id: &str,
    file_type: u8,
    content_type: u8,
    content: &[u8],
    signature_of: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + 64 + content.len() + sig_type.signature_len());
    v.extend_from_slice(MAGIC);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&sig_type.code().to_be_bytes());
    let sig_len = u16::try_from(sig_type.signature_len()).unwrap_or(u16::MAX);
    v.extend_from_slice(&sig_len.to_be_bytes());
    let version_len = version.len().clamp(MIN_VERSION_LEN, 255);
    v.push(0);
    v.push(u8::try_from(version_len).unwrap_or(u8::MAX));
    v.push(0);
    v.push(u8::try_from(signer_id.len().min(255)).unwrap_or(u8::MAX));
    v.extend_from_slice(&(content.len() as u64).to_be_bytes());
    v.extend_from_slice(&[0, file_type, 0, content_type]);
    v.extend_from_slice(&[0; 12]);
    let mut ver = version.as_bytes().to_vec();
    ver.resize(version_len, 0);
    v.extend_from_slice(&ver);
    v.extend_from_slice(
        signer_id
            .as_bytes()
            .get(..signer_id.len().min(255))
            .unwrap_or_default(),
    );
    v.extend_from_slice(content);
    let sig = signature_of(&v);
    v.extend_from_slice(&sig);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(content: &[u8]) -> Vec<u8> {
        build(
            SigType::RsaSha512_4096,
            "1700000000",
            "test@mail.i2p",
            0,
            3,
            content,
            &|_| vec![0xab; 512],
        )
    }

    #[test]
    fn layout_and_round_trip() {
        let f = sample(b"PK-zip-bytes");
        assert_eq!(&f[..6], b"I2Psu3");
        assert_eq!(f.len(), 40 + 16 + 13 + 12 + 512);
        let s = Su3::parse(&f).unwrap();
        assert_eq!(s.sig_type, SigType::RsaSha512_4096);
        assert_eq!(s.version, "1700000000");
        assert_eq!(s.signer_id, "test@mail.i2p");
        assert_eq!(s.file_type, FileType::Zip);
        assert_eq!(s.content_type, ContentType::Reseed);
        assert_eq!(s.content, b"PK-zip-bytes");
        assert_eq!(s.signed, &f[..f.len() - 512]);
        assert_eq!(s.signature, &[0xab; 512][..]);
    }

    #[test]
    fn header_fields_are_checked() {
        let good = sample(b"x");
        let mut f = good.clone();
        f[0] = b'J';
        assert_eq!(Su3::parse(&f).unwrap_err(), Su3Error::BadMagic);
        assert_eq!(Su3::parse(b"I2P").unwrap_err(), Su3Error::BadMagic);
        assert_eq!(Su3::parse(b"hello world").unwrap_err(), Su3Error::BadMagic);
        let mut f = good.clone();
        f[7] = 1;
        assert_eq!(Su3::parse(&f).unwrap_err(), Su3Error::UnsupportedFormat(1));
        let mut f = good.clone();
        f[9] = 9;
        assert_eq!(Su3::parse(&f).unwrap_err(), Su3Error::UnknownSigType(9));
        let mut f = good.clone();
        f[10] = 1;
        assert!(matches!(
            Su3::parse(&f).unwrap_err(),
            Su3Error::SignatureLength { got: 256, .. }
        ));
        let mut f = good.clone();
        f[13] = 8;
        assert_eq!(Su3::parse(&f).unwrap_err(), Su3Error::VersionTooShort(8));
        // content length larger than the file
        let mut f = good.clone();
        f[16] = 1;
        assert!(matches!(
            Su3::parse(&f).unwrap_err(),
            Su3Error::Truncated {
                field: "content",
                ..
            }
        ));
        // missing signature bytes
        let f = &good[..good.len() - 1];
        assert!(matches!(
            Su3::parse(f).unwrap_err(),
            Su3Error::Truncated {
                field: "signature",
                ..
            }
        ));
        let mut f = good.clone();
        f.push(0);
        assert_eq!(Su3::parse(&f).unwrap_err(), Su3Error::TrailingBytes(1));
        let mut f = good.clone();
        f[56] = 0xff; // first signer ID byte
        assert_eq!(
            Su3::parse(&f).unwrap_err(),
            Su3Error::NotUtf8 { field: "signer ID" }
        );
        // other file and content types parse; the caller decides
        let mut f = good;
        f[25] = 1;
        f[27] = 4;
        let s = Su3::parse(&f).unwrap();
        assert_eq!(
            (s.file_type, s.content_type),
            (FileType::Xml, ContentType::News)
        );
    }

    #[test]
    fn every_prefix_fails_cleanly() {
        let f = sample(b"0123456789");
        for n in 0..f.len() {
            assert!(Su3::parse(&f[..n]).is_err(), "prefix {n}");
        }
    }
}
