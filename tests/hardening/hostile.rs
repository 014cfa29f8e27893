//! Hostile payloads (B14, SECURITY.md): what a sender writes never reaches the user's shell or
//! terminal. Random requests, with shell syntax and terminal controls in every field a sender
//! controls (path, query, header names and values, body, and the event type and summary a
//! provider's JSON yields), go through a real `listen`; then `list`, `show`, their `--json`,
//! the log lines and `export --format curl` must carry no control or bidirectional character,
//! and the curl script, run by `bash`, must send exactly the captured bytes and do nothing else.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use proptest::prelude::*;

use crate::common::{Binary, Received, TestTarget, hooktap, listen_args, ok_on};
use hooktap::text::is_unsafe;

/// The file a hostile string tries to create: it must never exist.
const CANARY: &str = "PWNED";

/// One request as the test sends it, raw.
#[derive(Clone, Debug)]
struct Req {
    method: &'static str,
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// Strings that would do harm if a shell or a terminal interpreted them.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(format!("$(touch {CANARY})")),
        Just(format!("`touch {CANARY}`")),
        Just(format!("'; touch {CANARY}; '")),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just("\x1b]52;c;aGk=\x07".to_string()),
        Just("\x1b]0;title\x07".to_string()),
        Just("\x1b[2J".to_string()),
        Just("\u{9b}31m".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{2066}".to_string()),
        Just("\x7f\0".to_string()),
        Just("HOOKTAP_BODY".to_string()),
        "[a-zé日🚀 ]{0,6}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 1..6).prop_map(|p| p.concat())
}

/// URI characters a request line may carry, shell syntax included.
fn uri_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._~!$&'()*+,;=:@%/-]{0,24}"
}

fn request() -> impl Strategy<Value = Req> {
    let token = "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,12}";
    // Header values: visible ASCII, obs-text, inner spaces and tabs (HTTP trims the edges).
    let value = proptest::collection::vec(
        prop_oneof![4 => 0x21u8..=0x7e, 1 => 0x80u8..=0xff, 1 => Just(b' '), 1 => Just(b'\t')],
        0..24,
    )
    .prop_map(|mut v| {
        v.insert(0, b'v');
        v.push(b'v');
        v
    });
    let body = prop_oneof![
        hostile().prop_map(
            |t| serde_json::json!({"action": t, "type": t, "sender": {"login": t}})
                .to_string()
                .into_bytes()
        ),
        hostile().prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..200),
    ];
    (
        prop_oneof![Just("POST"), Just("PUT"), Just("PATCH")],
        uri_text(),
        proptest::option::of(uri_text()),
        proptest::collection::vec((token, value), 0..4),
        token,
        body,
    )
        .prop_map(|(method, path, query, mut headers, event, body)| {
            headers.insert(0, ("X-GitHub-Event".into(), event.into_bytes()));
            Req {
                method,
                path: format!("/h/{path}"),
                query,
                headers,
                body,
            }
        })
}

/// Sends `r` on a new connection with a case number header; the status line's code.
fn send(addr: std::net::SocketAddr, case: usize, r: &Req) -> Option<u16> {
    let mut head = format!("{} {}", r.method, r.path).into_bytes();
    if let Some(q) = &r.query {
        head.extend(format!("?{q}").as_bytes());
    }
    head.extend(b" HTTP/1.1\r\nHost: h\r\nUser-Agent: t\r\nAccept: */*\r\n");
    head.extend(format!("Content-Type: x/y\r\nX-Case: {case}\r\n").as_bytes());
    for (n, v) in &r.headers {
        head.extend(n.as_bytes());
        head.extend(b": ");
        head.extend(v);
        head.extend(b"\r\n");
    }
    head.extend(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            r.body.len()
        )
        .as_bytes(),
    );
    head.extend(&r.body);
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    s.write_all(&head).ok()?;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let line = String::from_utf8_lossy(&answer);
    line.split(' ').nth(1)?.parse().ok()
}

/// Asserts `text` (what `what` printed) carries no unsafe character but those in `allowed`.
fn clean(what: &str, text: &str, allowed: &[char]) {
    if let Some(c) = text.chars().find(|c| is_unsafe(*c) && !allowed.contains(c)) {
        panic!("{what} printed {c:?}:\n{text}");
    }
}

/// Header values by lower-case name, minus what a hop (`X-Forwarded-*`, `Hooktap-Hop`) or curl
/// adds on its own.
fn multiset(headers: &[(String, Vec<u8>)]) -> BTreeMap<String, Vec<Vec<u8>>> {
    let skip = [
        "host",
        "content-length",
        "expect",
        "connection",
        "transfer-encoding",
    ];
    let mut m: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (n, v) in headers {
        let n = n.to_ascii_lowercase();
        if !skip.contains(&n.as_str()) && !n.starts_with("x-forwarded-") && n != "hooktap-hop" {
            m.entry(n).or_default().push(v.clone());
        }
    }
    m
}

fn case_of(r: &Received) -> String {
    let (_, v) = r
        .headers
        .iter()
        .find(|(n, _)| n == "x-case")
        .expect("x-case");
    String::from_utf8_lossy(v).into_owned()
}

fn run(reqs: &[Req]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let app = rt.block_on(TestTarget::start(crate::common::Behaviour::Status(200)));
    let replayed = rt.block_on(TestTarget::start(crate::common::Behaviour::Status(200)));
    let log = dir.path().join("listen.out");
    let mut cmd = hooktap();
    cmd.args(listen_args(&app.url(), &db));
    let listen = Binary::spawn_to(cmd, std::fs::File::create(&log).unwrap().into());
    let mut stored = 0;
    for (case, r) in reqs.iter().enumerate() {
        if send(listen.addr, case, r) == Some(200) {
            stored += 1;
        }
    }
    // SIGTERM: listen prints what the bus still holds, then exits.
    let mut listen = listen;
    let pid = listen.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    listen.child.wait().unwrap();
    let out = std::fs::read_to_string(&log).unwrap();
    clean("listen's log lines", &out, &['\n']);
    assert_eq!(out.lines().count(), stored, "one line per Delivery:\n{out}");

    clean("list", &ok_on(&db, &["list", "--limit", "100"]), &['\n']);
    clean("list --json", &ok_on(&db, &["list", "--json"]), &['\n']);
    for id in 1..=stored {
        let id = id.to_string();
        // A body shown as text keeps its tabs; nothing else.
        clean("show", &ok_on(&db, &["show", &id]), &['\n', '\t']);
        clean(
            "show --json",
            &ok_on(&db, &["show", &id, "--json"]),
            &['\n'],
        );
        clean(
            "show --headers",
            &ok_on(&db, &["show", &id, "--headers"]),
            &['\n'],
        );
    }
    let script = ok_on(&db, &["export", "--format", "curl"]);
    clean("export --format curl", &script, &['\n', '\t']);
    run_script(dir.path(), &script, &replayed.url());
    assert!(
        !dir.path().join(CANARY).exists(),
        "the script ran a command"
    );

    let captured = app.all.lock().unwrap().clone();
    let resent = replayed.all.lock().unwrap().clone();
    assert_eq!(resent.len(), captured.len(), "one curl per Event");
    for c in &captured {
        let r = resent.iter().find(|r| case_of(r) == case_of(c)).unwrap();
        assert_eq!((&r.method, &r.uri), (&c.method, &c.uri));
        assert_eq!(multiset(&r.headers), multiset(&c.headers));
        assert_eq!(r.body, c.body);
    }
}

fn run_script(dir: &Path, script: &str, target: &str) {
    let mut bash = Command::new("bash")
        .arg("-s")
        .current_dir(dir)
        .env("HOOKTAP_TARGET", target)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    bash.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let done = bash.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}\n{script}",
        String::from_utf8_lossy(&done.stderr)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Pass: every output is free of controls and bidirectional marks from the data, and the
    /// curl export re-sends each Event's exact method, path, query, headers and body, and runs
    /// nothing (the canary file is never made).
    #[test]
    fn hostile_fields_reach_neither_the_terminal_nor_the_shell(
        reqs in proptest::collection::vec(request(), 1..7)
    ) {
        crate::support::require("curl");
        run(&reqs);
    }
}
