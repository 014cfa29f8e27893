//! Hostile framing (B1-B4) against both doors: `listen`'s port and the Relay's webhook port
//! (over TLS). Every attack gets a 4xx and a closed connection; nothing it carries is stored
//! or forwarded; the probe still works afterwards.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::harness::{Certs, certs, channel, relay, relay_events};
use crate::support::{Sink, listen, proc_kib, stored};
use crate::web::{read_until_closed, tls_connect};

/// Where an attack goes in.
pub enum Door {
    Listener(SocketAddr),
    Relay { port: u16, certs: Certs },
}

impl Door {
    /// The webhook path behind this door.
    pub fn path(&self) -> &'static str {
        match self {
            Door::Listener(_) => "/hooks/x",
            Door::Relay { .. } => "/c/alice/hooks/x",
        }
    }

    /// Sends `bytes` on a new connection (in pieces of `piece` bytes), then reads until the
    /// server closes or `wait` passes: what came back, and whether it closed.
    pub async fn exchange(&self, bytes: &[u8], piece: usize, wait: Duration) -> (String, bool) {
        match self {
            Door::Listener(addr) => {
                let s = tokio::net::TcpStream::connect(addr).await.unwrap();
                talk(s, bytes, piece, wait).await
            }
            Door::Relay { port, certs } => {
                talk(tls_connect(certs, *port).await, bytes, piece, wait).await
            }
        }
    }

    /// The status a well-formed webhook gets here (the Relay queues it: no Agent).
    pub fn ok_status(&self) -> &'static str {
        match self {
            Door::Listener(_) => "200",
            Door::Relay { .. } => "202",
        }
    }
}

async fn talk(
    mut s: impl AsyncRead + AsyncWrite + Unpin,
    bytes: &[u8],
    piece: usize,
    wait: Duration,
) -> (String, bool) {
    for chunk in bytes.chunks(piece.max(1)) {
        if s.write_all(chunk).await.is_err() || s.flush().await.is_err() {
            break; // the server hung up mid-send: read what it said
        }
    }
    let (got, _, closed) = read_until_closed(&mut s, wait).await;
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

fn status(resp: &str) -> &str {
    resp.get(9..12).unwrap_or("")
}

/// One attack: its name, bytes (`{P}` stands for the webhook path), and the statuses allowed
/// (`""`: closed without an answer).
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    allowed: &'static [&'static str],
}

fn case(name: &'static str, text: &str, allowed: &'static [&'static str]) -> Case {
    Case {
        name,
        bytes: text.as_bytes().to_vec(),
        allowed,
    }
}

fn cases(path: &str) -> Vec<Case> {
    let p = |t: &str| t.replace("{P}", path);
    let big_line = format!(
        "POST {path}?{} HTTP/1.1\r\nhost: x\r\n\r\n",
        "q".repeat(70 << 10)
    );
    let mut many = format!("POST {path} HTTP/1.1\r\nhost: x\r\n");
    for i in 0..101 {
        many.push_str(&format!("x-h{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let huge_header = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(64 << 10)
    );
    vec![
        // B1: Content-Length and Transfer-Encoding.
        case(
            "CL then TE, smuggled GET",
            &p(
                "POST {P} HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n",
            ),
            &["400"],
        ),
        case(
            "TE then CL",
            &p(
                "POST {P} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 35\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n",
            ),
            &["400"],
        ),
        case(
            "two different CL",
            &p(
                "POST {P} HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!",
            ),
            &["400"],
        ),
        case(
            "CL +5",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ncontent-length: +5\r\n\r\nhello"),
            &["400"],
        ),
        case(
            "CL -1",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n"),
            &["400"],
        ),
        case(
            "CL 5 5",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ncontent-length: 5 5\r\n\r\nhello"),
            &["400"],
        ),
        case(
            "CL overflows u64",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999999999999999\r\n\r\n"),
            &["400", "413"],
        ),
        case(
            "TE chunked, identity",
            &p(
                "POST {P} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n",
            ),
            &["400", "501"],
        ),
        case(
            "TE xchunked",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: xchunked\r\n\r\n0\r\n\r\n"),
            &["400", "501"],
        ),
        case(
            "TE identity",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: identity\r\n\r\nhello"),
            &["400", "501"],
        ),
        case(
            "TE gzip, chunked",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
            &["501"],
        ),
        case(
            "two TE chunked lines",
            &p(
                "POST {P} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            ),
            &["400", "501"],
        ),
        case(
            "TE on HTTP/1.0",
            &p("POST {P} HTTP/1.0\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"),
            &["400", "501"],
        ),
        case(
            "TE obs-folded",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ntransfer-encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
            &["400"],
        ),
        case(
            "TE with space before colon",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\ntransfer-encoding : chunked\r\n\r\n0\r\n\r\n"),
            &["400"],
        ),
        // B2: malformed heads.
        case(
            "space before colon",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\nx-a : 1\r\ncontent-length: 0\r\n\r\n"),
            &["400"],
        ),
        case(
            "NUL in a value",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\nx-a: 1\x002\r\ncontent-length: 0\r\n\r\n"),
            &["400"],
        ),
        case(
            "CR in a value",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\nx-a: 1\r2\r\ncontent-length: 0\r\n\r\n"),
            &["400"],
        ),
        case(
            "obs-fold",
            &p("POST {P} HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n 2\r\ncontent-length: 0\r\n\r\n"),
            &["400"],
        ),
        case(
            "invalid method token",
            &p("PO(ST {P} HTTP/1.1\r\nhost: x\r\n\r\n"),
            &["400"],
        ),
        case("garbage", "GARBAGE\r\n\r\n", &["400"]),
        case(
            "two spaces in the request line",
            &p("POST  {P} HTTP/1.1\r\nhost: x\r\n\r\n"),
            &["400"],
        ),
        case(
            "unknown HTTP version",
            &p("POST {P} HTTP/3.0\r\nhost: x\r\n\r\n"),
            &["400", "505"],
        ),
        // hyper knows the preface and hangs up without a word: fine, nothing goes further.
        case(
            "HTTP/2 preface on HTTP/1",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            &["", "400", "505"],
        ),
        case("70 KiB request line", &big_line, &["400", "414", "431"]),
        // B3: oversized heads.
        case("101 headers", &many, &["431"]),
        case("one 64 KiB header", &huge_header, &["431"]),
    ]
}

async fn attack_all(door: &Door) {
    for c in cases(door.path()) {
        let (resp, closed) = door
            .exchange(&c.bytes, 1 << 20, Duration::from_secs(5))
            .await;
        assert!(
            c.allowed.contains(&status(&resp)),
            "{}: got {:?}, allowed {:?}",
            c.name,
            resp.lines().next(),
            c.allowed
        );
        assert!(closed, "{}: the connection was left open", c.name);
        assert!(!resp.contains("smuggled"), "{}: {resp}", c.name);
    }
}

/// B3, trickled: 1 MiB of header lines in 16 KiB pieces. Returns the answer and how many
/// bytes went out before the server hung up.
async fn trickled_head(door: &Door) -> (String, bool) {
    let mut head = format!("POST {} HTTP/1.1\r\nhost: x\r\n", door.path()).into_bytes();
    while head.len() < 1 << 20 {
        head.extend_from_slice(format!("x-pad-{}: {}\r\n", head.len(), "b".repeat(200)).as_bytes());
    }
    door.exchange(&head, 16 << 10, Duration::from_secs(5)).await
}

/// B4: a declared body over the limit gets 413 from the head alone; a chunked body over it
/// gets 413 once it passes the limit, with the connection closed.
async fn oversized_bodies(door: &Door) {
    let started = Instant::now();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        door.path(),
        11 << 20
    );
    let (resp, closed) = door
        .exchange(head.as_bytes(), 1 << 20, Duration::from_secs(5))
        .await;
    assert_eq!(status(&resp), "413", "declared 11 MiB: {resp}");
    assert!(
        closed && started.elapsed() < Duration::from_secs(2),
        "413 must not wait for a body"
    );

    let mut chunked = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
        door.path()
    )
    .into_bytes();
    let chunk = vec![b'z'; 1 << 20];
    for _ in 0..11 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (resp, closed) = door
        .exchange(&chunked, 256 << 10, Duration::from_secs(10))
        .await;
    assert_eq!(status(&resp), "413", "chunked 11 MiB: {resp}");
    assert!(closed);
}

async fn probe(door: &Door) {
    let req = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        door.path()
    );
    let (resp, _) = door
        .exchange(req.as_bytes(), 1 << 20, Duration::from_secs(5))
        .await;
    assert_eq!(status(&resp), door.ok_status(), "probe: {resp}");
}

/// B1-B4 on `listen`. Pass: every attack of the table (CL+TE either order with a smuggled
/// request, conflicting or malformed Content-Length, Transfer-Encoding other than one
/// `chunked` (501 for another coding, 400 for two lines),
/// TE on HTTP/1.0, obs-fold, NUL/CR in values, bad methods and versions, a 70 KiB request
/// line, 101 headers, a 64 KiB header) gets its 4xx/5xx and a closed connection; 1 MiB of
/// trickled headers gets 431 and leaves hooktap's RSS within 8 MiB; a declared 11 MiB body
/// gets 413 at once, a chunked one 413 once past 10 MiB; the probe still gets 200 and only
/// the probe reached the Target and the Store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_attacks_on_the_listener_are_refused() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = listen(&db, &sink.url(), &["--max-body", "10MiB"], &[]);
    let door = Door::Listener(bin.addr);
    probe(&door).await;
    attack_all(&door).await;
    let rss = proc_kib(bin.child.id(), "VmRSS");
    let (resp, closed) = trickled_head(&door).await;
    assert_eq!(status(&resp), "431", "{resp}");
    assert!(closed);
    let after = proc_kib(bin.child.id(), "VmRSS");
    assert!(after < rss + 8 * 1024, "RSS {rss} -> {after} KiB");
    oversized_bodies(&door).await;
    probe(&door).await;
    assert_eq!(sink.count(), 2, "only the probes reached the Target");
    assert_eq!(stored(&db).len(), 2, "only the probes were stored");
}

/// B1-B4 on the Relay's webhook port (TLS). Pass: the same table as for `listen`, with the
/// same answers and closed connections; the trickled head gets 431; oversized bodies 413; the
/// probe gets 202 (queued: no Agent) and only the probes are in the Relay's database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_attacks_on_the_relay_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    channel(dir.path(), &["add", "alice"]);
    let (_relay, port) = relay(dir.path(), &certs, 0, &["--max-body", "10MiB"]);
    let door = Door::Relay { port, certs };
    probe(&door).await;
    attack_all(&door).await;
    let (resp, closed) = trickled_head(&door).await;
    assert!(status(&resp) == "431" || resp.is_empty(), "{resp}");
    assert!(closed);
    oversized_bodies(&door).await;
    probe(&door).await;
    assert_eq!(
        relay_events(dir.path()).len(),
        2,
        "only the probes were stored"
    );
}
