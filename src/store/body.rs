//! How the Store keeps request bodies: LZ4-compressed when that saves at least an eighth (JSON
//! webhooks shrink to a third or so), as received otherwise. A 2 KB body kept as is fills a
//! 4 KiB page on its own; compressed, several share one. Fewer pages to write to the WAL, to
//! checkpoint and to keep on disk; the bytes handed back are always the bytes received.
//!
//! `bodies.encoding` says which: `NULL` for the bytes as received, `'lz4'` for an LZ4 block
//! (no frame, no size prefix) that decompresses to exactly `events.body_size` bytes.

/// The `bodies.encoding` of an LZ4 block.
pub const LZ4: &str = "lz4";

/// Bodies shorter than this are kept as they are: they share pages already.
const MIN_SIZE: usize = 256;

/// LZ4 never expands data more than this (a run of one byte), so a stored size beyond
/// `stored * MAX_RATIO` is a damaged row, not a reason to allocate gigabytes.
const MAX_RATIO: u64 = 255;

/// The compressed form of `body`, or `None` when it is better kept as received.
pub fn pack(body: &[u8]) -> Option<Vec<u8>> {
    if body.len() < MIN_SIZE {
        return None;
    }
    let packed = lz4_flex::block::compress(body);
    (packed.len() <= body.len() - body.len() / 8).then_some(packed)
}

/// The body as received, from its stored form (`size` is `events.body_size`).
pub fn unpack(stored: Vec<u8>, encoding: Option<&str>, size: u64) -> Result<Vec<u8>, Damaged> {
    match encoding {
        None => Ok(stored),
        Some(LZ4) if size <= (stored.len() as u64 + 16) * MAX_RATIO => {
            lz4_flex::block::decompress(&stored, size as usize)
                .ok()
                .filter(|body| body.len() as u64 == size)
                .ok_or(Damaged::Lz4 { size })
        }
        Some(LZ4) => Err(Damaged::Lz4 { size }),
        Some(other) => Err(Damaged::Encoding(other.into())),
    }
}

/// A stored body that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum Damaged {
    #[error("a stored body does not decompress to its {size} bytes: the Store is damaged")]
    Lz4 { size: u64 },
    #[error(
        "a stored body has the encoding {0:?}, which this hooktap does not know: upgrade hooktap"
    )]
    Encoding(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(n: usize) -> Vec<u8> {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"id":"post{i:04}","platform":"tiktok","status":"success"}}"#))
            .collect();
        format!(
            r#"{{"action":"scheduled","postIds":[{}]}}"#,
            items.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn json_is_packed_and_comes_back_exactly() {
        let body = json(40);
        let packed = pack(&body).expect("JSON compresses");
        assert!(
            packed.len() < body.len() / 2,
            "{} of {}",
            packed.len(),
            body.len()
        );
        let back = unpack(packed, Some(LZ4), body.len() as u64).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn ayrshare_samples_are_packed() {
        for sample in [
            &include_bytes!("../../assets/ayrshare/scheduled.json")[..],
            include_bytes!("../../assets/ayrshare/scheduled-tiktok-published.json"),
            include_bytes!("../../assets/ayrshare/batch.json"),
        ] {
            let packed = pack(sample).expect("a sample compresses");
            let back = unpack(packed, Some(LZ4), sample.len() as u64).unwrap();
            assert_eq!(back, sample);
        }
    }

    #[test]
    fn small_and_incompressible_bodies_are_kept_as_received() {
        assert_eq!(pack(br#"{"action":"feed"}"#), None);
        // Bytes from a simple generator: no repeats for LZ4 to find.
        let mut x: u32 = 0x9e37_79b9;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert_eq!(pack(&noise), None);
        assert_eq!(unpack(noise.clone(), None, 4096).unwrap(), noise);
    }

    #[test]
    fn damaged_rows_are_errors_not_panics_or_huge_allocations() {
        let body = json(10);
        let packed = pack(&body).unwrap();
        let size = body.len() as u64;
        assert!(unpack(packed.clone(), Some(LZ4), size + 1).is_err());
        assert!(unpack(packed[..packed.len() / 2].to_vec(), Some(LZ4), size).is_err());
        assert!(unpack(packed.clone(), Some(LZ4), u64::MAX).is_err());
        let err = unpack(packed, Some("zstd"), size).unwrap_err();
        assert!(err.to_string().contains("upgrade hooktap"), "{err}");
    }
}
