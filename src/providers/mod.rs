//! Providers: who sent an Event, what it means, and whether its signature holds; and re-signing
//! a recorded Event with a fresh timestamp. One file per provider (classify, verify, sign).
//!
//! [`Providers::classify`] runs on every request: it looks at header names once, and reads a
//! body only for a recognised provider (or, for Ayrshare without its signature header, a JSON
//! object that mentions `"action"`), through small borrowed structs.

pub mod ayrshare;
mod github;
pub mod json;
pub mod mac;
pub mod secrets;
mod shopify;
mod slack;
mod standard_webhooks;
mod stripe;

use std::collections::HashMap;

use crate::event::{Classification, Event, HeaderList};
use mac::Verdict;

/// The providers hooktap knows, in the order they are recognised.
pub const NAMES: &[&str] = &[
    "ayrshare",
    "github",
    "stripe",
    "standard-webhooks",
    "shopify",
    "slack",
];

/// The canonical name for a provider name as users write it (`Svix`, `standard_webhooks`…).
pub fn canonical(name: &str) -> Option<&'static str> {
    let name = name.trim().to_ascii_lowercase().replace('_', "-");
    match name.as_str() {
        "svix" | "standardwebhooks" | "standard-webhook" => Some("standard-webhooks"),
        other => NAMES.iter().copied().find(|n| *n == other),
    }
}

/// A provider, by the header that gives it away; the order is the recognition order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Ayrshare,
    Github,
    Stripe,
    StandardWebhooks,
    Shopify,
    Slack,
}

/// The provider a header name identifies.
fn kind_of_header(name: &str) -> Option<Kind> {
    const TELLS: &[(&str, Kind)] = &[
        (ayrshare::SIGNATURE, Kind::Ayrshare),
        (ayrshare::SIGNATURE_V2, Kind::Ayrshare),
        ("x-github-event", Kind::Github),
        ("stripe-signature", Kind::Stripe),
        ("webhook-id", Kind::StandardWebhooks),
        ("svix-id", Kind::StandardWebhooks),
        ("x-shopify-topic", Kind::Shopify),
        ("x-slack-signature", Kind::Slack),
    ];
    TELLS
        .iter()
        .find(|(tell, _)| tell.len() == name.len() && tell.eq_ignore_ascii_case(name))
        .map(|(_, k)| *k)
}

/// The configured signing secrets, by provider (several per provider during a rotation).
/// Never written to the Store, never printed.
#[derive(Clone, Default)]
pub struct Providers {
    secrets: HashMap<String, Vec<String>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: a secret must not reach a log through `{:?}`.
        f.debug_set().entries(self.secrets.keys()).finish()
    }
}

impl Providers {
    /// Providers with the given `(provider, secret)` pairs; a provider may appear more than
    /// once (every one of its secrets is tried).
    pub fn new(secrets: impl IntoIterator<Item = (String, String)>) -> Providers {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, secret) in secrets {
            let name = canonical(&name)
                .map(str::to_string)
                .unwrap_or_else(|| name.to_ascii_lowercase());
            let list = map.entry(name).or_default();
            if !list.contains(&secret) {
                list.push(secret);
            }
        }
        Providers { secrets: map }
    }

    /// The (first) secret configured for `provider`, if any.
    pub fn secret(&self, provider: &str) -> Option<&str> {
        self.secrets_for(provider).first().map(String::as_str)
    }

    /// Whether a secret is configured for `provider`.
    pub fn has_secret(&self, provider: &str) -> bool {
        !self.secrets_for(provider).is_empty()
    }

    /// The providers that have a secret, in the guide's order.
    pub fn configured(&self) -> Vec<&'static str> {
        NAMES
            .iter()
            .copied()
            .filter(|n| self.has_secret(n))
            .collect()
    }

    fn secrets_for(&self, provider: &str) -> &[String] {
        self.secrets.get(provider).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Recognises the provider of a request, names its event, and checks its signature
    /// against the wall clock.
    pub fn classify(&self, headers: &HeaderList, body: &[u8]) -> Classification {
        self.classify_at(headers, body, chrono::Utc::now().timestamp())
    }

    /// [`Providers::classify`] with the clock given as unix seconds (for tests and replays).
    pub fn classify_at(&self, headers: &HeaderList, body: &[u8], now: i64) -> Classification {
        let kind = headers.iter().filter_map(|(n, _)| kind_of_header(n)).min();
        let s = |name| self.secrets_for(name);
        match kind {
            Some(Kind::Ayrshare) => ayrshare::classify(headers, body, None, s("ayrshare"), now),
            Some(Kind::Github) => github::classify(headers, body, s("github"), now),
            Some(Kind::Stripe) => stripe::classify(headers, body, s("stripe"), now),
            Some(Kind::StandardWebhooks) => {
                standard_webhooks::classify(headers, body, s("standard-webhooks"), now)
            }
            Some(Kind::Shopify) => shopify::classify(headers, body, s("shopify"), now),
            Some(Kind::Slack) => slack::classify(headers, body, s("slack"), now),
            None => match ayrshare::from_body(body) {
                Some(parsed) => ayrshare::classify(headers, body, Some(parsed), s("ayrshare"), now),
                None => Classification::default(),
            },
        }
    }

    /// The headers to re-send `event` with: for Stripe, Standard Webhooks/Svix, Slack and
    /// Ayrshare a fresh timestamp and signature, for GitHub and Shopify a recomputed signature;
    /// all with the configured secret, over the Event's body as it is now. The provider's event
    /// id is kept.
    pub fn resign(&self, event: &Event, now_secs: i64) -> Result<HeaderList, String> {
        let provider = event.class.provider.as_str();
        let Some(name) = canonical(provider) else {
            return Err(format!(
                "its provider is {provider}; re-signing works for {}",
                NAMES.join(", ")
            ));
        };
        let secret = self.secret(name).ok_or_else(|| {
            format!(
                "no {name} secret is configured; pass --secret \
                 {name}=SECRET, set HOOKTAP_SECRET_{}, or add [providers.{name}] to {}",
                name.to_ascii_uppercase().replace('-', "_"),
                secrets::config_path().display()
            )
        })?;
        let mut headers = event.headers.clone();
        sign(name, &mut headers, &event.body, secret, now_secs)?;
        Ok(headers)
    }
}

/// Signs `body` in `headers` as provider `name` (a canonical name) signs, with `secret` at
/// `now_secs` (`trigger` and re-signing).
pub fn sign(
    name: &str,
    headers: &mut HeaderList,
    body: &[u8],
    secret: &str,
    now_secs: i64,
) -> Result<(), String> {
    match name {
        "ayrshare" => ayrshare::sign(headers, body, secret, now_secs),
        "github" => github::sign(headers, body, secret),
        "stripe" => stripe::sign(headers, body, secret, now_secs),
        "standard-webhooks" => standard_webhooks::sign(headers, body, secret, now_secs)?,
        "shopify" => shopify::sign(headers, body, secret),
        "slack" => slack::sign(headers, body, secret, now_secs),
        other => return Err(format!("{other} is not a provider hooktap signs for")),
    }
    Ok(())
}

/// Builds a [`Classification`] from a provider's findings.
fn classification(
    provider: &str,
    event_type: Option<String>,
    provider_event_id: Option<String>,
    summary: Option<String>,
    verdict: Verdict,
) -> Classification {
    Classification {
        provider: provider.to_string(),
        event_type: event_type.filter(|t| !t.is_empty()),
        provider_event_id: provider_event_id.filter(|i| !i.is_empty()),
        summary: summary.map(|s| mac::clip(&s, 240)),
        signature: verdict.signature,
        signature_detail: verdict.detail,
    }
}

#[cfg(test)]
mod tests;
