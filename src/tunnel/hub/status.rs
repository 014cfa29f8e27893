//! What `hooktap relay channel list` shows of a running Relay: which Channels have an Agent
//! connected, and how many webhooks and Agents were refused. The Relay notes it in its
//! database when an Agent comes and goes and every few seconds (another process reads it).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Hub;
use crate::tunnel::relay_store::ChannelStatus;

/// How often the running Relay notes its Channels' status (`--status-every`).
pub const STATUS_EVERY: Duration = Duration::from_secs(5);

impl Hub {
    /// Counts a webhook refused for `channel` (not stored, or not delivered).
    pub fn note_refused(&self, channel: &str) {
        if let Some(c) = self.lock().get_mut(channel) {
            c.refused += 1;
        }
    }

    /// Counts an Agent handshake refused for `channel`.
    pub fn note_agent_refused(&self, channel: &str) {
        if let Some(c) = self.lock().get_mut(channel) {
            c.agents_refused += 1;
        }
    }

    /// The status of every Channel, taking the refusal counts (they are noted once).
    fn take_status(&self) -> Vec<ChannelStatus> {
        self.lock()
            .iter_mut()
            .map(|(name, c)| ChannelStatus {
                channel: name.clone(),
                agent: c.session.as_ref().map(|s| s.remote.to_string()),
                refused: std::mem::take(&mut c.refused),
                agents_refused: std::mem::take(&mut c.agents_refused),
            })
            .collect()
    }

    /// Notes the status every `every` until `shutdown`, and once more then (with no Agent
    /// connected: the Relay is stopping). A tick with nothing to say (no Agent now nor at the
    /// last tick, no refusals) writes nothing.
    pub async fn note_status_every(self: Arc<Self>, every: Duration, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut had_agents = false;
        loop {
            let stopping = tokio::select! {
                _ = tick.tick() => false,
                _ = shutdown.cancelled() => true,
            };
            let mut rows = self.take_status();
            if stopping {
                rows.iter_mut().for_each(|r| r.agent = None);
            }
            let agents = rows.iter().any(|r| r.agent.is_some());
            let refusals = rows.iter().any(|r| r.refused + r.agents_refused > 0);
            let worth = agents || had_agents || refusals || stopping;
            if worth && let Err(e) = self.store.note_status(rows).await {
                tracing::warn!("cannot note the Channels' status: {e:#}");
            }
            had_agents = agents;
            if stopping {
                return;
            }
        }
    }
}
