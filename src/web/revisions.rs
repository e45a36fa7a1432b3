//! "How final are the numbers?" (docs/reading-the-numbers.md): the report months SPD revised, first fetch against
//! now (`/api/revisions`, from `marts.mart_month_revisions`), and the typical drift by a month's age when first
//! fetched (`/api/revisions/drift`, from `marts.mart_revision_drift`). Blocking (DuckDB), as [`super::queries`].

use duckdb::Connection;
use serde::Serialize;

use super::filters::Category;

const REVISIONS_SQL: &str = include_str!("sql/revisions.sql");
const REVISION_DRIFT_SQL: &str = include_str!("sql/revision_drift.sql");

/// One revised report month of one category (`all` = the three summed).
#[derive(Debug, Serialize)]
pub struct RevisionRow {
    pub month: String,
    pub offense_category: String,
    /// When the oldest stored version was fetched (UTC); null when it was kept without its record.
    pub first_fetched_at: Option<String>,
    /// Rows of the oldest stored version.
    pub first_count: i64,
    /// Rows now (the live version; 0 when the source deleted the month).
    pub count: i64,
    /// Versions the lake stores, the live one included.
    pub versions: i64,
}

pub fn revisions(c: &Connection) -> duckdb::Result<Vec<RevisionRow>> {
    let mut stmt = c.prepare_cached(REVISIONS_SQL)?;
    let rows = stmt.query_map([], |r| {
        Ok(RevisionRow {
            month: r.get(0)?,
            offense_category: Category::label_of(&r.get::<_, String>(1)?),
            first_fetched_at: r.get(2)?,
            first_count: r.get(3)?,
            count: r.get(4)?,
            versions: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// The typical drift of revised months first fetched at one age (whole months after the report month).
#[derive(Debug, Serialize)]
pub struct DriftRow {
    pub age_months: i64,
    /// Revised months of that age the figures rest on.
    pub months: i64,
    pub median_change_pct: f64,
    pub change_pct_p25: f64,
    pub change_pct_p75: f64,
}

pub fn drift(c: &Connection) -> duckdb::Result<Vec<DriftRow>> {
    let mut stmt = c.prepare_cached(REVISION_DRIFT_SQL)?;
    let rows = stmt.query_map([], |r| {
        Ok(DriftRow {
            age_months: r.get(0)?,
            months: r.get(1)?,
            median_change_pct: r.get(2)?,
            change_pct_p25: r.get(3)?,
            change_pct_p75: r.get(4)?,
        })
    })?;
    rows.collect()
}
