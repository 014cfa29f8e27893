//! The TUI's reads and sends, off the drawing path: one thread answers list pages (a text search
//! over a million bodies can take seconds, and a newer query cancels it), another loads the
//! selected Event in full, plans replays and prepares copies. Each owns its own Store
//! connection and answers with a [`Reply`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::mpsc::Sender;

use super::window::{Load, MAX_ROWS, PAGE};
use crate::event::{Delivery, Event};
use crate::filter::{Filter, Order, Page};
use crate::forward::{Forwarder, Target};
use crate::pretty::{self, Shown};
use crate::replay;
use crate::store::{EventSummary, Reader, Writer};

/// Ids read per step of a search that needs bodies, between checks for a newer query.
const CHUNK: i64 = 2048;
/// How often a running search reports how far it got.
const PROGRESS_EVERY: Duration = Duration::from_millis(150);
/// How often `hooktap ui` looks for commits by another process (`PRAGMA data_version`).
const POLL_EVERY: Duration = Duration::from_millis(400);
/// The most body lines shown in the detail pane.
const MAX_BODY_LINES: usize = 20_000;

/// A page of the list to read.
#[derive(Clone, Debug)]
pub struct Query {
    /// The filter's generation: replies for an older one are dropped.
    pub generation: u64,
    pub filter: Filter,
    pub load: Load,
}

/// What the copy keys copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyWhat {
    Curl,
    Body,
}

/// Work for the second thread.
#[derive(Clone, Debug)]
pub enum Job {
    /// Load Event `id` in full for the detail pane.
    Detail { id: i64, version: u64 },
    /// Replay Event `id` to `to`, or to its last Target.
    Replay { id: i64, to: Option<Target> },
    /// The raw request of Event `id`, for the editor.
    EditText { id: i64 },
    /// Store the edited request as a new Event and send it.
    SendEdit { id: i64, text: String },
    /// Prepare a copy of Event `id`.
    Copy { id: i64, what: CopyWhat },
}

/// An Event in full, ready for the detail pane.
#[derive(Clone, Debug)]
pub struct Detail {
    /// Which request this answers (the app reloads when an Event it shows changes).
    pub version: u64,
    pub summary: EventSummary,
    pub event: Event,
    pub deliveries: Vec<Delivery>,
    /// What hooktap noticed (`explain::notes`).
    pub notes: Vec<String>,
    /// The request body for people.
    pub request: Shown,
    /// Each Delivery's response body for people, in the order of `deliveries`.
    pub responses: Vec<Shown>,
}

/// Something to copy: to the clipboard (when text) and to a file in the data folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clip {
    /// What it is, for the message: "curl for #42".
    pub label: String,
    pub bytes: Vec<u8>,
    /// The file name to save it under in the data folder.
    pub file_name: String,
}

/// An answer from a worker.
#[derive(Debug)]
pub enum Reply {
    /// A page of the list.
    Loaded {
        generation: u64,
        load: Load,
        rows: Vec<EventSummary>,
        more: bool,
    },
    /// How many Events match the filter (indexed terms only).
    Counted {
        generation: u64,
        total: u64,
    },
    /// A search that reads bodies got this far (0.0 to 1.0).
    Searching {
        generation: u64,
        done: f32,
    },
    /// The Store was changed by another process.
    StoreChanged,
    Detail(Box<Detail>),
    /// A replay finished: a line for people, and whether the Target answered.
    Replayed {
        event_id: i64,
        line: String,
        ok: bool,
    },
    EditText {
        id: i64,
        text: String,
    },
    Clip(Clip),
    /// Something failed; the message says what to do.
    Failed(String),
}

/// What replays need: where to send from and where to record.
#[derive(Clone)]
pub struct Sending {
    pub runtime: Handle,
    pub writer: Writer,
    pub forwarder: Arc<Forwarder>,
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
            .spawn(move || list_loop(list_reader, list_rx, out2, latest2, poll))?;
        std::thread::Builder::new()
            .name("hooktap-tui-jobs".into())
            .spawn(move || job_loop(job_reader, jobs_rx, out, sending))?;
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

fn list_loop(
    reader: Reader,
    rx: mpsc::Receiver<(u64, Query)>,
    out: Sender<Reply>,
    latest: Arc<AtomicU64>,
    poll: bool,
) {
    let mut version = reader.data_version().ok();
    let mut counted: Option<u64> = None;
    loop {
        let (seq, query) = match rx.recv_timeout(POLL_EVERY) {
            Ok(next) => next,
            Err(RecvTimeoutError::Timeout) => {
                if poll {
                    let now = reader.data_version().ok();
                    if now != version {
                        version = now;
                        if out.blocking_send(Reply::StoreChanged).is_err() {
                            return;
                        }
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // Only the newest query matters.
        let (seq, query) = rx.try_iter().last().unwrap_or((seq, query));
        if poll {
            // What this query reads is current as of now.
            version = reader.data_version().ok();
        }
        let cancelled = || latest.load(Ordering::SeqCst) != seq;
        let mut last_progress = Instant::now();
        let mut progress = |done: f32| {
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let _ = out.blocking_send(Reply::Searching {
                    generation: query.generation,
                    done,
                });
            }
        };
        let reply = match fetch(
            &reader,
            &query.filter,
            query.load,
            &cancelled,
            &mut progress,
        ) {
            Ok(Some((rows, more))) => Reply::Loaded {
                generation: query.generation,
                load: query.load,
                rows,
                more,
            },
            Ok(None) => continue,
            Err(e) => Reply::Failed(format!("cannot read the Store: {e:#}")),
        };
        if out.blocking_send(reply).is_err() {
            return;
        }
        // The count comes after the first page, so it never delays a frame.
        if counted != Some(query.generation) && !query.filter.needs_body() {
            counted = Some(query.generation);
            if let Ok(total) = reader.count_indexed(&query.filter) {
                let _ = out.blocking_send(Reply::Counted {
                    generation: query.generation,
                    total,
                });
            }
        }
    }
}

/// The page a [`Load`] asks for.
fn page_of(load: Load) -> (Page, bool) {
    let (page, reverse) = match load {
        Load::Newest => (Page::first(PAGE), false),
        Load::Older { before } => (
            Page {
                before: Some(before),
                ..Page::first(PAGE)
            },
            false,
        ),
        Load::Newer { after } => (
            Page {
                after: Some(after),
                order: Order::OldestFirst,
                ..Page::first(PAGE)
            },
            true,
        ),
        Load::Oldest => (
            Page {
                order: Order::OldestFirst,
                ..Page::first(PAGE)
            },
            true,
        ),
        Load::Refresh {
            low,
            high,
            open_top,
        } => (
            Page {
                after: Some(low - 1),
                before: (!open_top).then_some(high + 1),
                ..Page::first(MAX_ROWS)
            },
            false,
        ),
    };
    (page, reverse)
}

/// Reads the rows of `load`, newest first, and whether more lie beyond them. `None` when a
/// newer query made this one pointless.
pub fn fetch(
    reader: &Reader,
    filter: &Filter,
    load: Load,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(f32),
) -> anyhow::Result<Option<(Vec<EventSummary>, bool)>> {
    let (page, reverse) = page_of(load);
    let rows = if filter.needs_body() {
        match search(reader, filter, &page, cancelled, progress)? {
            Some(rows) => rows,
            None => return Ok(None),
        }
    } else {
        reader.list(filter, &page)?
    };
    let more = rows.len() >= page.limit;
    let mut rows = rows;
    if reverse {
        rows.reverse();
    }
    Ok(Some((rows, more)))
}

/// A page for a filter that reads bodies, found by walking the ids in steps of [`CHUNK`] so a
/// newer query can stop it between steps.
fn search(
    reader: &Reader,
    filter: &Filter,
    page: &Page,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(f32),
) -> anyhow::Result<Option<Vec<EventSummary>>> {
    let (min, max): (Option<i64>, Option<i64>) =
        reader
            .conn()
            .query_row("SELECT min(id), max(id) FROM events", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
    let (Some(min), Some(max)) = (min, max) else {
        return Ok(Some(Vec::new()));
    };
    let low = page.after.map_or(min, |a| a.saturating_add(1)).max(min);
    let high = page.before.map_or(max, |b| b.saturating_sub(1)).min(max);
    let span = (high - low + 1).max(1) as f32;
    let mut out = Vec::new();
    let step = |from: i64, to: i64, out: &mut Vec<EventSummary>| -> anyhow::Result<()> {
        let rows = reader.list(
            filter,
            &Page {
                before: Some(to + 1),
                after: Some(from - 1),
                limit: page.limit - out.len(),
                order: page.order,
            },
        )?;
        out.extend(rows);
        Ok(())
    };
    match page.order {
        Order::NewestFirst => {
            let mut top = high;
            while top >= low && out.len() < page.limit {
                let bottom = (top - CHUNK + 1).max(low);
                step(bottom, top, &mut out)?;
                top = bottom - 1;
                if cancelled() {
                    return Ok(None);
                }
                progress((high - top) as f32 / span);
            }
        }
        Order::OldestFirst => {
            let mut bottom = low;
            while bottom <= high && out.len() < page.limit {
                let top = (bottom + CHUNK - 1).min(high);
                step(bottom, top, &mut out)?;
                bottom = top + 1;
                if cancelled() {
                    return Ok(None);
                }
                progress((bottom - low) as f32 / span);
            }
        }
    }
    Ok(Some(out))
}

fn job_loop(reader: Reader, rx: mpsc::Receiver<Job>, out: Sender<Reply>, sending: Sending) {
    while let Ok(first) = rx.recv() {
        let mut jobs: Vec<Job> = std::iter::once(first).chain(rx.try_iter()).collect();
        // Holding `j` asks for many details: load only the last one asked for.
        if let Some(last) = jobs.iter().rposition(|j| matches!(j, Job::Detail { .. })) {
            let mut i = 0;
            jobs.retain(|j| {
                let keep = !matches!(j, Job::Detail { .. }) || i == last;
                i += 1;
                keep
            });
        }
        for job in jobs {
            let reply = run_job(&reader, job, &sending, &out)
                .unwrap_or_else(|e| Some(Reply::Failed(format!("{e:#}"))));
            if let Some(reply) = reply
                && out.blocking_send(reply).is_err()
            {
                return;
            }
        }
    }
}

fn run_job(
    reader: &Reader,
    job: Job,
    sending: &Sending,
    out: &Sender<Reply>,
) -> anyhow::Result<Option<Reply>> {
    Ok(match job {
        Job::Detail { id, version } => {
            load_detail(reader, id, version)?.map(|d| Reply::Detail(Box::new(d)))
        }
        Job::Replay { id, to } => {
            let plan = replay::plan(reader, id, to.as_ref())?;
            spawn_send(sending, out, plan, None);
            None
        }
        Job::EditText { id } => {
            let Some((_, event)) = reader.event(id)? else {
                anyhow::bail!("no event #{id}");
            };
            Some(Reply::EditText {
                id,
                text: replay::raw_request(&event)?,
            })
        }
        Job::SendEdit { id, text } => {
            let mut plan = replay::plan(reader, id, None)?;
            let edited = replay::parse_raw(&text, &plan.event, id)?;
            plan.event = edited;
            spawn_send(sending, out, plan, Some(id));
            None
        }
        Job::Copy { id, what } => {
            let Some((summary, event)) = reader.event(id)? else {
                anyhow::bail!("no event #{id}");
            };
            Some(Reply::Clip(match what {
                CopyWhat::Curl => {
                    let deliveries = reader.deliveries(id)?;
                    let target = crate::export::curl::last_target(&event, &deliveries);
                    Clip {
                        label: format!("curl for #{id}"),
                        bytes: crate::export::curl::command(&summary, &event, target.as_deref())
                            .into_bytes(),
                        file_name: format!("event-{id}.curl.sh"),
                    }
                }
                CopyWhat::Body => Clip {
                    label: format!("body of #{id}"),
                    file_name: format!("event-{id}.body{}", body_extension(&event)),
                    bytes: event.body.to_vec(),
                },
            }))
        }
    })
}

/// `.json`, `.txt` or `.bin`, from the body.
fn body_extension(event: &Event) -> &'static str {
    match std::str::from_utf8(&event.body) {
        Ok(text) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => ".json",
        Ok(_) => ".txt",
        Err(_) => ".bin",
    }
}

/// Sends a planned replay on the runtime (the Target may take seconds) and reports the result.
/// With `edited_from`, the plan's Event is first stored as a new Event derived from that one.
fn spawn_send(
    sending: &Sending,
    out: &Sender<Reply>,
    mut plan: replay::Plan,
    edited_from: Option<i64>,
) {
    let (sending, out) = (sending.clone(), out.clone());
    sending.runtime.clone().spawn(async move {
        let reply = async {
            let mut prefix = String::new();
            if let Some(from) = edited_from {
                let inserted = sending
                    .writer
                    .insert_event(plan.event.clone(), None)
                    .await?;
                plan.event_id = inserted.event_id;
                prefix = format!("stored the edit of #{from} as #{}; ", inserted.event_id);
            }
            let done = replay::send(
                &sending.writer,
                &sending.forwarder,
                plan,
                &Default::default(),
            )
            .await?;
            let result = match (done.result.status, &done.result.error) {
                (Some(status), _) => format!(
                    "{status} in {:.1} ms",
                    done.result.duration_us as f64 / 1000.0
                ),
                (None, Some(e)) => format!("{} ({e})", done.result.outcome),
                (None, None) => done.result.outcome.to_string(),
            };
            anyhow::Ok(Reply::Replayed {
                event_id: done.event_id,
                ok: done.answered() && done.result.status.is_some_and(|s| s < 400),
                line: format!(
                    "{prefix}replayed #{} to {}: {result}",
                    done.event_id, done.url
                ),
            })
        }
        .await
        .unwrap_or_else(|e| Reply::Failed(format!("{e:#}")));
        let _ = out.send(reply).await;
    });
}

/// Event `id` with its Deliveries, notes and bodies rendered; `None` if it is gone.
pub fn load_detail(reader: &Reader, id: i64, version: u64) -> anyhow::Result<Option<Detail>> {
    let Some((summary, event)) = reader.event(id)? else {
        return Ok(None);
    };
    let deliveries = reader.deliveries(id)?;
    let notes = crate::explain::notes(reader, &summary, &event)?;
    let request = capped(pretty::render(&event.headers, &event.body));
    let responses = deliveries
        .iter()
        .map(|d| capped(pretty::render(&d.result.headers, &d.result.body)))
        .collect();
    Ok(Some(Detail {
        version,
        summary,
        event,
        deliveries,
        notes,
        request,
        responses,
    }))
}

/// Keeps a rendered body to [`MAX_BODY_LINES`], saying so.
fn capped(mut shown: Shown) -> Shown {
    if shown.lines.len() > MAX_BODY_LINES {
        let more = shown.lines.len() - MAX_BODY_LINES;
        shown.lines.truncate(MAX_BODY_LINES);
        shown
            .lines
            .push(format!("… {more} more lines (y copies the whole body)"));
    }
    shown
}
