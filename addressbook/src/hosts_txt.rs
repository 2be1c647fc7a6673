//! The hosts.txt line format with the signed command extension (spec/subscription.md, and
//! docs/overview/naming.md for the plain format): parsing one line at a time, the canonical
//! byte string a signature covers, and signature verification.
//!
//! A line is one of
//! - blank or a `#` comment (ignored);
//! - `name=b64dest` — a plain entry (legacy, unsigned);
//! - `name=b64dest#!k=v#k=v…` — an add/change command, signed by `dest` (and, with `oldsig`,
//!   also by the referenced `olddest`);
//! - `#!k=v#k=v…` — a remove command (`action=remove` / `removeall`), signed by the `dest` key.

use crate::name::{HostName, NameError};
use i2p_crypto::sig;
use i2p_wire::Destination;
use thiserror::Error;

/// The longest line we look at; anything longer is refused without parsing.
pub const MAX_LINE_LEN: usize = 4096;
/// Base64 length bounds of a destination in hosts.txt (naming.md: 516–616 characters).
const MIN_DEST_B64: usize = 516;
const MAX_DEST_B64: usize = 616;

/// Why a line was refused. Line numbers are added by the caller ([`parse_feed`]).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LineError {
    #[error("line is longer than {MAX_LINE_LEN} bytes")]
    TooLong,
    #[error("no '=' between name and destination")]
    NoEquals,
    #[error("bad host name: {0}")]
    Name(#[from] NameError),
    #[error("destination is {0} base64 characters (516-616 expected)")]
    DestLength(usize),
    #[error("bad destination: {0}")]
    Dest(String),
    #[error("option {0:?} has no '='")]
    BadOption(String),
    #[error("duplicate option key {0:?}")]
    DuplicateKey(String),
    #[error("command has no sig")]
    MissingSig,
    #[error("signature does not verify: {0}")]
    BadSig(String),
    #[error("missing option {0:?} required by action {1:?}")]
    MissingOption(&'static str, String),
    #[error("unknown action {0:?}")]
    UnknownAction(String),
}

/// Key/value options after `#!`, in line order, keys unique.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Options(Vec<(String, String)>);

impl Options {
    fn parse(s: &str) -> Result<Options, LineError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for kv in s.split('#') {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| LineError::BadOption(kv.to_string()))?;
            if out.iter().any(|(ek, _)| ek == k) {
                return Err(LineError::DuplicateKey(k.to_string()));
            }
            out.push((k.to_string(), v.to_string()));
        }
        Ok(Options(out))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `k=v#k=v` sorted by key, without the keys in `skip` — the signed form.
    fn canonical(&self, skip: &[&str]) -> String {
        let mut kv: Vec<&(String, String)> = self
            .0
            .iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .collect();
        kv.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        kv.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("#")
    }

    fn is_empty_without(&self, skip: &[&str]) -> bool {
        self.0.iter().all(|(k, _)| skip.contains(&k.as_str()))
    }
}

/// What a command asks for (spec/subscription.md, "Commands").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// plain `name=dest` without options (legacy, unsigned)
    Unsigned,
    /// `name=dest#!sig=…`
    Add,
    ChangeName {
        old_name: HostName,
    },
    ChangeDest {
        old_dest: Destination,
    },
    AddName {
        old_name: HostName,
    },
    AddDest {
        old_dest: Destination,
    },
    AddSubdomain {
        parent: HostName,
        parent_dest: Destination,
    },
    Update,
    Remove,
    RemoveAll,
}

/// One meaningful hosts.txt line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// the host name (for remove commands: the `name` option)
    pub name: HostName,
    /// the destination (for remove commands: the `dest` option)
    pub dest: Destination,
    pub action: Action,
    /// the `#!` options, empty for unsigned lines
    pub options: Options,
}

impl Record {
    /// Whether the line carried (verified) signatures.
    pub fn is_signed(&self) -> bool {
        self.action != Action::Unsigned
    }
}

fn parse_dest(b64: &str) -> Result<Destination, LineError> {
    if !(MIN_DEST_B64..=MAX_DEST_B64).contains(&b64.len()) {
        return Err(LineError::DestLength(b64.len()));
    }
    Destination::from_base64(b64).map_err(|e| LineError::Dest(e.to_string()))
}

fn verify_with(dest: &Destination, msg: &str, sig_b64: &str) -> Result<(), LineError> {
    let sig_bytes = i2p_wire::base64::decode(sig_b64)
        .map_err(|e| LineError::BadSig(format!("sig is not base64: {e}")))?;
    let kc = dest.keys_and_cert();
    sig::verify(kc.sig_type(), kc.signing_key(), msg.as_bytes(), &sig_bytes)
        .map_err(|e| LineError::BadSig(e.to_string()))
}

/// Parse (and, for signed commands, verify) one line. `Ok(None)` for blank and comment lines.
pub fn parse_line(line: &str) -> Result<Option<Record>, LineError> {
    if line.len() > MAX_LINE_LEN {
        return Err(LineError::TooLong);
    }
    let line = line.trim_end_matches(['\r', '\n']).trim();
    if line.is_empty() {
        return Ok(None);
    }
    if let Some(opts) = line.strip_prefix("#!") {
        return parse_remove(opts).map(Some);
    }
    if line.starts_with('#') {
        return Ok(None);
    }
    let (entry, opts) = match line.split_once("#!") {
        Some((e, o)) => (e, Some(o)),
        None => (line, None),
    };
    let (name_raw, dest_b64) = entry.split_once('=').ok_or(LineError::NoEquals)?;
    let name = HostName::parse(name_raw)?;
    let dest = parse_dest(dest_b64.trim())?;
    let Some(opts) = opts else {
        return Ok(Some(Record {
            name,
            dest,
            action: Action::Unsigned,
            options: Options::default(),
        }));
    };
    let options = Options::parse(opts)?;
    let sig = options.get("sig").ok_or(LineError::MissingSig)?;
    // the signed prefix is exactly what the line says (names are lower case by rule)
    let prefix = format!("{}={}", name_raw.trim(), dest_b64.trim());
    let signed = |skip: &[&str]| {
        if options.is_empty_without(skip) {
            prefix.clone()
        } else {
            format!("{prefix}#!{}", options.canonical(skip))
        }
    };
    let action_name = options.get("action").unwrap_or("");
    let need = |k: &'static str| {
        options
            .get(k)
            .ok_or(LineError::MissingOption(k, action_name.to_string()))
    };
    // inner signature (oldsig, by olddest) first, then the outer one
    let inner = |old: &Destination| -> Result<(), LineError> {
        verify_with(old, &signed(&["sig", "oldsig"]), need("oldsig")?)
    };
    let action = match action_name {
        "" => Action::Add,
        "changename" => Action::ChangeName {
            old_name: HostName::parse(need("oldname")?)?,
        },
        "addname" => Action::AddName {
            old_name: HostName::parse(need("oldname")?)?,
        },
        "changedest" => {
            let old_dest = parse_dest(need("olddest")?)?;
            inner(&old_dest)?;
            Action::ChangeDest { old_dest }
        }
        "adddest" => {
            let old_dest = parse_dest(need("olddest")?)?;
            inner(&old_dest)?;
            Action::AddDest { old_dest }
        }
        "addsubdomain" => {
            let parent = HostName::parse(need("oldname")?)?;
            let parent_dest = parse_dest(need("olddest")?)?;
            inner(&parent_dest)?;
            Action::AddSubdomain {
                parent,
                parent_dest,
            }
        }
        "update" => Action::Update,
        other => return Err(LineError::UnknownAction(other.to_string())),
    };
    verify_with(&dest, &signed(&["sig"]), sig)?;
    Ok(Some(Record {
        name,
        dest,
        action,
        options,
    }))
}

fn parse_remove(opts: &str) -> Result<Record, LineError> {
    let options = Options::parse(opts)?;
    let action_name = options.get("action").unwrap_or("").to_string();
    let action = match action_name.as_str() {
        "remove" => Action::Remove,
        "removeall" => Action::RemoveAll,
        other => return Err(LineError::UnknownAction(other.to_string())),
    };
    let need = |k: &'static str| {
        options
            .get(k)
            .ok_or(LineError::MissingOption(k, action_name.clone()))
    };
    let name = HostName::parse(need("name")?)?;
    let dest = parse_dest(need("dest")?)?;
    let sig = options.get("sig").ok_or(LineError::MissingSig)?;
    verify_with(&dest, &format!("#!{}", options.canonical(&["sig"])), sig)?;
    Ok(Record {
        name,
        dest,
        action,
        options,
    })
}

/// A line that could not be used, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError {
    pub line: usize,
    pub error: LineError,
}

/// Parse a whole feed. Bad lines never stop the rest: they come back as errors.
pub fn parse_feed(text: &str) -> (Vec<Record>, Vec<FeedError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(r)) => records.push(r),
            Ok(None) => {}
            Err(error) => errors.push(FeedError { line: i + 1, error }),
        }
    }
    (records, errors)
}

/// A signing callback: message bytes in, signature bytes out.
pub type Signer<'a> = dyn Fn(&[u8]) -> Vec<u8> + 'a;

/// Write a signed line: `name=dest#!…#sig=…` for add/change, `#!…#sig=…` for removes.
/// `sign` signs with the key of `dest` (outer); `sign_old`, when the options hold `olddest`,
/// signs with the old key (inner). Used by tests and by a future `i2p-router` naming command.
pub fn sign_line(
    entry: Option<(&HostName, &Destination)>,
    options: &[(&str, &str)],
    sign_old: Option<&Signer<'_>>,
    sign: &Signer<'_>,
) -> String {
    let mut opts = Options(
        options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let prefix = entry.map(|(n, d)| format!("{}={}", n, d.to_base64()));
    let render = |o: &Options, skip: &[&str]| match &prefix {
        Some(p) if o.is_empty_without(skip) => p.clone(),
        Some(p) => format!("{p}#!{}", o.canonical(skip)),
        None => format!("#!{}", o.canonical(skip)),
    };
    if let Some(sign_old) = sign_old {
        let s = i2p_wire::base64::encode(&sign_old(render(&opts, &["sig", "oldsig"]).as_bytes()));
        opts.0.push(("oldsig".into(), s));
    }
    let s = i2p_wire::base64::encode(&sign(render(&opts, &["sig"]).as_bytes()));
    opts.0.push(("sig".into(), s));
    let body = opts
        .0
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("#");
    match prefix {
        Some(p) => format!("{p}#!{body}"),
        None => format!("#!{body}"),
    }
}
