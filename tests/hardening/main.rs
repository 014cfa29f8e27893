//! Hardening: the reliability and security suite. Load held, faults survived, hostile input
//! refused, nothing acknowledged lost (scenarios L1-L6, F1-F8, B1-B13 of the reliability
//! note). Each test's doc comment states its pass condition.

#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../relay/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../relay/web.rs"]
mod web;

mod crash;
mod fidelity;
mod flood;
mod framing;
mod load;
mod mutation;
mod proxy;
mod redaction;
mod regressions;
mod soak;
mod storage;
mod support;
mod target;
mod tenants;
mod tls;
