//! Capture core: ack means stored, byte fidelity, bad input, no open proxy, the Store's files,
//! redelivery to an app that was down, and the user-facing errors of `listen`, `list` and `show`.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod durability;
mod fidelity;
mod ingress;
mod loops;
mod redeliver;
mod respond;
mod routes;
