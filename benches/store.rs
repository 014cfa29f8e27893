//! Store benchmark: the capture path's two writes per Event (insert with a pending Delivery,
//! then finish it) from 32 concurrent tasks, without any network. Reports Events/s and the
//! CPU time per Event of the writer thread and of the whole process.
//! Usage: `cargo bench --bench store [-- SECONDS]` (default 5).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hooktap::event::{
    DeliveryKind, DeliveryResult, Event, HeaderList, Ingress, Outcome, new_uid, now_micros,
};
use hooktap::providers::Providers;
use hooktap::store::{Durability, NewDelivery, Store};

fn cpu_seconds(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let fields: Vec<&str> = text
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn writer_stat() -> Option<String> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    tasks.flatten().find_map(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        (comm.trim() == "hooktap-store").then(|| t.path().join("stat").display().to_string())
    })
}

/// The allocator `hooktap` itself runs with, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`: the first other argument is the duration.
    let seconds: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.db"), Durability::Normal)?;
    let providers = Providers::default();
    // The load benchmark's body: an Ayrshare `scheduled` result with 20 posts (2.6 KB; its ids
    // and URLs compress about 2:1, as real ones do, not to nothing like a padding would).
    let posts: Vec<String> = ["twitter", "facebook", "instagram", "linkedin", "tiktok"]
        .iter()
        .cycle()
        .take(20)
        .enumerate()
        .map(|(i, p)| {
            format!(
                r#"{{"postUrl":"https://example.com/p/{i}","platform":"{p}","status":"success","id":"{:020}"}}"#,
                (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) % 10u64.pow(19)
            )
        })
        .collect();
    let body = Bytes::from(format!(
        r#"{{"action":"scheduled","created":"2026-11-27T18:00:00Z","code":200,"status":"success","refId":"7f3c9a1e5b2d4c6e8a0f1b3d5e7a9c1e3f5b7d90","id":"Zt4pQ8wNc2Lk6RbY0sHd","hookId":"hkB7mV1sQ9cX4zR2nT6e","errors":[],"url":"https://hooks.example.dev/ayrshare","postIds":[{}]}}"#,
        posts.join(",")
    ));
    let length = body.len().to_string();
    let mut headers = HeaderList::default();
    for (n, v) in [
        ("host", "127.0.0.1:8787"),
        ("user-agent", "bench"),
        ("content-type", "application/json"),
        ("content-length", length.as_str()),
    ] {
        headers.push(n, v.as_bytes());
    }
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(seconds);
    // The writer thread starts with the first command.
    store
        .writer()
        .run(|_| Ok(hooktap::store::Change::Reload))
        .await?;
    let writer_stat = writer_stat().expect("writer thread");
    let (w0, p0) = (cpu_seconds(&writer_stat), cpu_seconds("/proc/self/stat"));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (writer, done, body, headers) =
            (store.writer(), done.clone(), body.clone(), headers.clone());
        let class = providers.classify(&headers, &body);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop {
                let event = Event {
                    uid: new_uid(),
                    received_at: now_micros(),
                    ingress: Ingress::Local,
                    method: "POST".into(),
                    path: "/hooks/bench".into(),
                    query: None,
                    remote_addr: Some("127.0.0.1:5000".into()),
                    headers: headers.clone(),
                    body: body.clone(),
                    class: class.clone(),
                    derived_from: None,
                };
                let d = NewDelivery {
                    kind: DeliveryKind::Original,
                    target: "http://127.0.0.1:3000/hooks/bench".into(),
                    started_at: now_micros(),
                };
                let ins = writer.insert_event(event, Some(d)).await.expect("insert");
                let mut rh = HeaderList::default();
                rh.push("content-type", b"application/json".to_vec());
                let result = DeliveryResult {
                    outcome: Outcome::Ok,
                    status: Some(200),
                    headers: rh,
                    body: Bytes::from_static(b"{\"ok\":true}"),
                    error: None,
                    duration_us: 100,
                };
                writer
                    .finish_delivery(
                        ins.delivery_id.unwrap(),
                        ins.event_id,
                        DeliveryKind::Original,
                        result,
                    )
                    .await
                    .expect("finish");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (w1, p1) = (cpu_seconds(&writer_stat), cpu_seconds("/proc/self/stat"));
    let n = done.load(Ordering::Relaxed) as f64;
    println!(
        "{n:.0} Events in {elapsed:.1} s: {:.0} Events/s; writer thread {:.1} µs/Event; process {:.1} µs/Event",
        n / elapsed,
        (w1 - w0) * 1e6 / n,
        (p1 - p0) * 1e6 / n
    );
    Ok(())
}
