//! `--register ayrshare[=ACTIONS]`: points Ayrshare's webhooks at the public URL. Lists first
//! and never breaks a webhook hooktap did not register (unless `--register-replace`, and then
//! restores it when hooktap stops, or at the next start if it died first); sends a signing
//! secret only when no webhook of the profile points elsewhere; re-registers a new tunnel URL;
//! unregisters what it registered when it stops. Errors are one line each; capture goes on.

use std::path::PathBuf;

use super::ayrshare::Api;
use super::listing::{self, Decision, Step};
use super::state::{self, State};
use crate::cmd::UsageError;
use crate::text::sanitize;

/// The path Ayrshare's webhooks are registered at, under the public URL.
pub const HOOK_PATH: &str = "/hooks/ayrshare";

/// How the secret was settled.
enum Secret {
    /// Sent with the first registrations; `made` when hooktap made and stored it.
    Send { secret: String, made: bool },
    /// Not sent, and why.
    Withheld(String),
}

/// Registrations with one Ayrshare account, from start to stop.
pub struct Registrar {
    api: Api,
    /// `None` when the list could not be had: nothing is registered.
    decision: Option<Decision>,
    secret: Secret,
    state: State,
    state_file: PathBuf,
    /// Actions registered, with the URL each replaced.
    held: Vec<(String, Option<String>)>,
    /// Whether a terminal UI owns the screen (later notices go to the log).
    pub quiet: bool,
}

/// Before anything listens: restores what a run that died had replaced, lists the account's
/// webhooks, decides per action, and settles the secret (made and stored if needed).
/// `configured` is the ayrshare secret hooktap already has (`--secret`, env, config file).
pub async fn prepare(
    actions: Vec<String>,
    replace: bool,
    configured: Option<String>,
) -> anyhow::Result<Registrar> {
    let key = std::env::var("AYRSHARE_API_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty());
    let Some(key) = key else {
        return Err(UsageError(
            "--register ayrshare needs your Ayrshare API key in AYRSHARE_API_KEY (the dashboard's \
             API Key page); AYRSHARE_PROFILE_KEY picks a User Profile"
                .into(),
        )
        .into());
    };
    let profile = std::env::var("AYRSHARE_PROFILE_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let api = Api::new(key.trim().to_string(), profile);
    let state_file = state::path();
    let mut state = State::load(&state_file)?;
    let mut registrar = Registrar {
        api,
        decision: None,
        secret: Secret::Withheld(String::new()),
        state: State::default(),
        state_file,
        held: Vec::new(),
        quiet: false,
    };
    for (action, old) in std::mem::take(&mut state.replaced) {
        // `old` came from Ayrshare's list, by way of the state file.
        let (what, to) = (sanitize(&action), sanitize(&old));
        match registrar.api.register(&action, &old, None).await {
            Ok(()) => eprintln!(
                "hooktap: restored Ayrshare's {what} webhook to {to} (hooktap stopped before it could)"
            ),
            Err(e) => {
                eprintln!(
                    "hooktap: could not restore Ayrshare's {what} webhook to {to}: {e}; will try at the next start"
                );
                state.replaced.insert(action, old);
            }
        }
    }
    registrar.state = state;
    registrar.save();
    let listed = match registrar.api.list().await {
        Ok(answer) => listing::parse(&answer).map_err(|shape| {
            format!(
                "could not read Ayrshare's list of webhooks (got {shape}), so it cannot tell \
                 whose they are"
            )
        }),
        Err(e) => Err(format!("could not list Ayrshare's webhooks: {e}")),
    };
    let listed = match listed {
        Ok(l) => l,
        Err(why) if e_is_fatal(&why) || !replace => {
            eprintln!("hooktap: {why}; nothing registered (listen goes on)");
            return Ok(registrar);
        }
        // --register-replace takes the actions anyway; what they pointed to is unknown.
        Err(why) => {
            eprintln!("hooktap: {why}; --register-replace registers anyway (nothing to restore)");
            Vec::new()
        }
    };
    let decision = listing::decide(&actions, &listed, &registrar.state.ours, replace);
    registrar.secret = if !decision.secret_ok(replace) {
        let why = match &decision.foreign {
            _ if replace => {
                "--register-replace never changes the profile's signing secret".to_string()
            }
            Some((action, url)) => format!(
                "its {action} webhook points to {url}, which hooktap did not register, and \
                 Ayrshare's secret is per profile (sending one would re-key that webhook too)"
            ),
            None => String::new(),
        };
        Secret::Withheld(why)
    } else if let Some(secret) = configured {
        Secret::Send {
            secret,
            made: false,
        }
    } else {
        let secret = state::new_secret()?;
        let file = crate::providers::secrets::config_path();
        state::store_secret(&file, &secret)?;
        Secret::Send { secret, made: true }
    };
    registrar.decision = Some(decision);
    Ok(registrar)
}

/// A 401 while listing: no call will do better, even with `--register-replace`.
fn e_is_fatal(why: &str) -> bool {
    why.contains("answered 401")
}

impl Registrar {
    /// Registers `public_url` + [`HOOK_PATH`] for every action decided so; prints what it did,
    /// one line per problem.
    pub async fn register(&mut self, public_url: &str, configured: bool) {
        let Some(decision) = &self.decision else {
            return;
        };
        let hook = format!("{}{HOOK_PATH}", public_url.trim_end_matches('/'));
        let secret = match &self.secret {
            Secret::Send { secret, .. } => Some(secret.clone()),
            Secret::Withheld(_) => None,
        };
        let mut done = Vec::new();
        for (action, step) in decision.steps.clone() {
            let old = match step {
                Step::Leave { url } => {
                    self.say(&format!(
                        "left Ayrshare's {action} webhook alone: it points to {url}, which \
                         hooktap did not register (--register-replace takes it over until hooktap stops)"
                    ));
                    continue;
                }
                Step::Register => None,
                Step::Replace { old } => {
                    // Kept before it is replaced, so a crash cannot lose it.
                    self.state.replaced.insert(action.clone(), old.clone());
                    self.save();
                    Some(old)
                }
            };
            match self.api.register(&action, &hook, secret.as_deref()).await {
                Ok(()) => {
                    done.push(action.clone());
                    self.held.push((action, old));
                }
                Err(e) => {
                    if old.is_some() {
                        self.state.replaced.remove(&action);
                        self.save();
                    }
                    if e.bad_key() {
                        self.say(&format!("Ayrshare refused the API key ({e}): check AYRSHARE_API_KEY; nothing registered"));
                        break;
                    }
                    self.say(&format!("skipped Ayrshare's {action} webhook: {e}"));
                }
            }
        }
        self.state.add_ours(&hook);
        self.save();
        if done.is_empty() {
            return;
        }
        self.say_start(&format!("registered {hook} for {}", done.join(", ")));
        let secret_line = match &self.secret {
            Secret::Send { made: true, .. } => format!(
                "a new signing secret was sent to Ayrshare and stored in {}; signatures are checked with it",
                crate::providers::secrets::config_path().display()
            ),
            Secret::Send { made: false, .. } => {
                "your configured ayrshare secret was sent to Ayrshare; signatures are checked with it".into()
            }
            Secret::Withheld(why) if configured => {
                format!("no signing secret sent: {why}; signatures are checked with your configured secret")
            }
            Secret::Withheld(why) => format!(
                "no signing secret sent: {why}; signatures are not checked (no ayrshare secret configured)"
            ),
        };
        self.say_start(&secret_line);
        // The secret went with the first round; a new URL later needs none.
        if let Secret::Send { .. } = self.secret {
            self.secret = Secret::Withheld("it was set at start".into());
        }
    }

    /// Points every action held at a new tunnel URL.
    pub async fn reregister(&mut self, public_url: &str) {
        let hook = format!("{}{HOOK_PATH}", public_url.trim_end_matches('/'));
        let mut done = Vec::new();
        for (action, _) in self.held.clone() {
            match self.api.register(&action, &hook, None).await {
                Ok(()) => done.push(action),
                Err(e) => self.say(&format!(
                    "could not re-register Ayrshare's {action} webhook: {e}"
                )),
            }
        }
        self.state.add_ours(&hook);
        self.save();
        if !done.is_empty() {
            self.say(&format!("re-registered {hook} for {}", done.join(", ")));
        }
    }

    /// When hooktap stops: each replaced URL restored, each other action unregistered.
    pub async fn restore(&mut self) {
        for (action, old) in std::mem::take(&mut self.held) {
            // The restored URLs came from Ayrshare's list: shown through crate::text.
            let what = sanitize(&action).into_owned();
            match old {
                Some(old) => match self.api.register(&action, &old, None).await {
                    Ok(()) => {
                        self.state.replaced.remove(&action);
                        let to = sanitize(&old);
                        eprintln!("hooktap: restored Ayrshare's {what} webhook to {to}");
                    }
                    Err(e) => eprintln!(
                        "hooktap: could not restore Ayrshare's {what} webhook to {}: {e}; \
                         the next start tries again",
                        sanitize(&old)
                    ),
                },
                None => {
                    if let Err(e) = self.api.unregister(&action).await {
                        eprintln!("hooktap: could not unregister Ayrshare's {what} webhook: {e}");
                    }
                }
            }
        }
        self.save();
    }

    fn save(&self) {
        if let Err(e) = self.state.save(&self.state_file) {
            eprintln!("hooktap: {e:#}");
        }
    }

    /// A start-up line (indented, like the others).
    fn say_start(&self, text: &str) {
        // A line may quote Ayrshare's answers (URLs, messages): one line, no controls.
        let text = sanitize(text);
        if self.quiet {
            tracing::warn!("{text}");
        } else {
            eprintln!("  {text}");
        }
    }

    /// A notice: stderr, or the log while the TUI owns the screen.
    fn say(&self, text: &str) {
        let text = sanitize(text);
        if self.quiet {
            tracing::warn!("{text}");
        } else {
            eprintln!("hooktap: {text}");
        }
    }
}
