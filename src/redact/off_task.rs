//! Redaction for a task on the runtime: a body the `json:` rules read (maybe decoded and
//! compressed again, up to the limit) is masked on a blocking thread, so a large or hostile
//! body does not hold up other connections.

use super::Redactor;
use crate::event::{DeliveryResult, Event};

impl Redactor {
    /// [`Redactor::event`], masking a body the `json:` rules read on a blocking thread.
    pub async fn event_off_task(&self, mut event: Event) -> (Event, bool) {
        if self.json_paths().is_empty() || event.body.is_empty() {
            let masked = self.event(&mut event);
            return (event, masked);
        }
        let (redact, copy) = (self.clone(), event.clone());
        let job = tokio::task::spawn_blocking(move || {
            let masked = redact.event(&mut event);
            (event, masked)
        });
        match job.await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down: mask it here.
            Err(_) => {
                let mut event = copy;
                let masked = self.event(&mut event);
                (event, masked)
            }
        }
    }

    /// [`Redactor::result`] for a task on the runtime, as [`Redactor::event_off_task`].
    pub async fn result_off_task(&self, mut result: DeliveryResult) -> DeliveryResult {
        if self.json_paths().is_empty() || result.body.is_empty() {
            self.result(&mut result);
            return result;
        }
        let (redact, copy) = (self.clone(), result.clone());
        let job = tokio::task::spawn_blocking(move || {
            redact.result(&mut result);
            result
        });
        match job.await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {
                let mut result = copy;
                self.result(&mut result);
                result
            }
        }
    }
}
