//! The filter language shared by `list`, `replay`, `export`, `prune` and the TUI: parsing
//! (here), SQL for the indexed terms (`sql`), matching in Rust (`matcher`) and paged queries
//! over the Store ([`query`]).
//!
//! Terms are ANDed; `-term` negates; a bare word or "quoted phrase" matches path or body text:
//! `method:POST path:/hooks/* status:5xx outcome:failed provider:ayrshare type:social.* sig:invalid
//! header:x-foo=bar json:.platform=instagram after:1h before:2026-11-27T10:00 id:40..50 replayed`.
//!
//! The API a screen needs, and all the CLI uses:
//! - [`parse`] (typed text) or [`parse_args`] (shell words) give a [`Filter`] or a
//!   [`FilterError`] with the 1-based column of the bad term;
//! - `Reader::list(&filter, &Page)` gives one page of [`EventSummary`](crate::store::EventSummary)
//!   rows, newest first by default, paged by id (`before`/`after`), never loading all rows;
//! - `Reader::walk` streams matching Events in full (export, bulk replay), `Reader::ids` gives
//!   ids (prune), `Reader::count_indexed` counts the indexed part;
//! - [`Filter::matches_summary`] tests a new Event from the bus without a query (`None` means a
//!   term needs its body: then [`Filter::matches`] with the full Event).

mod field;
mod indexed;
mod matcher;
mod parse;
pub mod query;
mod sql;

pub use field::json_path;
pub use parse::{MAX_TERM_BYTES, MAX_TERMS, parse, parse_args, parse_at};
pub use query::{Flow, Order, Page};
pub use sql::Sql;

use crate::event::{Micros, Outcome, Signature};

/// The field names of the language, in the order help text lists them.
pub const FIELDS: &[&str] = &[
    "method", "path", "status", "outcome", "provider", "type", "sig", "header", "json", "after",
    "before", "id", "replayed",
];

/// A parsed filter: terms that must all hold. The empty filter matches every Event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    terms: Vec<Term>,
}

/// One term, maybe negated.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// `-term`: the term must not hold.
    pub negated: bool,
    /// What is tested.
    pub test: Test,
    /// 1-based column where the term starts in the filter text.
    pub column: usize,
}

/// What one term tests.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// `method:POST` (case-insensitive).
    Method(String),
    /// `path:/hooks/*`: a glob (`*`, `?`) over the path.
    Path(String),
    /// `status:404`, `status:5xx`, `status:400..499`: an inclusive range.
    Status { low: u16, high: u16 },
    /// `outcome:failed`, of the latest Delivery.
    Outcome(Outcome),
    /// `provider:ayrshare`.
    Provider(String),
    /// `type:social.*`: a glob over the event type.
    Type(String),
    /// `sig:invalid`.
    Sig(Signature),
    /// `header:name` (present) or `header:name=glob`.
    Header { name: String, value: Option<String> },
    /// `json:.a.b` (present) or `json:.a[0].b=glob`, into a JSON body.
    Json {
        path: Vec<JsonStep>,
        value: Option<String>,
    },
    /// `after:1h` or `after:2026-11-27T10:00`: received at or after this time.
    After(Micros),
    /// `before:...`: received before this time.
    Before(Micros),
    /// `id:42`, `id:40..50`, `id:40..`, `id:..50`: an inclusive range.
    Id { low: i64, high: i64 },
    /// `replayed`: replayed at least once.
    Replayed,
    /// A bare word or "quoted phrase": path, query or body contains it (ignoring ASCII case).
    Text(String),
}

/// One step of a `json:` path.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonStep {
    /// `.name`
    Key(String),
    /// `[3]`
    Index(usize),
    /// `[]` or `[*]`: any element of an array.
    Any,
}

/// A filter that does not parse, with the 1-based column of the bad term.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}{}", hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
pub struct FilterError {
    /// 1-based column (in characters) where the bad term starts.
    pub column: usize,
    /// What is wrong, e.g. `unknown field 'stauts'`.
    pub message: String,
    /// What to do, e.g. `did you mean 'status'?`.
    pub hint: Option<String>,
}

impl Filter {
    /// The filter that matches everything.
    pub fn all() -> Filter {
        Filter::default()
    }

    /// The terms, in the order written.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Whether there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether some term needs headers or body (`header:`, `json:`, text), so rows must be
    /// read in full and checked in Rust after SQL has narrowed them.
    pub fn needs_body(&self) -> bool {
        self.terms.iter().any(|t| t.test.needs_body())
    }
}

impl Filter {
    /// The text search index query for this filter's bare words and phrases (those not
    /// negated), or `None` when none has 3 characters or more: then the filter scans.
    pub fn index_query(&self) -> Option<String> {
        crate::store::search::match_expr(self.terms.iter().filter_map(|t| match &t.test {
            Test::Text(needle) if !t.negated => Some(needle.as_str()),
            _ => None,
        }))
    }
}

impl Test {
    /// Whether this test reads headers or body (it cannot be answered from an index).
    pub fn needs_body(&self) -> bool {
        matches!(
            self,
            Test::Header { .. } | Test::Json { .. } | Test::Text(_)
        )
    }
}

impl Filter {
    /// This filter with one more term ANDed on (e.g. `prune --older-than` adds a `before:`).
    pub fn and(mut self, test: Test) -> Filter {
        self.terms.push(Term {
            negated: false,
            test,
            column: 0,
        });
        self
    }
}
