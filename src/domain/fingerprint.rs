//! What the source says about a report month, and where a month's rows came from: the lake keeps both in its
//! manifest, ingest compares them to decide what to fetch.

use serde::{Deserialize, Serialize};

/// A report month's fingerprint, as the server computes it. Any difference means the month changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub count: u64,
    /// `max(:updated_at)`; `None` when the server refused to aggregate it (or for CSV imports).
    pub max_updated_at: Option<String>,
    /// `sum(offense_id::number)`, as the server printed it; `None` when refused (or for CSV imports).
    pub content_sum: Option<String>,
}

/// Where a row came from (the lake's `source_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Soda,
    Csv,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Soda => "soda",
            SourceKind::Csv => "csv",
        }
    }
}
