//! The listener: accepts HTTP/1.1 (plain or TLS) on a bound socket, enforces every limit on
//! what a sender may send, and hands each complete request to capture.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub mod framing;
mod request;
mod via;

pub use request::{Throttle, closing, cut, read_body, refuse, response, too_large};
pub use via::{ClientHeader, Via, remote_addr};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::capture::Capture;

/// Limits on what a sender may send.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest body accepted (`413` beyond).
    pub max_body: u64,
    /// Time to send a complete request head (and the longest idle time between requests).
    pub header_timeout: Duration,
    /// Longest pause while sending a body (and while reading hooktap's answer).
    pub body_timeout: Duration,
    /// Longest time to send a whole body, however steadily (a byte a second would otherwise
    /// hold a connection for days).
    pub body_deadline: Duration,
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
            body_deadline: Duration::from_secs(120),
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
    serve_via(listener, tls, capture, limits, shutdown, Via::Direct).await
}

/// [`serve`] for connections that come `via` a tunnel (see [`Via`]); plain HTTP.
pub async fn serve_via(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    capture: Arc<Capture>,
    limits: Limits,
    shutdown: CancellationToken,
    via: Via,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let limits = Arc::new(limits);
    while let Some((stream, remote)) = accept(&listener, &shutdown).await {
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            turn_away(stream, tls.is_some());
            continue;
        };
        let capture = capture.clone();
        let limits = limits.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => {
                    // A tunnel took the request over HTTPS and hands it on in plain HTTP.
                    let proto = if via == Via::Direct { "http" } else { "https" };
                    serve_io(stream, remote, proto, via, capture, limits, watcher).await
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.tls_timeout, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        serve_io(stream, remote, "https", via, capture, limits, watcher).await;
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
        .max_header_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    b
}

/// Serves one connection until it closes (or a graceful shutdown asks it to).
async fn serve_io<I>(
    io: I,
    remote: SocketAddr,
    proto: &'static str,
    via: Via,
    capture: Arc<Capture>,
    limits: Arc<Limits>,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = builder(&limits);
    let verdicts = framing::Verdicts::default();
    let io = framing::Watched::new(io, verdicts.clone()).write_stall(limits.body_timeout);
    let service = service_fn(move |req| {
        let capture = capture.clone();
        let limits = limits.clone();
        // One verdict per request head, in order; none if the watcher gave up (hyper decides).
        let conflict = verdicts
            .lock()
            .ok()
            .and_then(|mut v| v.pop_front())
            .unwrap_or(false);
        async move {
            Ok::<_, Infallible>(
                request::handle(req, remote, proto, via, &capture, &limits, conflict).await,
            )
        }
    });
    let conn = http.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!("connection from {remote} ended: {e}");
    }
}

/// The next connection (with Nagle off), or `None` once `shutdown` fires. A failed accept (out
/// of file descriptors and the like) is logged and retried after a pause rather than spun on.
pub async fn accept(
    listener: &TcpListener,
    shutdown: &CancellationToken,
) -> Option<(tokio::net::TcpStream, std::net::SocketAddr)> {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    return Some((stream, remote));
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Turns away a connection over the cap: plain HTTP gets a `503` and is closed; TLS is closed
/// at once (answering would cost the handshake the cap is there to save).
pub fn turn_away(stream: tokio::net::TcpStream, tls: bool) {
    if !tls {
        tokio::spawn(over_capacity(stream));
    }
}

async fn over_capacity(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let body = "hooktap: too many connections; try again shortly\n";
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(reply.as_bytes()).await?;
        // Closing with the request still unread would send a reset, which can overtake the
        // answer: say we are done, then take what the sender wrote until it closes (1 s at most).
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    })
    .await;
}
