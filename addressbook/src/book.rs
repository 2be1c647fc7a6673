//! The address book: three books looked up in Java I2P's order — private (never shared), local
//! (names the user added, e.g. through an address helper) and subscribed (fed by subscriptions) —
//! and the rules for applying a subscription feed to the subscribed book.
//!
//! Feed policy (spec/subscription.md; behaviour as in Java I2P's address book):
//! - a plain, unsigned `name=dest` line is accepted only if the name is new everywhere;
//! - signed commands are applied only after their signatures verified (done by the parser);
//! - nothing from a feed ever overwrites a name in the private or local book: such a conflict is
//!   logged and skipped;
//! - a name that already maps to another destination in the subscribed book changes only
//!   through a signed `changedest` proving control of the old destination.

use crate::hosts_txt::{Action, Record};
use crate::name::HostName;
use i2p_wire::{Destination, Hash};
use std::collections::BTreeMap;

/// Which book a name lives in, highest priority first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BookKind {
    Private,
    Local,
    Subscribed,
}

impl BookKind {
    pub const ALL: [BookKind; 3] = [BookKind::Private, BookKind::Local, BookKind::Subscribed];

    /// File name inside the address book directory.
    pub fn file_name(self) -> &'static str {
        match self {
            BookKind::Private => "privatehosts.txt",
            BookKind::Local => "userhosts.txt",
            BookKind::Subscribed => "hosts.txt",
        }
    }
}

/// What applying one feed record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Added(HostName),
    Changed(HostName),
    Removed(Vec<HostName>),
    /// already present with this destination, or a no-op command
    Unchanged,
    /// refused, with the reason (logged by the caller)
    Conflict(String),
}

/// The three books.
#[derive(Clone, Debug, Default)]
pub struct AddressBook {
    books: BTreeMap<BookKind, BTreeMap<HostName, Destination>>,
}

impl AddressBook {
    pub fn new() -> AddressBook {
        AddressBook::default()
    }

    fn book(&self, kind: BookKind) -> Option<&BTreeMap<HostName, Destination>> {
        self.books.get(&kind)
    }

    fn book_mut(&mut self, kind: BookKind) -> &mut BTreeMap<HostName, Destination> {
        self.books.entry(kind).or_default()
    }

    /// Look a name up in priority order.
    pub fn lookup(&self, name: &HostName) -> Option<(&Destination, BookKind)> {
        BookKind::ALL
            .into_iter()
            .find_map(|k| self.book(k).and_then(|b| b.get(name)).map(|d| (d, k)))
    }

    /// Some name for a destination hash (for display), in priority order.
    pub fn reverse_lookup(&self, hash: &Hash) -> Option<&HostName> {
        BookKind::ALL.into_iter().find_map(|k| {
            self.book(k)?
                .iter()
                .find(|(_, d)| &d.hash() == hash)
                .map(|(n, _)| n)
        })
    }

    /// Entries of one book, sorted by name.
    pub fn entries(&self, kind: BookKind) -> impl Iterator<Item = (&HostName, &Destination)> {
        self.book(kind).into_iter().flat_map(|b| b.iter())
    }

    /// Number of names in all books.
    pub fn len(&self) -> usize {
        self.books.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add or replace a name in the private or local book (the user's own decision, so it
    /// overrides feeds). Returns the previous destination in that book, if any.
    pub fn insert_user(
        &mut self,
        kind: BookKind,
        name: HostName,
        dest: Destination,
    ) -> Option<Destination> {
        self.book_mut(kind).insert(name, dest)
    }

    /// Remove a name from one book.
    pub fn remove(&mut self, kind: BookKind, name: &HostName) -> Option<Destination> {
        self.book_mut(kind).remove(name)
    }

    /// A name held by the user (private or local book) is never touched by feeds.
    fn user_holds(&self, name: &HostName) -> Option<&Destination> {
        [BookKind::Private, BookKind::Local]
            .into_iter()
            .find_map(|k| self.book(k).and_then(|b| b.get(name)))
    }

    /// Add `name → dest` to the subscribed book if no book has the name yet.
    fn add_new(&mut self, name: &HostName, dest: &Destination) -> Applied {
        match self.lookup(name) {
            Some((existing, _)) if existing == dest => Applied::Unchanged,
            Some((_, kind)) => Applied::Conflict(format!(
                "{name} already maps to another destination in the {kind:?} book"
            )),
            None => {
                self.book_mut(BookKind::Subscribed)
                    .insert(name.clone(), dest.clone());
                Applied::Added(name.clone())
            }
        }
    }

    /// Apply one verified feed record to the subscribed book.
    pub fn apply(&mut self, r: &Record) -> Applied {
        let name = &r.name;
        if !matches!(r.action, Action::RemoveAll)
            && let Some(held) = self.user_holds(name)
        {
            return if held == &r.dest {
                Applied::Unchanged
            } else {
                Applied::Conflict(format!("{name} is in the user's book; feed entry ignored"))
            };
        }
        let subscribed = self.book_mut(BookKind::Subscribed);
        match &r.action {
            Action::Unsigned | Action::Add | Action::Update => self.add_new(name, &r.dest),
            Action::AddName { old_name } | Action::ChangeName { old_name } => {
                // the alias/new name must point at the destination the old name already has
                match subscribed.get(old_name) {
                    Some(d) if d == &r.dest => {}
                    Some(_) => {
                        return Applied::Conflict(format!(
                            "{old_name} maps to another destination"
                        ));
                    }
                    None if matches!(r.action, Action::ChangeName { .. }) => {}
                    None => return Applied::Conflict(format!("{old_name} is unknown")),
                }
                let out = self.add_new(name, &r.dest);
                if matches!(r.action, Action::ChangeName { .. })
                    && out == Applied::Added(name.clone())
                {
                    self.book_mut(BookKind::Subscribed).remove(old_name);
                    return Applied::Changed(name.clone());
                }
                out
            }
            Action::ChangeDest { old_dest } => match subscribed.get(name) {
                Some(d) if d == &r.dest => Applied::Unchanged,
                Some(d) if d == old_dest => {
                    subscribed.insert(name.clone(), r.dest.clone());
                    Applied::Changed(name.clone())
                }
                Some(_) => Applied::Conflict(format!(
                    "{name} maps to neither the old nor the new destination"
                )),
                None => self.add_new(name, &r.dest),
            },
            Action::AddDest { old_dest } => match subscribed.get(name) {
                // one destination per name: an alternate destination for a known name is noted
                // but the existing mapping stays; a new name is added with the new destination
                Some(d) if d == &r.dest || d == old_dest => Applied::Unchanged,
                Some(_) => Applied::Conflict(format!("{name} maps to another destination")),
                None => self.add_new(name, &r.dest),
            },
            Action::AddSubdomain {
                parent,
                parent_dest,
            } => {
                if name.parent().as_ref() != Some(parent) {
                    return Applied::Conflict(format!("{name} is not a subdomain of {parent}"));
                }
                match self.lookup(parent) {
                    Some((d, _)) if d == parent_dest => self.add_new(name, &r.dest),
                    Some(_) => Applied::Conflict(format!("{parent} maps to another destination")),
                    None => Applied::Conflict(format!("parent {parent} is unknown")),
                }
            }
            Action::Remove => match subscribed.get(name) {
                Some(d) if d == &r.dest => {
                    subscribed.remove(name);
                    Applied::Removed(vec![name.clone()])
                }
                _ => Applied::Unchanged,
            },
            Action::RemoveAll => {
                let gone: Vec<HostName> = subscribed
                    .iter()
                    .filter(|(_, d)| *d == &r.dest)
                    .map(|(n, _)| n.clone())
                    .collect();
                for n in &gone {
                    subscribed.remove(n);
                }
                if gone.is_empty() {
                    Applied::Unchanged
                } else {
                    Applied::Removed(gone)
                }
            }
        }
    }
}
