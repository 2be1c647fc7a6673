//! `.i2p` host names: normalisation and the validity rules the address book applies to names it
//! imports (docs/overview/naming.md, "Naming Rules"; the same rules Java I2P's address book and
//! i2pd enforce, close to RFC 2396 §3.2.2).

use std::fmt;
use thiserror::Error;

/// Longest host name accepted, including the `.i2p` suffix.
pub const MAX_NAME_LEN: usize = 67;

/// Names the project reserves (and their subdomains): never importable.
const RESERVED: &[&str] = &[
    "proxy.i2p",
    "router.i2p",
    "console.i2p",
    "mail.i2p",
    "local.i2p",
    "localhost.i2p",
    "i2p.i2p",
    "b32.i2p",
];

/// Why a host name was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NameError {
    #[error("host name is empty")]
    Empty,
    #[error("host name is {0} characters long (at most {max} including .i2p)", max = MAX_NAME_LEN)]
    TooLong(usize),
    #[error("host name must end with .i2p")]
    NotI2p,
    #[error("host name contains {0:?}; only a-z, 0-9, '.' and '-' are allowed")]
    BadChar(char),
    #[error("host name must not start with '.' or '-'")]
    BadStart,
    #[error("host name contains {0:?}")]
    BadSequence(&'static str),
    #[error("{0} is a base32 address, which cannot be registered as a name")]
    Base32(String),
    #[error("{0} is reserved")]
    Reserved(String),
}

/// A normalised, valid `.i2p` host name (lower case).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName(String);

impl HostName {
    /// Lower-case `raw` and check every rule.
    pub fn parse(raw: &str) -> Result<HostName, NameError> {
        let name = raw.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(name.chars().count()));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
        {
            return Err(NameError::BadChar(c));
        }
        if !name.ends_with(".i2p") || name.len() <= 4 {
            return Err(NameError::NotI2p);
        }
        if name.starts_with('.') || name.starts_with('-') {
            return Err(NameError::BadStart);
        }
        for seq in ["..", ".-", "-."] {
            if name.contains(seq) {
                return Err(NameError::BadSequence(seq));
            }
        }
        // "--" only as the IDN marker "xn--" at the start of a label
        let mut rest = name.as_str();
        while let Some(i) = rest.find("--") {
            let label_start = rest[..i].rfind('.').map_or(0, |d| d + 1);
            if &rest[label_start..i] != "xn" {
                return Err(NameError::BadSequence("--"));
            }
            rest = &rest[i + 2..];
        }
        if name.ends_with(".b32.i2p") {
            return Err(NameError::Base32(name));
        }
        for r in RESERVED {
            if name == *r || name.ends_with(&format!(".{r}")) {
                return Err(NameError::Reserved(name));
            }
        }
        Ok(HostName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent name (`b.example.i2p` → `example.i2p`), if this is a subdomain.
    pub fn parent(&self) -> Option<HostName> {
        let without = self.0.strip_suffix(".i2p")?;
        let dot = without.find('.')?;
        Some(HostName(format!("{}.i2p", &without[dot + 1..])))
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostName({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_names_and_lowercases() {
        assert_eq!(
            HostName::parse("Example.I2P").unwrap().as_str(),
            "example.i2p"
        );
        assert!(HostName::parse("a-b.c9.i2p").is_ok());
        assert!(HostName::parse("xn--bcher-kva.i2p").is_ok());
        assert!(HostName::parse("sub.xn--bcher-kva.i2p").is_ok());
        let max = format!("{}.i2p", "a".repeat(63));
        assert!(HostName::parse(&max).is_ok());
    }

    #[test]
    fn refuses_what_the_rules_refuse() {
        let cases = [
            ("", NameError::Empty),
            ("example.com", NameError::NotI2p),
            (".i2p", NameError::NotI2p),
            ("-a.i2p", NameError::BadStart),
            (".a.i2p", NameError::BadStart),
            ("a..b.i2p", NameError::BadSequence("..")),
            ("a.-b.i2p", NameError::BadSequence(".-")),
            ("a-.b.i2p", NameError::BadSequence("-.")),
            ("a--b.i2p", NameError::BadSequence("--")),
            ("ab--c.i2p", NameError::BadSequence("--")),
            ("a_b.i2p", NameError::BadChar('_')),
            ("a b.i2p", NameError::BadChar(' ')),
            ("é.i2p", NameError::BadChar('é')),
        ];
        for (raw, want) in cases {
            assert_eq!(HostName::parse(raw), Err(want), "{raw:?}");
        }
        assert!(matches!(
            HostName::parse(&format!("{}.i2p", "a".repeat(64))),
            Err(NameError::TooLong(68))
        ));
        assert!(matches!(
            HostName::parse("ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p"),
            Err(NameError::Base32(_))
        ));
        for r in ["proxy.i2p", "x.router.i2p", "console.i2p", "a.b.mail.i2p"] {
            assert!(
                matches!(HostName::parse(r), Err(NameError::Reserved(_))),
                "{r}"
            );
        }
        // a name that merely ends in a reserved word is fine
        assert!(HostName::parse("myproxy.i2p").is_ok());
    }

    #[test]
    fn parent() {
        let n = HostName::parse("a.b.example.i2p").unwrap();
        assert_eq!(n.parent().unwrap().as_str(), "b.example.i2p");
        assert_eq!(HostName::parse("example.i2p").unwrap().parent(), None);
    }
}
