//! The HTTP proxy (hyper 1): browsers send absolute-form requests and `CONNECT`; `.i2p` and
//! `.b32.i2p` hosts are reached over a new I2P stream per request (the server is asked to close
//! it, as i2pd does), while the browser's connection to the proxy stays alive. Clearnet URLs go
//! to an outproxy destination if one is configured, and otherwise get an error page: nothing
//! leaves the router for them. The proxy's own pages live under `http://proxy.i2p/`.

pub mod pages;
pub mod plan;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use i2p_client::{Client, ClientError, ConnectOptions, I2pStream, LocalDestination, Target};
use i2p_wire::Destination;
use pages::JumpService;
use plan::{I2pRequest, Plan};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

type Body = BoxBody<Bytes, hyper::Error>;

/// How long an address-helper confirmation link stays valid.
const NONCE_LIFETIME: Duration = Duration::from_secs(600);

/// Saving names the user confirmed (the router implements this with its address book).
pub trait NameSaver: Send + Sync {
    /// Add `name → dest` to the local (user) address book.
    fn save_local(&self, name: &str, dest: &Destination) -> Result<(), String>;
}

/// HTTP proxy settings.
#[derive(Clone, Debug)]
pub struct HttpProxyConfig {
    pub jump_services: Vec<JumpService>,
    /// An I2P destination (name or b32) running an HTTP proxy for clearnet URLs; off by default.
    pub outproxy: Option<String>,
    /// Give up on opening a stream after this long.
    pub connect_timeout: Duration,
}

impl Default for HttpProxyConfig {
    fn default() -> Self {
        HttpProxyConfig {
            jump_services: Vec::new(),
            outproxy: None,
            connect_timeout: Duration::from_secs(60),
        }
    }
}

/// The proxy's state shared by all connections.
pub struct HttpProxy {
    config: HttpProxyConfig,
    client: Arc<dyn Client>,
    dest: Arc<dyn LocalDestination>,
    names: Arc<dyn NameSaver>,
    nonces: Mutex<HashMap<String, Instant>>,
    /// names the user accepted "without saving", for this proxy's lifetime
    session_names: Mutex<HashMap<String, Destination>>,
}

impl std::fmt::Debug for HttpProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProxy")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn full(status: StatusCode, html: String) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(html))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut().insert(
        "cache-control",
        hyper::header::HeaderValue::from_static("no-store"),
    );
    r
}

fn redirect(url: &str) -> Response<Body> {
    let mut r = full(
        StatusCode::FOUND,
        pages::page(
            "Redirect",
            &format!("<p><a href=\"{0}\">{0}</a></p>", pages::escape(url)),
        ),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(url) {
        r.headers_mut().insert("location", v);
    }
    r
}

impl HttpProxy {
    pub fn new(
        config: HttpProxyConfig,
        client: Arc<dyn Client>,
        dest: Arc<dyn LocalDestination>,
        names: Arc<dyn NameSaver>,
    ) -> Arc<HttpProxy> {
        Arc::new(HttpProxy {
            config,
            client,
            dest,
            names,
            nonces: Mutex::new(HashMap::new()),
            session_names: Mutex::new(HashMap::new()),
        })
    }

    /// Serve browsers on `listener` until it fails.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        info!(addr = %listener.local_addr()?, "HTTP proxy listening");
        loop {
            let (conn, peer) = listener.accept().await?;
            let proxy = self.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let proxy = proxy.clone();
                    async move { Ok::<_, Infallible>(proxy.handle(req).await) }
                });
                let r = hyper::server::conn::http1::Builder::new()
                    .title_case_headers(true)
                    .serve_connection(TokioIo::new(conn), svc)
                    .with_upgrades()
                    .await;
                if let Err(e) = r {
                    debug!(%peer, error = %e, "HTTP proxy connection ended");
                }
            });
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let headers: Vec<(String, Vec<u8>)> = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect();
        let target = req.uri().to_string();
        match plan::plan(req.method().as_str(), &target, &headers) {
            Err(e) => full(StatusCode::BAD_REQUEST, pages::bad_request(&e.to_string())),
            Ok(Plan::Local { path, query }) => self.local_page(&path, &query),
            Ok(Plan::Clearnet { uri, connect }) => match self.config.outproxy.clone() {
                None => {
                    warn!(uri = %uri, "HTTP proxy: refusing a clearnet request (no outproxy configured)");
                    full(StatusCode::FORBIDDEN, pages::no_outproxy(&uri))
                }
                Some(op) => self.via_outproxy(req, &op, connect).await,
            },
            Ok(Plan::Connect { host, port }) => self.connect(req, &host, port).await,
            Ok(Plan::I2p(r)) => {
                if let Some(helper) = r.helper.clone() {
                    return self.address_helper(&r, &helper).await;
                }
                self.forward(req, r).await
            }
        }
    }

    fn target_for(&self, host: &str) -> Target {
        match self
            .session_names
            .lock()
            .ok()
            .and_then(|m| m.get(host).cloned())
        {
            Some(d) => Target::Destination(d),
            None => Target::Name(host.to_string()),
        }
    }

    async fn open(&self, target: Target, port: u16) -> Result<I2pStream, ClientError> {
        let opts = ConnectOptions {
            from_port: 0,
            to_port: port,
            timeout: Some(self.config.connect_timeout),
        };
        match tokio::time::timeout(self.config.connect_timeout, self.dest.connect(target, opts))
            .await
        {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout("opening the stream".into())),
        }
    }

    fn error_page(&self, host: &str, e: &ClientError) -> Response<Body> {
        match e {
            ClientError::UnknownName(_) => full(
                StatusCode::NOT_FOUND,
                pages::unknown_host(host, &self.config.jump_services),
            ),
            ClientError::InvalidKey(d) => full(StatusCode::BAD_REQUEST, pages::bad_request(d)),
            ClientError::LeaseSetNotFound(_) => {
                full(StatusCode::GATEWAY_TIMEOUT, pages::unreachable(host))
            }
            ClientError::Timeout(_) => full(StatusCode::GATEWAY_TIMEOUT, pages::timeout(host)),
            ClientError::NotReady => full(StatusCode::SERVICE_UNAVAILABLE, pages::not_ready()),
            other => full(
                StatusCode::BAD_GATEWAY,
                pages::refused(host, &other.to_string()),
            ),
        }
    }

    async fn forward(&self, req: Request<Incoming>, r: I2pRequest) -> Response<Body> {
        let stream = match self.open(self.target_for(&r.host), r.port).await {
            Ok(s) => s,
            Err(e) => return self.error_page(&r.host, &e),
        };
        let (mut sender, conn) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(x) => x,
                Err(e) => {
                    return full(
                        StatusCode::BAD_GATEWAY,
                        pages::refused(&r.host, &e.to_string()),
                    );
                }
            };
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(error = %e, "I2P HTTP connection ended");
            }
        });
        let (parts, body) = req.into_parts();
        let mut out = Request::builder()
            .method(parts.method)
            .uri(r.path_and_query.as_str());
        for (n, v) in &r.headers {
            out = out.header(n.as_str(), v.as_slice());
        }
        let out = match out.body(body) {
            Ok(o) => o,
            Err(e) => return full(StatusCode::BAD_REQUEST, pages::bad_request(&e.to_string())),
        };
        match sender.send_request(out).await {
            Ok(resp) => strip_hop_by_hop(resp).map(|b| b.boxed()),
            Err(e) => full(
                StatusCode::BAD_GATEWAY,
                pages::refused(&r.host, &e.to_string()),
            ),
        }
    }

    async fn connect(&self, req: Request<Incoming>, host: &str, port: u16) -> Response<Body> {
        let stream = match self.open(self.target_for(host), port).await {
            Ok(s) => s,
            Err(e) => return self.error_page(host, &e),
        };
        tunnel_after_upgrade(req, stream);
        Response::new(
            Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed(),
        )
    }

    async fn via_outproxy(
        &self,
        req: Request<Incoming>,
        outproxy: &str,
        connect: bool,
    ) -> Response<Body> {
        let stream = match self.open(Target::Name(outproxy.to_string()), 80).await {
            Ok(s) => s,
            Err(e) => return self.error_page(outproxy, &e),
        };
        if connect {
            // ask the outproxy for the tunnel, then splice
            let authority = req.uri().to_string();
            let (mut sender, conn) =
                match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                    Ok(x) => x,
                    Err(e) => {
                        return full(
                            StatusCode::BAD_GATEWAY,
                            pages::refused(outproxy, &e.to_string()),
                        );
                    }
                };
            tokio::spawn(async move {
                let _ = conn.with_upgrades().await;
            });
            let up = Request::builder()
                .method("CONNECT")
                .uri(authority.as_str())
                .body(Full::new(Bytes::new()));
            let Ok(up) = up else {
                return full(
                    StatusCode::BAD_REQUEST,
                    pages::bad_request("CONNECT target"),
                );
            };
            let resp = match sender.send_request(up).await {
                Ok(r) if r.status().is_success() => r,
                Ok(r) => {
                    return full(
                        StatusCode::BAD_GATEWAY,
                        pages::refused(outproxy, r.status().as_str()),
                    );
                }
                Err(e) => {
                    return full(
                        StatusCode::BAD_GATEWAY,
                        pages::refused(outproxy, &e.to_string()),
                    );
                }
            };
            tokio::spawn(async move {
                if let (Ok(client), Ok(upstream)) = (
                    hyper::upgrade::on(req).await,
                    hyper::upgrade::on(resp).await,
                ) {
                    let _ = tokio::io::copy_bidirectional(
                        &mut TokioIo::new(client),
                        &mut TokioIo::new(upstream),
                    )
                    .await;
                }
            });
            return Response::new(
                Full::new(Bytes::new())
                    .map_err(|never| match never {})
                    .boxed(),
            );
        }
        let (mut sender, conn) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(x) => x,
                Err(e) => {
                    return full(
                        StatusCode::BAD_GATEWAY,
                        pages::refused(outproxy, &e.to_string()),
                    );
                }
            };
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let (mut parts, body) = req.into_parts();
        for h in [
            "proxy-connection",
            "proxy-authorization",
            "via",
            "from",
            "forwarded",
            "x-forwarded-for",
        ] {
            parts.headers.remove(h);
        }
        parts.headers.insert(
            "user-agent",
            hyper::header::HeaderValue::from_static(plan::USER_AGENT),
        );
        match sender.send_request(Request::from_parts(parts, body)).await {
            Ok(resp) => strip_hop_by_hop(resp).map(|b| b.boxed()),
            Err(e) => full(
                StatusCode::BAD_GATEWAY,
                pages::refused(outproxy, &e.to_string()),
            ),
        }
    }

    fn new_nonce(&self) -> String {
        let mut b = [0u8; 16];
        rand::fill(&mut b);
        let n: String = b.iter().map(|x| format!("{x:02x}")).collect();
        if let Ok(mut m) = self.nonces.lock() {
            let now = Instant::now();
            m.retain(|_, t| now.duration_since(*t) < NONCE_LIFETIME);
            m.insert(n.clone(), now);
        }
        n
    }

    fn take_nonce(&self, n: &str) -> bool {
        self.nonces
            .lock()
            .ok()
            .and_then(|mut m| m.remove(n))
            .is_some_and(|t| t.elapsed() < NONCE_LIFETIME)
    }

    async fn address_helper(&self, r: &I2pRequest, helper: &str) -> Response<Body> {
        let dest = match Destination::from_base64(helper.trim()) {
            Ok(d) => d,
            Err(e) => {
                return full(
                    StatusCode::BAD_REQUEST,
                    pages::bad_request(&format!("address helper: {e}")),
                );
            }
        };
        if r.host.ends_with(".b32.i2p") {
            return redirect(&r.url());
        }
        let session = self
            .session_names
            .lock()
            .ok()
            .and_then(|m| m.get(&r.host).map(Destination::hash));
        let known = match session {
            Some(h) => Some(h),
            None => match self.client.resolve(&r.host).await {
                Ok(res) => Some(res.hash()),
                Err(_) => None,
            },
        };
        if known == Some(dest.hash()) {
            return redirect(&r.url());
        }
        let existing = known.map(|h| i2p_wire::base32::b32_address(&h));
        let nonce = self.new_nonce();
        full(
            StatusCode::OK,
            pages::confirm_helper(
                &r.host,
                &dest.b32_address(),
                helper.trim(),
                &r.url(),
                &nonce,
                existing.as_deref(),
            ),
        )
    }

    fn local_page(&self, path: &str, query: &str) -> Response<Body> {
        if path != "/addresshelper" {
            return full(
                StatusCode::NOT_FOUND,
                pages::page("Not found", "<p>No such page on the proxy.</p>"),
            );
        }
        let params: HashMap<&str, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k, plan::percent_decode(v)))
            .collect();
        let (Some(host), Some(dest), Some(url), Some(nonce)) = (
            params.get("host"),
            params.get("dest"),
            params.get("url"),
            params.get("nonce"),
        ) else {
            return full(
                StatusCode::BAD_REQUEST,
                pages::bad_request("incomplete address helper link"),
            );
        };
        if !self.take_nonce(nonce) {
            return full(
                StatusCode::FORBIDDEN,
                pages::bad_request(
                    "this confirmation link expired or was already used; follow the original link again",
                ),
            );
        }
        let host = host.to_ascii_lowercase();
        if !host.ends_with(".i2p") || !url.starts_with("http://") {
            return full(
                StatusCode::BAD_REQUEST,
                pages::bad_request("bad host or URL"),
            );
        }
        let dest = match Destination::from_base64(dest) {
            Ok(d) => d,
            Err(e) => return full(StatusCode::BAD_REQUEST, pages::bad_request(&e.to_string())),
        };
        if params.get("save").map(String::as_str) == Some("1") {
            if let Err(e) = self.names.save_local(&host, &dest) {
                return full(
                    StatusCode::BAD_REQUEST,
                    pages::bad_request(&format!("could not save {host}: {e}")),
                );
            }
            info!(name = %host, b32 = %dest.b32_address(), "address helper: saved to the local address book");
        } else if let Ok(mut m) = self.session_names.lock() {
            m.insert(host, dest);
        }
        redirect(url)
    }
}

/// The server's connection-level headers describe its I2P stream (which we close after each
/// response), not the browser's connection to us, which hyper manages.
fn strip_hop_by_hop<B>(mut resp: Response<B>) -> Response<B> {
    for h in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "upgrade",
    ] {
        resp.headers_mut().remove(h);
    }
    resp
}

fn tunnel_after_upgrade(req: Request<Incoming>, mut stream: I2pStream) {
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(up) => {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(up), &mut stream).await;
            }
            Err(e) => debug!(error = %e, "CONNECT upgrade failed"),
        }
    });
}
