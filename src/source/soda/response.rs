//! The server's answers: the fingerprint aggregate, and Socrata's error bodies turned into [`SourceError`]s.

use std::collections::BTreeMap;

use crate::domain::{Fingerprint, Month};
use crate::source::soql::Aggregates;
use crate::source::SourceError;

/// Per-month fingerprints and how they were computed.
#[derive(Debug, Clone)]
pub struct Fingerprints {
    pub months: BTreeMap<Month, Fingerprint>,
    /// The optional aggregates the server answered (the count it always does).
    pub aggregates: Aggregates,
}

impl Fingerprints {
    /// Both answers in one: `self`'s months and counts, each month's `:updated_at` and sum from whichever answer
    /// has it (each optional aggregate was asked for alone, in its own request).
    pub fn merge(mut self, other: Fingerprints) -> Fingerprints {
        for (month, theirs) in other.months {
            let ours = self.months.entry(month).or_insert_with(|| theirs.clone());
            ours.max_updated_at = ours.max_updated_at.take().or(theirs.max_updated_at);
            ours.content_sum = ours.content_sum.take().or(theirs.content_sum);
        }
        self.aggregates = self.aggregates.union(other.aggregates);
        self
    }
}

/// Socrata's error body, read loosely: `errorCode` (query errors) or `code` (dataset errors) or just `message`.
#[derive(Debug, Clone, PartialEq)]
pub struct SocrataError {
    pub code: Option<String>,
    pub message: String,
}

impl SocrataError {
    pub fn parse(body: &[u8]) -> SocrataError {
        let v: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let text = |k: &str| v.as_ref().and_then(|v| v.get(k)).and_then(|x| x.as_str()).map(str::to_string);
        let code = text("errorCode").or_else(|| text("code"));
        let message = text("message").unwrap_or_else(|| {
            let s = String::from_utf8_lossy(body);
            let s = s.trim();
            if s.is_empty() {
                "(empty body)".to_string()
            } else {
                s.chars().take(300).collect()
            }
        });
        SocrataError { code, message }
    }

    /// The column named by a `no-such-column` error, if this is one.
    pub fn missing_column(&self) -> Option<String> {
        let is_it = self.code.as_deref().is_some_and(|c| c.contains("no-such-column"))
            || self.message.to_ascii_lowercase().contains("no such column");
        if !is_it {
            return None;
        }
        let lower = self.message.to_ascii_lowercase();
        let column = lower.find("no such column").map(|i| {
            let rest = &self.message[i + "no such column".len()..];
            let rest = rest.trim_start_matches([':', ' ']);
            rest.split(|c: char| c == ';' || c == ',' || c.is_whitespace()).next().unwrap_or("").to_string()
        });
        Some(column.filter(|c| !c.is_empty()).unwrap_or_else(|| "(not named by the server)".into()))
    }
}

pub(super) fn terminal(status: u16, url: &str, body: &[u8]) -> SourceError {
    let err = SocrataError::parse(body);
    if let Some(column) = err.missing_column() {
        return SourceError::SchemaChanged { column, url: url.to_string() };
    }
    let hint = match status {
        401 | 403 => {
            "the server refused the request: check SODA_APP_TOKEN (or unset it) and that the dataset is public"
        }
        404 => "no such dataset at this host: check --dataset and --socrata-url",
        _ => "the server refused the query; this is not retried",
    };
    SourceError::Rejected { url: url.to_string(), status, code: err.code, message: err.message, hint }
}

/// A JSON value as the text the source meant (SODA sends strings; other servers may send numbers).
fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Parses the fingerprint aggregate: `[{"month": "2024-03-01T00:00:00.000", "n": "6512", "u": ..., "s": ...}]`.
pub fn parse_fingerprints(body: &[u8]) -> Result<BTreeMap<Month, Fingerprint>, String> {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(body).map_err(|e| format!("aggregate body is not a JSON array: {e}"))?;
    let mut out = BTreeMap::new();
    for r in rows {
        let Some(month_text) = r.get("month").and_then(text_of) else {
            continue; // rows without a report date: not in any month (and outside the range filter anyway)
        };
        let month = month_text
            .get(..7)
            .and_then(|m| Month::parse(m).ok())
            .ok_or_else(|| format!("aggregate month {month_text:?} is not a date"))?;
        let count = r
            .get("n")
            .and_then(text_of)
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| *n >= 0.0 && n.fract() == 0.0)
            .ok_or_else(|| format!("aggregate count for {month} is missing or not a whole number"))?
            as u64;
        out.insert(
            month,
            Fingerprint {
                count,
                max_updated_at: r.get("u").and_then(text_of),
                content_sum: r.get("s").and_then(text_of),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_socrata_error_shapes_and_bare_messages_parse() {
        let e = SocrataError::parse(br#"{"message": "Query coordinator error: query.soql.no-such-column; No such column: report_date_time; position: Map(row -> 1)", "errorCode": "query.soql.no-such-column", "data": {}}"#);
        assert_eq!(e.code.as_deref(), Some("query.soql.no-such-column"));
        assert_eq!(e.missing_column().as_deref(), Some("report_date_time"));
        let e = SocrataError::parse(br#"{"code": "dataset.missing", "error": true, "message": "Not found"}"#);
        assert_eq!(e.code.as_deref(), Some("dataset.missing"));
        assert_eq!(e.missing_column(), None);
        let e = SocrataError::parse(br#"{"message": "No such column: offense_cat"}"#);
        assert_eq!(e.missing_column().as_deref(), Some("offense_cat"));
        let e = SocrataError::parse(b"<html>bad gateway</html>");
        assert_eq!(e.message, "<html>bad gateway</html>");
    }

    #[test]
    fn fingerprints_parse_strings_and_numbers() {
        let fp = parse_fingerprints(
            br#"[{"month":"2024-03-01T00:00:00.000","n":"6512","u":"2026-11-01T10:00:00.000Z","s":"123"},{"month":"2024-04-01T00:00:00.000","n":7}]"#,
        )
        .unwrap();
        let m = Month::parse("2024-03").unwrap();
        assert_eq!(fp[&m].count, 6512);
        assert_eq!(fp[&m].max_updated_at.as_deref(), Some("2026-11-01T10:00:00.000Z"));
        assert_eq!(fp[&m.next()], Fingerprint { count: 7, max_updated_at: None, content_sum: None });
        assert!(parse_fingerprints(br#"[{"month":"2024-03-01T00:0"#).is_err());
    }

    #[test]
    fn two_answers_of_one_aggregate_each_merge_into_one_fingerprint_per_month() {
        let m = Month::parse("2024-03").unwrap();
        let [updated_at, id_sum] = Aggregates::each_alone();
        let u = Fingerprints {
            months: parse_fingerprints(br#"[{"month":"2024-03-01T00:00:00.000","n":"5","u":"t1"}]"#).unwrap(),
            aggregates: updated_at,
        };
        let s = Fingerprints {
            months: parse_fingerprints(
                br#"[{"month":"2024-03-01T00:00:00.000","n":"5","s":"99"},{"month":"2024-04-01T00:00:00.000","n":"2","s":"7"}]"#,
            )
            .unwrap(),
            aggregates: id_sum,
        };
        let both = u.merge(s);
        assert_eq!(both.aggregates, Aggregates::ALL);
        let fp = |n, u: Option<&str>, s: &str| Fingerprint {
            count: n,
            max_updated_at: u.map(str::to_string),
            content_sum: Some(s.to_string()),
        };
        assert_eq!(both.months[&m], fp(5, Some("t1"), "99"));
        assert_eq!(both.months[&m.next()], fp(2, None, "7"), "a month only one answer has is kept");
    }
}
