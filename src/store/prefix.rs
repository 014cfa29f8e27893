//! The start of a large request body, for screens that show a window over it: SQLite's
//! incremental blob I/O copies only the bytes asked for (a plain `SELECT` holds the whole value
//! and then hands out a copy of it), and an LZ4 block is decoded only as far as needed.

use std::io::Read;

use anyhow::Context;
use bytes::Bytes;
use rusqlite::{MAIN_DB, OptionalExtension};

use super::body::{Damaged, LZ4, unpack_prefix};
use super::{EventSummary, Reader, event_of};
use crate::event::{Event, HeaderList};

impl Reader {
    /// Event `id` with at most the first `max` bytes of its body (all of it when shorter:
    /// compare `body.len()` with the summary's `body_size`), or `None` when it is gone.
    pub fn event_prefix(
        &self,
        id: i64,
        max: usize,
    ) -> anyhow::Result<Option<(EventSummary, Event)>> {
        // One read transaction: the Event cannot be pruned between its rows and its body.
        let tx = self.conn.unchecked_transaction()?;
        let Some(summary) = self.summary(id)? else {
            return Ok(None);
        };
        let row: Option<(Vec<u8>, Option<String>, i64)> = self
            .conn
            .prepare_cached(
                "SELECT headers, encoding, length(body) FROM bodies WHERE event_id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((headers, encoding, stored)) = row else {
            return Ok(None);
        };
        let stored = usize::try_from(stored).unwrap_or(0);
        let whose = || format!("the body of Event #{id}");
        let read = match encoding.as_deref() {
            None => stored.min(max),
            Some(LZ4) => stored.min(4 + max + max / 64 + 64),
            Some(other) => {
                let e = Damaged::Encoding(other.into());
                anyhow::bail!("{} {e}", whose());
            }
        };
        let mut start = vec![0; read];
        self.conn
            .blob_open(MAIN_DB, c"bodies", c"body", id, true)?
            .read_exact(&mut start)
            .with_context(whose)?;
        drop(tx);
        let body = match encoding {
            None => start,
            Some(_) => {
                unpack_prefix(&start, max).map_err(|e| anyhow::anyhow!("{} {e}", whose()))?
            }
        };
        let want = usize::try_from(summary.body_size)
            .unwrap_or(usize::MAX)
            .min(max);
        if body.len() != want {
            anyhow::bail!("{} {}", whose(), Damaged::Size(summary.body_size));
        }
        let headers = HeaderList::decode(&headers).unwrap_or_default();
        let event = event_of(&summary, headers, Bytes::from(body));
        Ok(Some((summary, event)))
    }
}
