//! Byte fidelity of re-sent bytes (B12, extending `tests/capture/fidelity.rs`, which covers
//! the Target and the Store): a replay sends exactly what the sender sent.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use proptest::prelude::*;

use crate::common::{Received, Shared};
use crate::support::sha256;
use hooktap::forward::Forwarder;
use hooktap::listener::Limits;
use hooktap::replay::{self, Options};
use hooktap::store::Reader;

static ENV: LazyLock<Shared> =
    LazyLock::new(|| Shared::start(Limits::default(), Duration::from_secs(9)));
static FORWARDER: LazyLock<Forwarder> =
    LazyLock::new(|| Forwarder::new(Duration::from_secs(9), 25 << 20));

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..512),
        1 => (0usize..(256 << 10), any::<u64>()).prop_map(|(len, seed)| {
            let mut x = seed | 1;
            (0..len).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 }).collect()
        }),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        Just("X-Dup".to_string()),
        Just("x-dup".to_string()),
        Just("Webhook-Id".to_string()),
        "x-[a-z]{1,10}",
    ];
    // Visible ASCII and obs-text, no edge whitespace (parsers trim it).
    let value = proptest::collection::vec(prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff], 1..30);
    proptest::collection::vec((name, value), 0..8)
}

/// Header values by lower-case name, in order, without what a hop adds or rewrites.
fn multiset(r: &Received) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut m: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (n, v) in &r.headers {
        let n = n.to_ascii_lowercase();
        if ![
            "host",
            "x-forwarded-for",
            "x-forwarded-proto",
            "x-forwarded-host",
        ]
        .contains(&n.as_str())
        {
            m.entry(n).or_default().push(v.clone());
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// B12, re-sent bytes. Pass: for bodies of 0-256 KiB (any bytes, invalid UTF-8 and NULs
    /// included), duplicate and mixed-case headers and obs-text values, `replay` of the stored
    /// Event reaches the Target with the same method, path, body SHA-256 and header multiset
    /// (hop headers aside) as the live request did, `webhook-id` included.
    #[test]
    fn a_replay_sends_the_same_bytes(body in body(), headers in headers(), method in prop_oneof!["POST", "PUT", "PATCH"]) {
        let env = &*ENV;
        static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let marker = format!("r{}", RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        let (live, again) = env.rt.block_on(async {
            let client = crate::support::client();
            let mut req = hyper::Request::builder().method(method.as_str()).uri(env.hooktap.url(&format!("/hooks/{marker}?q=1")));
            for (n, v) in &headers {
                req = req.header(n.as_str(), v.as_slice());
            }
            let resp = client.request(req.body(http_body_util::Full::new(bytes::Bytes::from(body.clone()))).unwrap()).await.unwrap();
            assert_eq!(resp.status(), 200);
            let find = |n: usize| env.target.all.lock().unwrap().iter()
                .filter(|r| r.uri.contains(&marker)).nth(n).cloned();
            let live = find(0).expect("the live request reached the Target");
            let reader = Reader::open(&env.hooktap.db()).unwrap();
            let id = reader.recent(1, None).unwrap()[0].id;
            let plan = replay::plan(&reader, id, None).unwrap();
            drop(reader);
            let done = replay::send(&env.hooktap.store.writer(), &FORWARDER, plan, &Options::default()).await.unwrap();
            assert!(done.answered(), "{:?}", done.result.error);
            (live, find(1).expect("the replay reached the Target"))
        });
        prop_assert_eq!(&again.method, &live.method);
        prop_assert_eq!(&again.uri, &live.uri);
        prop_assert_eq!(sha256(&again.body), sha256(&body));
        prop_assert_eq!(sha256(&live.body), sha256(&body));
        prop_assert_eq!(multiset(&again), multiset(&live));
    }
}
