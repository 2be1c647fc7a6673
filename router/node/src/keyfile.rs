//! The data dir and how files in it are written: the exclusive lock, atomic writes that never
//! clobber a key file, and the small remembered settings (the auto-chosen NTCP2 port).
//!
//! Every write goes to a temporary file in the same directory, created with its final mode,
//! synced, then published: key files with a hard link, which fails if the target exists (so an
//! existing key file is never replaced, even by a racing writer), and replaceable files such as
//! `router.info` with a rename. The directory is synced afterwards so the new name survives a
//! crash. Readers of key files never repair or rewrite what they read.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::num::NonZeroU16;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngExt;
use thiserror::Error;
use zeroize::Zeroizing;

/// Name of the lock file inside the data dir.
pub const LOCK_FILE: &str = "router.lock";
/// Name of the file remembering the auto-chosen NTCP2 port.
pub const NTCP2_PORT_FILE: &str = "ntcp2.port";
/// Marker in temporary file names; leftovers (from a crash) are removed when the lock is taken.
const TMP_MARKER: &str = ".tmp-";

/// Mode of files holding private keys.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of public files (`router.info`).
pub const PUBLIC_MODE: u32 = 0o644;

/// A file operation that failed, naming the file.
#[derive(Debug, Error)]
pub enum FileError {
    #[error("cannot {op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "data dir {dir} is in use by another i2p-router (lock file {lock} is held{holder})",
        holder = holder.as_deref().map(|p| format!(" by pid {p}")).unwrap_or_default()
    )]
    Locked {
        dir: PathBuf,
        lock: PathBuf,
        holder: Option<String>,
    },
    #[error("{path} already exists; refusing to overwrite it")]
    Exists { path: PathBuf },
    #[error("{path}: {problem}; the file was left as it is")]
    Corrupt { path: PathBuf, problem: String },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> FileError + 'a {
    move |source| FileError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// An opened, exclusively locked data dir. The lock is released when this is dropped (or the
/// process exits).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Create the directory (mode 0700) if needed and take its lock. Fails at once if another
    /// process holds the lock.
    pub fn open(path: &Path) -> Result<DataDir, FileError> {
        if !path.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(io_err("create data dir", path))?;
        }
        let meta = fs::metadata(path).map_err(io_err("open data dir", path))?;
        if !meta.is_dir() {
            return Err(FileError::Io {
                op: "use as data dir",
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let lock_path = path.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(SECRET_MODE)
            .open(&lock_path)
            .map_err(io_err("open lock file", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(FileError::Locked {
                    dir: path.to_path_buf(),
                    lock: lock_path,
                    holder: (!holder.is_empty() && holder.len() < 16).then(|| holder.to_string()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", &lock_path)(e)),
        }
        // the pid is informational only (shown when a second router finds the lock held)
        let pid = std::process::id().to_string();
        lock.set_len(0)
            .and_then(|()| lock.write_all(pid.as_bytes()))
            .map_err(io_err("write lock file", &lock_path))?;
        let dir = DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        };
        dir.remove_stale_temp_files()?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` inside the data dir.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    fn remove_stale_temp_files(&self) -> Result<(), FileError> {
        let entries = fs::read_dir(&self.path).map_err(io_err("list", &self.path))?;
        for entry in entries {
            let entry = entry.map_err(io_err("list", &self.path))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.contains(TMP_MARKER) {
                let p = entry.path();
                tracing::debug!(file = %p.display(), "removing a temporary file left by an earlier run");
                fs::remove_file(&p).map_err(io_err("remove stale temporary file", &p))?;
            }
        }
        Ok(())
    }

    /// The NTCP2 port for `ntcp2.port: auto`: read from `ntcp2.port` in the data dir, or chosen
    /// at random in 9111..=30777 (i2pd's range, skipping 9150, Tor Browser's) and remembered.
    pub fn ntcp2_port(&self) -> Result<NonZeroU16, FileError> {
        let path = self.file(NTCP2_PORT_FILE);
        match fs::read(&path) {
            Ok(bytes) => parse_port_file(&bytes).ok_or_else(|| FileError::Corrupt {
                path: path.clone(),
                problem: "expected a port number 1-65535 on one line".into(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut port = rand::rng().random_range(9111..=30777u16);
                if port == 9150 {
                    port = 9151;
                }
                write_new(&path, format!("{port}\n").as_bytes(), PUBLIC_MODE)?;
                tracing::info!(port, file = %path.display(), "chose a random NTCP2 port");
                NonZeroU16::new(port).ok_or_else(|| FileError::Corrupt {
                    path,
                    problem: "port 0".into(),
                })
            }
            Err(e) => Err(io_err("read", &path)(e)),
        }
    }
}

fn parse_port_file(bytes: &[u8]) -> Option<NonZeroU16> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().and_then(NonZeroU16::new)
}

/// Write `bytes` to a new file `path` with `mode`; fails with [`FileError::Exists`] if `path`
/// exists, which is then left untouched.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    let tmp = write_temp(path, bytes, mode)?;
    let linked = fs::hard_link(&tmp, path);
    let removed = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(FileError::Exists {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err("publish", path)(e)),
    }
    removed.map_err(io_err("remove temporary file", &tmp))?;
    sync_parent(path)
}

/// Write `bytes` to `path` with `mode`, atomically replacing any existing file.
pub fn write_replace(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    let tmp = write_temp(path, bytes, mode)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("replace", path)(e));
    }
    sync_parent(path)
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Create a temporary sibling of `path` with `mode`, write and sync `bytes`, return its path.
fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf, FileError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix: u64 = rand::rng().random();
    let tmp = parent_of(path).join(format!(
        ".{name}{TMP_MARKER}{}-{suffix:016x}",
        std::process::id()
    ));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err("create", &tmp))?;
    let result = file
        // the umask may have removed bits; set exactly the mode asked for
        .set_permissions(fs::Permissions::from_mode(mode))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
    if let Err(e) = result {
        drop(file);
        let _ = fs::remove_file(&tmp);
        return Err(io_err("write", &tmp)(e));
    }
    Ok(tmp)
}

fn sync_parent(path: &Path) -> Result<(), FileError> {
    let dir = parent_of(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))
}

/// Read a file holding secrets (at most `max_len` bytes); the buffer is wiped when dropped.
/// Returns `Ok(None)` if the file does not exist.
pub fn read_secret(path: &Path, max_len: u64) -> Result<Option<Zeroizing<Vec<u8>>>, FileError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let mut buf = Zeroizing::new(Vec::new());
    file.take(max_len + 1)
        .read_to_end(&mut buf)
        .map_err(io_err("read", path))?;
    if buf.len() as u64 > max_len {
        return Err(FileError::Corrupt {
            path: path.to_path_buf(),
            problem: format!("larger than the {max_len} bytes such a file can have"),
        });
    }
    Ok(Some(buf))
}

/// A warning text if a secret file can be read by group or others.
pub fn loose_mode_warning(path: &Path) -> Option<String> {
    let mode = fs::metadata(path).ok()?.mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} has mode {mode:04o}; private keys should be readable by the owner only (chmod 600)",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o777
    }

    #[test]
    fn write_new_creates_with_mode_and_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        write_new(&p, b"first", SECRET_MODE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"first");
        assert_eq!(mode(&p), 0o600);
        let e = write_new(&p, b"second", SECRET_MODE).unwrap_err();
        assert!(matches!(e, FileError::Exists { .. }), "{e}");
        assert_eq!(fs::read(&p).unwrap(), b"first");
        // no temporary files left behind
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("k")]);
    }

    #[test]
    fn write_replace_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("router.info");
        write_replace(&p, b"one", PUBLIC_MODE).unwrap();
        write_replace(&p, b"two", PUBLIC_MODE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(mode(&p), 0o644);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("data");
        let first = DataDir::open(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        let e = DataDir::open(&d).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, FileError::Locked { .. }), "{text}");
        assert!(
            text.contains(&format!("by pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        DataDir::open(&d).unwrap();
    }

    #[test]
    fn open_removes_stale_temp_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".router.keys.tmp-1-00");
        fs::write(&stale, b"x").unwrap();
        fs::write(dir.path().join("keep.me"), b"x").unwrap();
        let _d = DataDir::open(dir.path()).unwrap();
        assert!(!stale.exists());
        assert!(dir.path().join("keep.me").exists());
    }

    #[test]
    fn data_dir_that_is_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"").unwrap();
        let e = DataDir::open(&f).unwrap_err();
        assert!(e.to_string().contains(&f.display().to_string()), "{e}");
    }

    #[test]
    fn ntcp2_port_is_chosen_once_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let d = DataDir::open(dir.path()).unwrap();
        let p = d.ntcp2_port().unwrap().get();
        assert!((9111..=30777).contains(&p) && p != 9150, "{p}");
        for _ in 0..3 {
            assert_eq!(d.ntcp2_port().unwrap().get(), p);
        }
        assert_eq!(
            fs::read_to_string(d.file(NTCP2_PORT_FILE)).unwrap(),
            format!("{p}\n")
        );
    }

    #[test]
    fn corrupt_port_file_is_an_error_and_left_alone() {
        for bad in [&b""[..], b"abc\n", b"0\n", b"70000\n", b" 123\n", b"12\n\n"] {
            let dir = tempfile::tempdir().unwrap();
            let d = DataDir::open(dir.path()).unwrap();
            fs::write(d.file(NTCP2_PORT_FILE), bad).unwrap();
            let e = d.ntcp2_port().unwrap_err();
            assert!(e.to_string().contains(NTCP2_PORT_FILE), "{e}");
            assert_eq!(fs::read(d.file(NTCP2_PORT_FILE)).unwrap(), bad);
        }
        assert_eq!(parse_port_file(b"12001").map(|p| p.get()), Some(12001));
    }

    #[test]
    fn read_secret_limits_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        assert!(read_secret(&p, 10).unwrap().is_none());
        fs::write(&p, [7u8; 10]).unwrap();
        assert_eq!(read_secret(&p, 10).unwrap().unwrap().as_slice(), &[7u8; 10]);
        fs::write(&p, [7u8; 11]).unwrap();
        assert!(matches!(
            read_secret(&p, 10),
            Err(FileError::Corrupt { .. })
        ));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(loose_mode_warning(&p).unwrap().contains("0644"));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(loose_mode_warning(&p).is_none());
    }
}
