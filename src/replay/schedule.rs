//! The order and pace of a batch replay: which Event is sent when. A batch can go as fast as
//! the app takes it, or reproduce what providers really do: the original gaps between Events
//! (at a speed factor), the same Event delivered again (a retry), Events out of order.

use std::time::Duration;

use crate::event::Micros;

/// How fast a batch goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Each Event as soon as a sender is free.
    Asap,
    /// The gaps between the Events as they arrived, divided by `speed` (1 = real time).
    Original { speed: f64 },
}

impl Pace {
    /// Parses `asap`, `original`, or a speed factor such as `10x` or `0.5x` (original gaps,
    /// ten times faster or twice as slow).
    pub fn parse(text: &str) -> Result<Pace, String> {
        match text {
            "asap" => return Ok(Pace::Asap),
            "original" | "1x" => return Ok(Pace::Original { speed: 1.0 }),
            _ => {}
        }
        let speed = text
            .strip_suffix('x')
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| {
                format!("'{text}' is not a pace: use asap, original, or a speed such as 10x")
            })?;
        Ok(Pace::Original { speed })
    }
}

/// What shapes a batch besides the Events themselves.
#[derive(Clone, Debug)]
pub struct Shape {
    /// How fast.
    pub pace: Pace,
    /// The longest wait between two Events, whatever the original gap (a night between two
    /// webhooks should not stall a replay).
    pub max_gap: Duration,
    /// How many times each Event is sent, one right after the other (a provider's retry).
    pub repeat: u32,
    /// Send the Events in a random order drawn from this seed (the gaps keep their places).
    pub shuffle: Option<u64>,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            pace: Pace::Asap,
            max_gap: Duration::from_secs(60),
            repeat: 1,
            shuffle: None,
        }
    }
}

/// One send of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The Event sent.
    pub event_id: i64,
    /// When, counted from the start of the batch.
    pub at: Duration,
    /// Which copy of the Event this is, from 1 to [`Shape::repeat`].
    pub copy: u32,
}

/// The most sends one batch may hold: more is a typo or a filter that matched far more than
/// meant, and would run for days.
pub const MOST_SENDS: usize = 10_000_000;

/// The sends of a batch, made one at a time as they are asked for: it holds one `(id,
/// received_at)` per Event, never one entry per send, so `--repeat 1000` costs no memory.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The Events in send order (`.0`) beside the arrival times in arrival order (`.1`): a
    /// shuffle moves the ids and leaves the gaps where they were.
    events: Vec<(i64, Micros)>,
    shape: Shape,
    sends: usize,
}

impl Schedule {
    /// The schedule of `events`, `(id, received_at)` in arrival order. Refuses (with a
    /// sentence for the user) more than [`MOST_SENDS`] sends in all.
    pub fn new(mut events: Vec<(i64, Micros)>, shape: &Shape) -> Result<Schedule, String> {
        let repeat = shape.repeat.max(1);
        let sends = events
            .len()
            .checked_mul(repeat as usize)
            .filter(|n| *n <= MOST_SENDS)
            .ok_or_else(|| match repeat {
                1 => format!(
                    "{} Events are more than {MOST_SENDS} replays in one batch: narrow the filter",
                    events.len()
                ),
                _ => format!(
                    "{} Events sent {repeat} times each are more than {MOST_SENDS} replays in one \
                     batch: narrow the filter or lower --repeat",
                    events.len()
                ),
            })?;
        if let Some(seed) = shape.shuffle {
            shuffle(&mut events, seed);
        }
        Ok(Schedule {
            events,
            shape: Shape {
                repeat,
                ..shape.clone()
            },
            sends,
        })
    }

    /// How many sends in all: Events times repeats.
    pub fn len(&self) -> usize {
        self.sends
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.sends == 0
    }

    /// The sends, in the order they start.
    pub fn iter(&self) -> Slots<'_> {
        Slots {
            schedule: self,
            index: 0,
            copy: 1,
            at: Duration::ZERO,
        }
    }
}

/// The sends of a [`Schedule`], each worked out as it is asked for.
#[derive(Clone, Debug)]
pub struct Slots<'a> {
    schedule: &'a Schedule,
    /// The Event of the next send, as a position in the schedule.
    index: usize,
    copy: u32,
    at: Duration,
}

impl Iterator for Slots<'_> {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        let events = &self.schedule.events;
        let shape = &self.schedule.shape;
        let slot = Slot {
            event_id: events.get(self.index)?.0,
            at: self.at,
            copy: self.copy,
        };
        if self.copy < shape.repeat {
            self.copy += 1;
        } else {
            self.copy = 1;
            self.index += 1;
            if let Some(next) = events.get(self.index) {
                self.at += gap(events[self.index - 1].1, next.1, shape);
            }
        }
        Some(slot)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let repeat = self.schedule.shape.repeat as usize;
        let left = (self.schedule.events.len().saturating_sub(self.index) * repeat)
            .saturating_sub(self.copy as usize - 1);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Slots<'_> {}

/// The wait between two Events that arrived at `before` and `after`.
fn gap(before: Micros, after: Micros, shape: &Shape) -> Duration {
    match shape.pace {
        Pace::Asap => Duration::ZERO,
        Pace::Original { speed } => {
            let micros = after.saturating_sub(before).max(0) as f64 / speed;
            Duration::from_micros(micros as u64).min(shape.max_gap)
        }
    }
}

/// Fisher-Yates with SplitMix64 over the ids only: the same seed gives the same order on every
/// machine, and the arrival times stay in place.
fn shuffle(items: &mut [(i64, Micros)], seed: u64) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        let id = items[i].0;
        items[i].0 = items[j].0;
        items[j].0 = id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000;

    fn schedule(events: &[(i64, Micros)], shape: &Shape) -> Vec<Slot> {
        let schedule = Schedule::new(events.to_vec(), shape).unwrap();
        let slots: Vec<Slot> = schedule.iter().collect();
        assert_eq!(slots.len(), schedule.len());
        slots
    }

    fn arrivals() -> Vec<(i64, Micros)> {
        vec![(1, 0), (2, 300 * MS), (3, 900 * MS), (4, 900 * MS)]
    }

    fn at(slots: &[Slot]) -> Vec<(i64, u128)> {
        slots
            .iter()
            .map(|s| (s.event_id, s.at.as_millis()))
            .collect()
    }

    #[test]
    fn paces_parse_and_bad_ones_say_what_to_use() {
        assert_eq!(Pace::parse("asap"), Ok(Pace::Asap));
        assert_eq!(Pace::parse("original"), Ok(Pace::Original { speed: 1.0 }));
        assert_eq!(Pace::parse("10x"), Ok(Pace::Original { speed: 10.0 }));
        assert_eq!(Pace::parse("0.5x"), Ok(Pace::Original { speed: 0.5 }));
        for bad in ["fast", "0x", "-2x", "x", "10", "infx", "NaNx"] {
            let err = Pace::parse(bad).unwrap_err();
            assert!(err.contains("asap, original, or a speed"), "{bad}: {err}");
        }
    }

    #[test]
    fn asap_sends_everything_at_once_in_arrival_order() {
        let slots = schedule(&arrivals(), &Shape::default());
        assert_eq!(at(&slots), vec![(1, 0), (2, 0), (3, 0), (4, 0)]);
        assert!(slots.iter().all(|s| s.copy == 1));
    }

    #[test]
    fn original_pace_keeps_the_gaps_scaled_and_capped() {
        let original = Shape {
            pace: Pace::Original { speed: 1.0 },
            ..Shape::default()
        };
        assert_eq!(
            at(&schedule(&arrivals(), &original)),
            vec![(1, 0), (2, 300), (3, 900), (4, 900)]
        );
        let faster = Shape {
            pace: Pace::Original { speed: 3.0 },
            ..original.clone()
        };
        assert_eq!(
            at(&schedule(&arrivals(), &faster)),
            vec![(1, 0), (2, 100), (3, 300), (4, 300)]
        );
        let capped = Shape {
            max_gap: Duration::from_millis(400),
            ..original
        };
        assert_eq!(
            at(&schedule(&arrivals(), &capped)),
            vec![(1, 0), (2, 300), (3, 700), (4, 700)]
        );
    }

    #[test]
    fn a_clock_that_went_back_gives_no_negative_gap() {
        let shape = Shape {
            pace: Pace::Original { speed: 1.0 },
            ..Shape::default()
        };
        let slots = schedule(&[(1, 500 * MS), (2, 0), (3, 100 * MS)], &shape);
        assert_eq!(at(&slots), vec![(1, 0), (2, 0), (3, 100)]);
    }

    #[test]
    fn repeats_follow_their_event_at_the_same_time() {
        let shape = Shape {
            pace: Pace::Original { speed: 1.0 },
            repeat: 3,
            ..Shape::default()
        };
        let slots = schedule(&arrivals()[..2], &shape);
        let got: Vec<(i64, u128, u32)> = slots
            .iter()
            .map(|s| (s.event_id, s.at.as_millis(), s.copy))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 0, 1),
                (1, 0, 2),
                (1, 0, 3),
                (2, 300, 1),
                (2, 300, 2),
                (2, 300, 3)
            ]
        );
    }

    #[test]
    fn a_shuffle_is_a_permutation_fixed_by_its_seed_and_keeps_the_gaps_in_place() {
        let events: Vec<(i64, Micros)> = (1..=50).map(|i| (i, i * 10 * MS)).collect();
        let shape = |seed| Shape {
            pace: Pace::Original { speed: 1.0 },
            shuffle: Some(seed),
            ..Shape::default()
        };
        let a = schedule(&events, &shape(7));
        assert_eq!(a, schedule(&events, &shape(7)), "same seed, same order");
        assert_ne!(
            a,
            schedule(&events, &shape(8)),
            "another seed, another order"
        );
        let ids: Vec<i64> = a.iter().map(|s| s.event_id).collect();
        assert_ne!(ids, (1..=50).collect::<Vec<_>>(), "the order changed");
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=50).collect::<Vec<_>>(), "each Event once");
        let times: Vec<u128> = a.iter().map(|s| s.at.as_millis()).collect();
        assert_eq!(times, (0..50).map(|i| i * 10).collect::<Vec<_>>());
    }

    #[test]
    fn a_schedule_holds_one_entry_per_event_however_many_repeats() {
        let events: Vec<(i64, Micros)> = (1..=10_000).map(|i| (i, i * MS)).collect();
        let shape = Shape {
            pace: Pace::Original { speed: 1.0 },
            repeat: 1000,
            ..Shape::default()
        };
        let schedule = Schedule::new(events, &shape).unwrap();
        assert_eq!(schedule.len(), MOST_SENDS);
        assert_eq!(schedule.events.len(), 10_000, "no entry per send");
        let mut slots = schedule.iter();
        assert_eq!(slots.len(), MOST_SENDS);
        let first: Vec<Slot> = slots.by_ref().take(1001).collect();
        assert_eq!(first[999].copy, 1000);
        assert_eq!((first[1000].event_id, first[1000].copy), (2, 1));
        assert_eq!(first[1000].at, Duration::from_millis(1));
        assert_eq!(slots.len(), MOST_SENDS - 1001);
    }

    #[test]
    fn more_sends_than_the_most_is_refused_with_what_to_do() {
        let events: Vec<(i64, Micros)> = (1..=10_001).map(|i| (i, 0)).collect();
        let shape = Shape {
            repeat: 1000,
            ..Shape::default()
        };
        let err = Schedule::new(events.clone(), &shape).unwrap_err();
        assert_eq!(
            err,
            "10001 Events sent 1000 times each are more than 10000000 replays in one batch: \
             narrow the filter or lower --repeat"
        );
        assert!(Schedule::new(events, &Shape::default()).is_ok());
    }

    #[test]
    fn nothing_to_send_is_an_empty_schedule() {
        let schedule = Schedule::new(Vec::new(), &Shape::default()).unwrap();
        assert!(schedule.is_empty());
        assert_eq!(schedule.iter().next(), None);
    }
}
