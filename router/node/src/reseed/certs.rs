//! Reseed signer certificates: self-signed X.509 certificates carrying the RSA keys that sign
//! reseed SU3 files (spec/updates.md, "SU3 Reseed File Specification"). The signer ID an SU3
//! names is the certificate's common name (i2pd reads the issuer CN; for these self-signed
//! certificates subject and issuer are the same).
//!
//! The certificates of the public network (netId 2) are built in (`config/reseed-certificates`,
//! the set i2pd 2.45.1 ships); other networks use only the ones configured.

use std::collections::BTreeMap;
use std::path::Path;

use i2p_crypto::SigType;
use i2p_wire::Date;
use thiserror::Error;
use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// The public network's reseed signer certificates (file name, PEM).
pub const MAINNET_SIGNERS: &[(&str, &str)] = &[
    (
        "acetone_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/acetone_at_mail.i2p.crt"),
    ),
    (
        "creativecowpat_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/creativecowpat_at_mail.i2p.crt"),
    ),
    (
        "echelon3_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/echelon3_at_mail.i2p.crt"),
    ),
    (
        "hankhill19580_at_gmail.com.crt",
        include_str!("../../config/reseed-certificates/hankhill19580_at_gmail.com.crt"),
    ),
    (
        "hiduser0_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/hiduser0_at_mail.i2p.crt"),
    ),
    (
        "hottuna_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/hottuna_at_mail.i2p.crt"),
    ),
    (
        "i2p-reseed_at_mk16.de.crt",
        include_str!("../../config/reseed-certificates/i2p-reseed_at_mk16.de.crt"),
    ),
    (
        "igor_at_novg.net.crt",
        include_str!("../../config/reseed-certificates/igor_at_novg.net.crt"),
    ),
    (
        "lazygravy_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/lazygravy_at_mail.i2p.crt"),
    ),
    (
        "orignal_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/orignal_at_mail.i2p.crt"),
    ),
    (
        "r4sas-reseed_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/r4sas-reseed_at_mail.i2p.crt"),
    ),
    (
        "rambler_at_mail.i2p.crt",
        include_str!("../../config/reseed-certificates/rambler_at_mail.i2p.crt"),
    ),
    (
        "reseed_at_diva.exchange.crt",
        include_str!("../../config/reseed-certificates/reseed_at_diva.exchange.crt"),
    ),
];

/// Why a signer certificate could not be used.
#[derive(Debug, Error)]
pub enum CertError {
    #[error("{source_name}: not a PEM certificate: {reason}")]
    Pem { source_name: String, reason: String },
    #[error("{source_name}: not an X.509 certificate: {reason}")]
    X509 { source_name: String, reason: String },
    #[error("{source_name}: the certificate has no common name (CN) to use as signer ID")]
    NoCommonName { source_name: String },
    #[error("{source_name}: the key is not RSA")]
    NotRsa { source_name: String },
    #[error("{source_name}: RSA public exponent must be 65537")]
    Exponent { source_name: String },
    #[error("{source_name}: RSA key of {bits} bits is not one of 2048, 3072, 4096")]
    KeySize { source_name: String, bits: usize },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// One trusted signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerCert {
    /// the signer ID (certificate CN), e.g. `orignal@mail.i2p`
    pub id: String,
    /// RSA modulus, big-endian, exactly the key size
    pub modulus: Vec<u8>,
    /// the signature type this key makes
    pub sig_type: SigType,
    pub not_before: Date,
    pub not_after: Date,
    /// where it came from (file name), for messages
    pub source: String,
}

impl SignerCert {
    /// Read one PEM certificate.
    pub fn from_pem(pem: &[u8], source_name: &str) -> Result<SignerCert, CertError> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| CertError::Pem {
            source_name: source_name.to_string(),
            reason: e.to_string(),
        })?;
        Self::from_parsed_pem(&pem, source_name)
    }

    fn from_parsed_pem(pem: &Pem, source_name: &str) -> Result<SignerCert, CertError> {
        let src = || source_name.to_string();
        let (_, cert) = X509Certificate::from_der(&pem.contents).map_err(|e| CertError::X509 {
            source_name: src(),
            reason: e.to_string(),
        })?;
        let cn = |name: &x509_parser::x509::X509Name<'_>| {
            name.iter_common_name()
                .next()
                .and_then(|c| c.as_str().ok())
                .map(str::to_string)
        };
        let id = cn(cert.subject())
            .or_else(|| cn(cert.issuer()))
            .ok_or_else(|| CertError::NoCommonName { source_name: src() })?;
        let key = cert
            .public_key()
            .parsed()
            .map_err(|_| CertError::NotRsa { source_name: src() })?;
        let PublicKey::RSA(rsa) = key else {
            return Err(CertError::NotRsa { source_name: src() });
        };
        let exponent: Vec<u8> = rsa
            .exponent
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        if exponent != [0x01, 0x00, 0x01] {
            return Err(CertError::Exponent { source_name: src() });
        }
        let modulus: Vec<u8> = rsa
            .modulus
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        let sig_type = match modulus.len() {
            256 => SigType::RsaSha256_2048,
            384 => SigType::RsaSha384_3072,
            512 => SigType::RsaSha512_4096,
            n => {
                return Err(CertError::KeySize {
                    source_name: src(),
                    bits: n * 8,
                });
            }
        };
        let validity = cert.validity();
        let to_date = |t: i64| Date::from_secs(u64::try_from(t).unwrap_or(0));
        Ok(SignerCert {
            id,
            modulus,
            sig_type,
            not_before: to_date(validity.not_before.timestamp()),
            not_after: to_date(validity.not_after.timestamp()),
            source: src(),
        })
    }
}

/// The trusted signers, by signer ID.
#[derive(Clone, Debug, Default)]
pub struct Signers {
    by_id: BTreeMap<String, SignerCert>,
}

impl Signers {
    /// The public network's built-in signers.
    pub fn mainnet() -> Result<Signers, CertError> {
        let mut s = Signers::default();
        for (name, pem) in MAINNET_SIGNERS {
            s.add(SignerCert::from_pem(pem.as_bytes(), name)?);
        }
        Ok(s)
    }

    pub fn add(&mut self, cert: SignerCert) {
        self.by_id.insert(cert.id.clone(), cert);
    }

    /// Add every usable `*.crt` file in `dir` (unusable ones are logged and skipped); returns
    /// how many were added.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, CertError> {
        let io = |e| CertError::Io {
            path: dir.display().to_string(),
            source: e,
        };
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "crt"))
            .collect();
        names.sort();
        let mut added = 0;
        for p in &names {
            let pem = std::fs::read(p).map_err(|e| CertError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
            // one unusable file does not discard the others (as in i2pd)
            match SignerCert::from_pem(&pem, &p.display().to_string()) {
                Ok(c) => {
                    self.add(c);
                    added += 1;
                }
                Err(e) => tracing::warn!(error = %e, "reseed: signer certificate not used"),
            }
        }
        Ok(added)
    }

    pub fn get(&self, id: &str) -> Option<&SignerCert> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_mainnet_signers_load() {
        let s = Signers::mainnet().unwrap();
        assert_eq!(s.len(), MAINNET_SIGNERS.len());
        let o = s.get("orignal@mail.i2p").unwrap();
        assert_eq!(o.sig_type, SigType::RsaSha512_4096);
        assert_eq!(o.modulus.len(), 512);
        assert!(o.not_after > o.not_before);
        // every signer ID matches its file name (`@` written `_at_`)
        for (name, _) in MAINNET_SIGNERS {
            let id = name.trim_end_matches(".crt").replace("_at_", "@");
            assert!(s.get(&id).is_some(), "{id}");
        }
    }

    #[test]
    fn bad_certificates_say_why() {
        let e = SignerCert::from_pem(b"hello", "x.crt").unwrap_err();
        assert!(
            e.to_string().starts_with("x.crt: not a PEM certificate"),
            "{e}"
        );
        // an EC certificate (the test CA) is not an RSA signer
        let ca = include_bytes!("../../tests/data/reseed/ca.crt");
        let e = SignerCert::from_pem(ca, "ca.crt").unwrap_err();
        assert!(matches!(e, CertError::NotRsa { .. }), "{e}");
    }
}
