//! The framing watcher (`listener::framing`): any byte stream, fed in any split, never panics,
//! gives the same verdicts whatever the split, and never buffers past its head limit.
#![no_main]

use std::sync::{Arc, Mutex};

use hooktap::listener::framing::{Verdicts, Watcher};
use libfuzzer_sys::fuzz_target;

fn verdicts(stream: &[u8], split: usize) -> Vec<bool> {
    let v: Verdicts = Arc::new(Mutex::new(Default::default()));
    let mut w = Watcher::new(v.clone());
    for piece in stream.chunks(split.max(1)) {
        w.feed(piece);
    }
    let out = v.lock().unwrap().iter().copied().collect();
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let whole = verdicts(stream, stream.len());
    let pieces = verdicts(stream, split as usize % 17 + 1);
    assert_eq!(whole, pieces, "the verdicts depend on how the bytes arrive");
});
