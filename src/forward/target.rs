//! Target: where live traffic and replays go, a base URL that Event paths are appended to.
//! Joining them is done here only: dot-segments (`..`, `.`, also as `%2e`) are removed from the
//! path first (RFC 3986 5.2.4), so a request stays under the Target's path prefix. The Event
//! keeps its path as received.

use std::borrow::Cow;
use std::time::Duration;

use http::Uri;

/// A Target: a base URL (`http://localhost:3000`, maybe with a path prefix) that Event paths
/// are appended to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    base: String,
}

impl Target {
    /// Whether the Target's host and port accept a TCP connection within a second (the
    /// terminal UI's "up" light; sends nothing).
    pub async fn accepts_connections(&self) -> bool {
        let Ok(uri) = self.as_str().parse::<Uri>() else {
            return false;
        };
        let Some(host) = uri.host().map(|h| h.trim_matches(['[', ']']).to_string()) else {
            return false;
        };
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("https") => 443,
            _ => 80,
        });
        let connect = tokio::net::TcpStream::connect((host.as_str(), port));
        matches!(
            tokio::time::timeout(Duration::from_secs(1), connect).await,
            Ok(Ok(_))
        )
    }

    /// Parses and checks a Target URL: `http://` or `https://`, a host, a port (if given) from
    /// 1 to 65535, no query or fragment.
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri = parse_url(url, "http://localhost:3000")?;
        if uri.query().is_some() || url.contains('#') {
            return Err(format!("'{url}': a Target cannot have a query or fragment"));
        }
        Ok(Target {
            base: url.trim_end_matches('/').to_string(),
        })
    }

    /// [`Target::parse`], also taking a port alone: `3000`, `:3000` and `localhost:3000` mean
    /// `http://127.0.0.1:3000` (what `--forward` and `--route` take).
    pub fn parse_arg(text: &str) -> Result<Target, String> {
        let text = text.trim();
        let port = text
            .strip_prefix("localhost:")
            .or_else(|| text.strip_prefix(':'))
            .unwrap_or(text);
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            return match port.parse::<u16>() {
                Ok(p) if p > 0 => Target::parse(&format!("http://127.0.0.1:{p}")),
                _ => Err(format!(
                    "'{text}': port {port} is not a port number (use 1 to 65535)"
                )),
            };
        }
        Target::parse(text)
    }

    /// The full URL for an Event's path and query: the base, then the path without its
    /// dot-segments (`/../admin` under `http://app/hooks` goes to `http://app/hooks/admin`).
    pub fn url_for(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, suffix(path_and_query))
    }

    /// The base of `url`, a URL that [`Target::url_for`] made for `path_and_query` (a
    /// Delivery's), if it was made so.
    pub fn base_of<'u>(url: &'u str, path_and_query: &str) -> Option<&'u str> {
        url.strip_suffix(suffix(path_and_query).as_ref())
    }

    /// The path and query any Target gets for an Event's `path_and_query` (what
    /// [`Target::url_for`] appends; the curl export sends the same).
    pub fn path_for(path_and_query: &str) -> Cow<'_, str> {
        suffix(path_and_query)
    }

    /// The base URL as given.
    pub fn as_str(&self) -> &str {
        &self.base
    }
}

/// What [`Target::url_for`] appends to the base: the path with a leading `/` and without its
/// dot-segments, then the query as it is.
fn suffix(path_and_query: &str) -> Cow<'_, str> {
    let (path, query) = match path_and_query.find('?') {
        Some(at) => path_and_query.split_at(at),
        None => (path_and_query, ""),
    };
    match remove_dot_segments(path) {
        Cow::Borrowed(p) if p.starts_with('/') => Cow::Borrowed(path_and_query),
        p if p.starts_with('/') => Cow::Owned(format!("{p}{query}")),
        p => Cow::Owned(format!("/{p}{query}")),
    }
}

/// RFC 3986 `remove_dot_segments` for an absolute path, where a segment of `.` or `..` may
/// also be percent-encoded (`%2e`, `%2E`), as many apps decode it before routing. `..` above
/// the root stays at the root.
fn remove_dot_segments(path: &str) -> Cow<'_, str> {
    let dots = |segment: &str| match segment.to_ascii_lowercase().replace("%2e", ".").as_str() {
        "." => Some(1),
        ".." => Some(2),
        _ => None,
    };
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    if !segments.iter().any(|s| dots(s).is_some()) {
        return Cow::Borrowed(path);
    }
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let kind = dots(segment);
        match kind {
            Some(1) => {}
            Some(_) => {
                out.pop();
            }
            None => out.push(segment),
        }
        // `/a/..` is the folder `/`, not the file `` (the path keeps its last slash).
        if kind.is_some() && i + 1 == segments.len() {
            out.push("");
        }
    }
    Cow::Owned(format!("/{}", out.join("/")))
}

/// Parses a URL a user passes (a Target, `trigger --to`): `http://` or `https://`, a host, and
/// a port (if given) from 1 to 65535. `example` is the URL the hints suggest.
pub fn parse_url(url: &str, example: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|_| format!("'{url}' is not a URL (try {example})"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "'{url}': scheme {other} is not supported; use http:// or https://"
            ));
        }
        None => return Err(format!("'{url}' has no scheme; did you mean http://{url}?")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("'{url}' has no host (try {example})"));
    }
    port(&uri, url)?;
    Ok(uri)
}

/// The port `uri` names, if any, checked. `http::Uri` accepts any digits after the colon
/// (`:99999`) and then reports no port at all, so a client would quietly connect to 80 or 443;
/// this reads the port text itself. `url` is the text as the user typed it, for the message.
pub fn port(uri: &Uri, url: &str) -> Result<Option<u16>, String> {
    let Some(authority) = uri.authority() else {
        return Ok(None);
    };
    // After any `user:pass@`, and after an IPv6 literal's `]`.
    let host_port = authority.as_str().rsplit('@').next().unwrap_or_default();
    let after_host = match host_port.rfind(']') {
        Some(at) => &host_port[at + 1..],
        None => host_port,
    };
    let Some((_, text)) = after_host.rsplit_once(':') else {
        return Ok(None);
    };
    if text.is_empty() {
        return Err(format!(
            "'{url}' has an empty port (use 1 to 65535, or none)"
        ));
    }
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(format!(
            "'{url}': port {text} is not a port number (use 1 to 65535)"
        )),
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_urls() {
        let t = Target::parse("http://localhost:3000/").unwrap();
        assert_eq!(t.url_for("/a?b=1"), "http://localhost:3000/a?b=1");
        let t = Target::parse("http://localhost:3000/api").unwrap();
        assert_eq!(t.url_for("/a"), "http://localhost:3000/api/a");
        assert!(
            Target::parse("localhost:3000")
                .unwrap_err()
                .contains("no scheme")
        );
        assert!(
            Target::parse("ftp://x")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(Target::parse("http://x/?q=1").is_err());
        assert!(Target::parse("not a url").is_err());
    }

    #[test]
    fn a_port_alone_means_this_machine() {
        for text in ["3000", ":3000", "localhost:3000"] {
            assert_eq!(
                Target::parse_arg(text).unwrap().as_str(),
                "http://127.0.0.1:3000"
            );
        }
        assert_eq!(
            Target::parse_arg("http://localhost:3000/x")
                .unwrap()
                .as_str(),
            "http://localhost:3000/x"
        );
        assert!(
            Target::parse_arg("99999")
                .unwrap_err()
                .contains("not a port number")
        );
        assert!(Target::parse_arg(":0").is_err());
    }

    #[test]
    fn dot_segments_never_leave_the_prefix() {
        let t = Target::parse("http://127.0.0.1:3000/hooks").unwrap();
        let cases = [
            ("/../admin", "/hooks/admin"),
            ("/%2e%2e/admin", "/hooks/admin"),
            ("/%2E%2e/%2e/admin?x=/../y", "/hooks/admin?x=/../y"),
            ("/.%2e/.%2E/a", "/hooks/a"),
            ("/a/b/../../../../c", "/hooks/c"),
            ("/a/./b/.", "/hooks/a/b/"),
            ("/a/b/..", "/hooks/a/"),
            ("/..", "/hooks/"),
            ("..", "/hooks/"),
            ("/a//../b", "/hooks/a/b"),
            ("/a/..b/...", "/hooks/a/..b/..."),
            ("/a%2fb/%2e%2e%2fc", "/hooks/a%2fb/%2e%2e%2fc"),
            ("/plain/path?q=1", "/hooks/plain/path?q=1"),
            ("rel", "/hooks/rel"),
        ];
        for (path, want) in cases {
            let url = t.url_for(path);
            assert_eq!(url, format!("http://127.0.0.1:3000{want}"), "{path}");
            assert_eq!(Target::base_of(&url, path), Some(t.as_str()), "{path}");
        }
        assert_eq!(Target::base_of("http://elsewhere/x", "/y"), None);
    }

    #[test]
    fn ports_outside_1_to_65535_are_refused() {
        for url in [
            "http://127.0.0.1:99999",
            "http://127.0.0.1:300001",
            "http://localhost:0",
            "http://localhost:65536/api",
            "http://[::1]:70000",
        ] {
            let err = Target::parse(url).unwrap_err();
            assert!(err.contains("is not a port number"), "{url}: {err}");
        }
        // The port as typed is named, so a typo is easy to see.
        assert!(
            Target::parse("http://127.0.0.1:99999")
                .unwrap_err()
                .contains("port 99999")
        );
        assert!(
            Target::parse("http://localhost:")
                .unwrap_err()
                .contains("empty port")
        );
        for url in [
            "http://localhost:1",
            "http://localhost:65535",
            "https://[::1]:8443/x",
            "http://localhost",
        ] {
            assert!(Target::parse(url).is_ok(), "{url}");
        }
        let uri: Uri = "https://relay.example.com:443".parse().unwrap();
        assert_eq!(port(&uri, "x"), Ok(Some(443)));
        let uri: Uri = "https://relay.example.com".parse().unwrap();
        assert_eq!(port(&uri, "x"), Ok(None));
    }

    #[tokio::test]
    async fn a_target_accepts_connections_while_it_listens() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let target = Target::parse(&url).unwrap();
        assert!(target.accepts_connections().await);
        drop(listener);
        assert!(!target.accepts_connections().await);
    }
}
