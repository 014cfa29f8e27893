//! The one writer: a thread that owns the write connection, takes typed commands over a bounded
//! channel and commits them in groups. Each command is answered only once its group is committed,
//! and the bus hears of a change only then.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Change;
use super::drift::Prepared;
use super::row::{EventSummary, SUMMARY_COLUMNS};
use crate::event::{DeliveryKind, DeliveryResult, Event, Ingress, Micros, Outcome};

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

enum Command {
    InsertEvent {
        event: Box<Event>,
        delivery: Option<NewDelivery>,
        shape: Option<Box<Prepared>>,
        reply: Reply<Inserted>,
    },
    StartDelivery {
        event_id: i64,
        delivery: NewDelivery,
        reply: Reply<i64>,
    },
    FinishDelivery {
        id: i64,
        event_id: i64,
        kind: DeliveryKind,
        result: Box<DeliveryResult>,
        reply: Reply<Arc<EventSummary>>,
    },
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
    ) -> std::io::Result<(Writer, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("hooktap-store".into())
            .spawn(move || run(conn, rx, bus))?;
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
        self.call(|reply| Command::InsertEvent {
            event: Box::new(event),
            delivery,
            shape,
            reply,
        })
        .await
    }

    /// Commits a new pending Delivery of a stored Event and returns its id.
    pub async fn start_delivery(
        &self,
        event_id: i64,
        delivery: NewDelivery,
    ) -> anyhow::Result<i64> {
        self.call(|reply| Command::StartDelivery {
            event_id,
            delivery,
            reply,
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
        self.call(|reply| Command::FinishDelivery {
            id,
            event_id,
            kind,
            result: Box::new(result),
            reply,
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

/// An answer waiting for its group to commit.
enum Pending {
    Inserted(Reply<Inserted>, anyhow::Result<Inserted>),
    Started(Reply<i64>, anyhow::Result<i64>),
    Finished(
        Reply<Arc<EventSummary>>,
        anyhow::Result<Arc<EventSummary>>,
        Option<String>,
        DeliveryKind,
    ),
    Ran(Reply<()>, anyhow::Result<Change>),
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Command>, bus: broadcast::Sender<Change>) {
    let mut batch = Vec::with_capacity(GROUP);
    let (mut groups, mut commands) = (0u64, 0u64);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        drain(&mut rx, &mut batch);
        groups += 1;
        commands += batch.len() as u64;
        commit_group(&mut conn, &mut batch, &bus);
    }
    tracing::debug!("store writer: {commands} commands in {groups} commits");
}

/// Applies every command of the group in one transaction, each in its own savepoint so one
/// failure does not undo the others, then commits and answers.
fn commit_group(conn: &mut Connection, batch: &mut Vec<Command>, bus: &broadcast::Sender<Change>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch.drain(..), &e.to_string()),
    };
    let mut pending = Vec::with_capacity(batch.len());
    for cmd in batch.drain(..) {
        pending.push(apply(&tx, cmd));
    }
    if let Err(e) = tx.commit() {
        let cause = e.to_string();
        for p in pending {
            match p {
                Pending::Inserted(r, _) => drop(r.send(Err(store_error(&cause)))),
                Pending::Started(r, _) => drop(r.send(Err(store_error(&cause)))),
                Pending::Finished(r, ..) => drop(r.send(Err(store_error(&cause)))),
                Pending::Ran(r, _) => drop(r.send(Err(store_error(&cause)))),
            }
        }
        return;
    }
    for p in pending {
        match p {
            Pending::Inserted(r, res) => {
                if let Ok(ins) = &res {
                    let _ = bus.send(Change::Event(ins.summary.clone()));
                }
                let _ = r.send(res);
            }
            Pending::Started(r, res) => drop(r.send(res)),
            Pending::Finished(r, res, error, kind) => {
                if let Ok(summary) = &res {
                    let _ = bus.send(Change::Delivery {
                        summary: summary.clone(),
                        error,
                        kind,
                    });
                }
                let _ = r.send(res);
            }
            Pending::Ran(r, res) => {
                let res = res.map(|change| {
                    let _ = bus.send(change);
                });
                let _ = r.send(res);
            }
        }
    }
}

fn store_error(cause: &str) -> anyhow::Error {
    anyhow::anyhow!("cannot write to the Store: {cause}")
}

fn fail_all(cmds: impl Iterator<Item = Command>, cause: &str) {
    for cmd in cmds {
        match cmd {
            Command::InsertEvent { reply, .. } => drop(reply.send(Err(store_error(cause)))),
            Command::StartDelivery { reply, .. } => drop(reply.send(Err(store_error(cause)))),
            Command::FinishDelivery { reply, .. } => drop(reply.send(Err(store_error(cause)))),
            Command::Run { reply, .. } => drop(reply.send(Err(store_error(cause)))),
        }
    }
}

/// Runs `f` in a savepoint: kept on success, undone on failure.
fn atomically<T>(tx: &Transaction<'_>, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    // Cached statements: compiling these per command would cost more than the command.
    tx.prepare_cached("SAVEPOINT cmd")?.execute([])?;
    match f() {
        Ok(v) => {
            tx.prepare_cached("RELEASE cmd")?.execute([])?;
            Ok(v)
        }
        Err(e) => {
            tx.prepare_cached("ROLLBACK TO cmd")?.execute([])?;
            tx.prepare_cached("RELEASE cmd")?.execute([])?;
            Err(e)
        }
    }
}

fn apply(tx: &Transaction<'_>, cmd: Command) -> Pending {
    match cmd {
        Command::InsertEvent {
            event,
            delivery,
            shape,
            reply,
        } => Pending::Inserted(
            reply,
            atomically(tx, || {
                insert_event(tx, &event, delivery.as_ref(), shape.as_deref())
            }),
        ),
        Command::StartDelivery {
            event_id,
            delivery,
            reply,
        } => Pending::Started(
            reply,
            atomically(tx, || start_delivery(tx, event_id, &delivery)),
        ),
        Command::FinishDelivery {
            id,
            event_id,
            kind,
            result,
            reply,
        } => {
            let error = result.error.clone();
            let res = atomically(tx, || finish_delivery(tx, id, event_id, kind, &result));
            Pending::Finished(reply, res, error, kind)
        }
        Command::Run { job, reply } => Pending::Ran(reply, atomically(tx, || job(tx))),
    }
}

fn insert_event(
    tx: &Transaction<'_>,
    event: &Event,
    delivery: Option<&NewDelivery>,
    shape: Option<&Prepared>,
) -> anyhow::Result<Inserted> {
    if event.ingress == Ingress::Relay
        && let Some(id) = tx
            .prepare_cached("SELECT id FROM events WHERE uid = ?1")?
            .query_row([&event.uid], |r| r.get(0))
            .optional()?
    {
        return Err(DuplicateUid {
            uid: event.uid.clone(),
            id,
        }
        .into());
    }
    let class = &event.class;
    // A provider retry: the same provider event id seen before on live traffic.
    let duplicate_of: Option<i64> = match (&class.provider_event_id, event.ingress) {
        (Some(pid), Ingress::Local | Ingress::Relay) => tx
            .prepare_cached(
                "SELECT id FROM events WHERE provider_event_id = ?1 AND provider = ?2 \
                 AND ingress IN ('local', 'relay') ORDER BY id LIMIT 1",
            )?
            .query_row(params![pid, class.provider], |r| r.get(0))
            .optional()?,
        _ => None,
    };
    let sha = event.body_sha256();
    let (deliveries, outcome) = match delivery {
        Some(_) => (1, Some(Outcome::Pending.as_str())),
        None => (0, None),
    };
    let event_id = tx
        .prepare_cached(
            "INSERT INTO events (uid, received_at, ingress, method, path, query, remote_addr, \
             body_size, body_sha256, provider, event_type, provider_event_id, summary, signature, \
             signature_detail, derived_from, duplicate_of, deliveries, outcome) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18, ?19) RETURNING id",
        )?
        .query_row(
            params![
                event.uid,
                event.received_at,
                event.ingress.as_str(),
                event.method,
                event.path,
                event.query,
                event.remote_addr,
                event.body.len() as i64,
                &sha[..],
                class.provider,
                class.event_type,
                class.provider_event_id,
                class.summary,
                class.signature.as_str(),
                class.signature_detail,
                event.derived_from,
                duplicate_of,
                deliveries,
                outcome,
            ],
            |r| r.get(0),
        )?;
    tx.prepare_cached("INSERT INTO bodies (event_id, headers, body) VALUES (?1, ?2, ?3)")?
        .execute(params![event_id, event.headers.encode(), &event.body[..]])?;
    super::drift::record(tx, event_id, event, shape)?;
    let delivery_id = match delivery {
        Some(d) => Some(insert_delivery(tx, event_id, d)?),
        None => None,
    };
    let summary = Arc::new(EventSummary {
        id: event_id,
        uid: event.uid.clone(),
        received_at: event.received_at,
        ingress: event.ingress.as_str().into(),
        method: event.method.clone(),
        path: event.path.clone(),
        query: event.query.clone(),
        remote_addr: event.remote_addr.clone(),
        body_size: event.body.len() as u64,
        body_sha256: hex::encode(sha),
        provider: class.provider.clone(),
        event_type: class.event_type.clone(),
        provider_event_id: class.provider_event_id.clone(),
        summary: class.summary.clone(),
        signature: class.signature.as_str().into(),
        derived_from: event.derived_from,
        deliveries,
        status: None,
        outcome: outcome.map(Into::into),
        duration_us: None,
        replayed: false,
        duplicate_of,
        signature_detail: class.signature_detail.clone(),
    });
    Ok(Inserted {
        event_id,
        delivery_id,
        summary,
    })
}

fn insert_delivery(tx: &Transaction<'_>, event_id: i64, d: &NewDelivery) -> anyhow::Result<i64> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO deliveries (event_id, kind, target, started_at, outcome) \
             VALUES (?1, ?2, ?3, ?4, 'pending') RETURNING id",
        )?
        .query_row(
            params![event_id, d.kind.as_str(), d.target, d.started_at],
            |r| r.get(0),
        )?)
}

fn start_delivery(tx: &Transaction<'_>, event_id: i64, d: &NewDelivery) -> anyhow::Result<i64> {
    let changed = tx
        .prepare_cached(
            "UPDATE events SET deliveries = deliveries + 1, outcome = 'pending', status = NULL, \
             duration_us = NULL WHERE id = ?1",
        )?
        .execute([event_id])?;
    if changed == 0 {
        anyhow::bail!("no event #{event_id}");
    }
    insert_delivery(tx, event_id, d)
}

fn finish_delivery(
    tx: &Transaction<'_>,
    id: i64,
    event_id: i64,
    kind: DeliveryKind,
    r: &DeliveryResult,
) -> anyhow::Result<Arc<EventSummary>> {
    tx.prepare_cached(
        "UPDATE deliveries SET duration_us = ?1, outcome = ?2, status = ?3, error = ?4, \
         headers = ?5, body = ?6 WHERE id = ?7",
    )?
    .execute(params![
        r.duration_us,
        r.outcome.as_str(),
        r.status,
        r.error,
        r.headers.encode(),
        &r.body[..],
        id
    ])?;
    let sql = format!(
        "UPDATE events SET status = ?1, outcome = ?2, duration_us = ?3, \
         replayed = replayed OR ?4 WHERE id = ?5 RETURNING {}",
        SUMMARY_COLUMNS.replace("events.id", "id")
    );
    let summary = tx.prepare_cached(&sql)?.query_row(
        params![
            r.status,
            r.outcome.as_str(),
            r.duration_us,
            kind == DeliveryKind::Replay,
            event_id
        ],
        EventSummary::from_row,
    )?;
    Ok(Arc::new(summary))
}
