//! Test harness: certificates made with rcgen, the real `hooktap` binary as Relay and Agent
//! (with their output lines), and direct looks into both databases.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hooktap::event::HeaderList;
use hooktap::store::body;

pub const BIN: &str = env!("CARGO_BIN_EXE_hooktap");

/// A CA and a server certificate for `localhost` and `127.0.0.1` signed by it, as PEM files.
pub struct Certs {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn certs(dir: &Path) -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let c = Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&c.ca, ca.pem()).unwrap();
    std::fs::write(&c.cert, cert.pem()).unwrap();
    std::fs::write(&c.key, key.serialize_pem()).unwrap();
    c
}

/// A self-signed certificate with CA:TRUE for `localhost` and `127.0.0.1` (what a plain
/// `openssl req -x509` makes), used as the Relay's own and given to the Agent as `ca`.
pub fn self_signed_ca(dir: &Path) -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let c = Certs {
        ca: dir.join("self-signed.pem"),
        cert: dir.join("self-signed.pem"),
        key: dir.join("self-signed-key.pem"),
    };
    std::fs::write(&c.cert, cert.pem()).unwrap();
    std::fs::write(&c.key, key.serialize_pem()).unwrap();
    c
}

/// A running `hooktap` process whose stdout and stderr lines are collected.
pub struct Proc {
    pub child: Child,
    name: String,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    cursor: usize,
}

impl Proc {
    pub fn spawn(name: &str, args: &[String]) -> Proc {
        Proc::spawn_env(name, args, &[])
    }

    /// [`Proc::spawn`] with more environment variables.
    pub fn spawn_env(name: &str, args: &[String], env: &[(&str, &str)]) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .env("HOOKTAP_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
        for stream in [out, err] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.0.lock().unwrap().push(line);
                    lines.1.notify_all();
                }
            });
        }
        Proc {
            child,
            name: name.into(),
            lines,
            cursor: 0,
        }
    }

    /// Waits for a line (after the last one waited for) containing `needle`.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.lines;
        let mut lines = lock.lock().unwrap();
        loop {
            if let Some(i) = lines[self.cursor..].iter().position(|l| l.contains(needle)) {
                self.cursor += i + 1;
                return lines[self.cursor - 1].clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "{}: no line with {needle:?} within {timeout:?}; output:\n{}",
                    self.name,
                    lines.join("\n")
                );
            }
            lines = cvar.wait_timeout(lines, left).unwrap().0;
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.lines.0.lock().unwrap().join("\n")
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} still running after {timeout:?}; output:\n{}",
                    self.name,
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Relay started on `port` (0: any), returning it with its port.
pub fn relay(dir: &Path, certs: &Certs, port: u16, extra: &[&str]) -> (Proc, u16) {
    let mut args: Vec<String> = [
        "relay",
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--tls-cert",
        certs.cert.to_str().unwrap(),
        "--tls-key",
        certs.key.to_str().unwrap(),
        "--db",
        dir.join("relay.db").to_str().unwrap(),
        "--handshake-timeout",
        "1s",
        "--ping",
        "1s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut p = Proc::spawn("relay", &args);
    let line = p.wait_for("listening on https://127.0.0.1:", Duration::from_secs(20));
    let port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    (p, port)
}

/// `hooktap relay channel ...`; returns stdout (the token for add and rotate).
pub fn channel(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["relay", "channel"])
        .args(args)
        .arg("--db")
        .arg(dir.join("relay.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "channel {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// An Agent for `channel` on the Relay at `port`, forwarding to `target`, with short test
/// timings. Does not wait for it to connect.
pub fn agent(
    dir: &Path,
    certs: &Certs,
    port: u16,
    channel: &str,
    token: &str,
    target: &str,
    extra: &[&str],
) -> Proc {
    let db = dir.join(format!("agent-{channel}.db"));
    let mut args = crate::common::listen_args(target, &db);
    args.extend(
        [
            "--relay",
            &format!("https://localhost:{port}"),
            "--channel",
            channel,
            "--token",
            token,
            "--relay-ca",
            certs.ca.to_str().unwrap(),
            "--relay-ping",
            "1s",
        ]
        .map(String::from),
    );
    if !extra.contains(&"--relay-backoff-min") {
        args.extend(["--relay-backoff-min", "50ms", "--relay-backoff-max", "1s"].map(String::from));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Proc::spawn(&format!("agent {channel}"), &args)
}

/// Events waiting on the Relay (all Channels), read from its database.
pub fn relay_queued(dir: &Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("relay.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row(
        "SELECT count(*) FROM events WHERE state = 'queued'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// A stored Event: uid, headers, body (and the Relay's state, when read from the Relay).
pub struct Stored {
    pub uid: String,
    pub headers: HeaderList,
    pub body: Vec<u8>,
    pub extra: Option<String>,
}

pub fn relay_events(dir: &Path) -> Vec<Stored> {
    read(
        &dir.join("relay.db"),
        "SELECT uid, headers, body, state, NULL FROM events ORDER BY seq",
    )
}

pub fn agent_events(dir: &Path, channel: &str) -> Vec<Stored> {
    read(
        &dir.join(format!("agent-{channel}.db")),
        "SELECT uid, headers, body, ingress, encoding FROM events JOIN bodies ON event_id = id \
         ORDER BY id",
    )
}

/// Reads rows of `uid, headers, body, extra, encoding` (the agent's Store may keep bodies
/// compressed).
fn read(path: &Path, sql: &str) -> Vec<Stored> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| {
        Ok(Stored {
            uid: r.get(0)?,
            headers: HeaderList::decode(&r.get::<_, Vec<u8>>(1)?).unwrap(),
            body: body::unpack(r.get(2)?, r.get::<_, Option<String>>(4)?.as_deref()).unwrap(),
            extra: r.get(3)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}
