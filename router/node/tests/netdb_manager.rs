//! The netDb manager task with a recording transport: loading and cleaning the netDb
//! directory, persisting stores, lookups through the handle, reseed from a file, restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use i2p_crypto::{Ed25519SigningKey, X25519Secret};
use i2p_router::netdb::{self, NetDbSettings, Outbound, storage::NetDbDir};
use i2p_router::reseed::ReseedSources;
use i2p_wire::i2np::DatabaseStore;
use i2p_wire::{
    Date, Encode, Hash, I2npBody, I2npMessage, RouterAddress, RouterIdentity, RouterInfo,
    RouterInfoBuilder,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const NET: u8 = 99;

fn router(seed: u64, floodfill: bool, published: Date) -> (RouterInfo, X25519Secret) {
    let mut rng = StdRng::seed_from_u64(seed);
    let k = Ed25519SigningKey::generate(&mut rng);
    let x = X25519Secret::generate(&mut rng);
    let id =
        RouterIdentity::new_x25519_ed25519(x.public().as_bytes(), &k.public(), &[seed as u8; 32])
            .unwrap();
    let addr = RouterAddress::ntcp2_published(
        3,
        &[1; 32],
        &[2; 16],
        IpAddr::V4(Ipv4Addr::new(198, 18, 1, seed as u8)),
        12345,
    )
    .unwrap();
    let ri = RouterInfoBuilder::new(id, published)
        .address(addr)
        .caps(if floodfill { "XfR" } else { "LR" })
        .net_id(NET)
        .router_version("0.9.57")
        .sign(&|m| k.sign(m).to_vec())
        .unwrap();
    (ri, x)
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(Hash, I2npMessage)>>);

impl Outbound for Recorder {
    fn send(&self, to: Hash, msg: I2npMessage) {
        self.0.lock().unwrap().push((to, msg));
    }
    fn deliver(&self, _from: Hash, _msg: I2npMessage) {}
}

impl Recorder {
    fn take(&self) -> Vec<(Hash, I2npMessage)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn now() -> Date {
    Date::from_millis(i2p_router::router_info::now_ms().unwrap())
}

fn settings(own: &RouterInfo, dir: &std::path::Path, reseed: ReseedSources) -> NetDbSettings {
    let mut cfg = i2p_netdb::Config::new(NET, false);
    cfg.explore.enabled = false;
    cfg.publish.enabled = false;
    NetDbSettings {
        config: cfg,
        own: own.clone(),
        router_secret: None,
        data_dir: Some(dir.to_path_buf()),
        reseed_threshold: 1,
        reseed,
    }
}

async fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(t) = f() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not reached in 5 s");
}

#[tokio::test]
async fn loads_cleans_persists_and_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let t = now();
    let (own, _) = router(1, false, t);
    let (a, _) = router(2, true, t);
    let (b, _) = router(3, false, t);
    // the netDb directory as a previous run (or i2pd) left it: two good files, one corrupt,
    // one under the wrong name
    let dir = NetDbDir::open(tmp.path()).unwrap();
    dir.write(&a.hash(), &a.to_bytes()).unwrap();
    let mut bad = b.to_bytes();
    let n = bad.len();
    bad[n - 3] ^= 1;
    dir.write(&Hash::from_bytes([9; 32]), &bad).unwrap();
    dir.write(&Hash::from_bytes([8; 32]), &b.to_bytes())
        .unwrap();

    let rec = Arc::new(Recorder::default());
    let (mut h, task) = netdb::spawn(
        settings(&own, tmp.path(), ReseedSources::default()),
        rec.clone(),
        netdb::system_clock(),
    )
    .unwrap();
    h.wait_counts(|c| c.routers == 2).await;
    assert_eq!(h.counts().floodfills, 1);
    assert!(h.router(a.hash()).await.is_some());
    assert!(h.router(b.hash()).await.is_some());
    // the corrupt file is gone, the misnamed one is rewritten under its hash
    let files = eventually(|| {
        let l = dir.list().unwrap();
        (l.len() == 2).then_some(l)
    })
    .await;
    let names: Vec<Option<Hash>> = files.iter().map(|f| f.hash).collect();
    assert!(names.contains(&Some(a.hash())) && names.contains(&Some(b.hash())));

    // a store from the network is persisted
    let (c, _) = router(4, false, t);
    let store = DatabaseStore::router_info(&c, None).unwrap();
    let msg = I2npMessage::new(
        5,
        t.saturating_add_millis(60_000),
        I2npBody::DatabaseStore(store),
    )
    .unwrap();
    assert!(h.deliver(a.hash(), msg));
    eventually(|| {
        dir.list()
            .unwrap()
            .iter()
            .any(|f| f.hash == Some(c.hash()))
            .then_some(())
    })
    .await;

    // a lookup of an unknown router goes to the floodfill; its answer completes it
    let (d, _) = router(5, false, t);
    let h2 = h.clone();
    let key = d.hash();
    let lookup = tokio::spawn(async move { h2.lookup_router(key).await });
    let sent = eventually(|| {
        let s = rec.take();
        (!s.is_empty()).then_some(s)
    })
    .await;
    assert_eq!(sent[0].0, a.hash());
    assert!(matches!(sent[0].1.body(), I2npBody::DatabaseLookup(l) if l.key() == key));
    let store = DatabaseStore::router_info(&d, None).unwrap();
    let msg = I2npMessage::new(
        6,
        t.saturating_add_millis(60_000),
        I2npBody::DatabaseStore(store),
    )
    .unwrap();
    h.deliver(a.hash(), msg);
    let found = tokio::time::timeout(Duration::from_secs(5), lookup)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.unwrap().hash(), key);
    assert_eq!(h.closest_floodfills(key, 3).await, vec![a.hash()]);

    // restart on the same directory: everything is still there
    drop(h);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    let (mut h, _task) = netdb::spawn(
        settings(&own, tmp.path(), ReseedSources::default()),
        Arc::new(Recorder::default()),
        netdb::system_clock(),
    )
    .unwrap();
    h.wait_counts(|c| c.routers == 4).await;
}

#[tokio::test]
async fn reseeds_from_a_file_when_the_netdb_is_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let t = now();
    let (own, _) = router(1, false, t);
    let (ff, _) = router(2, true, t);
    // a zip holding one floodfill's RouterInfo (no signer needed for a bare zip)
    let zip_path = tmp.path().join("seed.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    w.start_file(
        format!("routerInfo-{}.dat", ff.hash().to_base64()),
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(&ff.to_bytes()).unwrap();
    w.finish().unwrap();
    let sources = ReseedSources {
        file: Some(zip_path),
        net_id: NET,
        timeout: Duration::from_secs(5),
        ..ReseedSources::default()
    };
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (mut h, _task) = netdb::spawn(
        settings(&own, &data, sources),
        Arc::new(Recorder::default()),
        netdb::system_clock(),
    )
    .unwrap();
    h.wait_counts(|c| c.routers == 1 && c.floodfills == 1).await;
    let dir = NetDbDir::open(&data).unwrap();
    eventually(|| (dir.list().unwrap().len() == 1).then_some(())).await;
}
