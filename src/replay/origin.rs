//! Where an Event came from, as replay needs to know it: captured by this Store (ingress
//! `local` or `relay`, or an edit of such an Event), whose recorded Target may be reused; or
//! read from a file (ingress `import`, or an edit of such an Event), whose recorded Target is
//! only the file's word and is never used. A shared export must not choose where a replay,
//! signed with the user's secrets, is sent.

use rusqlite::OptionalExtension;

use crate::event::Ingress;
use crate::store::Reader;

/// How many `derived_from` links are followed (an edit of an edit of ...).
const MAX_STEPS: usize = 64;

/// Where an Event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Captured by this Store, or an edit of such an Event.
    Captured,
    /// Imported from a file (`from` is the imported Event: itself, or the one it was edited
    /// from).
    Imported {
        /// The imported Event at the root of its edits.
        from: i64,
    },
    /// An edit whose original is no longer in the Store (pruned), so it cannot be told.
    Unknown {
        /// The original's id, when the edit still names it.
        missing: Option<i64>,
    },
}

/// Follows `derived_from` from Event `event_id` to the Event its edits started from.
pub fn origin(reader: &Reader, event_id: i64) -> anyhow::Result<Origin> {
    let mut stmt = reader
        .conn()
        .prepare_cached("SELECT ingress, derived_from FROM events WHERE id = ?1")?;
    let mut current = event_id;
    for _ in 0..MAX_STEPS {
        let row: Option<(String, Option<i64>)> = stmt
            .query_row([current], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((ingress, derived_from)) = row else {
            return Ok(Origin::Unknown {
                missing: Some(current),
            });
        };
        match Ingress::parse(&ingress) {
            Some(Ingress::Local | Ingress::Relay) => return Ok(Origin::Captured),
            Some(Ingress::Edit) => match derived_from {
                Some(from) => current = from,
                None => return Ok(Origin::Unknown { missing: None }),
            },
            // `import`, or a word this hooktap does not know: not something it captured.
            _ => return Ok(Origin::Imported { from: current }),
        }
    }
    Ok(Origin::Unknown { missing: None })
}

/// A replay without an explicit Target of an Event this Store did not capture.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.message("pass --to URL"))]
pub struct NotCaptured {
    /// The Event to replay.
    pub event_id: i64,
    /// Where it came from (never [`Origin::Captured`]).
    pub origin: Origin,
}

impl NotCaptured {
    /// Why its recorded Target is not used, then `remedy` (what to do instead).
    pub fn message(&self, remedy: &str) -> String {
        let id = self.event_id;
        let why = match self.origin {
            Origin::Imported { from } if from == id => {
                format!("event #{id} was imported from a file")
            }
            Origin::Imported { from } => {
                format!("event #{id} is an edit of event #{from}, which was imported from a file")
            }
            Origin::Unknown { missing: Some(m) } => format!(
                "event #{id} is an edit of event #{m}, which is no longer in the Store, so \
                 hooktap cannot tell whether it came from a file"
            ),
            Origin::Unknown { missing: None } | Origin::Captured => format!(
                "event #{id} is an edit whose original is not known, so hooktap cannot tell \
                 whether it came from a file"
            ),
        };
        format!("{why}: its recorded target is not used; {remedy}")
    }
}

/// `Ok` when Event `event_id` was captured by this Store, so its recorded Target may be used.
pub fn check_captured(reader: &Reader, event_id: i64) -> anyhow::Result<()> {
    match origin(reader, event_id)? {
        Origin::Captured => Ok(()),
        origin => Err(NotCaptured { event_id, origin }.into()),
    }
}

/// Why a replay of the Events `ids` without an explicit Target is refused, if it is: any of
/// them this Store did not capture. One Event gets its [`NotCaptured`] message; a batch is
/// refused whole, saying how many and naming the first few.
pub fn refusal(
    reader: &Reader,
    ids: impl IntoIterator<Item = i64>,
) -> anyhow::Result<Option<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut refused: Vec<NotCaptured> = Vec::new();
    for event_id in ids {
        if !seen.insert(event_id) {
            continue;
        }
        match origin(reader, event_id)? {
            Origin::Captured => {}
            origin => refused.push(NotCaptured { event_id, origin }),
        }
    }
    Ok(match &refused[..] {
        [] => None,
        [one] if seen.len() == 1 => Some(one.to_string()),
        many => {
            let mut named: Vec<String> = many
                .iter()
                .take(5)
                .map(|r| format!("#{}", r.event_id))
                .collect();
            if many.len() > 5 {
                named.push(format!("and {} more", many.len() - 5));
            }
            Some(format!(
                "{} of the {} events to replay were imported from a file or are edits of \
                 imported events ({}): their recorded targets are not used; pass --to URL \
                 (nothing was sent)",
                many.len(),
                seen.len(),
                named.join(", ")
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_why_and_what_to_do() {
        let e = |origin| NotCaptured {
            event_id: 4,
            origin,
        };
        assert_eq!(
            e(Origin::Imported { from: 4 }).to_string(),
            "event #4 was imported from a file: its recorded target is not used; pass --to URL"
        );
        let edit = e(Origin::Imported { from: 2 }).message("press R");
        assert!(edit.starts_with("event #4 is an edit of event #2, which was imported"));
        assert!(edit.ends_with("not used; press R"), "{edit}");
        let gone = e(Origin::Unknown { missing: Some(1) }).to_string();
        assert!(
            gone.contains("#1, which is no longer in the Store"),
            "{gone}"
        );
    }
}
