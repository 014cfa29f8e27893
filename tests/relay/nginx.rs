//! The Relay behind a real nginx configured by `deploy/nginx.conf` (only WebSocket upgrades
//! pass): the round trip, the offline queue and the reconnect work through it, and an Agent
//! using the older `hooktap-tunnel/1` Upgrade is turned away there.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::harness::*;
use crate::web::*;
use crate::{SECS, wait};

/// A program from PATH or the sbin folders. Where `.ci/run` installs it (`require` names the
/// variable it sets) a missing tool is a failure; elsewhere the test says it skipped.
pub fn tool(name: &str, require: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/bin", "/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var_os(require).is_some() {
            panic!("{name} is required here ({require} is set) but not installed");
        }
        eprintln!("SKIPPED: {name} is not installed (apt-get install {name})");
    }
    found
}

/// A port that was free a moment ago (bound to 127.0.0.1:0, then closed).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A plain-HTTP Relay on 127.0.0.1 (`port` 0: any) announcing `public_url`, as behind a proxy.
fn plain_relay(dir: &Path, port: u16, public_url: &str) -> (Proc, u16) {
    let args = [
        "relay",
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--public-url",
        public_url,
        "--db",
        dir.join("relay.db").to_str().unwrap(),
        "--handshake-timeout",
        "1s",
        "--ping",
        "1s",
    ]
    .map(String::from);
    let mut p = Proc::spawn("relay", &args);
    let line = p.wait_for("listening on http://127.0.0.1:", SECS(20));
    let port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    (p, port)
}

/// nginx in the foreground, one process, everything in `dir`, serving `deploy/nginx.conf` with
/// its listen line, certificate paths and upstream port replaced.
struct Nginx(Child);

impl Nginx {
    async fn start(bin: &Path, dir: &Path, certs: &Certs, port: u16, relay: u16) -> Nginx {
        let recipe = include_str!("../../deploy/nginx.conf");
        let mut site = recipe.to_string();
        for (from, to) in [
            ("listen 443 ssl;", format!("listen 127.0.0.1:{port} ssl;")),
            (
                "/etc/letsencrypt/live/relay.example.com/fullchain.pem",
                certs.cert.display().to_string(),
            ),
            (
                "/etc/letsencrypt/live/relay.example.com/privkey.pem",
                certs.key.display().to_string(),
            ),
            ("127.0.0.1:8080", format!("127.0.0.1:{relay}")),
        ] {
            assert!(site.contains(from), "deploy/nginx.conf has no {from:?}");
            site = site.replace(from, &to);
        }
        let d = dir.display();
        std::fs::write(dir.join("site.conf"), site).unwrap();
        let main = format!(
            "pid {d}/nginx.pid;\nerror_log {d}/nginx-error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log {d}/nginx-access.log;\n\
             client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             include {d}/site.conf;\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off; master_process off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Nginx(child);
        let up = eventually(SECS(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                || nginx.0.try_wait().unwrap().is_some()
        })
        .await;
        if !up || nginx.0.try_wait().unwrap().is_some() {
            let log = std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default();
            panic!("nginx did not start on port {port}:\n{log}");
        }
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nginx_the_round_trip_the_queue_and_the_reconnect_work() {
    let Some(bin) = tool("nginx", "HOOKTAP_REQUIRE_NGINX") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    let bob = channel(dir.path(), &["add", "bob"]);
    let port = free_port();
    let public = format!("https://localhost:{port}");
    let (mut relay, relay_port) = plain_relay(dir.path(), 0, &public);
    let _nginx = Nginx::start(&bin, dir.path(), &certs, port, relay_port).await;
    let client = provider(&certs);
    let hook = format!("{public}/c/alice/hooks/x");

    // The round trip, over the WebSocket Tunnel through nginx.
    let mut agent1 = agent(dir.path(), &certs, port, "alice", &token, &target.url, &[]);
    let line = wait(&mut agent1, "tunnel connected", 20);
    assert!(line.contains(&format!("{public}/c/alice/")), "{line}");
    let reply = post(&client, &hook, &[], "live 0").await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(&reply.body[..], b"app-ok");

    // The offline queue: the Agent is gone, Events wait on the Relay, then arrive in order.
    agent1.kill9();
    wait(&mut relay, "alice  Agent gone", 10);
    for i in 1..=3 {
        assert_eq!(
            post(&client, &hook, &[], format!("queued {i}"))
                .await
                .status,
            202
        );
    }
    let mut agent2 = agent(dir.path(), &certs, port, "alice", &token, &target.url, &[]);
    let line = wait(&mut agent2, "tunnel connected", 20);
    assert!(line.contains("3 Events waiting"), "{line}");
    assert!(eventually(SECS(20), || target.count() == 4).await);
    assert_eq!(
        target.bodies(),
        ["live 0", "queued 1", "queued 2", "queued 3"].map(String::from)
    );

    // The reconnect: the Relay is killed and comes back on its port behind the same nginx.
    relay.kill9();
    wait(&mut agent2, "tunnel down", 20);
    let (_relay, _) = plain_relay(dir.path(), relay_port, &public);
    wait(&mut agent2, "tunnel connected", 30);
    // 201, or 202 if it came while the Relay was still draining its (empty) queue.
    let reply = post(&client, &hook, &[], "after restart").await;
    assert!([201, 202].contains(&reply.status), "{:?}", reply.body);
    assert!(eventually(SECS(20), || target.count() == 5).await);

    // nginx passes only WebSocket upgrades: the older Upgrade never reaches the Relay as one.
    let old = ["--relay-transport", "upgrade"];
    let mut refused = agent(dir.path(), &certs, port, "bob", &bob, &target.url, &old);
    let line = wait(&mut refused, "refused the Tunnel (400", 20);
    assert!(line.contains("takes only hooktap Tunnels"), "{line}");
}
