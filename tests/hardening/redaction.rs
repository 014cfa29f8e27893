//! Secrets at rest (B13): redaction rules keep a canary secret out of the Store, its WAL and
//! every export, while the Target still gets the original; the Store's files are private.

use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

const CANARY: &str = "CANARY-7f3a9c1e";

/// What the echo Target got: headers (as text) and body, per request.
type Got = Arc<Mutex<Vec<(Vec<(String, String)>, Bytes)>>>;

/// A Target that records the raw headers and body it gets and echoes the body back, with the
/// canary in an `x-api-key` answer header (an app that leaks it in its answer).
async fn echo_target() -> (String, Got) {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", socket.local_addr().unwrap());
    let got: Got = Arc::default();
    let g = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = socket.accept().await {
            let g = g.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let g = g.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let headers = parts
                            .headers
                            .iter()
                            .map(|(n, v)| {
                                (
                                    n.to_string(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect();
                        g.lock().unwrap().push((headers, body.clone()));
                        let mut r = hyper::Response::new(Full::new(body));
                        r.headers_mut().insert("x-api-key", CANARY.parse().unwrap());
                        // The echo is in the coding of the request.
                        if let Some(coding) = parts.headers.get("content-encoding") {
                            r.headers_mut().insert("content-encoding", coding.clone());
                        }
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, got)
}

fn count(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `listen` with only the rules given (no config file from the real home).
fn listen_with(db: &Path, home: &Path, target: &str, rules: &[&str]) -> crate::common::Binary {
    let mut cmd = crate::common::hooktap();
    cmd.args(crate::common::listen_args(target, db))
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"));
    for rule in rules {
        cmd.args(["--redact", rule]);
    }
    crate::common::Binary::spawn(cmd)
}

/// B13. Pass: `listen` with `--redact header:authorization --redact json:.password` and, in
/// its config file, `[redact] rules = ["header:cookie", "header:x-api-key",
/// "json:.card.number", "json:.pull_request.title"]`, receives a GitHub-signed request carrying
/// the canary in `Authorization`, `Cookie`, `X-Api-Key`, `password`, `card.number` and the pull
/// request's title (which a summary quotes); the Target gets every original value; the
/// signature is still recorded `valid` (checked before masking) and the summary quotes the mask;
/// the
/// canary occurs 0 times in `events.db`, `-wal`, `-shm` and in NDJSON, HAR and curl exports
/// made with `--include-secrets`, and in `show --json` (the Target's echo of it too, also
/// after a `replay`, which reads the same config file). Started
/// with umask 022, the Store's new folder is 0700 and its files 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_secret_never_reaches_the_disk() {
    let (target, got) = echo_target().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let config = home.join(".config/hooktap");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[redact]\nrules = [\"header:cookie\", \"header:x-api-key\", \"json:.card.number\", \"json:.pull_request.title\"]\n",
    )
    .unwrap();
    std::fs::set_permissions(config.join("config.toml"), PermissionsExt::from_mode(0o600)).unwrap();
    let data = dir.path().join("data");
    let db = data.join("events.db");

    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        r#"umask 022 && exec "$0" "$@""#,
        env!("CARGO_BIN_EXE_hooktap"),
    ])
    .args(["listen", "--port", "0", "--no-tui", "--forward", &target])
    .args([
        "--redact",
        "header:authorization",
        "--redact",
        "json:.password",
    ])
    .args(["--secret", "github=It's a Secret to Everybody", "--db"])
    .arg(&db)
    .env("HOME", &home)
    .env("XDG_CONFIG_HOME", home.join(".config"))
    .env("NO_COLOR", "1")
    .env_remove("HOOKTAP_DB");
    let bin = crate::common::Binary::spawn(cmd);
    let stderr = bin.stderr.clone();
    crate::common::eventually(std::time::Duration::from_secs(5), || {
        let said = stderr.lock().unwrap().join("\n");
        said.contains("redacting before storing: header:authorization, json:.password, header:cookie, header:x-api-key, json:.card.number, json:.pull_request.title")
            .then_some(())
    })
    .await;

    // The pull request's title would appear in the Event's summary.
    let body = format!(
        "{{\"action\":\"opened\",\"user\":\"ann\",\"password\":\"{CANARY}\",\"card\":{{\"number\":\"{CANARY}\",\"exp\":\"12/30\"}},\"pull_request\":{{\"number\":7,\"title\":\"{CANARY}\"}}}}"
    );
    let sig = {
        use hmac::{KeyInit, Mac};
        let mut m =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(b"It's a Secret to Everybody").unwrap();
        m.update(body.as_bytes());
        format!("sha256={}", hex::encode(m.finalize().into_bytes()))
    };
    let auth = format!("Bearer {CANARY}");
    let cookie = format!("session={CANARY}; theme=dark");
    let (status, _, answer) = crate::common::post(
        &bin.url("/hooks/github"),
        &[
            ("x-github-event", b"pull_request"),
            ("x-hub-signature-256", sig.as_bytes()),
            ("authorization", auth.as_bytes()),
            ("cookie", cookie.as_bytes()),
            ("x-api-key", CANARY.as_bytes()),
            ("content-type", b"application/json"),
        ],
        body.clone().into_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        count(&answer, CANARY),
        3,
        "the sender gets the app's real answer"
    );

    // The Target got every original.
    let (headers, received) = got.lock().unwrap()[0].clone();
    assert_eq!(received, body.as_bytes(), "the Target's body");
    for name in ["authorization", "cookie", "x-api-key"] {
        let v = headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        assert!(v.contains(CANARY), "the Target's {name}: {v:?}");
    }

    // The Store: masked, but classified on the original bytes.
    let show = Command::new(env!("CARGO_BIN_EXE_hooktap"))
        .args(["show", "1", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(show.status.success());
    assert_eq!(
        count(&show.stdout, CANARY),
        0,
        "{}",
        String::from_utf8_lossy(&show.stdout)
    );
    let record: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(record["signature"], "valid", "{record}");
    assert_eq!(
        record["summary"], "pull request opened: #7 \"[redacted]\" in a repository",
        "the summary describes the masked Event"
    );
    assert!(
        record["body"]
            .as_str()
            .unwrap()
            .contains("\"password\":\"[redacted]\"")
    );
    assert!(
        record["body"]
            .as_str()
            .unwrap()
            .contains("\"exp\":\"12/30\"")
    );

    // A replay (the app answers with the canary again): its stored answer is masked too.
    let replayed = Command::new(env!("CARGO_BIN_EXE_hooktap"))
        .args(["replay", "1", "--db"])
        .arg(&db)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .output()
        .unwrap();
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    assert_eq!(
        got.lock().unwrap().len(),
        2,
        "the replay reached the Target"
    );

    let mut files = Vec::new();
    for (format, name) in [
        ("ndjson", "out.ndjson"),
        ("har", "out.har"),
        ("curl", "out.sh"),
    ] {
        let out = dir.path().join(name);
        let done = Command::new(env!("CARGO_BIN_EXE_hooktap"))
            .args(["export", "--format", format, "--include-secrets", "-o"])
            .arg(&out)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        files.push(out);
    }
    files.extend(["events.db", "events.db-wal", "events.db-shm"].map(|f| data.join(f)));
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            !bytes.is_empty() || f.to_string_lossy().contains("events.db"),
            "{} is empty",
            f.display()
        );
        assert_eq!(count(&bytes, CANARY), 0, "the canary is in {}", f.display());
    }

    // The last process to close the Store folds the WAL back in and truncates it, so the
    // masked rows may sit in either file: together they must hold them.
    let on_disk: Vec<u8> = ["events.db", "events.db-wal"]
        .iter()
        .flat_map(|f| std::fs::read(data.join(f)).unwrap())
        .collect();
    assert!(
        count(&on_disk, "[redacted]") > 0,
        "the masked Event is on disk"
    );

    assert_eq!(mode(&data), 0o700, "the Store's folder");
    for f in ["events.db", "events.db-wal", "events.db-shm"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    drop(bin);
}

/// `body` decoded from `coding` (`None`: as it is).
fn decoded(coding: Option<&str>, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match coding {
        None => out = body.to_vec(),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("deflate") => {
            flate2::read::ZlibDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("no decoder for {other}"),
    }
    out
}

/// A stored body from `show --json` (`body` or `body_base64`) and one header of it.
fn stored(record: &serde_json::Value, name: &str) -> (Vec<u8>, Option<String>) {
    use base64::Engine;
    let body = match record["body"].as_str() {
        Some(text) => text.as_bytes().to_vec(),
        None => base64::engine::general_purpose::STANDARD
            .decode(record["body_base64"].as_str().unwrap_or_default())
            .unwrap(),
    };
    let header = record["headers"].as_array().and_then(|h| {
        h.iter()
            .find(|p| p[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .and_then(|p| p[1].as_str().map(str::to_string))
    });
    (body, header)
}

/// Issue 13, item 6. Pass: `listen --redact json:.apiKey` gets one JSON body with the canary
/// as `apiKey`, sent gzip-, deflate- and br-compressed and plain behind a UTF-8 BOM; the app
/// gets each body byte for byte; each stored Event, and the app's echo of it (in the same
/// coding), keeps its `Content-Encoding`, decodes to the JSON with `"apiKey":"[redacted]"` and
/// every other byte as sent, and has a `content-length` equal to its stored body; `show`
/// (which decodes) never prints the canary. A body sent as `zstd`, as `gzip, br` or as corrupt
/// gzip is stored as the whole-body marker with no `Content-Encoding`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_and_bom_json_bodies_are_masked_too() {
    use std::io::Write;
    let (target, got) = echo_target().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    // The echo's `x-api-key` answer header holds the canary too.
    let rules = ["json:.apiKey", "header:x-api-key"];
    let bin = listen_with(&db, dir.path(), &target, &rules);

    let json = format!("{{\"user\":\"ann\",\"apiKey\":\"{CANARY}\",\"n\":[1,2]}}");
    let masked = json.replace(CANARY, "[redacted]");
    let gzip = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(json.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let deflate = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(json.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let mut br = Vec::new();
    brotli::CompressorWriter::new(&mut br, 4096, 5, 22)
        .write_all(json.as_bytes())
        .unwrap();
    let bom = [b"\xEF\xBB\xBF".as_slice(), json.as_bytes()].concat();
    let mut corrupt = gzip.clone();
    corrupt.truncate(12);
    corrupt.extend_from_slice(CANARY.as_bytes());
    let sent: Vec<(Option<&str>, Vec<u8>)> = vec![
        (Some("gzip"), gzip.clone()),
        (Some("deflate"), deflate),
        (Some("br"), br),
        (None, bom),
        (Some("zstd"), json.clone().into_bytes()),
        (Some("gzip, br"), gzip),
        (Some("gzip"), corrupt),
    ];
    for (coding, body) in &sent {
        let mut headers: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
        if let Some(c) = coding {
            headers.push(("content-encoding", c.as_bytes()));
        }
        let (status, _, _) =
            crate::common::post(&bin.url("/hooks/app"), &headers, body.clone()).await;
        assert_eq!(status, 200);
    }
    let got = got.lock().unwrap().clone();
    for (i, (coding, body)) in sent.iter().enumerate() {
        assert_eq!(
            got[i].1,
            body[..],
            "the app got body {i} ({coding:?}) as sent"
        );
        let id = (i + 1).to_string();
        let record: serde_json::Value =
            serde_json::from_str(&crate::common::ok_on(&db, &["show", &id, "--json"])).unwrap();
        let delivery = &record["deliveries"][0];
        for (what, part) in [("event", &record), ("app's answer", delivery)] {
            let (_, length) = stored(part, "content-length");
            let (stored, encoding) = stored(part, "content-encoding");
            assert_eq!(length, Some(stored.len().to_string()), "{what} {i}");
            if i < 4 {
                assert_eq!(encoding.as_deref(), *coding, "{what} {i} keeps its coding");
                let plain = decoded(encoding.as_deref(), &stored);
                let plain = plain.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&plain);
                assert_eq!(
                    String::from_utf8_lossy(plain),
                    masked,
                    "{what} {i} ({coding:?})"
                );
            } else {
                assert_eq!(encoding, None, "{what} {i}: the marker has no coding");
                let text: String = serde_json::from_slice(&stored).unwrap();
                assert!(text.starts_with("[redacted] whole body: "), "{text}");
                assert_eq!(count(text.as_bytes(), CANARY), 0, "{what} {i}: {text}");
            }
        }
        let shown = crate::common::ok_on(&db, &["show", &id]);
        assert_eq!(count(shown.as_bytes(), CANARY), 0, "show {id}: {shown}");
    }
    drop(bin);
}
