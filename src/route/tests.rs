//! Route parsing and choice.

use bytes::Bytes;

use super::*;
use crate::event::{Classification, Event, HeaderList, Ingress};

/// An Event with this method, path (maybe with `?query`) and body.
pub(crate) fn event(method: &str, path: &str, body: &[u8]) -> Event {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path.to_string(), None),
    };
    Event {
        uid: "u".into(),
        received_at: 0,
        ingress: Ingress::Local,
        method: method.into(),
        path,
        query,
        remote_addr: None,
        headers: HeaderList::default(),
        body: Bytes::copy_from_slice(body),
        class: Classification::default(),
        derived_from: None,
    }
}

fn routes(texts: &[&str], default: Option<&str>) -> Routes {
    let routes = texts.iter().map(|t| Route::parse(t).unwrap()).collect();
    Routes::new(routes, default.map(|d| Target::parse_arg(d).unwrap()), None)
}

fn target_of(r: &Routes, e: &Event) -> String {
    match r.choose(e) {
        Choice::Forward {
            target,
            path_and_query,
        } => target.url_for(&path_and_query),
        Choice::Mock { mock, why } => format!("{} ({why})", mock.label),
    }
}

#[test]
fn longest_prefix_wins_on_a_segment_boundary() {
    let r = routes(
        &[
            "/gh -> 4000",
            "/gh/app -> http://localhost:5000 strip",
            "/legacy -> mock:status=410",
        ],
        Some("3000"),
    );
    let at = |p: &str| target_of(&r, &event("POST", p, b"{}"));
    assert_eq!(at("/gh/push?x=1"), "http://127.0.0.1:4000/gh/push?x=1");
    assert_eq!(at("/gh"), "http://127.0.0.1:4000/gh");
    assert_eq!(at("/gh/app/x"), "http://localhost:5000/x");
    assert_eq!(at("/gh/app"), "http://localhost:5000/");
    assert_eq!(at("/ghx"), "http://127.0.0.1:3000/ghx");
    assert_eq!(at("/legacy/a"), "mock:status=410 (route)");
}

#[test]
fn filter_routes_first_match_then_default_then_mock() {
    let mut r = routes(
        &[
            "provider:github type:push.* -> 4000",
            "provider:github -> :4001",
            "json:.kind=test -> mock:status=202",
        ],
        None,
    );
    let mut e = event("POST", "/hooks", br#"{"kind":"test"}"#);
    e.class.provider = "github".into();
    e.class.event_type = Some("push.main".into());
    assert_eq!(target_of(&r, &e), "http://127.0.0.1:4000/hooks");
    e.class.event_type = Some("issues.opened".into());
    assert_eq!(target_of(&r, &e), "http://127.0.0.1:4001/hooks");
    e.class.provider = "stripe".into();
    assert_eq!(target_of(&r, &e), "mock:status=202 (route)");
    let plain = event("POST", "/hooks", b"{}");
    assert!(target_of(&r, &plain).contains("no route matched"));
    r = Routes::new(vec![], Some(Target::parse_arg("3000").unwrap()), None)
        .only(Some(crate::filter::parse("provider:stripe").unwrap()));
    assert_eq!(target_of(&r, &e), "http://127.0.0.1:3000/hooks");
    assert_eq!(target_of(&r, &plain), "mock:status=200 (--only)");
}

#[test]
fn route_text_errors_say_what_to_write() {
    let err = |t: &str| Route::parse(t).unwrap_err();
    assert!(err("/gh 4000").contains("no ' -> '"));
    assert!(err("status:5xx -> 4000").contains("needs a Delivery"));
    assert!(err("provider:github -> 4000 strip").contains("strip needs"));
    assert!(err("/gh -> ftp://x").contains("not supported"));
    assert!(err("/gh -> mock:status=1").contains("not an HTTP status"));
    assert!(err("stauts:1 -> 4000").contains("the filter"));
    let r = Route::parse("method:POST path:/a=b* -> http://x:1/?").is_err();
    assert!(r, "a Target cannot have a query");
}
