//! `--relay-ca`: a self-signed Relay certificate (CA:TRUE, as `openssl req -x509` makes) is
//! pinned; one that is neither that certificate nor signed by it is refused for good.

use crate::harness::*;
use crate::web::*;
use crate::{SECS, wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_ca_true_relay_certificate_given_as_relay_ca_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let own = self_signed_ca(dir.path());
    let target = Target::start().await;
    let token = channel(dir.path(), &["add", "alice"]);
    let (_relay, port) = relay(dir.path(), &own, 0, &[]);
    let mut pinned = agent(dir.path(), &own, port, "alice", &token, &target.url, &[]);
    // Connected: TLS, the handshake and the Relay's hello went through the pinned certificate.
    wait(&mut pinned, "tunnel connected", 20);
    drop(pinned);

    // Another self-signed certificate in --relay-ca: not the Relay's, so refused for good.
    let other_dir = tempfile::tempdir().unwrap();
    let other = self_signed_ca(other_dir.path());
    let mut refused = agent(dir.path(), &other, port, "alice", &token, &target.url, &[]);
    let status = tokio::task::block_in_place(|| refused.wait_exit(SECS(20)));
    assert_eq!(status.code(), Some(1), "{}", refused.output());
    assert!(
        refused.output().contains("failed the TLS check"),
        "{}",
        refused.output()
    );
}
