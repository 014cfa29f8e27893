//! The Relay's Channels at run time: their tokens, which Agent holds each (one at a time), how
//! many Events wait, and Tunnels coming and going (`session`). The `deliver` module moves the
//! Events.

mod deliver;
mod session;
mod status;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use session::{Session, Slot};
pub use status::STATUS_EVERY;

use crate::text::sanitize;
use crate::tunnel::relay_store::{ChannelRow, RelayStore};

/// What the Relay does with an Event when its Channel has no Agent.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offline {
    /// Answer `202` and queue it for the Agent.
    Accept,
    /// Answer `503` with `Retry-After`, so the sender's own retries take over.
    Reject,
}

/// How the Relay treats Events.
#[derive(Clone, Debug)]
pub struct HubConfig {
    pub offline: Offline,
    /// Most Events waiting per Channel; newer ones are refused (`503`) until it drains.
    pub max_queue: u64,
    /// How long a sender waits for the app's answer through the Tunnel (then `202`).
    pub wait: Duration,
    /// Largest answer taken from the Agent.
    pub max_answer: usize,
}

/// The Channels and their Agents.
pub struct Hub {
    store: RelayStore,
    config: HubConfig,
    channels: Mutex<HashMap<String, Chan>>,
    next_session: AtomicU64,
    /// A read-only connection for [`Hub::refresh_after_miss`], opened on first use.
    reader: Arc<Mutex<Option<rusqlite::Connection>>>,
}

struct Chan {
    token: [u8; 32],
    queued: u64,
    /// The last `--max-body` an Agent of this Channel stated (kept in the database).
    agent_max_body: Option<u64>,
    session: Option<Arc<Session>>,
    connections: usize,
    /// Webhooks and Agent handshakes refused since the last status note (see `status`).
    refused: u64,
    agents_refused: u64,
}

impl Chan {
    fn new(row: &ChannelRow) -> Chan {
        Chan {
            token: row.token_sha256,
            queued: row.queued,
            agent_max_body: row.agent_max_body,
            session: None,
            connections: 0,
            refused: 0,
            agents_refused: 0,
        }
    }

    /// Takes the Channel's token as the database has it; a rotation closes the old Tunnel.
    fn set_token(&mut self, name: &str, token: [u8; 32]) {
        if self.token != token {
            self.revoke(name);
            self.token = token;
        }
    }

    /// Closes the Tunnel of a token that no longer holds.
    fn revoke(&mut self, name: &str) {
        if let Some(s) = self.session.take() {
            s.closed.cancel();
            say(name, "token revoked: Tunnel closed");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Prints a line on the Relay's stdout: `18:03:12.481  alice  Agent connected ...`.
pub fn say(channel: &str, message: &str) {
    use std::io::Write;
    let time = chrono::Local::now().format("%H:%M:%S%.3f");
    // A closed stdout must not take the Relay down.
    // A message may quote what a sender or an Agent sent: one line, no terminal controls.
    let (channel, message) = (sanitize(channel), sanitize(message));
    let _ = writeln!(std::io::stdout().lock(), "{time}  {channel}  {message}");
}

impl Hub {
    /// A hub over `store`, knowing the Channels in `rows`.
    pub fn new(
        store: RelayStore,
        config: HubConfig,
        rows: HashMap<String, ChannelRow>,
    ) -> Arc<Hub> {
        let hub = Arc::new(Hub {
            store,
            config,
            channels: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            reader: Arc::new(Mutex::new(None)),
        });
        hub.reload(rows);
        hub
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Chan>> {
        lock(&self.channels)
    }

    /// Takes the Channel table as it now is in the database: new Channels appear, removed ones
    /// and ones whose token changed lose their Tunnel at once.
    pub fn reload(&self, rows: HashMap<String, ChannelRow>) {
        let mut map = self.lock();
        map.retain(|name, chan| match rows.get(name) {
            Some(row) => {
                chan.set_token(name, row.token_sha256);
                true
            }
            None => {
                chan.revoke(name);
                false
            }
        });
        for (name, row) in rows {
            map.entry(name).or_insert_with(|| Chan::new(&row));
        }
    }

    /// Looks `channel` up in the database again before a handshake is refused: it may have
    /// been added, or its token rotated, since the last periodic read. One indexed read on a
    /// read-only connection of its own, so a stream of bad handshakes never touches the writer
    /// nor takes the write lock.
    pub async fn refresh_after_miss(&self, channel: &str) {
        let (reader, path, name) = (
            self.reader.clone(),
            self.store.path().to_path_buf(),
            channel.to_string(),
        );
        let found = tokio::task::spawn_blocking(move || {
            let mut reader = lock(&reader);
            if reader.is_none() {
                *reader = Some(crate::tunnel::relay_db::open_reader(&path)?);
            }
            let conn = reader.as_ref().expect("opened above");
            crate::tunnel::relay_db::channel(conn, &name)
        })
        .await;
        let row = match found {
            Ok(Ok(Some(row))) => row,
            Ok(Ok(None)) => return,
            Ok(Err(e)) => return tracing::warn!("cannot read channel '{channel}': {e:#}"),
            Err(e) => return tracing::warn!("cannot read channel '{channel}': {e}"),
        };
        self.lock()
            .entry(channel.to_string())
            .and_modify(|c| c.set_token(channel, row.token_sha256))
            .or_insert_with(|| Chan::new(&row));
    }

    /// How many Events wait for `channel`'s Agent.
    pub fn queued(&self, channel: &str) -> u64 {
        self.lock().get(channel).map_or(0, |c| c.queued)
    }

    /// Whether `channel` exists.
    pub fn has_channel(&self, channel: &str) -> bool {
        self.lock().contains_key(channel)
    }

    /// The last `--max-body` stated by `channel`'s Agent, if one ever connected: the Relay
    /// takes no larger webhook for it (see `relay::webhook`).
    pub fn agent_max_body(&self, channel: &str) -> Option<u64> {
        self.lock().get(channel).and_then(|c| c.agent_max_body)
    }
}
