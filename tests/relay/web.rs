//! The HTTP side of the tests: a Target that records what it gets, a provider that posts over
//! TLS trusting the test CA, and raw TLS connections for hand-written handshakes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::harness::Certs;

/// What the Target received.
#[derive(Clone, Debug)]
pub struct Got {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

/// An app on 127.0.0.1 that records every request and answers `201 app-ok`.
pub struct Target {
    pub url: String,
    pub got: Arc<Mutex<Vec<Got>>>,
}

impl Target {
    pub async fn start() -> Target {
        Target::slow(Duration::ZERO).await
    }

    /// A Target that takes `delay` to answer each request.
    pub async fn slow(delay: Duration) -> Target {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", socket.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let record = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = socket.accept().await else {
                    return;
                };
                let record = record.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            let record = record.clone();
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                tokio::time::sleep(delay).await;
                                record.lock().unwrap().push(Got {
                                    method: parts.method.to_string(),
                                    path: parts.uri.to_string(),
                                    headers: parts
                                        .headers
                                        .iter()
                                        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                                        .collect(),
                                    body,
                                });
                                let r = http::Response::builder()
                                    .status(201)
                                    .header("x-app", "yes")
                                    .body(Full::new(Bytes::from_static(b"app-ok")))
                                    .unwrap();
                                Ok::<_, std::convert::Infallible>(r)
                            }
                        },
                    );
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Target { url, got }
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    pub fn bodies(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|g| String::from_utf8_lossy(&g.body).into_owned())
            .collect()
    }
}

pub type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// A webhook sender that trusts the test CA.
pub fn provider(certs: &Certs) -> HttpsClient {
    Client::builder(TokioExecutor::new()).build(trusting_test_ca(certs))
}

/// An HTTPS connector (HTTP/1.1) that trusts the test CA and nothing else.
pub fn trusting_test_ca(
    certs: &Certs,
) -> hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&certs.ca).unwrap();
    for c in rustls_pki_types_pem(&pem) {
        roots.add(c).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build()
}

fn rustls_pki_types_pem(pem: &[u8]) -> Vec<pki_types::CertificateDer<'static>> {
    use pki_types::pem::PemObject;
    pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| c.unwrap())
        .collect()
}

/// An answer as the provider saw it.
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

pub async fn post(
    client: &HttpsClient,
    url: &str,
    headers: &[(&str, &[u8])],
    body: impl Into<Bytes>,
) -> Reply {
    let mut req = http::Request::post(url);
    for (n, v) in headers {
        req = req.header(*n, http::HeaderValue::from_bytes(v).unwrap());
    }
    let resp = client
        .request(req.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// Polls `f` until it is true or `timeout` passes; returns whether it became true.
pub async fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    f()
}

/// A raw TLS connection to the Relay (for handshakes written by hand).
pub async fn tls_connect(
    certs: &Certs,
    port: u16,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types_pem(&std::fs::read(&certs.ca).unwrap()) {
        roots.add(c).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap()
}

/// Reads until the peer closes (or `limit` passes); returns what was read and how long it took.
pub async fn read_until_closed(
    io: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> (Vec<u8>, Duration, bool) {
    use tokio::io::AsyncReadExt;
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), io.read(&mut buf)).await
        {
            Err(_) => return (got, started.elapsed(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, started.elapsed(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}
