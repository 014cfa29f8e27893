//! Providers: who sent an Event, what it means, and whether its signature holds.

use std::collections::HashMap;

use crate::event::{Classification, HeaderList};

/// The configured signing secrets, by provider name. Never written to the Store.
#[derive(Clone, Debug, Default)]
pub struct Providers {
    secrets: HashMap<String, String>,
}

impl Providers {
    /// Providers with the given `(provider, secret)` pairs.
    pub fn new(secrets: impl IntoIterator<Item = (String, String)>) -> Providers {
        Providers {
            secrets: secrets.into_iter().collect(),
        }
    }

    /// The secret configured for `provider`, if any.
    pub fn secret(&self, provider: &str) -> Option<&str> {
        self.secrets.get(provider).map(String::as_str)
    }

    /// Recognises the provider of a request from its headers and body.
    pub fn classify(&self, headers: &HeaderList, body: &[u8]) -> Classification {
        let provider = if headers.contains("x-authorization-content-sha256") {
            "ayrshare"
        } else if headers.contains("x-github-event") {
            "github"
        } else if headers.contains("stripe-signature") {
            "stripe"
        } else if headers.contains("webhook-id") || headers.contains("svix-id") {
            "standard-webhooks"
        } else if headers.contains("x-shopify-topic") {
            "shopify"
        } else if headers.contains("x-slack-signature") {
            "slack"
        } else if looks_like_ayrshare(body) {
            "ayrshare"
        } else {
            "unknown"
        };
        Classification {
            provider: provider.into(),
            ..Classification::default()
        }
    }
}

fn looks_like_ayrshare(body: &[u8]) -> bool {
    const ACTIONS: &[&str] = &[
        "scheduled",
        "social",
        "messages",
        "message",
        "batch",
        "feed",
        "comments",
    ];
    if !body.starts_with(b"{") {
        return false;
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("action")
                .and_then(|a| a.as_str())
                .map(|a| ACTIONS.contains(&a))
        })
        .unwrap_or(false)
}
