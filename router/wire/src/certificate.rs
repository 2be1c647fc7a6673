//! Certificates (spec/common-structures.md, "Certificate" and "Key Certificates"): a type
//! byte, a 2-byte payload length and the payload.
//!
//! Lengths are enforced per type as the spec asks ("prohibit excess data"): NULL and HIDDEN
//! carry nothing, SIGNED carries 40 or 72 bytes, KEY carries the two type codes plus exactly
//! the excess key bytes the two key types need. HASHCASH, MULTIPLE and unknown types keep
//! their payload verbatim so they re-encode exactly.

use i2p_crypto::SigType;

use crate::error::{Error, ErrorKind, Expected, Field, Result, ResultExt};
use crate::primitives::EncType;
use crate::reader::{Decode, Encode, Reader, Sink};

/// Size of the key area in front of the certificate in a KeysAndCert.
pub const KEY_AREA_LEN: usize = 384;
/// Part of the key area reserved for the encryption key (the rest is for the signing key).
pub const CRYPTO_AREA_LEN: usize = 256;
/// Part of the key area reserved for the signing key.
pub const SIGNING_AREA_LEN: usize = 128;

/// Certificate type codes.
pub mod cert_type {
    pub const NULL: u8 = 0;
    pub const HASHCASH: u8 = 1;
    pub const HIDDEN: u8 = 2;
    pub const SIGNED: u8 = 3;
    pub const MULTIPLE: u8 = 4;
    pub const KEY: u8 = 5;
}

/// Excess signing key bytes that live in a key certificate (keys longer than 128 bytes).
pub fn signing_key_excess(sig: SigType) -> usize {
    sig.public_key_len().saturating_sub(SIGNING_AREA_LEN)
}

/// Excess crypto key bytes that live in a key certificate (keys longer than 256 bytes).
pub fn crypto_key_excess(enc: EncType) -> usize {
    enc.public_key_len().saturating_sub(CRYPTO_AREA_LEN)
}

/// A KEY certificate (type 5) payload. Type codes are kept raw so that a certificate with
/// codes we do not know still parses; [`crate::identity::KeysAndCert`] rejects those.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCertificate {
    sig_code: u16,
    crypto_code: u16,
    /// excess signing key data followed by excess crypto key data
    excess: Vec<u8>,
}

impl KeyCertificate {
    /// A key certificate for known types; `excess` must be the excess signing key bytes
    /// followed by the excess crypto key bytes (empty for all types in use today).
    pub fn new(sig: SigType, enc: EncType, excess: &[u8]) -> Result<KeyCertificate> {
        let want = signing_key_excess(sig) + crypto_key_excess(enc);
        if excess.len() != want {
            return Err(
                Error::bad_length(excess.len(), Expected::Exactly(want as u32), 0)
                    .at(Field::Certificate),
            );
        }
        Ok(KeyCertificate {
            sig_code: sig.code(),
            crypto_code: enc.code(),
            excess: excess.to_vec(),
        })
    }

    pub fn sig_code(&self) -> u16 {
        self.sig_code
    }
    pub fn crypto_code(&self) -> u16 {
        self.crypto_code
    }
    pub fn sig_type(&self) -> Option<SigType> {
        SigType::from_code(self.sig_code)
    }
    pub fn enc_type(&self) -> Option<EncType> {
        EncType::from_code(self.crypto_code)
    }
    /// Excess signing key data followed by excess crypto key data.
    pub fn excess(&self) -> &[u8] {
        &self.excess
    }
}

/// A certificate. See the module docs for the per-type length rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Certificate {
    Null,
    /// Deprecated; payload is an ASCII hashcash string.
    HashCash(Vec<u8>),
    /// Deprecated, unused.
    Hidden,
    /// Deprecated; 40-byte DSA signature, optionally followed by a 32-byte hash.
    Signed(Vec<u8>),
    /// Deprecated; payload contains several certificates (kept opaque).
    Multiple(Vec<u8>),
    Key(KeyCertificate),
    /// A type code this crate does not know, kept verbatim.
    Unknown {
        cert_type: u8,
        payload: Vec<u8>,
    },
}

impl Certificate {
    pub fn type_code(&self) -> u8 {
        match self {
            Certificate::Null => cert_type::NULL,
            Certificate::HashCash(_) => cert_type::HASHCASH,
            Certificate::Hidden => cert_type::HIDDEN,
            Certificate::Signed(_) => cert_type::SIGNED,
            Certificate::Multiple(_) => cert_type::MULTIPLE,
            Certificate::Key(_) => cert_type::KEY,
            Certificate::Unknown { cert_type, .. } => *cert_type,
        }
    }

    /// The key certificate, if this is one.
    pub fn as_key(&self) -> Option<&KeyCertificate> {
        match self {
            Certificate::Key(k) => Some(k),
            _ => None,
        }
    }

    fn payload_len(&self) -> usize {
        match self {
            Certificate::Null | Certificate::Hidden => 0,
            Certificate::HashCash(p)
            | Certificate::Signed(p)
            | Certificate::Multiple(p)
            | Certificate::Unknown { payload: p, .. } => p.len(),
            Certificate::Key(k) => 4 + k.excess.len(),
        }
    }
}

impl Decode for Certificate {
    const NAME: Field = Field::Certificate;

    fn read(r: &mut Reader<'_>) -> Result<Certificate> {
        read_certificate(r).at(Field::Certificate)
    }
}

fn read_certificate(r: &mut Reader<'_>) -> Result<Certificate> {
    let ctype = r.u8().at(Field::CertType)?;
    let len_at = r.position();
    let len = r.u16().at(Field::Length)? as usize;
    let payload_at = r.position();
    let payload = r.bytes(len).at(Field::Payload)?;
    let exact = |n: &'static [u32]| {
        if n.contains(&(len as u32)) {
            Ok(())
        } else {
            Err(Error::bad_length(len, Expected::OneOf(n), len_at).at(Field::Length))
        }
    };
    Ok(match ctype {
        cert_type::NULL => {
            exact(&[0])?;
            Certificate::Null
        }
        cert_type::HIDDEN => {
            exact(&[0])?;
            Certificate::Hidden
        }
        cert_type::SIGNED => {
            exact(&[40, 72])?;
            Certificate::Signed(payload.to_vec())
        }
        cert_type::HASHCASH => Certificate::HashCash(payload.to_vec()),
        cert_type::MULTIPLE => Certificate::Multiple(payload.to_vec()),
        cert_type::KEY => {
            let mut p = Reader::with_base_offset(payload, payload_at);
            let sig_code = p.u16().at(Field::SigType)?;
            let crypto_code = p.u16().at(Field::CryptoType)?;
            let excess = p.rest();
            if let (Some(sig), Some(enc)) = (
                SigType::from_code(sig_code),
                EncType::from_code(crypto_code),
            ) {
                let want = 4 + signing_key_excess(sig) + crypto_key_excess(enc);
                if len != want {
                    return Err(
                        Error::bad_length(len, Expected::Exactly(want as u32), len_at)
                            .at(Field::Length),
                    );
                }
            }
            Certificate::Key(KeyCertificate {
                sig_code,
                crypto_code,
                excess: excess.to_vec(),
            })
        }
        other => Certificate::Unknown {
            cert_type: other,
            payload: payload.to_vec(),
        },
    })
}

impl Encode for Certificate {
    fn encode_to<S: Sink + ?Sized>(&self, out: &mut S) {
        out.put_u8(self.type_code());
        // payload length <= 65535 is guaranteed by the parser and by KeyCertificate::new
        out.put_u16(u16::try_from(self.payload_len()).unwrap_or(u16::MAX));
        match self {
            Certificate::Null | Certificate::Hidden => {}
            Certificate::HashCash(p)
            | Certificate::Signed(p)
            | Certificate::Multiple(p)
            | Certificate::Unknown { payload: p, .. } => out.put(p),
            Certificate::Key(k) => {
                out.put_u16(k.sig_code);
                out.put_u16(k.crypto_code);
                out.put(&k.excess);
            }
        }
    }
}

/// Shortcut used by identity code: error for a type code we cannot lay out.
pub(crate) fn unknown_type(code: u16, offset: usize, field: Field) -> Error {
    Error::new(
        ErrorKind::UnknownType {
            code: u32::from(code),
        },
        offset,
    )
    .at(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cases: Vec<Vec<u8>> = vec![
            vec![0, 0, 0],
            vec![2, 0, 0],
            vec![5, 0, 4, 0, 7, 0, 4],
            vec![5, 0, 4, 0, 7, 0, 0],
            // P521 signing key: 4 excess bytes
            vec![5, 0, 8, 0, 3, 0, 0, 1, 2, 3, 4],
            vec![1, 0, 3, b'a', b':', b'b'],
            vec![4, 0, 2, 9, 9],
            vec![200, 0, 1, 42],
            {
                let mut v = vec![3, 0, 40];
                v.extend([7u8; 40]);
                v
            },
        ];
        for bytes in cases {
            let c = Certificate::parse(&bytes).unwrap();
            assert_eq!(c.to_bytes(), bytes, "{c:?}");
        }
    }

    #[test]
    fn length_rules() {
        // NULL with a payload
        let e = Certificate::parse(&[0, 0, 1, 0]).unwrap_err();
        assert_eq!(e.path_string(), "Certificate.length");
        assert_eq!(e.offset(), 1);
        // SIGNED with the wrong size
        assert!(Certificate::parse(&[3, 0, 1, 0]).is_err());
        // KEY with excess data that Ed25519/X25519 do not need
        let e = Certificate::parse(&[5, 0, 5, 0, 7, 0, 4, 0]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::BadLength { .. }), "{e}");
        // KEY too short for the two type codes
        let e = Certificate::parse(&[5, 0, 2, 0, 7]).unwrap_err();
        assert_eq!(e.path_string(), "Certificate.crypto_type");
        // KEY with unknown codes parses (layout is checked by KeysAndCert)
        let c = Certificate::parse(&[5, 0, 4, 0, 99, 0, 4]).unwrap();
        assert_eq!(c.as_key().unwrap().sig_type(), None);
        // truncated payload
        assert!(Certificate::parse(&[5, 0, 4, 0, 7]).is_err());
    }

    #[test]
    fn key_certificate_constructor_checks_excess() {
        assert!(KeyCertificate::new(SigType::Ed25519, EncType::X25519, &[]).is_ok());
        assert!(KeyCertificate::new(SigType::Ed25519, EncType::X25519, &[0]).is_err());
        assert!(KeyCertificate::new(SigType::EcdsaSha512P521, EncType::ElGamal, &[0; 4]).is_ok());
    }
}
