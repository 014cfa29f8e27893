//! How the Store keeps bodies (requests in `bodies`, answers in `deliveries`): LZ4-compressed
//! when that saves at least an eighth (a 2-3 KB JSON webhook to about half, the Ayrshare samples
//! of 450-700 bytes by 14-34 %, repetitive HTML much further), as received otherwise. A 2 KB
//! body kept as is fills a 4 KiB page on its own; compressed, several share one. Fewer pages to
//! write to the WAL, to checkpoint and to keep on disk; the bytes handed back are always the
//! bytes received.
//!
//! The `encoding` column beside each body says which: `NULL` for the bytes as received, `'lz4'`
//! for an LZ4 block after its decompressed length (4 bytes, little-endian).

/// The `encoding` of an LZ4 block after its length.
pub const LZ4: &str = "lz4";

/// Bodies shorter than this are kept as they are: they share pages already.
const MIN_SIZE: usize = 256;

/// LZ4 never expands data more than this (a run of one byte), so a stated length beyond
/// `stored * MAX_RATIO` is a damaged row, not a reason to allocate gigabytes.
const MAX_RATIO: u64 = 255;

/// Bodies longer than this are first tried on their first this many bytes: a large upload that
/// does not compress (an image, an archive) costs one small try, not a full copy.
const PROBE: usize = 64 << 10;

/// The compressed form of `body`, or `None` when it is better kept as received.
pub fn pack(body: &[u8]) -> Option<Vec<u8>> {
    if body.len() < MIN_SIZE || body.len() > u32::MAX as usize {
        return None;
    }
    if body.len() > PROBE && !pays(PROBE, lz4_flex::block::compress(&body[..PROBE]).len()) {
        return None;
    }
    let mut packed = lz4_flex::block::compress_prepend_size(body);
    if !pays(body.len(), packed.len()) {
        return None;
    }
    // The buffer was sized for the worst case; it waits in the writer's queue, so give the
    // rest back.
    packed.shrink_to_fit();
    Some(packed)
}

/// Whether `packed` bytes for `len` save at least an eighth.
fn pays(len: usize, packed: usize) -> bool {
    packed <= len - len / 8
}

/// The body as received, from its stored form and `encoding`.
pub fn unpack(stored: Vec<u8>, encoding: Option<&str>) -> Result<Vec<u8>, Damaged> {
    match encoding {
        None => Ok(stored),
        Some(LZ4) => {
            let size = stored
                .first_chunk::<4>()
                .map(|b| u64::from(u32::from_le_bytes(*b)))
                .ok_or(Damaged::Lz4)?;
            if size > (stored.len() as u64 + 16) * MAX_RATIO {
                return Err(Damaged::Lz4);
            }
            lz4_flex::block::decompress_size_prepended(&stored)
                .ok()
                .filter(|body| body.len() as u64 == size)
                .ok_or(Damaged::Lz4)
        }
        Some(other) => Err(Damaged::Encoding(other.into())),
    }
}

/// The first `max` bytes of the body an LZ4 block after its length (`stored`, or only its
/// start: enough when it holds `max + max / 64 + 64` bytes after the length) decodes to: a
/// screen showing the start of a huge body decodes that much, not all of it.
pub fn unpack_prefix(stored: &[u8], max: usize) -> Result<Vec<u8>, Damaged> {
    let size = stored
        .first_chunk::<4>()
        .map(|b| u32::from_le_bytes(*b) as usize)
        .ok_or(Damaged::Lz4)?;
    let want = size.min(max);
    let mut out: Vec<u8> = Vec::with_capacity(want);
    let mut i = 4;
    let byte = |i: &mut usize| -> Result<usize, Damaged> {
        let b = *stored.get(*i).ok_or(Damaged::Lz4)?;
        *i += 1;
        Ok(usize::from(b))
    };
    let length = |i: &mut usize, mut n: usize| -> Result<usize, Damaged> {
        if n == 15 {
            loop {
                let b = byte(i)?;
                n += b;
                if b != 255 {
                    break;
                }
            }
        }
        Ok(n)
    };
    while out.len() < want && i < stored.len() {
        let token = byte(&mut i)?;
        let literals = length(&mut i, token >> 4)?;
        let end = (i + literals).min(stored.len());
        let take = (end - i).min(want - out.len());
        out.extend_from_slice(&stored[i..i + take]);
        i = end;
        if out.len() >= want || i >= stored.len() {
            break;
        }
        let offset = byte(&mut i)? | byte(&mut i)? << 8;
        if offset == 0 || offset > out.len() {
            return Err(Damaged::Lz4);
        }
        let mut left = length(&mut i, token & 15)? + 4;
        while left > 0 && out.len() < want {
            let from = out.len() - offset;
            let n = left.min(offset).min(want - out.len());
            out.extend_from_within(from..from + n);
            left -= n;
        }
    }
    if out.len() != want {
        return Err(Damaged::Size(size as u64));
    }
    Ok(out)
}

/// A stored body that cannot be read back; callers say whose ("the body of Event #5 ...").
#[derive(Debug, thiserror::Error)]
pub enum Damaged {
    #[error("does not decompress")]
    Lz4,
    /// It decoded, but not to the size recorded with it.
    #[error("does not have the {0} bytes recorded for it")]
    Size(u64),
    #[error(
        "is stored with the encoding {0:?}, which this hooktap does not know (upgrade hooktap)"
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
        let back = unpack(packed, Some(LZ4)).unwrap();
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
            let back = unpack(packed, Some(LZ4)).unwrap();
            assert_eq!(back, sample);
        }
    }

    /// Bytes from a simple generator: no repeats for LZ4 to find.
    fn noise(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x9e37_79b9;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn small_and_incompressible_bodies_are_kept_as_received() {
        assert_eq!(pack(br#"{"action":"feed"}"#), None);
        let noise = noise(4096);
        assert!(pack(&noise).is_none());
        assert_eq!(unpack(noise.clone(), None).unwrap(), noise);
        // A large body is judged by its start: noise first, then text, stays as received.
        let mut upload = self::noise(PROBE + 1000);
        upload.extend(json(4000));
        assert!(pack(&upload).is_none());
        let text = json(4000);
        assert!(text.len() > PROBE && pack(&text).is_some());
    }

    #[test]
    fn damaged_rows_are_errors_not_panics_or_huge_allocations() {
        let body = json(10);
        let packed = pack(&body).unwrap();
        assert!(unpack(packed[..packed.len() / 2].to_vec(), Some(LZ4)).is_err());
        assert!(unpack(packed[..3].to_vec(), Some(LZ4)).is_err());
        let mut longer = packed.clone();
        longer[..4].copy_from_slice(&(body.len() as u32 + 1).to_le_bytes());
        assert!(unpack(longer, Some(LZ4)).is_err());
        let mut huge = packed.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(unpack(huge, Some(LZ4)).is_err());
        let err = unpack(packed, Some("zstd")).unwrap_err();
        assert!(err.to_string().contains("upgrade hooktap"), "{err}");
    }

    #[test]
    fn a_prefix_is_the_start_of_the_whole_even_from_the_start_of_the_block() {
        let body = json(4000);
        let packed = pack(&body).unwrap();
        for max in [0, 1, 100, 4096, body.len() / 2, body.len(), body.len() + 9] {
            let want = &body[..max.min(body.len())];
            assert_eq!(unpack_prefix(&packed, max).unwrap(), want, "max {max}");
            let start = &packed[..packed.len().min(4 + max + max / 64 + 64)];
            assert_eq!(unpack_prefix(start, max).unwrap(), want, "max {max}, cut");
        }
        // Damaged blocks are errors, never panics.
        assert!(unpack_prefix(&packed[..3], 10).is_err());
        let mut bad = packed.clone();
        bad[5] = 0xff;
        bad[6] = 0xff;
        let _ = unpack_prefix(&bad, body.len());
        assert!(unpack_prefix(&packed[..packed.len() / 2], body.len()).is_err());
    }
}
