//! The tunnel's life: URL, arguments, runtime file, restart, no orphan, errors.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::{Behaviour, TestTarget, hooktap, post};
use crate::fakes::{Fakes, alive, command, forwarded_port, gone_within, start, wait_line};

fn list(db: &std::path::Path) -> Vec<serde_json::Value> {
    let out = hooktap()
        .args(["list", "--json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sigterm(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Pass: the cloudflared banner's URL is shown and written to the runtime file (0600), the
/// tunnel gets its own loopback port where `Cf-Connecting-Ip` names the sender (and the public
/// port ignores it), and a clean stop ends the tunnel and removes the file.
#[tokio::test]
async fn cloudflared_url_shown_recorded_and_the_sender_address_from_the_tunnel_only() {
    let fakes = Fakes::new();
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let db = fakes.dir.path().join("events.db");
    let cmd = command(
        &fakes,
        &db,
        &target.url(),
        &["--public", "cloudflared"],
        &[],
    );
    let (mut bin, url) = start(cmd);
    assert_eq!(url, "https://quiet-forest-1.trycloudflare.com");
    assert!(wait_line(&bin, "public URL: ", Duration::ZERO).contains("cloudflared quick tunnel"));

    let args = fakes.args();
    assert_eq!(&args[..3], ["tunnel", "--no-autoupdate", "--config"]);
    let config = std::fs::read_to_string(&args[3]).unwrap();
    assert!(!config.contains("ingress"), "an empty config: {config}");
    assert_eq!(args[4], "--url");
    let port = forwarded_port(&args);
    assert_ne!(port, bin.addr.port(), "the tunnel has its own port");

    let runtime = db.with_file_name("events.db.runtime.json");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&runtime).unwrap()).unwrap();
    assert_eq!(json["public_url"], url);
    assert_eq!(json["port"], bin.addr.port());
    assert_eq!(json["pid"], bin.child.id());
    let mode = std::fs::metadata(&runtime).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let spoof: &[(&str, &[u8])] = &[("cf-connecting-ip", b"198.51.100.7")];
    let via_tunnel = format!("http://127.0.0.1:{port}/hooks/tunnel");
    let host: &[(&str, &[u8])] = &[
        ("host", b"quiet-forest-1.trycloudflare.com"),
        ("cf-connecting-ip", b"198.51.100.7"),
    ];
    assert_eq!(post(&via_tunnel, host, b"{}".to_vec()).await.0, 200);
    assert_eq!(
        post(&bin.url("/hooks/direct"), spoof, b"{}".to_vec())
            .await
            .0,
        200
    );
    let events = list(&db);
    let by_path = |p: &str| events.iter().find(|e| e["path"] == p).unwrap()["remote_addr"].clone();
    assert_eq!(by_path("/hooks/tunnel"), "198.51.100.7");
    let direct = by_path("/hooks/direct");
    assert!(
        direct.as_str().unwrap().starts_with("127.0.0.1:"),
        "{direct}"
    );
    assert_eq!(target.count(), 2, "both reached the app");

    let tunnel = fakes.pid().unwrap();
    sigterm(bin.child.id());
    let status = bin.child.wait().unwrap();
    assert!(status.success(), "{:?}", bin.stderr.lock().unwrap());
    assert!(!alive(tunnel), "the tunnel stops with hooktap");
    assert!(!runtime.exists(), "the runtime file is removed on exit");
}

/// Pass: a tunnel that dies is reported and restarted, and its new URL shown and recorded.
#[tokio::test]
async fn a_tunnel_that_dies_is_restarted_with_its_new_url() {
    let fakes = Fakes::new();
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let db = fakes.dir.path().join("events.db");
    let cmd = command(
        &fakes,
        &db,
        &target.url(),
        &["--public", "cloudflared"],
        &[],
    );
    let (bin, url) = start(cmd);
    assert_eq!(url, "https://quiet-forest-1.trycloudflare.com");
    let first = fakes.pid().unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    let exited = wait_line(&bin, "cloudflared exited", Duration::from_secs(20));
    assert!(exited.contains("restarting"), "{exited}");
    let new = wait_line(&bin, "new public URL: ", Duration::from_secs(20));
    assert_eq!(new.trim(), "https://quiet-forest-2.trycloudflare.com");
    assert_eq!(fakes.runs(), 2);
    let runtime = db.with_file_name("events.db.runtime.json");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&runtime).unwrap()).unwrap();
    assert_eq!(
        json["public_url"],
        "https://quiet-forest-2.trycloudflare.com"
    );
}

/// Pass: `kill -9` of hooktap leaves no tunnel behind.
#[tokio::test]
async fn kill_9_of_hooktap_leaves_no_tunnel() {
    let fakes = Fakes::new();
    let db = fakes.dir.path().join("events.db");
    let cmd = command(
        &fakes,
        &db,
        "http://127.0.0.1:9",
        &["--public", "ngrok"],
        &[],
    );
    let (mut bin, url) = start(cmd);
    assert_eq!(url, "https://abcd-1.ngrok-free.dev");
    let tunnel = fakes.pid().unwrap();
    assert!(alive(tunnel));
    bin.kill9();
    assert!(
        gone_within(tunnel, Duration::from_secs(10)),
        "tunnel {tunnel} outlived hooktap"
    );
}

/// Pass: a Ctrl-C to hooktap's process group (as a terminal sends it) stops hooktap cleanly,
/// with no restart and no tunnel left behind.
#[tokio::test]
async fn ctrl_c_to_the_terminal_group_leaves_no_tunnel() {
    use std::os::unix::process::CommandExt;
    let fakes = Fakes::new();
    let db = fakes.dir.path().join("events.db");
    let mut cmd = command(
        &fakes,
        &db,
        "http://127.0.0.1:9",
        &["--public", "cloudflared"],
        &[],
    );
    cmd.process_group(0);
    let (mut bin, _) = start(cmd);
    let tunnel = fakes.pid().unwrap();
    let group = format!("-{}", bin.child.id());
    std::process::Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(
        bin.child.wait().unwrap().success(),
        "{:?}",
        bin.stderr.lock().unwrap()
    );
    assert!(
        gone_within(tunnel, Duration::from_secs(10)),
        "tunnel {tunnel} outlived hooktap"
    );
    assert_eq!(fakes.runs(), 1, "not restarted");
}

/// Pass: ngrok gets `http PORT --log stdout --log-format json` and its URL comes from the
/// `started tunnel` record; ssh tunnels get no-prompt options and their URLs are found past
/// the banners' links; there `X-Forwarded-For`'s last entry names the sender.
#[tokio::test]
async fn ngrok_localhost_run_and_pinggy_urls_and_arguments() {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    for (tool, want) in [
        ("ngrok", "https://abcd-1.ngrok-free.dev"),
        ("localhost.run", "https://3f2a1b1.lhr.life"),
        ("pinggy", "https://rnxyz1-1-2-3-4.a.free.pinggy.link"),
        (
            "exec:ngrok http {port} --log stdout --log-format json",
            "https://abcd-1.ngrok-free.dev",
        ),
    ] {
        let fakes = Fakes::new();
        let db = fakes.dir.path().join("events.db");
        let cmd = command(&fakes, &db, &target.url(), &["--public", tool], &[]);
        let (bin, url) = start(cmd);
        assert_eq!(url, want, "{tool}");
        let args = fakes.args();
        let port = forwarded_port(&args);
        assert_ne!(port, bin.addr.port());
        match tool {
            "ngrok" => assert_eq!(args[2..], ["--log", "stdout", "--log-format", "json"]),
            "localhost.run" | "pinggy" => {
                let line = args.join(" ");
                for opt in [
                    "BatchMode=yes",
                    "StrictHostKeyChecking=accept-new",
                    "ExitOnForwardFailure=yes",
                    "-T",
                    "-n",
                ] {
                    assert!(line.contains(opt), "{tool}: {line}");
                }
                let xff: &[(&str, &[u8])] = &[("x-forwarded-for", b"6.6.6.6, 203.0.113.9")];
                let url = format!("http://127.0.0.1:{port}/hooks/{}", tool.replace('.', "-"));
                assert_eq!(post(&url, xff, b"{}".to_vec()).await.0, 200);
                let events = list(&db);
                assert_eq!(events[0]["remote_addr"], "203.0.113.9", "{tool}");
            }
            _ => {}
        }
    }
}

/// Pass: a program that is not installed is one line saying how to install it (exit 1).
#[test]
fn a_missing_program_says_how_to_install_it() {
    let empty = tempfile::tempdir().unwrap();
    let db = empty.path().join("events.db");
    let out = hooktap()
        .args(crate::common::listen_args("http://127.0.0.1:9", &db))
        .args(["--public", "cloudflared"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cloudflared is not installed"), "{err}");
    assert!(err.contains("brew install cloudflared"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!db.exists(), "checked before the Store is made");
}

/// Pass: no URL in time is an error with the tunnel's last lines, and no tunnel is left; an
/// ngrok that refuses says the authtoken is needed.
#[test]
fn no_url_in_time_and_ngrok_refusing_are_clear_errors() {
    let fakes = Fakes::new();
    let db = fakes.dir.path().join("events.db");
    let env = [("FAKE_MODE", "silent"), ("HOOKTAP_PUBLIC_TIMEOUT", "1s")];
    let out = command(
        &fakes,
        &db,
        "http://127.0.0.1:9",
        &["--public", "cloudflared"],
        &env,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cloudflared gave no public URL within 1s"),
        "{err}"
    );
    assert!(
        err.contains("Requesting new quick Tunnel"),
        "the last lines: {err}"
    );
    assert!(gone_within(fakes.pid().unwrap(), Duration::from_secs(10)));

    let env = [("FAKE_MODE", "refuse")];
    let out = command(
        &fakes,
        &db,
        "http://127.0.0.1:9",
        &["--public", "ngrok"],
        &env,
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ngrok exited"), "{err}");
    assert!(err.contains("ngrok config add-authtoken"), "{err}");
    assert!(err.contains("ERR_NGROK_4018"), "{err}");
}
