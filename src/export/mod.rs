//! Export: matching Events streamed out as HAR 1.2, NDJSON (the `show --json` record per line)
//! or curl commands, one Event at a time so memory stays flat however large the Store.

pub mod curl;
pub mod file;
mod har;

use std::io::Write;

use crate::event::{Delivery, Event, HeaderList};
use crate::filter::{Filter, Flow, Order, Page};
use crate::record;
use crate::store::{EventSummary, Reader};
use crate::text::write_json;

/// What an export writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// HTTP Archive 1.2 (browser dev tools, Insomnia); hooktap fields under `_hooktap`
    Har,
    /// One JSON record per Event, with its Deliveries (the `show --json` shape)
    Ndjson,
    /// One curl command per Event, exact body bytes
    Curl,
}

/// Export settings.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Keep signature and authorization headers as they are instead of masking them.
    pub include_secrets: bool,
    /// For curl: the Target the commands send to (else each Event's last Target).
    pub target: Option<String>,
}

/// What stands in for a masked header value.
pub const MASK: &str = "[masked]";

/// Headers whose values are secrets or signatures, masked unless `--include-secrets`.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-authorization-content-sha256",
    "x-authorization-content-sha256-v2",
    "x-hub-signature",
    "x-hub-signature-256",
    "stripe-signature",
    "webhook-signature",
    "svix-signature",
    "x-shopify-hmac-sha256",
    "x-slack-signature",
];

/// `headers` with secret values replaced by [`MASK`] (unless `keep`).
pub fn mask(headers: &HeaderList, keep: bool) -> HeaderList {
    if keep {
        return headers.clone();
    }
    HeaderList(
        headers
            .iter()
            .map(|(n, v)| {
                let secret = SECRET_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s));
                (
                    n.to_string(),
                    if secret {
                        MASK.as_bytes().to_vec()
                    } else {
                        v.to_vec()
                    },
                )
            })
            .collect(),
    )
}

/// Writes every Event matching `filter`, in arrival order, to `out`. Returns how many.
pub fn export(
    reader: &Reader,
    filter: &Filter,
    format: Format,
    options: &Options,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut count = 0u64;
    if format == Format::Har {
        har::begin(out)?;
    }
    let all = Page {
        order: Order::OldestFirst,
        ..Page::first(usize::MAX)
    };
    reader.walk(filter, &all, |summary, mut event| {
        let mut deliveries = reader.deliveries(summary.id)?;
        event.headers = mask(&event.headers, options.include_secrets);
        for d in &mut deliveries {
            d.result.headers = mask(&d.result.headers, options.include_secrets);
        }
        write_one(out, format, options, count, &summary, &event, &deliveries)?;
        count += 1;
        Ok(Flow::Continue)
    })?;
    if format == Format::Har {
        har::end(out)?;
    }
    out.flush()?;
    Ok(count)
}

fn write_one(
    out: &mut dyn Write,
    format: Format,
    options: &Options,
    index: u64,
    summary: &EventSummary,
    event: &Event,
    deliveries: &[Delivery],
) -> anyhow::Result<()> {
    match format {
        Format::Ndjson => {
            write_json(&mut *out, &record::event_json(summary, event, deliveries))?;
            out.write_all(b"\n")?;
        }
        Format::Har => {
            if index > 0 {
                out.write_all(b",\n")?;
            }
            write_json(&mut *out, &har::entry(summary, event, deliveries))?;
        }
        Format::Curl => {
            let target = options
                .target
                .clone()
                .or_else(|| curl::last_target(event, deliveries));
            out.write_all(curl::command(summary, event, target.as_deref()).as_bytes())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_unless_kept() {
        let mut h = HeaderList::default();
        h.push("Authorization", b"Bearer x".to_vec());
        h.push("X-Authorization-Content-SHA256", b"abc".to_vec());
        h.push("content-type", b"application/json".to_vec());
        let m = mask(&h, false);
        assert_eq!(m.get_str("authorization"), Some(MASK));
        assert_eq!(m.get_str("x-authorization-content-sha256"), Some(MASK));
        assert_eq!(m.get_str("content-type"), Some("application/json"));
        assert_eq!(mask(&h, true), h);
    }
}
