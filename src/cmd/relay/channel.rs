//! `hooktap relay channel add|list|remove|rotate`: the Relay's Channels and their tokens, on
//! the Relay's database (a running Relay notices within a second).

use std::path::Path;

use super::ChannelCommand;
use crate::cmd::UsageError;
use crate::config::format_size;
use crate::event::{Micros, now_micros};
use crate::tunnel::hub::STATUS_EVERY;
use crate::tunnel::protocol::{self, CHANNEL_PREFIX};
use crate::tunnel::relay_store::{self, ChannelRow};

/// Runs one `relay channel` command on the database at `path`.
pub(super) fn run(command: &ChannelCommand, path: &Path) -> anyhow::Result<()> {
    // Only `add` (or the Relay itself) makes a database: a mistyped --db must not quietly
    // manage an empty one.
    if !matches!(command, ChannelCommand::Add { .. }) && !path.exists() {
        anyhow::bail!(
            "no relay database at {} yet: `hooktap relay channel add NAME` makes one, or pass the Relay's --db (or $HOOKTAP_RELAY_DB)",
            path.display()
        );
    }
    let mut conn = relay_store::open(path)?;
    let checked = |name: &str| {
        protocol::check_channel_name(name).map_err(|m| anyhow::Error::new(UsageError(m)))
    };
    match command {
        ChannelCommand::Add { name } => {
            checked(name)?;
            let token = protocol::new_token()?;
            if !relay_store::add_channel(&conn, name, &protocol::token_hash(&token))? {
                anyhow::bail!(
                    "channel {name} exists already: `hooktap relay channel rotate {name}` gives it a new token"
                );
            }
            println!("{token}");
            eprintln!(
                "channel {name} added; its token (above) is shown only this once. On your machine:"
            );
            eprintln!(
                "  hooktap listen --relay https://<this relay> --channel {name} --token <token> --forward http://localhost:3000"
            );
            eprintln!("Providers post to https://<this relay>{CHANNEL_PREFIX}{name}/<any path>");
        }
        ChannelCommand::Rotate { name } => {
            checked(name)?;
            let token = protocol::new_token()?;
            if !relay_store::rotate_channel(&conn, name, &protocol::token_hash(&token))? {
                anyhow::bail!("no channel named {name}: `hooktap relay channel list` shows them");
            }
            println!("{token}");
            eprintln!(
                "channel {name} has a new token (above, shown once); the old one stops working within a second, and an Agent using it is disconnected"
            );
        }
        ChannelCommand::Remove { name } => {
            checked(name)?;
            match relay_store::remove_channel(&mut conn, name)? {
                None => anyhow::bail!(
                    "no channel named {name}: `hooktap relay channel list` shows them"
                ),
                Some(dropped) => eprintln!(
                    "channel {name} removed; its token stops working within a second ({dropped} waiting Events dropped)"
                ),
            }
        }
        ChannelCommand::List => print_channels(&relay_store::channels(&conn)?),
    }
    Ok(())
}

fn print_channels(rows: &[ChannelRow]) {
    let when = |t: Option<Micros>| match t.and_then(chrono::DateTime::from_timestamp_micros) {
        Some(t) => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => "never".into(),
    };
    let now = now_micros();
    println!(
        "{:<24}  {:<26}  {:>7}  {:>7}  {:>9}  {:>7}  {:>14}  {:<19}  {:>14}  CREATED",
        "CHANNEL",
        "AGENT",
        "QUEUED",
        "OLDEST",
        "TOO LARGE",
        "REFUSED",
        "AGENTS REFUSED",
        "LAST SEEN",
        "AGENT MAX BODY",
    );
    for r in rows {
        println!(
            "{:<24}  {:<26}  {:>7}  {:>7}  {:>9}  {:>7}  {:>14}  {:<19}  {:>14}  {}",
            r.name,
            agent_state(r.agent.is_some(), r.last_seen, now),
            r.queued,
            r.oldest_queued.map_or("-".into(), |t| age(now - t)),
            r.too_large,
            r.refused,
            r.agents_refused,
            when(r.last_seen),
            r.agent_max_body.map_or("-".into(), format_size),
            when(Some(r.created_at)),
        );
    }
    for r in rows.iter().filter(|r| r.too_large > 0) {
        eprintln!(
            "channel {}: {} queued (acknowledged to the sender) larger than its Agent's --max-body; delivered once the Agent runs with a larger --max-body",
            r.name,
            crate::tunnel::events(r.too_large)
        );
    }
}

/// The AGENT column: `connected (seen 3 s ago)` while the running Relay keeps noting it (every
/// [`STATUS_EVERY`]); `unknown` when it noted an Agent but has said nothing for six times that
/// (the Relay was killed or hangs); else `no`.
fn agent_state(connected: bool, last_seen: Option<Micros>, now: Micros) -> String {
    let since = last_seen.map(|t| now.saturating_sub(t));
    let stale = (STATUS_EVERY * 6).as_micros() as i64;
    match (connected, since) {
        (false, _) => "no".into(),
        (true, Some(s)) if s <= stale => format!("connected (seen {} ago)", age(s)),
        (true, Some(s)) => format!("unknown (relay silent {})", age(s)),
        (true, None) => "unknown".into(),
    }
}

/// `4 s`, `12 min`, `3 h`, `2 d`: how long ago, roughly.
fn age(micros: Micros) -> String {
    let s = (micros.max(0) / 1_000_000) as u64;
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_states_and_ages() {
        let now = 1_000_000_000_000;
        let ago = |s: i64| Some(now - s * 1_000_000);
        assert_eq!(agent_state(true, ago(3), now), "connected (seen 3 s ago)");
        assert_eq!(agent_state(true, ago(29), now), "connected (seen 29 s ago)");
        assert_eq!(
            agent_state(true, ago(600), now),
            "unknown (relay silent 10 min)"
        );
        assert_eq!(agent_state(false, ago(3), now), "no");
        assert_eq!(agent_state(true, None, now), "unknown");
        assert_eq!(age(-5), "0 s");
        assert_eq!(age(7_200_000_000), "2 h");
        assert_eq!(age(3 * 86_400_000_000), "3 d");
    }
}
