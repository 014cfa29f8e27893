//! Loop refusal: `--forward` at hooktap's own listener is a usage error; a request that comes
//! back with this process's `Hooktap-Hop` id, or through too many hooktaps, is answered 508
//! and neither stored nor forwarded; two hooktaps forwarding to each other stop at once.

use std::time::Duration;

use crate::common::{Behaviour, Binary, InProcess, TestTarget, hooktap, post};
use hooktap::capture::Respond;
use hooktap::listener::Limits;
use hooktap::store::Reader;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn stored(db: &std::path::Path) -> usize {
    Reader::open(db).unwrap().recent(100, None).unwrap().len()
}

/// Pass: `--forward` naming the listener's own port on this machine exits 2 and says why.
#[test]
fn forward_to_own_listener_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    for target in [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}/hooks"),
    ] {
        let out = hooktap()
            .args([
                "listen",
                "--no-tui",
                "--port",
                &port,
                "--forward",
                &target,
                "--db",
            ])
            .arg(dir.path().join("events.db"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("own listener"), "{err}");
    }
}

/// Pass: a request that already went through 4 hooktaps is answered 508, not stored, and the
/// app never sees it; a forwarded request carries one more hop.
#[tokio::test]
async fn too_many_hops_is_508_and_not_forwarded() {
    let mut target = TestTarget::start(Behaviour::Status(200)).await;
    let h = InProcess::start(
        &target.url(),
        Limits::default(),
        Respond::Passthrough,
        Duration::from_secs(9),
    )
    .await;
    let (status, _, body) = post(
        &h.url("/a"),
        &[("hooktap-hop", b"a, b, c, d")],
        b"{}".into(),
    )
    .await;
    assert_eq!(status, 508, "{body:?}");
    assert!(String::from_utf8_lossy(&body).contains("loop detected"));
    assert_eq!(stored(&h.db()), 0);
    assert_eq!(target.count(), 0);

    let (status, _, _) = post(&h.url("/b"), &[("hooktap-hop", b"a, b")], b"{}".into()).await;
    assert_eq!(status, 200);
    let seen = target.received.recv().await.unwrap();
    let hop: Vec<String> = seen
        .headers
        .iter()
        .filter(|(n, _)| n == "hooktap-hop")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert_eq!(hop, [format!("a, b, {}", hooktap::forward::hop::id())]);
}

/// Pass: two hooktaps forwarding to each other: each stores the request once, the second
/// forward is answered 508 by the first, and the sender hears 508.
#[tokio::test]
async fn two_hooktaps_forwarding_to_each_other_stop() {
    let dir = tempfile::tempdir().unwrap();
    let (db_a, db_b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let port_a = free_port();
    let b = Binary::listen(&db_b, &format!("http://127.0.0.1:{port_a}"), &[]);
    let mut args = crate::common::listen_args(&b.url(""), &db_a);
    args[2] = port_a.to_string(); // listen --port 0 → the port B forwards to
    let mut cmd = hooktap();
    cmd.args(args);
    let a = Binary::spawn(cmd);
    assert_eq!(a.addr.port(), port_a);
    let (status, _, body) = post(&a.url("/loop"), &[], b"{}".to_vec()).await;
    assert_eq!(status, 508, "{}", String::from_utf8_lossy(&body));
    assert_eq!(stored(&db_a), 1);
    assert_eq!(stored(&db_b), 1);
}
