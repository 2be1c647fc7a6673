//! Our router's long-term keys and their files in the data dir.
//!
//! - `router.keys`, in i2pd's PrivateKeys layout so an i2pd identity can be brought along:
//!   the RouterIdentity (X25519 crypto type 4, Ed25519 signature type 7 in a KEY certificate,
//!   391 bytes), then the 32-byte X25519 private key, then the 32-byte Ed25519 private key
//!   (the seed). 455 bytes in all.
//! - `ntcp2.keys`, in i2pd's layout (`NTCP2PrivateKeys` in its RouterContext.h): the 32-byte
//!   NTCP2 static public key, the 32-byte static private key, the 16-byte IV. 80 bytes.
//!
//! Both are created once, atomically and with mode 0600, and never regenerated: a file that is
//! present but wrong (truncated, trailing bytes, other key types, a private key that does not
//! match its public key) is an error naming the file, and the file is left as it was.

use std::fmt;
use std::path::Path;

use i2p_wire::{Decode, EncType, Encode, Hash, Reader, RouterIdentity, SigType};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::keyfile::{self, DataDir, FileError, SECRET_MODE};
use i2p_crypto::{Ed25519SigningKey as Ed25519Secret, X25519Secret};

/// File name of the router identity and its private keys.
pub const ROUTER_KEYS_FILE: &str = "router.keys";
/// File name of the NTCP2 static key and IV.
pub const NTCP2_KEYS_FILE: &str = "ntcp2.keys";

/// Length of an X25519 + Ed25519 RouterIdentity (384-byte key area + 7-byte KEY certificate).
pub const IDENTITY_LEN: usize = 391;
/// Length of `router.keys` for that identity.
pub const ROUTER_KEYS_LEN: usize = IDENTITY_LEN + 32 + 32;
/// Length of `ntcp2.keys`.
pub const NTCP2_KEYS_LEN: usize = 80;

/// What is wrong with the content of a key file.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyFormatError {
    #[error("not a valid RouterIdentity ({0})")]
    Identity(i2p_wire::Error),
    #[error(
        "unsupported key types (crypto type {enc}, signature type {sig}); only X25519 (4) with \
         Ed25519 (7) identities are supported"
    )]
    UnsupportedTypes { enc: u16, sig: u16 },
    #[error("truncated: {got} bytes, expected {expected}")]
    Truncated { got: usize, expected: usize },
    #[error("{extra} unexpected bytes after the keys (expected {expected} bytes in all)")]
    TrailingBytes { extra: usize, expected: usize },
    #[error("the {0} private key does not match the public key")]
    Mismatch(&'static str),
    #[error("offline-signed keys (all-zero Ed25519 private key) cannot be used by a router")]
    OfflineKeys,
}

/// Why our keys could not be loaded or created.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot get random bytes from the operating system")]
    Random(#[source] rand::rngs::SysError),
    #[error("cannot build our RouterIdentity")]
    Identity(#[source] i2p_wire::Error),
}

/// The router identity with its private keys.
pub struct RouterKeys {
    identity: RouterIdentity,
    encryption: X25519Secret,
    signing: Ed25519Secret,
}

impl fmt::Debug for RouterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterKeys")
            .field("hash", &self.identity.hash())
            .finish_non_exhaustive()
    }
}

impl RouterKeys {
    /// Parse `router.keys` content: the pure, fuzzable entry point.
    pub fn from_bytes(bytes: &[u8]) -> Result<RouterKeys, KeyFormatError> {
        let mut r = Reader::new(bytes);
        let identity = RouterIdentity::read(&mut r).map_err(|e| match e.kind() {
            i2p_wire::ErrorKind::Truncated { .. } => KeyFormatError::Truncated {
                got: bytes.len(),
                expected: ROUTER_KEYS_LEN,
            },
            _ => KeyFormatError::Identity(e),
        })?;
        if identity.enc_type() != EncType::X25519 || identity.sig_type() != SigType::Ed25519 {
            return Err(KeyFormatError::UnsupportedTypes {
                enc: identity.enc_type().code(),
                sig: identity.sig_type().code(),
            });
        }
        let rest = bytes.get(r.position()..).unwrap_or_default();
        if rest.len() < 64 {
            return Err(KeyFormatError::Truncated {
                got: bytes.len(),
                expected: ROUTER_KEYS_LEN,
            });
        }
        if rest.len() > 64 {
            return Err(KeyFormatError::TrailingBytes {
                extra: rest.len() - 64,
                expected: r.position() + 64,
            });
        }
        let (x, e) = rest.split_at(32);
        let encryption = x25519_from_slice(x).ok_or(KeyFormatError::Truncated {
            got: bytes.len(),
            expected: ROUTER_KEYS_LEN,
        })?;
        if encryption.public().0 != identity.encryption_key() {
            return Err(KeyFormatError::Mismatch("X25519"));
        }
        if e.iter().all(|b| *b == 0) {
            return Err(KeyFormatError::OfflineKeys);
        }
        let signing = ed25519_from_slice(e).ok_or(KeyFormatError::Truncated {
            got: bytes.len(),
            expected: ROUTER_KEYS_LEN,
        })?;
        if signing.public() != identity.signing_key() {
            return Err(KeyFormatError::Mismatch("Ed25519"));
        }
        Ok(RouterKeys {
            identity,
            encryption,
            signing,
        })
    }

    /// New keys from 96 random bytes: X25519 private key, Ed25519 seed, padding seed.
    pub fn from_random(random: &[u8; 96]) -> Result<RouterKeys, KeyError> {
        let (x, rest) = random.split_at(32);
        let (e, pad) = rest.split_at(32);
        let encryption = x25519_from_slice(x).ok_or(KeyError::Identity(bad_len()))?;
        let signing = ed25519_from_slice(e).ok_or(KeyError::Identity(bad_len()))?;
        let pad: [u8; 32] = pad.try_into().map_err(|_| KeyError::Identity(bad_len()))?;
        let identity =
            RouterIdentity::new_x25519_ed25519(&encryption.public().0, &signing.public(), &pad)
                .map_err(KeyError::Identity)?;
        Ok(RouterKeys {
            identity,
            encryption,
            signing,
        })
    }

    /// The `router.keys` content.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(ROUTER_KEYS_LEN));
        self.identity.encode_to(&mut *out);
        out.extend_from_slice(&*self.encryption.to_bytes());
        out.extend_from_slice(&*self.signing.to_seed());
        out
    }

    pub fn identity(&self) -> &RouterIdentity {
        &self.identity
    }

    pub fn hash(&self) -> Hash {
        self.identity.hash()
    }

    /// The router hash in I2P base64 (44 characters).
    pub fn hash_base64(&self) -> String {
        self.identity.hash().to_base64()
    }

    /// The RouterIdentity in I2P base64.
    pub fn identity_base64(&self) -> String {
        i2p_wire::base64::encode(&self.identity.to_bytes())
    }

    /// Sign `msg` with the identity's Ed25519 key.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg)
    }

    /// The X25519 private key (for ECIES messages and tunnel builds addressed to us).
    pub fn encryption_secret(&self) -> &X25519Secret {
        &self.encryption
    }
}

fn bad_len() -> i2p_wire::Error {
    i2p_wire::Error::new(i2p_wire::ErrorKind::BadValue("key length"), 0)
}

/// The NTCP2 static key pair and IV.
pub struct Ntcp2Keys {
    static_secret: X25519Secret,
    static_public: [u8; 32],
    iv: [u8; 16],
}

impl fmt::Debug for Ntcp2Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ntcp2Keys")
            .field(
                "static_public",
                &i2p_wire::base64::encode(&self.static_public),
            )
            .finish_non_exhaustive()
    }
}

impl Ntcp2Keys {
    /// Parse `ntcp2.keys` content: the pure, fuzzable entry point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Ntcp2Keys, KeyFormatError> {
        if bytes.len() < NTCP2_KEYS_LEN {
            return Err(KeyFormatError::Truncated {
                got: bytes.len(),
                expected: NTCP2_KEYS_LEN,
            });
        }
        if bytes.len() > NTCP2_KEYS_LEN {
            return Err(KeyFormatError::TrailingBytes {
                extra: bytes.len() - NTCP2_KEYS_LEN,
                expected: NTCP2_KEYS_LEN,
            });
        }
        let truncated = || KeyFormatError::Truncated {
            got: bytes.len(),
            expected: NTCP2_KEYS_LEN,
        };
        let static_public: [u8; 32] = bytes
            .get(..32)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?;
        let static_secret = bytes
            .get(32..64)
            .and_then(x25519_from_slice)
            .ok_or_else(truncated)?;
        let iv: [u8; 16] = bytes
            .get(64..80)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?;
        if static_secret.public().0 != static_public {
            return Err(KeyFormatError::Mismatch("NTCP2 static X25519"));
        }
        Ok(Ntcp2Keys {
            static_secret,
            static_public,
            iv,
        })
    }

    /// New keys from 48 random bytes: the static private key, then the IV.
    pub fn from_random(random: &[u8; 48]) -> Ntcp2Keys {
        let mut key = Zeroizing::new([0u8; 32]);
        let mut iv = [0u8; 16];
        key.copy_from_slice(random.get(..32).unwrap_or(&[0; 32]));
        iv.copy_from_slice(random.get(32..).unwrap_or(&[0; 16]));
        let static_secret = X25519Secret::from_bytes(*key);
        Ntcp2Keys {
            static_public: static_secret.public().0,
            static_secret,
            iv,
        }
    }

    /// The `ntcp2.keys` content.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(NTCP2_KEYS_LEN));
        out.extend_from_slice(&self.static_public);
        out.extend_from_slice(&*self.static_secret.to_bytes());
        out.extend_from_slice(&self.iv);
        out
    }

    /// The static public key (`s` in the NTCP2 address).
    pub fn static_public(&self) -> &[u8; 32] {
        &self.static_public
    }

    /// The IV (`i` in a published NTCP2 address).
    pub fn iv(&self) -> &[u8; 16] {
        &self.iv
    }

    pub fn static_secret(&self) -> &X25519Secret {
        &self.static_secret
    }
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, KeyError> {
    use rand::TryRng;
    let mut buf = Zeroizing::new([0u8; N]);
    rand::rngs::SysRng
        .try_fill_bytes(&mut *buf)
        .map_err(KeyError::Random)?;
    Ok(buf)
}

/// Load `router.keys` from the data dir, or create it if it does not exist.
pub fn load_or_create_router_keys(dir: &DataDir) -> Result<RouterKeys, KeyError> {
    load_or_create(
        dir,
        ROUTER_KEYS_FILE,
        ROUTER_KEYS_LEN,
        RouterKeys::from_bytes,
        || RouterKeys::from_random(&*random::<96>()?),
        |k| k.to_bytes(),
        |k| tracing::info!(router_hash = %k.hash_base64(), "created a new router identity"),
    )
}

/// Load `ntcp2.keys` from the data dir, or create it if it does not exist.
pub fn load_or_create_ntcp2_keys(dir: &DataDir) -> Result<Ntcp2Keys, KeyError> {
    load_or_create(
        dir,
        NTCP2_KEYS_FILE,
        NTCP2_KEYS_LEN,
        Ntcp2Keys::from_bytes,
        || Ok(Ntcp2Keys::from_random(&*random::<48>()?)),
        |k| k.to_bytes(),
        |_| tracing::info!("created new NTCP2 static keys"),
    )
}

fn load_or_create<K>(
    dir: &DataDir,
    name: &str,
    expected_len: usize,
    parse: impl Fn(&[u8]) -> Result<K, KeyFormatError>,
    generate: impl FnOnce() -> Result<K, KeyError>,
    encode: impl Fn(&K) -> Zeroizing<Vec<u8>>,
    announce: impl FnOnce(&K),
) -> Result<K, KeyError> {
    let path = dir.file(name);
    // a little slack so "trailing bytes" can be reported as such
    if let Some(bytes) = keyfile::read_secret(&path, expected_len as u64 + 4096)? {
        if let Some(w) = keyfile::loose_mode_warning(&path) {
            tracing::warn!("{w}");
        }
        return parse(&bytes).map_err(|e| corrupt(&path, e));
    }
    let keys = generate()?;
    let bytes = encode(&keys);
    // check what we are about to write reads back as the same keys
    parse(&bytes).map_err(|e| corrupt(&path, e))?;
    keyfile::write_new(&path, &bytes, SECRET_MODE)?;
    announce(&keys);
    Ok(keys)
}

fn corrupt(path: &Path, e: KeyFormatError) -> KeyError {
    KeyError::File(FileError::Corrupt {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })
}

fn x25519_from_slice(b: &[u8]) -> Option<X25519Secret> {
    Some(X25519Secret::from_bytes(b.try_into().ok()?))
}

fn ed25519_from_slice(b: &[u8]) -> Option<Ed25519Secret> {
    Some(Ed25519Secret::from_seed(b.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use i2p_wire::RouterInfo;

    use super::*;

    const R1_KEYS: &[u8] = include_bytes!("../../wire/tests/data/i2pd-2.45.1/r1.router.keys");
    const R1_INFO: &[u8] = include_bytes!("../../wire/tests/data/i2pd-2.45.1/r1.router.info");
    const R1_NTCP2: &[u8] = include_bytes!("../../wire/tests/data/i2pd-2.45.1/r1.ntcp2.keys");

    #[test]
    fn loads_the_real_i2pd_router_keys() {
        let keys = RouterKeys::from_bytes(R1_KEYS).unwrap();
        let ri = RouterInfo::parse(R1_INFO).unwrap();
        let ri_hash = ri.peek_unverified().hash();
        assert_eq!(keys.hash(), ri_hash);
        assert_eq!(keys.identity().to_bytes(), R1_INFO[..IDENTITY_LEN].to_vec());
        // and it writes back byte for byte
        assert_eq!(keys.to_bytes().as_slice(), R1_KEYS);
        // our signature verifies with the identity's key, like i2pd's own RouterInfo does
        let sig = keys.sign(b"hello");
        i2p_crypto::sig::verify(
            SigType::Ed25519,
            keys.identity().signing_key(),
            b"hello",
            &sig,
        )
        .unwrap();
    }

    #[test]
    fn loads_the_real_i2pd_ntcp2_keys() {
        let keys = Ntcp2Keys::from_bytes(R1_NTCP2).unwrap();
        assert_eq!(keys.to_bytes().as_slice(), R1_NTCP2);
        // the static key and IV are the ones i2pd published in r1's NTCP2 address
        let ri = RouterInfo::parse(R1_INFO).unwrap();
        let addr = ri
            .peek_unverified()
            .addresses()
            .iter()
            .find(|a| a.transport_style().as_str() == Some("NTCP2"))
            .unwrap()
            .ntcp2()
            .unwrap();
        assert_eq!(&addr.static_key, keys.static_public());
        assert_eq!(addr.iv.as_ref(), Some(keys.iv()));
    }

    #[test]
    fn every_truncation_and_extension_of_router_keys_is_rejected() {
        for n in 0..R1_KEYS.len() {
            let e = RouterKeys::from_bytes(&R1_KEYS[..n]).unwrap_err();
            assert!(
                matches!(e, KeyFormatError::Truncated { got, expected: 455 } if got == n),
                "{n}: {e}"
            );
        }
        let long = [R1_KEYS, &[0u8; 3]].concat();
        assert_eq!(
            RouterKeys::from_bytes(&long).unwrap_err(),
            KeyFormatError::TrailingBytes {
                extra: 3,
                expected: 455
            }
        );
    }

    #[test]
    fn mismatched_or_foreign_router_keys_are_rejected() {
        let mut bad = R1_KEYS.to_vec();
        bad[IDENTITY_LEN] ^= 0x40; // X25519 private key
        assert_eq!(
            RouterKeys::from_bytes(&bad).unwrap_err(),
            KeyFormatError::Mismatch("X25519")
        );
        let mut bad = R1_KEYS.to_vec();
        bad[IDENTITY_LEN + 40] ^= 1; // Ed25519 seed
        assert_eq!(
            RouterKeys::from_bytes(&bad).unwrap_err(),
            KeyFormatError::Mismatch("Ed25519")
        );
        let mut bad = R1_KEYS.to_vec();
        bad[IDENTITY_LEN + 32..].fill(0);
        assert_eq!(
            RouterKeys::from_bytes(&bad).unwrap_err(),
            KeyFormatError::OfflineKeys
        );
        // a destination-style ElGamal identity (crypto type 0) in the KEY certificate
        let mut bad = R1_KEYS.to_vec();
        bad[389..391].copy_from_slice(&[0, 0]);
        let e = RouterKeys::from_bytes(&bad).unwrap_err();
        assert!(
            matches!(e, KeyFormatError::UnsupportedTypes { enc: 0, sig: 7 }),
            "{e}"
        );
    }

    #[test]
    fn ntcp2_keys_errors() {
        for n in [0, 1, 32, 64, 79] {
            let e = Ntcp2Keys::from_bytes(&R1_NTCP2[..n]).unwrap_err();
            assert_eq!(
                e,
                KeyFormatError::Truncated {
                    got: n,
                    expected: 80
                }
            );
        }
        let long = [R1_NTCP2, &[1u8]].concat();
        assert!(matches!(
            Ntcp2Keys::from_bytes(&long).unwrap_err(),
            KeyFormatError::TrailingBytes { extra: 1, .. }
        ));
        let mut bad = R1_NTCP2.to_vec();
        bad[0] ^= 1;
        assert!(matches!(
            Ntcp2Keys::from_bytes(&bad).unwrap_err(),
            KeyFormatError::Mismatch(_)
        ));
    }

    #[test]
    fn generated_keys_round_trip_and_use_proposal_161_padding() {
        let mut random = [0u8; 96];
        for (i, b) in random.iter_mut().enumerate() {
            *b = i as u8;
        }
        let keys = RouterKeys::from_random(&random).unwrap();
        let bytes = keys.to_bytes();
        assert_eq!(bytes.len(), ROUTER_KEYS_LEN);
        let again = RouterKeys::from_bytes(&bytes).unwrap();
        assert_eq!(again.hash(), keys.hash());
        // padding: the padding seed (bytes 64..96) repeated from byte 32 to byte 352
        let ident = keys.identity().to_bytes();
        for (i, b) in ident[32..352].iter().enumerate() {
            assert_eq!(*b, random[64 + i % 32]);
        }
        // KEY certificate: type 5, length 4, sig type 7, crypto type 4
        assert_eq!(&ident[384..], &[5, 0, 4, 0, 7, 0, 4]);

        let n = Ntcp2Keys::from_random(&[9u8; 48]);
        let back = Ntcp2Keys::from_bytes(&n.to_bytes()).unwrap();
        assert_eq!(back.static_public(), n.static_public());
        assert_eq!(back.iv(), &[9u8; 16]);
    }

    #[test]
    fn load_or_create_creates_once_with_mode_0600_and_reloads() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let a = load_or_create_router_keys(&dir).unwrap();
        let b = load_or_create_router_keys(&dir).unwrap();
        assert_eq!(a.hash(), b.hash());
        let n1 = load_or_create_ntcp2_keys(&dir).unwrap();
        let n2 = load_or_create_ntcp2_keys(&dir).unwrap();
        assert_eq!(n1.static_public(), n2.static_public());
        for name in [ROUTER_KEYS_FILE, NTCP2_KEYS_FILE] {
            let mode = fs::metadata(dir.file(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }

    #[test]
    fn a_truncated_key_file_is_an_error_and_stays_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let path = dir.file(ROUTER_KEYS_FILE);
        fs::write(&path, &R1_KEYS[..300]).unwrap();
        let e = load_or_create_router_keys(&dir).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            text.contains("truncated: 300 bytes, expected 455"),
            "{text}"
        );
        assert_eq!(fs::read(&path).unwrap(), &R1_KEYS[..300]);
    }

    #[test]
    fn the_real_i2pd_key_files_load_from_a_data_dir() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(ROUTER_KEYS_FILE), R1_KEYS).unwrap();
        fs::write(tmp.path().join(NTCP2_KEYS_FILE), R1_NTCP2).unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let keys = load_or_create_router_keys(&dir).unwrap();
        let ri = RouterInfo::parse(R1_INFO).unwrap();
        assert_eq!(keys.hash(), ri.peek_unverified().hash());
        load_or_create_ntcp2_keys(&dir).unwrap();
        assert_eq!(fs::read(dir.file(ROUTER_KEYS_FILE)).unwrap(), R1_KEYS);
    }

    #[test]
    fn debug_prints_no_secrets() {
        let keys = RouterKeys::from_bytes(R1_KEYS).unwrap();
        let text = format!("{keys:?}");
        assert!(text.contains("hash"));
        assert!(
            !text.contains("signing") && !text.contains("encryption"),
            "{text}"
        );
        let n = Ntcp2Keys::from_bytes(R1_NTCP2).unwrap();
        let text = format!("{n:?}");
        assert!(!text.contains("secret"), "{text}");
    }
}
