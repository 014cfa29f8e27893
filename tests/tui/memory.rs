//! Large bodies in the UI: a 25 MiB text body opened in the Request tab, scrolled to its end,
//! costs the `hooktap ui` process little memory beyond the body (peak `VmHWM` read from
//! `/proc`), and a 150 MB imported body is read only in part, saying so.

use bytes::Bytes;
use hooktap::event::{Classification, Event, HeaderList, Ingress, Signature, new_uid};
use hooktap::store::{Durability, Store};

use crate::tmux::Tmux;

const MIB: u64 = 1 << 20;

/// `lines` lines of text from a simple generator, numbered `0000001` on: words of letters that
/// LZ4 cannot shorten, so the Store keeps the body as received (the dearest case to read).
fn text_body(lines: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    let mut out = Vec::with_capacity(lines * 130);
    for n in 1..=lines {
        out.extend_from_slice(format!("{n:07}").as_bytes());
        for _ in 0..20 {
            out.extend_from_slice(b" ");
            for _ in 0..5 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                out.push(b'a' + (x % 26) as u8);
            }
        }
        out.push(b'\n');
    }
    out
}

fn event(path: &str, content_type: &str, body: Vec<u8>) -> Event {
    let mut headers = HeaderList::default();
    headers.push("Content-Type", content_type.as_bytes().to_vec());
    Event {
        uid: new_uid(),
        received_at: hooktap::event::now_micros(),
        ingress: Ingress::Import,
        method: "POST".into(),
        path: path.into(),
        query: None,
        remote_addr: None,
        headers,
        body: Bytes::from(body),
        class: Classification {
            provider: "unknown".into(),
            signature: Signature::Unchecked,
            ..Classification::default()
        },
        derived_from: None,
    }
}

/// Peak resident memory of process `pid`, in bytes.
fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// The `hooktap` process whose parent is `parent` (the window's shell).
fn child_named_hooktap(parent: u32) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces, so split after its `)`.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if head.ends_with("(hooktap") && ppid == Some(parent) {
            return Some(pid);
        }
    }
    None
}

#[test]
fn a_large_body_is_a_window_over_it_not_copies_of_it() {
    if !Tmux::available() || !std::path::Path::new("/proc/self/status").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let big = text_body(210_000); // 25.6 MiB
    let last_line = format!("{:07}", 210_000);
    assert!(big.len() as u64 > 25 * MIB);
    let huge = text_body(1_200_000); // 154 MB
    let small = br#"{"action":"feed","nested":{"list":[1,2]}}"#.to_vec();
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let store = Store::open(&db, Durability::Normal).unwrap();
        let writer = store.writer();
        rt.block_on(async {
            for e in [
                event("/huge", "text/plain", huge),
                event("/big", "text/plain", big),
                event("/small", "application/json", small),
            ] {
                writer.insert_event(e, None).await.unwrap();
            }
        });
        drop(writer);
        store.close();
    }
    let bin = env!("CARGO_BIN_EXE_hooktap");
    let tmux = Tmux::new("memory");
    tmux.start(
        "ui",
        &format!("{bin} ui --db '{}'", db.display()),
        dir.path(),
    );
    tmux.wait_for("ui", "the list and the newest Event", |s| {
        (s.contains("Events 3") && s.contains("#3  POST /small")).then_some(())
    });
    // The small JSON body is indented in the Request tab.
    tmux.keys("ui", &["2"]);
    tmux.wait_for("ui", "the indented JSON", |s| {
        s.contains("  \"nested\": {").then_some(())
    });
    let shell: u32 = tmux
        .run(&["display", "-p", "-t", "t:ui", "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap();
    let pid = child_named_hooktap(shell).expect("the hooktap process");
    let rest = vm_hwm(pid);

    // The 25 MiB body: its first lines, then (Enter, a page, the end) its last.
    tmux.keys("ui", &["j"]);
    tmux.wait_for("ui", "the big body's first line", |s| {
        (s.contains(" #2 ") && s.contains("0000001 ")).then_some(())
    });
    tmux.keys("ui", &["Enter"]);
    tmux.keys("ui", &["PageDown"]);
    tmux.keys("ui", &["PageDown"]);
    tmux.keys("ui", &["G"]);
    let screen = tmux.wait_for("ui", "the big body's last line", |s| {
        s.contains(&last_line).then(|| s.to_string())
    });
    let opened = vm_hwm(pid);
    eprintln!(
        "VmHWM: at rest {:.1} MiB, after the 25 MiB body's Request tab {:.1} MiB (+{:.1} MiB)",
        rest as f64 / MIB as f64,
        opened as f64 / MIB as f64,
        (opened - rest) as f64 / MIB as f64
    );
    assert!(
        opened < rest + 64 * MIB,
        "the 25 MiB body took {} MiB beyond the {} MiB at rest:\n{screen}",
        (opened - rest) / MIB,
        rest / MIB
    );

    // The 150 MB body is read in part, and the pane says so.
    tmux.keys("ui", &["Escape"]);
    tmux.keys("ui", &["j"]);
    let screen = tmux.wait_for("ui", "the huge body's note", |s| {
        (s.contains(" #1 ") && s.contains("0000001 ")).then(|| s.to_string())
    });
    assert!(screen.contains("showing the first 32.0 MiB"), "{screen}");
    assert!(screen.contains("hooktap show 1 --body"), "{screen}");
    let huge_peak = vm_hwm(pid);
    eprintln!(
        "VmHWM after the 150 MB body: {:.1} MiB (+{:.1} MiB)",
        huge_peak as f64 / MIB as f64,
        (huge_peak - rest) as f64 / MIB as f64
    );
    assert!(
        huge_peak < rest + 100 * MIB,
        "the 150 MB body took {} MiB beyond the {} MiB at rest",
        (huge_peak - rest) / MIB,
        rest / MIB
    );
    tmux.keys("ui", &["q"]);
    tmux.wait_for("ui", "the exit", |s| s.contains("EXITED 0").then_some(()));
}
