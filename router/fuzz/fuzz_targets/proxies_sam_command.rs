//! SAM command lines (proxies/src/sam/command.rs): `command::parse`, and `command::quote` /
//! `command::reply` fed back into `parse`.
//!
//! Guaranteed by the module: the verb is upper-cased and non-empty; a sub-command is
//! upper-cased and is not a `key=value` pair; keys are unique; a `reply` is one line whatever
//! its values hold; `quote` makes any value that does not contain a line break come back
//! unchanged from `parse` (in a line of at most `MAX_LINE` bytes).
#![no_main]

use i2p_proxies::sam::command::{self, CommandError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match command::parse(line) {
        Ok(cmd) => {
            assert!(!cmd.verb.is_empty());
            assert_eq!(cmd.verb, cmd.verb.to_ascii_uppercase());
            if let Some(sub) = &cmd.sub {
                assert_eq!(*sub, sub.to_ascii_uppercase());
                assert!(!sub.contains('='));
            }
            for (i, (k, v)) in cmd.args.iter().enumerate() {
                assert!(
                    cmd.args.iter().skip(i + 1).all(|(k2, _)| k2 != k),
                    "duplicate key {k:?}"
                );
                assert_eq!(cmd.get(k), Some(v.as_str()));
            }
            if !(cmd.verb == "PING" || cmd.verb == "PONG") {
                assert!(cmd.text.is_empty());
            }
        }
        Err(CommandError::Empty | CommandError::TooLong | CommandError::Unterminated) => {}
        Err(CommandError::DuplicateKey(_)) => {}
    }

    // the whole input as one value: quoted, it must survive a reply line and a parse
    let reply = command::reply("TEST", "REPLY", &[("VALUE", line)]);
    // whatever the value, the reply is one line
    assert!(reply.ends_with('\n'));
    assert!(!reply[..reply.len() - 1].contains(['\r', '\n']), "a value split the reply");
    if !line.contains(['\r', '\n']) && reply.len() <= command::MAX_LINE {
        let parsed = command::parse(&reply).expect("a reply line parses");
        assert_eq!(parsed.verb, "TEST");
        assert_eq!(parsed.sub.as_deref(), Some("REPLY"));
        assert_eq!(
            parsed.get("VALUE"),
            Some(line),
            "quote/parse changed the value"
        );
    }
});
