//! Reseed bundles: an SU3 file (checked and verified against the trusted signers) wrapping a
//! zip, or a bare zip, holding `routerInfo-<base64 hash>.dat` files at the top level
//! (spec/updates.md, "SU3 Reseed File Specification").
//!
//! The RouterInfos themselves are only extracted here; the netDb verifies each one like any
//! other store before using it.

use std::io::Read;

use i2p_wire::Date;
use i2p_wire::su3::{ContentType, FileType, MAGIC, Su3};

use super::ReseedError;
use super::certs::Signers;

/// Most files read from one bundle (real ones hold 50-80).
pub const MAX_FILES: usize = 1000;
/// Largest RouterInfo file accepted (i2pd refuses anything over 3 KB).
pub const MAX_ROUTER_INFO_FILE: u64 = 16 * 1024;

/// Check an SU3 reseed file and its signature; returns the zip it carries.
pub fn verify_su3<'a>(
    bytes: &'a [u8],
    signers: &Signers,
    now: Date,
) -> Result<&'a [u8], ReseedError> {
    let su3 = Su3::parse(bytes)?;
    if su3.file_type != FileType::Zip {
        return Err(ReseedError::WrongFileType(su3.file_type));
    }
    if su3.content_type != ContentType::Reseed {
        return Err(ReseedError::WrongContentType(su3.content_type));
    }
    let signer = signers
        .get(su3.signer_id)
        .ok_or_else(|| ReseedError::UnknownSigner(su3.signer_id.to_string()))?;
    if signer.sig_type != su3.sig_type {
        return Err(ReseedError::SignatureTypeMismatch {
            signer: signer.id.clone(),
            file: su3.sig_type,
            key: signer.sig_type,
        });
    }
    if now < signer.not_before || now > signer.not_after {
        return Err(ReseedError::CertificateNotValid {
            signer: signer.id.clone(),
            not_before: signer.not_before,
            not_after: signer.not_after,
        });
    }
    i2p_crypto::sig::verify_rsa_raw(su3.sig_type, &signer.modulus, su3.signed, su3.signature)
        .map_err(|e| ReseedError::BadSignature {
            signer: signer.id.clone(),
            reason: e.to_string(),
        })?;
    Ok(su3.content)
}

/// Is this an SU3 file (by its magic number)?
pub fn is_su3(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The RouterInfo files of a reseed zip, as (file name, bytes). Other files are skipped;
/// oversized entries, directories and more than [`MAX_FILES`] entries are errors.
pub fn router_infos_from_zip(zip: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ReseedError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .map_err(|e| ReseedError::Zip(e.to_string()))?;
    if archive.len() > MAX_FILES {
        return Err(ReseedError::Zip(format!(
            "{} entries, more than the {MAX_FILES} accepted",
            archive.len()
        )));
    }
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|e| ReseedError::Zip(e.to_string()))?;
        let name = f.name().to_string();
        let is_ri = name.starts_with("routerInfo-")
            && name.ends_with(".dat")
            && !name.contains('/')
            && !name.contains('\\');
        if !is_ri || f.is_dir() {
            tracing::debug!(file = %name, "reseed: skipping a file that is not a RouterInfo");
            continue;
        }
        if f.size() > MAX_ROUTER_INFO_FILE {
            return Err(ReseedError::Zip(format!(
                "{name} is {} bytes, more than a RouterInfo can be",
                f.size()
            )));
        }
        let mut data = Vec::new();
        (&mut f)
            .take(MAX_ROUTER_INFO_FILE + 1)
            .read_to_end(&mut data)
            .map_err(|e| ReseedError::Zip(format!("{name}: {e}")))?;
        if data.len() as u64 > MAX_ROUTER_INFO_FILE {
            return Err(ReseedError::Zip(format!(
                "{name} inflates beyond its stated size"
            )));
        }
        out.push((name, data));
    }
    if out.is_empty() {
        return Err(ReseedError::NoRouterInfos);
    }
    Ok(out)
}

/// The RouterInfos of a reseed file's bytes: an SU3 (verified) or a bare zip.
pub fn router_infos_from_bundle(
    bytes: &[u8],
    signers: &Signers,
    now: Date,
) -> Result<Vec<(String, Vec<u8>)>, ReseedError> {
    if is_su3(bytes) {
        router_infos_from_zip(verify_su3(bytes, signers, now)?)
    } else {
        router_infos_from_zip(bytes)
    }
}
