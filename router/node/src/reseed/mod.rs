//! Reseeding: getting the first RouterInfos from outside the network
//! (docs/misc/reseed.md; spec/updates.md, "SU3 Reseed File Specification").
//!
//! Sources, in order: a local file (`reseed.file` / `--reseed-file`: an SU3 file or a zip),
//! then the HTTPS servers of `reseed.urls`, each asked for `i2pseeds.su3?netid=N`
//! (proposal 147). SU3 files must be signed by a trusted signer: the built-in certificates
//! of the public network when `network.net_id` is 2, plus those in `reseed.signers_dir`. Other
//! networks have no built-in servers or signers. The RouterInfos found are handed to the netDb,
//! which verifies each of them.
//!
//! Errors say what was wrong in words an operator can act on: "bad signature", "unknown
//! signer", "wrong file type", "no RouterInfos in the bundle", with the file or URL.

pub mod bundle;
pub mod certs;
pub mod https;

use std::path::{Path, PathBuf};
use std::time::Duration;

use i2p_crypto::SigType;
use i2p_wire::Date;
use i2p_wire::su3::{ContentType, FileType, Su3Error};
use thiserror::Error;
use tracing::{info, warn};

pub use certs::{CertError, SignerCert, Signers};

/// The public network's reseed servers (i2pd 2.45.1's `reseed.urls` default).
pub const MAINNET_URLS: &[&str] = &[
    "https://reseed2.i2p.net/",
    "https://reseed.diva.exchange/",
    "https://reseed-fr.i2pd.xyz/",
    "https://reseed.memcpy.io/",
    "https://reseed.onion.im/",
    "https://i2pseed.creativecowpat.net:8443/",
    "https://reseed.i2pgit.org/",
    "https://i2p.novg.net/",
    "https://banana.incognet.io/",
    "https://reseed-pl.i2pd.xyz/",
    "https://www2.mk16.de/",
];

/// Why a reseed source gave nothing.
#[derive(Debug, Error)]
pub enum ReseedError {
    #[error("not a valid SU3 file: {0}")]
    Su3(#[from] Su3Error),
    #[error("wrong file type: the SU3 holds {0}, a reseed must hold a zip")]
    WrongFileType(FileType),
    #[error("wrong content type: the SU3 holds {0}, expected reseed data")]
    WrongContentType(ContentType),
    #[error("unknown signer {0}: no trusted reseed certificate has this ID")]
    UnknownSigner(String),
    #[error("bad signature: the SU3 does not verify with the certificate of {signer} ({reason})")]
    BadSignature { signer: String, reason: String },
    #[error("the SU3 is signed with {file:?} but the certificate of {signer} holds a {key:?} key")]
    SignatureTypeMismatch {
        signer: String,
        file: SigType,
        key: SigType,
    },
    #[error("the certificate of {signer} is not valid now (valid {not_before} to {not_after})")]
    CertificateNotValid {
        signer: String,
        not_before: Date,
        not_after: Date,
    },
    #[error("bad zip: {0}")]
    Zip(String),
    #[error("no RouterInfos in the bundle")]
    NoRouterInfos,
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("signer certificates: {0}")]
    Cert(#[from] CertError),
}

/// Where to reseed from.
#[derive(Clone, Debug, Default)]
pub struct ReseedSources {
    pub file: Option<PathBuf>,
    pub urls: Vec<String>,
    pub signers: Signers,
    /// an extra CA certificate (PEM) to trust for HTTPS, besides the webpki roots
    pub extra_ca: Option<Vec<u8>>,
    pub net_id: u8,
    pub timeout: Duration,
}

impl ReseedSources {
    /// The sources for `net_id`: built-in servers and signers only on the public network.
    pub fn for_network(
        net_id: u8,
        file: Option<PathBuf>,
        urls: Option<Vec<String>>,
        signers_dir: Option<&Path>,
        ca_file: Option<&Path>,
    ) -> Result<ReseedSources, ReseedError> {
        let mut signers = if net_id == 2 {
            Signers::mainnet()?
        } else {
            Signers::default()
        };
        if let Some(dir) = signers_dir {
            signers.add_dir(dir)?;
        }
        let urls = match urls {
            Some(u) => u,
            None if net_id == 2 => MAINNET_URLS.iter().map(|s| s.to_string()).collect(),
            None => Vec::new(),
        };
        let extra_ca = match ca_file {
            Some(p) => Some(std::fs::read(p).map_err(|e| ReseedError::Io {
                path: p.to_path_buf(),
                source: e,
            })?),
            None => None,
        };
        Ok(ReseedSources {
            file,
            urls,
            signers,
            extra_ca,
            net_id,
            timeout: Duration::from_secs(30),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.urls.is_empty()
    }
}

/// Read a local reseed file (SU3 or zip).
pub fn from_file(
    path: &Path,
    signers: &Signers,
    now: Date,
) -> Result<Vec<(String, Vec<u8>)>, ReseedError> {
    let bytes = std::fs::read(path).map_err(|e| ReseedError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    bundle::router_infos_from_bundle(&bytes, signers, now)
}

/// Try the sources in order until one yields RouterInfos: the file, then the URLs in a
/// random order. Returns the RouterInfo files, or every source's error.
pub async fn reseed(
    sources: &ReseedSources,
    now: Date,
) -> Result<Vec<(String, Vec<u8>)>, Vec<(String, ReseedError)>> {
    let mut errors = Vec::new();
    if let Some(path) = &sources.file {
        match from_file(path, &sources.signers, now) {
            Ok(v) => {
                info!(file = %path.display(), routers = v.len(), "reseed: read a reseed file");
                return Ok(v);
            }
            Err(e) => {
                warn!(file = %path.display(), error = %e, "reseed: file refused");
                errors.push((path.display().to_string(), e));
            }
        }
    }
    let mut urls = sources.urls.clone();
    // a random order spreads the load, as i2pd and Java do
    {
        use rand::seq::SliceRandom;
        urls.shuffle(&mut rand::rng());
    }
    for url in urls {
        match https::fetch_su3(&url, sources).await {
            Ok(bytes) => match bundle::router_infos_from_bundle(&bytes, &sources.signers, now) {
                Ok(v) => {
                    info!(url = %url, routers = v.len(), "reseed: fetched a reseed bundle");
                    return Ok(v);
                }
                Err(e) => {
                    warn!(url = %url, error = %e, "reseed: bundle refused");
                    errors.push((url, e));
                }
            },
            Err(e) => {
                warn!(url = %url, error = %e, "reseed: download failed");
                errors.push((url, e));
            }
        }
    }
    Err(errors)
}

/// Why `i2p-router reseed` failed.
#[derive(Debug, Error)]
pub enum ReseedCommandError {
    #[error("no reseed source: set reseed.file, --reseed-file or reseed.urls")]
    NoSource,
    #[error("reseed failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Setup(#[from] ReseedError),
    #[error(transparent)]
    File(#[from] crate::keyfile::FileError),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

/// `i2p-router reseed`: fetch and verify a reseed bundle, check every RouterInfo as the netDb
/// does, and write the good ones into the netDb directory. Returns the summary to print.
pub fn cmd_reseed(
    data_dir: &Path,
    config: &crate::config::Config,
) -> Result<String, ReseedCommandError> {
    let dir = crate::keyfile::DataDir::open(data_dir)?;
    let net_id = config.network.net_id.get();
    let r = &config.reseed;
    let sources = ReseedSources::for_network(
        net_id,
        r.file.clone(),
        r.urls.as_ref().map(|u| u.0.clone()),
        r.signers_dir.as_deref(),
        r.ca_file.as_deref(),
    )?;
    if sources.is_empty() {
        return Err(ReseedCommandError::NoSource);
    }
    let now = Date::from_millis(crate::router_info::now_ms().unwrap_or(0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ReseedCommandError::Runtime)?;
    let files = rt.block_on(reseed(&sources, now)).map_err(|errors| {
        ReseedCommandError::Failed(
            errors
                .iter()
                .map(|(src, e)| format!("{src}: {e}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let netdb = crate::netdb::storage::NetDbDir::open(dir.path()).map_err(|e| {
        ReseedCommandError::File(crate::keyfile::FileError::Io {
            op: "create directory",
            path: dir.path().join(crate::netdb::storage::NETDB_DIR),
            source: e,
        })
    })?;
    let (mut added, mut refused) = (0usize, Vec::new());
    for (name, bytes) in &files {
        match i2p_netdb::RouterEntry::validate(bytes, None, net_id, now) {
            Ok(e) => {
                netdb.write(&e.hash(), bytes)?;
                added += 1;
            }
            Err(e) => refused.push(format!("{name}: {e}")),
        }
    }
    let mut out = format!(
        "reseed: {added} RouterInfos added to {}\n",
        netdb.root().display()
    );
    for r in &refused {
        out.push_str(&format!("reseed: refused {r}\n"));
    }
    Ok(out)
}
