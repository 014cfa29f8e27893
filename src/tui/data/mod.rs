//! The TUI's reads and sends, off the drawing path: one thread answers list pages (a text search
//! over a million bodies can take seconds, and a newer query cancels it), another loads the
//! selected Event in full, plans replays and prepares copies. Each owns its own Store
//! connection and answers with a [`Reply`].

mod jobs;
mod list;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use tokio::runtime::Handle;
use tokio::sync::mpsc::Sender;

use super::window::Load;
use crate::event::{Delivery, Event};
use crate::filter::Filter;
use crate::forward::{Forwarder, Target};
use crate::store::{EventSummary, Reader, Writer};
use crate::tui::text::body::Body;

pub use jobs::{copy, load_detail};
pub use list::fetch;

/// A page of the list to read.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The filter's generation: replies for an older one are dropped.
    pub generation: u64,
    /// The filter in force.
    pub filter: Filter,
    /// Which page.
    pub load: Load,
    /// Count the matching Events again after the page (the first page of a filter is always
    /// counted).
    pub count: bool,
}

/// What the copy keys copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyWhat {
    /// A curl command that sends the Event again.
    Curl,
    /// The body's exact bytes.
    Body,
}

/// Work for the second thread.
#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    /// Load Event `id` in full for the detail pane.
    Detail {
        /// The Event.
        id: i64,
        /// The app's version of it, echoed back.
        version: u64,
    },
    /// Replay Event `id` to `to`, or to its last Target.
    Replay {
        /// The Event.
        id: i64,
        /// Another Target than its last one.
        to: Option<Target>,
        /// Re-sign it with the provider's secret first.
        resign: bool,
    },
    /// The raw request of Event `id`, for the editor.
    EditText {
        /// The Event.
        id: i64,
    },
    /// Store the edited request as a new Event and send it.
    SendEdit {
        /// The Event edited.
        id: i64,
        /// The raw request as saved.
        text: String,
    },
    /// Prepare a copy of Event `id`.
    Copy {
        /// The Event.
        id: i64,
        /// Curl or body.
        what: CopyWhat,
    },
}

/// An Event in full, ready for the detail pane.
#[derive(Clone, Debug)]
pub struct Detail {
    /// Which request this answers (the app reloads when an Event it shows changes).
    pub version: u64,
    /// The Event's row.
    pub summary: EventSummary,
    /// The Event: headers, and its body (only its start when that is over
    /// [`MAX_LOADED`](jobs::MAX_LOADED)).
    pub event: Event,
    /// Every Delivery, oldest first.
    pub deliveries: Vec<Delivery>,
    /// What hooktap noticed (`explain::notes`).
    pub notes: Vec<String>,
    /// The request body for people (a large one shares `event.body`'s bytes).
    pub request: Body,
    /// Each Delivery's response body for people, in the order of `deliveries`.
    pub responses: Vec<Body>,
}

/// Something to copy: to the clipboard (when text) and to a file in the data folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clip {
    /// What it is, for the message: "curl for #42".
    pub label: String,
    /// What is copied.
    pub bytes: Vec<u8>,
    /// The file name to save it under in the data folder.
    pub file_name: String,
}

/// An answer from a worker.
#[derive(Debug)]
pub enum Reply {
    /// A page of the list.
    Loaded {
        /// The filter's generation it was read for.
        generation: u64,
        /// The page asked for.
        load: Load,
        /// Its rows, newest first.
        rows: Vec<EventSummary>,
        /// More rows lie beyond these.
        more: bool,
    },
    /// How many Events match the filter (indexed terms only).
    Counted {
        /// The filter's generation.
        generation: u64,
        /// How many match.
        total: u64,
    },
    /// A search that reads bodies got this far (0.0 to 1.0).
    Searching {
        /// The filter's generation.
        generation: u64,
        /// The share of ids looked at.
        done: f32,
    },
    /// The Store was changed by another process.
    StoreChanged,
    /// The selected Event, loaded.
    Detail(Box<Detail>),
    /// A replay finished: a line for people, and whether the Target answered.
    Replayed {
        /// The Event replayed (an edit's new id).
        event_id: i64,
        /// What happened, for the footer.
        line: String,
        /// The Target answered below 400.
        ok: bool,
    },
    /// The raw request of an Event, for the editor.
    EditText {
        /// The Event.
        id: i64,
        /// Its raw request.
        text: String,
    },
    /// A copy, ready for the clipboard and its file.
    Clip(Clip),
    /// Something failed; the message says what to do.
    Failed(String),
}

/// What replays need: where to send from and where to record.
#[derive(Clone)]
pub struct Sending {
    /// The runtime replays are sent on.
    pub runtime: Handle,
    /// Records the Deliveries.
    pub writer: Writer,
    /// The one HTTP client.
    pub forwarder: Arc<Forwarder>,
    /// The secrets re-signed replays are signed with.
    pub providers: crate::providers::Providers,
    /// What is masked in stored answers and edits.
    pub redact: crate::redact::Redactor,
}

/// The handles to both workers. Dropping it stops them.
pub struct Workers {
    list: mpsc::Sender<(u64, Query)>,
    jobs: mpsc::Sender<Job>,
    latest: Arc<AtomicU64>,
    seq: u64,
}

impl Workers {
    /// Starts both threads on the Store at `path`. With `poll`, the list thread also watches
    /// for commits by other processes.
    pub fn spawn(
        path: &std::path::Path,
        out: Sender<Reply>,
        sending: Sending,
        poll: bool,
    ) -> anyhow::Result<Workers> {
        let list_reader = Reader::open(path)?;
        let job_reader = Reader::open(path)?;
        let (list, list_rx) = mpsc::channel();
        let (jobs, jobs_rx) = mpsc::channel();
        let latest = Arc::new(AtomicU64::new(0));
        let (out2, latest2) = (out.clone(), latest.clone());
        std::thread::Builder::new()
            .name("hooktap-tui-list".into())
            .spawn(move || list::run(list_reader, list_rx, out2, latest2, poll))?;
        std::thread::Builder::new()
            .name("hooktap-tui-jobs".into())
            .spawn(move || jobs::run(job_reader, jobs_rx, out, sending))?;
        Ok(Workers {
            list,
            jobs,
            latest,
            seq: 0,
        })
    }

    /// Asks for a page; a search still running for an earlier query stops.
    pub fn query(&mut self, query: Query) {
        self.seq += 1;
        self.latest.store(self.seq, Ordering::SeqCst);
        let _ = self.list.send((self.seq, query));
    }

    /// Hands a job to the second thread.
    pub fn job(&self, job: Job) {
        let _ = self.jobs.send(job);
    }
}
