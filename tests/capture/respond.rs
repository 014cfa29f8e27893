//! What the sender gets back: the Target's real answer, 502, 504, or 202 in accept mode; over
//! plain HTTP and over TLS.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::common::{Behaviour, InProcess, TestTarget, post};
use hooktap::capture::Respond;
use hooktap::listener::Limits;
use hooktap::store::{Change, Reader};

/// Pass: the sender gets the Target's status, headers and body; the Delivery is recorded.
#[tokio::test]
async fn passthrough_returns_the_targets_answer() {
    let target = TestTarget::start(Behaviour::Status(418)).await;
    let h = InProcess::start(
        &target.url(),
        Limits::default(),
        Respond::Passthrough,
        Duration::from_secs(9),
    )
    .await;
    let (status, headers, body) = post(
        &h.url("/hooks/x"),
        &[("content-type", b"application/json")],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 418);
    assert_eq!(&body[..], b"target says 418");
    assert!(headers.iter().any(|(n, v)| n == "x-target" && v == "yes"));
    let reader = Reader::open(&h.db()).unwrap();
    let row = &reader.recent(1, None).unwrap()[0];
    assert_eq!(row.status, Some(418));
    assert_eq!(row.outcome.as_deref(), Some("ok"));
    let deliveries = reader.deliveries(row.id).unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(&deliveries[0].result.body[..], b"target says 418");
}

/// Pass: a Target that refuses connections gives the sender 502 with a reason that says what
/// to do, and a failed Delivery with that error.
#[tokio::test]
async fn unreachable_target_gives_502() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = InProcess::start(
        &format!("http://127.0.0.1:{port}"),
        Limits::default(),
        Respond::Passthrough,
        Duration::from_secs(9),
    )
    .await;
    let (status, _, body) = post(&h.url("/a"), &[], b"x".to_vec()).await;
    assert_eq!(status, 502);
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("connection refused") && text.contains("is your app running?"),
        "{text}"
    );
    let reader = Reader::open(&h.db()).unwrap();
    let row = &reader.recent(1, None).unwrap()[0];
    assert_eq!(row.outcome.as_deref(), Some("failed"));
    assert_eq!(row.status, None);
    let d = &reader.deliveries(row.id).unwrap()[0];
    assert!(
        d.result
            .error
            .as_deref()
            .unwrap()
            .contains("connection refused")
    );
}

/// Pass: a Target slower than `--timeout` gives 504 and a `timeout` Delivery.
#[tokio::test]
async fn slow_target_gives_504() {
    let gate = Arc::new(Notify::new());
    let target = TestTarget::start(Behaviour::Hold(gate.clone())).await;
    let h = InProcess::start(
        &target.url(),
        Limits::default(),
        Respond::Passthrough,
        Duration::from_millis(300),
    )
    .await;
    let (status, _, body) = post(&h.url("/slow"), &[], b"x".to_vec()).await;
    assert_eq!(status, 504);
    assert!(String::from_utf8_lossy(&body).contains("within 300ms"));
    let reader = Reader::open(&h.db()).unwrap();
    let row = &reader.recent(1, None).unwrap()[0];
    assert_eq!(row.outcome.as_deref(), Some("timeout"));
    gate.notify_waiters();
}

/// Pass: in accept mode the sender gets 202 at once, even while the Target holds the request,
/// and the Delivery is recorded when the Target answers.
#[tokio::test]
async fn accept_answers_202_then_delivers() {
    let gate = Arc::new(Notify::new());
    let mut target = TestTarget::start(Behaviour::Hold(gate.clone())).await;
    let h = InProcess::start(
        &target.url(),
        Limits::default(),
        Respond::Accept,
        Duration::from_secs(9),
    )
    .await;
    let mut bus = h.store.subscribe();
    let (status, _, body) = post(&h.url("/later"), &[], b"x".to_vec()).await;
    assert_eq!(status, 202);
    assert!(String::from_utf8_lossy(&body).contains("accepted as event #1"));
    target
        .received
        .recv()
        .await
        .expect("the Target gets it in the background");
    gate.notify_one();
    let summary = loop {
        match bus.recv().await.unwrap() {
            Change::Delivery { summary, .. } => break summary,
            _ => continue,
        }
    };
    assert_eq!(summary.status, Some(200));
}

/// Pass: HTTPS ingress with a PEM certificate works end to end.
#[tokio::test]
async fn tls_ingress_works() {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let db = dir.path().join("events.db");
    let bin = crate::common::Binary::listen(
        &db,
        &target.url(),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(
        bin.stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("listening on https://"))
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(bin.addr).await.unwrap();
    let mut tls = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    use tokio::io::AsyncWriteExt;
    tls.write_all(b"POST /secure HTTP/1.1\r\nhost: localhost\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi").await.unwrap();
    let mut out = Vec::new();
    use tokio::io::AsyncReadExt;
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let got = &target.all.lock().unwrap()[0];
    assert!(
        got.headers
            .iter()
            .any(|(n, v)| n == "x-forwarded-proto" && v == b"https")
    );
}
