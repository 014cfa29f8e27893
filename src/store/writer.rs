//! The one writer: a thread that owns the write connection, takes typed commands over a bounded
//! channel and commits them in groups. Each command is answered only once its group is committed,
//! and the bus hears of a change only then.

use std::sync::Arc;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Change;
use super::apply;
use super::checkpoint::Checkpointer;
use super::drift::Prepared;
use super::row::EventSummary;
use crate::event::{DeliveryKind, DeliveryResult, Event, Micros};

/// How many commands may wait for the writer before senders wait too (back-pressure).
const QUEUE: usize = 4096;
/// The most commands committed in one transaction.
const GROUP: usize = 512;

/// A Delivery to open, pending, in the same transaction as its Event.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub kind: DeliveryKind,
    pub target: String,
    pub started_at: Micros,
}

/// What inserting an Event produced.
#[derive(Clone, Debug)]
pub struct Inserted {
    pub event_id: i64,
    pub delivery_id: Option<i64>,
    pub summary: Arc<EventSummary>,
}

/// An Event with this uid is already stored: the Relay delivered it again after a cut Tunnel.
/// Capture answers it as stored without forwarding it a second time.
#[derive(Debug, thiserror::Error)]
#[error("an Event with uid {uid} is already stored as #{id}")]
pub struct DuplicateUid {
    pub uid: String,
    pub id: i64,
}

type Reply<T> = oneshot::Sender<anyhow::Result<T>>;
type Job = Box<dyn FnOnce(&Transaction<'_>) -> anyhow::Result<Change> + Send>;

/// A write the capture path makes. Kept until its group commits, so a group that fails part
/// way can be rolled back and its writes run again one by one.
enum Op {
    InsertEvent {
        event: Box<Event>,
        delivery: Option<NewDelivery>,
        shape: Option<Box<Prepared>>,
        /// The body's SHA-256, hashed on the caller's task like the shape.
        sha: [u8; 32],
    },
    StartDelivery {
        event_id: i64,
        delivery: NewDelivery,
    },
    FinishDelivery {
        id: i64,
        event_id: i64,
        kind: DeliveryKind,
        result: Box<DeliveryResult>,
    },
}

/// What an [`Op`] produced, before its commit.
enum Done {
    Inserted(Inserted),
    Started(i64),
    Finished(Arc<EventSummary>),
}

/// Where an [`Op`]'s answer goes.
enum Replier {
    Inserted(Reply<Inserted>),
    Started(Reply<i64>),
    Finished(Reply<Arc<EventSummary>>),
}

enum Command {
    Write {
        op: Op,
        reply: Replier,
    },
    /// Rare work that cannot be run twice: always in a transaction of its own.
    Run {
        job: Job,
        reply: Reply<()>,
    },
}

/// A cheap, cloneable handle for sending commands to the writer thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Command>,
}

impl Writer {
    /// Starts the writer thread on `conn`; it ends when every handle is dropped.
    pub(super) fn spawn(
        conn: Connection,
        bus: broadcast::Sender<Change>,
        checkpoint: Checkpointer,
    ) -> std::io::Result<(Writer, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut conn = conn;
        checkpoint.watch(&mut conn).map_err(std::io::Error::other)?;
        let thread = std::thread::Builder::new()
            .name("hooktap-store".into())
            .spawn(move || run(conn, rx, bus, checkpoint))?;
        Ok((Writer { tx }, thread))
    }

    /// Commits a new Event (and, when given, its pending Delivery) and returns their ids.
    pub async fn insert_event(
        &self,
        event: Event,
        delivery: Option<NewDelivery>,
    ) -> anyhow::Result<Inserted> {
        // Shaping the body is the costly part of drift: do it here, on the caller's task.
        let shape = super::drift::prepare(&event).map(Box::new);
        let sha = event.body_sha256();
        let op = Op::InsertEvent {
            event: Box::new(event),
            delivery,
            shape,
            sha,
        };
        self.call(|reply| Command::Write {
            op,
            reply: Replier::Inserted(reply),
        })
        .await
    }

    /// Commits a new pending Delivery of a stored Event and returns its id.
    pub async fn start_delivery(
        &self,
        event_id: i64,
        delivery: NewDelivery,
    ) -> anyhow::Result<i64> {
        let op = Op::StartDelivery { event_id, delivery };
        self.call(|reply| Command::Write {
            op,
            reply: Replier::Started(reply),
        })
        .await
    }

    /// Commits the result of a Delivery; returns the Event's summary as it now stands.
    pub async fn finish_delivery(
        &self,
        id: i64,
        event_id: i64,
        kind: DeliveryKind,
        result: DeliveryResult,
    ) -> anyhow::Result<Arc<EventSummary>> {
        let op = Op::FinishDelivery {
            id,
            event_id,
            kind,
            result: Box::new(result),
        };
        self.call(|reply| Command::Write {
            op,
            reply: Replier::Finished(reply),
        })
        .await
    }

    /// Runs `job` inside a write transaction (for rare work: recovery, pruning, import). Its
    /// returned [`Change`] goes on the bus after commit.
    pub async fn run(
        &self,
        job: impl FnOnce(&Transaction<'_>) -> anyhow::Result<Change> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.call(|reply| Command::Run {
            job: Box::new(job),
            reply,
        })
        .await
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| anyhow::anyhow!("the Store's writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the Store's writer stopped before answering"))?
    }
}

fn drain(rx: &mut mpsc::Receiver<Command>, batch: &mut Vec<Command>) {
    while batch.len() < GROUP {
        match rx.try_recv() {
            Ok(cmd) => batch.push(cmd),
            Err(_) => break,
        }
    }
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Command>,
    bus: broadcast::Sender<Change>,
    checkpoint: Checkpointer,
) {
    let mut batch = Vec::with_capacity(GROUP);
    let (mut commits, mut commands) = (0u64, 0u64);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        checkpoint.step_aside();
        drain(&mut rx, &mut batch);
        commands += batch.len() as u64;
        let mut writes = Vec::with_capacity(batch.len());
        for cmd in batch.drain(..) {
            match cmd {
                Command::Write { op, reply } => writes.push((op, reply)),
                Command::Run { job, reply } => {
                    // Keep order: what came before the job commits first.
                    commits += commit_group(&mut conn, std::mem::take(&mut writes), &bus);
                    commits += 1;
                    run_job(&mut conn, job, reply, &bus);
                }
            }
        }
        commits += commit_group(&mut conn, writes, &bus);
        checkpoint.poke();
    }
    tracing::debug!("store writer: {commands} commands in {commits} commits");
}

/// Applies a group of writes in one transaction, commits, then answers each and tells the bus.
/// If any write fails, the group is rolled back and each write runs again in a transaction of
/// its own, so one bad write never takes the others down (and the common path needs no
/// per-write savepoint, which would copy every page it touches). Returns the commits made.
fn commit_group(
    conn: &mut Connection,
    writes: Vec<(Op, Replier)>,
    bus: &broadcast::Sender<Change>,
) -> u64 {
    if writes.is_empty() {
        return 0;
    }
    match try_group(conn, writes.iter().map(|(op, _)| op)) {
        Ok(done) => {
            for ((op, reply), done) in writes.into_iter().zip(done) {
                answer(&op, reply, Ok(done), bus);
            }
            1
        }
        Err(e) if writes.len() == 1 => {
            let (op, reply) = writes.into_iter().next().expect("one write");
            answer(&op, reply, Err(e), bus);
            0
        }
        Err(_) => {
            let count = writes.len() as u64;
            for (op, reply) in writes {
                let result = try_group(conn, std::iter::once(&op)).map(|mut d| d.remove(0));
                answer(&op, reply, result, bus);
            }
            count
        }
    }
}

/// One transaction: every op, then commit; any failure rolls all of it back.
fn try_group<'a>(
    conn: &mut Connection,
    ops: impl Iterator<Item = &'a Op>,
) -> anyhow::Result<Vec<Done>> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| store_error(&e.to_string()))?;
    let mut done = Vec::new();
    for op in ops {
        done.push(apply(&tx, op)?);
    }
    tx.commit().map_err(|e| store_error(&e.to_string()))?;
    Ok(done)
}

fn apply(tx: &Transaction<'_>, op: &Op) -> anyhow::Result<Done> {
    Ok(match op {
        Op::InsertEvent {
            event,
            delivery,
            shape,
            sha,
        } => Done::Inserted(apply::insert_event(
            tx,
            event,
            delivery.as_ref(),
            shape.as_deref(),
            sha,
        )?),
        Op::StartDelivery { event_id, delivery } => {
            Done::Started(apply::start_delivery(tx, *event_id, delivery)?)
        }
        Op::FinishDelivery {
            id,
            event_id,
            kind,
            result,
        } => Done::Finished(apply::finish_delivery(tx, *id, *event_id, *kind, result)?),
    })
}

/// Sends a committed (or failed) write's answer, and tells the bus what was committed.
fn answer(op: &Op, reply: Replier, result: anyhow::Result<Done>, bus: &broadcast::Sender<Change>) {
    match (reply, result) {
        (Replier::Inserted(r), Ok(Done::Inserted(ins))) => {
            let _ = bus.send(Change::Event(ins.summary.clone()));
            let _ = r.send(Ok(ins));
        }
        (Replier::Started(r), Ok(Done::Started(id))) => drop(r.send(Ok(id))),
        (Replier::Finished(r), Ok(Done::Finished(summary))) => {
            if let Op::FinishDelivery { kind, result, .. } = op {
                let _ = bus.send(Change::Delivery {
                    summary: summary.clone(),
                    error: result.error.clone(),
                    kind: *kind,
                });
            }
            let _ = r.send(Ok(summary));
        }
        (reply, result) => {
            let e = result
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("internal error: a write answered out of kind"));
            match reply {
                Replier::Inserted(r) => drop(r.send(Err(e))),
                Replier::Started(r) => drop(r.send(Err(e))),
                Replier::Finished(r) => drop(r.send(Err(e))),
            }
        }
    }
}

/// Runs a one-off job in its own transaction.
fn run_job(conn: &mut Connection, job: Job, reply: Reply<()>, bus: &broadcast::Sender<Change>) {
    let result = (|| {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store_error(&e.to_string()))?;
        let change = job(&tx)?;
        tx.commit().map_err(|e| store_error(&e.to_string()))?;
        Ok(change)
    })();
    let _ = reply.send(result.map(|change| {
        let _ = bus.send(change);
    }));
}

fn store_error(cause: &str) -> anyhow::Error {
    anyhow::anyhow!("cannot write to the Store: {cause}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::event::{Classification, HeaderList, Ingress, new_uid, now_micros};
    use crate::store::{Durability, Store};

    fn event() -> Event {
        Event {
            uid: new_uid(),
            received_at: now_micros(),
            ingress: Ingress::Local,
            method: "POST".into(),
            path: "/x".into(),
            query: None,
            remote_addr: None,
            headers: HeaderList::default(),
            body: Bytes::from_static(b"{}"),
            class: Classification::default(),
            derived_from: None,
        }
    }

    /// Pass: a write that fails inside a group gets its error while the other writes of the
    /// same group are committed and answered.
    #[tokio::test]
    async fn one_failing_write_does_not_take_its_group_down() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), Durability::Normal).unwrap();
        let writer = store.writer();
        // Hold the writer busy in a job until every write below is queued, so they are
        // drained together as one group.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let gate = {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .run(move |_| {
                        let _ = held.recv_timeout(Duration::from_secs(10));
                        Ok(Change::Reload)
                    })
                    .await
            })
        };
        let inserts: Vec<_> = (0..5)
            .map(|_| {
                let w = writer.clone();
                tokio::spawn(async move { w.insert_event(event(), None).await })
            })
            .collect();
        let bad = {
            let w = writer.clone();
            let d = NewDelivery {
                kind: DeliveryKind::Replay,
                target: "http://x".into(),
                started_at: 0,
            };
            tokio::spawn(async move { w.start_delivery(999_999, d).await })
        };
        // Let the spawned tasks queue their commands.
        while writer.tx.capacity() > QUEUE - 6 {
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        gate.await.unwrap().unwrap();
        let err = bad.await.unwrap().unwrap_err().to_string();
        assert!(err.contains("no event #999999"), "{err}");
        for i in inserts {
            i.await.unwrap().expect("the other writes commit");
        }
        assert_eq!(store.reader().unwrap().count().unwrap(), 5);
    }
}
