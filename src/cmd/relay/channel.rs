//! `hooktap relay channel add|list|remove|rotate`: the Relay's Channels and their tokens, on
//! the Relay's database (a running Relay notices within a second).

use std::path::Path;

use super::ChannelCommand;
use crate::cmd::UsageError;
use crate::config::format_size;
use crate::event::Micros;
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
    println!(
        "{:<24} {:<19}  {:<19}  {:>7}  {:>9}  {:>14}",
        "CHANNEL", "CREATED", "LAST SEEN", "QUEUED", "TOO LARGE", "AGENT MAX BODY"
    );
    for r in rows {
        println!(
            "{:<24} {:<19}  {:<19}  {:>7}  {:>9}  {:>14}",
            r.name,
            when(Some(r.created_at)),
            when(r.last_seen),
            r.queued,
            r.too_large,
            r.agent_max_body.map_or("-".into(), format_size)
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
