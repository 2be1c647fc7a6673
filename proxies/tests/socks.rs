//! The SOCKS proxy over the in-memory I2P: SOCKS5 by name, SOCKS4a, virtual IPs mapped back to
//! names, and every refusal with its reply code (non-I2P targets, unknown names, unreachable
//! destinations, bad credentials, unsupported commands).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use i2p_client::mem::MemNetwork;
use i2p_client::{DestinationSpec, LocalDestination};
use i2p_proxies::socks::{SocksConfig, serve};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Net {
    proxy: SocketAddr,
    server: Arc<dyn LocalDestination>,
}

async fn setup(config: SocksConfig) -> Net {
    let net = MemNetwork::new();
    let client = net.client();
    let server = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    net.add_name("echo.i2p", server.destination());
    let proxy_dest = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    // an echo server that says which port it was reached on
    let s = server.clone();
    tokio::spawn(async move {
        while let Ok(mut st) = s.accept().await {
            tokio::spawn(async move {
                let hello = format!("port {}\n", st.local_port);
                st.write_all(hello.as_bytes()).await.unwrap();
                let mut buf = [0u8; 1024];
                while let Ok(n) = st.read(&mut buf).await {
                    if n == 0 || st.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let mut virt: HashMap<IpAddr, String> = HashMap::new();
    virt.insert(IpAddr::V4(Ipv4Addr::new(10, 191, 0, 7)), "echo.i2p".into());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        Arc::new(config),
        proxy_dest,
        Arc::new(virt),
    ));
    Net { proxy, server }
}

async fn socks5(
    proxy: SocketAddr,
    auth: Option<(&str, &str)>,
    addr: &[u8],
    port: u16,
) -> (TcpStream, u8) {
    let mut c = TcpStream::connect(proxy).await.unwrap();
    let method = if auth.is_some() { 2 } else { 0 };
    c.write_all(&[5, 1, method]).await.unwrap();
    let mut m = [0u8; 2];
    c.read_exact(&mut m).await.unwrap();
    if m[1] == 0xff {
        return (c, 0xff);
    }
    if let Some((u, p)) = auth {
        let mut a = vec![1, u.len() as u8];
        a.extend_from_slice(u.as_bytes());
        a.push(p.len() as u8);
        a.extend_from_slice(p.as_bytes());
        c.write_all(&a).await.unwrap();
        let mut r = [0u8; 2];
        c.read_exact(&mut r).await.unwrap();
        if r[1] != 0 {
            return (c, 0xfe);
        }
    }
    let mut req = vec![5, 1, 0];
    req.extend_from_slice(addr);
    req.extend_from_slice(&port.to_be_bytes());
    c.write_all(&req).await.unwrap();
    let mut r = [0u8; 10];
    c.read_exact(&mut r).await.unwrap();
    (c, r[1])
}

fn name(n: &str) -> Vec<u8> {
    let mut v = vec![3, n.len() as u8];
    v.extend_from_slice(n.as_bytes());
    v
}

async fn expect_echo(c: &mut TcpStream, port: u16) {
    let mut line = vec![0u8; format!("port {port}\n").len()];
    c.read_exact(&mut line).await.unwrap();
    assert_eq!(String::from_utf8(line).unwrap(), format!("port {port}\n"));
    c.write_all(b"ping").await.unwrap();
    let mut b = [0u8; 4];
    c.read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"ping");
}

#[tokio::test]
async fn socks5_names_b32_and_virtual_ips() {
    let net = setup(SocksConfig::default()).await;
    let (mut c, code) = socks5(net.proxy, None, &name("echo.i2p"), 80).await;
    assert_eq!(code, 0);
    expect_echo(&mut c, 80).await;
    let (mut c, code) = socks5(net.proxy, None, &name(&net.server.b32()), 8080).await;
    assert_eq!(code, 0);
    expect_echo(&mut c, 8080).await;
    let (mut c, code) = socks5(net.proxy, None, &[1, 10, 191, 0, 7], 81).await;
    assert_eq!(code, 0, "virtual IP maps back to echo.i2p");
    expect_echo(&mut c, 81).await;
}

#[tokio::test]
async fn socks4a_by_name() {
    let net = setup(SocksConfig::default()).await;
    let mut c = TcpStream::connect(net.proxy).await.unwrap();
    let mut req = vec![4, 1, 0, 80, 0, 0, 0, 1];
    req.extend_from_slice(b"\0echo.i2p\0");
    c.write_all(&req).await.unwrap();
    let mut r = [0u8; 8];
    c.read_exact(&mut r).await.unwrap();
    assert_eq!(r[1], 90);
    expect_echo(&mut c, 80).await;
}

#[tokio::test]
async fn refusals_have_the_right_codes() {
    let net = setup(SocksConfig::default()).await;
    // clearnet names and addresses outside the virtual range: not allowed by ruleset
    assert_eq!(socks5(net.proxy, None, &name("example.com"), 80).await.1, 2);
    assert_eq!(
        socks5(net.proxy, None, &[1, 93, 184, 216, 34], 80).await.1,
        2
    );
    // unknown .i2p name and an unreachable b32: host unreachable
    assert_eq!(socks5(net.proxy, None, &name("nobody.i2p"), 80).await.1, 4);
    let absent = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p";
    assert_eq!(socks5(net.proxy, None, &name(absent), 80).await.1, 4);
    // BIND is not supported
    let mut c = TcpStream::connect(net.proxy).await.unwrap();
    c.write_all(&[5, 1, 0]).await.unwrap();
    let mut m = [0u8; 2];
    c.read_exact(&mut m).await.unwrap();
    c.write_all(&[5, 2, 0, 1, 1, 2, 3, 4, 0, 80]).await.unwrap();
    let mut r = [0u8; 10];
    c.read_exact(&mut r).await.unwrap();
    assert_eq!(r[1], 7);
    // garbage: the connection is closed without a crash, and the proxy keeps serving
    let mut g = TcpStream::connect(net.proxy).await.unwrap();
    g.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut sink = Vec::new();
    let _ = g.read_to_end(&mut sink).await;
    let (mut c, code) = socks5(net.proxy, None, &name("echo.i2p"), 80).await;
    assert_eq!(code, 0);
    expect_echo(&mut c, 80).await;
}

#[tokio::test]
async fn username_password_auth() {
    let cfg = SocksConfig {
        auth: Some(("user".into(), "secret".into())),
        outproxy: None,
    };
    let net = setup(cfg).await;
    assert_eq!(
        socks5(net.proxy, None, &name("echo.i2p"), 80).await.1,
        0xff,
        "no-auth is not offered"
    );
    assert_eq!(
        socks5(net.proxy, Some(("user", "wrong")), &name("echo.i2p"), 80)
            .await
            .1,
        0xfe
    );
    let (mut c, code) = socks5(net.proxy, Some(("user", "secret")), &name("echo.i2p"), 80).await;
    assert_eq!(code, 0);
    expect_echo(&mut c, 80).await;
}
