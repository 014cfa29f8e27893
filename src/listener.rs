//! The listener: accepts HTTP/1.1 (plain or TLS) on a bound socket, enforces every limit on
//! what a sender may send, and hands each complete request to capture.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as HyperBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::capture::{Answer, Capture, Incoming};
use crate::event::{HeaderList, Ingress};

/// Limits on what a sender may send.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest body accepted (`413` beyond).
    pub max_body: u64,
    /// Time to send a complete request head (and the longest idle time between requests).
    pub header_timeout: Duration,
    /// Longest pause while sending a body.
    pub body_timeout: Duration,
    /// Most connections open at once; more are answered `503` and closed.
    pub max_connections: usize,
    /// Time for a TLS handshake.
    pub tls_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 25 << 20,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            tls_timeout: Duration::from_secs(10),
        }
    }
}

/// Largest request head (request line and headers) accepted: `431` beyond.
pub const MAX_HEAD_BYTES: usize = 64 << 10;
/// Most header lines accepted: `431` beyond.
pub const MAX_HEADERS: usize = 100;
/// How long a graceful shutdown waits for requests in flight.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown` fires, then stops accepting and lets requests in flight
/// finish (up to [`DRAIN_TIMEOUT`]).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    capture: Arc<Capture>,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let limits = Arc::new(limits);
    loop {
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let capture = capture.clone();
        let limits = limits.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_io(stream, remote, "http", capture, limits, watcher).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.tls_timeout, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        serve_io(stream, remote, "https", capture, limits, watcher).await;
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; stopping anyway"),
    }
}

fn builder(limits: &Limits) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    b
}

/// Serves one connection until it closes (or a graceful shutdown asks it to).
async fn serve_io<I>(
    io: I,
    remote: SocketAddr,
    proto: &'static str,
    capture: Arc<Capture>,
    limits: Arc<Limits>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = builder(&limits);
    let service = service_fn(move |req| {
        let capture = capture.clone();
        let limits = limits.clone();
        async move { Ok::<_, Infallible>(handle(req, remote, proto, &capture, &limits).await) }
    });
    let conn = http.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!("connection from {remote} ended: {e}");
    }
}

/// Answers a connection over the cap, then closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let body = "hooktap: too many connections; try again shortly\n";
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(reply.as_bytes())).await;
}

async fn handle(
    req: Request<HyperBody>,
    remote: SocketAddr,
    proto: &'static str,
    capture: &Capture,
    limits: &Limits,
) -> Response<Full<Bytes>> {
    if req.method() == Method::CONNECT {
        return closing(Answer::text(
            405,
            "CONNECT is not supported: hooktap is not a proxy",
        ));
    }
    let h = req.headers();
    if h.contains_key(http::header::TRANSFER_ENCODING)
        && h.contains_key(http::header::CONTENT_LENGTH)
    {
        return closing(Answer::text(
            400,
            "Content-Length and Transfer-Encoding together are ambiguous",
        ));
    }
    let declared = h
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return closing(too_large(limits.max_body));
    }
    let mut headers = HeaderList::default();
    for (name, value) in h {
        headers.push(name.as_str(), value.as_bytes());
    }
    let (parts, body) = req.into_parts();
    let body = match read_body(body, limits).await {
        Ok(b) => b,
        Err(answer) => return closing(answer),
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
    response(capture.handle(incoming).await)
}

/// `413` naming the limit.
pub fn too_large(max: u64) -> Answer {
    Answer::text(
        413,
        &format!(
            "body larger than the limit of {} (raise it with --max-body)",
            crate::config::format_size(max)
        ),
    )
}

/// Reads the whole body, at most `max_body` bytes, giving up on a pause over `body_timeout`.
/// (Also used by the Relay and the Agent.)
pub async fn read_body(mut body: HyperBody, limits: &Limits) -> Result<Bytes, Answer> {
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut total = 0u64;
    loop {
        let frame = match tokio::time::timeout(limits.body_timeout, body.frame()).await {
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

/// The HTTP response for an [`Answer`].
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
