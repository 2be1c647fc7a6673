//! A position-carrying view of the YAML document, used only to give errors their key path.
//!
//! The typed configuration is read with serde (see `raw.rs`); serde errors from the YAML crate
//! carry a line and column but not the key path. This module parses the same text into a small
//! tree of mappings with the position of every key, so that:
//! - unknown keys are found before serde runs (with a "did you mean" suggestion), and
//! - any later error position can be turned back into a dotted key path (`ntcp2.port`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML node with the positions of its mapping keys. Scalars are kept as text only for
/// diagnostics; their typed meaning is decided by serde in `raw.rs`.
#[derive(Debug)]
pub(crate) enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq,
    Scalar,
    Null,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Node::Seq)
    }
}

/// Every key of the document with its dotted path and the 1-based (line, column) of the key,
/// in document order.
pub(crate) fn key_positions(root: &Node) -> Vec<(String, (usize, usize))> {
    let mut out = Vec::new();
    collect(root, "", &mut out);
    out
}

fn collect(node: &Node, prefix: &str, out: &mut Vec<(String, (usize, usize))>) {
    if let Node::Map(entries) = node {
        for (key, value) in entries {
            let path = join(prefix, &key.value);
            let loc = key.referenced;
            out.push((path.clone(), (loc.line() as usize, loc.column() as usize)));
            collect(&value.value, &path, out);
        }
    }
}

pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The key path an error at `pos` (1-based line, column) belongs to: the key at exactly that
/// position, or else the last key that starts before it (for `port: abc` the error points at the
/// value, and the nearest key before it is `port`).
pub(crate) fn path_at(keys: &[(String, (usize, usize))], pos: (usize, usize)) -> Option<String> {
    if let Some((path, _)) = keys.iter().find(|(_, p)| *p == pos) {
        return Some(path.clone());
    }
    keys.iter()
        .filter(|(_, p)| *p <= pos)
        .max_by_key(|(_, p)| *p)
        .map(|(path, _)| path.clone())
}

/// Levenshtein distance, for "did you mean" on a few dozen short key names.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX / 2) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX / 2) + 1;
            let ins = cur.get(j).copied().unwrap_or(usize::MAX / 2) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// A suggestion for the unknown key `path`, chosen among `known` dotted paths: a close spelling
/// in the same section, or the same key name in another section.
pub(crate) fn suggest(path: &str, known: &[&str]) -> Option<String> {
    let (section, leaf) = match path.rsplit_once('.') {
        Some((s, l)) => (s, l),
        None => ("", path),
    };
    // candidates at the same depth and in the same section
    let siblings = known.iter().filter_map(|k| {
        let (ks, kl) = k.rsplit_once('.').unwrap_or(("", k));
        (ks == section).then_some((*k, kl))
    });
    // sections are also candidates at the top level
    let sections: Vec<&str> = known.iter().filter_map(|k| k.split('.').next()).collect();
    let best = siblings
        .map(|(full, name)| (full.to_string(), edit_distance(leaf, name)))
        .chain(
            section
                .is_empty()
                .then(|| {
                    sections
                        .iter()
                        .map(|s| (s.to_string(), edit_distance(leaf, s)))
                })
                .into_iter()
                .flatten(),
        )
        .filter(|(_, d)| *d <= 2 && *d < leaf.chars().count())
        .min_by_key(|(_, d)| *d);
    if let Some((full, _)) = best {
        return Some(full);
    }
    // the right name in the wrong section, e.g. `ntcp2.net_id` for `network.net_id`
    known
        .iter()
        .find(|k| k.rsplit_once('.').map(|(_, l)| l) == Some(leaf))
        .map(|k| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("port", "port"), 0);
        assert_eq!(edit_distance("prot", "port"), 2);
        assert_eq!(edit_distance("ports", "port"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let known = ["network.net_id", "ntcp2.port", "ntcp2.host", "log.level"];
        assert_eq!(suggest("ntcp2.prot", &known).as_deref(), Some("ntcp2.port"));
        assert_eq!(
            suggest("ntcp2.net_id", &known).as_deref(),
            Some("network.net_id")
        );
        assert_eq!(suggest("ntcp", &known).as_deref(), Some("ntcp2"));
        assert_eq!(suggest("ntcp2.zzzzzz", &known), None);
    }

    #[test]
    fn path_lookup_prefers_exact_then_preceding_key() {
        let text = "network:\n  net_id: 5\nntcp2:\n  port: abc\n  host: x\n";
        let tree: Spanned<Node> = serde_saphyr::from_str(text).unwrap();
        let keys = key_positions(&tree.value);
        let paths: Vec<&str> = keys.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "network",
                "network.net_id",
                "ntcp2",
                "ntcp2.port",
                "ntcp2.host"
            ]
        );
        assert_eq!(path_at(&keys, (4, 3)).as_deref(), Some("ntcp2.port"));
        assert_eq!(path_at(&keys, (4, 9)).as_deref(), Some("ntcp2.port"));
        assert_eq!(path_at(&keys, (3, 7)).as_deref(), Some("ntcp2"));
        assert_eq!(path_at(&keys, (1, 1)).as_deref(), Some("network"));
        assert_eq!(path_at(&[], (1, 1)), None);
    }
}
