//! The indexed terms of a filter as a SQL `WHERE` fragment over `events`, with bound
//! parameters (values are never written into the SQL text).

use rusqlite::types::Value;

use super::{Filter, Test};

/// A `WHERE` fragment and the parameters its `?` placeholders take, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sql {
    /// E.g. `provider = ? AND status BETWEEN ? AND ?`; `1` when no term is indexed.
    pub clause: String,
    /// One value per `?`, in order.
    pub params: Vec<Value>,
}

impl Filter {
    /// The SQL for every term that SQL can answer. Terms that need headers or body are left
    /// out: check rows with [`Filter::matches`] afterwards when [`Filter::needs_body`].
    pub fn sql(&self) -> Sql {
        let mut parts = Vec::new();
        let mut params = Vec::new();
        for term in &self.terms {
            let Some(part) = term_sql(&term.test, &mut params) else {
                continue;
            };
            // `coalesce(.., 0)`: a NULL (no status yet, no type) fails a positive term and so
            // passes its negation, the same as in Rust.
            parts.push(if term.negated {
                format!("NOT coalesce(({part}), 0)")
            } else {
                part
            });
        }
        Sql {
            clause: if parts.is_empty() {
                "1".into()
            } else {
                parts.join(" AND ")
            },
            params,
        }
    }
}

fn term_sql(test: &Test, params: &mut Vec<Value>) -> Option<String> {
    let text = |s: &str| Value::Text(s.to_string());
    let sql = match test {
        Test::Method(m) => {
            params.push(text(m));
            // A collation, not `upper(method)`: no function call per row. A filter that matches
            // nothing walks the whole index, and this made that walk 40 % faster.
            "method = ? COLLATE NOCASE"
        }
        Test::Path(glob) => {
            params.push(text(&sqlite_glob(glob)));
            "path GLOB ?"
        }
        Test::Status { low, high } if low == high => {
            params.push(Value::Integer(i64::from(*low)));
            "status = ?"
        }
        Test::Status { low, high } => {
            params.push(Value::Integer(i64::from(*low)));
            params.push(Value::Integer(i64::from(*high)));
            "status BETWEEN ? AND ?"
        }
        Test::Outcome(o) => {
            params.push(text(o.as_str()));
            "outcome = ?"
        }
        Test::Provider(p) => {
            params.push(text(p));
            "provider = ?"
        }
        Test::Type(glob) => {
            params.push(text(&sqlite_glob(glob)));
            "event_type GLOB ?"
        }
        Test::Sig(s) => {
            params.push(text(s.as_str()));
            "signature = ?"
        }
        Test::After(t) => {
            params.push(Value::Integer(*t));
            "received_at >= ?"
        }
        Test::Before(t) => {
            params.push(Value::Integer(*t));
            "received_at < ?"
        }
        Test::Id { low, high } => {
            params.push(Value::Integer(*low));
            params.push(Value::Integer(*high));
            "id BETWEEN ? AND ?"
        }
        Test::Replayed => "replayed != 0",
        Test::Header { .. } | Test::Json { .. } | Test::Text(_) => return None,
    };
    Some(sql.to_string())
}

/// Our globs know only `*` and `?`; SQLite's also treat `[` as a character class, so a literal
/// `[` is written `[[]`.
fn sqlite_glob(glob: &str) -> String {
    glob.replace('[', "[[]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;

    #[test]
    fn indexed_terms_become_bound_parameters() {
        let f = parse("provider:ayrshare status:5xx -outcome:failed path:/a[1]/* x").unwrap();
        let sql = f.sql();
        assert_eq!(
            sql.clause,
            "provider = ? AND status BETWEEN ? AND ? AND NOT coalesce((outcome = ?), 0) \
             AND path GLOB ?"
        );
        assert_eq!(
            sql.params,
            vec![
                Value::Text("ayrshare".into()),
                Value::Integer(500),
                Value::Integer(599),
                Value::Text("failed".into()),
                Value::Text("/a[[]1]/*".into()),
            ]
        );
    }

    #[test]
    fn values_never_reach_the_sql_text() {
        let f = parse(r#"provider:"x' OR 1=1 --" type:"a'b""#).unwrap();
        let sql = f.sql();
        assert!(!sql.clause.contains('\''), "{}", sql.clause);
        assert_eq!(sql.params.len(), 2);
    }

    #[test]
    fn residual_only_filters_select_everything() {
        assert_eq!(parse("hello json:.a=1").unwrap().sql().clause, "1");
        assert_eq!(parse("").unwrap().sql().clause, "1");
    }
}
