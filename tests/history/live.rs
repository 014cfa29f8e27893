//! `listen` beside the history commands: reading while it writes, and background pruning.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::json;
use super::support::{Target, event, fill, hooktap, ids, ok, temp_db};

/// Starts `hooktap listen --port 0` and returns it with the address it prints.
fn listen(db: &std::path::Path, target: &str, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hooktap"))
        .args(["listen", "--port", "0", "--no-tui", "--forward", target])
        .args(extra)
        .env("HOOKTAP_DB", db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("listen prints its address").unwrap();
        if let Some(rest) = line.strip_prefix("hooktap listening on http://") {
            break rest.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn post(addr: &str, body: &str) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "POST /hooks/x HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn list_and_show_while_listen_writes() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    let (mut child, addr) = listen(&db, &target.url, &[]);
    post(&addr, "{\"n\":0}");
    let sender =
        std::thread::spawn(move || (1..150).for_each(|i| post(&addr, &format!("{{\"n\":{i}}}"))));
    let mut reads = 0;
    while !sender.is_finished() || reads < 10 {
        for args in [
            &["list", "--json", "-n", "5"][..],
            &["show", "1"],
            &["list", "json:.n=7"],
        ] {
            let out = hooktap(&db, args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && !err.contains("locked"),
                "{args:?}: {err}"
            );
        }
        reads += 1;
    }
    sender.join().unwrap();
    assert_eq!(ids(&ok(&db, &["list", "--json", "-n", "500"])).len(), 150);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn listen_keep_prunes_the_oldest_in_the_background() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    fill(
        &db,
        (0..12)
            .map(|i| (event("x", None, "/old", format!("{i}").as_bytes()), None))
            .collect(),
    );
    let (mut child, addr) = listen(&db, &target.url, &["--keep", "5"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ids(&ok(&db, &["list", "--json", "-n", "100"])).len() > 5 {
        assert!(Instant::now() < deadline, "listen --keep 5 did not prune");
        std::thread::sleep(Duration::from_millis(50));
    }
    post(&addr, "{}");
    let rows = ok(&db, &["list", "--json", "-n", "100"]);
    assert_eq!(json(rows.lines().next().unwrap())["path"], "/hooks/x");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn listen_max_db_size_prunes_the_oldest() {
    let (_dir, db) = temp_db();
    let target = Target::start();
    // Bodies that do not compress, so the Store really holds 16 KiB for each.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut noise = || {
        (0..16 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect::<Vec<u8>>()
    };
    fill(
        &db,
        (0..100)
            .map(|_| (event("x", None, "/old", &noise()), None))
            .collect(),
    );
    let (mut child, _addr) = listen(&db, &target.url, &["--max-db-size", "512KiB"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = ids(&ok(&db, &["list", "--json", "-n", "1000"])).len();
        // 100 Events of 16 KiB are 1.6 MiB; under 512 KiB at most about 30 remain.
        if n <= 30 {
            assert!(n > 0, "it prunes the oldest, not everything");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "listen --max-db-size did not prune ({n} left)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
