//! Standard Webhooks / Svix: `webhook-id`, `webhook-timestamp` and a `webhook-signature` list of
//! `v1,<base64>` entries (or the `svix-` names); any values classify without a panic, and a
//! re-signed Event verifies. One configured secret is valid, one is not base64.
#![no_main]

use hooktap_fuzz::{NOW, fields, headers, resigned_verifies, with_secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let f = fields(data, 4);
    let get = |i: usize| f.get(i).copied();
    let p = if selector & 1 == 0 { "webhook" } else { "svix" };
    let (id, ts, sig) = (format!("{p}-id"), format!("{p}-timestamp"), format!("{p}-signature"));
    let h = headers(&[
        (id.as_str(), get(0)),
        (ts.as_str(), get(1)),
        (sig.as_str(), get(2)),
    ]);
    let body = get(3).unwrap_or_default();
    let providers = with_secret(
        "standard-webhooks",
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "whsec_not base64!",
    );
    let _ = providers.classify_at(&h, body, NOW);
    let valid_only = with_secret(
        "standard-webhooks",
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    );
    resigned_verifies(&valid_only, h, body);
});
