//! Writes the seed corpora `router/fuzz/corpus/<target>/seed-*`.
//!
//! Real data comes from the captured i2pd 2.45.1 testnet (router/wire/tests/data/i2pd-2.45.1):
//! RouterInfos, the netDb, the eepsite's private keys file and hosts.txt. Everything else is
//! built with the crates' own builders and encoders, signed with the eepsite's throwaway test
//! key where a signature is needed, so the seeds parse and (where it applies) verify. Output is
//! deterministic: rerunning gives the same files.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use i2p_crypto::{Ed25519SigningKey, SigType};
use i2p_wire::i2np::{
    Data, DatabaseLookup, DatabaseSearchReply, DatabaseStore, DeliveryStatus, Garlic,
    GzippedRouterInfo, LookupType, ReplyEncryption, ShortBuildRecords, StoreKind, StoreReply,
    TunnelBuildRecords, TunnelData, TunnelGateway, VariableBuildRecords,
};
use i2p_wire::datagram::{Datagram1, Datagram2, Datagram3};
use i2p_wire::lease_set2::Lease2;
use i2p_wire::streaming::{FLAG_CLOSE, FLAG_NO_ACK, FLAG_SYNCHRONIZE};
use i2p_wire::{
    Date, Decode, Destination, EncType, Encode, EncryptionKey, Hash, I2npBody, I2npMessage,
    LeaseSet2Builder, Mapping, OfflineSignature, RouterInfo, StreamPacket, TunnelId, base64, su3,
};

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// `FIXED_NOW` of the fuzz targets (src/lib.rs): 2027-01-15T08:00:00Z.
const FIXED_NOW: Date = Date::from_millis(1_800_000_000_000);
/// `DATAGRAM_TARGET` of the fuzz targets (src/lib.rs): the hash Datagram2 seeds are signed for.
const DATAGRAM_TARGET: Hash = Hash::from_bytes([0x42; 32]);
/// `NOW` of the netdb target: one minute after the testnet RouterInfos were published.
const NETDB_NOW: Date = Date::from_millis(1_795_344_200_000);

struct Out {
    corpus: PathBuf,
    written: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) -> Res {
        let dir = self.corpus.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("seed-{name}")), bytes)?;
        self.written += 1;
        Ok(())
    }
}

struct TestData {
    router_infos: Vec<(String, Vec<u8>)>,
    eepsite_dat: Vec<u8>,
    router_keys: Vec<u8>,
    hosts_txt: String,
    default_yaml: String,
}

fn read_data(fuzz_dir: &Path) -> Res<TestData> {
    let dir = fuzz_dir.join("../wire/tests/data/i2pd-2.45.1");
    let mut router_infos = Vec::new();
    for n in 1..=5 {
        let name = format!("r{n}.router.info");
        router_infos.push((format!("r{n}"), fs::read(dir.join(&name))?));
    }
    // netDb copies that differ from the routers' own files (newer publications)
    let mut netdb: Vec<PathBuf> = Vec::new();
    for d in fs::read_dir(dir.join("r5-netDb"))? {
        for f in fs::read_dir(d?.path())? {
            netdb.push(f?.path());
        }
    }
    netdb.sort();
    for (i, p) in netdb.iter().enumerate() {
        let bytes = fs::read(p)?;
        if !router_infos.iter().any(|(_, b)| *b == bytes) {
            router_infos.push((format!("netdb{i}"), bytes));
        }
    }
    Ok(TestData {
        router_infos,
        eepsite_dat: fs::read(dir.join("eepsite.dat"))?,
        router_keys: fs::read(dir.join("r1.router.keys"))?,
        hosts_txt: fs::read_to_string(dir.join("hosts.txt"))?,
        default_yaml: fs::read_to_string(fuzz_dir.join("../node/config/default.yaml"))?,
    })
}

/// The eepsite's destination and its Ed25519 key (from i2pd's `eepsite.dat`).
fn eepsite(d: &TestData) -> Res<(Destination, Ed25519SigningKey)> {
    let mut r = i2p_wire::Reader::new(&d.eepsite_dat);
    let dest = Destination::read(&mut r)?;
    let rest = r.rest();
    let seed: [u8; 32] = rest
        .get(rest.len().saturating_sub(32)..)
        .ok_or("short eepsite.dat")?
        .try_into()?;
    let key = Ed25519SigningKey::from_seed(seed);
    if key.public()[..] != *dest.signing_key() {
        return Err("eepsite.dat key does not match its destination".into());
    }
    Ok((dest, key))
}

fn signer(k: &Ed25519SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |m| k.sign(m).to_vec()
}

fn secs(d: Date) -> Res<u32> {
    Ok(u32::try_from(d.as_secs())?)
}

/// A LeaseSet2 of `dest` published at `now` (optionally with an offline signature).
fn lease_set2(
    dest: &Destination,
    key: &Ed25519SigningKey,
    now: Date,
    offline: bool,
    gateway: Hash,
) -> Res<Vec<u8>> {
    let published = secs(now)?.saturating_sub(30);
    let mut b = LeaseSet2Builder::new(dest.clone(), published, 600)
        .encryption_key(EncryptionKey::new(EncType::X25519, &[7; 32])?)
        .lease(Lease2 {
            gateway,
            tunnel_id: TunnelId(1234),
            end_date: published + 540,
        });
    let transient = Ed25519SigningKey::from_seed([0x5a; 32]);
    if offline {
        let o = OfflineSignature::sign(
            published + 86_400,
            SigType::Ed25519,
            &transient.public(),
            SigType::Ed25519,
            dest.signing_key(),
            &signer(key),
        )?;
        b = b.offline_signature(o).option("o", "1");
        return Ok(b.sign(&signer(&transient))?.to_bytes());
    }
    Ok(b.sign(&signer(key))?.to_bytes())
}

/// A legacy LeaseSet (store type 1) of `dest`, one lease ending at `end`.
fn lease_set1(dest: &Destination, key: &Ed25519SigningKey, end: Date, gateway: Hash) -> Vec<u8> {
    let mut v = dest.to_bytes();
    v.extend_from_slice(&[0x42; 256]); // unused ElGamal key
    v.extend_from_slice(&key.public()); // signing key (Ed25519: 32 bytes)
    v.push(1);
    v.extend_from_slice(gateway.as_bytes());
    v.extend_from_slice(&1234u32.to_be_bytes());
    v.extend_from_slice(&end.as_millis().to_be_bytes());
    let sig = key.sign(&v);
    v.extend_from_slice(&sig);
    v
}

/// An encrypted LeaseSet2 (store type 5) with a RedDSA blinded key, signed by that key.
fn encrypted_lease_set(now: Date) -> Res<Vec<u8>> {
    let blinded = Ed25519SigningKey::from_seed([0x3c; 32]);
    let mut v = Vec::new();
    v.extend_from_slice(&SigType::RedDsaEd25519.code().to_be_bytes());
    v.extend_from_slice(&blinded.public());
    v.extend_from_slice(&secs(now)?.saturating_sub(30).to_be_bytes());
    v.extend_from_slice(&600u16.to_be_bytes());
    v.extend_from_slice(&0u16.to_be_bytes());
    let inner: Vec<u8> = (0..120u8).map(|i| i.wrapping_mul(37)).collect();
    v.extend_from_slice(&u16::try_from(inner.len())?.to_be_bytes());
    v.extend_from_slice(&inner);
    let mut signed = vec![5u8];
    signed.extend_from_slice(&v);
    v.extend_from_slice(&blinded.sign(&signed));
    Ok(v)
}

fn with_selector(selector: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![selector];
    v.extend_from_slice(bytes);
    v
}

/// One of each I2NP body, named.
fn i2np_bodies(
    d: &TestData,
    dest: &Destination,
    key: &Ed25519SigningKey,
    now: Date,
) -> Res<Vec<(String, I2npBody)>> {
    let mut out = Vec::new();
    let peer = Hash::from_bytes([0x66; 32]);
    for (name, bytes) in &d.router_infos {
        let u = RouterInfo::parse(bytes)?;
        let published = u.peek_unverified().published();
        let ri = u.verify(published)?;
        out.push((
            format!("store-ri-{name}"),
            I2npBody::DatabaseStore(DatabaseStore::router_info(&ri, None)?),
        ));
    }
    let (_, r1) = d.router_infos.first().ok_or("no RouterInfo")?;
    let r1 = RouterInfo::parse(r1)?;
    let r1_hash = r1.peek_unverified().hash();
    let reply = StoreReply {
        token: 0x0102_0304,
        tunnel_id: TunnelId(0),
        gateway: peer,
    };
    out.push((
        "store-ls2-reply".into(),
        I2npBody::DatabaseStore(DatabaseStore::lease_set(
            dest.hash(),
            StoreKind::LeaseSet2,
            lease_set2(dest, key, now, false, r1_hash)?,
            Some(reply),
        )?),
    ));
    out.push((
        "store-ls2-offline".into(),
        I2npBody::DatabaseStore(DatabaseStore::lease_set(
            dest.hash(),
            StoreKind::LeaseSet2,
            lease_set2(dest, key, now, true, r1_hash)?,
            None,
        )?),
    ));
    out.push((
        "store-ls1".into(),
        I2npBody::DatabaseStore(DatabaseStore::lease_set(
            dest.hash(),
            StoreKind::LeaseSet,
            lease_set1(dest, key, now.saturating_add_millis(540_000), r1_hash),
            None,
        )?),
    ));
    let enc = encrypted_lease_set(now)?;
    out.push((
        "store-encrypted-ls".into(),
        I2npBody::DatabaseStore(DatabaseStore::lease_set(
            Hash::digest(&enc),
            StoreKind::EncryptedLeaseSet,
            enc,
            None,
        )?),
    ));
    out.push((
        "lookup-ri".into(),
        I2npBody::DatabaseLookup(DatabaseLookup::new(
            r1_hash,
            peer,
            None,
            LookupType::RouterInfo,
            vec![],
            ReplyEncryption::None,
        )?),
    ));
    out.push((
        "lookup-explore".into(),
        I2npBody::DatabaseLookup(DatabaseLookup::new(
            Hash::from_bytes([0x77; 32]),
            peer,
            Some(TunnelId(99)),
            LookupType::Exploration,
            vec![r1_hash, peer],
            ReplyEncryption::None,
        )?),
    ));
    out.push((
        "lookup-ls-ratchet".into(),
        I2npBody::DatabaseLookup(DatabaseLookup::new(
            dest.hash(),
            peer,
            Some(TunnelId(7)),
            LookupType::LeaseSet,
            vec![],
            ReplyEncryption::Ratchet {
                reply_key: [0x21; 32],
                tags: vec![[0x22; 8]],
            },
        )?),
    ));
    out.push((
        "lookup-any-elgamal".into(),
        I2npBody::DatabaseLookup(DatabaseLookup::new(
            dest.hash(),
            peer,
            None,
            LookupType::Any,
            vec![],
            ReplyEncryption::ElGamalAes {
                reply_key: [0x31; 32],
                tags: vec![[0x32; 32]],
            },
        )?),
    ));
    out.push((
        "search-reply".into(),
        I2npBody::DatabaseSearchReply(DatabaseSearchReply::new(
            dest.hash(),
            vec![r1_hash, Hash::from_bytes([0x88; 32])],
            peer,
        )?),
    ));
    let status = DeliveryStatus {
        msg_id: 0x0102_0304,
        timestamp: now,
    };
    out.push(("delivery-status".into(), I2npBody::DeliveryStatus(status)));
    out.push((
        "garlic".into(),
        I2npBody::Garlic(Garlic::new((0..96u8).map(|i| i ^ 0x5a).collect())?),
    ));
    out.push((
        "data".into(),
        I2npBody::Data(Data::new(b"hello from the seed generator".to_vec())?),
    ));
    out.push((
        "tunnel-data".into(),
        I2npBody::TunnelData(TunnelData {
            tunnel_id: TunnelId(42),
            data: Box::new([0x17; 1024]),
        }),
    ));
    let inner = I2npMessage::new(9, now, I2npBody::DeliveryStatus(status))?;
    out.push((
        "tunnel-gateway".into(),
        I2npBody::TunnelGateway(TunnelGateway::new(TunnelId(5), &inner)?),
    ));
    out.push((
        "tunnel-build".into(),
        I2npBody::TunnelBuild(TunnelBuildRecords(Box::new([[0x01; 528]; 8]))),
    ));
    out.push((
        "variable-tunnel-build".into(),
        I2npBody::VariableTunnelBuild(VariableBuildRecords::new(vec![[0x02; 528]; 2])?),
    ));
    out.push((
        "short-tunnel-build".into(),
        I2npBody::ShortTunnelBuild(ShortBuildRecords::new(vec![[0x03; 218]; 4])?),
    ));
    out.push((
        "outbound-tunnel-build-reply".into(),
        I2npBody::OutboundTunnelBuildReply(ShortBuildRecords::new(vec![[0x04; 218]; 1])?),
    ));
    out.push((
        "unknown-type".into(),
        I2npBody::Unknown {
            type_id: 0xf0,
            payload: vec![1, 2, 3, 4],
        },
    ));
    Ok(out)
}

fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, one question
    for label in name.trim_end_matches('.').split('.') {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes()); // IN
    v
}

fn streaming_packets(
    dest: &Destination,
    key: &Ed25519SigningKey,
) -> Res<Vec<(&'static str, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut syn = StreamPacket {
        send_stream_id: 0,
        receive_stream_id: 0x1111_2222,
        sequence_num: 0,
        ack_through: 0,
        resend_delay: 0,
        flags: FLAG_SYNCHRONIZE | FLAG_NO_ACK,
        from: Some(dest.clone()),
        max_packet_size: Some(1730),
        delay_requested: Some(500),
        payload: b"GET / HTTP/1.1\r\nHost: eepsite.testnet.i2p\r\n\r\n".to_vec(),
        ..StreamPacket::default()
    };
    syn.set_syn_target_hash(&Hash::from_bytes([0x99; 32]));
    syn.sign(SigType::Ed25519.signature_len(), &signer(key))?;
    out.push(("syn", syn.to_bytes()));
    let ack = StreamPacket {
        send_stream_id: 0x3333_4444,
        receive_stream_id: 0x1111_2222,
        sequence_num: 0,
        ack_through: 3,
        nacks: vec![1, 2],
        resend_delay: 1,
        ..StreamPacket::default()
    };
    out.push(("ack", ack.to_bytes()));
    let mut close = StreamPacket {
        send_stream_id: 0x3333_4444,
        receive_stream_id: 0x1111_2222,
        sequence_num: 5,
        ack_through: 4,
        flags: FLAG_CLOSE,
        ..StreamPacket::default()
    };
    close.sign(SigType::Ed25519.signature_len(), &signer(key))?;
    out.push(("close-signed-no-from", close.to_bytes()));
    let data = StreamPacket {
        send_stream_id: 0x3333_4444,
        receive_stream_id: 0x1111_2222,
        sequence_num: 1,
        ack_through: 0,
        payload: vec![0xab; 200],
        ..StreamPacket::default()
    };
    out.push(("data", data.to_bytes()));
    Ok(out)
}

/// Datagram bodies for `wire_datagram` (selector byte: 0 Datagram1, 1 Datagram2, 2 Datagram3),
/// including the DSA-signed repliable datagram captured from i2pd.
fn datagrams(
    fuzz_dir: &Path,
    dest: &Destination,
    key: &Ed25519SigningKey,
) -> Res<Vec<(&'static str, Vec<u8>)>> {
    let mut out = Vec::new();
    let payload = b"datagram seed payload".to_vec();
    let d1 = Datagram1::sign(dest.clone(), payload.clone(), &signer(key))?;
    out.push(("d1-ed25519", with_selector(0, &d1.to_bytes())));
    let dsa = fs::read(fuzz_dir.join("../wire/tests/data/i2pd-2.45.1/datagram1-dsa.bin"))?;
    out.push(("d1-dsa-i2pd", with_selector(0, &dsa)));
    let opts = Mapping::from_pairs([("a", "1"), ("bb", "22")])?;
    let d2 = Datagram2::sign(
        dest.clone(),
        &DATAGRAM_TARGET,
        None,
        None,
        payload.clone(),
        &signer(key),
    )?;
    out.push(("d2", with_selector(1, &d2.to_bytes())));
    let d2o = Datagram2::sign(
        dest.clone(),
        &DATAGRAM_TARGET,
        Some(opts.clone()),
        None,
        payload.clone(),
        &signer(key),
    )?;
    out.push(("d2-options", with_selector(1, &d2o.to_bytes())));
    let transient = Ed25519SigningKey::from_seed([0x77; 32]);
    let offline = OfflineSignature::sign(
        secs(FIXED_NOW)? + 86_400,
        SigType::Ed25519,
        &transient.public(),
        SigType::Ed25519,
        dest.signing_key(),
        &signer(key),
    )?;
    let d2off = Datagram2::sign(
        dest.clone(),
        &DATAGRAM_TARGET,
        Some(opts.clone()),
        Some(offline),
        payload.clone(),
        &signer(&transient),
    )?;
    out.push(("d2-offline", with_selector(1, &d2off.to_bytes())));
    let d3 = Datagram3::new(dest.hash(), None, payload.clone());
    out.push(("d3", with_selector(2, &d3.to_bytes())));
    let d3o = Datagram3::new(dest.hash(), Some(opts), payload);
    out.push(("d3-options", with_selector(2, &d3o.to_bytes())));
    Ok(out)
}

fn main() -> Res {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no parent")?
        .to_path_buf();
    let mut out = Out {
        corpus: fuzz_dir.join("corpus"),
        written: 0,
    };
    let d = read_data(&fuzz_dir)?;
    let (dest, key) = eepsite(&d)?;

    // --- i2p-wire ---------------------------------------------------------------------------
    for (name, bytes) in &d.router_infos {
        out.put("wire_router_info", name, bytes)?;
        let g = GzippedRouterInfo::compress(bytes)?;
        out.put("wire_gzip_router_info", name, g.compressed())?;
    }
    let (_, r1_bytes) = d.router_infos.first().ok_or("no RouterInfo")?;
    let r1 = RouterInfo::parse(r1_bytes)?;
    let r1 = r1.peek_unverified();
    let gw = r1.hash();

    out.put(
        "wire_lease_set",
        "ls2",
        &with_selector(3, &lease_set2(&dest, &key, FIXED_NOW, false, gw)?),
    )?;
    out.put(
        "wire_lease_set",
        "ls2-offline",
        &with_selector(3, &lease_set2(&dest, &key, FIXED_NOW, true, gw)?),
    )?;
    out.put(
        "wire_lease_set",
        "ls1",
        &with_selector(
            1,
            &lease_set1(&dest, &key, FIXED_NOW.saturating_add_millis(600_000), gw),
        ),
    )?;
    out.put(
        "wire_lease_set",
        "encrypted",
        &with_selector(5, &encrypted_lease_set(FIXED_NOW)?),
    )?;

    out.put("wire_destination", "eepsite", &dest.to_bytes())?;
    out.put("wire_destination", "r1-identity", &r1.identity().to_bytes())?;
    let fresh = Destination::new(SigType::Ed25519, &key.public(), &[0x10; 32])?;
    out.put(
        "wire_destination",
        "ed25519-repeating-padding",
        &fresh.to_bytes(),
    )?;
    out.put(
        "wire_destination",
        "eepsite-base64",
        dest.to_base64().as_bytes(),
    )?;

    out.put(
        "wire_structures",
        "r1-options-mapping",
        &r1.options().to_bytes(),
    )?;
    out.put(
        "wire_structures",
        "key-certificate",
        &dest.certificate().to_bytes(),
    )?;
    for (i, a) in r1.addresses().iter().enumerate() {
        out.put("wire_structures", &format!("r1-address{i}"), &a.to_bytes())?;
    }

    for (name, body) in i2np_bodies(&d, &dest, &key, FIXED_NOW)? {
        let m = I2npMessage::new(
            0x0a0b_0c0d,
            FIXED_NOW.saturating_add_millis(60_000),
            body.clone(),
        )?;
        out.put("wire_i2np", &name, &m.to_bytes())?;
        out.put("wire_i2np_short", &name, &m.to_short_bytes())?;
        out.put(
            "wire_i2np_body",
            &name,
            &with_selector(body.type_id(), &body.to_bytes()),
        )?;
    }

    let zip_like = b"PK\x03\x04\x14\x00\x00\x00\x08\x00routerInfo-x.dat....".to_vec();
    out.put(
        "wire_su3",
        "reseed-rsa4096",
        &su3::build(
            SigType::RsaSha512_4096,
            "1795344200",
            "test@mail.i2p",
            0,
            3,
            &zip_like,
            &|_| vec![0xab; 512],
        ),
    )?;
    out.put(
        "wire_su3",
        "news-ed25519",
        &su3::build(
            SigType::Ed25519,
            "1795344200",
            "news@mail.i2p",
            1,
            4,
            b"<feed></feed>",
            &signer(&key),
        ),
    )?;

    for (name, bytes) in streaming_packets(&dest, &key)? {
        out.put("wire_streaming", name, &bytes)?;
    }
    for (name, bytes) in datagrams(&fuzz_dir, &dest, &key)? {
        out.put("wire_datagram", name, &bytes)?;
    }

    out.put(
        "wire_base64",
        "eepsite-destination",
        dest.to_base64().as_bytes(),
    )?;
    out.put("wire_base64", "r1-hash", gw.to_base64().as_bytes())?;
    out.put("wire_base64", "padding-one", b"Zm9vYg==")?;
    out.put("wire_base32", "eepsite-b32", dest.b32_address().as_bytes())?;
    out.put(
        "wire_base32",
        "eepsite-b32-upper",
        dest.b32_address().to_uppercase().as_bytes(),
    )?;
    out.put("wire_base32", "short", b"mzxw6ytboi")?;

    // --- i2p-netdb: standard-header messages at the netDb's time -----------------------------
    for (name, body) in i2np_bodies(&d, &dest, &key, NETDB_NOW)? {
        if matches!(
            body,
            I2npBody::DatabaseStore(_)
                | I2npBody::DatabaseLookup(_)
                | I2npBody::DatabaseSearchReply(_)
                | I2npBody::DeliveryStatus(_)
                | I2npBody::Garlic(_)
        ) {
            let m = I2npMessage::new(0x0a0b_0c0d, NETDB_NOW.saturating_add_millis(60_000), body)?;
            out.put("netdb_handle_message", &name, &m.to_bytes())?;
        }
    }

    // --- i2p-addressbook ----------------------------------------------------------------------
    let b64 = dest.to_base64();
    let signed_prefix = format!("signed.testnet.i2p={b64}");
    let sig = base64::encode(&key.sign(signed_prefix.as_bytes()));
    let remove_opts = format!("action=remove#dest={b64}#name=signed.testnet.i2p");
    let remove_sig = base64::encode(&key.sign(format!("#!{remove_opts}").as_bytes()));
    let feed = format!(
        "# testnet feed\n{}\n\n{signed_prefix}#!sig={sig}\n#!{remove_opts}#sig={remove_sig}\nbad line\n",
        d.hosts_txt.trim()
    );
    out.put(
        "addressbook_hosts_txt",
        "i2pd-hosts",
        d.hosts_txt.as_bytes(),
    )?;
    out.put("addressbook_hosts_txt", "signed-feed", feed.as_bytes())?;
    for (name, text) in [
        ("eepsite", "eepsite.testnet.i2p"),
        ("idn", "xn--bcher-kva.i2p"),
        ("subdomain", "a.b.example.i2p"),
        ("mixed-case", "  Example.I2P "),
    ] {
        out.put("addressbook_name", name, text.as_bytes())?;
    }
    for (name, q) in [
        ("a-eepsite", dns_query(0x1234, "eepsite.testnet.i2p", 1)),
        ("aaaa-eepsite", dns_query(0x1235, "eepsite.testnet.i2p", 28)),
        ("txt-eepsite", dns_query(0x1236, "eepsite.testnet.i2p", 16)),
        ("any-b32", dns_query(0x1237, &dest.b32_address(), 255)),
        ("a-unknown", dns_query(0x1238, "nobody.i2p", 1)),
        ("a-clearnet", dns_query(0x1239, "example.com", 1)),
    ] {
        out.put("addressbook_dns", name, &q)?;
    }

    // --- i2p-proxies --------------------------------------------------------------------------
    let host = b"eepsite.testnet.i2p";
    let mut s5 = vec![0u8, 5, 1, 0, 5, 1, 0, 3, host.len() as u8];
    s5.extend_from_slice(host);
    s5.extend_from_slice(&80u16.to_be_bytes());
    out.put("proxies_socks", "socks5-domain", &s5)?;
    let mut s5auth = vec![1u8, 5, 2, 0, 2, 1, 4];
    s5auth.extend_from_slice(b"user\x04pass");
    s5auth.extend_from_slice(&[5, 1, 0, 1, 10, 191, 0, 1, 0, 80]);
    out.put("proxies_socks", "socks5-userpass-ipv4", &s5auth)?;
    let mut s5v6 = vec![0u8, 5, 1, 0, 5, 1, 0, 4];
    s5v6.extend_from_slice(&[
        0xfd, 0x69, 0x32, 0x70, 0x69, 0x72, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
    s5v6.extend_from_slice(&443u16.to_be_bytes());
    out.put("proxies_socks", "socks5-ipv6", &s5v6)?;
    let mut s4a = vec![0u8, 4, 1, 0, 80, 0, 0, 0, 1];
    s4a.extend_from_slice(b"user\0eepsite.testnet.i2p\0");
    out.put("proxies_socks", "socks4a", &s4a)?;

    for (name, text) in [
        (
            "get-absolute-helper",
            format!(
                "GET http://eepsite.testnet.i2p:8080/a/b?x=1&i2paddresshelper={b64}#frag\nUser-Agent: curl/8\nAccept-Language: de\nReferer: http://eepsite.testnet.i2p:8080/\nX-Forwarded-For: 1.2.3.4\nCookie: a=b\n"
            ),
        ),
        (
            "get-origin-form",
            "GET /index.html?q=1\nHost: Eepsite.Testnet.I2P.\nConnection: keep-alive\nVia: 1.1 x\n"
                .to_string(),
        ),
        ("connect", "CONNECT eepsite.testnet.i2p:443\n".to_string()),
        (
            "proxy-page",
            "GET http://proxy.i2p/add?host=x.i2p\n".to_string(),
        ),
        ("clearnet", "GET http://example.com/\n".to_string()),
        (
            "ipv6-authority",
            "GET http://user@[fd00::1]:81/x\n".to_string(),
        ),
    ] {
        out.put("proxies_http_plan", name, text.as_bytes())?;
    }

    for (name, line) in [
        ("hello", "HELLO VERSION MIN=3.0 MAX=3.3".to_string()),
        (
            "session-create",
            "SESSION CREATE STYLE=STREAM ID=fuzz DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=1".to_string(),
        ),
        ("stream-connect", format!("STREAM CONNECT ID=fuzz DESTINATION={b64} SILENT=false")),
        ("naming-lookup", "NAMING LOOKUP NAME=\"eepsite.testnet.i2p\"".to_string()),
        ("quoted-escapes", "DEST GENERATE NOTE=\"a \\\"quoted\\\" \\\\ value\"\t KEY".to_string()),
        ("ping", "PING hello there".to_string()),
    ] {
        out.put("proxies_sam_command", name, line.as_bytes())?;
    }

    // --- i2p-transport: NTCP2 frame plaintexts (type ‖ size ‖ data blocks) ------------------
    let block = |t: u8, body: &[u8]| -> Res<Vec<u8>> {
        let mut v = vec![t];
        v.extend_from_slice(&u16::try_from(body.len())?.to_be_bytes());
        v.extend_from_slice(body);
        Ok(v)
    };
    let status = I2npMessage::new(
        7,
        FIXED_NOW,
        I2npBody::DeliveryStatus(DeliveryStatus {
            msg_id: 7,
            timestamp: FIXED_NOW,
        }),
    )?;
    let mut ri_block = vec![1u8];
    ri_block.extend_from_slice(r1_bytes);
    let mut first = block(0, &secs(FIXED_NOW)?.to_be_bytes())?;
    first.extend(block(1, &[0; 12])?);
    first.extend(block(2, &ri_block)?);
    first.extend(block(254, &[0x5a; 17])?);
    out.put("transport_ntcp2_blocks", "datetime-options-ri-padding", &first)?;
    let mut data_frame = block(3, &status.to_short_bytes())?;
    data_frame.extend(block(3, &status.to_short_bytes())?);
    data_frame.extend(block(200, b"unknown")?);
    out.put("transport_ntcp2_blocks", "i2np-unknown", &data_frame)?;
    let mut term = vec![0u8; 8];
    term.push(9);
    let mut last = block(4, &term)?;
    last.extend(block(254, &[])?);
    out.put("transport_ntcp2_blocks", "termination-padding", &last)?;

    // --- i2p-router, i2p-client ---------------------------------------------------------------
    out.put("router_config", "default", d.default_yaml.as_bytes())?;
    out.put(
        "router_config",
        "small",
        b"network:\n  net_id: 17\nrouter:\n  floodfill: true\n  bandwidth: 2048\nntcp2:\n  host: 198.18.0.9\n  port: auto\nreseed:\n  urls: https://a.example/,https://b.example/\nlog:\n  level: debug\n",
    )?;
    out.put("client_private_keys", "eepsite-dat", &d.eepsite_dat)?;
    out.put("client_private_keys", "r1-router-keys", &d.router_keys)?;
    out.put(
        "client_private_keys",
        "eepsite-base64",
        base64::encode(&d.eepsite_dat).as_bytes(),
    )?;

    println!("wrote {} seeds under {}", out.written, out.corpus.display());
    Ok(())
}
