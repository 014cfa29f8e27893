//! Who may talk to the inspector: the `Host` check against DNS rebinding, the access token a
//! non-loopback bind requires, and the CSRF checks on every state-changing request.

use std::net::{IpAddr, SocketAddr};

use http::{Method, Request, header};
use subtle::ConstantTimeEq;

/// The cookie the login page sets (the access token, `HttpOnly`, `SameSite=Strict`).
pub const COOKIE: &str = "hooktap_inspect";
/// The header a state-changing request carries the per-process token in.
pub const TOKEN_HEADER: &str = "x-hooktap-token";

/// The inspector's rules for one process.
#[derive(Clone, Debug)]
pub struct Guard {
    /// The address bound.
    pub bound: SocketAddr,
    /// Extra names allowed in `Host` (`--inspect-host`).
    pub hosts: Vec<String>,
    /// Required on every request when bound beyond loopback.
    pub access: Option<String>,
    /// Required (as [`TOKEN_HEADER`]) on every state-changing request.
    pub csrf: String,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `Host` is not one of ours (403).
    Host,
    /// No valid access token (401, or the login page for a browser).
    Login,
    /// A state-changing request without the token or from another origin (403).
    Csrf(&'static str),
}

impl Guard {
    /// Checks `req` (its path is exempt from the access token when it is the login page).
    pub fn check<B>(&self, req: &Request<B>) -> Result<(), Refusal> {
        let host = header_str(req, header::HOST.as_str()).unwrap_or_default();
        if !self.host_allowed(host) {
            return Err(Refusal::Host);
        }
        let path = req.uri().path();
        let open = path == "/login" || path == "/assets/style.css";
        if self.access.is_some() && !open && !self.has_access(req) {
            return Err(Refusal::Login);
        }
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            self.same_origin(req, host)?;
            if path != "/login" && !self.token_ok(header_str(req, TOKEN_HEADER)) {
                return Err(Refusal::Csrf(
                    "the X-Hooktap-Token header is missing or wrong",
                ));
            }
        }
        Ok(())
    }

    /// Whether `host` (the `Host` header) names this inspector: an IP literal we are bound
    /// to (any when bound to all), `localhost`, or an `--inspect-host` name, with our port.
    pub fn host_allowed(&self, host: &str) -> bool {
        let port = self.bound.port();
        let (name, given_port) = split_host(host);
        if given_port != Some(port) {
            // Only an `--inspect-host` name may come without the port (behind a proxy).
            return given_port.is_none() && self.hosts.iter().any(|h| h.eq_ignore_ascii_case(name));
        }
        if name.eq_ignore_ascii_case("localhost")
            || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
        {
            return true;
        }
        // An IP literal cannot be rebound by DNS; a name can.
        match name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => ip == self.bound.ip() || ip.is_loopback() || self.bound.ip().is_unspecified(),
            Err(_) => false,
        }
    }

    /// Whether the token `given` is the access token (constant time).
    pub fn access_ok(&self, given: &str) -> bool {
        self.access
            .as_deref()
            .is_some_and(|a| bool::from(a.as_bytes().ct_eq(given.as_bytes())))
    }

    fn has_access<B>(&self, req: &Request<B>) -> bool {
        if let Some(bearer) =
            header_str(req, header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer "))
            && self.access_ok(bearer.trim())
        {
            return true;
        }
        req.headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .any(|t| self.access_ok(t))
    }

    fn token_ok(&self, given: Option<&str>) -> bool {
        given.is_some_and(|g| bool::from(self.csrf.as_bytes().ct_eq(g.as_bytes())))
    }

    /// A browser says where a request comes from; anything but this page's origin is refused.
    /// A client that says nothing (curl, a script) is not a browser, and needs the token.
    fn same_origin<B>(&self, req: &Request<B>, host: &str) -> Result<(), Refusal> {
        if let Some(site) = header_str(req, "sec-fetch-site")
            && site != "same-origin"
        {
            return Err(Refusal::Csrf("the request came from another site"));
        }
        if let Some(origin) = header_str(req, header::ORIGIN.as_str())
            && origin != format!("http://{host}")
        {
            return Err(Refusal::Csrf("the request came from another origin"));
        }
        Ok(())
    }
}

fn header_str<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `name:port` split; `[::1]:8788` keeps its brackets in the name.
fn split_host(host: &str) -> (&str, Option<u16>) {
    match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && (!name.contains(':') || name.ends_with(']')) => {
            (name, port.parse().ok())
        }
        _ => (host, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(bound: &str, access: Option<&str>) -> Guard {
        Guard {
            bound: bound.parse().unwrap(),
            hosts: vec!["hooks.dev.example".into()],
            access: access.map(str::to_string),
            csrf: "ht_csrf".into(),
        }
    }

    fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().method(method).uri(path);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn hosts_that_dns_could_rebind_are_refused() {
        let g = guard("127.0.0.1:8788", None);
        for ok in [
            "127.0.0.1:8788",
            "localhost:8788",
            "[::1]:8788",
            "hooks.dev.example",
            "hooks.dev.example:8788",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8788",
            "127.0.0.1:9999",
            "localhost",
            "",
            "10.0.0.2:8788",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
        assert!(guard("0.0.0.0:8788", Some("a")).host_allowed("10.0.0.2:8788"));
    }

    #[test]
    fn state_changes_need_the_token_and_the_same_origin() {
        let g = guard("127.0.0.1:8788", None);
        let host = ("host", "127.0.0.1:8788");
        let token = (TOKEN_HEADER, "ht_csrf");
        assert_eq!(g.check(&req("GET", "/api/events", &[host])), Ok(()));
        assert!(matches!(
            g.check(&req("POST", "/api/events/1/replay", &[host])),
            Err(Refusal::Csrf(_))
        ));
        assert!(matches!(
            g.check(&req("POST", "/x", &[host, (TOKEN_HEADER, "ht_other")])),
            Err(Refusal::Csrf(_))
        ));
        assert_eq!(g.check(&req("POST", "/x", &[host, token])), Ok(()));
        let same = ("origin", "http://127.0.0.1:8788");
        let fetch = ("sec-fetch-site", "same-origin");
        assert_eq!(
            g.check(&req("POST", "/x", &[host, token, same, fetch])),
            Ok(())
        );
        let other = ("origin", "http://evil.example");
        assert!(matches!(
            g.check(&req("POST", "/x", &[host, token, other])),
            Err(Refusal::Csrf(_))
        ));
        let cross = ("sec-fetch-site", "cross-site");
        assert!(matches!(
            g.check(&req("POST", "/x", &[host, token, cross])),
            Err(Refusal::Csrf(_))
        ));
        assert_eq!(
            g.check(&req("GET", "/", &[("host", "evil.example")])),
            Err(Refusal::Host)
        );
    }

    #[test]
    fn beyond_loopback_every_request_needs_the_access_token() {
        let g = guard("0.0.0.0:8788", Some("ht_access"));
        let host = ("host", "192.168.1.5:8788");
        assert_eq!(
            g.check(&req("GET", "/api/events", &[host])),
            Err(Refusal::Login)
        );
        assert_eq!(g.check(&req("GET", "/login", &[host])), Ok(()));
        let bearer = ("authorization", "Bearer ht_access");
        assert_eq!(g.check(&req("GET", "/api/events", &[host, bearer])), Ok(()));
        let cookie = ("cookie", "a=b; hooktap_inspect=ht_access");
        assert_eq!(g.check(&req("GET", "/", &[host, cookie])), Ok(()));
        let wrong = ("cookie", "hooktap_inspect=ht_accesz");
        assert_eq!(
            g.check(&req("GET", "/", &[host, wrong])),
            Err(Refusal::Login)
        );
    }
}
