//! Ayrshare: `X-Authorization-Content-SHA256` (hex or base64), the rotation header
//! `X-Authorization-Content-SHA256-V2: v1=<hex>,v1=<hex>`, `X-Authorization-Timestamp`, and a
//! body that drives the event type and summary; none of it panics, and a re-signed Event
//! verifies.
#![no_main]

use hooktap_fuzz::{NOW, fields, headers, resigned_verifies, with_secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let f = fields(data, 4);
    let get = |i: usize, bit: u8| f.get(i).copied().filter(|_| selector & bit != 0);
    let h = headers(&[
        ("X-Authorization-Content-SHA256", get(0, 1)),
        ("X-Authorization-Content-SHA256-V2", get(1, 2)),
        ("X-Authorization-Timestamp", get(2, 4)),
    ]);
    let body = f.get(3).copied().unwrap_or_default();
    let providers = with_secret("ayrshare", "ayr-secret", "ayr-rotated");
    let _ = providers.classify_at(&h, body, NOW);
    // Without any signature header an Ayrshare body is still recognised and summarised.
    let _ = providers.classify_at(&Default::default(), body, NOW);
    resigned_verifies(&providers, h, body);
});
