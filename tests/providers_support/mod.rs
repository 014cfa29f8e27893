//! Test helpers for `tests/providers.rs`: a tiny recording app, a `hooktap listen` child
//! process whose JSON lines arrive on a channel, and a raw HTTP/1.1 client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod fixtures;
pub mod signed;

use serde_json::Value;

/// A request the app received: headers and body.
pub type Seen = (Vec<(String, String)>, Vec<u8>);

/// An app on a free port answering `200 {"ok":true}` and keeping every request.
pub struct App {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl App {
    pub fn start() -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let keep = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let keep = keep.clone();
                std::thread::spawn(move || serve(stream, keep));
            }
        });
        App { port, seen }
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The latest request.
    pub fn last(&self) -> Option<Seen> {
        self.seen.lock().unwrap().last().cloned()
    }
}

/// Serves one keep-alive connection until the peer closes it.
fn serve(stream: TcpStream, keep: Arc<Mutex<Vec<Seen>>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        keep.lock().unwrap().push((headers, body));
        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// The hooktap binary with an environment of its own: no secrets or Store from the caller's.
pub fn command(config_home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hooktap"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HOOKTAP_SECRET_") || k == "HOOKTAP_DB" {
            cmd.env_remove(k);
        }
    }
    cmd.env("XDG_CONFIG_HOME", config_home);
    cmd
}

/// Runs hooktap to completion.
pub fn hooktap(args: &[&str]) -> Output {
    command(Path::new("/nonexistent/hooktap-test-config"))
        .args(args)
        .output()
        .unwrap()
}

/// Starts hooktap with `args`; its stdout lines arrive on the channel.
pub fn spawn_lines(args: &[&str]) -> (Receiver<String>, Child) {
    let mut child = command(Path::new("/nonexistent/hooktap-test-config"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (rx, child)
}

/// Sends SIGINT (Ctrl-C) to a child.
pub fn interrupt(child: &Child) {
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
}

/// `hooktap listen --json` on a free port in front of an [`App`].
pub struct Listen {
    pub port: u16,
    pub db: PathBuf,
    /// Everything it printed on stderr up to "listening on".
    pub banner: String,
    lines: Receiver<String>,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Listen {
    pub fn start(app: &App, secrets: &[String], flags: &[&str]) -> Listen {
        Listen::start_with(
            app,
            secrets,
            flags,
            Path::new("/nonexistent/hooktap-test-config"),
            &[],
        )
    }

    pub fn start_with(
        app: &App,
        secrets: &[String],
        flags: &[&str],
        config_home: &Path,
        env: &[(&str, &str)],
    ) -> Listen {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.db");
        let forward = format!("http://127.0.0.1:{}", app.port);
        let mut cmd = command(config_home);
        cmd.args([
            "listen",
            "--forward",
            &forward,
            "--port",
            "0",
            "--json",
            "--db",
        ])
        .arg(&db)
        .args(secrets)
        .args(flags)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut banner = String::new();
        let port = loop {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "listen stopped: {banner}"
            );
            banner.push_str(&line);
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                break rest.trim().parse().unwrap();
            }
        };
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Listen {
            port,
            db,
            banner,
            lines,
            child,
            _dir: dir,
        }
    }

    /// The next Event whose Delivery finished, as `listen --json` printed it.
    pub fn next_event(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a JSON line from listen");
        serde_json::from_str(&line).unwrap()
    }

    /// Runs another hooktap command on this listen's Store.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--db");
        all.push(self.db.to_str().unwrap());
        hooktap(&all)
    }

    /// Posts the Ayrshare samples `names`, unsigned, each after the last one's Delivery.
    pub fn post_samples(&mut self, names: &[&str]) {
        for name in names {
            post(self.port, "/hooks/ayrshare", &[], &fixtures::fixture(name));
            self.next_event();
        }
    }

    /// What `show ID` prints for this Store.
    pub fn show(&self, id: &str) -> String {
        String::from_utf8(self.cli(&["show", id]).stdout).unwrap()
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 POST on a new connection; returns the status and body.
pub fn post(port: u16, path: &str, headers: &[(String, String)], body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
