//! Downloading an SU3 reseed file over HTTPS (rustls; the webpki roots plus an optional extra
//! CA). Only `https://` URLs are used: no fallback to plain HTTP, which would let anyone on
//! the path boot us into a network of their choice (docs/overview/network-database.md,
//! "Bootstrap Attacks").

use super::{ReseedError, ReseedSources};

/// Largest reseed file we download (real ones are about 100 KB).
pub const MAX_SU3_LEN: usize = 4 * 1024 * 1024;

/// The request URL for a reseed server: `<base>/i2pseeds.su3?netid=<net>` (a URL that already
/// names an `.su3` file is used as is, with the netid added).
pub fn su3_url(base: &str, net_id: u8) -> String {
    let mut u = base.to_string();
    if !u.ends_with(".su3") {
        if !u.ends_with('/') {
            u.push('/');
        }
        u.push_str("i2pseeds.su3");
    }
    u.push_str(if u.contains('?') { "&" } else { "?" });
    u.push_str(&format!("netid={net_id}"));
    u
}

/// Fetch the SU3 file of one reseed server.
pub async fn fetch_su3(base: &str, sources: &ReseedSources) -> Result<Vec<u8>, ReseedError> {
    let url = su3_url(base, sources.net_id);
    let err = |reason: String| ReseedError::Http {
        url: url.clone(),
        reason,
    };
    if !url.starts_with("https://") {
        return Err(err("only https:// reseed URLs are used".into()));
    }
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .https_only(true)
        .timeout(sources.timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        // the user agent other routers send, so reseed servers cannot tell us apart
        .user_agent("Wget/1.11.4");
    if let Some(ca) = &sources.extra_ca {
        let cert = reqwest::Certificate::from_pem(ca)
            .map_err(|e| err(format!("the extra CA certificate is not PEM: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    let client = builder
        .build()
        .map_err(|e| err(format!("cannot set up HTTPS: {e}")))?;
    let mut resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| err(error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(err(format!("HTTP status {}", resp.status())));
    }
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_SU3_LEN as u64)
    {
        return Err(err(format!("the file is larger than {MAX_SU3_LEN} bytes")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| err(error_chain(&e)))? {
        if body.len() + chunk.len() > MAX_SU3_LEN {
            return Err(err(format!("the file is larger than {MAX_SU3_LEN} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error with its causes (reqwest hides the TLS reason in the source chain).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            su3_url("https://reseed.example/", 2),
            "https://reseed.example/i2pseeds.su3?netid=2"
        );
        assert_eq!(
            su3_url("https://reseed.example:8443", 99),
            "https://reseed.example:8443/i2pseeds.su3?netid=99"
        );
        assert_eq!(
            su3_url("https://x.example/seeds/file.su3", 16),
            "https://x.example/seeds/file.su3?netid=16"
        );
    }
}
