//! The writer thread's loop: take what is queued (up to a group), apply it in one transaction,
//! commit, then answer each command and tell the bus. A group that fails part way is rolled
//! back and its writes run again one by one, so one bad write never takes the others down.

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{broadcast, mpsc};

use super::Change;
use super::apply;
use super::checkpoint::Checkpointer;
use super::writer::{Command, Done, Job, Op, Replier, Reply};

/// The most commands committed in one transaction.
const GROUP: usize = 512;

fn drain(rx: &mut mpsc::Receiver<Command>, batch: &mut Vec<Command>) {
    while batch.len() < GROUP {
        match rx.try_recv() {
            Ok(cmd) => batch.push(cmd),
            Err(_) => break,
        }
    }
}

pub(super) fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Command>,
    bus: broadcast::Sender<Change>,
    checkpoint: Checkpointer,
) {
    let mut batch = Vec::with_capacity(GROUP);
    let (mut commits, mut commands) = (0u64, 0u64);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        checkpoint.begin_group();
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
        checkpoint.end_group();
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
            packed,
            hold,
        } => {
            let inserted = apply::insert_event(
                tx,
                event,
                delivery.as_ref(),
                shape.as_deref(),
                sha,
                packed.as_deref(),
            )?;
            if *hold {
                apply::hold(tx, inserted.event_id)?;
            }
            Done::Inserted(inserted)
        }
        Op::StartDelivery { event_id, delivery } => {
            Done::Started(apply::start_delivery(tx, *event_id, delivery)?)
        }
        Op::FinishDelivery {
            id,
            event_id,
            kind,
            result,
            packed,
            hold,
        } => Done::Finished(apply::finish_delivery(
            tx,
            apply::Finish {
                id: *id,
                event_id: *event_id,
                kind: *kind,
                hold: *hold,
            },
            result,
            packed.as_deref(),
        )?),
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
