//! The page in a real browser: headless Chromium through chromedriver (WebDriver, fantoccini).
//! Webhooks appear without a reload; filter and its errors; a detail; replay and edit; hostile
//! bodies stay text. CI installs `chromium` and `chromium-driver` and sets
//! HOOKTAP_REQUIRE_CHROMIUM, so there a missing browser fails the test instead of skipping it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::Inspected;

const WAIT: Duration = Duration::from_secs(15);

/// chromedriver on a free port, stopped on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Option<Driver> {
        let found = ["chromedriver", "chromium"].iter().all(|tool| {
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        });
        if !found && std::env::var_os("HOOKTAP_REQUIRE_CHROMIUM").is_some() {
            panic!(
                "chromium and chromedriver are required here (HOOKTAP_REQUIRE_CHROMIUM is set) but not installed"
            );
        }
        if !found {
            eprintln!(
                "SKIPPED: chromium/chromedriver are not installed, so the page was not tested in a browser"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        Some(Driver {
            child,
            port,
            _profile: tempfile::tempdir().unwrap(),
        })
    }

    async fn client(&self) -> Client {
        let mut caps = serde_json::Map::new();
        let profile = format!("--user-data-dir={}", self._profile.path().display());
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                              "--window-size=1400,860", profile] }),
        );
        let url = format!("http://127.0.0.1:{}", self.port);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => return c,
                Err(e) if tokio::time::Instant::now() > deadline => panic!("chromedriver: {e}"),
                // chromedriver is still starting: its port is not open yet.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn text_appears(c: &Client, xpath: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath} never appeared: {e}"));
}

async fn run(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.unwrap()
}

#[tokio::test]
async fn the_page_follows_filters_replays_and_keeps_hostile_data_as_text() {
    let Some(driver) = Driver::start() else {
        return;
    };
    let h = Inspected::start().await;
    h.webhook("/hooks/first", r#"{"order":{"id":7,"items":[1,2]}}"#)
        .await;
    let c = driver.client().await;
    c.goto(&h.base).await.unwrap();
    text_appears(&c, "//td[text()='/hooks/first']").await;
    text_appears(&c, "//span[@id='live' and text()='live']").await;

    // Live: posted after the page loaded, shown without a reload.
    h.webhook("/hooks/live", r#"{"n":1}"#).await;
    text_appears(&c, "//td[text()='/hooks/live']").await;

    // Hostile data stays text and runs nothing.
    let hostile = r#"{"img":"<img src=x onerror=\"document.title='pwned';window.pwned=1\">","end":"</script><script>window.pwned=2</script>","link":"javascript:window.pwned=3"}"#;
    let evil_url = h.listen.url("/hooks/evil");
    let evil = crate::common::post(
        &evil_url,
        &[
            ("content-type", b"application/json"),
            ("x-evil", b"<img src=x onerror=window.pwned=4>"),
        ],
        hostile.as_bytes().to_vec(),
    );
    assert_eq!(evil.await.0, 200);
    text_appears(&c, "//td[text()='/hooks/evil']").await;
    c.find(Locator::XPath("//td[text()='/hooks/evil']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_appears(&c, "//h2[starts-with(text(), 'Event #3')]").await;
    text_appears(&c, "//td[text()='<img src=x onerror=window.pwned=4>']").await;
    c.find(Locator::XPath("//div[@class='tabs']/button[text()='raw']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = run(
        &c,
        "return document.querySelector('#detail .body pre').textContent",
    )
    .await;
    assert_eq!(shown, hostile);
    let state = run(&c, "return [document.title, typeof window.pwned, document.querySelectorAll('#detail img, #detail script, #detail a[href^=javascript]').length]").await;
    assert_eq!(state, json!(["hooktap inspector", "undefined", 0]));

    // Filter, and the CLI's error for a bad one.
    let filter = c.find(Locator::Id("filter")).await.unwrap();
    filter.send_keys("stauts:5xx\n").await.unwrap();
    text_appears(
        &c,
        "//p[@id='filter-error' and contains(text(), 'column 1')]",
    )
    .await;
    filter.clear().await.unwrap();
    filter.send_keys("path:/hooks/live\n").await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//p[@id='filter-error' and @hidden]"))
        .await
        .unwrap();
    let rows = run(
        &c,
        "return [...document.querySelectorAll('#rows td.path')].map(t => t.textContent)",
    )
    .await;
    assert_eq!(rows, json!(["/hooks/live"]));

    // Detail, replay, and the new Delivery.
    c.find(Locator::XPath("//td[text()='/hooks/live']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_appears(&c, "//h3[text()='Deliveries (1)']").await;
    text_appears(&c, "//section[@class='summary']").await;
    c.find(Locator::Id("replay"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_appears(&c, "//h3[text()='Deliveries (2)']").await;
    assert_eq!(h.target.count(), 4);

    // Edit and replay: a new Event derived from this one.
    c.find(Locator::XPath("//button[text()='edit…']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    run(&c, "const t = document.querySelector('.editor'); t.value = t.value.replace('/hooks/live', '/hooks/edited').replace('\"n\":1', '\"n\":2');").await;
    c.find(Locator::XPath("//button[text()='send the edit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_appears(&c, "//dt[text()='edited from']").await;
    let body = run(
        &c,
        "return document.querySelector('#detail h2').textContent",
    )
    .await;
    assert!(body.as_str().unwrap().contains("/hooks/edited"), "{body}");
    assert_eq!(h.target.count(), 5);

    c.find(Locator::Id("filter"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    c.find(Locator::Id("filter"))
        .await
        .unwrap()
        .send_keys("\n")
        .await
        .unwrap();
    text_appears(&c, "//td[text()='/hooks/edited']").await;
    let shot = c.screenshot().await.unwrap();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-inspector.png"),
        shot,
    )
    .unwrap();
    c.close().await.unwrap();
}
