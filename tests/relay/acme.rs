//! `hooktap relay --acme` against pebble, Let's Encrypt's test ACME server (it validates
//! nothing here: PEBBLE_VA_ALWAYS_VALID): the Relay obtains a certificate, serves it to a client
//! that trusts pebble's root, caches it (0600), and renews it without closing an open Tunnel.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::harness::*;
use crate::nginx::{free_port, tool};
use crate::web::*;
use crate::{SECS, wait};

/// pebble on two free ports, its certificates valid `validity` seconds; killed when dropped.
struct Pebble {
    child: Child,
    dir_url: String,
    /// The CA of pebble's own HTTPS certificate (the Relay's directory CA override).
    https_ca: std::path::PathBuf,
    /// pebble's root for the certificates it issues (new at every start).
    root: std::path::PathBuf,
}

impl Pebble {
    /// `check`: the challenge ports pebble really validates on (HTTP-01, TLS-ALPN-01), with
    /// "localhost" resolved by the system; `None`: it validates nothing.
    async fn start(bin: &Path, dir: &Path, validity: u64, check: Option<(u16, u16)>) -> Pebble {
        let pdir = dir.join("pebble");
        std::fs::create_dir_all(&pdir).unwrap();
        let https = certs(&pdir);
        let (port, mgmt) = (free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt}"),
            "certificate": https.cert, "privateKey": https.key,
            "httpPort": check.map_or(5002, |c| c.0), "tlsPort": check.map_or(5001, |c| c.1),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity,
        }});
        let cfg = pdir.join("pebble.json");
        std::fs::write(&cfg, config.to_string()).unwrap();
        let child = Command::new(bin)
            .arg("-config")
            .arg(&cfg)
            .envs([
                (
                    "PEBBLE_VA_ALWAYS_VALID",
                    if check.is_some() { "0" } else { "1" },
                ),
                ("PEBBLE_VA_NOSLEEP", "1"),
                ("PEBBLE_WFE_NONCEREJECT", "0"),
                ("PEBBLE_AUTHZREUSE", "0"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let up = eventually(SECS(15), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", mgmt)).is_ok()
        })
        .await;
        assert!(up, "pebble did not start on {port}/{mgmt}");
        let client = provider(&https);
        let url = format!("https://localhost:{mgmt}/roots/0");
        let req = http::Request::get(url)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let root = resp.into_body().collect().await.unwrap().to_bytes();
        let root_path = pdir.join("root.pem");
        std::fs::write(&root_path, &root).unwrap();
        Pebble {
            child,
            dir_url: format!("https://localhost:{port}/dir"),
            https_ca: https.ca,
            root: root_path,
        }
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Relay with `--acme localhost` against `pebble`, on `port` (0: any), with `extra` flags
/// and HTTP-01 on `http_port`.
fn acme_relay(dir: &Path, pebble: &Pebble, port: u16, extra: &[&str], http: u16) -> (Proc, u16) {
    let mut args: Vec<String> = [
        "relay",
        "--acme",
        "localhost",
        "--acme-email",
        "test@example.com",
        "--acme-directory",
        &pebble.dir_url,
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--db",
        dir.join("relay.db").to_str().unwrap(),
        "--ping",
        "1s",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    let http = http.to_string();
    let env = [
        (
            "HOOKTAP_ACME_DIRECTORY_CA",
            pebble.https_ca.to_str().unwrap(),
        ),
        ("HOOKTAP_ACME_HTTP_PORT", &http),
    ];
    let mut p = Proc::spawn_env("relay", &args, &env);
    let line = p.wait_for("listening on https://127.0.0.1:", SECS(20));
    let port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    (p, port)
}

/// The leaf certificate a fresh TLS connection to the Relay gets (trusting pebble's root).
async fn served(trust: &Certs, port: u16) -> Vec<u8> {
    let tls = tls_connect(trust, port).await;
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_gets_its_certificate_by_acme_and_renews_it_under_an_open_tunnel() {
    let Some(bin) = tool("pebble", "HOOKTAP_REQUIRE_PEBBLE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pebble = Pebble::start(&bin, dir.path(), 9, None).await;
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    let (mut relay, port) = acme_relay(dir.path(), &pebble, 0, &[], 0);
    wait(&mut relay, "certificate for localhost: obtained", 30);

    // A client that trusts pebble's root (and nothing else) reaches the Relay.
    let trust = Certs {
        ca: pebble.root.clone(),
        cert: pebble.root.clone(),
        key: pebble.root.clone(),
    };
    let first = served(&trust, port).await;
    let client = provider(&trust);
    let mut agent = agent(dir.path(), &trust, port, "alice", &token, &target.url, &[]);
    wait(&mut agent, "tunnel connected", 20);
    let hook = format!("https://localhost:{port}/c/alice/hooks/x");
    assert_eq!(post(&client, &hook, &[], "before").await.status, 201);

    // Cached in the data folder, readable by its owner only.
    let cached: Vec<_> = std::fs::read_dir(dir.path().join("acme"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 2, "account and certificate: {cached:?}");
    for f in &cached {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }

    // Renewed at two thirds of its 9 s: new connections get the new one, the Tunnel stays.
    wait(&mut relay, "certificate for localhost renewed", 30);
    let second = served(&trust, port).await;
    assert_ne!(first, second, "a new certificate is served");
    assert_eq!(post(&client, &hook, &[], "after").await.status, 201);
    assert!(
        !agent.output().contains("tunnel down"),
        "the Tunnel stayed up:\n{}",
        agent.output()
    );
    assert_eq!(target.bodies(), ["before", "after"].map(String::from));

    // A restart serves the cached certificate (still valid) without ordering first.
    relay.kill9();
    let (mut again, _) = acme_relay(dir.path(), &pebble, 0, &[], 0);
    wait(
        &mut again,
        "certificate for localhost: cached, valid until",
        20,
    );
}

/// pebble really checks the challenges here: TLS-ALPN-01 on the Relay's own port, then
/// HTTP-01 (`--acme-http`) on a port of the Relay's own for the length of the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pebble_validates_the_relays_tls_alpn_and_http_challenges() {
    let Some(bin) = tool("pebble", "HOOKTAP_REQUIRE_PEBBLE") else {
        return;
    };
    for http in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (http_port, relay_port) = (free_port(), free_port());
        let check = Some((http_port, relay_port));
        let pebble = Pebble::start(&bin, dir.path(), 3600, check).await;
        let extra: &[&str] = if http { &["--acme-http"] } else { &[] };
        let (mut relay, port) = acme_relay(dir.path(), &pebble, relay_port, extra, http_port);
        wait(&mut relay, "certificate for localhost: obtained", 30);
        let trust = Certs {
            ca: pebble.root.clone(),
            cert: pebble.root.clone(),
            key: pebble.root.clone(),
        };
        assert!(!served(&trust, port).await.is_empty());
    }
}
