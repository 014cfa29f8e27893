//! TLS policy (B8), checked with an independent client (`openssl s_client`): TLS 1.0 and 1.1
//! are refused by the Relay and by `listen --tls-*`, 1.2 and 1.3 work, early data is never
//! accepted; the Agent refuses a Relay whose certificate is from an unknown CA or for another
//! name; silent sockets do not block real handshakes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Certs, agent, certs, channel, relay};
use crate::support::{allow_open_files, require};
use crate::web::{post, provider, read_until_closed};

/// `openssl s_client` to 127.0.0.1:`port` with `args`; its output (stdout and stderr).
fn s_client(port: u16, args: &[&str]) -> String {
    s_client_with(port, args, b"")
}

/// [`s_client`] writing `input` once connected.
fn s_client_with(port: u16, args: &[&str], input: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        // OpenSSL 3 refuses TLS 1.0/1.1 itself at the default security level: lower it, so a
        // refusal can only come from the server.
        .args(["-cipher", "DEFAULT@SECLEVEL=0"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl");
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// The protocol a handshake agreed on, if it completed (`TLSv1.2`, ...). The `New, ...` (or
/// `Reused, ...`) line
/// says whether it completed (`(NONE)` when not) and, for TLS 1.3, the version; the session's
/// `Protocol` line (printed for older versions) says which one exactly.
fn agreed(output: &str) -> Option<String> {
    let new = output
        .lines()
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("New, ")
                .or_else(|| l.strip_prefix("Reused, "))
        })
        .and_then(|rest| rest.split(',').next())
        .filter(|v| *v != "(NONE)")?;
    let protocol = output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Protocol"))
        .and_then(|rest| rest.trim().strip_prefix(':'))
        .map(|p| p.trim().to_string());
    Some(protocol.unwrap_or_else(|| new.to_string()))
}

/// Proves the client side can speak TLS 1.0 and 1.1 here (else a refusal would prove nothing):
/// a local `openssl s_server` that allows them completes both.
fn old_versions_work_against_openssl(dir: &Path) {
    let (cert, key) = (dir.join("old-cert.pem"), dir.join("old-key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl req failed");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-www",
            "-cert",
        ])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    for (flag, want) in [("-tls1", "TLSv1"), ("-tls1_1", "TLSv1.1")] {
        let out = s_client(port, &[flag]);
        assert_eq!(
            agreed(&out).as_deref(),
            Some(want),
            "control {flag}:\n{out}"
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// Checks one TLS server on `port`: old versions refused, 1.2 and 1.3 agreed, no early data.
fn check_versions(what: &str, port: u16, dir: &Path) {
    for flag in ["-tls1", "-tls1_1"] {
        let out = s_client(port, &[flag]);
        assert_eq!(agreed(&out), None, "{what} accepted {flag}:\n{out}");
    }
    for (flag, want) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let out = s_client(port, &[flag]);
        assert_eq!(agreed(&out).as_deref(), Some(want), "{what} {flag}:\n{out}");
    }
    // 0-RTT: take a session, then offer early data with it.
    let session = dir.join(format!("{port}.session"));
    let early = dir.join("early.txt");
    std::fs::write(
        &early,
        "POST /c/alice/early HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
    )
    .unwrap();
    // A request that the server answers and then closes, so the session ticket arrives.
    let ask = b"GET /_hooktap/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let first = s_client_with(
        port,
        &[
            "-tls1_3",
            "-sess_out",
            session.to_str().unwrap(),
            "-ign_eof",
        ],
        ask,
    );
    assert!(agreed(&first).is_some(), "{first}");
    assert!(
        session.exists(),
        "{what} gave no session to resume:\n{first}"
    );
    let out = s_client(
        port,
        &[
            "-tls1_3",
            "-sess_in",
            session.to_str().unwrap(),
            "-early_data",
            early.to_str().unwrap(),
        ],
    );
    assert!(agreed(&out).is_some(), "{out}");
    assert!(
        out.contains("Reused, TLSv1.3"),
        "{what} did not resume:\n{out}"
    );
    assert!(
        !out.contains("Early data was accepted"),
        "{what} accepted early data:\n{out}"
    );
}

/// B8 for both TLS servers. Pass: against the Relay and `listen --tls-self-signed`,
/// `openssl s_client -tls1` and `-tls1_1` complete no handshake (while the same client does
/// complete them against an `openssl s_server` that allows them), `-tls1_2` and `-tls1_3`
/// agree on those versions, and early data is never accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_tls_versions_and_early_data_are_refused() {
    require("openssl");
    let dir = tempfile::tempdir().unwrap();
    old_versions_work_against_openssl(dir.path());
    let certs = certs(dir.path());
    channel(dir.path(), &["add", "alice"]);
    let (_relay, port) = relay(dir.path(), &certs, 0, &[]);
    tokio::task::block_in_place(|| check_versions("the Relay", port, dir.path()));

    let mut cmd = crate::common::hooktap();
    cmd.args([
        "listen",
        "--port",
        "0",
        "--no-tui",
        "--tls-self-signed",
        "--forward",
        "http://127.0.0.1:9",
        "--db",
    ])
    .arg(dir.path().join("events.db"))
    .env("HOME", dir.path());
    let bin = crate::common::Binary::spawn(cmd);
    tokio::task::block_in_place(|| {
        check_versions("listen --tls-self-signed", bin.addr.port(), dir.path())
    });
}

/// A new CA and a server certificate it signs for `name` only.
fn cert_for(dir: &Path, name: &str) -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![name.into()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let c = Certs {
        ca: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}-cert.pem")),
        key: dir.join(format!("{name}-key.pem")),
    };
    std::fs::write(&c.ca, ca.pem()).unwrap();
    std::fs::write(&c.cert, cert.pem()).unwrap();
    std::fs::write(&c.key, key.serialize_pem()).unwrap();
    c
}

/// B8, the Agent's side. Pass: an Agent given `--relay-ca` of another CA stops with exit 1 and
/// says the Relay failed the TLS check; so does an Agent reaching a Relay whose certificate
/// (from the trusted CA) names another host; with the right CA and name it connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_refuses_an_unknown_ca_and_a_wrong_name() {
    let dir = tempfile::tempdir().unwrap();
    let good = certs(dir.path());
    let token = channel(dir.path(), &["add", "alice"]);

    // Unknown CA: the Relay's certificate is fine, the Agent trusts another CA.
    let other = cert_for(dir.path(), "localhost");
    let (_relay, port) = relay(dir.path(), &good, 0, &[]);
    let wrong_ca = Certs {
        ca: other.ca.clone(),
        cert: good.cert.clone(),
        key: good.key.clone(),
    };
    let mut a = agent(
        dir.path(),
        &wrong_ca,
        port,
        "alice",
        &token,
        "http://127.0.0.1:9",
        &[],
    );
    let status = tokio::task::block_in_place(|| a.wait_exit(Duration::from_secs(20)));
    assert_eq!(status.code(), Some(1), "{}", a.output());
    assert!(
        a.output().contains("failed the TLS check"),
        "{}",
        a.output()
    );
    drop(_relay);

    // Wrong name: a Relay whose certificate (trusted CA) is for other.example.
    let named = cert_for(dir.path(), "other.example");
    let (_relay2, port2) = relay(dir.path(), &named, 0, &[]);
    let mut a = agent(
        dir.path(),
        &named,
        port2,
        "alice",
        &token,
        "http://127.0.0.1:9",
        &[],
    );
    let status = tokio::task::block_in_place(|| a.wait_exit(Duration::from_secs(20)));
    assert_eq!(status.code(), Some(1), "{}", a.output());
    assert!(
        a.output().contains("failed the TLS check"),
        "{}",
        a.output()
    );
    assert!(
        a.output().to_lowercase().contains("name"),
        "says the name is wrong: {}",
        a.output()
    );
    drop(_relay2);

    // The right CA and name: connected.
    let (_relay3, port3) = relay(dir.path(), &good, 0, &[]);
    let mut a = agent(
        dir.path(),
        &good,
        port3,
        "alice",
        &token,
        "http://127.0.0.1:9",
        &[],
    );
    tokio::task::block_in_place(|| a.wait_for("tunnel connected", Duration::from_secs(20)));
}

/// B8, silent sockets. Pass: 500 TCP connections to the Relay that never send a ClientHello
/// do not stop a real webhook over TLS from being answered; each silent one is closed by the
/// handshake deadline (1 s here) within 3 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_do_not_block_real_handshakes() {
    allow_open_files(2_000);
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    channel(dir.path(), &["add", "alice"]);
    let (_relay, port) = relay(dir.path(), &certs, 0, &[]);
    let opened = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..500 {
        silent.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap(),
        );
    }
    let client = provider(&certs);
    let r = post(
        &client,
        &format!("https://localhost:{port}/c/alice/real"),
        &[],
        "x",
    )
    .await;
    assert_eq!(
        r.status, 202,
        "a real webhook while 500 sockets stay silent"
    );
    for s in &mut silent {
        let (_, _, closed) = read_until_closed(
            s,
            Duration::from_secs(3).saturating_sub(opened.elapsed()) + Duration::from_millis(500),
        )
        .await;
        assert!(closed, "a silent socket outlived the handshake deadline");
    }
}
