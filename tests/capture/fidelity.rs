//! Byte fidelity: the Target and the Store get the exact body and the same header multiset.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use proptest::prelude::*;

use crate::common::Shared;
use hooktap::listener::Limits;
use hooktap::store::Reader;

static ENV: LazyLock<Shared> =
    LazyLock::new(|| Shared::start(Limits::default(), Duration::from_secs(9)));

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..256),
        2 => proptest::collection::vec(any::<u8>(), 0..16384),
        // Large bodies: cheap to make from a seed.
        1 => (0usize..=(1 << 20), any::<u64>()).prop_map(|(len, seed)| {
            let mut x = seed | 1;
            (0..len).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 }).collect()
        }),
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    // Visible ASCII and obs-text; no leading or trailing whitespace (parsers trim it).
    proptest::collection::vec(prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff, Just(b' ')], 1..40)
        .prop_map(|mut v| {
            while v.last() == Some(&b' ') {
                v.pop();
            }
            while v.first() == Some(&b' ') {
                v.remove(0);
            }
            if v.is_empty() {
                v.push(b'x');
            }
            v
        })
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        Just("X-Dup".to_string()),
        Just("x-dup".to_string()),
        Just("X-Mixed-Case-Name".to_string()),
        Just("x-ayrshare-signature".to_string()),
        "x-[a-z]{1,12}",
    ];
    proptest::collection::vec((name, header_value()), 0..12)
}

/// Headers grouped by lower-case name, values in the order they came.
fn grouped<'a>(
    headers: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut map: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (n, v) in headers {
        let n = n.to_ascii_lowercase();
        if [
            "host",
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
            "hooktap-hop",
        ]
        .contains(&n.as_str())
        {
            continue;
        }
        map.entry(n).or_default().push(v.to_vec());
    }
    map
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Pass: the Target received the same body bytes and header multiset (minus hop-by-hop and
    /// `Host`, plus `X-Forwarded-*`), and the Store holds the same bytes and headers.
    #[test]
    fn target_and_store_get_the_exact_bytes(body in body(), headers in headers(), method in prop_oneof!["POST", "PUT", "PATCH"]) {
        let env = &*ENV;
        // A marker unique to this run of the case (shrinking re-runs cases).
        static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let marker = format!("case-{}", RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let mut sent: Vec<(String, Vec<u8>)> = headers.clone();
        sent.push(("x-case".into(), marker.clone().into_bytes()));
        let status = env.rt.block_on(async {
            let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
            let mut req = hyper::Request::builder().method(method.as_str()).uri(env.hooktap.url("/hooks/p?q=1"));
            for (n, v) in &sent {
                req = req.header(n.as_str(), v.as_slice());
            }
            let resp = client.request(req.body(http_body_util::Full::new(bytes::Bytes::from(body.clone()))).unwrap()).await.unwrap();
            resp.status().as_u16()
        });
        prop_assert_eq!(status, 200);
        let got = env.target.all.lock().unwrap().iter().find(|r| {
            r.headers.iter().any(|(n, v)| n == "x-case" && v == marker.as_bytes())
        }).cloned().expect("the Target got the request");
        prop_assert_eq!(&got.method, &method);
        prop_assert_eq!(&got.uri, "/hooks/p?q=1");
        prop_assert!(got.body[..] == body[..], "body differs at the Target");
        let mut expected = sent.clone();
        if !body.is_empty() {
            // hyper's client frames a non-empty body with its length (and sends none for empty).
            expected.push(("content-length".into(), body.len().to_string().into_bytes()));
        }
        let want = grouped(expected.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
        let have = grouped(got.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
        prop_assert_eq!(&have, &want);

        let reader = Reader::open(&env.hooktap.db()).unwrap();
        let latest = reader.recent(50, None).unwrap();
        let found = latest.iter().find_map(|s| {
            let (_, e) = reader.event(s.id).unwrap()?;
            (e.headers.get("x-case") == Some(marker.as_bytes())).then_some((s.clone(), e))
        });
        let (summary, event) = found.expect("the Store has the Event");
        prop_assert!(event.body[..] == body[..], "body differs in the Store");
        prop_assert_eq!(summary.body_size as usize, body.len());
        prop_assert_eq!(&event.method, &method);
        let stored = grouped(event.headers.iter());
        prop_assert_eq!(&stored, &want);
    }
}

/// Pass: with a Target path prefix, dot-segments (plain or `%2e`) never take a request out of
/// it, live or replayed, while the Store keeps the path as the sender sent it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_stay_under_the_target_prefix_live_and_replayed() {
    use crate::common::{Behaviour, InProcess, TestTarget, eventually, ok_on, raw};
    let app = TestTarget::start(Behaviour::Status(200)).await;
    let h = InProcess::start(
        &format!("{}/hooks", app.url()),
        Limits::default(),
        hooktap::capture::Respond::Passthrough,
        Duration::from_secs(9),
    )
    .await;
    let sent = [
        "/../admin",
        "/%2e%2E/admin?x=1",
        "/a/./b/../../../../admin/",
    ];
    for path in sent {
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
        );
        let (resp, _) = raw(h.addr, request.as_bytes(), Duration::from_secs(5)).await;
        assert!(resp.starts_with("HTTP/1.1 200"), "{path}: {resp}");
    }
    let paths = |app: &TestTarget| -> Vec<String> {
        app.all
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.uri.clone())
            .collect()
    };
    let live = ["/hooks/admin", "/hooks/admin?x=1", "/hooks/admin/"];
    assert_eq!(paths(&app), live);
    let reader = Reader::open(&h.db()).unwrap();
    let mut stored = Vec::new();
    for s in reader.recent(10, None).unwrap().iter().rev() {
        let (_, e) = reader.event(s.id).unwrap().unwrap();
        stored.push((s.id, e.path_and_query()));
    }
    let as_sent: Vec<_> = stored.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(as_sent, sent, "the Store keeps each path as received");
    // A replay goes where the Delivery went: under the prefix, by the same rule.
    for (id, _) in &stored {
        ok_on(&h.db(), &["replay", &id.to_string()]);
    }
    let all = eventually(Duration::from_secs(5), || {
        let got = paths(&app);
        (got.len() == 6).then_some(got)
    })
    .await;
    assert_eq!(all[3..], live);
}
