//! The web inspector: its JSON API over a real `listen` (paging, filter errors, show, replay,
//! edit, export, SSE with `Last-Event-ID`) and its guards (Host, CSRF, headers).

#[path = "../common/mod.rs"]
mod common;

mod api;
mod browser;
mod processes;
mod support;
