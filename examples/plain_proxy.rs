//! Benchmark reference: a plain hyper forwarding proxy with no capture (hyper's gateway
//! pattern: pooled client, streamed bodies). Usage: `plain_proxy TARGET_ADDR [PORT]`; prints its
//! own address on stdout.

use std::convert::Infallible;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("usage: plain_proxy TARGET_ADDR [PORT]");
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{}", listener.local_addr()?);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build_http();
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let client = client.clone();
        let target = target.clone();
        tokio::spawn(async move {
            let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                let client = client.clone();
                let uri = format!(
                    "http://{target}{}",
                    req.uri()
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/")
                );
                async move {
                    *req.uri_mut() = uri.parse().unwrap();
                    req.headers_mut().remove("host");
                    let resp = match client.request(req).await {
                        Ok(r) => r.map(http_body_util::Either::Left),
                        Err(_) => hyper::Response::builder()
                            .status(502)
                            .body(http_body_util::Either::Right(http_body_util::Empty::new()))
                            .unwrap(),
                    };
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
