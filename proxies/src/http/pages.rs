//! The HTML pages the HTTP proxy answers with itself: errors (unknown host with jump-service
//! links, unreachable destination, timeout, refused, no outproxy, bad request) and the
//! address-helper confirmation. Every interpolated value is HTML-escaped.

use super::plan::percent_encode;

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:46em;margin:3em auto;padding:0 1em;color:#222}\
h1{font-size:1.4em;border-bottom:2px solid #7b5;padding-bottom:.3em}code,.mono{font-family:monospace;word-break:break-all}\
.box{background:#f4f6f0;border:1px solid #cdb;padding:1em;border-radius:4px}a.button{display:inline-block;margin:.5em 1em .5em 0;\
padding:.5em 1em;background:#5a3;color:#fff;text-decoration:none;border-radius:3px}a.button.alt{background:#888}\
footer{margin-top:3em;font-size:.8em;color:#777}";

/// A complete page: `title`, then `body` (already-escaped HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head>\
         <body><h1>{t}</h1>{body}<footer>i2p-rs HTTP proxy</footer></body></html>",
        t = escape(title)
    )
}

/// A jump service: a name and a URL prefix the host name is appended to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpService {
    pub name: String,
    pub url_prefix: String,
}

pub fn unknown_host(host: &str, jump: &[JumpService]) -> String {
    let mut body = format!(
        "<p>The host name <code>{}</code> is not in the address book.</p>",
        escape(host)
    );
    if jump.is_empty() {
        body.push_str("<p>Ask the site's owner for its <code>.b32.i2p</code> address or an address-helper link.</p>");
    } else {
        body.push_str("<p>A jump service may know it:</p><ul>");
        for j in jump {
            body.push_str(&format!(
                "<li><a href=\"{}{}\">{}</a></li>",
                escape(&j.url_prefix),
                percent_encode(host),
                escape(&j.name)
            ));
        }
        body.push_str("</ul>");
    }
    page("Unknown host", &body)
}

pub fn unreachable(host: &str) -> String {
    page(
        "Destination not reachable",
        &format!(
            "<p>The I2P destination <code>{}</code> could not be found in the network database: \
             it is offline, or its LeaseSet has not reached the floodfills yet.</p><p>Try again in a minute.</p>",
            escape(host)
        ),
    )
}

pub fn timeout(host: &str) -> String {
    page(
        "Timed out",
        &format!(
            "<p>The connection to <code>{}</code> timed out.</p><p>The site may be busy or down; try again.</p>",
            escape(host)
        ),
    )
}

pub fn refused(host: &str, detail: &str) -> String {
    page(
        "Connection failed",
        &format!(
            "<p>The connection to <code>{}</code> failed.</p><p class=\"mono\">{}</p>",
            escape(host),
            escape(detail)
        ),
    )
}

pub fn no_outproxy(uri: &str) -> String {
    page(
        "Not an I2P address",
        &format!(
            "<p><code>{}</code> is not an <code>.i2p</code> address, and this proxy has no outproxy configured, \
             so the request was not sent anywhere.</p>",
            escape(uri)
        ),
    )
}

pub fn bad_request(detail: &str) -> String {
    page(
        "Bad request",
        &format!(
            "<p>The proxy could not understand the request.</p><p class=\"mono\">{}</p>",
            escape(detail)
        ),
    )
}

pub fn not_ready() -> String {
    page(
        "Not ready yet",
        "<p>The router is still building its tunnels. Try again in a few seconds.</p>",
    )
}

/// Confirmation page for `host` → `dest_b64`; `existing_b32` when the name already maps elsewhere.
pub fn confirm_helper(
    host: &str,
    b32: &str,
    dest_b64: &str,
    url: &str,
    nonce: &str,
    existing_b32: Option<&str>,
) -> String {
    let link = |save: bool| {
        format!(
            "http://proxy.i2p/addresshelper?host={}&dest={}&url={}&nonce={}&save={}",
            percent_encode(host),
            percent_encode(dest_b64),
            percent_encode(url),
            percent_encode(nonce),
            u8::from(save)
        )
    };
    let warning = match existing_b32 {
        Some(old) => format!(
            "<p><strong>Warning:</strong> your address book already maps <code>{}</code> to a different destination \
             (<code>{}</code>). Someone may be trying to impersonate the site.</p>",
            escape(host),
            escape(old)
        ),
        None => String::new(),
    };
    page(
        "Address helper",
        &format!(
            "{warning}<div class=\"box\"><p>The link you followed says that <code>{h}</code> is the I2P destination</p>\
             <p class=\"mono\">{b32}</p></div>\
             <p><a class=\"button\" href=\"{save}\">Save {h} to my address book and continue</a>\
             <a class=\"button alt\" href=\"{once}\">Continue without saving</a></p>",
            h = escape(host),
            b32 = escape(b32),
            save = escape(&link(true)),
            once = escape(&link(false)),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let p = unknown_host(
            "<script>x</script>.i2p",
            &[JumpService {
                name: "j\"".into(),
                url_prefix: "http://j.i2p/?a=".into(),
            }],
        );
        assert!(!p.contains("<script>"));
        assert!(p.contains("&lt;script&gt;"));
        assert!(p.contains("j&quot;"));
        let c = confirm_helper(
            "a.i2p",
            "x.b32.i2p",
            "AAAA~",
            "http://a.i2p/?q=\"",
            "n1",
            None,
        );
        assert!(c.contains("dest=AAAA~"));
        assert!(!c.contains("q=\""));
    }
}
