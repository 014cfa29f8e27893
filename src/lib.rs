//! hooktap: a local webhook tunnel and capture proxy.
//!
//! ```text
//! public HTTP --> listener ---+
//! relay --> tunnel (agent) ---+--> capture --> store(Event) --> forward --> Target
//!                                   capture <-- response | failure <-- forward
//!                                   capture --> store(Delivery) --> bus --> TUI, log lines
//! TUI / CLI --replay(id)--> replay --> forward (same code path) --> store(Delivery) --> bus
//! capture --app down--> redeliver --> replay (kind retry) --> forward, until the app answers
//! ```
//!
//! [`capture`] is the one pipeline all traffic takes; [`forward`] is the only code that talks to
//! a Target; the [`store`] announces on its bus only what it has committed.
#![forbid(unsafe_code)]

pub mod capture;
pub mod cmd;
pub mod config;
pub mod event;
pub mod explain;
pub mod export;
pub mod filter;
pub mod forward;
pub mod import;
pub mod lines;
pub mod listener;
pub mod logs;
pub mod pretty;
pub mod providers;
pub mod prune;
pub mod public;
pub mod record;
pub mod redact;
pub mod redeliver;
pub mod replay;
pub mod route;
pub mod store;
pub mod text;
pub mod tls;
pub mod trigger;
pub mod tui;
pub mod tunnel;
pub mod web;
