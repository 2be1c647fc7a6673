//! Destination key files: i2pd's and Java I2P's private key file layout (`Destination ‖
//! encryption private key ‖ signing private key`, as `i2p_client::PrivateKeys` reads it), so an
//! eepsite's `.dat` file from i2pd can be brought along. Written once, atomically, mode 0600;
//! an existing file is never replaced, and one that cannot be read is an error, not a reason
//! to make new keys.

use std::path::Path;

use i2p_client::PrivateKeys;

use crate::keyfile::{self, FileError};

/// Largest key file accepted (a destination with a big certificate and ElGamal keys is well
/// under 1 KiB; i2pd appends nothing else unless keys are offline-signed).
const MAX_KEY_FILE: u64 = 4096;

/// The keys in `path`, `None` if there is no such file (nothing is created).
pub fn load_existing(path: &Path) -> Result<Option<PrivateKeys>, FileError> {
    let Some(bytes) = keyfile::read_secret(path, MAX_KEY_FILE)? else {
        return Ok(None);
    };
    PrivateKeys::from_bytes(&bytes)
        .map(Some)
        .map_err(|e| FileError::Corrupt {
            path: path.to_path_buf(),
            problem: format!("not a destination private key file: {e}"),
        })
}

/// Load the keys in `path`, or create new ones there if the file does not exist.
/// Returns the keys and whether they were just created.
pub fn load_or_create(path: &Path) -> Result<(PrivateKeys, bool), FileError> {
    if let Some(keys) = load_existing(path)? {
        if let Some(w) = keyfile::loose_mode_warning(path) {
            tracing::warn!("{w}");
        }
        return Ok((keys, false));
    }
    let keys = PrivateKeys::generate(&mut rand::rng());
    keyfile::write_new(path, &keys.to_bytes(), keyfile::SECRET_MODE)?;
    Ok((keys, true))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_0600_then_loaded_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eepsite.dat");
        let (a, created) = load_or_create(&path).unwrap();
        assert!(created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (b, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(a.destination, b.destination);

        // a damaged file is an error and stays as it was
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 5);
        std::fs::write(&path, &bytes).unwrap();
        assert!(load_or_create(&path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}
