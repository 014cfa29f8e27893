//! Reference peers for `benches/relay.sh`: a minimal Target, and a plain hyper forwarding
//! proxy with no capture (the baseline the Relay path is compared with).
//!
//! `relay_bench_peers target 127.0.0.1:9000` answers every request `200 {"ok":true}`;
//! `relay_bench_peers proxy 127.0.0.1:9001 http://127.0.0.1:9000` forwards to it.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

type Resp = http::Response<Full<Bytes>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: relay_bench_peers target ADDR | proxy ADDR UPSTREAM_URL";
    let (mode, addr) = match (args.get(1), args.get(2)) {
        (Some(m), Some(a)) => (m.as_str(), a.parse::<SocketAddr>()?),
        _ => anyhow::bail!(usage),
    };
    let socket = tokio::net::TcpListener::bind(addr).await?;
    let upstream = args.get(3).cloned().unwrap_or_default();
    if mode == "proxy" && upstream.is_empty() {
        anyhow::bail!(usage);
    }
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build_http();
    println!("{mode} on {}", socket.local_addr()?);
    loop {
        let (stream, _) = socket.accept().await?;
        let _ = stream.set_nodelay(true);
        let (client, upstream, mode) = (client.clone(), upstream.clone(), mode.to_string());
        tokio::spawn(async move {
            let service = service_fn(move |req: http::Request<Incoming>| {
                let (client, upstream, mode) = (client.clone(), upstream.clone(), mode.clone());
                async move {
                    Ok::<_, Infallible>(match mode.as_str() {
                        "proxy" => forward(&client, &upstream, req).await,
                        _ => target(req).await,
                    })
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn target(req: http::Request<Incoming>) -> Resp {
    let _ = req.into_body().collect().await;
    http::Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"ok\":true}")))
        .unwrap_or_default()
}

async fn forward(
    client: &Client<HttpConnector, Incoming>,
    upstream: &str,
    req: http::Request<Incoming>,
) -> Resp {
    let (mut parts, body) = req.into_parts();
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(uri) = format!("{upstream}{pq}").parse() else {
        return bad_gateway();
    };
    parts.uri = uri;
    parts.headers.remove(http::header::HOST);
    match client.request(http::Request::from_parts(parts, body)).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            match body.collect().await {
                Ok(b) => http::Response::from_parts(parts, Full::new(b.to_bytes())),
                Err(_) => bad_gateway(),
            }
        }
        Err(_) => bad_gateway(),
    }
}

fn bad_gateway() -> Resp {
    let mut r = Resp::default();
    *r.status_mut() = http::StatusCode::BAD_GATEWAY;
    r
}
