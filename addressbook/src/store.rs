//! Persistence of the three books as plain `name=b64dest` files in one directory, written so a
//! crash mid-write leaves either the old or the new file, never a torn one: temp file, fsync,
//! rename over the old file, fsync the directory.

use crate::book::{AddressBook, BookKind};
use crate::hosts_txt::{FeedError, parse_feed};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The address book directory.
#[derive(Debug, Clone)]
pub struct BookStore {
    dir: PathBuf,
}

/// What loading found: the book, and the lines that could not be used (per file).
#[derive(Debug)]
pub struct Loaded {
    pub book: AddressBook,
    pub bad_lines: Vec<(BookKind, FeedError)>,
}

impl BookStore {
    pub fn new(dir: impl Into<PathBuf>) -> BookStore {
        BookStore { dir: dir.into() }
    }

    pub fn path(&self, kind: BookKind) -> PathBuf {
        self.dir.join(kind.file_name())
    }

    /// Load every book that exists. Bad lines are reported, never fatal; the files are not
    /// modified.
    pub fn load(&self) -> io::Result<Loaded> {
        let mut book = AddressBook::new();
        let mut bad_lines = Vec::new();
        for kind in BookKind::ALL {
            let text = match fs::read(self.path(kind)) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let (records, errors) = parse_feed(&text);
            for r in records {
                book.insert_user(kind, r.name, r.dest);
            }
            bad_lines.extend(errors.into_iter().map(|e| (kind, e)));
        }
        Ok(Loaded { book, bad_lines })
    }

    /// Save one book atomically.
    pub fn save(&self, book: &AddressBook, kind: BookKind) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let mut text = String::from("# i2p-rs address book; one name=destination per line\n");
        for (name, dest) in book.entries(kind) {
            text.push_str(name.as_str());
            text.push('=');
            text.push_str(&dest.to_base64());
            text.push('\n');
        }
        write_atomic(&self.path(kind), text.as_bytes())
    }
}

/// Write `bytes` to `path` so that readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
