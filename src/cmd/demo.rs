//! `hooktap demo`: the whole product in one command. Starts `listen` on a free port in front of
//! a built-in sample app (200, and 500 on one path), fires a short story of signed Ayrshare
//! events at it (a post, its TikTok follow-up, a failure, an unlink and its retry, a tampered
//! signature), and prints what hooktap makes of them until Ctrl-C.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming as HyperBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::capture::{Capture, Respond};
use crate::cmd::stop_on_signal;
use crate::forward::{Forwarder, Target};
use crate::lines;
use crate::listener::{self, Limits};
use crate::providers::Providers;
use crate::store::{Change, Durability, Store};
use crate::trigger;

/// The Ayrshare secret the demo signs with and checks against.
pub const DEMO_SECRET: &str = "hooktap-demo-secret";
/// The sample app answers 500 on paths ending with this ("your messages handler crashed").
const FAILING_PATH: &str = "/messages";

/// See hooktap at work in one command: a sample app, signed Ayrshare events, live output.
///
/// Examples:
///   hooktap demo                  # q (or Ctrl-C) ends it
///   hooktap demo --for 30s --no-tui
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Port for the demo's listener (0 picks a free one)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Keep the demo's Store in this file (default: a temporary one, deleted at the end)
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Print one line per Delivery instead of the terminal UI
    #[arg(long)]
    pub no_tui: bool,
    /// Print one JSON object per Delivery
    #[arg(long)]
    pub json: bool,
    /// End the demo by itself after this long (e.g. 30s); by default q or Ctrl-C ends it
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::config::parse_positive_duration)]
    pub run_for: Option<Duration>,
    /// The demo's inspector takes a free port unless --inspect says where
    #[command(flatten)]
    pub inspect: crate::web::InspectArgs,
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let (db, temp_dir) = match &args.db {
        Some(path) => (path.clone(), None),
        None => {
            let dir =
                std::env::temp_dir().join(format!("hooktap-demo-{}", crate::event::new_uid()));
            (dir.join("events.db"), Some(dir))
        }
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let app_socket = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .context("cannot start the demo's sample app")?;
    let app_url = format!("http://{}", app_socket.local_addr()?);
    let app = tokio::spawn(sample_app(app_socket, shutdown.clone()));

    let store = Store::open(&db, Durability::Normal)?;
    let forwarder = Arc::new(Forwarder::new(Duration::from_secs(9), 25 << 20));
    let providers = Providers::new([("ayrshare".to_string(), DEMO_SECRET.to_string())]);
    let target = Target::parse(&app_url).map_err(anyhow::Error::msg)?;
    let capture = Arc::new(Capture::new(
        store.writer(),
        forwarder.clone(),
        target.clone(),
        Respond::Passthrough,
        providers.clone(),
    ));
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let socket = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: pick another port with --port"))?;
    let base = format!("http://{}", socket.local_addr()?);
    eprintln!("hooktap demo: listening on {base}, forwarding to a sample app at {app_url}");
    eprintln!("  (the sample app answers 200, and 500 on paths ending in {FAILING_PATH})");
    eprintln!("  Store: {}", db.display());
    match args.run_for {
        Some(d) => eprintln!("  ends by itself in {}", crate::forward::humantime(d)),
        None => eprintln!("  q in the UI, or Ctrl-C, ends it"),
    }
    if let Some(d) = args.run_for {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            shutdown.cancel();
        });
    }
    let inspector = crate::web::beside(
        &crate::web::InspectArgs {
            inspect: args
                .inspect
                .inspect
                .or(Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))),
            ..args.inspect.clone()
        },
        crate::web::Setup {
            db: db.clone(),
            writer: store.writer(),
            bus: Some(store.bus()),
            poll: false,
            forwarder: forwarder.clone(),
            providers: providers.clone(),
            redact: Default::default(),
            runtime_port: None,
            shutdown: shutdown.clone(),
        },
    )
    .await?;
    let tui = !args.no_tui && !args.json && crate::cmd::stdout_is_terminal();
    let printer = (!tui).then(|| tokio::spawn(print(store.subscribe(), args.json)));
    let (note, note_rx) =
        tokio::sync::watch::channel("sending signed Ayrshare events…".to_string());
    let screen = tui.then(|| {
        tokio::spawn(crate::tui::run(crate::tui::Setup {
            db: db.clone(),
            title: "demo".into(),
            ingress: vec![base.clone()],
            target: Some(target),
            bus: Some(store.subscribe()),
            writer: store.writer(),
            forwarder,
            providers,
            redact: Default::default(),
            poll_store: false,
            lines: vec![crate::tui::StatusLine {
                label: "demo".into(),
                text: note_rx,
            }],
            shutdown: shutdown.clone(),
        }))
    });
    let server = tokio::spawn(listener::serve(
        socket,
        None,
        capture.clone(),
        Limits::default(),
        shutdown.clone(),
    ));

    let sent = story(&base, &shutdown).await;
    if tui {
        let _ = note.send(format!(
            "{sent} sample events sent · Enter shows one · r replays · / filters · ? keys · q ends"
        ));
    } else if !shutdown.is_cancelled() {
        eprintln!(
            "hooktap demo: {sent} sample events sent. Send more with\n  hooktap trigger ayrshare \
             --list\n  hooktap trigger ayrshare social-unlink --to {base}/hooks/ayrshare --secret \
             {DEMO_SECRET}\nand look closer with `hooktap show ID --db {}`. Ctrl-C ends the demo.",
            db.display()
        );
    }
    shutdown.cancelled().await;
    let _ = server.await;
    let _ = app.await;
    if let Some(i) = inspector {
        i.finish().await;
    }
    let screen = match screen {
        Some(s) => crate::tui::joined(s.await),
        None => Ok(()),
    };
    drop(capture);
    store.close();
    if let Some(p) = printer {
        let _ = p.await;
    }
    match temp_dir {
        Some(dir) => {
            let _ = std::fs::remove_dir_all(&dir);
            eprintln!(
                "hooktap demo stopped; its Store {} was removed (`hooktap demo --db PATH` keeps one)",
                db.display()
            );
        }
        None => eprintln!(
            "hooktap demo stopped; the Store {} keeps its Events",
            db.display()
        ),
    }
    screen
}

/// One step of the story: a sample, where it goes, and what is special about it.
struct Step {
    sample: &'static str,
    path: &'static str,
    set_post: bool,
    twice: bool,
    tamper: bool,
}

const fn step(sample: &'static str) -> Step {
    Step {
        sample,
        path: "/hooks/ayrshare",
        set_post: false,
        twice: false,
        tamper: false,
    }
}

const STORY: &[Step] = &[
    step("social-link"),
    Step {
        set_post: true,
        ..step("scheduled")
    },
    Step {
        set_post: true,
        ..step("tiktok-published")
    },
    step("scheduled-error"),
    Step {
        twice: true,
        ..step("social-unlink")
    },
    Step {
        path: "/hooks/ayrshare/messages",
        ..step("message")
    },
    step("message-read-facebook"),
    Step {
        tamper: true,
        ..step("comments")
    },
    step("batch"),
];

/// Sends the story's events in order, a moment apart so a person can follow. Returns how many
/// requests were sent.
async fn story(base: &str, shutdown: &CancellationToken) -> usize {
    let forwarder = Forwarder::new(Duration::from_secs(15), 1 << 20);
    let post = format!("demo{}", &crate::event::new_uid()[16..]);
    let mut sent = 0;
    for step in STORY {
        tokio::select! {
            _ = shutdown.cancelled() => return sent,
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        let Some(sample) = trigger::sample(step.sample) else {
            continue;
        };
        let sets = if step.set_post {
            vec![("id".to_string(), post.clone())]
        } else {
            Vec::new()
        };
        let now = chrono::Utc::now();
        let Ok(mut body) = trigger::render(sample, &sets, now) else {
            continue;
        };
        let headers = trigger::headers(&body, Some(DEMO_SECRET), now.timestamp());
        if step.tamper {
            // Changed after signing, as a proxy rewriting the body would.
            body.extend_from_slice(b"\n");
        }
        let url = format!("{base}{}", step.path);
        let times = if step.twice { 2 } else { 1 };
        for _ in 0..times {
            match trigger::send(&forwarder, &url, headers.clone(), body.clone()).await {
                Ok(_) => sent += 1,
                Err(e) => tracing::warn!("hooktap demo: {} not sent: {e}", step.sample),
            }
        }
    }
    sent
}

/// The log line of each finished Delivery, with what hooktap understood of the Event.
async fn print(mut bus: broadcast::Receiver<Change>, json: bool) {
    use std::io::Write;
    loop {
        match bus.recv().await {
            Ok(Change::Delivery { summary, error, .. }) => {
                let line = if json {
                    crate::text::to_json_string(&*summary)
                } else {
                    let mut line = lines::text_line(&summary, error.as_deref());
                    if let Some(s) = &summary.summary {
                        line.push_str(&format!("\n    {s}"));
                    }
                    line
                };
                let mut out = std::io::stdout().lock();
                if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                    return;
                }
            }
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

/// The built-in sample app: `200 {"received":true}`, or `500` on paths ending in
/// [`FAILING_PATH`].
async fn sample_app(listener: TcpListener, shutdown: CancellationToken) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        tokio::spawn(async move {
            let service = service_fn(answer);
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(req: Request<HyperBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    let failing = req.uri().path().ends_with(FAILING_PATH);
    let _ = req.into_body().collect().await;
    let (status, body) = if failing {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"TypeError: Cannot read properties of undefined (reading 'senderDetails')"}"#,
        )
    } else {
        (StatusCode::OK, r#"{"received":true}"#)
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
