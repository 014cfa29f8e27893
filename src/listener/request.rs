//! One request: refuse what must be refused, read the body within its limits, hand the rest
//! to capture, and turn capture's answer into a response.

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as HyperBody;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Limits;
use crate::capture::{Answer, Capture, Incoming};
use crate::event::{HeaderList, Ingress};

/// The answer (to send with [`closing`]) for a request that must not go further: a framing
/// conflict the watcher saw (`conflict`), `CONNECT`, or a declared body over the limit. Shared
/// with the Relay, whose webhooks pass the same door.
pub fn refuse(req: &Request<HyperBody>, limits: &Limits, conflict: bool) -> Option<Answer> {
    let h = req.headers();
    // hyper hides a Content-Length it dropped for Transfer-Encoding; the watcher does not.
    let ambiguous = conflict
        || (h.contains_key(http::header::TRANSFER_ENCODING)
            && h.contains_key(http::header::CONTENT_LENGTH));
    if ambiguous {
        return Some(Answer::text(
            400,
            "Content-Length and Transfer-Encoding together are ambiguous",
        ));
    }
    // Only a single `chunked` is framing both sides read alike: two TE lines are a classic
    // smuggling shape (TE.TE), and another coding (gzip, ...) would reach the Target still
    // encoded once the hop-by-hop header is dropped.
    let codings: Vec<&[u8]> = h
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .map(|v| v.as_bytes().trim_ascii())
        .collect();
    match codings.as_slice() {
        [] => {}
        [one] if one.eq_ignore_ascii_case(b"chunked") => {}
        [_] => {
            return Some(Answer::text(
                501,
                "only Transfer-Encoding: chunked is supported",
            ));
        }
        _ => {
            return Some(Answer::text(
                400,
                "Transfer-Encoding given more than once is ambiguous",
            ));
        }
    }
    if req.method() == Method::CONNECT {
        return Some(Answer::text(
            405,
            "CONNECT is not supported: hooktap is not a proxy",
        ));
    }
    let declared = h
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return Some(too_large(limits.max_body));
    }
    None
}

pub(super) async fn handle(
    req: Request<HyperBody>,
    remote: SocketAddr,
    proto: &'static str,
    via: super::Via,
    capture: &Arc<Capture>,
    limits: &Limits,
    conflict: bool,
) -> Response<Full<Bytes>> {
    if let Some(refusal) = refuse(&req, limits, conflict) {
        return refused(req.method(), req.uri().path(), remote, refusal);
    }
    let h = req.headers();
    let remote_addr = super::remote_addr(via, remote, h);
    let mut headers = HeaderList::default();
    for (name, value) in h {
        headers.push(name.as_str(), value.as_bytes());
    }
    let (parts, body) = req.into_parts();
    let body = match read_body(body, limits).await {
        Ok(b) => b,
        Err(answer) => return refused(&parts.method, parts.uri.path(), remote, answer),
    };
    let incoming = Incoming {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers,
        body,
        remote_addr: Some(remote_addr),
        ingress: Ingress::Local,
        proto,
        uid: None,
        received_at: None,
    };
    // In its own task: a sender that hangs up (hyper then drops this future) must not stop
    // an Event between being stored and its Delivery being recorded.
    let capture = capture.clone();
    match tokio::spawn(async move { capture.handle(incoming).await }).await {
        Ok(answer) => response(answer),
        Err(_) => response(Answer::text(500, "internal error while capturing")),
    }
}

/// Closes with `answer`, and says so in the log: a refused request is no Event, so without
/// this line a webhook turned away (too large, too slow) would leave no trace. At most one
/// such line a second, the path cut short: a client refused in a loop must not fill the log
/// (under the TUI, a file nothing rotates).
fn refused(
    method: &Method,
    path: &str,
    remote: SocketAddr,
    answer: Answer,
) -> Response<Full<Bytes>> {
    if let Some(skipped) = REFUSALS.admit(Instant::now()) {
        let why = String::from_utf8_lossy(&answer.body);
        let why = why.trim().trim_start_matches("hooktap: ");
        let more = match skipped {
            0 => String::new(),
            n => format!(" ({n} more refused since the last such line, not logged)"),
        };
        tracing::warn!(
            "refused {} {} from {remote} with {}: {why}; not recorded{more}",
            cut(method.as_str(), 20),
            cut(path, 100),
            answer.status
        );
    }
    closing(answer)
}

/// The refusal lines of this process.
static REFUSALS: Throttle = Throttle::new();

/// Lets one line through per second and counts the ones it holds back (the Relay's refusal
/// lines use it too).
pub struct Throttle {
    /// When the last line went out, and how many were held back since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    /// A throttle that lets the first line through.
    pub const fn new() -> Throttle {
        Throttle {
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(held back since the last line)` when a line may go out at `now`, else `None`.
    pub fn admit(&self, now: Instant) -> Option<u64> {
        // A poisoned lock only means a panic elsewhere mid-update of two plain numbers.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last, held) = &mut *state;
        if last.is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1)) {
            *held += 1;
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(held))
    }
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle::new()
    }
}

/// `text` as it is, or its first `max - 1` characters and `…`.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let end = text
                .char_indices()
                .nth(max - 1)
                .map_or(text.len(), |(i, _)| i);
            Cow::Owned(format!("{}…", &text[..end]))
        }
    }
}

pub fn too_large(max: u64) -> Answer {
    Answer::text(
        413,
        &format!(
            "body larger than the limit of {} (raise it with --max-body)",
            crate::config::format_size(max)
        ),
    )
}

/// Reads the whole body, at most `max_body` bytes, giving up on a pause over `body_timeout`
/// or when the whole body takes longer than `body_deadline`.
pub async fn read_body(mut body: HyperBody, limits: &Limits) -> Result<Bytes, Answer> {
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut total = 0u64;
    let deadline = tokio::time::Instant::now() + limits.body_deadline;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = match tokio::time::timeout(limits.body_timeout.min(left), body.frame()).await {
            Err(_) if left < limits.body_timeout => {
                return Err(Answer::text(
                    408,
                    &format!(
                        "the body took longer than {} to arrive; request timed out",
                        crate::forward::humantime(limits.body_deadline)
                    ),
                ));
            }
            Err(_) => return Err(Answer::text(408, "the body stalled; request timed out")),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(Answer::text(400, &format!("could not read the body: {e}")));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if total > limits.max_body {
            return Err(too_large(limits.max_body));
        }
        match &first {
            None if rest.is_empty() => first = Some(data),
            _ => {
                if let Some(f) = first.take() {
                    rest.extend_from_slice(&f);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

pub fn response(answer: Answer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    for (name, value) in answer.headers.iter() {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(n, v);
        }
    }
    response
}

/// A response after which hooktap closes the connection (the rest of the stream is untrusted).
pub fn closing(answer: Answer) -> Response<Full<Bytes>> {
    let mut r = response(answer);
    r.headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refusal_line_a_second_then_a_count_of_the_rest() {
        let t = Throttle::new();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(t.admit(at(0)), Some(0), "the first line goes out");
        for ms in [1, 10, 500, 999] {
            assert_eq!(t.admit(at(ms)), None, "{ms} ms later");
        }
        assert_eq!(t.admit(at(1000)), Some(4), "a second later, with the count");
        assert_eq!(t.admit(at(1500)), None);
        assert_eq!(t.admit(at(5000)), Some(1));
        assert_eq!(t.admit(at(9000)), Some(0), "nothing held back");
        // A clock that reads earlier (another thread's `now`) holds back, never panics.
        assert_eq!(t.admit(at(8000)), None);
    }

    #[test]
    fn long_paths_are_cut_with_an_ellipsis() {
        assert_eq!(cut("/hooks/a", 100), "/hooks/a");
        let exact = "a".repeat(100);
        assert_eq!(cut(&exact, 100), exact);
        let long = format!("/{}", "é".repeat(30_000));
        let short = cut(&long, 100);
        assert_eq!(short.chars().count(), 100);
        assert!(short.starts_with("/éé") && short.ends_with("é…"), "{short}");
    }
}
