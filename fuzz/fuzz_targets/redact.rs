//! Redaction of JSON bodies: for any body and rule, a body that was JSON is still JSON after
//! masking, every value the rule names reads `"[redacted]"`, and nothing changes otherwise.
#![no_main]

use hooktap::redact::{MASK, Redactor, Rule};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;

fn lookup<'v>(v: &'v Value, path: &[&str], out: &mut Vec<&'v Value>) {
    match path.split_first() {
        None => out.push(v),
        Some((k, rest)) => {
            if let Value::Object(m) = v
                && let Some(x) = m.get(*k)
            {
                lookup(x, rest, out);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(newline) = data.iter().position(|b| *b == b'\n') else {
        return;
    };
    let (rule, body) = (&data[..newline], &data[newline + 1..]);
    let Ok(rule) = std::str::from_utf8(rule) else {
        return;
    };
    let Ok(parsed) = Rule::parse(&format!("json:{rule}")) else {
        return;
    };
    let r = Redactor::new(vec![parsed]);
    let Some(out) = r.body(body) else {
        return;
    };
    // A leading UTF-8 BOM is skipped to parse, and kept.
    let bom = b"\xEF\xBB\xBF".as_slice();
    let (body, out) = match (body.strip_prefix(bom), out.strip_prefix(bom)) {
        (Some(body), Some(out)) => (body, out),
        (None, _) => (body, &out[..]),
        (Some(_), None) => panic!("the BOM before a masked body was dropped"),
    };
    // Grammar only (RawValue): a number like 1E999 is valid JSON that `Value` cannot hold.
    serde_json::from_slice::<Box<RawValue>>(body).expect("only JSON bodies are masked");
    serde_json::from_slice::<Box<RawValue>>(&out).expect("a masked JSON body is still JSON");
    let Ok(after) = serde_json::from_slice::<Value>(&out) else {
        return;
    };
    // For plain key paths, the value at the path is the mask (serde_json keeps the last of
    // duplicate keys; every copy is masked, so the last one is too).
    let keys: Option<Vec<&str>> = rule
        .strip_prefix('.')
        .map(|p| p.split('.').collect())
        .filter(|k: &Vec<&str>| k.iter().all(|k| !k.is_empty() && !k.contains('[')));
    if let Some(keys) = keys {
        let mut found = Vec::new();
        lookup(&after, &keys, &mut found);
        for v in found {
            assert_eq!(v, &Value::String(MASK.into()), "rule {rule} left a value");
        }
    }
});
