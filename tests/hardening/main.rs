//! Hardening: the reliability and security suite. Load held, faults survived, hostile input
//! refused, nothing acknowledged lost (scenarios L1-L6, F1-F8, B1-B13 of the reliability
//! note). Each test's doc comment states its pass condition; `SECURITY.md` maps the promises
//! to these tests.
//!
//! Load: `load` (L1, L3, L4), `flood` (L5, L6), `soak` (ignored: 10 minutes through a Relay).
//! Faults: `crash` (F1), `target` (F2, F3), `storage` (F8).
//! Bad input: `framing` (B1-B4), `proxy` (B5), `tenants` (B6, B7), `tls` (B8),
//! `mutation` (B11), `fidelity` (B12), `redaction` (B13), `hostile` (B14), `regressions` (from
//! the fuzzers).
//! Files: `files` (private modes of every file hooktap creates), `export_out` (`export -o`).

#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../relay/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../relay/web.rs"]
mod web;

mod crash;
mod export_out;
mod fidelity;
mod files;
mod flood;
mod framing;
mod hostile;
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
