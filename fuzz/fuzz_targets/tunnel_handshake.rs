//! The Relay's check of a Tunnel handshake (`protocol::parse`): any method and header lines
//! either give a Handshake with a valid Channel name and a non-empty token, or a refusal.
#![no_main]

use hooktap::tunnel::protocol;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|b| *b == b'\n');
    let method = lines.next().unwrap_or_default();
    let Ok(method) = http::Method::from_bytes(if method.is_empty() { b"GET" } else { method })
    else {
        return;
    };
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(n, v);
        }
    }
    match protocol::parse(&method, &headers) {
        Ok(hs) => {
            assert!(protocol::check_channel_name(&hs.channel).is_ok());
            assert!(!hs.token.is_empty());
            assert!(hs.agent.chars().count() <= 64);
            assert!(protocol::head_size(&headers) <= protocol::MAX_HANDSHAKE_BYTES);
        }
        Err(r) => assert!(!r.message.is_empty()),
    }
});
