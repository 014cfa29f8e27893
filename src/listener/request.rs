//! One request: refuse what must be refused, read the body within its limits, hand the rest
//! to capture, and turn capture's answer into a response.

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as HyperBody;
use std::net::SocketAddr;
use std::sync::Arc;

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
    capture: &Arc<Capture>,
    limits: &Limits,
    conflict: bool,
) -> Response<Full<Bytes>> {
    if let Some(refusal) = refuse(&req, limits, conflict) {
        return refused(req.method(), req.uri().path(), remote, refusal);
    }
    let h = req.headers();
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
        remote_addr: Some(remote.to_string()),
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
/// this line a webhook turned away (too large, too slow) would leave no trace.
fn refused(
    method: &Method,
    path: &str,
    remote: SocketAddr,
    answer: Answer,
) -> Response<Full<Bytes>> {
    let why = String::from_utf8_lossy(&answer.body);
    let why = why.trim().trim_start_matches("hooktap: ");
    tracing::warn!(
        "refused {method} {path} from {remote} with {}: {why}; not recorded",
        answer.status
    );
    closing(answer)
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
