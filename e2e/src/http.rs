//! A minimal blocking HTTP/1.1 client (for i2pd's web console and HTTP proxy) and a tiny static
//! file server (the eepsite backend). Both must run on a thread inside the test namespace: call
//! the client from [`crate::Netns::run`], and [`FileServer::start`] enters the namespace itself.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::netns::Netns;

/// A response, body already de-chunked.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header lines as (name, value).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET target` over a fresh connection to `addr`. For a proxy request pass the absolute URL as
/// `target` and the origin's host as `host`. The whole exchange is bounded by `timeout`.
pub fn get(addr: SocketAddr, target: &str, host: &str, timeout: Duration) -> Result<HttpResponse> {
    let url = format!("{addr}{target}");
    let fail = |why: String| Error::Http {
        url: url.clone(),
        why,
    };
    let deadline = Instant::now() + timeout;
    let mut s =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| fail(format!("connect: {e}")))?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| fail(e.to_string()))?;
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: i2p-e2e\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .map_err(|e| fail(format!("send: {e}")))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(fail(format!("no complete response within {timeout:?}")));
        }
        s.set_read_timeout(Some(left))
            .map_err(|e| fail(e.to_string()))?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(format!("read: {e}"))),
        }
        if let Some(done) = complete_response(&raw) {
            raw.truncate(done);
            break;
        }
    }
    parse_response(&raw).map_err(fail)
}

/// If `raw` holds a full response with a Content-Length, its total length.
fn complete_response(raw: &[u8]) -> Option<usize> {
    let head_end = find(raw, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let len = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    })?;
    (raw.len() >= head_end + len).then_some(head_end + len)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses a complete HTTP/1.x response (status line, headers, body with optional chunking).
pub fn parse_response(raw: &[u8]) -> std::result::Result<HttpResponse, String> {
    let head_end = find(raw, b"\r\n\r\n").ok_or("response has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[head_end + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() < len {
            return Err(format!("body has {} of {len} bytes", body.len()));
        }
        body.truncate(len);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = find(data, b"\r\n").ok_or("chunk size line missing")?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| "bad chunk size")?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or("truncated chunk end")?;
    }
}

/// A static file server on a thread inside the namespace (the eepsite backend). GET only;
/// paths are limited to `[A-Za-z0-9._-/]` without `..`; `/` serves `index.html`.
#[derive(Debug)]
pub struct FileServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl FileServer {
    /// Binds `addr` inside `netns` and serves files from `root` until dropped.
    pub fn start(netns: &Netns, addr: SocketAddr, root: PathBuf) -> Result<FileServer> {
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let (tx, rx) = std::sync::mpsc::channel::<Result<()>>();
        let (ns_path, inode) = (netns.path(), netns.inode());
        let (stop2, served2) = (stop.clone(), served.clone());
        let thread = std::thread::Builder::new()
            .name("eepsite-backend".into())
            .spawn(move || {
                let listener = Netns::enter_current_thread(&ns_path, inode).and_then(|()| {
                    let l = TcpListener::bind(addr)
                        .map_err(|e| Error::io(format!("bind eepsite backend {addr}"), e))?;
                    l.set_nonblocking(true)
                        .map_err(|e| Error::io("set_nonblocking", e))?;
                    Ok(l)
                });
                let listener = match listener {
                    Ok(l) => {
                        let _ = tx.send(Ok(()));
                        l
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                // wait for a connection with poll(2), waking every 100 ms to see `stop`: a
                // sleep between accept attempts would add up to its length to every request's
                // latency (the testnet benchmark measures that latency)
                while !stop2.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            let _ = serve_one(s, &root, &served2);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            use std::os::fd::AsFd;
                            let mut fds = [nix::poll::PollFd::new(
                                listener.as_fd(),
                                nix::poll::PollFlags::POLLIN,
                            )];
                            let _ = nix::poll::poll(&mut fds, 100u8);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
            .map_err(|e| Error::io("spawn eepsite backend thread", e))?;
        let started = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| Err(Error::ThreadPanicked(netns.name().to_owned())));
        let server = FileServer {
            addr,
            stop,
            served,
            thread: Some(thread),
        };
        started.map(|()| server)
    }

    /// The address it listens on (inside the namespace).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests it has received.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers one request; `served` counts requests read (before the answer is written, so a
/// client that has its answer always sees the count include it).
fn serve_one(mut s: TcpStream, root: &Path, served: &AtomicU64) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while find(&head, b"\r\n\r\n").is_none() && head.len() < 16384 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    served.fetch_add(1, Ordering::SeqCst);
    let text = String::from_utf8_lossy(&head);
    let mut words = text.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let safe = path.starts_with('/')
        && !path.contains("..")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    let file = if path == "/" {
        "index.html"
    } else {
        path.trim_start_matches('/')
    };
    let body = if method == "GET" && safe {
        std::fs::read(root.join(file)).ok()
    } else {
        None
    };
    let (status, body) = match body {
        Some(b) => ("200 OK", b),
        None => ("404 Not Found", b"not found\n".to_vec()),
    };
    // an entity tag from the content, so clients can revalidate (If-None-Match -> 304)
    let etag = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(&body);
        format!(
            "\"{}\"",
            d.iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    };
    let not_modified = status.starts_with("200")
        && text.lines().any(|l| {
            l.split_once(':').is_some_and(|(n, v)| {
                n.trim().eq_ignore_ascii_case("if-none-match") && v.trim() == etag
            })
        });
    if not_modified {
        let head =
            format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n");
        s.write_all(head.as_bytes())?;
        return s.flush();
    }
    // a browser must render pages, not download them
    let content_type = if status.starts_with("200") && file.ends_with(".html") {
        "text/html; charset=utf-8"
    } else if status.starts_with("200") {
        "application/octet-stream"
    } else {
        "text/plain"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: {content_type}\r\n\
         ETag: {etag}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(&body)?;
    s.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_chunked_bodies() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcXYZ").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"abc"[..]));
        let r = parse_response(
            b"HTTP/1.1 500 Err\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (500, &b"abcde"[..]));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
        assert!(parse_response(b"garbage").is_err());
        assert_eq!(
            complete_response(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nab"),
            Some(40)
        );
    }
}
