//! `replay --check`: re-send the matching Events in arrival order, compare each new answer with
//! the recorded one, print a diff per Event that changed, and fail (exit 1) if any did.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::Args;
use crate::forward::Forwarder;
use crate::replay::check::{Spec, differences, recorded};
use crate::replay::{self, Options};
use crate::store::{Durability, Reader, Store};
use crate::text::sanitize;

/// Runs the check over `events` (ids and arrival times, oldest first).
pub fn run(
    args: &Args,
    reader: &Reader,
    path: &Path,
    events: &[(i64, crate::event::Micros)],
    spec: Spec,
    options: Options,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = Store::open(path, Durability::Normal)?;
    let writer = store.writer();
    let forwarder = Forwarder::new(args.timeout, args.max_response as usize);
    let mut out = std::io::stdout().lock();
    let (mut same, mut changed, mut unchecked) = (0, 0, 0);
    for &(id, _) in events {
        let deliveries = reader.deliveries(id)?;
        let Some(before) = recorded(&deliveries).map(|d| d.result.clone()) else {
            unchecked += 1;
            writeln!(out, "#{id}: no recorded answer to compare with; skipped")?;
            continue;
        };
        let plan = replay::plan(reader, id, args.to.as_ref())?;
        let url = plan.url();
        let done = runtime.block_on(replay::send(&writer, &forwarder, plan, &options))?;
        let diff = differences(&before, &done.result, &spec);
        if diff.is_empty() {
            same += 1;
            writeln!(out, "#{id}: same ({})", sanitize(&url))?;
        } else {
            changed += 1;
            writeln!(out, "#{id}: changed ({})", sanitize(&url))?;
            for line in diff {
                writeln!(out, "  {line}")?;
            }
        }
    }
    drop(runtime);
    drop(writer);
    store.close();
    writeln!(
        out,
        "checked {}: {same} same, {changed} changed, {unchecked} without a recorded answer",
        same + changed
    )?;
    if changed > 0 {
        anyhow::bail!("{changed} answer(s) changed (see the diffs above)");
    }
    Ok(())
}
