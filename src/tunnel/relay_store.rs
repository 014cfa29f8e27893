//! The Relay's Store: the Events it holds for each Channel until an Agent has committed them.
//! One writer thread commits in groups, so many Events share one fsync.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::event::{HeaderList, Micros, now_micros};
use crate::store::checkpoint::{self, Checkpointer};
pub use crate::tunnel::relay_db::{
    ChannelRow, add_channel, channels, open, remove_channel, rotate_channel,
};
use crate::tunnel::wire::RelayEvent;

/// Answers a job's caller once its group's commit is known.
type Done = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs in its group's transaction and returns how to answer; given the reason instead when
/// the transaction could not begin, it answers at once.
type Job = Box<dyn FnOnce(Result<&Transaction<'_>, &str>) -> Option<Done> + Send>;

/// A handle to the Relay's writer thread. Every call is committed (with the calls sent beside
/// it) before it answers.
#[derive(Clone)]
pub struct RelayStore {
    tx: mpsc::Sender<Job>,
    path: PathBuf,
}

impl RelayStore {
    /// Opens the database and starts its writer thread (which ends when every handle is gone).
    /// The writer never checkpoints (a checkpoint with `synchronous=FULL` stalls every commit
    /// behind it for milliseconds): a checkpoint thread of its own does, as for the Store.
    pub fn open(path: &Path) -> anyhow::Result<(RelayStore, std::thread::JoinHandle<()>)> {
        let mut conn = open(path)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (checkpointer, checkpoint_thread) = checkpoint::spawn(path)
            .with_context(|| format!("cannot open the relay database {}", path.display()))?;
        checkpointer.watch(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>(4096);
        let thread = std::thread::Builder::new()
            .name("hooktap-relay-store".into())
            .spawn(move || {
                run(conn, rx, &checkpointer);
                // The checkpoint thread folds the WAL in and ends once this is gone.
                drop(checkpointer);
                let _ = checkpoint_thread.join();
            })
            .context("cannot start the relay database's writer thread")?;
        let path = path.to_owned();
        Ok((RelayStore { tx, path }, thread))
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        let failed = |cause: &str| anyhow::anyhow!("cannot write to the relay database: {cause}");
        let job: Job = Box::new(move |t| {
            let t = match t {
                Ok(t) => t,
                Err(cause) => {
                    let _ = reply.send(Err(failed(cause)));
                    return None;
                }
            };
            // Every job is one statement (or reads), which SQLite undoes by itself on error, so
            // no savepoint is needed to keep a failed job from spoiling its group.
            let result = f(t);
            Some(Box::new(move |commit: Result<(), String>| {
                let _ = reply.send(match commit {
                    Ok(()) => result,
                    Err(e) => Err(failed(&e)),
                });
            }))
        });
        self.tx
            .send(job)
            .await
            .map_err(|_| anyhow::anyhow!("the relay database's writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the relay database's writer stopped before answering"))?
    }

    /// Commits a new Event as `queued`; returns its `seq`.
    pub async fn insert(&self, ev: RelayEvent) -> anyhow::Result<i64> {
        self.call(move |t| {
            Ok(t.prepare_cached(
                "INSERT INTO events (uid, channel, received_at, method, path, query, remote_addr, \
                 proto, headers, body, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
                 'queued') RETURNING seq",
            )?
            .query_row(
                params![
                    ev.uid,
                    ev.channel,
                    ev.received_at,
                    ev.method,
                    ev.path,
                    ev.query,
                    ev.remote_addr,
                    ev.proto,
                    ev.headers.encode(),
                    &ev.body[..]
                ],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Takes a queued Event off the queue as `delivered` (the Agent committed it) or `refused`;
    /// returns whether it was still queued.
    pub async fn finish(
        &self,
        seq: i64,
        state: Finished,
        status: Option<u16>,
    ) -> anyhow::Result<bool> {
        self.call(move |t| {
            Ok(t.prepare_cached(
                "UPDATE events SET state = ?2, done_at = ?3, status = ?4 \
                 WHERE seq = ?1 AND state = 'queued'",
            )?
            .execute(params![seq, state.as_str(), now_micros(), status])?
                == 1)
        })
        .await
    }

    /// Up to `limit` queued Events of `channel` after `after`, in arrival order, leaving out
    /// those with a body over `max_body` (they stay queued for an Agent with a larger limit).
    pub async fn page(
        &self,
        channel: &str,
        after: i64,
        limit: usize,
        max_body: Option<u64>,
    ) -> anyhow::Result<Vec<RelayEvent>> {
        let channel = channel.to_string();
        let max_body = max_body.map(|m| m.min(i64::MAX as u64) as i64);
        self.call(move |t| {
            let mut stmt = t.prepare_cached(
                "SELECT seq, uid, channel, received_at, method, path, query, remote_addr, proto, \
                 headers, body FROM events WHERE channel = ?1 AND state = 'queued' AND seq > ?2 \
                 AND (?4 IS NULL OR length(body) <= ?4) ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![channel, after, limit as i64, max_body], |r| {
                let headers: Vec<u8> = r.get(9)?;
                Ok(RelayEvent {
                    seq: r.get(0)?,
                    uid: r.get(1)?,
                    channel: r.get(2)?,
                    received_at: r.get(3)?,
                    method: r.get(4)?,
                    path: r.get(5)?,
                    query: r.get(6)?,
                    remote_addr: r.get(7)?,
                    proto: r.get(8)?,
                    headers: HeaderList::decode(&headers).unwrap_or_default(),
                    body: Bytes::from(r.get::<_, Vec<u8>>(10)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Channels and their queued counts.
    pub async fn channels(&self) -> anyhow::Result<HashMap<String, ChannelRow>> {
        self.call(|t| {
            Ok(channels(t)?
                .into_iter()
                .map(|c| (c.name.clone(), c))
                .collect())
        })
        .await
    }

    /// Notes that an Agent was on `channel` now; `gone`: the Channel's Agent left (no Agent is
    /// connected any more).
    pub async fn touch(&self, channel: &str, gone: bool) -> anyhow::Result<()> {
        let channel = channel.to_string();
        self.call(move |t| {
            t.execute(
                "UPDATE channels SET last_seen = ?2, \
                 agent = CASE WHEN ?3 THEN NULL ELSE agent END WHERE name = ?1",
                params![channel, now_micros(), gone],
            )?;
            Ok(())
        })
        .await
    }

    /// At start: no Agent is connected (a Relay that was killed could not say so).
    pub async fn forget_agents(&self) -> anyhow::Result<()> {
        self.call(|t| {
            Ok(t.execute("UPDATE channels SET agent = NULL", [])
                .map(|_| ())?)
        })
        .await
    }

    /// The Relay's periodic note, per Channel: its connected Agent's address (`last_seen` is
    /// refreshed for those that have one), and webhooks and Agents refused since the last note.
    pub async fn note_status(&self, rows: Vec<ChannelStatus>) -> anyhow::Result<()> {
        self.call(move |t| {
            let mut stmt = t.prepare_cached(
                "UPDATE channels SET agent = ?2, \
                 last_seen = CASE WHEN ?2 IS NULL THEN last_seen ELSE ?5 END, \
                 refused = refused + ?3, agents_refused = agents_refused + ?4 WHERE name = ?1",
            )?;
            let now = now_micros();
            for r in rows {
                stmt.execute(params![
                    r.channel,
                    r.agent,
                    r.refused as i64,
                    r.agents_refused as i64,
                    now
                ])?;
            }
            Ok(())
        })
        .await
    }

    /// Notes that an Agent stating `max_body` attached to `channel` now (the limit is kept
    /// for ingress, across restarts; an Agent that states none leaves the last one); returns
    /// how many queued Events are over the limit, and the largest body among them.
    pub async fn attached(
        &self,
        channel: &str,
        max_body: Option<u64>,
        agent: &str,
    ) -> anyhow::Result<(u64, u64)> {
        let (channel, agent) = (channel.to_string(), agent.to_string());
        let max_body = max_body.map(|m| m.min(i64::MAX as u64) as i64);
        self.call(move |t| {
            t.execute(
                "UPDATE channels SET last_seen = ?2, agent_max_body = coalesce(?3, agent_max_body), \
                 agent = ?4 WHERE name = ?1",
                params![channel, now_micros(), max_body, agent],
            )?;
            let (n, largest): (i64, Option<i64>) = t.query_row(
                "SELECT count(*), max(length(body)) FROM events WHERE channel = ?1 \
                 AND state = 'queued' \
                 AND length(body) > (SELECT agent_max_body FROM channels WHERE name = ?1)",
                [&channel],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok((n as u64, largest.unwrap_or(0) as u64))
        })
        .await
    }

    /// Deletes delivered and refused Events finished before `before`; returns how many.
    pub async fn prune(&self, before: Micros) -> anyhow::Result<usize> {
        self.call(move |t| {
            Ok(t.execute(
                "DELETE FROM events WHERE state != 'queued' AND done_at < ?1",
                [before],
            )?)
        })
        .await
    }

    /// The state of the Event `uid`, if held (for tests and diagnostics).
    pub async fn state_of(&self, uid: &str) -> anyhow::Result<Option<String>> {
        let uid = uid.to_string();
        self.call(move |t| {
            Ok(
                t.query_row("SELECT state FROM events WHERE uid = ?1", [uid], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
        .await
    }
}

/// One Channel in [`RelayStore::note_status`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelStatus {
    pub channel: String,
    /// The connected Agent's address, `None` when none is.
    pub agent: Option<String>,
    /// Webhooks refused since the last note.
    pub refused: u64,
    /// Agent handshakes refused since the last note.
    pub agents_refused: u64,
}

/// How a queued Event left the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// The Agent committed it.
    Delivered,
    /// Not delivered on purpose: no Agent with `--offline reject`, or the Agent refused it.
    Refused,
}

impl Finished {
    fn as_str(self) -> &'static str {
        match self {
            Finished::Delivered => "delivered",
            Finished::Refused => "refused",
        }
    }
}

/// The writer loop: take what is waiting (up to a group), run it in one transaction, commit
/// once, then answer every caller.
fn run(mut conn: Connection, mut rx: mpsc::Receiver<Job>, checkpointer: &Checkpointer) {
    let mut batch: Vec<Job> = Vec::with_capacity(256);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        checkpointer.begin_group();
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => {
                let cause = e.to_string();
                tracing::error!("relay database: {cause}");
                for job in batch.drain(..) {
                    job(Err(&cause));
                }
                checkpointer.end_group();
                continue;
            }
        };
        let done: Vec<Done> = batch.drain(..).filter_map(|job| job(Ok(&tx))).collect();
        let committed = tx.commit().map_err(|e| e.to_string());
        checkpointer.end_group();
        for d in done {
            d(committed.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(uid: &str, channel: &str) -> RelayEvent {
        RelayEvent {
            uid: uid.into(),
            channel: channel.into(),
            received_at: 1,
            method: "POST".into(),
            path: "/x".into(),
            proto: "https".into(),
            headers: HeaderList(vec![("a".into(), b"1".to_vec())]),
            body: Bytes::from_static(b"{}"),
            ..RelayEvent::default()
        }
    }

    #[tokio::test]
    async fn queue_keeps_arrival_order_and_finishes_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let mut conn = open(&path).unwrap();
        assert!(add_channel(&conn, "alice", &[1; 32]).unwrap());
        assert!(!add_channel(&conn, "alice", &[2; 32]).unwrap());
        let (store, _thread) = RelayStore::open(&path).unwrap();
        let a = store.insert(ev("a", "alice")).await.unwrap();
        let b = store.insert(ev("b", "alice")).await.unwrap();
        store.insert(ev("c", "bob")).await.unwrap();
        assert!(
            store.insert(ev("a", "alice")).await.is_err(),
            "uid is unique"
        );
        let page = store.page("alice", 0, 10, None).await.unwrap();
        assert_eq!(
            page.iter().map(|e| e.uid.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(page[0].headers, ev("a", "alice").headers);
        assert_eq!(store.page("alice", a, 10, None).await.unwrap().len(), 1);
        assert!(
            store
                .finish(a, Finished::Delivered, Some(200))
                .await
                .unwrap()
        );
        assert!(
            !store
                .finish(a, Finished::Delivered, Some(200))
                .await
                .unwrap()
        );
        assert_eq!(store.channels().await.unwrap()["alice"].queued, 1);
        assert_eq!(store.prune(i64::MAX).await.unwrap(), 1);
        assert_eq!(
            store.state_of("b").await.unwrap().as_deref(),
            Some("queued")
        );
        assert!(rotate_channel(&conn, "alice", &[3; 32]).unwrap());
        assert_eq!(remove_channel(&mut conn, "alice").unwrap(), Some(1));
        assert_eq!(remove_channel(&mut conn, "alice").unwrap(), None);
        assert!(store.page("alice", 0, 10, None).await.unwrap().is_empty());
        let _ = b;
    }

    #[tokio::test]
    async fn an_agents_limit_is_kept_and_larger_events_stay_queued_but_unsent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let conn = open(&path).unwrap();
        add_channel(&conn, "alice", &[1; 32]).unwrap();
        let (store, _thread) = RelayStore::open(&path).unwrap();
        let big = RelayEvent {
            body: Bytes::from(vec![b'x'; 100]),
            ..ev("big", "alice")
        };
        store.insert(big).await.unwrap();
        store.insert(ev("small", "alice")).await.unwrap();
        assert_eq!(
            store
                .attached("alice", Some(10), "1.2.3.4:5")
                .await
                .unwrap(),
            (1, 100)
        );
        let page = store.page("alice", 0, 10, Some(10)).await.unwrap();
        assert_eq!(page.len(), 1, "only the small one is sent");
        assert_eq!(page[0].uid, "small");
        let row = &store.channels().await.unwrap()["alice"];
        assert_eq!(
            (row.agent_max_body, row.queued, row.too_large),
            (Some(10), 2, 1)
        );
        // An Agent that does not say keeps the last stated limit.
        assert_eq!(
            store.attached("alice", None, "1.2.3.4:5").await.unwrap(),
            (1, 100)
        );
        assert_eq!(
            store
                .attached("alice", Some(100), "1.2.3.4:5")
                .await
                .unwrap(),
            (0, 0)
        );
        assert_eq!(
            store.page("alice", 0, 10, Some(100)).await.unwrap().len(),
            2
        );
        drop(store);
        // It survives a reopen, which migrates nothing twice.
        let again = open(&path).unwrap();
        let row = crate::tunnel::relay_db::channel(&again, "alice")
            .unwrap()
            .unwrap();
        assert_eq!(row.agent_max_body, Some(100));
    }

    #[test]
    fn a_version_1_database_is_migrated_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE channels (name TEXT PRIMARY KEY, token_sha256 BLOB NOT NULL, \
             created_at INTEGER NOT NULL, last_seen INTEGER); \
             INSERT INTO channels VALUES ('alice', x'00', 1, NULL); PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(old);
        let conn = open(&path).unwrap();
        let rows = channels(&conn).unwrap();
        assert_eq!(
            (rows[0].name.as_str(), rows[0].agent_max_body),
            ("alice", None)
        );
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = format!("{:#}", open(&path).unwrap_err());
        assert!(err.contains("newer hooktap"), "{err}");
    }
}
