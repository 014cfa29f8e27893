//! What an imported record must be to enter the Store: a request some sender could have sent
//! (an HTTP token for a method, valid header names and values), statuses HTTP has, and bodies
//! no larger than `--max-body`. A record that is not is refused (an [`Invalid`] error): the
//! import says which and why, and goes on with the others.

use serde_json::Value;

/// The largest body `import` takes by default: the same as `listen --max-body`.
pub const MAX_BODY: u64 = 25 << 20;

/// What an import holds each record to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest request or response body, in bytes.
    pub max_body: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_body: MAX_BODY }
    }
}

/// A record that no sender could have sent, or that is over a limit: it is refused, and the
/// import goes on with the next.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// A record the import refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Where it is in the file: `line 3`, `HAR entry 2`.
    pub at: String,
    /// Why, with the field at fault.
    pub why: String,
}

fn invalid(why: String) -> anyhow::Error {
    anyhow::Error::new(Invalid(why))
}

/// Whether `e` (or what it wraps) refuses a record rather than the whole file.
pub fn is_invalid(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Invalid>())
}

/// `method` if it is an HTTP token (`POST`, `PROPFIND`; no spaces, controls or separators).
pub fn method(method: &str) -> anyhow::Result<()> {
    if method.is_empty() || http::Method::from_bytes(method.as_bytes()).is_err() {
        return Err(invalid(format!(
            "the method {method:?} is not an HTTP token"
        )));
    }
    Ok(())
}

/// `value` if `name` is a header name and `value` bytes HTTP allows in a header (no CR, LF or
/// NUL): an imported Event must be one that could have arrived, and that replay and curl can
/// send.
pub fn header(name: &str, value: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(invalid(format!("{name:?} is not a valid header name")));
    }
    if http::HeaderValue::from_bytes(&value).is_err() {
        return Err(invalid(format!(
            "the value of header {name:?} holds bytes HTTP does not allow"
        )));
    }
    Ok(value)
}

/// A Delivery's `status`: absent or null for none, else a number from 100 to 999.
pub fn status(d: &Value) -> anyhow::Result<Option<u16>> {
    match d.get("status") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(s @ 100..=999) => Ok(Some(s as u16)),
            _ => Err(invalid(format!(
                "status {v} is not an HTTP status (100 to 999)"
            ))),
        },
    }
}

/// Refuses a body (`what`: "the body", "the response body") longer than the limit.
pub fn body_size(what: &str, len: usize, limits: &Limits) -> anyhow::Result<()> {
    if len as u64 > limits.max_body {
        return Err(invalid(format!(
            "{what} is {} bytes, over --max-body ({} bytes); pass a larger --max-body to \
             import it",
            len, limits.max_body
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn methods_must_be_tokens() {
        for good in ["POST", "get", "PROPFIND", "M-SEARCH"] {
            assert!(method(good).is_ok(), "{good}");
        }
        for bad in ["", "PO ST", "POST\r", "\x1b[31mPOST", "GET/", "PÖST"] {
            let err = method(bad).unwrap_err();
            assert!(is_invalid(&err), "{bad:?}");
            assert!(err.to_string().contains("is not an HTTP token"), "{err}");
        }
        // The message shows a control escaped, never raw.
        assert!(!method("\x1b[2J").unwrap_err().to_string().contains('\x1b'));
    }

    #[test]
    fn header_names_and_values_must_be_valid() {
        assert_eq!(header("X-Ok", b"a b".to_vec()).unwrap(), b"a b");
        assert!(header("X-Latin1", b"caf\xe9".to_vec()).is_ok());
        for bad in ["", "X Bad", "X-\x1b", "X-A\r", "X:A", "Ünï"] {
            let err = header(bad, b"v".to_vec()).unwrap_err();
            assert!(
                err.to_string().contains("is not a valid header name"),
                "{err}"
            );
        }
        let err = header("X-A", b"a\r\nx: y".to_vec()).unwrap_err();
        assert!(is_invalid(&err) && err.to_string().contains("does not allow"));
    }

    #[test]
    fn statuses_are_three_digits_or_none() {
        assert_eq!(status(&json!({})).unwrap(), None);
        assert_eq!(status(&json!({"status": null})).unwrap(), None);
        assert_eq!(status(&json!({"status": 404})).unwrap(), Some(404));
        for bad in [
            json!(70000),
            json!(99),
            json!(-1),
            json!(200.5),
            json!("200"),
        ] {
            let err = status(&json!({ "status": bad })).unwrap_err();
            assert!(err.to_string().contains("is not an HTTP status"), "{err}");
        }
    }

    #[test]
    fn bodies_over_the_limit_are_refused() {
        let limits = Limits { max_body: 4 };
        assert!(body_size("the body", 4, &limits).is_ok());
        let err = body_size("the body", 5, &limits).unwrap_err();
        assert!(is_invalid(&err));
        assert!(
            err.to_string()
                .starts_with("the body is 5 bytes, over --max-body (4 bytes)")
        );
        assert_eq!(Limits::default().max_body, 25 << 20);
    }
}
