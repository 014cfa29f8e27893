//! The inspector as its own process (`hooktap web` beside a running `listen`) and bound beyond
//! loopback (a token on every request).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use bytes::Bytes;

use crate::common::{Behaviour, Binary, TestTarget, hooktap};
use crate::support::{request, sse_until};

/// A child process whose stderr lines are kept; killed on drop.
struct Started {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Started {
    fn spawn(cmd: &mut std::process::Command) -> Started {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Started { child, lines }
    }

    /// The text after `prefix` on the first line that has it.
    fn after(&self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("the line came");
            if let Some(rest) = line.split(prefix).nth(1) {
                return rest.trim().to_string();
            }
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn hooktap_web_beside_listen_streams_what_listen_stores() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let listen = Binary::listen(&db, &target.url(), &["--no-inspect"]);
    let web = Started::spawn(
        hooktap()
            .args(["web", "--inspect", "127.0.0.1:0", "--db"])
            .arg(&db),
    );
    let base = web.after("inspector: ");
    let text = sse_until(
        &format!("{base}/api/stream"),
        None,
        "/hooks/other-process",
        async || {
            let url = listen.url("/hooks/other-process");
            assert_eq!(crate::common::post(&url, &[], b"{}".to_vec()).await.0, 200);
        },
    )
    .await;
    assert!(text.contains("event: event"), "{text}");
    // ... and its list and replays work on the same Store.
    let (status, _, body) = request("GET", &format!("{base}/api/events"), &[], Bytes::new()).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("/hooks/other-process"));
}

#[tokio::test]
async fn beyond_loopback_every_request_needs_the_printed_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let listen = Binary::listen(&db, "http://127.0.0.1:9", &["--inspect", "0.0.0.0:0"]);
    let token = crate::common::eventually(Duration::from_secs(10), || {
        listen.stderr.lock().unwrap().iter().find_map(|l| {
            l.contains("every request needs its token")
                .then(|| l.rsplit(' ').next().unwrap().to_string())
        })
    })
    .await;
    let base = crate::common::eventually(Duration::from_secs(10), || {
        listen
            .stderr
            .lock()
            .unwrap()
            .iter()
            .find_map(|l| l.trim().strip_prefix("inspector: ").map(str::to_string))
    })
    .await;
    let port = base.rsplit(':').next().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let (status, _, _) = request("GET", &format!("{url}/api/events"), &[], Bytes::new()).await;
    assert_eq!(status, 401);
    let (status, headers, _) = request("GET", &format!("{url}/"), &[], Bytes::new()).await;
    assert_eq!(status, 303);
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "location" && v == "/login")
    );
    let bearer = format!("Bearer {token}");
    let (status, _, _) = request(
        "GET",
        &format!("{url}/api/events"),
        &[("authorization", &bearer)],
        Bytes::new(),
    )
    .await;
    assert_eq!(status, 200);
    let wrong = request(
        "POST",
        &format!("{url}/login"),
        &[],
        Bytes::from("token=ht_wrong"),
    )
    .await;
    assert!(
        wrong
            .1
            .iter()
            .any(|(n, v)| n == "location" && v == "/login?wrong=1")
    );
    let form = Bytes::from(format!("token={token}"));
    let (status, headers, _) = request("POST", &format!("{url}/login"), &[], form).await;
    assert_eq!(status, 303);
    let cookie = headers
        .iter()
        .find(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let (status, _, _) = request(
        "GET",
        &format!("{url}/api/events"),
        &[("cookie", &pair)],
        Bytes::new(),
    )
    .await;
    assert_eq!(status, 200);
}
