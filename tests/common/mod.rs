//! Shared test harness: a recording Target, the real binary, an in-process listener, raw sockets.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

use hooktap::capture::{Capture, Respond};
use hooktap::forward::{Forwarder, Target};
use hooktap::listener::{self, Limits};
use hooktap::providers::Providers;
use hooktap::store::{Durability, Store};

/// One request as the Target saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

/// What the test Target does with each request.
#[derive(Clone)]
pub enum Behaviour {
    /// Answer this status with body `target says <status>` and header `x-target: yes`.
    Status(u16),
    /// Wait until the Notify fires, then answer 200.
    Hold(Arc<Notify>),
    /// Never answer a request whose URI contains this; answer 200 to the others.
    HangOn(&'static str),
    /// Drop the connection, with no answer, on a request whose URI contains this (an app that
    /// crashes on one payload); answer 200 to the others.
    DropOn(&'static str),
}

/// A real hyper server on 127.0.0.1:0 that records every request.
pub struct TestTarget {
    pub addr: SocketAddr,
    pub received: mpsc::UnboundedReceiver<Received>,
    pub all: Arc<Mutex<Vec<Received>>>,
}

impl TestTarget {
    pub async fn start(behaviour: Behaviour) -> TestTarget {
        TestTarget::start_at("127.0.0.1:0".parse().unwrap(), behaviour).await
    }

    /// Like [`TestTarget::start`], on `addr` (an app that comes back on its old port).
    pub async fn start_at(addr: SocketAddr, behaviour: Behaviour) -> TestTarget {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, received) = mpsc::unbounded_channel();
        let all = Arc::new(Mutex::new(Vec::new()));
        let all2 = all.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                let all = all2.clone();
                let behaviour = behaviour.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        let all = all.clone();
                        let behaviour = behaviour.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let r = Received {
                                method: parts.method.to_string(),
                                uri: parts.uri.to_string(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                                    .collect(),
                                body,
                            };
                            let uri = r.uri.clone();
                            all.lock().unwrap().push(r.clone());
                            let _ = tx.send(r);
                            let status = match behaviour {
                                Behaviour::Status(s) => s,
                                Behaviour::Hold(n) => {
                                    n.notified().await;
                                    200
                                }
                                Behaviour::HangOn(part) if uri.contains(part) => {
                                    std::future::pending::<()>().await;
                                    200
                                }
                                Behaviour::DropOn(part) if uri.contains(part) => {
                                    return Err(std::io::Error::other("dropped on purpose"));
                                }
                                Behaviour::HangOn(_) | Behaviour::DropOn(_) => 200,
                            };
                            let mut resp = hyper::Response::new(Full::new(Bytes::from(format!(
                                "target says {status}"
                            ))));
                            *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            resp.headers_mut()
                                .insert("x-target", "yes".parse().unwrap());
                            Ok::<_, std::io::Error>(resp)
                        }
                    });
                    let _ = http1::Builder::new()
                        .max_headers(200)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestTarget {
            addr,
            received,
            all,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn count(&self) -> usize {
        self.all.lock().unwrap().len()
    }
}

/// hooktap running in this process, on 127.0.0.1:0.
pub struct InProcess {
    pub addr: SocketAddr,
    pub store: Store,
    pub shutdown: tokio_util::sync::CancellationToken,
    pub server: tokio::task::JoinHandle<()>,
    pub dir: tempfile::TempDir,
}

impl InProcess {
    pub async fn start(
        target: &str,
        limits: Limits,
        respond: Respond,
        timeout: Duration,
    ) -> InProcess {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("events.db"), Durability::Normal).unwrap();
        let forwarder = Arc::new(Forwarder::new(timeout, 25 << 20));
        let capture = Arc::new(Capture::new(
            store.writer(),
            forwarder,
            Target::parse(target).unwrap(),
            respond,
            Providers::default(),
        ));
        let socket = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(listener::serve(
            socket,
            None,
            capture,
            limits,
            shutdown.clone(),
        ));
        InProcess {
            addr,
            store,
            shutdown,
            server,
            dir,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("events.db")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// hooktap in process (passthrough) in front of a Target answering 200, on a runtime of its
/// own: one setup shared by every case of a (synchronous) property test.
pub struct Shared {
    pub rt: tokio::runtime::Runtime,
    pub hooktap: InProcess,
    pub target: TestTarget,
}

impl Shared {
    /// Starts both with `limits` and `timeout` for the Target's answers.
    pub fn start(limits: Limits, timeout: Duration) -> Shared {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (hooktap, target) = rt.block_on(async {
            let target = TestTarget::start(Behaviour::Status(200)).await;
            let hooktap =
                InProcess::start(&target.url(), limits, Respond::Passthrough, timeout).await;
            (hooktap, target)
        });
        Shared {
            rt,
            hooktap,
            target,
        }
    }
}

/// The real binary, started with `listen`.
pub struct Binary {
    pub child: Child,
    pub addr: SocketAddr,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

pub fn hooktap() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hooktap"));
    cmd.env_remove("HOOKTAP_DB").env("NO_COLOR", "1");
    cmd
}

/// Runs `hooktap ARGS --db DB` to the end.
pub fn on_store(db: &Path, args: &[&str]) -> std::process::Output {
    hooktap()
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("the hooktap binary runs")
}

/// [`on_store`], asserting success; its stdout.
pub fn ok_on(db: &Path, args: &[&str]) -> String {
    let out = on_store(db, args);
    assert!(
        out.status.success(),
        "hooktap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `listen --port 0 --no-tui --forward TARGET --db DB`: the arguments every test's `listen`
/// starts from.
pub fn listen_args(target: &str, db: &Path) -> Vec<String> {
    let db = db.to_str().expect("test paths are UTF-8");
    [
        "listen",
        "--port",
        "0",
        "--no-tui",
        "--forward",
        target,
        "--db",
        db,
    ]
    .map(String::from)
    .to_vec()
}

impl Binary {
    /// Starts `hooktap listen --port 0 --no-tui --db DB --forward TARGET EXTRA...` and waits for
    /// its "listening on" line.
    pub fn listen(db: &Path, target: &str, extra: &[&str]) -> Binary {
        let mut cmd = hooktap();
        cmd.args(listen_args(target, db)).args(extra);
        Binary::spawn(cmd)
    }

    /// Spawns `cmd` (some form of `listen`), keeps its stderr lines, and waits for its
    /// "listening on" line. Its stdout (one line per Delivery) is not kept: unread, a busy run
    /// would fill the pipe and stall it.
    pub fn spawn(cmd: Command) -> Binary {
        Binary::spawn_to(cmd, Stdio::null())
    }

    /// [`Binary::spawn`], with its stdout (the log lines) going to `stdout`.
    pub fn spawn_to(mut cmd: Command, stdout: Stdio) -> Binary {
        let mut child = cmd
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hooktap");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let addr = line
                    .split("listening on ")
                    .nth(1)
                    .map(|rest| rest.split("://").nth(1).unwrap_or("").trim().to_string());
                // Kept before the address is announced, so a caller that has the address
                // also sees the line.
                kept.lock().unwrap().push(line);
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("hooktap did not start: {:?}", lines.lock().unwrap()));
        Binary {
            child,
            addr: addr.parse().unwrap(),
            stderr: lines,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends raw bytes, then reads until the server closes or `wait` passes; returns what came back
/// and whether the server closed the connection.
pub async fn raw(addr: SocketAddr, bytes: &[u8], wait: Duration) -> (String, bool) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    read_all(&mut s, wait).await
}

pub async fn read_all(s: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let closed = loop {
        match tokio::time::timeout(wait, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// A simple HTTP/1.1 client (hyper) for tests.
pub async fn post(
    url: &str,
    headers: &[(&str, &[u8])],
    body: Vec<u8>,
) -> (u16, Vec<(String, String)>, Bytes) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = hyper::Request::post(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

/// Polls `check` until it returns Some or `limit` passes.
pub async fn eventually<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Like [`eventually`], for checks that need to await.
pub async fn eventually_async<T, F: Future<Output = Option<T>>>(
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SplitMix64: a small seeded generator, so a failing run can be replayed from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// `len` random letters and digits: text the Store cannot compress, for tests about how
    /// much it holds (a repeated letter shrinks to almost nothing).
    pub fn letters(&mut self, len: usize) -> String {
        const SET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|_| SET[self.below(SET.len() as u64) as usize] as char)
            .collect()
    }
}
