//! Summaries of the inbox actions: direct messages (new, read, reactions), the legacy
//! `message` action, and comments.

use serde::Deserialize;

use super::Body;
use super::summary::{Who, clock, network};
use crate::providers::json::{Text, nested};
use crate::providers::mac::clip;

/// The legacy `message` action's `message` object.
#[derive(Deserialize)]
struct LegacyMessage<'a> {
    #[serde(borrow, default)]
    text: Text<'a>,
    #[serde(borrow, default)]
    platform: Text<'a>,
    #[serde(borrow, default)]
    sender: Option<Who<'a>>,
}

pub(super) fn messages(b: &Body<'_>) -> String {
    let net = b.platform.get().map(network).unwrap_or("Messages".into());
    let conv = b.conversation_id.or("?");
    match b.sub_action.get().unwrap_or_default() {
        "messageRead" if b.platform.get() == Some("facebook") || b.mid.get().is_none() => {
            let at = b
                .read
                .get()
                .or(b.created.get())
                .map(clock)
                .unwrap_or("now".into());
            format!("{net} read: everything in conversation {conv} up to {at} is read")
        }
        "messageRead" => format!(
            "{net} read: message {} in conversation {}",
            clip(b.mid.or("?"), 24),
            clip(conv, 24)
        ),
        "reactionCreated" | "reactionDeleted" => {
            let added = b.sub_action.get() == Some("reactionCreated");
            let what = match (b.emoji.get(), b.reaction.get()) {
                (Some(e), Some(r)) => format!("{e} ({r})"),
                (Some(e), None) => e.to_string(),
                (None, Some(r)) => r.to_string(),
                (None, None) => "a reaction".into(),
            };
            let verb = if added { "added to" } else { "removed from" };
            format!(
                "{net} reaction {what} {verb} message {}",
                clip(b.message_id.or("?"), 24)
            )
        }
        sub => {
            let who: Option<Who> = nested(b.sender_details);
            let sender = who
                .as_ref()
                .and_then(|w| w.name.get().or(w.username.get()))
                .or(b.sender_id.get())
                .unwrap_or("someone");
            let text: Option<Text> = nested(b.message);
            let text = text
                .as_ref()
                .and_then(Text::get)
                .map(|t| format!(": \"{}\"", clip(t, 80)))
                .unwrap_or_default();
            let what = match sub {
                "messageCreated" | "" => "message",
                other => other,
            };
            format!("{net} {what} from {sender} in conversation {conv}{text}")
        }
    }
}

pub(super) fn legacy_message(b: &Body<'_>) -> String {
    let Some(m) = nested::<LegacyMessage>(b.message) else {
        return format!("message {}", b.sub_action.or("event"));
    };
    let net = m.platform.get().map(network).unwrap_or("a network".into());
    let sender = m
        .sender
        .as_ref()
        .and_then(|s| match (s.name.get(), s.username.get()) {
            (Some(n), Some(u)) => Some(format!("{n} (@{u})")),
            (Some(n), None) => Some(n.to_string()),
            (None, Some(u)) => Some(format!("@{u}")),
            (None, None) => None,
        })
        .unwrap_or("someone".into());
    let text = m
        .text
        .get()
        .map(|t| format!(": \"{}\"", clip(t, 80)))
        .unwrap_or_default();
    match b.sub_action.get() {
        Some("delete") => format!("{net} direct message deleted by {sender}"),
        Some("reaction") => format!("{net} reaction from {sender}{text}"),
        _ => format!("{net} direct message from {sender}{text}"),
    }
}

pub(super) fn comment(b: &Body<'_>) -> String {
    let net = b.platform.get().map(network).unwrap_or("a network".into());
    let who: Option<Who> = nested(b.from);
    let from = who
        .as_ref()
        .and_then(|w| {
            w.username
                .get()
                .map(|u| format!("@{u}"))
                .or(w.name.get().map(str::to_string))
        })
        .unwrap_or("someone".into());
    let post = b
        .post_id
        .get()
        .map(|p| format!(" on post {p}"))
        .unwrap_or_default();
    let text = b
        .text
        .get()
        .map(|t| format!(": \"{}\"", clip(t, 80)))
        .unwrap_or_default();
    let verb = match b.sub_action.get() {
        Some("commentDeleted") => "comment deleted",
        _ => "comment",
    };
    format!("{net} {verb} from {from}{post}{text}")
}
