//! Helpers for the history tests: Stores filled through the library, a real hyper Target,
//! and the real binary.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hooktap::event::{
    Classification, DeliveryKind, DeliveryResult, Event, HeaderList, Ingress, Outcome, Signature,
    new_uid,
};
use hooktap::store::{Durability, NewDelivery, Store};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Runs the hooktap binary against `db` and returns its output.
pub fn hooktap(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hooktap"))
        .args(args)
        .env("HOOKTAP_DB", db)
        .env("NO_COLOR", "1")
        .env_remove("EDITOR")
        .env_remove("VISUAL")
        .output()
        .expect("the hooktap binary runs")
}

/// Starts the hooktap binary against `db` with stdout and stderr piped, for a test that watches
/// it or signals it. No secret reaches it from the environment or a config file.
pub fn start(db: &Path, args: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hooktap"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HOOKTAP_SECRET_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .env("HOOKTAP_DB", db)
        .env(
            "XDG_CONFIG_HOME",
            db.parent().expect("the Store is in a folder"),
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hooktap binary runs")
}

/// Waits for `child` to exit and returns its output (what is still piped); kills it and
/// fails the test if it is still running after `limit`.
pub fn finish_within(child: Child, limit: std::time::Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("hooktap's output"),
        Err(_) => {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
            panic!("hooktap was still running after {limit:?}");
        }
    }
}

/// Like [`hooktap`], asserting success, returning stdout.
pub fn ok(db: &Path, args: &[&str]) -> String {
    let out = hooktap(db, args);
    assert!(
        out.status.success(),
        "hooktap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The ids in `list --json`-style output, in order.
pub fn ids(json_lines: &str) -> Vec<i64> {
    json_lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

/// A temporary folder with a Store path in it.
pub fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    (dir, db)
}

/// An Event as capture would build it.
pub fn event(provider: &str, event_type: Option<&str>, path: &str, body: &[u8]) -> Event {
    let mut headers = HeaderList::default();
    headers.push("Host", b"hooks.example.com".to_vec());
    headers.push("Content-Type", b"application/json".to_vec());
    headers.push("X-Dup", b"one".to_vec());
    headers.push("X-Dup", b"two".to_vec());
    headers.push("Authorization", b"Bearer secret-token".to_vec());
    Event {
        uid: new_uid(),
        received_at: hooktap::event::now_micros(),
        ingress: Ingress::Local,
        method: "POST".into(),
        path: path.into(),
        query: None,
        remote_addr: Some("127.0.0.1:5000".into()),
        headers,
        body: Bytes::copy_from_slice(body),
        class: Classification {
            provider: provider.into(),
            event_type: event_type.map(str::to_string),
            signature: Signature::Unchecked,
            ..Classification::default()
        },
        derived_from: None,
    }
}

/// A Delivery result with `status` (or a failure when `None`).
pub fn answer(status: Option<u16>, body: &str) -> DeliveryResult {
    let mut headers = HeaderList::default();
    headers.push("content-type", b"application/json".to_vec());
    DeliveryResult {
        outcome: if status.is_some() {
            Outcome::Ok
        } else {
            Outcome::Failed
        },
        status,
        headers,
        body: Bytes::from(body.to_string()),
        error: status.is_none().then(|| "cannot reach the app".to_string()),
        duration_us: 1500,
    }
}

/// Writes Events (each with an original Delivery to `target` when given) and returns their ids.
pub fn fill(db: &Path, items: Vec<(Event, Option<(&str, DeliveryResult)>)>) -> Vec<i64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = Store::open(db, Durability::Normal).unwrap();
    let writer = store.writer();
    let ids = rt.block_on(async {
        let mut ids = Vec::new();
        for (event, delivery) in items {
            let url = delivery
                .as_ref()
                .map(|(t, _)| format!("{t}{}", event.path_and_query()));
            let new = url.map(|target| NewDelivery {
                kind: DeliveryKind::Original,
                target,
                started_at: event.received_at,
            });
            let ins = writer.insert_event(event, new).await.unwrap();
            if let (Some(d), Some((_, result))) = (ins.delivery_id, delivery) {
                writer
                    .finish_delivery(d, ins.event_id, DeliveryKind::Original, result)
                    .await
                    .unwrap();
            }
            ids.push(ins.event_id);
        }
        ids
    });
    drop(writer);
    store.close();
    ids
}

/// A request the Target received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// When its head arrived.
    pub at: std::time::Instant,
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

/// A real hyper server standing in for the user's app: answers 500 when the body contains
/// `fail`, else 200 with `{"ok":true}`, after `delay_ms`; records what it got and the most
/// requests it had in hand at once.
pub struct Target {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub delay_ms: Arc<AtomicU64>,
    pub peak: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl Target {
    pub fn start() -> Target {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let log = seen.clone();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let in_hand = Arc::new(AtomicUsize::new(0));
        let (delay, most) = (delay_ms.clone(), peak.clone());
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, delay, most, in_hand) =
                    (log.clone(), delay.clone(), most.clone(), in_hand.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (log, delay, most, in_hand) =
                            (log.clone(), delay.clone(), most.clone(), in_hand.clone());
                        async move {
                            let at = std::time::Instant::now();
                            most.fetch_max(in_hand.fetch_add(1, SeqCst) + 1, SeqCst);
                            let path = req.uri().to_string();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                                .collect();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let status = if body.windows(4).any(|w| w == b"fail") {
                                500
                            } else {
                                200
                            };
                            log.lock().unwrap().push(Seen {
                                at,
                                path,
                                headers,
                                body,
                            });
                            let wait = delay.load(SeqCst);
                            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                            in_hand.fetch_sub(1, SeqCst);
                            let answer = format!("{{\"ok\":{},\"n\":1}}", status == 200);
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(answer)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Target {
            url: format!("http://{addr}"),
            seen,
            delay_ms,
            peak,
            _runtime: runtime,
        }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}
