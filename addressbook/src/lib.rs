//! Human names for destinations: the private, local and subscribed books in hosts.txt format,
//! signed subscription feeds (spec/subscription.md), the naming rules
//! (docs/overview/naming.md), and (with the proxies issue) the DNS server that maps `.i2p`
//! names to virtual addresses.
//!
//! | module | owns |
//! |---|---|
//! | [`name`] | host name normalisation and validity rules |
//! | [`hosts_txt`] | the line format, signed commands, signature input and verification |
//! | [`book`] | the three books, lookup priority, applying feed records |
//! | [`store`] | crash-safe persistence of the books |
//! | [`virtual_addr`] | stable virtual IPv4/IPv6 addresses for names (DNS answers, SOCKS/transparent routing back) |
//! | [`dns`] | answering DNS queries for `.i2p` names (sans-IO) |

pub mod book;
pub mod dns;
pub mod hosts_txt;
pub mod name;
pub mod store;
pub mod virtual_addr;

pub use book::{AddressBook, Applied, BookKind};
pub use hosts_txt::{Action, FeedError, LineError, Record, parse_feed, parse_line};
pub use name::{HostName, NameError};
pub use store::BookStore;
