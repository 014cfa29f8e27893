//! What the hardening scenarios share: a Target that only hashes what it gets (so memory stays
//! flat under load), the real binary with its own environment, /proc readings (peak RSS, open
//! files), a rate-limited sender, and tools that CI installs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use crate::common::Binary;

/// Hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One request as the hashing Target saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub id: Option<String>,
    pub len: usize,
    pub sha256: String,
}

/// A Target that records only each request's id (`x-id`), length and SHA-256, and waits
/// `delay_ms` (changeable while it runs) before answering `200 ok`.
pub struct Sink {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub delay_ms: Arc<AtomicU64>,
    /// Requests that reached the Target (counted before the body is read).
    pub started: Arc<AtomicUsize>,
    /// Answers the Target has made (after its delay), whether or not anyone still listened.
    pub answered: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Sink {
    pub async fn start() -> Sink {
        Sink::on(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    /// A Sink on a socket already bound (to come back on the same port after a "crash").
    pub fn on(socket: TcpListener) -> Sink {
        let addr = socket.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let (s, d, st, an) = (
            seen.clone(),
            delay_ms.clone(),
            started.clone(),
            answered.clone(),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = socket.accept().await else {
                    return;
                };
                let (s, d, st, an) = (s.clone(), d.clone(), st.clone(), an.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (s, d, st, an) = (s.clone(), d.clone(), st.clone(), an.clone());
                        async move {
                            st.fetch_add(1, Ordering::SeqCst);
                            let (parts, body) = req.into_parts();
                            let mut hasher = Sha256::new();
                            let mut len = 0;
                            let mut body = body;
                            while let Some(frame) = body.frame().await {
                                let Ok(frame) = frame else { break };
                                if let Ok(data) = frame.into_data() {
                                    len += data.len();
                                    hasher.update(&data);
                                }
                            }
                            s.lock().unwrap().push(Seen {
                                method: parts.method.to_string(),
                                uri: parts.uri.to_string(),
                                id: parts
                                    .headers
                                    .get("x-id")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_string),
                                len,
                                sha256: hex::encode(hasher.finalize()),
                            });
                            let wait = d.load(Ordering::SeqCst);
                            // In its own task: it runs on even if hooktap gives up and hyper
                            // drops this request.
                            let answer = tokio::spawn(async move {
                                if wait > 0 {
                                    tokio::time::sleep(Duration::from_millis(wait)).await;
                                }
                                an.fetch_add(1, Ordering::SeqCst);
                            });
                            let _ = answer.await;
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Sink {
            addr,
            seen,
            delay_ms,
            started,
            answered,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// How many times each `x-id` arrived.
    pub fn ids(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for s in self.seen.lock().unwrap().iter() {
            if let Some(id) = &s.id {
                *m.entry(id.clone()).or_insert(0) += 1;
            }
        }
        m
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts `hooktap listen --port 0 --no-tui --db DB --forward TARGET EXTRA...` with `env` set
/// (and `HOME`/`XDG_CONFIG_HOME` pointed away from the real ones), and waits until it listens.
pub fn listen(db: &Path, target: &str, extra: &[&str], env: &[(&str, &str)]) -> Binary {
    let mut cmd = crate::common::hooktap();
    let home = db.parent().unwrap().join("home");
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("HOOKTAP_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(crate::common::listen_args(target, db)).args(extra);
    Binary::spawn(cmd)
}

/// A value from `/proc/PID/status` in KiB (`VmHWM`: peak RSS; `VmRSS`: RSS now).
pub fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Open file descriptors of a process.
pub fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Makes sure this process (and the processes it starts) may open `want` files: raises the
/// soft limit up to the hard one with `prlimit`, and fails loudly if the hard limit is lower.
pub fn allow_open_files(want: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files in /proc/self/limits");
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let (soft, hard) = (nums[0], nums[1]);
    assert!(
        hard >= want,
        "this test needs {want} open files but the hard limit is {hard}: raise it (ulimit -Hn)"
    );
    if soft < want {
        require("prlimit");
        let pid = std::process::id().to_string();
        let ok = Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "prlimit could not raise the open-file limit to {hard}");
    }
}

/// Panics (never skips) when a tool the scenarios need is missing; `.ci/run` installs them.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is missing: install it (.ci/run does: apt-get install {tool}); this test does not skip"
    );
}

/// A keep-alive HTTP/1.1 client.
pub type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

pub fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build_http()
}

/// POSTs `body` with `x-id: id`; the status, or `None` when the request failed outright.
pub async fn send(client: &Client, url: &str, id: &str, body: Bytes) -> Option<u16> {
    let req = hyper::Request::post(url)
        .header("x-id", id)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap();
    let resp = client.request(req).await.ok()?;
    let status = resp.status().as_u16();
    // Read the answer through, so the connection goes back to the pool.
    let _ = resp.into_body().collect().await;
    Some(status)
}

/// What a rate-limited run of requests got back.
#[derive(Debug, Default)]
pub struct Run {
    /// Ids whose sender got a 2xx.
    pub acked: Vec<String>,
    /// Status (or `None`: failed outright) of every request that did not get a 2xx.
    pub failed: Vec<(String, Option<u16>)>,
    /// Latency of each request, in order of completion.
    pub latencies: Vec<Duration>,
}

impl Run {
    /// The `q` quantile (0..=1) of the latencies.
    pub fn quantile(&self, q: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l.get(((l.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    }
}

/// Sends `total` requests at `rate` per second (open loop, at most `concurrency` in flight),
/// each with a unique id `PREFIX-N` and the body `make(N)`; waits for all answers.
pub async fn paced(
    url: &str,
    prefix: &str,
    total: usize,
    rate: u32,
    concurrency: usize,
    make: impl Fn(usize) -> Bytes,
) -> Run {
    let client = client();
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let run = Arc::new(Mutex::new(Run::default()));
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        tokio::time::sleep_until(start + gap * n as u32).await;
        let permit = slots.clone().acquire_owned().await.unwrap();
        let (client, url, run) = (client.clone(), url.to_string(), run.clone());
        let (id, body) = (format!("{prefix}-{n}"), make(n));
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let status = send(&client, &url, &id, body).await;
            let took = t.elapsed();
            let mut r = run.lock().unwrap();
            r.latencies.push(took);
            match status {
                Some(s) if (200..300).contains(&s) => r.acked.push(id),
                other => r.failed.push((id, other)),
            }
            drop(permit);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(run).unwrap().into_inner().unwrap()
}

/// Reads the Store with plain SQL: `(x-id header, body SHA-256, delivery outcome)` per Event.
pub fn stored(db: &Path) -> Vec<(Option<String>, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT bodies.headers, hex(events.body_sha256), events.outcome \
             FROM events JOIN bodies ON bodies.event_id = events.id ORDER BY events.id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        let headers: Vec<u8> = r.get(0)?;
        let id = hooktap::event::HeaderList::decode(&headers)
            .and_then(|h| h.get_str("x-id").map(str::to_string));
        Ok((id, r.get::<_, String>(1)?.to_lowercase(), r.get(2)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// `PRAGMA integrity_check` of a Store (on a copy-free read connection).
pub fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}
