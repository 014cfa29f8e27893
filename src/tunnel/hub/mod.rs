//! The Relay's Channels at run time: their tokens, which Agent holds each (one at a time), how
//! many Events wait, and Tunnels coming and going. The `deliver` module moves the Events.

mod deliver;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use hyper::client::conn::http2::SendRequest;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::tunnel::protocol::{self, Handshake, MAX_CHANNEL_CONNECTIONS, Refusal};
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
    session: Option<Arc<Session>>,
    connections: usize,
}

impl Chan {
    fn new(token: [u8; 32], queued: u64) -> Chan {
        Chan {
            token,
            queued,
            session: None,
            connections: 0,
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

/// One Agent's Tunnel.
pub struct Session {
    id: u64,
    channel: String,
    agent: String,
    remote: SocketAddr,
    send: SendRequest<Full<Bytes>>,
    flow: Mutex<Flow>,
    redrain: Notify,
    closed: CancellationToken,
}

impl Session {
    /// Tells the Agent it is attached (see `protocol::ATTACHED_PATH`), with the queue's size.
    /// Best effort: if the Tunnel is already gone, the drain that follows finds out too.
    async fn hello(&self, queued: u64) {
        let request = http::Request::get(crate::tunnel::protocol::ATTACHED_PATH)
            .header(crate::tunnel::protocol::H_QUEUED, queued)
            .body(Full::new(Bytes::new()));
        let Ok(request) = request else { return };
        let mut send = self.send.clone();
        let answered = tokio::time::timeout(
            crate::tunnel::protocol::HANDSHAKE_TIMEOUT,
            send.send_request(request),
        );
        if !matches!(answered.await, Ok(Ok(_))) {
            tracing::debug!(
                "channel {}: the Agent did not answer the hello",
                self.channel
            );
        }
    }
}

/// Draining: the queue goes first (`more` says an Event arrived meanwhile). Live: new Events go
/// straight to the Agent.
enum Flow {
    Draining { more: bool },
    Live,
}

/// A place among a Channel's Tunnel connections, given back when dropped.
pub struct Slot {
    hub: Arc<Hub>,
    channel: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(c) = self.hub.lock().get_mut(&self.channel) {
            c.connections = c.connections.saturating_sub(1);
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
            map.entry(name)
                .or_insert_with(|| Chan::new(row.token_sha256, row.queued));
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
        let (token, queued) = match found {
            Ok(Ok(Some(row))) => row,
            Ok(Ok(None)) => return,
            Ok(Err(e)) => return tracing::warn!("cannot read channel '{channel}': {e:#}"),
            Err(e) => return tracing::warn!("cannot read channel '{channel}': {e}"),
        };
        self.lock()
            .entry(channel.to_string())
            .and_modify(|c| c.set_token(channel, token))
            .or_insert_with(|| Chan::new(token, queued));
    }

    /// How many Events wait for `channel`'s Agent.
    pub fn queued(&self, channel: &str) -> u64 {
        self.lock().get(channel).map_or(0, |c| c.queued)
    }

    /// Whether `channel` exists.
    pub fn has_channel(&self, channel: &str) -> bool {
        self.lock().contains_key(channel)
    }

    /// Checks a handshake's token and the Channel's limits; reserves a connection slot.
    pub fn admit(self: &Arc<Self>, hs: &Handshake) -> Result<(Slot, u64), Refusal> {
        let mut map = self.lock();
        let chan = map.get_mut(&hs.channel).ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                format!("no channel named '{}' on this relay: check --channel, or add it there with `hooktap relay channel add {}`", hs.channel, hs.channel),
            )
        })?;
        if !protocol::hashes_equal(&protocol::token_hash(&hs.token), &chan.token) {
            return Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                format!(
                    "wrong or revoked token for channel '{}': check --token (`hooktap relay channel rotate {}` on the relay prints a new one)",
                    hs.channel, hs.channel
                ),
            ));
        }
        if let Some(s) = &chan.session
            && s.agent != hs.agent
            && !hs.takeover
        {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                format!(
                    "channel '{}' already has an Agent connected (from {}): stop that one, or pass --takeover to replace it",
                    hs.channel, s.remote
                ),
            ));
        }
        if chan.connections >= MAX_CHANNEL_CONNECTIONS {
            return Err(Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many Tunnel connections for channel '{}' at once; try again shortly",
                    hs.channel
                ),
            ));
        }
        chan.connections += 1;
        let queued = chan.queued;
        Ok((
            Slot {
                hub: self.clone(),
                channel: hs.channel.clone(),
            },
            queued,
        ))
    }

    /// Makes an upgraded, HTTP/2-speaking Tunnel the Channel's Agent (replacing an older one),
    /// drives it until it ends, and starts draining the queue.
    pub fn attach<C>(
        self: &Arc<Self>,
        slot: Slot,
        hs: Handshake,
        remote: SocketAddr,
        send: SendRequest<Full<Bytes>>,
        conn: C,
    ) where
        C: Future<Output = hyper::Result<()>> + Send + 'static,
    {
        let session = Arc::new(Session {
            id: self.next_session.fetch_add(1, Ordering::Relaxed),
            channel: hs.channel.clone(),
            agent: hs.agent,
            remote,
            send,
            flow: Mutex::new(Flow::Draining { more: false }),
            redrain: Notify::new(),
            closed: CancellationToken::new(),
        });
        let queued = {
            let mut map = self.lock();
            let Some(chan) = map.get_mut(&hs.channel) else {
                return;
            };
            if let Some(old) = chan.session.replace(session.clone()) {
                old.closed.cancel();
                say(&hs.channel, &format!("Agent from {} replaced", old.remote));
            }
            chan.queued
        };
        say(
            &hs.channel,
            &format!(
                "Agent connected from {remote} ({} waiting)",
                crate::tunnel::events(queued)
            ),
        );
        let hub = self.clone();
        let s = session.clone();
        tokio::spawn(async move {
            let _ = hub.store.touch(&s.channel).await;
            let reason = tokio::select! {
                r = conn => match r {
                    Ok(()) => "closed by the Agent".to_string(),
                    Err(e) => e.to_string(),
                },
                _ = s.closed.cancelled() => "closed by the relay".to_string(),
            };
            s.closed.cancel();
            hub.detach(&s, &reason).await;
            drop(slot);
        });
        let hub = self.clone();
        tokio::spawn(async move {
            session.hello(queued).await;
            hub.drain(session).await;
        });
    }

    async fn detach(&self, s: &Session, reason: &str) {
        let current = {
            let mut map = self.lock();
            match map.get_mut(&s.channel) {
                Some(c) if c.session.as_ref().is_some_and(|x| x.id == s.id) => {
                    c.session = None;
                    true
                }
                _ => false,
            }
        };
        if current {
            say(&s.channel, &format!("Agent gone ({reason})"));
        }
        let _ = self.store.touch(&s.channel).await;
    }
}
