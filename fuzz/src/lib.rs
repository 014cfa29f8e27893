//! Helpers shared by the fuzz targets: cutting one input into fields, and the fixed clock and
//! secrets the signature targets check against.

use hooktap::event::HeaderList;
use hooktap::providers::Providers;

/// The clock every signature target uses (unix seconds), so a run is reproducible.
pub const NOW: i64 = 1_700_000_000;

/// The first `n - 1` lines of `data` (split at `\n`) and then the rest, which may hold more
/// newlines (a body). Fewer fields when the input has fewer lines.
pub fn fields(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut rest = data;
    while out.len() + 1 < n {
        match rest.iter().position(|b| *b == b'\n') {
            Some(at) => {
                out.push(&rest[..at]);
                rest = &rest[at + 1..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

/// A header list with `name: value` for each pair whose value is present.
pub fn headers(pairs: &[(&str, Option<&[u8]>)]) -> HeaderList {
    let mut h = HeaderList::default();
    for (name, value) in pairs {
        if let Some(v) = value {
            h.push(*name, v.to_vec());
        }
    }
    h
}

/// Providers with a secret for `provider`, plus a second one (a rotation), so every path of
/// the verifier runs.
pub fn with_secret(provider: &str, first: &str, second: &str) -> Providers {
    Providers::new([
        (provider.to_string(), first.to_string()),
        (provider.to_string(), second.to_string()),
    ])
}

/// Checks the property every signing provider must hold: after `resign`, the Event verifies.
pub fn resigned_verifies(providers: &Providers, headers: HeaderList, body: &[u8]) {
    use hooktap::event::{Event, Ingress, Signature};
    let class = providers.classify_at(&headers, body, NOW);
    let event = Event {
        uid: "fuzz".into(),
        received_at: 0,
        ingress: Ingress::Local,
        method: "POST".into(),
        path: "/".into(),
        query: None,
        remote_addr: None,
        headers,
        body: bytes::Bytes::copy_from_slice(body),
        class,
        derived_from: None,
    };
    if let Ok(signed) = providers.resign(&event, NOW) {
        let again = providers.classify_at(&signed, body, NOW);
        if again.provider == event.class.provider {
            assert_eq!(
                again.signature,
                Signature::Valid,
                "re-signed {} Event does not verify: {:?}",
                event.class.provider,
                again.signature_detail
            );
        }
    }
}
