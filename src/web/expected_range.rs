//! The trend's "expected range" (docs/reading-the-numbers.md): per month, the range its count is expected in
//! from the same month of previous years (`/api/expected-range`, from `marts.mart_expected_range`), city-wide.
//! Blocking (DuckDB), as [`super::queries`].

use duckdb::Connection;
use serde::Serialize;

use super::filters::Category;
use crate::domain::category::Axis;

const EXPECTED_RANGE_SQL: &str = include_str!("sql/expected_range.sql");

/// One month of one category (`all` = the three summed).
#[derive(Debug, Serialize)]
pub struct ExpectedRow {
    pub month: String,
    pub offense_category: String,
    /// The earlier same months the range rests on.
    pub years: i64,
    /// Their mean, and the 95% range of a count around it.
    pub expected: f64,
    pub expected_low: f64,
    pub expected_high: f64,
}

pub fn expected_range(c: &Connection, axis: Axis) -> duckdb::Result<Vec<ExpectedRow>> {
    let mut stmt = c.prepare_cached(EXPECTED_RANGE_SQL)?;
    let rows = stmt.query_map(duckdb::named_params! { "axis": axis.as_str() }, |r| {
        Ok(ExpectedRow {
            month: r.get(0)?,
            offense_category: Category::label_of(&r.get::<_, String>(1)?),
            years: r.get(2)?,
            expected: r.get(3)?,
            expected_low: r.get(4)?,
            expected_high: r.get(5)?,
        })
    })?;
    rows.collect()
}
