//! Capture: the one pipeline for all traffic. Build the Event, classify it, commit it, forward
//! it, commit the Delivery, then answer the sender, in that order (ack means stored).

use std::sync::Arc;

use bytes::Bytes;

use crate::event::{
    DeliveryKind, DeliveryResult, Event, HeaderList, Ingress, Micros, Outcome, new_uid, now_micros,
};
use crate::forward::{self, Forwarder, Target};
use crate::providers::Providers;
use crate::redact::Redactor;
use crate::route::{Choice, Fail, Mock, Routes};
use crate::store::{DuplicateUid, NewDelivery, Writer};

/// What the sender gets back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Respond {
    /// The Target's real answer (or `502`/`504`).
    Passthrough,
    /// `202` once the Event is committed; forwarding continues in the background.
    Accept,
}

/// A request as it arrived, before it becomes an Event.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderList,
    pub body: Bytes,
    pub remote_addr: Option<String>,
    pub ingress: Ingress,
    /// `http` or `https`: how it reached hooktap (for `X-Forwarded-Proto`).
    pub proto: &'static str,
    /// Kept from the Relay when the Event crossed the Tunnel; new otherwise.
    pub uid: Option<String>,
    /// Kept from the Relay; now otherwise.
    pub received_at: Option<Micros>,
}

/// An HTTP answer for the sender.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderList,
    pub body: Bytes,
    /// The Event this answer is for, when one was stored.
    pub event_id: Option<i64>,
}

impl Answer {
    /// A short plain-text answer from hooktap itself.
    pub fn text(status: u16, message: &str) -> Answer {
        let mut headers = HeaderList::default();
        headers.push("content-type", b"text/plain; charset=utf-8".to_vec());
        Answer {
            status,
            headers,
            body: Bytes::from(format!("hooktap: {message}\n")),
            event_id: None,
        }
    }
}

/// The capture pipeline, shared by the listener and the Tunnel.
pub struct Capture {
    writer: Writer,
    forwarder: Arc<Forwarder>,
    routes: Routes,
    fail: Option<Fail>,
    extra_headers: HeaderList,
    respond: Respond,
    providers: Providers,
    enforce: bool,
    redact: Redactor,
    redeliver: Option<crate::redeliver::Redeliver>,
}

impl Capture {
    /// A pipeline that stores through `writer` and delivers to `target`.
    pub fn new(
        writer: Writer,
        forwarder: Arc<Forwarder>,
        target: Target,
        respond: Respond,
        providers: Providers,
    ) -> Capture {
        let routes = Routes::new(Vec::new(), Some(target), None);
        Capture::routed(writer, forwarder, routes, respond, providers)
    }

    /// A pipeline that stores through `writer` and delivers where `routes` say.
    pub fn routed(
        writer: Writer,
        forwarder: Arc<Forwarder>,
        routes: Routes,
        respond: Respond,
        providers: Providers,
    ) -> Capture {
        Capture {
            writer,
            forwarder,
            routes,
            fail: None,
            extra_headers: HeaderList::default(),
            respond,
            providers,
            enforce: false,
            redact: Redactor::default(),
            redeliver: None,
        }
    }

    /// With `true`, an Event whose signature is invalid (or missing, for a provider with a
    /// secret) is recorded with a `rejected` Delivery and answered `401`, not forwarded.
    pub fn verify_enforce(mut self, on: bool) -> Capture {
        self.enforce = on;
        self
    }

    /// Masks what `redact`'s rules name in every Event and Target answer before it is
    /// stored; the Target and the sender still get the originals.
    pub fn redact(mut self, redact: Redactor) -> Capture {
        self.redact = redact;
        self
    }

    /// Holds an Event whose Delivery did not reach the app (down, too slow) for `redeliver`,
    /// and answers the sender `202` for it: it is stored and will reach the app.
    pub fn redeliver(mut self, redeliver: crate::redeliver::Redeliver) -> Capture {
        self.redeliver = Some(redeliver);
        self
    }

    /// `--fail`: forwarded deliveries that fail on purpose.
    pub fn fail(mut self, fail: Option<Fail>) -> Capture {
        self.fail = fail;
        self
    }

    /// `-H`: headers added to every forwarded request (never to the stored Event).
    pub fn extra_headers(mut self, headers: HeaderList) -> Capture {
        self.extra_headers = headers;
        self
    }

    /// Why `--verify-enforce` refuses an Event, if it does.
    fn rejection(&self, class: &crate::event::Classification) -> Option<String> {
        use crate::event::Signature;
        if !self.enforce {
            return None;
        }
        let why = class.signature_detail.as_deref().unwrap_or("no detail");
        match class.signature {
            Signature::Invalid => Some(format!("signature invalid: {why}")),
            Signature::Unsigned if self.providers.has_secret(&class.provider) => {
                Some(format!("signature missing: {why}"))
            }
            _ => None,
        }
    }

    /// The Target live traffic goes to when no route matches (`--forward`).
    pub fn target(&self) -> Option<&Target> {
        self.routes.default_target()
    }

    /// Takes one request through the whole pipeline and returns the sender's answer.
    pub async fn handle(&self, incoming: Incoming) -> Answer {
        // Not stored: the request that looped is the Event already stored, whose Delivery
        // records this answer (docs/workflows.md).
        if let Some(why) = forward::hop::refusal(&incoming.headers) {
            tracing::warn!("{why}");
            return Answer::text(508, &why);
        }
        let class = self.providers.classify(&incoming.headers, &incoming.body);
        let event = Event {
            uid: incoming.uid.unwrap_or_else(new_uid),
            received_at: incoming.received_at.unwrap_or_else(now_micros),
            ingress: incoming.ingress,
            method: incoming.method,
            path: incoming.path,
            query: incoming.query,
            remote_addr: incoming.remote_addr,
            headers: incoming.headers,
            body: incoming.body,
            class,
            derived_from: None,
        };
        let (outgoing, mock) = match self.routes.choose(&event) {
            Choice::Forward {
                target,
                path_and_query,
            } => match self.fail.as_ref().and_then(|f| f.check(&event)) {
                Some(failed) => (None, Some(failed)),
                None => {
                    let pq = &path_and_query;
                    match forward::build_to(target, &event, pq, incoming.proto, &self.extra_headers)
                    {
                        Ok(o) => (Some(o), None),
                        Err(e) => return Answer::text(400, &e),
                    }
                }
            },
            Choice::Mock { mock, .. } => (None, Some(mock.clone())),
        };
        let delivery = NewDelivery {
            kind: match &outgoing {
                Some(_) => DeliveryKind::Original,
                None => DeliveryKind::Mock,
            },
            target: match (&outgoing, &mock) {
                (Some(o), _) => o.url.clone(),
                (None, Some(m)) => m.label.clone(),
                (None, None) => String::new(),
            },
            started_at: now_micros(),
        };
        let rejected = self.rejection(&event.class);
        // The outgoing request holds the originals; from here on only the Store sees `event`.
        let (mut event, masked) = self.redact.event_off_task(event).await;
        if masked {
            // A summary must not quote a masked value: describe the masked Event, but keep the
            // verdict on the signature, which only the original bytes can give.
            let masked = self.providers.classify(&event.headers, &event.body);
            event.class = crate::event::Classification {
                signature: event.class.signature,
                signature_detail: event.class.signature_detail.take(),
                ..masked
            };
        }
        // A redelivery reads the Event back from the Store: a masked one would not reach the
        // app as the provider sent it, so its sender hears the truth (502/504) and retries.
        let redeliver = self.redeliver.clone().filter(|_| !masked);
        // In accept mode the sender hears 202 before the app has the Event: owed from the start.
        let owed = redeliver.is_some()
            && self.respond == Respond::Accept
            && rejected.is_none()
            && outgoing.is_some();
        let inserted = match self.writer.insert(event, Some(delivery), owed).await {
            Ok(i) => i,
            Err(e) => {
                // The Relay sent it again after a cut: stored (and forwarded) already.
                if let Some(dup) = e.downcast_ref::<DuplicateUid>() {
                    let mut answer = Answer::text(
                        200,
                        &format!("already stored as event #{}; not forwarded again", dup.id),
                    );
                    answer.event_id = Some(dup.id);
                    return answer;
                }
                tracing::error!("{e:#}");
                return Answer::text(
                    503,
                    "cannot store this event, so it was not accepted; try again later",
                );
            }
        };
        let event_id = inserted.event_id;
        let Some(delivery_id) = inserted.delivery_id else {
            return Answer::text(500, "internal error: no delivery was opened");
        };
        if let Some(why) = rejected {
            let why = format!("{why}; not forwarded (--verify-enforce)");
            let result = DeliveryResult {
                outcome: Outcome::Rejected,
                status: None,
                headers: HeaderList::default(),
                body: Bytes::new(),
                error: Some(why.clone()),
                duration_us: 0,
            };
            let kind = DeliveryKind::Original;
            if let Err(e) = self
                .writer
                .finish_delivery(delivery_id, event_id, kind, result)
                .await
            {
                tracing::error!("event #{event_id}: {e:#}");
            }
            let mut answer = Answer::text(401, &why);
            answer.event_id = Some(event_id);
            return answer;
        }
        let outgoing = match (outgoing, mock) {
            (Some(o), _) => o,
            (None, mock) => {
                let mock = mock.unwrap_or_default();
                return self.answer_mocked(mock, delivery_id, event_id).await;
            }
        };
        match self.respond {
            Respond::Accept => {
                let writer = self.writer.clone();
                let forwarder = self.forwarder.clone();
                let redact = self.redact.clone();
                tokio::spawn(async move {
                    let result = forwarder.send(outgoing).await;
                    let result = redact.result_off_task(result).await;
                    let hold = redeliver.is_some() && missed_the_app(&result);
                    let kind = DeliveryKind::Original;
                    match writer
                        .finish(delivery_id, event_id, kind, result, hold)
                        .await
                    {
                        Ok(_) => redeliver.iter().for_each(|r| r.wake()),
                        // Left pending; it was held when stored (`owed`), so the next start
                        // marks it interrupted and `--redeliver` sends it then.
                        Err(e) => tracing::error!("event #{event_id}: {e:#}"),
                    }
                });
                let mut answer = Answer::text(202, &format!("accepted as event #{event_id}"));
                answer.event_id = Some(event_id);
                answer
            }
            Respond::Passthrough => {
                let result = self.forwarder.send(outgoing).await;
                let mut answer = answer_for(&result);
                let held = match &redeliver {
                    Some(r) if missed_the_app(&result) => {
                        let why = result.error.clone().unwrap_or_default();
                        Some((r, why))
                    }
                    _ => None,
                };
                let result = self.redact.result_off_task(result).await;
                let kind = DeliveryKind::Original;
                let hold = held.is_some();
                match self
                    .writer
                    .finish(delivery_id, event_id, kind, result, hold)
                    .await
                {
                    Ok(_) => {
                        if let Some((r, why)) = held {
                            r.wake();
                            answer = Answer::text(
                                202,
                                &format!(
                                    "stored as event #{event_id}; the app did not answer ({why}), \
                                     hooktap delivers it when the app is back"
                                ),
                            );
                        }
                    }
                    Err(e) => {
                        tracing::error!("event #{event_id}: {e:#}");
                        answer =
                            Answer::text(503, "cannot store the app's answer; try again later");
                    }
                }
                answer.event_id = Some(event_id);
                answer
            }
        }
    }
}

impl Capture {
    /// Answers with `mock` after its delay and records it as a `mock` Delivery; in accept mode
    /// the sender hears 202 at once and the Delivery is recorded after the delay.
    async fn answer_mocked(&self, mock: Mock, delivery_id: i64, event_id: i64) -> Answer {
        let result = DeliveryResult {
            outcome: Outcome::Mocked,
            status: Some(mock.status),
            headers: mock.headers.clone(),
            body: mock.body.clone(),
            error: None,
            duration_us: mock.delay.as_micros() as i64,
        };
        let writer = self.writer.clone();
        let finish = async move {
            tokio::time::sleep(mock.delay).await;
            let kind = DeliveryKind::Mock;
            writer
                .finish_delivery(delivery_id, event_id, kind, result)
                .await
        };
        let mut answer = match self.respond {
            Respond::Accept => {
                tokio::spawn(async move {
                    if let Err(e) = finish.await {
                        tracing::error!("event #{event_id}: {e:#}");
                    }
                });
                Answer::text(202, &format!("accepted as event #{event_id}"))
            }
            Respond::Passthrough => match finish.await {
                Ok(_) => Answer {
                    status: mock.status,
                    headers: mock.headers,
                    body: mock.body,
                    event_id: None,
                },
                Err(e) => {
                    tracing::error!("event #{event_id}: {e:#}");
                    Answer::text(503, "cannot store hooktap's answer; try again later")
                }
            },
        };
        answer.event_id = Some(event_id);
        answer
    }
}

/// Whether a Delivery never got an answer from the app (down, reset, too slow): what
/// `--redeliver` holds. An app that answered, even 5xx or with a body too large to keep, did
/// get the Event.
fn missed_the_app(result: &DeliveryResult) -> bool {
    result.outcome != Outcome::Ok && result.status.is_none()
}

/// What the sender gets for a Delivery in passthrough mode.
pub fn answer_for(result: &DeliveryResult) -> Answer {
    match (result.outcome, result.status) {
        (Outcome::Ok, Some(status)) => {
            let mut headers = HeaderList::default();
            for (name, value) in result.headers.iter() {
                if !forward::is_hop_by_hop(name, &result.headers) {
                    headers.push(name, value);
                }
            }
            Answer {
                status,
                headers,
                body: result.body.clone(),
                event_id: None,
            }
        }
        (Outcome::Timeout, _) => Answer::text(504, result.error.as_deref().unwrap_or("timeout")),
        _ => Answer::text(502, result.error.as_deref().unwrap_or("the Target failed")),
    }
}
