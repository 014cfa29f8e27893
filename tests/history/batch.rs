//! Batch replays shaped like a provider's deliveries: original gaps at a speed factor,
//! repeats, a seeded shuffle, several in flight at once.

use std::time::Duration;

use crate::support::{Target, answer, event, fill, hooktap, ids, ok, temp_db};

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
