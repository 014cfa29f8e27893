//! The Tunnel: a Relay on a public host keeps webhooks for Channels until the Agent
//! (`hooktap listen --relay ...`) that dialled out to it has committed them.
//!
//! [`protocol`] holds the handshake and constants, [`wire`] how an Event crosses; [`relay`] and
//! [`hub`] are the Relay's server and Channels, [`relay_db`] and [`relay_store`] its database;
//! [`agent`] is the laptop's side, [`start`] starts it from `listen`'s flags, [`backoff`] times
//! its reconnects.

pub mod acme;
pub mod agent;
pub mod backoff;
pub mod hub;
pub mod protocol;
pub mod relay;
pub mod relay_db;
pub mod relay_store;
pub mod start;
pub mod wire;
pub mod ws;

/// `1 Event`, `3 Events`: counts in log lines.
pub fn events(n: u64) -> String {
    if n == 1 {
        "1 Event".into()
    } else {
        format!("{n} Events")
    }
}
