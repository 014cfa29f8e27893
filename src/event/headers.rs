//! Headers as they arrived: ordered, duplicates kept, names as received, values as raw bytes,
//! and the compact encoding the Store keeps them in.

/// Headers in the order they arrived, duplicates kept; names as received, values as raw bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderList(pub Vec<(String, Vec<u8>)>);

impl HeaderList {
    /// The first value of `name` (case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name` as text, if present and valid UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Whether a header called `name` is present (case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends one header at the end.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.0.push((name.into(), value.into()));
    }

    /// Removes every header called `name` (case-insensitive).
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Replaces every header called `name` with one header of that value, kept at the first
    /// position the name had (or appended).
    pub fn set(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        let value = value.into();
        match self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(at) => {
                self.0[at].1 = value;
                let mut seen = false;
                self.0.retain(|(n, _)| {
                    let same = n.eq_ignore_ascii_case(name);
                    let keep = !same || !seen;
                    seen |= same;
                    keep
                });
            }
            None => self.push(name, value),
        }
    }

    /// Iterates over `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Encodes as bytes for the Store: per header a u16 name length, the name, a u32 value
    /// length and the value (big-endian). Exact and cheap; no text re-encoding.
    pub fn encode(&self) -> Vec<u8> {
        let size = self.0.iter().map(|(n, v)| 6 + n.len() + v.len()).sum();
        let mut out = Vec::with_capacity(size);
        for (name, value) in &self.0 {
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        }
        out
    }

    /// Decodes what [`HeaderList::encode`] wrote; `None` if the bytes are not such an encoding.
    pub fn decode(mut bytes: &[u8]) -> Option<HeaderList> {
        let mut list = Vec::new();
        while !bytes.is_empty() {
            let (len, rest) = bytes.split_first_chunk::<2>()?;
            let (name, rest) = rest.split_at_checked(u16::from_be_bytes(*len) as usize)?;
            let (len, rest) = rest.split_first_chunk::<4>()?;
            let (value, rest) = rest.split_at_checked(u32::from_be_bytes(*len) as usize)?;
            list.push((String::from_utf8(name.to_vec()).ok()?, value.to_vec()));
            bytes = rest;
        }
        Some(HeaderList(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_list_round_trips_bytes_and_order() {
        let mut h = HeaderList::default();
        h.push("X-A", b"1".to_vec());
        h.push("x-a", vec![0xff, 0x00, b'z']);
        h.push("content-type", b"application/json".to_vec());
        h.push("empty", Vec::new());
        let back = HeaderList::decode(&h.encode()).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.get("X-a"), Some(&b"1"[..]));
    }

    #[test]
    fn header_list_decode_rejects_truncated_input() {
        let mut h = HeaderList::default();
        h.push("name", b"value".to_vec());
        let bytes = h.encode();
        for cut in 1..bytes.len() {
            assert!(HeaderList::decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn set_replaces_all_values_in_place() {
        let mut h = HeaderList::default();
        h.push("a", b"1".to_vec());
        h.push("B", b"2".to_vec());
        h.push("b", b"3".to_vec());
        h.set("b", b"9".to_vec());
        assert_eq!(
            h.0,
            vec![("a".into(), b"1".to_vec()), ("B".into(), b"9".to_vec())]
        );
    }
}
