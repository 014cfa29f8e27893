//! Route choice benchmark: the time `Routes::choose` takes for one request among 20 routes
//! (10 path prefixes, 10 filters on provider, type, method and a JSON field), the case where
//! the last filter matches and the case where none does (the default). The issue's budget is
//! 2 µs per request. Usage: `cargo bench --bench route [-- ITERATIONS]` (default 200000).

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use hooktap::event::{Classification, Event, HeaderList, Ingress};
use hooktap::forward::Target;
use hooktap::route::{Choice, Route, Routes};

/// The allocator `hooktap` itself runs with, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn event(path: &str, provider: &str, kind: &str) -> Event {
    let mut headers = HeaderList::default();
    headers.push("content-type", b"application/json".to_vec());
    headers.push("x-github-event", b"push".to_vec());
    Event {
        uid: "01JD0000000000000000000000".into(),
        received_at: 0,
        ingress: Ingress::Local,
        method: "POST".into(),
        path: path.into(),
        query: None,
        remote_addr: Some("127.0.0.1:5000".into()),
        headers,
        body: Bytes::from_static(br#"{"action":"social","platform":"instagram","hookId":"hk1"}"#),
        class: Classification {
            provider: provider.into(),
            event_type: Some(kind.into()),
            ..Classification::default()
        },
        derived_from: None,
    }
}

fn main() {
    let n: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let mut texts: Vec<String> = (0..10)
        .map(|i| format!("/app{i}/hooks -> {}", 4000 + i))
        .collect();
    for (i, p) in ["github", "stripe", "shopify", "slack", "svix"]
        .iter()
        .enumerate()
    {
        texts.push(format!("provider:{p} type:x.* -> {}", 5000 + i));
        texts.push(format!("method:PUT provider:{p} -> {}", 5100 + i));
    }
    texts.pop();
    texts.push("provider:ayrshare json:.platform=instagram -> 6000".into());
    assert_eq!(texts.len(), 20);
    let routes: Vec<Route> = texts.iter().map(|t| Route::parse(t).unwrap()).collect();
    let routes = Routes::new(routes, Some(Target::parse_arg("3000").unwrap()), None);
    let cases = [
        ("a prefix route", event("/app7/hooks/x", "unknown", "-")),
        (
            "the last (JSON) filter",
            event("/hooks", "ayrshare", "social"),
        ),
        ("none: the default", event("/hooks", "unknown", "-")),
    ];
    println!(
        "route choice among {} routes, {n} iterations each",
        texts.len()
    );
    for (name, e) in &cases {
        for _ in 0..1000 {
            black_box(routes.choose(black_box(e)));
        }
        let started = Instant::now();
        let mut forwards = 0u32;
        for _ in 0..n {
            if let Choice::Forward { .. } = routes.choose(black_box(e)) {
                forwards += 1;
            }
        }
        let per = started.elapsed().as_secs_f64() / f64::from(n) * 1e9;
        assert_eq!(forwards, n);
        println!("  {name:<24} {per:>8.0} ns per request");
    }
}
