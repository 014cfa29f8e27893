//! The long soak (opt-in): `cargo test --release --test hardening -- --ignored soak`.
//! 500 Events/s through a Relay and an Agent over TLS for 10 minutes (`HOOKTAP_SOAK_SECS`
//! changes it), sampling both processes' memory and open files every 5 s.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::harness::{Certs, Proc, agent, certs, channel};
use crate::support::{Sink, fds, proc_kib};

/// A Relay with its default timings (the harness's 1 s head timeout would close idle
/// keep-alive connections under the sender's feet).
fn relay(dir: &std::path::Path, certs: &Certs) -> (Proc, u16) {
    let args: Vec<String> = [
        "relay",
        "--bind",
        "127.0.0.1:0",
        "--tls-cert",
        certs.cert.to_str().unwrap(),
        "--tls-key",
        certs.key.to_str().unwrap(),
        "--db",
        dir.join("relay.db").to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    let mut p = Proc::spawn("relay", &args);
    let line = p.wait_for("listening on https://127.0.0.1:", Duration::from_secs(20));
    let port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    (p, port)
}

type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// A sender trusting the test CA whose idle connections leave well before the Relay's idle
/// timeout, as a provider's would.
fn sender(certs: &Certs) -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(2))
        .build(crate::web::trusting_test_ca(certs))
}

/// POSTs `body`; the status, or 0 when the request failed without an answer.
async fn post(client: &Client, url: &str, body: String) -> u16 {
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    match client.request(req).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let _ = resp.into_body().collect().await;
            status
        }
        Err(_) => 0,
    }
}

/// One sample of a process.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
}

fn summary(name: &str, s: &[Sample]) -> String {
    let rss: Vec<u64> = s.iter().map(|x| x.rss_kib / 1024).collect();
    let f: Vec<usize> = s.iter().map(|x| x.fds).collect();
    format!(
        "{name}: RSS MiB min {} max {} first {} last {}; open files min {} max {} last {}",
        rss.iter().min().unwrap(),
        rss.iter().max().unwrap(),
        rss[0],
        rss[rss.len() - 1],
        f.iter().min().unwrap(),
        f.iter().max().unwrap(),
        f[f.len() - 1]
    )
}

/// Mean RSS (KiB) and open files of the samples taken between `from` and `to` (fractions of
/// the run).
fn mean(s: &[Sample], from: f64, to: f64) -> (u64, usize) {
    let n = s.len() as f64;
    let part = &s[(n * from) as usize..((n * to) as usize).max((n * from) as usize + 1)];
    let k = part.len();
    (
        part.iter().map(|x| x.rss_kib).sum::<u64>() / k as u64,
        part.iter().map(|x| x.fds).sum::<usize>() / k,
    )
}

/// The soak. Pass: every one of 500/s x the run's seconds webhooks gets a 2xx (none
/// fails, none is left without an answer); at the end the sender's acknowledged count, the Relay's database, the Agent's
/// Store and the Target all hold exactly that many; after the first fifth (warm-up) each
/// process's mean RSS in the last fifth is within 16 MiB of its mean in the second fifth, and
/// its mean count of open files within 32 (the sender keeps up to 128 connections, so the
/// count moves with latency; a leak grows without bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10 minutes: cargo test --release --test hardening -- --ignored soak"]
async fn soak_500_events_per_second_through_the_relay() {
    let secs: u64 = std::env::var("HOOKTAP_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    const RATE: u64 = 500;
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let sink = Sink::start().await;
    let token = channel(dir.path(), &["add", "soak"]);
    let (relay, port) = relay(dir.path(), &certs);
    let mut agent = agent(dir.path(), &certs, port, "soak", &token, &sink.url(), &[]);
    tokio::task::block_in_place(|| agent.wait_for("tunnel connected", Duration::from_secs(20)));
    let pids = [("relay", relay.child.id()), ("agent", agent.child.id())];

    let samples: Arc<Mutex<Vec<Vec<Sample>>>> = Arc::new(Mutex::new(vec![Vec::new(); 2]));
    let started = Instant::now();
    let sampler = {
        let samples = samples.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                let mut s = samples.lock().unwrap();
                for (i, (_, pid)) in pids.iter().enumerate() {
                    s[i].push(Sample {
                        at: started.elapsed(),
                        rss_kib: proc_kib(*pid, "VmRSS"),
                        fds: fds(*pid),
                    });
                }
            }
        })
    };

    let client = sender(&certs);
    let total = (secs * RATE) as usize;
    let acked = Arc::new(AtomicUsize::new(0));
    let failed: Arc<Mutex<Vec<u16>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let slots = Arc::new(tokio::sync::Semaphore::new(128));
    let gap = Duration::from_secs_f64(1.0 / RATE as f64);
    let t0 = tokio::time::Instant::now();
    let url = format!("https://localhost:{port}/c/soak/hooks/soak");
    for n in 0..total {
        tokio::time::sleep_until(t0 + gap * n as u32).await;
        let permit = slots.clone().acquire_owned().await.unwrap();
        let (client, url, acked, failed, latencies) = (
            client.clone(),
            url.clone(),
            acked.clone(),
            failed.clone(),
            latencies.clone(),
        );
        tokio::spawn(async move {
            let body = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "s".repeat(900));
            let t = Instant::now();
            let status = post(&client, &url, body).await;
            latencies.lock().unwrap().push(t.elapsed());
            if (200..300).contains(&status) {
                acked.fetch_add(1, Ordering::SeqCst);
            } else {
                failed.lock().unwrap().push(status);
            }
            drop(permit);
        });
    }
    let _ = slots.acquire_many(128).await.unwrap();
    let sending = t0.elapsed();
    let acked = acked.load(Ordering::SeqCst);
    let failed = failed.lock().unwrap().clone();

    // Everything acknowledged reaches the Target (some were queued with 202).
    let relay_db = dir.path().join("relay.db");
    let agent_db = dir.path().join("agent-soak.db");
    let count = |db: &std::path::Path| -> usize {
        let c = rusqlite::Connection::open(db).unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        c.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
            .unwrap() as usize
    };
    crate::common::eventually(Duration::from_secs(60), || {
        (sink.count() >= acked).then_some(())
    })
    .await;
    sampler.abort();
    let samples = samples.lock().unwrap().clone();
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let q = |p: f64| l[((l.len() - 1) as f64 * p) as usize];
    eprintln!(
        "soak: {total} webhooks at {RATE}/s over TLS through relay + agent in {sending:?}: {acked} acknowledged, \
         {} failed; latency p50 {:?} p99 {:?} max {:?}",
        failed.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
    for (i, (name, _)) in pids.iter().enumerate() {
        eprintln!("soak: {}", summary(name, &samples[i]));
        for s in samples[i].iter().step_by(12) {
            eprintln!(
                "soak:   {name} t={:>4}s RSS {:>4} MiB, {:>3} open files",
                s.at.as_secs(),
                s.rss_kib / 1024,
                s.fds
            );
        }
    }
    assert!(
        failed.is_empty(),
        "failed: {:?}",
        &failed[..failed.len().min(20)]
    );
    assert_eq!(acked, total);
    assert_eq!(count(&relay_db), total, "Events in the Relay's database");
    assert_eq!(count(&agent_db), total, "Events in the Agent's Store");
    assert_eq!(sink.count(), total, "requests at the Target");
    for (i, (name, _)) in pids.iter().enumerate() {
        let s = &samples[i];
        assert!(s.len() >= 5, "too few samples");
        let ((rss_early, fds_early), (rss_late, fds_late)) = (mean(s, 0.2, 0.4), mean(s, 0.8, 1.0));
        assert!(
            rss_late < rss_early + 16 * 1024,
            "{name}: RSS grew from {} to {} MiB",
            rss_early / 1024,
            rss_late / 1024
        );
        assert!(
            fds_late <= fds_early + 32,
            "{name}: open files grew from {fds_early} to {fds_late}"
        );
    }
}
