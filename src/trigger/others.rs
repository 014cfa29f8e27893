//! Samples for every provider besides Ayrshare (GitHub, Stripe, Standard Webhooks/Svix,
//! Shopify, Slack): realistic bodies from `assets/`, fresh ids and times, and the headers each
//! provider sends, signed as it signs (`providers::*::sign`).

use chrono::{DateTime, Utc};

use super::Doc;
use crate::event::HeaderList;
use crate::providers::sign;

/// One sample of a provider other than Ayrshare.
#[derive(Debug)]
pub struct Other {
    /// The provider's canonical name.
    pub provider: &'static str,
    /// The event as given on the command line (`pull_request.opened`, `orders/create`).
    pub event: &'static str,
    /// The body as the provider sends it.
    pub template: &'static str,
}

macro_rules! other {
    ($provider:literal, $event:literal, $file:literal) => {
        Other {
            provider: $provider,
            event: $event,
            template: include_str!(concat!("../../assets/", $provider, "/", $file)),
        }
    };
}

/// Every sample, by provider.
pub const OTHERS: &[Other] = &[
    other!("github", "push", "push.json"),
    other!("github", "pull_request.opened", "pull_request.opened.json"),
    other!("github", "issues.opened", "issues.opened.json"),
    other!("github", "ping", "ping.json"),
    other!(
        "stripe",
        "payment_intent.succeeded",
        "payment_intent.succeeded.json"
    ),
    other!(
        "stripe",
        "checkout.session.completed",
        "checkout.session.completed.json"
    ),
    other!("stripe", "invoice.paid", "invoice.paid.json"),
    other!(
        "stripe",
        "customer.subscription.updated",
        "customer.subscription.updated.json"
    ),
    other!("standard-webhooks", "user.created", "user.created.json"),
    other!("standard-webhooks", "invoice.paid", "invoice.paid.json"),
    other!("shopify", "orders/create", "orders-create.json"),
    other!("shopify", "app/uninstalled", "app-uninstalled.json"),
    other!("slack", "url_verification", "url_verification.json"),
    other!("slack", "event_callback", "event_callback.json"),
];

/// The sample of `provider` (canonical name) called `event`.
pub fn find(provider: &str, event: &str) -> Option<&'static Other> {
    OTHERS
        .iter()
        .find(|o| o.provider == provider && o.event == event)
}

/// The events `provider` has samples for.
pub fn events(provider: &str) -> Vec<&'static str> {
    OTHERS
        .iter()
        .filter(|o| o.provider == provider)
        .map(|o| o.event)
        .collect()
}

/// A random hex string of `len` digits (ids, not secrets).
fn hex_id(len: usize) -> String {
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&format!("{:032x}", ulid::Ulid::generate().random()));
    }
    out.truncate(len);
    out
}

/// The body to send: fresh ids and times where the provider has them, then every `--set`.
pub fn render(o: &Other, sets: &[(String, String)], now: DateTime<Utc>) -> Result<Vec<u8>, String> {
    let mut doc: Doc = serde_json::from_str(o.template)
        .map_err(|e| format!("the {} {} sample is broken: {e}", o.provider, o.event))?;
    let scalar = |v: serde_json::Value| Doc::Scalar(v);
    match o.provider {
        "stripe" => {
            doc.replace("id", scalar(format!("evt_{}", &hex_id(24)).into()));
            doc.replace("created", scalar(now.timestamp().into()));
        }
        "standard-webhooks" => {
            let at = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            doc.replace("timestamp", scalar(at.into()));
        }
        "slack" => {
            doc.replace(
                "event_id",
                scalar(format!("Ev{}", hex_id(10).to_uppercase()).into()),
            );
            doc.replace("event_time", scalar(now.timestamp().into()));
        }
        _ => {}
    }
    for (path, value) in sets {
        doc.set_path(path, value)?;
    }
    match o.provider {
        // Stripe sends its events pretty-printed; the others send compact JSON.
        "stripe" => serde_json::to_vec_pretty(&doc),
        _ => serde_json::to_vec(&doc),
    }
    .map_err(|e| e.to_string())
}

/// The headers `o.provider` sends with `body`, signed with `secret` at `now_secs`.
pub fn headers(o: &Other, body: &[u8], secret: &str, now_secs: i64) -> Result<HeaderList, String> {
    let mut h = HeaderList::default();
    match o.provider {
        "github" => {
            let (event, _) = o.event.split_once('.').unwrap_or((o.event, ""));
            h.push("Content-Type", "application/json");
            h.push("User-Agent", "GitHub-Hookshot/7f3a2b1");
            h.push("X-GitHub-Event", event);
            h.push("X-GitHub-Delivery", uuid());
            h.push("X-GitHub-Hook-ID", "498765432");
            h.push("X-GitHub-Hook-Installation-Target-Type", "repository");
            sign("github", &mut h, body, secret, now_secs)?;
        }
        "stripe" => {
            h.push("Content-Type", "application/json; charset=utf-8");
            h.push(
                "User-Agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            );
            sign("stripe", &mut h, body, secret, now_secs)?;
        }
        "standard-webhooks" => {
            h.push("Content-Type", "application/json");
            h.push("webhook-id", format!("msg_{}", hex_id(27)));
            sign("standard-webhooks", &mut h, body, secret, now_secs)?;
        }
        "shopify" => {
            h.push("Content-Type", "application/json");
            h.push("User-Agent", "Shopify-Captain-Hook");
            h.push("X-Shopify-Topic", o.event);
            h.push("X-Shopify-Shop-Domain", "hooktap-dev-store.myshopify.com");
            h.push("X-Shopify-API-Version", "2026-10");
            h.push("X-Shopify-Webhook-Id", uuid());
            h.push("X-Shopify-Event-Id", uuid());
            let at = DateTime::from_timestamp(now_secs, 0).unwrap_or_default();
            h.push(
                "X-Shopify-Triggered-At",
                at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            );
            sign("shopify", &mut h, body, secret, now_secs)?;
        }
        "slack" => {
            h.push("Content-Type", "application/json");
            h.push("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)");
            sign("slack", &mut h, body, secret, now_secs)?;
        }
        other => return Err(format!("no samples for '{other}'")),
    }
    Ok(h)
}

/// A new secret in the form `provider` expects (Standard Webhooks: `whsec_` and base64).
pub fn new_secret(provider: &str) -> String {
    let raw = hex_id(48);
    match provider {
        "standard-webhooks" | "stripe" => {
            let bytes = hex::decode(&raw).unwrap_or_default();
            let b64 = crate::providers::mac::encode_base64(&bytes);
            if provider == "stripe" {
                format!("whsec_{}", raw)
            } else {
                format!("whsec_{b64}")
            }
        }
        _ => raw,
    }
}

fn uuid() -> String {
    let h = hex_id(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Providers;

    #[test]
    fn every_sample_classifies_and_verifies() {
        let now = Utc::now();
        for o in OTHERS {
            let secret = new_secret(o.provider);
            let body = render(o, &[], now).unwrap();
            let h = headers(o, &body, &secret, now.timestamp()).unwrap();
            let p = Providers::new([(o.provider.to_string(), secret)]);
            let c = p.classify_at(&h, &body, now.timestamp());
            assert_eq!(c.provider, o.provider, "{}", o.event);
            assert_eq!(
                c.signature,
                crate::event::Signature::Valid,
                "{} {}",
                o.provider,
                o.event
            );
            if o.provider != "github" || !o.event.contains('.') {
                assert!(c.event_type.is_some(), "{} {}", o.provider, o.event);
            }
        }
    }
}
