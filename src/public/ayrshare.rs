//! Ayrshare's webhook API (`/api/hook/webhook`): register one action, unregister one, list
//! them. The API key goes in the `Authorization` header and nowhere else: no error, log line
//! or file ever holds it. `HOOKTAP_AYRSHARE_API` replaces the base URL (for tests).

use std::time::Duration;

use crate::text::sanitize;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;

/// The API's base URL.
pub const API: &str = "https://api.ayrshare.com";
/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A client for one account (and optionally one User Profile).
pub struct Api {
    base: String,
    key: String,
    profile: Option<String>,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// A call Ayrshare refused or that failed; says why without the key.
#[derive(Debug)]
pub struct Refusal {
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What Ayrshare said (its `message`), or what failed.
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            // Ayrshare's message is remote text: one line, no controls (crate::text).
            Some(s) => write!(f, "Ayrshare answered {s}: {}", sanitize(&self.message)),
            None => write!(f, "{}", sanitize(&self.message)),
        }
    }
}

impl Refusal {
    /// A bad or missing API key: no other call will do better.
    pub fn bad_key(&self) -> bool {
        self.status == Some(401)
    }
}

impl Api {
    /// A client with `key` (and `profile`, for a User Profile), at `HOOKTAP_AYRSHARE_API` or
    /// Ayrshare's own base URL.
    pub fn new(key: String, profile: Option<String>) -> Api {
        let base = std::env::var("HOOKTAP_AYRSHARE_API")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| API.to_string());
        let tls = crate::tls::web_client_config();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Api {
            base: base.trim_end_matches('/').to_string(),
            key,
            profile,
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// `GET /api/hook/webhook`: the answer's JSON.
    pub async fn list(&self) -> Result<serde_json::Value, Refusal> {
        self.call(http::Method::GET, None).await
    }

    /// `POST /api/hook/webhook`: points `action` at `url`, with `secret` if given.
    pub async fn register(
        &self,
        action: &str,
        url: &str,
        secret: Option<&str>,
    ) -> Result<(), Refusal> {
        let mut body = serde_json::json!({ "action": action, "url": url });
        if let Some(secret) = secret {
            body["secret"] = secret.into();
        }
        self.call(http::Method::POST, Some(body)).await.map(drop)
    }

    /// `DELETE /api/hook/webhook`: unregisters `action`.
    pub async fn unregister(&self, action: &str) -> Result<(), Refusal> {
        let body = serde_json::json!({ "action": action });
        self.call(http::Method::DELETE, Some(body)).await.map(drop)
    }

    async fn call(
        &self,
        method: http::Method,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, Refusal> {
        let failed = |message: String| Refusal {
            status: None,
            message,
        };
        let url = format!("{}/api/hook/webhook", self.base);
        let mut req = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.key))
            .header("accept", "application/json");
        if let Some(profile) = &self.profile {
            req = req.header("profile-key", profile);
        }
        let bytes = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(bytes))
            .map_err(|_| failed(format!("cannot build a request to {url} (check HOOKTAP_AYRSHARE_API and the key's characters)")))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| failed(format!("cannot reach {url}: {e}")))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| failed(format!("{method} {url}: the answer broke off: {e}")))?
                .to_bytes();
            Ok::<_, Refusal>((status, body))
        };
        let (status, body) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| failed(format!("{method} {url}: no answer within 20s")))??;
        let json: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        let said_error = json.get("status").and_then(|s| s.as_str()) == Some("error");
        if (200..300).contains(&status) && !said_error {
            return Ok(json);
        }
        let message = json
            .get("message")
            .and_then(|m| m.as_str())
            .map(|m| m.chars().take(300).collect())
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        Err(Refusal {
            status: Some(status),
            message,
        })
    }
}
