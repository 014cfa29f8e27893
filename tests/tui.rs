//! The terminal UI end to end: the real binary in tmux, read with `capture-pane` as a person
//! would read it. Webhooks show up, `r` reaches the Target again, `s` re-signed, `hooktap ui` beside
//! the running `listen` sees new Events, `q` quits and gives the terminal back (main screen,
//! cooked mode); a large body is shown as a window over it (memory.rs).
//!
//! Needs tmux (CI installs it); without it the tests say so and pass.

#[path = "common/mod.rs"]
mod common;
#[path = "tui/memory.rs"]
mod memory;
#[path = "tui/tmux.rs"]
mod tmux;

use common::{Behaviour, TestTarget, post};
use tmux::Tmux;

fn ayrshare_body(n: u32) -> Vec<u8> {
    format!(
        r#"{{"action":"social","type":"unlink","platform":"instagram","source":"system","hookId":"hk{n}","details":{{"message":"Account locked"}}}}"#
    )
    .into_bytes()
}

/// The port `listen` shows in its status bar.
fn port_on(screen: &str) -> Option<u16> {
    let at = screen.find("http://127.0.0.1:")? + "http://127.0.0.1:".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_shows_webhooks_replays_with_r_and_quits_with_q() {
    if !Tmux::available() {
        return;
    }
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let bin = env!("CARGO_BIN_EXE_hooktap");
    let tmux = Tmux::new("listen");
    tmux.start(
        "listen",
        &format!(
            "{bin} listen --port 0 --db '{}' --forward {} --secret ayrshare=s3cret",
            db.display(),
            target.url()
        ),
        dir.path(),
    );
    let port = tmux.wait_for("listen", "the listen URL", port_on);
    assert!(
        tmux.alternate_screen("listen"),
        "the UI uses the alternate screen"
    );
    for n in 1..=2 {
        let url = format!("http://127.0.0.1:{port}/hooks/ayrshare");
        let (status, _, _) = post(
            &url,
            &[("content-type", b"application/json")],
            ayrshare_body(n),
        )
        .await;
        assert_eq!(status, 200);
    }
    // The list and the counters come with the bus; the Summary tab from a job thread a moment
    // later, so wait for all of them.
    let screen = tmux.wait_for("listen", "two Events and the newest one's Summary", |s| {
        (s.contains("Events 2")
            && s.contains("received 2")
            && s.contains("instagram unlinked by system"))
        .then(|| s.to_string())
    });
    assert!(screen.contains("ayrshare social.unlink"), "{screen}");
    assert_eq!(target.count(), 2);

    // `r` replays the selected (newest) Event to the Target.
    tmux.keys("listen", &["r"]);
    tmux.wait_for("listen", "the replay's result", |s| {
        s.contains("replayed #2").then_some(())
    });
    assert_eq!(target.count(), 3);
    let replayed = target.all.lock().unwrap()[2].body.clone();
    assert_eq!(
        &replayed[..],
        &ayrshare_body(2)[..],
        "the exact bytes again"
    );

    // `s` signs it again with the secret `listen` was given, then replays it.
    tmux.keys("listen", &["s"]);
    tmux.wait_for("listen", "the re-signed replay's result", |s| {
        s.contains("re-signed; replayed #2").then_some(())
    });
    assert_eq!(target.count(), 4);
    let signed = target.all.lock().unwrap()[3].clone();
    assert_eq!(&signed.body[..], &ayrshare_body(2)[..]);
    let header = |name: &str| {
        signed
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(b"s3cret").unwrap();
    hmac::Mac::update(&mut mac, &signed.body);
    let want = hex::encode(hmac::Mac::finalize(mac).into_bytes());
    assert_eq!(
        header("x-authorization-content-sha256").as_deref(),
        Some(want.as_str()),
        "signed over the exact body with the secret"
    );
    assert!(header("x-authorization-timestamp").is_some());
    tmux.wait_for("listen", "the replay badge", |s| {
        s.contains("4 Deliveries 3").then_some(())
    });

    // `e` hands the raw request to $EDITOR (here a sed), stores the edit and sends it.
    tmux.keys("listen", &["e"]);
    tmux.wait_for("listen", "the edit's result", |s| {
        s.contains("stored the edit of #2 as #3").then_some(())
    });
    let edited = target.all.lock().unwrap()[4].body.clone();
    let want = String::from_utf8(ayrshare_body(2))
        .unwrap()
        .replace("Account", "Edited");
    assert_eq!(String::from_utf8_lossy(&edited), want);
    assert!(
        tmux.alternate_screen("listen"),
        "the UI came back after the editor"
    );

    // `c` copies the selected Event as curl; in tmux without set-clipboard, to a file.
    tmux.keys("listen", &["c"]);
    // Beside the Store in use (`--db DIR/events.db`).
    let copied = dir.path().join("copies/event-3.curl.sh");
    tmux.wait_for("listen", "the copy", |s| {
        s.contains("event-3.curl.sh").then_some(())
    });
    let curl = std::fs::read_to_string(&copied).unwrap();
    assert!(curl.contains("Edited locked"), "{curl}");

    // `hooktap ui` beside it sees new Events as `listen` records them.
    tmux.start(
        "ui",
        &format!("{bin} ui --db '{}'", db.display()),
        dir.path(),
    );
    tmux.wait_for("ui", "the history", |s| {
        s.contains("Events 3").then_some(())
    });
    let url = format!("http://127.0.0.1:{port}/hooks/ayrshare");
    post(
        &url,
        &[("content-type", b"application/json")],
        ayrshare_body(3),
    )
    .await;
    tmux.wait_for("ui", "the new Event", |s| {
        s.contains("Events 4").then_some(())
    });
    tmux.keys("ui", &["q"]);
    tmux.wait_for("ui", "ui's exit", |s| s.contains("EXITED 0").then_some(()));

    // `q` quits: the process ends and the terminal is as it was.
    tmux.keys("listen", &["q"]);
    let screen = tmux.wait_for("listen", "the exit", |s| {
        (s.contains("EXITED 0") && s.contains("icanon")).then(|| s.to_string())
    });
    assert!(
        screen.contains("hooktap stopped; the Store is flushed"),
        "{screen}"
    );
    assert!(
        screen.contains("icanon") && !screen.contains("-icanon"),
        "cooked mode: {screen}"
    );
    assert!(
        screen.contains(" echo") && !screen.contains("-echo"),
        "echo back on: {screen}"
    );
    assert!(!tmux.alternate_screen("listen"), "back on the main screen");
    assert!(
        !screen.contains("WARN") && !screen.contains("DEBUG"),
        "no log line reached the terminal: {screen}"
    );
    let log = std::fs::read_to_string(dir.path().join("hooktap/hooktap.log")).unwrap();
    assert!(log.contains("first frame with Events drawn"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_opens_the_ui_and_its_story_arrives() {
    if !Tmux::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_hooktap");
    let tmux = Tmux::new("demo");
    tmux.start("demo", &format!("{bin} demo"), dir.path());
    let screen = tmux.wait_for("demo", "the story", |s| {
        s.contains("sample events sent").then(|| s.to_string())
    });
    assert!(screen.contains("hooktap demo"), "{screen}");
    assert!(screen.contains("ayrshare batch"), "the last step: {screen}");
    // `/` filters as you type; a bad term is explained inline.
    tmux.keys("demo", &["/", "status:5xx"]);
    tmux.wait_for("demo", "the filtered list", |s| {
        (s.contains("filter: status:5xx") && s.contains("messages.message")).then_some(())
    });
    tmux.keys("demo", &["C-u", "stauts:5xx"]);
    tmux.wait_for("demo", "the filter error", |s| {
        s.contains("did you mean 'status'?").then_some(())
    });
    // Esc brings back the filter from before `/` (none). Sent alone: a key right after Esc
    // would arrive as Alt+key.
    tmux.keys("demo", &["Escape"]);
    tmux.wait_for("demo", "the whole list", |s| {
        s.contains("Events 10").then_some(())
    });
    tmux.keys("demo", &["?"]);
    tmux.wait_for("demo", "the help", |s| {
        s.contains("Keys · any key closes").then_some(())
    });
    tmux.keys("demo", &["x"]);
    tmux.wait_for("demo", "the help closed", |s| {
        (!s.contains("Keys · any key closes")).then_some(())
    });
    tmux.keys("demo", &["C-c"]);
    let screen = tmux.wait_for("demo", "the exit", |s| {
        s.contains("EXITED 0").then(|| s.to_string())
    });
    assert!(screen.contains("hooktap demo stopped"), "{screen}");
}

#[test]
fn ui_without_a_terminal_says_what_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::hooktap()
        .args(["ui", "--db"])
        .arg(dir.path().join("events.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hooktap ui needs a terminal"), "{err}");
    assert!(err.contains("hooktap list"), "{err}");
}
