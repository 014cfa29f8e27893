//! One Agent's Tunnel on a Channel: admitting its handshake (token, one Agent at a time,
//! connection cap), attaching it (a newer one replaces an older), and detaching it when it ends.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use hyper::client::conn::http2::SendRequest;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Hub, say};
use crate::config::format_size;
use crate::tunnel::protocol::{self, Handshake, MAX_CHANNEL_CONNECTIONS, Refusal};

/// One Agent's Tunnel.
pub struct Session {
    pub(super) id: u64,
    pub(super) channel: String,
    pub(super) agent: String,
    pub(super) remote: SocketAddr,
    /// The Agent's `--max-body`: larger Events stay queued, unsent.
    pub(super) max_body: Option<u64>,
    pub(super) send: SendRequest<Full<Bytes>>,
    pub(super) flow: Mutex<Flow>,
    pub(super) redrain: Notify,
    pub(super) closed: CancellationToken,
}

impl Session {
    /// Tells the Agent it is attached (see `protocol::ATTACHED_PATH`), with the queue's size
    /// and the queued Events over its `--max-body` (`held`: how many, the largest body).
    /// Best effort: if the Tunnel is already gone, the drain that follows finds out too.
    pub(super) async fn hello(&self, queued: u64, held: (u64, u64)) {
        use crate::tunnel::protocol::{ATTACHED_PATH, H_HELD, H_HELD_LARGEST, H_QUEUED};
        let request = http::Request::get(ATTACHED_PATH)
            .header(H_QUEUED, queued)
            .header(H_HELD, held.0)
            .header(H_HELD_LARGEST, held.1)
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
pub(super) enum Flow {
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

impl Hub {
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
            max_body: hs.max_body,
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
            if hs.max_body.is_some() {
                chan.agent_max_body = hs.max_body;
            }
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
            let remote = session.remote.to_string();
            let attached = hub
                .store
                .attached(&session.channel, session.max_body, &remote);
            let held = match attached.await {
                Ok(held) => held,
                Err(e) => {
                    tracing::warn!("channel {}: {e:#}", session.channel);
                    (0, 0)
                }
            };
            if let (n @ 1.., Some(max)) = (held.0, session.max_body) {
                say(
                    &session.channel,
                    &format!(
                        "{} over the Agent's --max-body of {} (largest {}): kept queued until an Agent with a larger --max-body connects",
                        crate::tunnel::events(n),
                        format_size(max),
                        format_size(held.1)
                    ),
                );
            }
            session.hello(queued, held).await;
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
        let _ = self.store.touch(&s.channel, current).await;
    }
}
