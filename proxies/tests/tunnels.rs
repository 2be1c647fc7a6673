//! Server and client tunnels over the in-memory I2P with real TCP backends: the http server
//! tunnel adds the X-I2P-Dest* headers of the real client (dropping spoofed ones) and rewrites
//! Host; a client tunnel on a local port reaches a destination; access lists refuse.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use i2p_client::mem::MemNetwork;
use i2p_client::{ConnectOptions, DestinationSpec, Target};
use i2p_proxies::tunnels::{
    AccessList, ClientTunnel, ServerKind, ServerTunnel, run_client, run_server,
};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP backend that answers each connection with everything it received until the blank line.
async fn head_echo_backend() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = c.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                c.write_all(&buf).await.unwrap();
            });
        }
    });
    addr
}

#[tokio::test]
async fn http_server_tunnel_adds_real_headers_and_drops_spoofed_ones() {
    let net = MemNetwork::new();
    let client = net.client();
    let site = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    let visitor = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    let backend = head_echo_backend().await;
    let t = ServerTunnel {
        name: "site".into(),
        kind: ServerKind::Http {
            host_header: "backend.local".into(),
        },
        target: backend,
        in_port: 0,
        access: AccessList::Everyone,
    };
    tokio::spawn(run_server(Arc::new(t), site.clone()));
    let mut s = visitor
        .connect(
            Target::Hash(site.destination().hash()),
            ConnectOptions::default(),
        )
        .await
        .unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: site.i2p\r\nX-I2P-DestB32: forged.b32.i2p\r\nAccept: */*\r\n\r\n",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    let got = String::from_utf8(got).unwrap();
    assert!(
        got.starts_with("GET / HTTP/1.1\r\nHost: backend.local\r\n"),
        "{got}"
    );
    assert!(got.contains(&format!("X-I2P-DestB32: {}\r\n", visitor.b32())));
    assert!(got.contains(&format!(
        "X-I2P-DestB64: {}\r\n",
        visitor.destination().to_base64()
    )));
    assert!(got.contains("X-I2P-DestHash: "));
    assert!(!got.contains("forged"));
    assert!(got.contains("Accept: */*"));
}

#[tokio::test]
async fn client_tunnel_reaches_a_plain_server_tunnel_and_access_lists_refuse() {
    let net = MemNetwork::new();
    let client = net.client();
    let site = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    net.add_name("site.i2p", site.destination());
    let backend = head_echo_backend().await;
    let plain = ServerTunnel {
        name: "plain".into(),
        kind: ServerKind::Plain,
        target: backend,
        in_port: 0,
        access: AccessList::Everyone,
    };
    tokio::spawn(run_server(Arc::new(plain), site.clone()));

    let local = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let ct = ClientTunnel {
        name: "to-site".into(),
        destination: "site.i2p".into(),
        port: 80,
    };
    tokio::spawn(run_client(Arc::new(ct), l, local.clone()));
    let mut c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    c.write_all(b"hello through a client tunnel\r\n\r\n")
        .await
        .unwrap();
    let mut back = vec![0u8; 33];
    c.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"hello through a client tunnel\r\n\r\n");

    // a server tunnel that denies `local`: its streams are dropped unanswered
    let guarded = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    let backend = head_echo_backend().await;
    let deny = AccessList::Deny(HashSet::from([local.destination().hash()]));
    let t = ServerTunnel {
        name: "guarded".into(),
        kind: ServerKind::Plain,
        target: backend,
        in_port: 0,
        access: deny,
    };
    tokio::spawn(run_server(Arc::new(t), guarded.clone()));
    let mut s = local
        .connect(
            Target::Hash(guarded.destination().hash()),
            ConnectOptions::default(),
        )
        .await
        .unwrap();
    let _ = s.write_all(b"x\r\n\r\n").await;
    let mut out = Vec::new();
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "denied client got data back");
}
