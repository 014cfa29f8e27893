//! Encoded bodies: decoded, masked and encoded again in their own coding; a BOM kept; what
//! cannot be decoded within the limit masked whole, never kept in clear.

use std::io::Write;

use bytes::Bytes;

use super::super::{MASK, Redactor, Rule};
use crate::event::{DeliveryResult, HeaderList, Outcome};
use crate::pretty::body::{Coding, MAX_DECODED, decode_as};

const JSON: &[u8] = br#"{"user":"ann","apiKey":"sk_live_SECRET","n":[1,2]}"#;
const MASKED: &[u8] = br#"{"user":"ann","apiKey":"[redacted]","n":[1,2]}"#;

fn redactor(rules: &[&str]) -> Redactor {
    Redactor::new(rules.iter().map(|r| Rule::parse(r).unwrap()).collect())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Runs the rules over a Target answer with these headers and body; its headers and body after.
fn stored(rules: &[&str], headers: &[(&str, &str)], body: &[u8]) -> (HeaderList, Bytes) {
    let mut result = DeliveryResult {
        outcome: Outcome::Ok,
        status: Some(200),
        headers: HeaderList(
            headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
        ),
        body: Bytes::copy_from_slice(body),
        error: None,
        duration_us: 1,
    };
    redactor(rules).result(&mut result);
    (result.headers, result.body)
}

fn decoded(coding: Coding, body: &[u8]) -> Vec<u8> {
    let d = decode_as(coding, body, MAX_DECODED).unwrap();
    assert_eq!(d.coding, coding, "encoded again in the same form");
    d.bytes
}

#[test]
fn every_coding_is_decoded_masked_and_encoded_again_in_the_same_form() {
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    zlib.write_all(JSON).unwrap();
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    raw.write_all(JSON).unwrap();
    let mut br = Vec::new();
    brotli::CompressorWriter::new(&mut br, 4096, 5, 22)
        .write_all(JSON)
        .unwrap();
    for (name, coding, body) in [
        ("gzip", Coding::Gzip, gzip(JSON)),
        (" X-GZIP ", Coding::Gzip, gzip(JSON)),
        ("deflate", Coding::Zlib, zlib.finish().unwrap()),
        ("deflate", Coding::RawDeflate, raw.finish().unwrap()),
        ("br", Coding::Br, br.clone()),
    ] {
        let len = body.len().to_string();
        let (headers, out) = stored(
            &["json:.apiKey"],
            &[("Content-Encoding", name), ("Content-Length", &len)],
            &body,
        );
        assert_eq!(decoded(coding, &out), MASKED, "{name}");
        assert_eq!(headers.get_str("content-encoding"), Some(name), "{name}");
        assert_eq!(
            headers.get_str("content-length"),
            Some(out.len().to_string().as_str()),
            "{name}: the length is the stored body's"
        );
    }
    // `identity` around a real coding is no coding at all.
    let (_, out) = stored(
        &["json:.apiKey"],
        &[("content-encoding", "identity, gzip")],
        &gzip(JSON),
    );
    assert_eq!(decoded(Coding::Gzip, &out), MASKED);
}

#[test]
fn a_leading_bom_is_skipped_to_parse_and_kept() {
    let body = [b"\xEF\xBB\xBF".as_slice(), JSON].concat();
    let out = redactor(&["json:.apiKey"]).body(&body).unwrap();
    assert_eq!(&out[..], [b"\xEF\xBB\xBF".as_slice(), MASKED].concat());
    let (_, out) = stored(
        &["json:.apiKey"],
        &[("content-encoding", "gzip")],
        &gzip(&body),
    );
    assert_eq!(
        decoded(Coding::Gzip, &out),
        [b"\xEF\xBB\xBF", MASKED].concat()
    );
}

#[test]
fn what_cannot_be_decoded_is_masked_whole_never_kept_in_clear() {
    let bomb = gzip(&vec![b' '; 64 << 10]);
    let zstd_like = [b"\x28\xb5\x2f\xfd".as_slice(), JSON].concat();
    for (encoding, body, why) in [
        (
            "gzip",
            b"not gzip sk_live_SECRET".to_vec(),
            "could not be decoded as gzip",
        ),
        (
            "zstd",
            zstd_like.clone(),
            "'zstd' is not one hooktap decodes",
        ),
        ("gzip, br", gzip(JSON), "'gzip, br' is not one"),
        ("gzip", bomb, "decodes to more than 1.0 KiB"),
    ] {
        let mut result = DeliveryResult {
            outcome: Outcome::Ok,
            status: Some(200),
            headers: HeaderList(vec![
                ("Content-Encoding".into(), encoding.as_bytes().to_vec()),
                ("content-length".into(), body.len().to_string().into_bytes()),
            ]),
            body: Bytes::from(body),
            error: None,
            duration_us: 1,
        };
        redactor(&["json:.apiKey"])
            .max_decoded(1 << 10)
            .result(&mut result);
        let text: String = serde_json::from_slice(&result.body).unwrap();
        assert!(text.starts_with(&format!("{MASK} whole body: ")), "{text}");
        assert!(text.contains(why), "{encoding}: {text}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(
            !result.headers.contains("content-encoding"),
            "the marker is stored without a coding"
        );
        assert_eq!(
            result.headers.get_str("content-length"),
            Some(result.body.len().to_string().as_str())
        );
    }
    // Two Content-Encoding lines are a chain too.
    let (headers, out) = stored(
        &["json:.apiKey"],
        &[("content-encoding", "gzip"), ("Content-Encoding", "gzip")],
        &gzip(&gzip(JSON)),
    );
    assert!(out.starts_with(b"\"[redacted] whole body"));
    assert!(!headers.contains("content-encoding"));
}

#[test]
fn what_has_nothing_to_mask_is_kept_as_it_came() {
    let gz = gzip(JSON);
    // No json: rule: header rules never touch a body, even one they could not read.
    let (_, out) = stored(&["header:x"], &[("content-encoding", "zstd")], b"\x28\xb5");
    assert_eq!(&out[..], b"\x28\xb5");
    // Decoded, but nothing to mask: the original bytes, not a new compression of them.
    for rules in [["json:.missing"], ["json:.user.x"]] {
        let (_, out) = stored(&rules, &[("content-encoding", "gzip")], &gz);
        assert_eq!(&out[..], &gz[..]);
    }
    let (_, out) = stored(
        &["json:.a"],
        &[("content-encoding", "gzip")],
        &gzip(b"<html>"),
    );
    assert_eq!(decoded(Coding::Gzip, &out), b"<html>");
    // An empty body (a HEAD, a 204) has nothing to decode.
    let (headers, out) = stored(&["json:.a"], &[("content-encoding", "br")], b"");
    assert!(out.is_empty());
    assert_eq!(headers.get_str("content-encoding"), Some("br"));
}
