//! The filter language: any text either parses or gives an error with a column inside the
//! text; a parsed filter always yields SQL, and matching it against an Event terminates.
#![no_main]

use hooktap::event::{Event, HeaderList, Ingress};
use hooktap::store::EventSummary;
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000_000_000;

fn sample() -> (EventSummary, Event) {
    let body = br#"{"action":"social","type":"unlink","platform":"instagram","items":[{"id":1},{"id":"x"}]}"#;
    let mut headers = HeaderList::default();
    headers.push("content-type", b"application/json".to_vec());
    headers.push("x-foo", b"bar baz".to_vec());
    let event = Event {
        uid: "01FUZZ".into(),
        received_at: NOW,
        ingress: Ingress::Local,
        method: "POST".into(),
        path: "/hooks/ayrshare/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
        query: Some("a=1".into()),
        remote_addr: None,
        headers,
        body: bytes::Bytes::from_static(body),
        class: Default::default(),
        derived_from: None,
    };
    let summary = EventSummary {
        id: 42,
        uid: event.uid.clone(),
        received_at: NOW,
        ingress: "local".into(),
        method: "POST".into(),
        path: event.path.clone(),
        query: event.query.clone(),
        remote_addr: None,
        body_size: body.len() as u64,
        body_sha256: String::new(),
        provider: "ayrshare".into(),
        event_type: Some("social.unlink".into()),
        provider_event_id: None,
        summary: None,
        signature: "unsigned".into(),
        derived_from: None,
        deliveries: 1,
        status: Some(200),
        outcome: Some("ok".into()),
        duration_us: Some(1000),
        replayed: false,
        duplicate_of: None,
        signature_detail: None,
    };
    (summary, event)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match hooktap::filter::parse_at(text, NOW) {
        Ok(filter) => {
            let sql = filter.sql();
            assert_eq!(
                sql.clause.matches('?').count(),
                sql.params.len(),
                "placeholders and parameters differ for {text:?}"
            );
            let (summary, event) = sample();
            let quick = filter.matches_summary(&summary);
            let full = filter.matches(&summary, &event);
            if let Some(q) = quick {
                assert_eq!(q, full, "summary and full match disagree for {text:?}");
            }
        }
        Err(e) => {
            assert!(
                e.column <= text.chars().count() + 1,
                "column {} outside {text:?}",
                e.column
            );
        }
    }
});
