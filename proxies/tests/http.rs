//! The HTTP proxy over the in-memory I2P: forwarding with scrubbed headers, keep-alive, error
//! pages with the right status, no clearnet without an outproxy, 400 for garbage while serving
//! on, the address-helper confirmation flow, CONNECT and request bodies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use i2p_client::mem::MemNetwork;
use i2p_client::{DestinationSpec, LocalDestination};
use i2p_proxies::http::pages::JumpService;
use i2p_proxies::http::{HttpProxy, HttpProxyConfig, NameSaver};
use i2p_wire::Destination;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Saver {
    net: MemNetwork,
    saved: Mutex<Vec<String>>,
}

impl NameSaver for Saver {
    fn save_local(&self, name: &str, dest: &Destination) -> Result<(), String> {
        self.net.add_name(name, dest);
        self.saved.lock().unwrap().push(name.to_string());
        Ok(())
    }
}

struct Setup {
    proxy: SocketAddr,
    server: Arc<dyn LocalDestination>,
    saver: Arc<Saver>,
}

/// An I2P "web server": answers every request with the request head it received.
async fn web_server(dest: Arc<dyn LocalDestination>) {
    while let Ok(mut s) = dest.accept().await {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let mut body = buf[head_end..].to_vec();
            while body.len() < len {
                let n = s.read(&mut chunk).await.unwrap();
                body.extend_from_slice(&chunk[..n]);
            }
            let reply = format!("{head}BODY:{}", String::from_utf8_lossy(&body));
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        });
    }
}

async fn setup() -> Setup {
    let net = MemNetwork::new();
    let client = net.client();
    let server = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    net.add_name("echo.i2p", server.destination());
    tokio::spawn(web_server(server.clone()));
    let proxy_dest = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    let saver = Arc::new(Saver {
        net: net.clone(),
        saved: Mutex::new(Vec::new()),
    });
    let config = HttpProxyConfig {
        jump_services: vec![JumpService {
            name: "stats".into(),
            url_prefix: "http://stats.i2p/cgi-bin/jump.cgi?a=".into(),
        }],
        ..Default::default()
    };
    let proxy = HttpProxy::new(config, client, proxy_dest, saver.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(proxy.serve(listener));
    Setup {
        proxy: addr,
        server,
        saver,
    }
}

/// Read one HTTP/1.1 response (Content-Length framed) from `c`.
async fn response(c: &mut TcpStream) -> (u16, String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..p]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            while buf.len() < p + 4 + len {
                let n = c.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed mid-body");
                buf.extend_from_slice(&chunk[..n]);
            }
            let status = head[9..12].parse().unwrap();
            let body = String::from_utf8_lossy(&buf[p + 4..p + 4 + len]).to_string();
            return (status, head, body);
        }
        let n = c.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn get(proxy: SocketAddr, url: &str) -> (u16, String, String) {
    let mut c = TcpStream::connect(proxy).await.unwrap();
    c.write_all(format!("GET {url} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    response(&mut c).await
}

#[tokio::test]
async fn forwards_with_scrubbed_headers_and_keeps_alive() {
    let s = setup().await;
    let mut c = TcpStream::connect(s.proxy).await.unwrap();
    for path in ["/first", "/second"] {
        let req = format!(
            "GET http://echo.i2p{path}?q=1 HTTP/1.1\r\nHost: echo.i2p\r\nUser-Agent: Mozilla/5.0 secret-browser\r\n\
             X-Forwarded-For: 192.168.0.9\r\nProxy-Connection: keep-alive\r\nAccept-Language: de\r\nCookie: c=1\r\n\r\n"
        );
        c.write_all(req.as_bytes()).await.unwrap();
        let (status, _, body) = response(&mut c).await;
        assert_eq!(status, 200);
        assert!(
            body.starts_with(&format!("GET {path}?q=1 HTTP/1.1\r\n")),
            "{body}"
        );
        let lower = body.to_ascii_lowercase();
        assert!(lower.contains("host: echo.i2p\r\n"));
        assert!(lower.contains("user-agent: myob/6.66 (an/on)"));
        assert!(lower.contains("cookie: c=1"));
        for leaked in [
            "secret-browser",
            "192.168.0.9",
            "proxy-connection",
            "accept-language",
        ] {
            assert!(!lower.contains(leaked), "{leaked} leaked: {body}");
        }
    }
}

#[tokio::test]
async fn error_pages_and_no_clearnet() {
    let s = setup().await;
    let (status, _, body) = get(s.proxy, "http://nobody.i2p/").await;
    assert_eq!(status, 404);
    assert!(body.contains("jump.cgi?a=nobody.i2p"));
    let (status, _, body) = get(
        s.proxy,
        "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p/",
    )
    .await;
    assert_eq!(status, 504, "{body}");
    let (status, _, body) = get(s.proxy, "http://example.com/").await;
    assert_eq!(status, 403);
    assert!(body.contains("no outproxy"));
    let mut c = TcpStream::connect(s.proxy).await.unwrap();
    c.write_all(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(response(&mut c).await.0, 403);
    let (status, _, _) = get(s.proxy, "https://echo.i2p/").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn garbage_gets_400_and_the_proxy_keeps_serving() {
    let s = setup().await;
    let mut c = TcpStream::connect(s.proxy).await.unwrap();
    c.write_all(b"\x16\x03\x01 this is not http\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out).await;
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(get(s.proxy, "http://echo.i2p/").await.0, 200);
}

#[tokio::test]
async fn address_helper_confirm_save_and_load() {
    let s = setup().await;
    let b64 = s.server.destination().to_base64();
    let (status, _, page) = get(
        s.proxy,
        &format!("http://newname.i2p/?i2paddresshelper={b64}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains(&s.server.b32()), "the page shows the b32");
    // the "save" link, HTML-escaped in the page
    let start = page.find("http://proxy.i2p/addresshelper?").unwrap();
    let link = page[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(link.ends_with("save=1"));
    let (status, head, _) = get(s.proxy, &link).await;
    assert_eq!(status, 302);
    assert!(
        head.to_ascii_lowercase()
            .contains("location: http://newname.i2p/"),
        "{head}"
    );
    assert_eq!(*s.saver.saved.lock().unwrap(), ["newname.i2p"]);
    // a used link does not work twice
    assert_eq!(get(s.proxy, &link).await.0, 403);
    // and the name now loads the site
    let (status, _, body) = get(s.proxy, "http://newname.i2p/").await;
    assert_eq!(status, 200);
    assert!(body.to_ascii_lowercase().contains("host: newname.i2p"));
    // a helper for a known name with the same destination just redirects
    let (status, _, _) = get(
        s.proxy,
        &format!("http://echo.i2p/x?i2paddresshelper={b64}"),
    )
    .await;
    assert_eq!(status, 302);
    // a garbage helper is a 400
    assert_eq!(
        get(s.proxy, "http://other.i2p/?i2paddresshelper=notakey")
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn connect_and_post_bodies() {
    let s = setup().await;
    let mut c = TcpStream::connect(s.proxy).await.unwrap();
    c.write_all(b"POST http://echo.i2p/form HTTP/1.1\r\nHost: echo.i2p\r\nContent-Length: 11\r\n\r\nhello=world").await.unwrap();
    let (status, _, body) = response(&mut c).await;
    assert_eq!(status, 200);
    assert!(body.ends_with("BODY:hello=world"), "{body}");

    let mut c = TcpStream::connect(s.proxy).await.unwrap();
    c.write_all(b"CONNECT echo.i2p:80 HTTP/1.1\r\nHost: echo.i2p:80\r\n\r\n")
        .await
        .unwrap();
    // read the proxy's response head byte by byte: everything after it belongs to the tunnel
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        c.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    c.write_all(b"GET /tunnelled HTTP/1.1\r\nHost: echo.i2p\r\n\r\n")
        .await
        .unwrap();
    let (status, _, body) = response(&mut c).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("GET /tunnelled HTTP/1.1"));
}
