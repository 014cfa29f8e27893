//! `listen --public`: the tunnel started with the right arguments, its URL parsed and shown,
//! restarted when it dies, never left behind, the sender's address taken from the tunnel's
//! header only on the tunnel's own port, and `--register ayrshare` against a fake API.

#[path = "../common/mod.rs"]
mod common;

mod fake_api;
mod fakes;
mod register;
mod tunnels;
