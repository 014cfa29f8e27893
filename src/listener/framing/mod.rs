//! A framing watcher: reads along with hyper on each connection and notes, for every request
//! head in order, whether it carried both `Content-Length` and `Transfer-Encoding`.
//!
//! hyper follows RFC 9112's lenient option for such a request (use chunked, drop the length,
//! close afterwards) and hides the conflict from the service. hooktap refuses it with `400`
//! instead, because a request that two parsers could frame differently is the start of request
//! smuggling. The watcher tracks only framing (head, then body by length or by chunks); on
//! anything it does not understand it stops, and hyper's own parser has the last word.
//!
//! The same wrapper bounds the other direction: an answer that makes no progress for a while
//! (a peer that stopped reading) fails the connection, which hyper has no timeout for.

mod watched;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub use watched::Watched;

/// The verdicts, one per request head, oldest first. Shared with the service.
pub type Verdicts = Arc<Mutex<VecDeque<bool>>>;

/// Largest head the watcher buffers; beyond it hyper answers `431` anyway.
const MAX_HEAD: usize = 64 << 10;

#[derive(Debug)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd(u8),
    Trailers,
    Stopped,
}

/// The watcher's parser state for one connection.
#[derive(Debug)]
pub struct Watcher {
    state: State,
    buf: Vec<u8>,
    verdicts: Verdicts,
}

impl Watcher {
    /// A watcher that records into `verdicts`.
    pub fn new(verdicts: Verdicts) -> Watcher {
        Watcher {
            state: State::Head,
            buf: Vec::new(),
            verdicts,
        }
    }

    /// Takes the next bytes of the connection.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Stopped => return,
                State::Body(left) => {
                    let n = left.min(data.len() as u64);
                    data = &data[n as usize..];
                    self.state = if left == n {
                        State::Head
                    } else {
                        State::Body(left - n)
                    };
                }
                State::ChunkData(left) => {
                    let n = left.min(data.len() as u64);
                    data = &data[n as usize..];
                    self.state = if left == n {
                        State::ChunkEnd(2)
                    } else {
                        State::ChunkData(left - n)
                    };
                }
                State::ChunkEnd(left) => {
                    let n = (left as usize).min(data.len());
                    data = &data[n..];
                    self.state = if n == left as usize {
                        State::ChunkSize
                    } else {
                        State::ChunkEnd(left - n as u8)
                    };
                }
                State::Head | State::ChunkSize | State::Trailers => {
                    // Line-based states: buffer up to the end of what they need.
                    let before = self.buf.len();
                    self.buf.extend_from_slice(data);
                    let used = self.step();
                    // Bytes the step did not use stay for the next state.
                    let consumed_from_data = used.saturating_sub(before);
                    data = &data[consumed_from_data.min(data.len())..];
                    if used == 0 {
                        return; // need more bytes
                    }
                }
            }
        }
    }

    /// Works on `buf` in a line-based state; returns how many buffered bytes it used (0 when it
    /// needs more), and leaves `buf` empty.
    fn step(&mut self) -> usize {
        let used = match self.state {
            State::Head => self.head(),
            State::ChunkSize => self.chunk_size(),
            State::Trailers => self.trailers(),
            _ => Some(0),
        };
        match used {
            Some(0) => {
                if self.buf.len() > MAX_HEAD {
                    self.stop();
                }
                0
            }
            Some(n) => {
                self.buf.clear();
                n
            }
            None => {
                self.stop();
                0
            }
        }
    }

    fn stop(&mut self) {
        self.state = State::Stopped;
        self.buf = Vec::new();
    }

    /// `Some(0)`: incomplete; `Some(n)`: the head took `n` bytes; `None`: give up.
    fn head(&mut self) -> Option<usize> {
        // hyper skips empty lines before a request line.
        let skip = self
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut headers);
        let len = match req.parse(&self.buf[skip..]) {
            Ok(httparse::Status::Complete(len)) => skip + len,
            Ok(httparse::Status::Partial) => return Some(0),
            Err(_) => return None,
        };
        let mut length = None;
        let mut chunked = None;
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                length = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .or(Some(u64::MAX));
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
                chunked = Some(
                    v.rsplit(',')
                        .next()
                        .is_some_and(|last| last.trim() == "chunked"),
                );
            }
        }
        let conflict = length.is_some() && chunked.is_some();
        if let Ok(mut v) = self.verdicts.lock() {
            v.push_back(conflict);
        }
        let upgrade = req.method == Some("CONNECT")
            || req
                .headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("upgrade"));
        self.state = match (conflict || upgrade, chunked, length) {
            (true, _, _) => return None,
            (_, Some(true), _) => State::ChunkSize,
            (_, Some(false), _) => return None,
            (_, None, Some(u64::MAX)) => return None,
            (_, None, Some(0) | None) => State::Head,
            (_, None, Some(n)) => State::Body(n),
        };
        Some(len)
    }

    fn chunk_size(&mut self) -> Option<usize> {
        match httparse::parse_chunk_size(&self.buf) {
            Ok(httparse::Status::Complete((used, 0))) => {
                self.state = State::Trailers;
                Some(used)
            }
            Ok(httparse::Status::Complete((used, size))) => {
                self.state = State::ChunkData(size);
                Some(used)
            }
            Ok(httparse::Status::Partial) => Some(0),
            Err(_) => None,
        }
    }

    fn trailers(&mut self) -> Option<usize> {
        // Trailer lines end with an empty line; with none, that is the first line.
        let mut at = 0;
        while let Some(end) = self.buf[at..].windows(2).position(|w| w == b"\r\n") {
            if end == 0 {
                self.state = State::Head;
                return Some(at + 2);
            }
            at += end + 2;
        }
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts_of(stream: &[u8], split: usize) -> Vec<bool> {
        let v: Verdicts = Arc::default();
        let mut w = Watcher::new(v.clone());
        for piece in stream.chunks(split.max(1)) {
            w.feed(piece);
        }
        v.lock().unwrap().iter().copied().collect()
    }

    #[test]
    fn follows_pipelined_requests_in_any_split() {
        let stream = b"POST /a HTTP/1.1\r\ncontent-length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\nPOST /d HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n";
        for split in [1, 2, 3, 7, 16, 1000] {
            assert_eq!(
                verdicts_of(stream, split),
                vec![false, false, false, true],
                "split {split}"
            );
        }
    }

    #[test]
    fn flags_either_order_and_stops_after() {
        let te_first = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n";
        assert_eq!(verdicts_of(te_first, 5), vec![true]);
    }

    #[test]
    fn handles_trailers_and_chunk_extensions() {
        let s = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2;ext=1\r\nab\r\n0\r\nx-t: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(verdicts_of(s, 3), vec![false, false]);
    }

    #[test]
    fn gives_up_on_garbage_without_panicking() {
        assert_eq!(
            verdicts_of(b"\x00\x01garbage\r\n\r\n", 4),
            Vec::<bool>::new()
        );
        let huge = vec![b'a'; MAX_HEAD * 2];
        assert!(verdicts_of(&huge, 4096).is_empty());
    }
}
