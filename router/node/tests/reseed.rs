//! Reseed bundles: SU3 files made here with a test signer key (tests/data/reseed, see gen.py),
//! verified against its self-signed certificate; refusals with clear messages; HTTPS from an
//! in-process server on 127.0.0.1 with a test CA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::Arc;

use i2p_crypto::SigType;
use i2p_router::reseed::{self, ReseedError, ReseedSources, SignerCert, Signers, bundle};
use i2p_wire::Date;
use i2p_wire::su3;
use num_bigint::BigUint;

const SIGNER_CRT: &[u8] = include_bytes!("data/reseed/signer.crt");
const OTHER_CRT: &[u8] = include_bytes!("data/reseed/other.crt");
const SIGNER_KEY: &str = include_str!("data/reseed/signer.key.hex");
const CA_CRT: &[u8] = include_bytes!("data/reseed/ca.crt");
const SERVER_CRT: &[u8] = include_bytes!("data/reseed/server.crt");
const SERVER_KEY: &[u8] = include_bytes!("data/reseed/server.key");

/// 2026-01-01
const NOW: Date = Date::from_secs(1_767_225_600);

fn router_infos() -> Vec<(String, Vec<u8>)> {
    (1..=3)
        .map(|n| {
            let bytes = std::fs::read(format!(
                "{}/../wire/tests/data/i2pd-2.45.1/r{n}.router.info",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            let ri = i2p_wire::RouterInfo::parse(&bytes).unwrap();
            let name = format!("routerInfo-{}.dat", ri.peek_unverified().hash().to_base64());
            (name, bytes)
        })
        .collect()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Sign like Java's NONEwithRSA over SHA-512 (PKCS#1 v1.5 padding around the bare digest)
/// with the test key; test-only RSA arithmetic.
fn sign(data: &[u8]) -> Vec<u8> {
    let field = |name: &str| {
        let line = SIGNER_KEY.lines().find(|l| l.starts_with(name)).unwrap();
        BigUint::parse_bytes(&line.as_bytes()[name.len()..], 16).unwrap()
    };
    let (n, d) = (field("n="), field("d="));
    let digest = {
        use sha2::Digest;
        sha2::Sha512::digest(data).to_vec()
    };
    let mut em = vec![0x00, 0x01];
    em.resize(512 - digest.len() - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&digest);
    let s = BigUint::from_bytes_be(&em).modpow(&d, &n).to_bytes_be();
    let mut out = vec![0u8; 512 - s.len()];
    out.extend_from_slice(&s);
    out
}

fn su3_file(signer: &str, file_type: u8, content_type: u8, content: &[u8]) -> Vec<u8> {
    su3::build(
        SigType::RsaSha512_4096,
        "1767225600",
        signer,
        file_type,
        content_type,
        content,
        &sign,
    )
}

fn signers() -> Signers {
    let mut s = Signers::default();
    s.add(SignerCert::from_pem(SIGNER_CRT, "signer.crt").unwrap());
    s.add(SignerCert::from_pem(OTHER_CRT, "other.crt").unwrap());
    s
}

#[test]
fn valid_su3_verifies_and_yields_the_router_infos() {
    let ris = router_infos();
    let file = su3_file("test-signer@mail.i2p", 0, 3, &zip_of(&ris));
    let got = bundle::router_infos_from_bundle(&file, &signers(), NOW).unwrap();
    assert_eq!(got, ris);
    // through a file on disk too, and a bare zip is accepted as well
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("i2pseeds.su3");
    std::fs::write(&p, &file).unwrap();
    assert_eq!(reseed::from_file(&p, &signers(), NOW).unwrap(), ris);
    let z = dir.path().join("seeds.zip");
    std::fs::write(&z, zip_of(&ris)).unwrap();
    assert_eq!(
        reseed::from_file(&z, &Signers::default(), NOW).unwrap(),
        ris
    );
}

#[test]
fn bad_signature_and_wrong_signers_are_refused_clearly() {
    let ris = router_infos();
    let good = su3_file("test-signer@mail.i2p", 0, 3, &zip_of(&ris));

    // one flipped content byte
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    let e = bundle::router_infos_from_bundle(&bad, &signers(), NOW).unwrap_err();
    assert!(matches!(e, ReseedError::BadSignature { .. }));
    assert!(e.to_string().starts_with("bad signature"), "{e}");
    assert!(e.to_string().contains("test-signer@mail.i2p"), "{e}");

    // signed with the test key but claiming to be the other signer
    let forged = su3_file("other-signer@mail.i2p", 0, 3, &zip_of(&ris));
    let e = bundle::router_infos_from_bundle(&forged, &signers(), NOW).unwrap_err();
    assert!(e.to_string().starts_with("bad signature"), "{e}");
    assert!(e.to_string().contains("other-signer@mail.i2p"), "{e}");

    // a signer we have no certificate for
    let unknown = su3_file("stranger@mail.i2p", 0, 3, &zip_of(&ris));
    let e = bundle::router_infos_from_bundle(&unknown, &signers(), NOW).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown signer stranger@mail.i2p: no trusted reseed certificate has this ID"
    );

    // right signer, wrong kind of file
    let e = bundle::router_infos_from_bundle(
        &su3_file("test-signer@mail.i2p", 1, 3, b"<xml/>"),
        &signers(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "wrong file type: the SU3 holds xml, a reseed must hold a zip"
    );
    let e = bundle::router_infos_from_bundle(
        &su3_file("test-signer@mail.i2p", 0, 1, &zip_of(&ris)),
        &signers(),
        NOW,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("wrong content type"), "{e}");

    // the signer's certificate outside its validity (2020-2120)
    let e = bundle::router_infos_from_bundle(&good, &signers(), Date::from_secs(1_000_000_000))
        .unwrap_err();
    assert!(e.to_string().contains("is not valid now"), "{e}");

    // a zip with no RouterInfo in it
    let e = bundle::router_infos_from_bundle(
        &zip_of(&[("README".into(), b"hi".to_vec())]),
        &signers(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "no RouterInfos in the bundle");
    // garbage
    let e = bundle::router_infos_from_bundle(b"not a zip at all", &signers(), NOW).unwrap_err();
    assert!(e.to_string().starts_with("bad zip"), "{e}");
}

#[test]
fn signer_certificate_is_read() {
    let c = SignerCert::from_pem(SIGNER_CRT, "signer.crt").unwrap();
    assert_eq!(c.id, "test-signer@mail.i2p");
    assert_eq!(c.sig_type, SigType::RsaSha512_4096);
    assert_eq!(c.not_before, Date::from_secs(1_577_836_800));
}

/// A one-shot HTTPS server on 127.0.0.1 answering every request with `body`.
async fn https_server(body: Vec<u8>) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let certs = vec![CertificateDer::from_pem_slice(SERVER_CRT).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&req);
                let ok = head.starts_with("GET /i2pseeds.su3?netid=99 ");
                let status = if ok { "200 OK" } else { "404 Not Found" };
                let body: &[u8] = if ok { &body } else { b"" };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.write_all(body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test]
async fn https_reseed_from_a_local_server() {
    let ris = router_infos();
    let file = su3_file("test-signer@mail.i2p", 0, 3, &zip_of(&ris));
    let port = https_server(file).await;
    let mut sources = ReseedSources {
        urls: vec![format!("https://127.0.0.1:{port}/")],
        signers: signers(),
        extra_ca: Some(CA_CRT.to_vec()),
        net_id: 99,
        timeout: std::time::Duration::from_secs(10),
        file: None,
    };
    assert_eq!(reseed::reseed(&sources, NOW).await.unwrap(), ris);

    // without our test CA the server is not trusted
    sources.extra_ca = None;
    let errs = reseed::reseed(&sources, NOW).await.unwrap_err();
    assert_eq!(errs.len(), 1);
    let msg = errs[0].1.to_string();
    assert!(msg.contains("certificate"), "{msg}");

    // a server with a bad bundle: the error names the URL and says why
    let mut forged = su3_file("test-signer@mail.i2p", 0, 3, &zip_of(&ris));
    let n = forged.len();
    forged[n - 1] ^= 0x55;
    let port = https_server(forged).await;
    sources.extra_ca = Some(CA_CRT.to_vec());
    sources.urls = vec![format!("https://127.0.0.1:{port}/")];
    let errs = reseed::reseed(&sources, NOW).await.unwrap_err();
    assert!(errs[0].0.contains(&port.to_string()));
    assert!(
        errs[0].1.to_string().starts_with("bad signature"),
        "{}",
        errs[0].1
    );
}

#[test]
fn sources_per_network() {
    let main = ReseedSources::for_network(2, None, None, None, None).unwrap();
    assert_eq!(main.urls.len(), reseed::MAINNET_URLS.len());
    assert!(main.signers.get("orignal@mail.i2p").is_some());
    let test = ReseedSources::for_network(99, None, None, None, None).unwrap();
    assert!(test.urls.is_empty());
    assert!(test.signers.is_empty());
    assert!(test.is_empty());
}

#[test]
fn reseed_command_adds_verified_router_infos_to_the_netdb() {
    let tmp = tempfile::tempdir().unwrap();
    let signers = tmp.path().join("signers");
    std::fs::create_dir(&signers).unwrap();
    std::fs::write(signers.join("test-signer_at_mail.i2p.crt"), SIGNER_CRT).unwrap();
    let ris = router_infos();
    let run = |file: &[u8]| {
        let su3 = tmp.path().join("i2pseeds.su3");
        std::fs::write(&su3, file).unwrap();
        let conf = tmp.path().join("config.yaml");
        std::fs::write(
            &conf,
            format!(
                "network:\n  net_id: 17\nreseed:\n  signers_dir: {}\n",
                signers.display()
            ),
        )
        .unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_i2p-router"))
            .arg("--data-dir")
            .arg(tmp.path().join("data"))
            .arg("--config")
            .arg(&conf)
            .arg("--reseed-file")
            .arg(&su3)
            .arg("reseed")
            .output()
            .unwrap()
    };
    let out = run(&su3_file("test-signer@mail.i2p", 0, 3, &zip_of(&ris)));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("reseed: 3 RouterInfos added"),
        "{stdout}"
    );
    let dir = i2p_router::netdb::storage::NetDbDir::open(&tmp.path().join("data")).unwrap();
    assert_eq!(dir.list().unwrap().len(), 3);

    let out = run(&su3_file("stranger@mail.i2p", 0, 3, &zip_of(&ris)));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown signer stranger@mail.i2p"),
        "{stderr}"
    );
}
