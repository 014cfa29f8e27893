//! The API's one state-changing call: `POST /api/events/ID/replay`, through the same
//! `replay::plan` / `store_edit` / `send` as `hooktap replay` (and `--edit`, `--resign`, `--to`).

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

use super::Ctx;
use super::api::internal;
use super::reply::{self, Reply};
use crate::forward::Target;
use crate::replay::{self, Options};

/// What the page (or a script) asks for.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Send here instead of the Target that last answered.
    #[serde(default)]
    pub to: Option<String>,
    /// Re-sign with the provider's configured secret.
    #[serde(default)]
    pub resign: bool,
    /// The edited raw request (request line, headers, blank line, body), stored as a new
    /// Event derived from this one, as `replay --edit` does.
    #[serde(default)]
    pub raw: Option<String>,
}

/// Replays Event `id` as `body` (JSON, may be empty) asks; answers with the new Delivery.
pub async fn replay_event(ctx: &Arc<Ctx>, id: i64, body: Bytes) -> Reply {
    let ask: ReplayRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReplayRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(a) => a,
            Err(e) => {
                return reply::error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the body must be JSON like {{\"to\": URL, \"resign\": true, \"raw\": TEXT}}: {e}"
                    ),
                );
            }
        }
    };
    let to = match ask.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(url) => match Target::parse(url) {
            Ok(t) => Some(t),
            Err(e) => return reply::error(StatusCode::BAD_REQUEST, format!("to: {e}")),
        },
        None => None,
    };
    let planned = ctx
        .read(move |r| {
            if r.summary(id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(replay::plan(r, id, to.as_ref())))
        })
        .await;
    let mut plan = match planned {
        Ok(Some(Ok(plan))) => plan,
        Ok(Some(Err(e))) => return reply::error(StatusCode::BAD_REQUEST, format!("{e:#}")),
        Ok(None) => return super::api::no_event(id),
        Err(e) => return internal(e),
    };
    let options = Options {
        resign: ask.resign.then(|| ctx.providers.clone()),
        redact: ctx.redact.clone(),
    };
    let mut edited_from = None;
    if let Some(text) = &ask.raw {
        let edited = match replay::parse_raw(text, &plan.event, id) {
            Ok(e) => e,
            Err(e) => return reply::error(StatusCode::BAD_REQUEST, format!("{e:#}")),
        };
        let stored = match replay::store_edit(&ctx.writer, &edited, &ctx.redact).await {
            Ok(s) => s,
            Err(e) => return internal(e),
        };
        edited_from = Some(id);
        plan.event_id = stored;
        plan.event = edited;
    }
    match replay::send(&ctx.writer, &ctx.forwarder, plan, &options).await {
        Ok(done) => reply::json(
            StatusCode::OK,
            &json!({
                "event_id": done.event_id,
                "edited_from": edited_from,
                "delivery_id": done.delivery_id,
                "url": done.url,
                "outcome": done.result.outcome.as_str(),
                "status": done.result.status,
                "error": done.result.error,
            }),
        ),
        Err(e) => reply::error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}
