//! `Stripe-Signature: t=<ts>,v1=<hex>,...`: any header value and body classify without a panic,
//! and a re-signed Event verifies.
#![no_main]

use hooktap_fuzz::{NOW, fields, headers, resigned_verifies, with_secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = fields(data, 2);
    let (sig, body) = (f[0], f.get(1).copied().unwrap_or_default());
    let providers = with_secret("stripe", "whsec_test_secret", "whsec_other");
    let h = headers(&[("Stripe-Signature", Some(sig))]);
    let _ = providers.classify_at(&h, body, NOW);
    resigned_verifies(&providers, h, body);
});
