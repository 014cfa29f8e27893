//! How an Event reaches a Channel's Agent: stored first, then delivered live (the sender waits
//! for the app's answer) or queued; after a (re)connect the queue drains in arrival order, one
//! Event at a time, before the session turns live. An Event leaves the queue only when the
//! Agent's answer says it has committed it. An Event larger than the Agent's `--max-body` is
//! not sent: it stays queued (counted by `relay channel list`, announced in the hello) until
//! an Agent with a larger limit connects, and is delivered then.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};

use super::session::Flow;
use super::{Hub, Offline, Session, lock};
use crate::capture::Answer;
use crate::event::HeaderList;
use crate::forward::is_hop_by_hop;
use crate::tunnel::relay_store::Finished;
use crate::tunnel::wire::{self, H_ACK, RelayEvent};

enum Delivered {
    /// The Agent committed it; its answer (the app's, in passthrough).
    Acked(Answer),
    /// The Agent refused it for good (`4xx` without storing it).
    Refused(Answer),
    /// Still queued: the Tunnel broke, or the Agent could not take it yet.
    Held(String),
    /// Still queued, not tried again on this Tunnel: over the Agent's `--max-body`.
    TooLarge,
}

impl Hub {
    /// Takes a webhook for a Channel: stores it first, then delivers it or queues it.
    pub async fn receive(self: &Arc<Self>, mut ev: RelayEvent) -> Answer {
        match self.lock().get(&ev.channel) {
            None => return not_found(&ev.channel),
            Some(c) if c.queued >= self.config.max_queue => {
                let mut a = Answer::text(
                    503,
                    &format!(
                        "channel '{}' already holds {} Events waiting for its Agent (--max-queue); try again later",
                        ev.channel, c.queued
                    ),
                );
                a.headers.push("retry-after", b"60".to_vec());
                return a;
            }
            Some(_) => {}
        }
        ev.seq = match self.store.insert(ev.clone()).await {
            Ok(seq) => seq,
            Err(e) => {
                tracing::error!("{e:#}");
                return Answer::text(
                    503,
                    "cannot store this event, so it was not accepted; try again later",
                );
            }
        };
        let route = {
            let mut map = self.lock();
            match map.get_mut(&ev.channel) {
                None => return not_found(&ev.channel),
                Some(chan) => {
                    chan.queued += 1;
                    chan.session.as_ref().map(|s| match &mut *lock(&s.flow) {
                        Flow::Live => Some(s.clone()),
                        Flow::Draining { more } => {
                            *more = true;
                            None
                        }
                    })
                }
            }
        };
        let uid = ev.uid.clone();
        let channel = ev.channel.clone();
        match route {
            None if self.config.offline == Offline::Reject => {
                self.finish(&ev, Finished::Refused, Some(503)).await;
                let mut a = Answer::text(
                    503,
                    &format!("the Agent for channel '{channel}' is not connected; try again later"),
                );
                a.headers.push("retry-after", b"30".to_vec());
                a
            }
            None => accepted(
                &uid,
                &format!(
                    "the Agent for channel '{channel}' is offline; it gets this Event when it reconnects"
                ),
            ),
            Some(None) => accepted(&uid, "queued behind earlier Events; delivering now"),
            Some(Some(s)) => {
                let hub = self.clone();
                let task = tokio::spawn(async move {
                    let d = hub.deliver(&s, &ev).await;
                    if let Delivered::Held(_) = d {
                        *lock(&s.flow) = Flow::Draining { more: true };
                        s.redrain.notify_one();
                    }
                    d
                });
                match tokio::time::timeout(self.config.wait, task).await {
                    Ok(Ok(Delivered::Acked(a) | Delivered::Refused(a))) => a,
                    Ok(Ok(Delivered::TooLarge)) => accepted(
                        &uid,
                        "it is larger than the Agent's --max-body, so it waits on the relay until the Agent raises it",
                    ),
                    Ok(Ok(Delivered::Held(why))) => {
                        accepted(&uid, &format!("{why}; it will be delivered"))
                    }
                    Ok(Err(_)) => accepted(&uid, "it will be delivered"),
                    Err(_) => {
                        accepted(&uid, "the Agent has not answered yet; it will be delivered")
                    }
                }
            }
        }
    }

    async fn finish(&self, ev: &RelayEvent, state: Finished, status: Option<u16>) {
        match self.store.finish(ev.seq, state, status).await {
            Ok(true) => {
                if let Some(c) = self.lock().get_mut(&ev.channel) {
                    c.queued = c.queued.saturating_sub(1);
                }
            }
            Ok(false) => {}
            Err(e) => tracing::error!("event {}: {e:#}", ev.uid),
        }
    }

    /// Sends one Event through the Tunnel and reads the Agent's answer.
    async fn deliver(self: &Arc<Self>, s: &Session, ev: &RelayEvent) -> Delivered {
        if s.max_body.is_some_and(|max| ev.body.len() as u64 > max) {
            return Delivered::TooLarge;
        }
        let queued = self.queued(&ev.channel).saturating_sub(1);
        let req = match wire::to_request(ev, queued) {
            Ok(r) => r,
            Err(e) => {
                self.finish(ev, Finished::Refused, None).await;
                return Delivered::Refused(Answer::text(400, &e));
            }
        };
        let mut send = s.send.clone();
        let exchange = async {
            let response = send.send_request(req).await.map_err(|e| e.to_string())?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, self.config.max_answer)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((parts, body))
        };
        let (parts, body) = tokio::select! {
            r = exchange => match r {
                Ok(x) => x,
                Err(e) => return Delivered::Held(format!("the Tunnel broke while delivering it ({e})")),
            },
            _ = s.closed.cancelled() => return Delivered::Held("the Tunnel closed".into()),
        };
        let status = parts.status.as_u16();
        let acked = parts.headers.get(H_ACK).is_some_and(|v| v == "stored");
        let mut list = HeaderList::default();
        for (name, value) in &parts.headers {
            list.push(name.as_str(), value.as_bytes());
        }
        let mut headers = HeaderList::default();
        for (name, value) in list.iter() {
            if name != H_ACK && !is_hop_by_hop(name, &list) {
                headers.push(name, value);
            }
        }
        let answer = Answer {
            status,
            headers,
            body,
            event_id: None,
        };
        if acked {
            // Not awaited: the answer need not wait for this commit. Should the Relay die first,
            // the Event is sent again and the Agent answers that it holds it already.
            let (hub, ev) = (self.clone(), ev.clone());
            tokio::spawn(async move { hub.finish(&ev, Finished::Delivered, Some(status)).await });
            Delivered::Acked(answer)
        } else if parts.status == http::StatusCode::PAYLOAD_TOO_LARGE {
            // Over a limit the Agent did not state: kept for one that takes it.
            Delivered::TooLarge
        } else if parts.status.is_client_error() {
            self.finish(ev, Finished::Refused, Some(status)).await;
            Delivered::Refused(answer)
        } else {
            Delivered::Held(format!("the Agent answered {status} without storing it"))
        }
    }

    /// Delivers the Channel's queue in arrival order, one Event at a time, then turns the
    /// session live; drains again whenever a live delivery could not be completed.
    pub(super) async fn drain(self: Arc<Self>, s: Arc<Session>) {
        loop {
            let mut cursor = 0;
            loop {
                let page = match self.store.page(&s.channel, cursor, 64, s.max_body).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!("{e:#}");
                        if pause(&s).await {
                            return;
                        }
                        continue;
                    }
                };
                if page.is_empty() {
                    let mut flow = lock(&s.flow);
                    match &mut *flow {
                        Flow::Draining { more } if *more => *more = false,
                        _ => {
                            *flow = Flow::Live;
                            break;
                        }
                    }
                    continue;
                }
                for ev in page {
                    match self.deliver(&s, &ev).await {
                        Delivered::Acked(_) | Delivered::Refused(_) | Delivered::TooLarge => {
                            cursor = ev.seq
                        }
                        Delivered::Held(why) => {
                            tracing::info!("{}: event {} held: {why}", s.channel, ev.uid);
                            if pause(&s).await {
                                return;
                            }
                            break;
                        }
                    }
                }
            }
            tokio::select! {
                _ = s.redrain.notified() => {}
                _ = s.closed.cancelled() => return,
            }
        }
    }
}

/// Waits a moment before trying again; `true` when the session closed meanwhile.
async fn pause(s: &Session) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(1)) => s.closed.is_cancelled(),
        _ = s.closed.cancelled() => true,
    }
}

fn accepted(uid: &str, why: &str) -> Answer {
    Answer::text(202, &format!("stored as {uid}; {why}"))
}

fn not_found(channel: &str) -> Answer {
    Answer::text(404, &format!("no channel named '{channel}' on this relay"))
}
