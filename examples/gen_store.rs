//! Generates a Store of many Events for benchmarks: a realistic mix of providers, event types,
//! statuses and failures, 1-3 KiB JSON bodies, one Delivery each, spread over 30 days.
//!
//! Usage: cargo run --release --example gen_store -- PATH [COUNT (default 1000000)]

use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use hooktap::event::{
    Classification, DeliveryKind, DeliveryResult, Event, HeaderList, Ingress, Outcome, Signature,
    new_uid, now_micros,
};
use hooktap::store::{Durability, NewDelivery, Store};
use tokio::task::JoinSet;

/// A small deterministic PRNG (xorshift64*), so every run builds the same Store.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Picks from `(weight, value)` pairs.
    fn pick<T: Copy>(&mut self, table: &[(u64, T)]) -> T {
        let total: u64 = table.iter().map(|(w, _)| w).sum();
        let mut at = self.below(total);
        for (w, v) in table {
            if at < *w {
                return *v;
            }
            at -= w;
        }
        table[0].1
    }
}

/// (provider, a header it always sends, its event types)
type Provider = (&'static str, &'static str, &'static [&'static str]);

const PROVIDERS: &[(u64, Provider)] = &[
    (
        50,
        (
            "ayrshare",
            "x-authorization-content-sha256",
            &[
                "social.unlink",
                "social.link",
                "scheduled",
                "scheduled.tikTokPublished",
                "messages",
                "batch",
                "feed",
                "comments",
            ],
        ),
    ),
    (
        20,
        (
            "github",
            "x-github-event",
            &[
                "push",
                "pull_request.opened",
                "pull_request.closed",
                "issues.opened",
                "workflow_run.completed",
            ],
        ),
    ),
    (
        15,
        (
            "stripe",
            "stripe-signature",
            &[
                "payment_intent.succeeded",
                "invoice.paid",
                "customer.created",
                "charge.failed",
            ],
        ),
    ),
    (
        5,
        (
            "standard-webhooks",
            "webhook-id",
            &["user.created", "message.sent"],
        ),
    ),
    (
        5,
        (
            "shopify",
            "x-shopify-topic",
            &["orders/create", "products/update"],
        ),
    ),
    (
        3,
        ("slack", "x-slack-signature", &["app_mention", "message"]),
    ),
    (2, ("unknown", "x-request-id", &[])),
];

/// `Some(status)` answered, `None` failed or timed out.
const ANSWERS: &[(u64, (Option<u16>, Outcome))] = &[
    (850, (Some(200), Outcome::Ok)),
    (30, (Some(201), Outcome::Ok)),
    (30, (Some(400), Outcome::Ok)),
    (20, (Some(404), Outcome::Ok)),
    (40, (Some(500), Outcome::Ok)),
    (10, (Some(502), Outcome::Ok)),
    (10, (None, Outcome::Failed)),
    (10, (None, Outcome::Timeout)),
];

const WORDS: &[&str] = &[
    "instagram",
    "facebook",
    "linkedin",
    "tiktok",
    "posted",
    "scheduled",
    "account",
    "locked",
    "profile",
    "refresh",
    "message",
    "reaction",
    "comment",
    "order",
    "invoice",
    "customer",
];

fn make(rng: &mut Rng, received_at: i64) -> (Event, Option<u16>, Outcome) {
    let (provider, sig_header, types) = rng.pick(PROVIDERS);
    let event_type = (!types.is_empty()).then(|| types[rng.below(types.len() as u64) as usize]);
    let size = 1024 + rng.below(2048) as usize;
    let mut body = format!(
        "{{\"action\":\"{}\",\"platform\":\"{}\",\"hookId\":\"hk{:016x}\",\"data\":\"",
        event_type.unwrap_or("ping"),
        WORDS[rng.below(4) as usize],
        rng.next()
    );
    while body.len() < size - 2 {
        body.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        body.push(' ');
    }
    body.push_str("\"}");
    let mut headers = HeaderList::default();
    headers.push("host", b"hooks.example.com".to_vec());
    headers.push(
        "user-agent",
        format!("{provider}-hookshot/1.0").into_bytes(),
    );
    headers.push("content-type", b"application/json".to_vec());
    headers.push("content-length", body.len().to_string().into_bytes());
    headers.push(sig_header, format!("{:064x}", rng.next()).into_bytes());
    let (status, outcome) = rng.pick(ANSWERS);
    let event = Event {
        uid: new_uid(),
        received_at,
        ingress: Ingress::Local,
        method: "POST".into(),
        path: format!("/hooks/{provider}"),
        query: None,
        remote_addr: Some("203.0.113.7:443".into()),
        headers,
        body: Bytes::from(body),
        class: Classification {
            provider: provider.into(),
            event_type: event_type.map(str::to_string),
            provider_event_id: Some(format!("evt_{:016x}", rng.next())),
            summary: None,
            signature: Signature::Unchecked,
            signature_detail: None,
        },
        derived_from: None,
    };
    (event, status, outcome)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().context("usage: gen_store PATH [COUNT]")?);
    let count: u64 = args
        .next()
        .map(|c| c.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let store = Store::open(&path, Durability::Normal)?;
    let writer = store.writer();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let span = 30 * 86_400_000_000i64;
    let start = now_micros() - span;
    let started = std::time::Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..count {
        let (event, status, outcome) = make(&mut rng, start + (i as i64 * span) / count as i64);
        let writer = writer.clone();
        tasks.spawn(async move {
            let delivery = NewDelivery {
                kind: DeliveryKind::Original,
                target: format!("http://localhost:3000{}", event.path),
                started_at: event.received_at,
            };
            let ins = writer.insert_event(event, Some(delivery)).await?;
            let mut headers = HeaderList::default();
            headers.push("content-type", b"application/json".to_vec());
            let result = DeliveryResult {
                outcome,
                status,
                headers,
                body: Bytes::from_static(br#"{"received":true}"#),
                error: status
                    .is_none()
                    .then(|| "cannot reach http://localhost:3000".into()),
                duration_us: 800,
            };
            let d = ins.delivery_id.context("no delivery")?;
            writer
                .finish_delivery(d, ins.event_id, DeliveryKind::Original, result)
                .await?;
            anyhow::Ok(())
        });
        // Bounded in flight: memory stays flat, the writer stays busy.
        while tasks.len() >= 2048 {
            tasks.join_next().await.context("task")???;
        }
        if i > 0 && i % 100_000 == 0 {
            eprintln!(
                "{i} events, {:.0}/s",
                i as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    while let Some(t) = tasks.join_next().await {
        t??;
    }
    drop(writer);
    store.close();
    eprintln!("{count} events in {:.1?}", started.elapsed());
    Ok(())
}
