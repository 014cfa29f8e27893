//! Network mutation fuzz (B11, the mitmproxy pattern): valid requests are cut, spliced with
//! random bytes, split into random pieces with small gaps, and the client may hang up at any
//! point. A sender that hangs up mid-Delivery must not strand its Event either.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::common::{Behaviour, InProcess, Shared, TestTarget, eventually};
use hooktap::capture::Respond;
use hooktap::listener::Limits;
use hooktap::store::Reader;

static ENV: LazyLock<Shared> = LazyLock::new(|| {
    let limits = Limits {
        max_body: 64 << 10,
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    Shared::start(limits, Duration::from_secs(5))
});

/// A well-formed request (or two, pipelined) in one of the framings a sender may use.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let body = proptest::collection::vec(any::<u8>(), 0..200);
    (0u8..5, body.clone(), body).prop_map(|(kind, a, b)| {
        let cl = |body: &[u8], extra: &str| {
            let mut r = format!(
                "POST /m HTTP/1.1\r\nhost: x\r\n{extra}content-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        };
        let chunked = |body: &[u8]| {
            let mut r =
                b"POST /m HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            for piece in body.chunks(37) {
                r.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                r.extend_from_slice(piece);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        };
        match kind {
            0 => cl(&a, ""),
            1 => chunked(&a),
            2 => cl(&a, "expect: 100-continue\r\n"),
            3 => cl(&a, "connection: close\r\n"),
            _ => [cl(&a, ""), chunked(&b)].concat(),
        }
    })
}

/// How a request is damaged and sent.
#[derive(Clone, Debug)]
struct Mutation {
    cut: Option<(usize, usize)>,
    splice: Option<(usize, Vec<u8>)>,
    pieces: Vec<(usize, u64)>,
    hang_up_after: Option<usize>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        proptest::option::of((0usize..400, 1usize..40)),
        proptest::option::of((0usize..400, proptest::collection::vec(any::<u8>(), 1..16))),
        proptest::collection::vec((1usize..64, 0u64..4), 1..20),
        proptest::option::weighted(0.2, 0usize..20),
    )
        .prop_map(|(cut, splice, pieces, hang_up_after)| Mutation {
            cut,
            splice,
            pieces,
            hang_up_after,
        })
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    if let Some((at, len)) = m.cut {
        let at = at.min(bytes.len());
        let end = (at + len).min(bytes.len());
        bytes.drain(at..end);
    }
    if let Some((at, extra)) = &m.splice {
        let at = (*at).min(bytes.len());
        bytes.splice(at..at, extra.iter().copied());
    }
    bytes
}

/// The requests an independent parser (httparse, with length or chunked framing) finds
/// complete in `stream`: their bodies, in order, up to the first thing it cannot frame.
fn framed(mut stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        let Ok(httparse::Status::Complete(used)) = req.parse(stream) else {
            return out;
        };
        let header = |n: &str| {
            req.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(n))
                .map(|h| h.value)
        };
        let mut rest = &stream[used..];
        let body = if header("transfer-encoding").is_some() {
            let mut body = Vec::new();
            loop {
                let Ok(httparse::Status::Complete((n, size))) = httparse::parse_chunk_size(rest)
                else {
                    return out;
                };
                rest = &rest[n..];
                if size == 0 {
                    // No trailers in what this test sends: just the final CRLF.
                    let Some(r) = rest.strip_prefix(b"\r\n") else {
                        return out;
                    };
                    rest = r;
                    break body;
                }
                let size = size as usize;
                if rest.len() < size + 2 {
                    return out;
                }
                body.extend_from_slice(&rest[..size]);
                rest = &rest[size + 2..];
            }
        } else {
            let len = header("content-length")
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if rest.len() < len {
                return out;
            }
            let body = rest[..len].to_vec();
            rest = &rest[len..];
            body
        };
        out.push(body);
        stream = rest;
    }
}

async fn probe() {
    let env = &*ENV;
    let (resp, _) = crate::common::raw(
        env.hooktap.addr,
        b"POST /probe HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "probe after a case: {resp:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// B11. Pass (each of 128 cases): the mutated stream, sent in random pieces with 0-3 ms
    /// gaps (hanging up early in some), never stops hooktap: the probe gets 200 after every
    /// case; every 2xx the client read is matched by a request the Target got; every request
    /// the Target got is one an independent parser frames from the stream (same body) and is in
    /// the Store; no Delivery stays `pending`.
    #[test]
    fn mutated_requests_never_break_framing(req in request(), m in mutation()) {
        let env = &*ENV;
        // A marker per run of a case (shrinking re-runs cases): `/m/<n>.<check>` names the case a
        // request came from, even when it reaches the Target after its case ended.
        let n = RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let req = marked(&req, n);
        let stream = apply(req, &m);
        EXPECTED.lock().unwrap().insert(n, framed(&stream));
        let reader = Reader::open(&env.hooktap.db()).unwrap();
        let before = env.target.count();
        let oks = env.rt.block_on(async {
            let mut s = TcpStream::connect(env.hooktap.addr).await.unwrap();
            let mut at = 0;
            for (i, (size, gap)) in m.pieces.iter().cycle().enumerate() {
                if at >= stream.len() || m.hang_up_after == Some(i) {
                    break;
                }
                let end = (at + size).min(stream.len());
                if s.write_all(&stream[at..end]).await.is_err() {
                    break;
                }
                at = end;
                tokio::time::sleep(Duration::from_millis(*gap)).await;
            }
            if m.hang_up_after.is_some() {
                return 0; // gone without reading an answer
            }
            let _ = s.shutdown().await;
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
            String::from_utf8_lossy(&answer).matches("HTTP/1.1 2").count()
        });
        // Deliveries of a hung-up sender finish anyway: wait until every stored Event has
        // reached the Target and none is pending.
        env.rt.block_on(eventually(Duration::from_secs(10), || {
            let (events, pending): (i64, i64) = reader.conn().query_row(
                "SELECT count(*), count(*) FILTER (WHERE outcome = 'pending') FROM events", [],
                |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            (pending == 0 && events as usize == env.target.count()).then_some(())
        }));
        let got: Vec<_> = env.target.all.lock().unwrap()[before..].to_vec();
        // Late arrivals of earlier cases only add to `got`, so this is a lower bound.
        prop_assert!(got.len() >= oks, "{} 2xx but the Target got {}", oks, got.len());
        let expected = EXPECTED.lock().unwrap();
        for g in &got {
            if let Some(bodies) = case_of(&g.uri).and_then(|k| expected.get(&k)) {
                prop_assert!(bodies.iter().any(|b| b[..] == g.body[..]),
                    "the Target got a body no parser framed from its stream ({}): {:?}", g.uri, g.body);
            }
        }
        drop(expected);
        env.rt.block_on(probe());
    }
}

static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static EXPECTED: LazyLock<std::sync::Mutex<std::collections::HashMap<u64, Vec<Vec<u8>>>>> =
    LazyLock::new(Default::default);

/// The check number in a marker path: a damaged marker (a digit cut or added) fails it.
fn check(n: u64) -> u64 {
    n.wrapping_mul(2_654_435_761) % 1_000_003
}

/// `req` with its request paths `/m` made `/m/<n>.<check>`.
fn marked(req: &[u8], n: u64) -> Vec<u8> {
    let from = b"POST /m HTTP";
    let to = format!("POST /m/{n}.{} HTTP", check(n));
    let mut out = Vec::with_capacity(req.len() + 16);
    let mut rest = req;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to.as_bytes());
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The case an undamaged marker path `/m/<n>.<check>` came from (a damaged one names none).
fn case_of(uri: &str) -> Option<u64> {
    let (n, c) = uri.strip_prefix("/m/")?.split_once('.')?;
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(n) || !all_digits(c) {
        return None;
    }
    let n: u64 = n.parse().ok()?;
    (c.parse::<u64>().ok()? == check(n)).then_some(n)
}

/// Pass: a sender that hangs up while the Target is still answering does not leave its Event
/// half-done: the Delivery completes (`ok`, 200) once the Target answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_hanging_up_does_not_strand_its_delivery() {
    let gate = Arc::new(Notify::new());
    let mut target = TestTarget::start(Behaviour::Hold(gate.clone())).await;
    let h = InProcess::start(
        &target.url(),
        Limits::default(),
        Respond::Passthrough,
        Duration::from_secs(9),
    )
    .await;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    s.write_all(b"POST /gone HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\r\ngone")
        .await
        .unwrap();
    target.received.recv().await.expect("the Target got it");
    drop(s); // the sender hangs up while the Target holds the request
    let reader = Reader::open(&h.db()).unwrap();
    let row = reader.recent(1, None).unwrap()[0].clone();
    assert_eq!(row.outcome.as_deref(), Some("pending"));
    // Give hyper a moment to notice the hang-up before the Target answers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.notify_one();
    let done = eventually(Duration::from_secs(5), || {
        let r = reader.summary(row.id).unwrap().unwrap();
        (r.outcome.as_deref() != Some("pending")).then_some(r)
    })
    .await;
    assert_eq!(
        (done.outcome.as_deref(), done.status),
        (Some("ok"), Some(200))
    );
}
