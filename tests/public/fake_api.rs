//! A fake Ayrshare webhook API: checks the bearer key, records every call, keeps the
//! registrations, answers like the reference (docs/public-url.md), and refuses `comments` as a
//! plan without it would.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The key the fake accepts.
pub const KEY: &str = "test-key-9f8e7d";

/// One call as the fake saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub profile: Option<String>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeApi {
    pub addr: SocketAddr,
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub hooks: Arc<Mutex<BTreeMap<String, String>>>,
}

impl FakeApi {
    /// Starts with these registrations already in the account.
    pub async fn start(existing: &[(&str, &str)]) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeApi {
            addr: listener.local_addr().unwrap(),
            calls: Arc::default(),
            hooks: Arc::new(Mutex::new(
                existing
                    .iter()
                    .map(|(a, u)| (a.to_string(), u.to_string()))
                    .collect(),
            )),
        };
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let f = f.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let f = f.clone();
                        async move { Ok::<_, std::io::Error>(f.answer(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        fake
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The calls of `method` so far.
    pub fn calls(&self, method: &str) -> Vec<Call> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    async fn answer(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<Full<Bytes>> {
        let reply = |status: u16, body: Value| {
            let mut r = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
            *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
            r
        };
        let auth = req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string());
        let profile = req
            .headers()
            .get("profile-key")
            .map(|v| v.to_str().unwrap().to_string());
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let bytes = req.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        self.calls.lock().unwrap().push(Call {
            method: method.clone(),
            body: body.clone(),
            profile,
        });
        if path != "/api/hook/webhook" {
            return reply(404, json!({"status": "error", "message": "not found"}));
        }
        if auth.as_deref() != Some(&format!("Bearer {KEY}")) {
            return reply(
                401,
                json!({"action": "authorize", "status": "error", "code": 102, "message": "API Key not valid."}),
            );
        }
        let action = body["action"].as_str().unwrap_or_default().to_string();
        match method.as_str() {
            "GET" => {
                let hooks = self.hooks.lock().unwrap();
                let list: Vec<Value> = hooks
                    .iter()
                    .map(|(a, u)| json!({"action": a, "url": u}))
                    .collect();
                reply(200, json!({"status": "success", "webhooks": list}))
            }
            "POST" if action == "comments" => reply(
                403,
                json!({"action": "webhook", "status": "error", "code": 176, "message": "Webhooks for comments are not available on your plan."}),
            ),
            "POST" => {
                let url = body["url"].as_str().unwrap_or_default().to_string();
                assert!(
                    url.starts_with("https://"),
                    "Ayrshare takes https only: {url}"
                );
                self.hooks
                    .lock()
                    .unwrap()
                    .insert(action.clone(), url.clone());
                reply(
                    200,
                    json!({"status": "success", "action": action, "url": url, "refId": "ref1"}),
                )
            }
            "DELETE" => {
                self.hooks.lock().unwrap().remove(&action);
                reply(200, json!({"status": "success", "action": action}))
            }
            _ => reply(405, json!({"status": "error"})),
        }
    }
}
