//! The netDb directory in the layout i2pd and Java I2P use, so a netDb can be moved between
//! routers: `netDb/r<c>/routerInfo-<base64 hash>.dat`, `<c>` being the first character of the
//! hash's I2P base64. Files are written atomically (temporary file, fsync, rename).

use std::io;
use std::path::{Path, PathBuf};

use i2p_wire::Hash;

use crate::keyfile::{self, FileError};

/// Name of the directory inside the data dir.
pub const NETDB_DIR: &str = "netDb";
/// Largest RouterInfo file read at start (i2pd refuses anything over 3 KB).
pub const MAX_FILE_LEN: u64 = 16 * 1024;

/// The netDb directory.
#[derive(Clone, Debug)]
pub struct NetDbDir {
    root: PathBuf,
}

/// One file found at start.
#[derive(Debug)]
pub struct StoredFile {
    pub path: PathBuf,
    /// the hash its name claims
    pub hash: Option<Hash>,
    pub bytes: io::Result<Vec<u8>>,
}

impl NetDbDir {
    /// `<data_dir>/netDb`, created if missing.
    pub fn open(data_dir: &Path) -> io::Result<NetDbDir> {
        let root = data_dir.join(NETDB_DIR);
        std::fs::create_dir_all(&root)?;
        Ok(NetDbDir { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the RouterInfo of `hash` lives.
    pub fn path_for(&self, hash: &Hash) -> PathBuf {
        let b64 = hash.to_base64();
        let first = b64.chars().next().unwrap_or('A');
        self.root
            .join(format!("r{first}"))
            .join(format!("routerInfo-{b64}.dat"))
    }

    /// Write (or replace) a RouterInfo file.
    pub fn write(&self, hash: &Hash, bytes: &[u8]) -> Result<(), FileError> {
        let path = self.path_for(hash);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FileError::Io {
                op: "create directory",
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        keyfile::write_replace(&path, bytes, 0o644)
    }

    /// Remove a RouterInfo file (absent is fine).
    pub fn remove(&self, hash: &Hash) -> io::Result<()> {
        match std::fs::remove_file(self.path_for(hash)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every `r*/routerInfo-*.dat` file, sorted by path.
    pub fn list(&self) -> io::Result<Vec<StoredFile>> {
        let mut out = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&self.root)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.len() == 2 && n.starts_with('r'))
            })
            .collect();
        dirs.sort();
        for d in dirs {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&d)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("routerInfo-") && n.ends_with(".dat"))
                })
                .collect();
            files.sort();
            for path in files {
                let hash = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix("routerInfo-"))
                    .and_then(|n| n.strip_suffix(".dat"))
                    .and_then(|b| Hash::from_base64(b).ok());
                let bytes = read_limited(&path);
                out.push(StoredFile { path, hash, bytes });
            }
        }
        Ok(out)
    }
}

fn read_limited(path: &Path) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > MAX_FILE_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} bytes is too large for a RouterInfo", meta.len()),
        ));
    }
    std::fs::read(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_write_list_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let d = NetDbDir::open(tmp.path()).unwrap();
        let h = Hash::from_bytes([0xfb; 32]);
        let p = d.path_for(&h);
        let b64 = h.to_base64();
        assert_eq!(
            p,
            tmp.path()
                .join("netDb")
                .join(format!("r{}", &b64[..1]))
                .join(format!("routerInfo-{b64}.dat"))
        );
        d.write(&h, b"ri").unwrap();
        d.write(&h, b"ri2").unwrap();
        let l = d.list().unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].hash, Some(h));
        assert_eq!(l[0].bytes.as_ref().unwrap(), b"ri2");
        // no temporary files are left behind
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        d.remove(&h).unwrap();
        d.remove(&h).unwrap();
        assert!(d.list().unwrap().is_empty());
    }
}
