//! Ack means stored, under `kill -9` (F1, the MongoDB pattern): load, kill at a seeded random
//! moment, restart on the same Store, check, repeat.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::common::Rng;
use crate::support::{Sink, client, integrity, listen, send, stored};

/// F1. Pass: 20 iterations (seed printed; set `HOOKTAP_SEED` to replay one run): 8 senders post
/// unique ids until `kill -9` lands after a seeded 300-1000 ms; then `listen` restarts on the
/// same Store and is ready (listening) in under 2 s. After every iteration, every id whose
/// sender got a 2xx is in the Store, no id is stored twice, no Delivery is left `pending`
/// after the restart (the one in flight is marked `interrupted`), and `integrity_check` is ok.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_event() {
    let seed: u64 = std::env::var("HOOKTAP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x4B11_9A17);
    eprintln!("F1: seed {seed} (HOOKTAP_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut slowest_start = Duration::ZERO;
    let mut bin = listen(&db, &sink.url(), &[], &[]);
    for iteration in 0..20 {
        let stop = Arc::new(AtomicBool::new(false));
        let url = bin.url("/hooks/crash");
        let mut senders = Vec::new();
        for w in 0..8 {
            let (url, acked, stop) = (url.clone(), acked.clone(), stop.clone());
            senders.push(tokio::spawn(async move {
                let client = client();
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let id = format!("i{iteration}-w{w}-{n}");
                    let body = Bytes::from(format!("{{\"id\":\"{id}\"}}"));
                    match send(&client, &url, &id, body).await {
                        Some(s) if (200..300).contains(&s) => {
                            acked.lock().unwrap().insert(id);
                        }
                        // The process is gone: this sender is done.
                        _ => return,
                    }
                }
            }));
        }
        let after = Duration::from_millis(300 + rng.below(700));
        tokio::time::sleep(after).await;
        bin.kill9();
        stop.store(true, Ordering::SeqCst);
        for s in senders {
            s.await.unwrap();
        }

        let started = Instant::now();
        bin = listen(&db, &sink.url(), &[], &[]);
        let ready = started.elapsed();
        slowest_start = slowest_start.max(ready);
        assert!(
            ready < Duration::from_secs(2),
            "iteration {iteration} (seed {seed}): ready after {ready:?}"
        );

        let rows = stored(&db);
        let mut per_id: HashMap<&str, usize> = HashMap::new();
        for (id, _, outcome) in &rows {
            let id = id.as_deref().expect("every Event has its x-id");
            *per_id.entry(id).or_insert(0) += 1;
            assert_ne!(
                outcome.as_deref(),
                Some("pending"),
                "iteration {iteration} (seed {seed}): {id} still pending after the restart"
            );
        }
        let twice: Vec<_> = per_id.iter().filter(|(_, c)| **c > 1).collect();
        assert!(twice.is_empty(), "stored twice (seed {seed}): {twice:?}");
        let acked = acked.lock().unwrap();
        let lost: Vec<_> = acked
            .iter()
            .filter(|id| !per_id.contains_key(id.as_str()))
            .collect();
        assert!(
            lost.is_empty(),
            "iteration {iteration} (seed {seed}, killed after {after:?}): {} acknowledged \
             Events lost, e.g. {:?}",
            lost.len(),
            lost.first()
        );
        assert_eq!(integrity(&db), "ok", "iteration {iteration} (seed {seed})");
    }
    let total = acked.lock().unwrap().len();
    eprintln!(
        "F1: 20 kills, {total} acknowledged Events all stored; slowest restart {slowest_start:?}"
    );
    assert!(
        total >= 20 * 50,
        "only {total} Events acknowledged: the load was too light to prove much"
    );
}
