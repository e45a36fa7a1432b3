use std::path::PathBuf;

use crate::domain::{FailureClass, Month};

/// Errors of the source stage. URLs never carry the app token (it travels in a header).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{url} failed after {attempts} tries: {last}\n  the server kept failing or throttling; check the URL and try again later, or raise source.max_attempts / source.timeout_seconds")]
    GaveUp { url: String, attempts: u32, last: String },

    #[error("{url} answered HTTP {status}{}: {message}\n  {hint}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Rejected { url: String, status: u16, code: Option<String>, message: String, hint: &'static str },

    #[error("the source has no column `{column}` any more ({url}): the dataset's schema changed\n  crimewatch maps source columns through an explicit table (src/source/fields.rs); add the new name there, or point --dataset/--socrata-url at the dataset you meant")]
    SchemaChanged { column: String, url: String },

    #[error("the source is missing required column{} {}: the dataset's schema changed or this is not the SPD crime dataset\n  check --dataset/--socrata-url; if SPD renamed the column, add the new name to src/source/fields.rs", if columns.len() > 1 { "s" } else { "" }, columns.join(", "))]
    MissingColumns { columns: Vec<String> },

    #[error("source columns {first} and {second} both map to lake column {column}: cannot tell which one to keep\n  drop one of them from the export (or the query)")]
    AmbiguousColumns { first: String, second: String, column: &'static str },

    #[error("{url}: the server returned no rows and no X-SODA2-Fields header, so the dataset's columns cannot be learned\n  check --dataset: an empty dataset cannot be mirrored")]
    NoSchema { url: String },

    #[error("report month {month}: fetched {fetched} rows but the server's own count is {expected}, twice\n  the source changed during the run or pages overlapped; run ingest again (the lake was not changed for this month)")]
    CountMismatch { month: Month, expected: u64, fetched: u64 },

    #[error("{url}: the server sent a page that is not a JSON array of rows: {detail}\n  the body arrived whole, so asking again would get the same page; this is the publisher's to fix (single bad rows are quarantined, not fatal)")]
    MalformedPage { url: String, detail: String },

    #[error("{url}: unexpected response: {message}")]
    BadResponse { url: String, message: String },

    #[error("--since {since} is after --until {until}\n  give --since a month on or before --until")]
    InvalidRange { since: Month, until: Month },

    #[error("cannot create the HTTP client: {0}")]
    Client(String),

    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("{path}: not an SPD CSV export: {message}\n  use the file the data portal's Export button gives (CSV), with headers in the first line")]
    CsvFormat { path: PathBuf, message: String },

    #[error("{path}: the export has no {column} column\n  {fix}")]
    CsvMissingColumn { path: PathBuf, column: &'static str, fix: &'static str },
}

impl SourceError {
    /// Whether trying again later may help: the source was unreachable, kept failing or throttling (the client's
    /// own retries ran out), answered 5xx/429, or changed during the run. A changed schema, a bad range or a bad
    /// export would fail the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::GaveUp { .. } | SourceError::CountMismatch { .. } | SourceError::BadResponse { .. } => true,
            SourceError::Rejected { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Whose problem this is: the source's (unreachable, refusing, answering unusably), or the user's (the
    /// range flags, the export file). [`SourceError::is_transient`] says whether trying again may help.
    pub fn class(&self) -> FailureClass {
        match self {
            SourceError::GaveUp { .. }
            | SourceError::Rejected { .. }
            | SourceError::SchemaChanged { .. }
            | SourceError::MissingColumns { .. }
            | SourceError::AmbiguousColumns { .. }
            | SourceError::NoSchema { .. }
            | SourceError::CountMismatch { .. }
            | SourceError::MalformedPage { .. }
            | SourceError::BadResponse { .. } => FailureClass::Source,
            SourceError::InvalidRange { .. }
            | SourceError::Io { .. }
            | SourceError::CsvFormat { .. }
            | SourceError::CsvMissingColumn { .. } => FailureClass::Usage,
            SourceError::Client(_) => FailureClass::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_throttled_or_moving_sources_are_transient_and_the_rest_is_not() {
        let rejected =
            |status| SourceError::Rejected { url: "u".into(), status, code: None, message: "m".into(), hint: "h" };
        let m = Month::parse("2024-03").unwrap();
        for e in [
            SourceError::GaveUp { url: "u".into(), attempts: 3, last: "timed out".into() },
            SourceError::CountMismatch { month: m, expected: 2, fetched: 1 },
            SourceError::BadResponse { url: "u".into(), message: "m".into() },
            rejected(503),
            rejected(429),
        ] {
            assert!(e.is_transient(), "{e}");
        }
        for e in [
            rejected(404),
            rejected(400),
            SourceError::SchemaChanged { column: "c".into(), url: "u".into() },
            SourceError::InvalidRange { since: m, until: m },
            SourceError::MalformedPage { url: "u".into(), detail: "expected '[' at byte 0 of the page".into() },
        ] {
            assert!(!e.is_transient(), "{e}");
        }
    }

    #[test]
    fn an_unreachable_or_refusing_source_is_the_sources_and_a_bad_range_or_export_the_users() {
        let m = Month::parse("2024-03").unwrap();
        let refused =
            SourceError::Rejected { url: "u".into(), status: 403, code: None, message: "m".into(), hint: "h" };
        let gave_up = SourceError::GaveUp { url: "u".into(), attempts: 3, last: "connection failed".into() };
        for e in [refused, gave_up, SourceError::SchemaChanged { column: "c".into(), url: "u".into() }] {
            assert_eq!(e.class(), FailureClass::Source, "{e}");
        }
        let bad_export = SourceError::CsvFormat { path: "x.csv".into(), message: "m".into() };
        for e in [SourceError::InvalidRange { since: m, until: m }, bad_export] {
            assert_eq!(e.class(), FailureClass::Usage, "{e}");
        }
    }
}
