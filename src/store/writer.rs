//! The one writer: a thread that owns the write connection, takes typed commands over a bounded
//! channel and commits them in groups (its loop is in `group`). Each command is answered only
//! once its group is committed, and the bus hears of a change only then.

use std::sync::Arc;

use rusqlite::{Connection, Transaction};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Change;
use super::checkpoint::Checkpointer;
use super::drift::Prepared;
use super::group;
use super::row::EventSummary;
use crate::event::{DeliveryKind, DeliveryResult, Event, Micros};

/// How many commands may wait for the writer before senders wait too (back-pressure).
const QUEUE: usize = 4096;

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

pub(super) type Reply<T> = oneshot::Sender<anyhow::Result<T>>;
pub(super) type Job = Box<dyn FnOnce(&Transaction<'_>) -> anyhow::Result<Change> + Send>;

/// A write the capture path makes. Kept until its group commits, so a group that fails part
/// way can be rolled back and its writes run again one by one.
pub(super) enum Op {
    InsertEvent {
        event: Box<Event>,
        delivery: Option<NewDelivery>,
        shape: Option<Box<Prepared>>,
        /// The body's SHA-256 and its compressed form, made on the caller's task like the shape.
        sha: [u8; 32],
        packed: Option<Vec<u8>>,
        /// Held for redelivery from the start (the sender is answered before any Delivery).
        hold: bool,
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
        /// The answer's body compressed, made on the caller's task.
        packed: Option<Vec<u8>>,
        /// Hold the Event for redelivery (see `redeliver`) unless this Delivery was answered.
        hold: bool,
    },
}

/// What an [`Op`] produced, before its commit.
pub(super) enum Done {
    Inserted(Inserted),
    Started(i64),
    Finished(Arc<EventSummary>),
}

/// Where an [`Op`]'s answer goes.
pub(super) enum Replier {
    Inserted(Reply<Inserted>),
    Started(Reply<i64>),
    Finished(Reply<Arc<EventSummary>>),
}

pub(super) enum Command {
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
            .spawn(move || group::run(conn, rx, bus, checkpoint))?;
        Ok((Writer { tx }, thread))
    }

    /// Commits a new Event (and, when given, its pending Delivery) and returns their ids.
    pub async fn insert_event(
        &self,
        event: Event,
        delivery: Option<NewDelivery>,
    ) -> anyhow::Result<Inserted> {
        self.insert(event, delivery, false).await
    }

    /// [`Writer::insert_event`], and with `hold`, the Event is held for redelivery in the
    /// same commit: for a sender answered `202` before the app has it (`--respond accept
    /// --redeliver`), so even a `kill -9` before the first Delivery finishes leaves it owed to
    /// the app. The redeliverer leaves it alone while that Delivery is pending; an answered
    /// Delivery releases it.
    pub async fn insert(
        &self,
        event: Event,
        delivery: Option<NewDelivery>,
        hold: bool,
    ) -> anyhow::Result<Inserted> {
        // Shaping the body is the costly part of drift: do it here, on the caller's task.
        let shape = super::drift::prepare(&event).map(Box::new);
        let sha = event.body_sha256();
        let packed = super::body::pack(&event.body);
        let op = Op::InsertEvent {
            event: Box::new(event),
            delivery,
            shape,
            sha,
            packed,
            hold,
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
        self.finish(id, event_id, kind, result, false).await
    }

    /// [`Writer::finish_delivery`], and with `hold` (a Delivery that missed the app), in the
    /// same commit, the Event is held for redelivery (`held_since` set if it was not already).
    /// A Delivery that is answered, of any kind, releases its Event.
    pub async fn finish(
        &self,
        id: i64,
        event_id: i64,
        kind: DeliveryKind,
        result: DeliveryResult,
        hold: bool,
    ) -> anyhow::Result<Arc<EventSummary>> {
        let packed = super::body::pack(&result.body);
        let op = Op::FinishDelivery {
            id,
            event_id,
            kind,
            result: Box::new(result),
            packed,
            hold,
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
        let (inside, entered) = tokio::sync::oneshot::channel::<()>();
        let gate = {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .run(move |_| {
                        let _ = inside.send(());
                        let _ = held.recv_timeout(Duration::from_secs(10));
                        Ok(Change::Reload)
                    })
                    .await
            })
        };
        // Only once the writer is inside the job can nothing below be drained before it.
        entered.await.unwrap();
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
