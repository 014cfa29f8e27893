//! The inspector's HTTP server: connections, the guard, and which handler answers which path.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::guard::{COOKIE, Refusal};
use super::query::Query;
use super::reply::{self, Reply};
use super::{Ctx, actions, api, assets, stream};

/// The largest request body accepted (an edited request).
const MAX_REQUEST: usize = 26 << 20;
/// How long open streams get to end at shutdown.
const DRAIN: Duration = Duration::from_secs(2);

/// Accepts connections until `stop`.
pub async fn serve(socket: TcpListener, ctx: Arc<Ctx>, stop: CancellationToken) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, _) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = socket.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!("inspector accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let ctx = ctx.clone();
        let service = service_fn(move |req| {
            let ctx = ctx.clone();
            async move { Ok::<_, Infallible>(route(ctx, req).await) }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10))
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(socket);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

async fn route(ctx: Arc<Ctx>, req: Request<Incoming>) -> Reply {
    if let Err(refusal) = ctx.guard.check(&req) {
        return refused(&ctx, refusal, &req);
    }
    let path = req.uri().path().to_string();
    let q = Query::parse(req.uri().query().unwrap_or_default());
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let id = |s: &str| s.parse::<i64>().ok();
    match (req.method().clone(), parts.as_slice()) {
        (Method::GET, [""]) => assets::index(&ctx.guard.csrf),
        (Method::GET, ["assets", name]) => assets::file(name),
        (Method::GET, ["login"]) => assets::login(q.get("wrong").is_some()),
        (Method::POST, ["login"]) => login(&ctx, req).await,
        (Method::GET, ["api", "events"]) => api::list(&ctx, &q).await,
        (Method::GET, ["api", "events", n]) if id(n).is_some() => {
            api::show(&ctx, id(n).unwrap_or_default()).await
        }
        (Method::GET, ["api", "events", n, what]) if id(n).is_some() => {
            let n = id(n).unwrap_or_default();
            match *what {
                "curl" => api::curl(&ctx, n).await,
                "body" => api::body(&ctx, n).await,
                "diff" => api::diff(&ctx, n, &q).await,
                _ => not_found(),
            }
        }
        (Method::POST, ["api", "events", n, "replay"]) if id(n).is_some() => {
            let n = id(n).unwrap_or_default();
            match Limited::new(req.into_body(), MAX_REQUEST).collect().await {
                Ok(body) => actions::replay_event(&ctx, n, body.to_bytes()).await,
                Err(_) => reply::error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request body is too large or was cut off",
                ),
            }
        }
        (Method::GET, ["api", "export"]) => api::export(&ctx, &q).await,
        (Method::GET, ["api", "stream"]) => {
            let last = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| q.get("last_event_id"));
            stream::stream(&ctx, &q, last.as_deref()).await
        }
        (_, ["api", ..]) => reply::error(
            StatusCode::NOT_FOUND,
            format!("no such API call: {} {path}", req.method()),
        ),
        _ => not_found(),
    }
}

fn not_found() -> Reply {
    reply::bytes(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "not found",
    )
}

fn refused<B>(ctx: &Ctx, refusal: Refusal, req: &Request<B>) -> Reply {
    match refusal {
        Refusal::Host => reply::bytes(
            StatusCode::FORBIDDEN,
            "text/plain; charset=utf-8",
            format!(
                "hooktap inspector: this Host is not the inspector's address (a DNS rebinding \
                 guard): open http://{} or start hooktap with --inspect-host NAME\n",
                ctx.guard.bound
            ),
        ),
        Refusal::Login if !req.uri().path().starts_with("/api/") => {
            let mut r = reply::bytes(
                StatusCode::SEE_OTHER,
                "text/plain; charset=utf-8",
                "log in first\n",
            );
            r.headers_mut()
                .insert(header::LOCATION, HeaderValue::from_static("/login"));
            r
        }
        Refusal::Login => reply::error(
            StatusCode::UNAUTHORIZED,
            "this inspector needs its token: send Authorization: Bearer TOKEN (hooktap printed \
             it at start)",
        ),
        Refusal::Csrf(why) => reply::error(
            StatusCode::FORBIDDEN,
            format!(
                "refused: {why}; the page sends the token itself, a script reads it from the \
                 runtime file beside the Store (inspector_token)"
            ),
        ),
    }
}

/// `POST /login` with `token=...`: sets the access cookie, or shows the page again.
async fn login(ctx: &Ctx, req: Request<Incoming>) -> Reply {
    let body = match Limited::new(req.into_body(), 4096).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return reply::error(StatusCode::PAYLOAD_TOO_LARGE, "the login form is too large");
        }
    };
    let token = Query::parse(&String::from_utf8_lossy(&body))
        .get("token")
        .unwrap_or_default();
    let ok = ctx.guard.access.is_some() && ctx.guard.access_ok(token.trim());
    let mut r = reply::bytes(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    let to = if ok { "/" } else { "/login?wrong=1" };
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    if ok
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
            token.trim()
        ))
    {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
