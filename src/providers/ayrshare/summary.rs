//! One line for people per Ayrshare action: what happened, and what the developer should do.

use serde::Deserialize;

use super::{Body, inbox};
use crate::providers::json::{Text, nested};
use crate::providers::mac::clip;

/// One entry of `errors[]` in a `scheduled` Event.
#[derive(Deserialize)]
struct PostError<'a> {
    #[serde(borrow, default)]
    platform: Text<'a>,
    #[serde(borrow, default)]
    message: Text<'a>,
    #[serde(borrow, default)]
    code: Text<'a>,
}

/// One entry of `postIds[]`.
#[derive(Deserialize)]
struct PostRef<'a> {
    #[serde(borrow, default)]
    platform: Text<'a>,
    #[serde(borrow, default)]
    status: Text<'a>,
    #[serde(borrow, default, rename = "postUrl")]
    post_url: Text<'a>,
}

/// `details` of a `social` Event, or a name/username pair (`senderDetails`, `from`, `sender`).
#[derive(Deserialize)]
pub(super) struct Who<'a> {
    #[serde(borrow, default)]
    message: Text<'a>,
    #[serde(borrow, default)]
    code: Text<'a>,
    #[serde(borrow, default)]
    pub(super) name: Text<'a>,
    #[serde(borrow, default)]
    pub(super) username: Text<'a>,
}

/// The summary line of an Ayrshare Event.
pub(super) fn summary(b: &Body<'_>) -> Option<String> {
    let action = b.action.get()?;
    let line = match action {
        "scheduled" if b.sub_action.get() == Some("tikTokPublished") => tiktok(b),
        "scheduled" => scheduled(b),
        "social" => social(b),
        "messages" => inbox::messages(b),
        "message" => inbox::legacy_message(b),
        "batch" => batch(b),
        "feed" => feed(b),
        "comments" => inbox::comment(b),
        other => match b.sub_action.get() {
            Some(sub) => format!("{other} {sub}{}", on(b)),
            None => format!("{other}{}", on(b)),
        },
    };
    Some(clip(&line, 240))
}

/// A network's name as people write it.
pub(crate) fn network(platform: &str) -> String {
    let known = match platform.to_ascii_lowercase().as_str() {
        "facebook" => "Facebook",
        "instagram" => "Instagram",
        "tiktok" => "TikTok",
        "linkedin" => "LinkedIn",
        "twitter" | "x" => "X",
        "youtube" => "YouTube",
        "pinterest" => "Pinterest",
        "reddit" => "Reddit",
        "telegram" => "Telegram",
        "threads" => "Threads",
        "bluesky" => "Bluesky",
        "snapchat" => "Snapchat",
        "gmb" => "Google Business",
        _ => return platform.to_string(),
    };
    known.to_string()
}

fn on(b: &Body<'_>) -> String {
    b.platform
        .get()
        .map(|p| format!(" on {}", network(p)))
        .unwrap_or_default()
}

fn scheduled(b: &Body<'_>) -> String {
    let errors: Vec<PostError> = nested(b.errors).unwrap_or_default();
    let posted: Vec<PostRef> = nested(b.post_ids).unwrap_or_default();
    // Each network once, in the order of the payload (a post to two accounts of one network
    // is still one network to name).
    let mut ok: Vec<String> = Vec::new();
    for name in posted
        .iter()
        .filter(|p| p.status.get() != Some("error"))
        .filter_map(|p| p.platform.get().map(network))
    {
        if !ok.contains(&name) {
            ok.push(name);
        }
    }
    let post =
        b.id.get()
            .map(|id| format!(" (post {id})"))
            .unwrap_or_default();
    if errors.is_empty() && b.status.get() != Some("error") {
        return match ok.len() {
            0 => format!("scheduled post published{post}"),
            _ => format!("scheduled post published to {}{post}", ok.join(", ")),
        };
    }
    let networks = errors.len() + ok.len();
    let failed: Vec<String> = errors
        .iter()
        .map(|e| {
            let name = e.platform.get().map(network).unwrap_or("a network".into());
            match (e.message.get(), e.code.get()) {
                (Some(m), Some(c)) => format!("{name}: {} (code {c})", m.trim_end_matches('.')),
                (Some(m), None) => format!("{name}: {}", m.trim_end_matches('.')),
                (None, _) => name,
            }
        })
        .collect();
    let mut line = match networks {
        0 | 1 => "scheduled post failed".to_string(),
        n => format!("scheduled post to {n} networks failed"),
    };
    if failed.is_empty() {
        line.push_str(&format!(" (status {})", b.status.or("error")));
    } else {
        line.push_str(&format!(" on {}", failed.join("; ")));
    }
    if !ok.is_empty() {
        line.push_str(&format!("; published to {}", ok.join(", ")));
    }
    line + &post
}

fn tiktok(b: &Body<'_>) -> String {
    let posted: Vec<PostRef> = nested(b.post_ids).unwrap_or_default();
    let url = posted
        .iter()
        .find_map(|p| p.post_url.get())
        .map(|u| format!(" at {u}"))
        .unwrap_or_default();
    let post =
        b.id.get()
            .map(|id| format!(" (post {id})"))
            .unwrap_or_default();
    format!("TikTok published: the video is public{url}{post}")
}

fn social(b: &Body<'_>) -> String {
    let platform = b.platform.or("an account");
    let source = b.source.or("unknown source");
    let system = b.source.get() == Some("system");
    let name = b
        .display_name
        .get()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let details: Option<Who> = nested(b.details);
    let why = details
        .as_ref()
        .and_then(|d| d.message.get().map(|m| m.trim_end_matches('.').to_string()));
    match b.kind.get() {
        Some("unlink") => {
            let mut line = format!("{platform} unlinked by {source}{name}");
            if let Some(why) = why {
                line.push_str(&format!(": {why}"));
            }
            if let Some(code) = details.as_ref().and_then(|d| d.code.get()) {
                line.push_str(&format!(" (code {code})"));
            }
            if system {
                line.push_str(". Tell the user to relink");
            }
            line
        }
        Some("link") => format!("{platform} linked by {source}{name}"),
        Some("refresh") => {
            let by = b.refresh_by.get().map(short_date).unwrap_or("soon".into());
            let name = b
                .display_name
                .get()
                .map(|n| format!(", {n}"))
                .unwrap_or_default();
            format!(
                "{platform} needs a refresh by {by} ({source}{name}). Tell the user to re-authorize"
            )
        }
        Some(other) => format!("{platform} {other} by {source}{name}"),
        None => format!("{platform} social event by {source}{name}"),
    }
}

fn batch(b: &Body<'_>) -> String {
    let mut line = format!("batch {} finished", b.batch_id.or("?"));
    if let (Some(total), Some(ok)) = (b.total.get(), b.succeeded.get()) {
        line.push_str(&format!(": {ok} of {total} posts succeeded"));
        if let Some(failed) = b.failed.get().filter(|f| *f != "0") {
            line.push_str(&format!(", {failed} failed"));
        }
    }
    if let Some(url) = b.url.get() {
        line.push_str(&format!("; file: {url}"));
    }
    line
}

fn feed(b: &Body<'_>) -> String {
    let posted: Vec<PostRef> = nested(b.post_ids).unwrap_or_default();
    let to: Vec<String> = posted
        .iter()
        .filter_map(|p| p.platform.get().map(network))
        .collect();
    let title = b
        .title
        .get()
        .map(|t| format!(" \"{}\"", clip(t, 60)))
        .unwrap_or_default();
    let mut line = format!("feed: new RSS item{title}");
    if !to.is_empty() {
        line.push_str(&format!(" posted to {}", to.join(", ")));
    }
    if let Some(url) = b.article_url.get() {
        line.push_str(&format!(" ({url})"));
    }
    line
}

/// `2025-03-16T14:26:29Z` as `14:26:29 UTC on 2025-03-16`; other text as it is.
pub(super) fn clock(iso: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(iso) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%H:%M:%S UTC on %Y-%m-%d")
            .to_string(),
        Err(_) => iso.to_string(),
    }
}

/// `2025-04-03T00:00:00Z` as `2025-04-03`; other text as it is.
fn short_date(iso: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(iso) {
        Ok(t) => t.with_timezone(&chrono::Utc).format("%Y-%m-%d").to_string(),
        Err(_) => iso.to_string(),
    }
}
