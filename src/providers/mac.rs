//! The signature toolbox every provider shares: HMAC-SHA256, a constant-time MAC compare with a
//! length check, hex/base64 decoding, the timestamp tolerance, and the verdict type.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::event::Signature;

/// The replay window of Stripe, Standard Webhooks, Svix and Slack, in seconds.
pub const TOLERANCE: i64 = 300;

/// HMAC-SHA256 of the concatenation of `parts`, keyed with `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether `given` is exactly `expected`: lengths first (an empty, truncated or over-long MAC
/// never matches), then the bytes in constant time.
pub fn macs_equal(expected: &[u8], given: &[u8]) -> bool {
    expected.len() == given.len() && bool::from(expected.ct_eq(given))
}

/// Decodes hex in either case; `None` if it is not hex.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.trim()).ok()
}

/// Decodes standard base64 (with padding); `None` if it is not base64.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.trim()).ok()
}

/// Standard base64 with padding.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The verdict on one Event's signature, with the reason in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub signature: Signature,
    pub detail: Option<String>,
}

impl Verdict {
    /// A signature that verified.
    pub fn valid(detail: impl Into<String>) -> Verdict {
        Verdict {
            signature: Signature::Valid,
            detail: Some(detail.into()),
        }
    }

    /// A signature that did not verify, and why.
    pub fn invalid(why: impl Into<String>) -> Verdict {
        Verdict {
            signature: Signature::Invalid,
            detail: Some(why.into()),
        }
    }

    /// No signature on an Event from a provider that signs.
    pub fn unsigned(why: impl Into<String>) -> Verdict {
        Verdict {
            signature: Signature::Unsigned,
            detail: Some(why.into()),
        }
    }

    /// A signature that could not be checked: no secret is configured for `provider`.
    pub fn unchecked(provider: &str) -> Verdict {
        let env = provider.to_ascii_uppercase().replace('-', "_");
        Verdict {
            signature: Signature::Unchecked,
            detail: Some(format!(
                "no secret for {provider}: pass --secret {provider}=SECRET or set \
                 HOOKTAP_SECRET_{env}"
            )),
        }
    }
}

/// Checks a unix timestamp header against `now`: `Ok(age)` within tolerance, else the reason.
/// `future` says whether timestamps too far ahead are refused too (Stripe's libraries only
/// refuse old ones).
pub fn check_timestamp(text: &str, now: i64, future: bool) -> Result<i64, String> {
    let ts: i64 = text
        .trim()
        .parse()
        .map_err(|_| format!("malformed timestamp '{}'", clip(text, 20)))?;
    let age = now.saturating_sub(ts);
    if age > TOLERANCE {
        return Err(format!(
            "stale timestamp: {age} s old (tolerance {TOLERANCE} s); re-send with --resign"
        ));
    }
    if future && age < -TOLERANCE {
        return Err(format!(
            "timestamp {} s in the future (tolerance {TOLERANCE} s): is a clock wrong?",
            age.unsigned_abs()
        ));
    }
    Ok(age)
}

/// `"3 s old"`, `"2 s ahead"`: a timestamp's age for people.
pub fn describe_age(age: i64) -> String {
    if age >= 0 {
        format!("{age} s old")
    } else {
        format!("{} s ahead", age.unsigned_abs())
    }
}

/// At most `max` characters of `text`, with `…` when cut. Never splits a character.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_needs_equal_length() {
        let mac = hmac_sha256(b"k", &[b"body"]);
        assert!(macs_equal(&mac, &mac));
        assert!(!macs_equal(&mac, &[]));
        assert!(!macs_equal(&mac, &mac[..31]));
        let mut long = mac.to_vec();
        long.push(0);
        assert!(!macs_equal(&mac, &long));
        let mut flipped = mac;
        flipped[31] ^= 1;
        assert!(!macs_equal(&mac, &flipped));
    }

    #[test]
    fn hmac_of_parts_is_hmac_of_concatenation() {
        assert_eq!(
            hmac_sha256(b"k", &[b"a.", b"b"]),
            hmac_sha256(b"k", &[b"a.b"])
        );
    }

    #[test]
    fn tolerance_edges() {
        let now = 1_700_000_000;
        assert_eq!(
            check_timestamp(&(now - 300).to_string(), now, true),
            Ok(300)
        );
        assert!(check_timestamp(&(now - 301).to_string(), now, true).is_err());
        assert_eq!(
            check_timestamp(&(now + 300).to_string(), now, true),
            Ok(-300)
        );
        assert!(check_timestamp(&(now + 301).to_string(), now, true).is_err());
        assert!(check_timestamp(&(now + 301).to_string(), now, false).is_ok());
        assert!(check_timestamp("soon", now, true).is_err());
    }

    #[test]
    fn clip_respects_characters() {
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hi", 2), "hi");
    }
}
