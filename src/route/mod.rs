//! Routes: which Target (or which mock) an Event goes to. `--route '/PREFIX -> URL [strip]'`
//! (longest prefix wins), `--route 'FILTER -> URL|mock:...'` (filter language terms that a new
//! Event can answer; the first match wins), then `--forward`, else the `--mock` answer.
//! `--only FILTER` sends what does not match to the mock; `--fail` makes forwarded deliveries
//! fail on purpose. See docs/workflows.md.

pub mod args;
pub mod mock;

use crate::event::Event;
use crate::filter::{Filter, Test};
use crate::forward::Target;
use crate::store::EventSummary;

pub use mock::{Fail, Mock};

/// Where one route sends what it matches.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// To a Target; with `strip`, the route's prefix is removed from the path.
    Forward { target: Target, strip: bool },
    /// Answered by hooktap.
    Mock(Mock),
}

/// What a route matches.
#[derive(Clone, Debug, PartialEq)]
pub enum When {
    /// A path prefix, on a segment boundary (`/gh` matches `/gh` and `/gh/x`, not `/ghx`).
    Prefix(String),
    /// A filter over the Event.
    Filter(Filter),
}

/// One `--route`.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub when: When,
    pub action: Action,
    /// As written, for messages.
    pub text: String,
}

/// The filter fields a route may use: those a new Event can answer before any Delivery.
const ROUTE_FIELDS: &str = "method:, path:, provider:, type:, sig:, header:, json: and words";

impl Route {
    /// Parses `LEFT -> RIGHT`: LEFT a `/prefix` or a filter, RIGHT a Target (a URL or a port
    /// such as `3000`), `URL strip` (prefix routes), `mock` or `mock:SPEC`.
    pub fn parse(text: &str) -> Result<Route, String> {
        let Some((left, right)) = text.split_once(" -> ") else {
            return Err(format!(
                "--route '{text}' has no ' -> ': write '/prefix -> URL' or 'FILTER -> URL'"
            ));
        };
        let (left, right) = (left.trim(), right.trim());
        let when = if left.starts_with('/') && !left.contains(char::is_whitespace) {
            When::Prefix(left.trim_end_matches('/').to_string())
        } else {
            let filter = crate::filter::parse(left)
                .map_err(|e| format!("--route '{text}': the filter {e}"))?;
            if filter.is_empty() {
                return Err(format!("--route '{text}' has nothing before ' -> '"));
            }
            if let Some(t) = filter.terms().iter().find(|t| !fits_a_route(&t.test)) {
                return Err(format!(
                    "--route '{text}': the term at column {} needs a Delivery or the Store; a \
                     route can use {ROUTE_FIELDS}",
                    t.column
                ));
            }
            When::Filter(filter)
        };
        let action = if right == "mock" {
            Action::Mock(Mock::default())
        } else if let Some(spec) = right.strip_prefix("mock:") {
            Action::Mock(Mock::parse(spec).map_err(|e| format!("--route '{text}': {e}"))?)
        } else {
            let (url, strip) = match right.strip_suffix(" strip") {
                Some(url) => (url.trim(), true),
                None => (right, false),
            };
            if strip && !matches!(when, When::Prefix(_)) {
                return Err(format!("--route '{text}': strip needs a '/prefix' route"));
            }
            let target = Target::parse_arg(url).map_err(|e| format!("--route '{text}': {e}"))?;
            Action::Forward { target, strip }
        };
        Ok(Route {
            when,
            action,
            text: text.to_string(),
        })
    }
}

fn fits_a_route(test: &Test) -> bool {
    matches!(
        test,
        Test::Method(_)
            | Test::Path(_)
            | Test::Provider(_)
            | Test::Type(_)
            | Test::Sig(_)
            | Test::Header { .. }
            | Test::Json { .. }
            | Test::Text(_)
    )
}

/// The choice for one Event.
#[derive(Debug, PartialEq)]
pub enum Choice<'r> {
    /// Forward to `target`, with `path_and_query` (the Event's, maybe with a prefix stripped).
    Forward {
        target: &'r Target,
        path_and_query: String,
    },
    /// Answer with this mock; `why` says which rule chose it.
    Mock { mock: &'r Mock, why: &'static str },
}

/// Every rule that chooses where an Event goes.
#[derive(Debug, Default)]
pub struct Routes {
    /// Prefix routes, longest prefix first.
    prefixes: Vec<Route>,
    /// Filter routes, in the order given.
    filters: Vec<Route>,
    /// `--forward`.
    default: Option<Target>,
    /// `--mock` (status 200 unless given).
    mock: Mock,
    /// `--only`.
    only: Option<Filter>,
}

impl Routes {
    /// Routes with `default` (`--forward`) for what no route matches.
    pub fn new(routes: Vec<Route>, default: Option<Target>, mock: Option<Mock>) -> Routes {
        let (mut prefixes, filters): (Vec<Route>, Vec<Route>) = routes
            .into_iter()
            .partition(|r| matches!(r.when, When::Prefix(_)));
        prefixes.sort_by_key(|r| match &r.when {
            When::Prefix(p) => std::cmp::Reverse(p.len()),
            When::Filter(_) => std::cmp::Reverse(0),
        });
        Routes {
            prefixes,
            filters,
            default,
            mock: mock.unwrap_or_default(),
            only: None,
        }
    }

    /// Only Events matching `filter` are forwarded; the others get the mock.
    pub fn only(mut self, filter: Option<Filter>) -> Routes {
        self.only = filter;
        self
    }

    /// One line per rule, in the order they are tried, for the start-up lines.
    pub fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .prefixes
            .iter()
            .chain(&self.filters)
            .map(|r| r.text.clone())
            .collect();
        if self.only.is_some() {
            lines.insert(0, "--only: what it does not match gets the mock".into());
        }
        lines
    }

    /// The default Target (`--forward`), if any.
    pub fn default_target(&self) -> Option<&Target> {
        self.default.as_ref()
    }

    /// Every Target a route or the default names.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        let routes = self.prefixes.iter().chain(&self.filters);
        routes
            .filter_map(|r| match &r.action {
                Action::Forward { target, .. } => Some(target),
                Action::Mock(_) => None,
            })
            .chain(self.default.iter())
    }

    /// Chooses for `event`: `--only`, then prefix routes (longest first), then filter routes
    /// (in order), then `--forward`, then the mock.
    pub fn choose(&self, event: &Event) -> Choice<'_> {
        let summary = (self.only.is_some() || !self.filters.is_empty()).then(|| summary(event));
        if let (Some(only), Some(s)) = (&self.only, &summary)
            && !only.matches(s, event)
        {
            return Choice::Mock {
                mock: &self.mock,
                why: "--only",
            };
        }
        for route in &self.prefixes {
            let When::Prefix(prefix) = &route.when else {
                continue;
            };
            let Some(rest) = event.path.strip_prefix(prefix.as_str()) else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with('/') || prefix.is_empty()) {
                continue;
            }
            return match &route.action {
                Action::Forward { target, strip } => {
                    let path = if *strip { rest } else { event.path.as_str() };
                    let path = if path.is_empty() { "/" } else { path };
                    Choice::Forward {
                        target,
                        path_and_query: with_query(path, event),
                    }
                }
                Action::Mock(mock) => Choice::Mock { mock, why: "route" },
            };
        }
        if let Some(s) = &summary {
            for route in &self.filters {
                let When::Filter(filter) = &route.when else {
                    continue;
                };
                if filter.matches(s, event) {
                    return match &route.action {
                        Action::Forward { target, .. } => Choice::Forward {
                            target,
                            path_and_query: event.path_and_query(),
                        },
                        Action::Mock(mock) => Choice::Mock { mock, why: "route" },
                    };
                }
            }
        }
        match &self.default {
            Some(target) => Choice::Forward {
                target,
                path_and_query: event.path_and_query(),
            },
            None => Choice::Mock {
                mock: &self.mock,
                why: "no route matched and no --forward",
            },
        }
    }
}

fn with_query(path: &str, event: &Event) -> String {
    match &event.query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}

/// What the filter matcher reads of an Event not yet stored.
fn summary(e: &Event) -> EventSummary {
    EventSummary {
        id: 0,
        uid: String::new(),
        received_at: e.received_at,
        ingress: String::new(),
        method: e.method.clone(),
        path: e.path.clone(),
        query: e.query.clone(),
        remote_addr: None,
        body_size: e.body.len() as u64,
        body_sha256: String::new(),
        provider: e.class.provider.clone(),
        event_type: e.class.event_type.clone(),
        provider_event_id: e.class.provider_event_id.clone(),
        summary: None,
        signature: e.class.signature.as_str().to_string(),
        derived_from: None,
        deliveries: 0,
        status: None,
        outcome: None,
        duration_us: None,
        replayed: false,
        duplicate_of: None,
        signature_detail: None,
        held_since: None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
