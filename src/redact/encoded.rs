//! Bodies as the app reads them: a `Content-Encoding` of gzip, deflate or br is decoded with
//! the decoder `show` uses (`pretty::body`), masked, and encoded again in the same coding, so
//! the stored body and its headers still agree. A body that cannot be decoded within the limit
//! (corrupt, a compression bomb, a coding hooktap does not know, a chain of codings) cannot be
//! searched for the values a rule names, so it is masked whole.

use std::io::Write;

use bytes::Bytes;

use super::{MASK, json};
use crate::event::HeaderList;
use crate::filter::JsonStep;
use crate::pretty::body::{Coding, decode_as};

/// What masking did to a body.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Masked {
    /// The values the rules name are masked; the body is in its original coding.
    Values(Bytes),
    /// The whole body is replaced by a marker (a JSON string, the mask and why), stored
    /// without a coding.
    Whole(Bytes),
}

/// The body as it should be stored under `json:` rules with these `paths`, or `None` when it
/// is kept as it came (nothing matched, or it is not JSON). `limit` caps the decoded size.
pub(super) fn mask(
    headers: &HeaderList,
    body: &[u8],
    paths: &[&[JsonStep]],
    limit: u64,
) -> Option<Masked> {
    if body.is_empty() {
        return None;
    }
    let codings = codings(headers);
    let coding = match codings.as_slice() {
        [] => return json::mask(body, paths).map(Masked::Values),
        [one] => Coding::parse(one),
        _ => None,
    };
    let Some(coding) = coding else {
        return Some(whole(&format!(
            "its Content-Encoding '{}' is not one hooktap decodes (one of gzip, deflate, br)",
            codings.join(", ")
        )));
    };
    let decoded = match decode_as(coding, body, limit) {
        Ok(d) if d.cut => {
            return Some(whole(&format!(
                "its {} body decodes to more than {} (the --max-body limit)",
                coding.name(),
                crate::config::format_size(limit)
            )));
        }
        Ok(d) => d,
        Err(e) => {
            return Some(whole(&format!(
                "it could not be decoded as {}: {e}",
                coding.name()
            )));
        }
    };
    let masked = json::mask(&decoded.bytes, paths)?;
    match encode(decoded.coding, &masked) {
        Ok(bytes) => Some(Masked::Values(Bytes::from(bytes))),
        Err(e) => Some(whole(&format!(
            "it could not be encoded again as {}: {e}",
            coding.name()
        ))),
    }
}

/// The codings a body is in, in the order applied: every `Content-Encoding` value split on
/// commas, without `identity` and empty items.
fn codings(headers: &HeaderList) -> Vec<String> {
    headers
        .0
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-encoding"))
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value)
                .split(',')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
        .collect()
}

/// The marker that stands for a whole body: a JSON string, `"[redacted] whole body: …"`.
fn whole(why: &str) -> Masked {
    let text = format!("{MASK} whole body: the json: rules could not be applied because {why}");
    Masked::Whole(Bytes::from(serde_json::Value::String(text).to_string()))
}

/// `bytes` encoded in `coding`.
fn encode(coding: Coding, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    match coding {
        Coding::Gzip => {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            e.write_all(bytes)?;
            e.finish()
        }
        Coding::Zlib => {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            e.write_all(bytes)?;
            e.finish()
        }
        Coding::RawDeflate => {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(bytes)?;
            e.finish()
        }
        Coding::Br => {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                e.write_all(bytes)?;
                e.flush()?;
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
#[path = "encoded_tests.rs"]
mod tests;
