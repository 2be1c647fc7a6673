//! Answering DNS queries for `.i2p` names (sans-IO: bytes in, bytes out; the socket loop lives
//! in the router's IO shell).
//!
//! - `A` / `AAAA` for a known `name.i2p` or any valid `xxx.b32.i2p`: a stable virtual address
//!   from [`VirtualMap`], TTL 60, authoritative.
//! - `TXT`: the `.b32.i2p` address of the destination.
//! - other types for a known name: an empty NOERROR answer (NODATA).
//! - unknown `.i2p` names: NXDOMAIN. Names outside `.i2p`: REFUSED — the caller may instead
//!   forward them to a configured upstream (off by default: nothing leaves the host).
//! - malformed queries get FORMERR when the header can be read, otherwise nothing.

use crate::book::AddressBook;
use crate::name::HostName;
use crate::virtual_addr::VirtualMap;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use i2p_wire::Hash;
use i2p_wire::base32::{b32_address, parse_b32_address};

/// Time-to-live of every answer, in seconds.
pub const TTL: u32 = 60;

/// Where names come from (the address book in the router; a map in tests).
pub trait NameLookup {
    fn lookup_hash(&self, name: &HostName) -> Option<Hash>;
}

impl NameLookup for AddressBook {
    fn lookup_hash(&self, name: &HostName) -> Option<Hash> {
        self.lookup(name).map(|(d, _)| d.hash())
    }
}

/// What the server should do with a query.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// send these bytes back
    Reply(Vec<u8>),
    /// not an `.i2p` name: forward the query bytes upstream if configured, else send this
    /// REFUSED reply
    NotI2p { refused: Vec<u8> },
    /// nothing can be answered (not even a header)
    Drop,
}

/// Resolve a lower-case name without the trailing dot to a destination hash.
pub fn resolve(name: &str, names: &dyn NameLookup) -> Option<Hash> {
    if name.ends_with(".b32.i2p") {
        return parse_b32_address(name).ok();
    }
    names.lookup_hash(&HostName::parse(name).ok()?)
}

/// Answer one query.
pub fn answer(query: &[u8], names: &dyn NameLookup, map: &mut VirtualMap) -> Outcome {
    let msg = match Message::from_vec(query) {
        Ok(m) => m,
        Err(_) => {
            // FORMERR needs the id: the first two bytes, if there are 12 header bytes at all
            return match query.get(..12) {
                Some(h) => {
                    let id = u16::from_be_bytes([h[0], h[1]]);
                    encode(Message::error_msg(id, OpCode::Query, ResponseCode::FormErr))
                        .map_or(Outcome::Drop, Outcome::Reply)
                }
                None => Outcome::Drop,
            };
        }
    };
    if msg.metadata.message_type != MessageType::Query {
        return Outcome::Drop;
    }
    if msg.metadata.op_code != OpCode::Query || msg.queries.len() != 1 {
        return reply_code(&msg, ResponseCode::NotImp);
    }
    let Some(q) = msg.queries.first() else {
        return Outcome::Drop;
    };
    let qname = q.name().to_ascii().to_ascii_lowercase();
    let name = qname.trim_end_matches('.');
    if !(name == "i2p" || name.ends_with(".i2p")) {
        return match build(&msg, ResponseCode::Refused, Vec::new()) {
            Some(refused) => Outcome::NotI2p { refused },
            None => Outcome::Drop,
        };
    }
    let Some(hash) = resolve(name, names) else {
        return reply_code(&msg, ResponseCode::NXDomain);
    };
    let owner = q.name().clone();
    let mut answers = Vec::new();
    let qt = q.query_type();
    if matches!(qt, RecordType::A | RecordType::AAAA | RecordType::ANY) {
        let addrs = match map.addrs_for(name) {
            Ok(a) => a,
            Err(_) => return reply_code(&msg, ResponseCode::ServFail),
        };
        if matches!(qt, RecordType::A | RecordType::ANY) {
            answers.push(Record::from_rdata(
                owner.clone(),
                TTL,
                RData::A(A(addrs.v4)),
            ));
        }
        if matches!(qt, RecordType::AAAA | RecordType::ANY) {
            answers.push(Record::from_rdata(
                owner.clone(),
                TTL,
                RData::AAAA(AAAA(addrs.v6)),
            ));
        }
    }
    if matches!(qt, RecordType::TXT | RecordType::ANY) {
        answers.push(Record::from_rdata(
            owner,
            TTL,
            RData::TXT(TXT::new(vec![b32_address(&hash)])),
        ));
    }
    build(&msg, ResponseCode::NoError, answers).map_or(Outcome::Drop, Outcome::Reply)
}

fn reply_code(q: &Message, code: ResponseCode) -> Outcome {
    build(q, code, Vec::new()).map_or(Outcome::Drop, Outcome::Reply)
}

fn build(q: &Message, code: ResponseCode, answers: Vec<Record>) -> Option<Vec<u8>> {
    let mut r = Message::response(q.metadata.id, q.metadata.op_code);
    r.metadata.response_code = code;
    r.metadata.authoritative = code != ResponseCode::Refused;
    r.metadata.recursion_desired = q.metadata.recursion_desired;
    r.metadata.recursion_available = false;
    r.queries = q.queries.clone();
    r.answers = answers;
    encode(r)
}

fn encode(m: Message) -> Option<Vec<u8>> {
    m.to_vec().ok()
}

/// Build a query (for tests and tools).
pub fn make_query(id: u16, name: &str, rtype: RecordType) -> Option<Vec<u8>> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(hickory_proto::op::Query::query(
        Name::from_ascii(name).ok()?,
        rtype,
    ));
    m.to_vec().ok()
}
