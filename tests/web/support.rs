//! A `listen` with its inspector on a free port, and a small HTTP client for its API.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::common::{Behaviour, Binary, TestTarget};

/// `listen` with `--inspect 127.0.0.1:0`, its Target, and the inspector's address and token.
pub struct Inspected {
    pub listen: Binary,
    pub target: TestTarget,
    pub db: PathBuf,
    pub base: String,
    pub token: String,
    _dir: tempfile::TempDir,
}

impl Inspected {
    pub async fn start() -> Inspected {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.db");
        let target = TestTarget::start(Behaviour::Status(200)).await;
        let listen = Binary::listen(&db, &target.url(), &["--inspect", "127.0.0.1:0"]);
        let base = crate::common::eventually(Duration::from_secs(10), || {
            listen
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| l.trim().strip_prefix("inspector: ").map(str::to_string))
        })
        .await;
        let runtime = dir.path().join("events.db.runtime.json");
        let token = crate::common::eventually(Duration::from_secs(10), || {
            let text = std::fs::read(&runtime).ok()?;
            let v: serde_json::Value = serde_json::from_slice(&text).ok()?;
            // `listen` writes the port first, then the inspector adds its fields.
            if v["inspector"].as_str() != Some(base.as_str()) {
                return None;
            }
            v["inspector_token"].as_str().map(str::to_string)
        })
        .await;
        Inspected {
            listen,
            target,
            db,
            base,
            token,
            _dir: dir,
        }
    }

    /// Posts a webhook to `listen` and waits until it is stored with its Delivery.
    pub async fn webhook(&self, path: &str, body: &str) -> i64 {
        let (status, _, _) = crate::common::post(
            &self.listen.url(path),
            &[("content-type", b"application/json")],
            body.as_bytes().to_vec(),
        )
        .await;
        assert_eq!(status, 200);
        let out = crate::common::ok_on(&self.db, &["list", "--json", "-n", "1"]);
        let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        v["id"].as_i64().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (u16, Vec<(String, String)>, Bytes) {
        request("GET", &self.url(path), &[], Bytes::new()).await
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, _, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// A POST as the page makes it: the token and a same-origin `Origin`.
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let origin = self.base.clone();
        let headers = [
            ("x-hooktap-token", self.token.as_str()),
            ("origin", origin.as_str()),
        ];
        let (status, _, body) = request(
            "POST",
            &self.url(path),
            &headers,
            Bytes::from(body.to_string()),
        )
        .await;
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// One request with hyper's client.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> (u16, Vec<(String, String)>, Bytes) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = client
        .request(req.body(Full::new(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    (
        status,
        headers,
        resp.into_body().collect().await.unwrap().to_bytes(),
    )
}

/// Reads an SSE stream until its text contains `want` (or 10 s pass); returns the text so far.
pub async fn sse_until(
    url: &str,
    last_id: Option<&str>,
    want: &str,
    mut then: impl AsyncFnMut(),
) -> String {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = hyper::Request::get(url);
    if let Some(id) = last_id {
        req = req.header("last-event-id", id);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut text = String::new();
    // The first frame (`retry:`) says the stream is open: then the caller acts.
    let first = body.frame().await.unwrap().unwrap();
    text.push_str(&String::from_utf8_lossy(first.data_ref().unwrap()));
    then().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains(want) {
        let frame = tokio::time::timeout_at(deadline, body.frame()).await;
        let Ok(Some(Ok(frame))) = frame else {
            panic!("the stream never said {want:?}; it said {text:?}");
        };
        if let Some(d) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(d));
        }
    }
    text
}
