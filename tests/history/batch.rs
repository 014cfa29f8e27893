//! Batch replays shaped like a provider's deliveries: original gaps at a speed factor,
//! repeats, a seeded shuffle, several in flight at once.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use crate::support::{
    Target, answer, event, fill, finish_within, hooktap, ids, ok, start, temp_db,
};

/// Six Ayrshare Events delivered to `target`, paths `/e1`..`/e6`, received 1 ms apart.
fn six(db: &std::path::Path, target: &Target) -> Vec<i64> {
    let t = target.url.as_str();
    fill(
        db,
        (1..=6)
            .map(|i| {
                let mut e = event("ayrshare", None, &format!("/e{i}"), b"{}");
                e.received_at = 1_000_000_000 + i * 1_000;
                (e, Some((t, answer(Some(200), ""))))
            })
            .collect(),
    )
}

fn paths(target: &Target) -> Vec<String> {
    target.requests().into_iter().map(|s| s.path).collect()
}

/// The paths in the lines of a dry run, in order.
fn dry_paths(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            let url = l.split_whitespace().nth(4).unwrap();
            url[url.find("/e").unwrap()..].to_string()
        })
        .collect()
}

#[test]
fn a_seeded_shuffle_sends_in_the_order_its_dry_run_shows() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    six(&db, &target);
    let args = ["replay", "provider:ayrshare", "--shuffle", "--seed", "42"];
    let dry = ok(&db, &[&args[..], &["--dry-run"]].concat());
    let order = dry_paths(&dry);
    let arrival: Vec<String> = (1..=6).map(|i| format!("/e{i}")).collect();
    assert_ne!(order, arrival, "seed 42 reorders six Events:\n{dry}");
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, arrival, "each Event once");
    assert_eq!(
        dry_paths(&ok(&db, &[&args[..], &["--dry-run"]].concat())),
        order
    );
    assert!(target.requests().is_empty(), "a dry run sends nothing");

    ok(&db, &args);
    assert_eq!(paths(&target), order, "sent in the dry run's order");

    // Without --seed, the seed used is printed so the order can be had again.
    let out = hooktap(
        &db,
        &["replay", "provider:ayrshare", "--shuffle", "--dry-run"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let seed = stderr
        .split("--seed ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no seed printed: {stderr}"));
    let again = ok(&db, &[&args[..4], &[seed, "--dry-run"]].concat());
    assert_eq!(
        dry_paths(&again),
        dry_paths(&String::from_utf8_lossy(&out.stdout))
    );
}

#[test]
fn repeats_go_concurrently_and_each_is_recorded() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let got = six(&db, &target);
    target
        .delay_ms
        .store(150, std::sync::atomic::Ordering::SeqCst);
    let out = hooktap(
        &db,
        &[
            "replay",
            "provider:ayrshare",
            "--repeat",
            "2",
            "--concurrency",
            "4",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("12 of 12 replays sent"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 12);
    let mut seen = paths(&target);
    seen.sort();
    let mut want: Vec<String> = (1..=6)
        .flat_map(|i| [format!("/e{i}"), format!("/e{i}")])
        .collect();
    want.sort();
    assert_eq!(seen, want, "each Event twice");
    assert_eq!(
        target.peak.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "four in flight at once, never more"
    );
    for id in got {
        let rec = ok(&db, &["show", &id.to_string(), "--json"]);
        let rec: serde_json::Value = serde_json::from_str(&rec).unwrap();
        let kinds: Vec<&str> = rec["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["original", "replay", "replay"], "#{id}");
    }
    assert_eq!(ids(&ok(&db, &["list", "--json", "replayed"])).len(), 6);
}

#[test]
fn original_pace_keeps_the_gaps_at_the_speed_asked() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let t = target.url.as_str();
    let base = 1_000_000_000;
    fill(
        &db,
        [
            (0, "/p1"),
            (400_000, "/p2"),
            (1_200_000, "/p3"),
            (100_000_000, "/p4"),
        ]
        .into_iter()
        .map(|(offset, path)| {
            let mut e = event("github", None, path, b"{}");
            e.received_at = base + offset;
            (e, Some((t, answer(Some(200), ""))))
        })
        .collect(),
    );
    let paced = |max_gap: &str, extra: &[&str]| {
        let args = [
            "replay",
            "provider:github",
            "--pace",
            "2x",
            "--max-gap",
            max_gap,
        ];
        ok(&db, &[&args[..], extra].concat())
    };
    // The schedule, exactly: gaps halved, the 98.8 s one cut to --max-gap.
    let dry = paced("1s", &["--dry-run"]);
    let at: Vec<&str> = dry.lines().map(|l| l.rsplit(' ').next().unwrap()).collect();
    assert_eq!(at, ["+0.000s", "+0.200s", "+0.600s", "+1.600s"], "{dry}");

    paced("300ms", &[]);
    let seen = target.requests();
    assert_eq!(seen.len(), 4);
    // Never early (a little allowance for the first request's connection set-up).
    let gaps: Vec<Duration> = seen.windows(2).map(|w| w[1].at - w[0].at).collect();
    let least = [150, 250, 250].map(Duration::from_millis);
    for (gap, least) in gaps.iter().zip(least) {
        assert!(*gap >= least, "gaps {gaps:?}");
    }
}

#[test]
fn several_ids_are_replayed_in_the_order_given_not_searched_for() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let got = six(&db, &target);
    let (a, b) = (got[4].to_string(), format!("#{}", got[1]));
    ok(&db, &["replay", &a, &b]);
    assert_eq!(paths(&target), ["/e5", "/e2"]);
    let out = hooktap(&db, &["replay", &a, "999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no event #999"));
    assert_eq!(
        target.requests().len(),
        2,
        "nothing sent when an id is unknown"
    );
    let out = hooktap(&db, &["replay", &a, &b, "--edit"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--edit takes one event id"));
}

#[test]
fn batch_flags_that_make_no_sense_are_usage_errors() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    six(&db, &target);
    for (args, says) in [
        (
            vec!["--pace", "fast"],
            "asap, original, or a speed such as 10x",
        ),
        (
            vec!["--pace", "0x"],
            "asap, original, or a speed such as 10x",
        ),
        (vec!["--seed", "7"], "--shuffle"),
        (vec!["--concurrency", "0"], "0"),
        (vec!["--repeat", "0"], "0"),
    ] {
        let out = hooktap(&db, &[&["replay", "provider:ayrshare"][..], &args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let out = hooktap(&db, &["replay", "1", "--edit", "--repeat", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(target.requests().is_empty(), "nothing was sent");
}

/// Three Ayrshare Events an hour apart, delivered to `target`: with `--pace original` a batch
/// of them waits an hour after the first send.
fn hours_apart(db: &std::path::Path, target: &Target) -> Vec<i64> {
    let t = target.url.as_str();
    fill(
        db,
        (1..=3)
            .map(|i| {
                let mut e = event("ayrshare", None, &format!("/h{i}"), b"{}");
                e.received_at = 1_000_000_000 + i * 3_600_000_000;
                (e, Some((t, answer(Some(200), ""))))
            })
            .collect(),
    )
}

/// Waits (at most 20 s) until `target` has received `n` requests.
fn wait_for_requests(target: &Target, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while target.requests().len() < n {
        assert!(
            Instant::now() < deadline,
            "the Target never got {n} requests"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn terminate(pid: u32) {
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(killed.success());
}

/// The outcomes of every Delivery of `ids`.
fn outcomes(db: &std::path::Path, ids: &[i64]) -> Vec<String> {
    ids.iter()
        .flat_map(|id| {
            let rec: serde_json::Value =
                serde_json::from_str(&ok(db, &["show", &id.to_string(), "--json"])).unwrap();
            rec["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["outcome"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_batch_of_more_than_ten_million_replays_is_refused_before_anything() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let got = six(&db, &target);
    let id = got[0].to_string();
    let mut args = vec!["replay"];
    args.extend(std::iter::repeat_n(id.as_str(), 10_001));
    for extra in [
        &["--repeat", "1000", "--dry-run"][..],
        &["--repeat", "1000"],
    ] {
        let run = start(&db, &[&args[..], extra].concat());
        let out = finish_within(run, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert_eq!(
            stderr.trim(),
            "error: 10001 Events sent 1000 times each are more than 10000000 replays in one \
             batch: narrow the filter or lower --repeat"
        );
        assert!(out.stdout.is_empty());
    }
    assert!(target.requests().is_empty(), "nothing was sent");
}

#[test]
fn an_event_that_cannot_be_sent_is_said_and_the_batch_goes_on() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let got = six(&db, &target);
    // Captured while no Target was set: never delivered, so no Target to replay it to.
    let lone = fill(&db, vec![(event("ayrshare", None, "/lone", b"{}"), None)])[0];
    let (a, b, c, lone) = (
        got[0].to_string(),
        got[1].to_string(),
        got[2].to_string(),
        lone.to_string(),
    );
    let out = hooktap(&db, &["replay", &a, &lone, &b, &c]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(paths(&target), ["/e1", "/e2", "/e3"], "the rest still went");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert_eq!(
        lines[0],
        format!(
            "hooktap: not sent: event #{lone} was never delivered, so there is no Target to \
             replay it to: pass --to URL (e.g. --to http://localhost:3000)"
        )
    );
    assert!(
        lines[1].starts_with("hooktap: 3 of 4 replays sent in") && lines[1].ends_with(", 1 failed"),
        "{stderr}"
    );
    assert_eq!(
        lines[2],
        "error: 1 of 4 replays could not be sent (see the lines above)"
    );

    // The same in a dry run, and for each copy of a repeat.
    let out = hooktap(&db, &["replay", &a, &lone, "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(
        stderr.contains(&format!("cannot send: event #{lone} was never")),
        "{stderr}"
    );
    let out = hooktap(&db, &["replay", "provider:ayrshare", "--repeat", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("not sent: ").count(), 2, "{stderr}");
    assert!(stderr.contains("12 of 14 replays sent"), "{stderr}");
    assert_eq!(target.requests().len(), 3 + 12);
}

#[test]
fn a_send_error_is_said_for_every_replay_and_counted_as_failed() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    six(&db, &target);
    // No secret anywhere: not one of them can be re-signed.
    let run = start(&db, &["replay", "provider:ayrshare", "--resign"]);
    let out = finish_within(run, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let said = stderr
        .lines()
        .filter(|l| l.starts_with("hooktap: not sent: cannot re-sign event #"))
        .count();
    assert_eq!(said, 6, "a line for each, none swallowed: {stderr}");
    assert!(stderr.contains("0 of 6 replays sent"), "{stderr}");
    assert!(stderr.contains(", 6 failed"), "{stderr}");
    assert!(
        stderr.contains("error: 6 of 6 replays could not be sent"),
        "{stderr}"
    );
    assert!(target.requests().is_empty());
}

#[test]
fn a_signal_stops_the_batch_and_the_replays_in_flight_are_recorded() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let got = hours_apart(&db, &target);
    // The first replay is still in the app's hands when the signal comes.
    target.delay_ms.store(1_000, SeqCst);
    let args = [
        "replay",
        "provider:ayrshare",
        "--pace",
        "original",
        "--max-gap",
        "1h",
    ];
    let run = start(&db, &args);
    wait_for_requests(&target, 1);
    let signalled = Instant::now();
    terminate(run.id());
    let out = finish_within(run, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "quit soon, not after the gap"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopping once the replays in flight are recorded"));
    assert!(
        stderr.contains("error: stopped: 1 of 3 replays sent in"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert_eq!(target.requests().len(), 1);
    assert_eq!(
        outcomes(&db, &got),
        ["ok", "ok", "ok", "ok"],
        "the replay in flight was recorded; none left pending"
    );
}

#[test]
fn a_second_signal_quits_without_waiting_for_the_replays_in_flight() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let got = hours_apart(&db, &target);
    target.delay_ms.store(60_000, SeqCst);
    let args = ["replay", &got[0].to_string(), "--timeout", "2m"].map(String::from);
    let mut run = start(&db, &args.each_ref().map(String::as_str));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = BufReader::new(run.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    wait_for_requests(&target, 1);
    terminate(run.id());
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(line.contains("Ctrl-C again to quit now"), "{line}");
    terminate(run.id());
    let out = finish_within(run, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let said: Vec<String> = rx.iter().collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("error: stopped: 0 of 1 replays sent in")
            && said[0].ends_with("(the replays in flight were left pending)"),
        "{said:?}"
    );
    assert_eq!(outcomes(&db, &got[..1]), ["ok", "pending"], "as it said");
}

#[test]
fn a_closed_stdout_stops_the_batch() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let t = target.url.as_str();
    fill(
        &db,
        (1..=6)
            .map(|i| {
                let mut e = event("ayrshare", None, &format!("/e{i}"), b"{}");
                e.received_at = 1_000_000_000 + i * 500_000;
                (e, Some((t, answer(Some(200), ""))))
            })
            .collect(),
    );
    let mut run = start(&db, &["replay", "provider:ayrshare", "--pace", "original"]);
    let mut first = String::new();
    BufReader::new(run.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("/e1"), "{first}");
    // Dropped: the read end is closed, as `| head -1` does.
    let out = finish_within(run, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: stopped: "), "{stderr}");
    assert!(stderr.contains("(cannot write to stdout: "), "{stderr}");
    assert!(target.requests().len() < 6, "{stderr}");
}

#[test]
fn a_dry_run_refuses_what_re_signing_would_refuse() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let t = target.url.as_str();
    fill(
        &db,
        vec![(
            event("unknown", None, "/u", b"{}"),
            Some((t, answer(Some(200), ""))),
        )],
    );
    let out = hooktap(
        &db,
        &["replay", "provider:unknown", "--resign", "--dry-run"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot re-sign event #1"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("would send"));
}
