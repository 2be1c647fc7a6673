//! SAM command lines (docs/api/samv3.md, "Encoding and Escaping"): `VERB [SUB] [KEY[=VALUE]]...`,
//! values optionally double-quoted with `\"` and `\\` escapes (SAM 3.2), several spaces allowed,
//! `PING`/`PONG` carrying free text. Parsing is pure so it can be fuzzed; replies are formatted
//! here too so quoting is done in one place.

use thiserror::Error;

/// The longest command line we accept (a private key with an offline signature and many
/// options fits comfortably).
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CommandError {
    #[error("empty command")]
    Empty,
    #[error("command line longer than {max} bytes", max = MAX_LINE)]
    TooLong,
    #[error("unterminated quoted value")]
    Unterminated,
    #[error("duplicate key {0}")]
    DuplicateKey(String),
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// upper-cased first word
    pub verb: String,
    /// upper-cased second word, if it is not a key=value pair
    pub sub: Option<String>,
    /// key/value pairs in order (keys case-sensitive, as SAM requires)
    pub args: Vec<(String, String)>,
    /// for PING/PONG: the text after the verb
    pub text: String,
}

impl Command {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `KEY=true|false` with a default.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            Some(v) => v.eq_ignore_ascii_case("true"),
            None => default,
        }
    }
}

fn tokens(s: &str) -> Result<Vec<String>, CommandError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut have = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_quotes => match chars.next() {
                Some(n @ ('"' | '\\')) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => return Err(CommandError::Unterminated),
            },
            '"' => {
                in_quotes = !in_quotes;
                have = true;
            }
            ' ' | '\t' if !in_quotes => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if in_quotes {
        return Err(CommandError::Unterminated);
    }
    if have {
        out.push(cur);
    }
    Ok(out)
}

/// Parse one line (without its `\n`).
pub fn parse(line: &str) -> Result<Command, CommandError> {
    if line.len() > MAX_LINE {
        return Err(CommandError::TooLong);
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim_start();
    let verb_end = trimmed.find([' ', '\t']).unwrap_or(trimmed.len());
    let verb = trimmed[..verb_end].to_ascii_uppercase();
    if verb.is_empty() {
        return Err(CommandError::Empty);
    }
    if verb == "PING" || verb == "PONG" {
        let text = trimmed[verb_end..].trim_start().to_string();
        return Ok(Command {
            verb,
            sub: None,
            args: Vec::new(),
            text,
        });
    }
    let toks = tokens(&trimmed[verb_end..])?;
    let mut it = toks.into_iter().peekable();
    let sub = match it.peek() {
        Some(t) if !t.contains('=') => it.next().map(|t| t.to_ascii_uppercase()),
        _ => None,
    };
    let mut args: Vec<(String, String)> = Vec::new();
    for t in it {
        let (k, v) = match t.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (t, String::new()),
        };
        if args.iter().any(|(ek, _)| *ek == k) {
            return Err(CommandError::DuplicateKey(k));
        }
        args.push((k, v));
    }
    Ok(Command {
        verb,
        sub,
        args,
        text: String::new(),
    })
}

/// Quote a value if it needs it (spaces, quotes, backslashes or empty). Line breaks (which a
/// value echoed from a client line may hold: `\r` mid-line) become spaces, so a reply is always
/// one line; any other value comes back unchanged from [`parse`].
pub fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '"', '\\', '\t', '\r', '\n']) {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Format a reply line ending in `\n`.
pub fn reply(verb: &str, sub: &str, args: &[(&str, &str)]) -> String {
    let mut s = format!("{verb} {sub}");
    for (k, v) in args {
        s.push(' ');
        s.push_str(k);
        s.push('=');
        s.push_str(&quote(v));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_quotes_and_escapes() {
        let c = parse("HELLO VERSION MIN=3.0 MAX=3.3").unwrap();
        assert_eq!(
            (c.verb.as_str(), c.sub.as_deref()),
            ("HELLO", Some("VERSION"))
        );
        assert_eq!(c.get("MAX"), Some("3.3"));
        let c =
            parse("session  create STYLE=STREAM ID=a   DESTINATION=TRANSIENT inbound.length=1\r")
                .unwrap();
        assert_eq!(
            (c.verb.as_str(), c.sub.as_deref()),
            ("SESSION", Some("CREATE"))
        );
        assert_eq!(c.get("inbound.length"), Some("1"));
        let c = parse(r#"HELLO VERSION USER="a b" PASSWORD="x\"y\\z""#).unwrap();
        assert_eq!(c.get("USER"), Some("a b"));
        assert_eq!(c.get("PASSWORD"), Some(r#"x"y\z"#));
        let c = parse("STREAM ACCEPT ID=s SILENT").unwrap();
        assert_eq!(c.get("SILENT"), Some(""));
        let c = parse("PING hello  world").unwrap();
        assert_eq!(c.text, "hello  world");
        assert_eq!(parse("QUIT").unwrap().sub, None);
        assert_eq!(parse(r#"X Y A="open"#), Err(CommandError::Unterminated));
        assert_eq!(parse("   "), Err(CommandError::Empty));
        assert_eq!(
            parse("X Y A=1 A=2"),
            Err(CommandError::DuplicateKey("A".into()))
        );
        assert_eq!(parse(&"A".repeat(MAX_LINE + 1)), Err(CommandError::TooLong));
    }

    #[test]
    fn replies_quote_what_needs_it() {
        assert_eq!(
            reply(
                "SESSION",
                "STATUS",
                &[("RESULT", "I2P_ERROR"), ("MESSAGE", r#"bad "key""#)]
            ),
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"bad \\\"key\\\"\"\n"
        );
        let line = reply("X", "Y", &[("A", "b c")]);
        assert_eq!(parse(&line).unwrap().get("A"), Some("b c"));
        // an echoed value with line breaks cannot split the reply
        let line = reply("NAMING", "REPLY", &[("NAME", "a\rb\nc"), ("X", "\r")]);
        assert_eq!(line, "NAMING REPLY NAME=\"a b c\" X=\" \"\n");
    }
}
