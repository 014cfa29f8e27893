//! An Event crossing the Tunnel: any header list the Relay's listener could have produced
//! (grouped by name, as hyper's HeaderMap gives them) survives
//! `wire::to_request` then `wire::from_request` exactly (order, duplicates, hop-by-hop headers
//! carried in `hooktap-hop`), and any request the Agent gets decodes or is refused.
#![no_main]

use hooktap::event::HeaderList;
use hooktap::tunnel::wire::{self, RelayEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Through a HeaderMap, as the Relay's hyper server hands headers over: values of one name
    // side by side, names in order of first appearance.
    let mut map = http::HeaderMap::new();
    let mut lines = data.split(|b| *b == b'\n');
    let target = lines.next().unwrap_or_default();
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            map.append(n, v);
        }
    }
    let mut headers = HeaderList::default();
    for (n, v) in &map {
        headers.push(n.as_str(), v.as_bytes().to_vec());
    }
    let target = String::from_utf8_lossy(target);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (format!("/{p}"), Some(q.to_string())),
        None => (format!("/{target}"), None),
    };
    let ev = RelayEvent {
        seq: 1,
        uid: "01FUZZ".into(),
        channel: "alice".into(),
        received_at: 1_700_000_000_000_000,
        method: "POST".into(),
        path,
        query,
        remote_addr: Some("203.0.113.9:4410".into()),
        proto: "https".into(),
        headers: headers.clone(),
        body: bytes::Bytes::from_static(b"{}"),
    };
    let Ok(req) = wire::to_request(&ev, 3) else {
        return;
    };
    let (parts, _) = req.into_parts();
    let got = wire::from_request(&parts).expect("a request the Relay built decodes");
    assert_eq!(got.headers, headers, "headers changed crossing the Tunnel");
    assert_eq!(got.uid, ev.uid);
    assert_eq!(got.queued, Some(3));
    assert_eq!(got.path, ev.path);
    assert_eq!(got.query, ev.query);
});
