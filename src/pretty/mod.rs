//! Events for people: bodies decoded and indented (JSON), binary as hex, and two Deliveries
//! compared. Display only: the stored bytes are never changed. Used by `show` and the TUI.

pub mod body;
pub mod diff;

pub use body::{Shown, decode, hex_dump, indent_json, render};
