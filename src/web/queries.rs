//! What the endpoints answer: the chart rows (computed from the serving index, [`super::serving`]), the range a
//! request covers, and the mart queries of the endpoints that still ask DuckDB (health, completeness). Blocking
//! (DuckDB): run those through [`Generation::with_conn`] in `spawn_blocking`.

use duckdb::Connection;
use serde::Serialize;

use super::bounds::Bounds;
use super::filters::{Category, Filters};
use super::published::Generation;
use super::WebError;
use crate::domain::Month;

const META_SQL: &str = include_str!("sql/meta.sql");
const FLAGGED_MONTHS_SQL: &str = include_str!("sql/flagged_months.sql");
const PROVISIONAL_RULE_SQL: &str = include_str!("sql/provisional_rule.sql");
const COMPLETENESS_SQL: &str = include_str!("sql/completeness.sql");

/// Longest range a request may ask for (100 years of months).
pub const MAX_RANGE_MONTHS: i64 = 1200;

/// Change against the prior count in percent, one decimal; `None` when the prior is unknown or 0.
pub(super) fn yoy_pct(count: i64, prior: Option<i64>) -> Option<f64> {
    match prior {
        Some(p) if p > 0 => Some(((count - p) as f64 * 1000.0 / p as f64).round() / 10.0),
        _ => None,
    }
}

/// The months a request covers, after defaults: `None` when the axis has no data or the range is empty.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub from: Month,
    pub to: Month,
    /// First month with data on this axis: a prior-year figure before it is unknown, not zero.
    pub data_from: Month,
}

impl Range {
    pub fn resolve(bounds: &Bounds, filters: &Filters) -> Result<Option<Range>, WebError> {
        let Some((first, last)) = bounds.of(filters.axis) else { return Ok(None) };
        let from = filters.from.unwrap_or(first);
        let to = filters.to.unwrap_or(last);
        if from > to {
            return Ok(None);
        }
        if from.months_until(to) >= MAX_RANGE_MONTHS {
            return Err(WebError::bad(
                "from",
                format!("the range {from}..{to} is longer than {MAX_RANGE_MONTHS} months; narrow `from`/`to`"),
            ));
        }
        Ok(Some(Range { from, to, data_from: first }))
    }

    /// Whether the whole range a year earlier lies within the data.
    pub(super) fn prior_known(&self) -> bool {
        self.from.year_earlier() >= self.data_from
    }
}

#[derive(Debug, Serialize)]
pub struct TrendRow {
    pub month: String,
    pub category: String,
    pub count: i64,
    /// The same month a year earlier (same filters); null when that month is before the first data.
    pub prior_year_count: Option<i64>,
    /// Change against `prior_year_count`, in percent, one decimal; null when the prior count is unknown or 0.
    pub yoy_pct: Option<f64>,
    pub is_partial: bool,
    pub is_provisional: bool,
    /// Against `prior_year_count` (src/web/significance.rs): the rate ratio, its 95% interval, and whether
    /// the interval excludes 1; all null when not comparable (the month is partial or its year-earlier month
    /// precedes the lake). Plain fields, not a flattened struct: the CSV writer cannot flatten.
    pub ratio: Option<f64>,
    pub ratio_low: Option<f64>,
    pub ratio_high: Option<f64>,
    pub significant: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct AreaRow {
    pub level: &'static str,
    pub area: String,
    /// The category filter these counts are for (`all` sums the three).
    pub category: &'static str,
    pub count: i64,
    /// The same date range a year earlier; null when that range starts before the first data.
    pub prior_year_count: Option<i64>,
    pub yoy_pct: Option<f64>,
    /// For `level=neighborhood`: the map polygon drawing this area, null when the name matches none.
    pub polygon: Option<&'static str>,
    /// Against `prior_year_count`, as in [`TrendRow`]; null when the range holds a partial month or its
    /// year-earlier range starts before the lake.
    pub ratio: Option<f64>,
    pub ratio_low: Option<f64>,
    pub ratio_high: Option<f64>,
    pub significant: Option<bool>,
}

/// `/api/completeness`: one recent occurrence month of one category (`all` = the three summed).
#[derive(Debug, Serialize)]
pub struct CompletenessRow {
    pub month: String,
    pub offense_category: String,
    /// Offenses of the month reported so far (the trend's `occurred` count).
    pub observed: i64,
    /// Share of the final count expected to be reported by now (0 … 1).
    pub completeness: f64,
    /// Expected final count and its 95% prediction interval; null when nothing is expected to be reported yet.
    pub nowcast: Option<f64>,
    pub nowcast_low: Option<f64>,
    pub nowcast_high: Option<f64>,
}

pub fn completeness(c: &Connection) -> duckdb::Result<Vec<CompletenessRow>> {
    let mut stmt = c.prepare_cached(COMPLETENESS_SQL)?;
    let rows = stmt.query_map([], |r| {
        Ok(CompletenessRow {
            month: r.get(0)?,
            offense_category: Category::label_of(&r.get::<_, String>(1)?),
            observed: r.get(2)?,
            completeness: r.get(3)?,
            nowcast: r.get(4)?,
            nowcast_low: r.get(5)?,
            nowcast_high: r.get(6)?,
        })
    })?;
    rows.collect()
}

#[derive(Debug, Serialize)]
pub struct OffenseRow {
    pub offense_sub_category: String,
    pub offense: String,
    pub category: String,
    pub count: i64,
}

#[derive(Debug, Serialize)]
pub struct HeatmapRow {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i32,
    pub weekday_name: &'static str,
    pub hour: i32,
    pub category: &'static str,
    pub count: i64,
}

pub(super) const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// `/api/health`: what is served and how fresh and final it is.
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    /// Counts up each time this server switches to a newly published warehouse.
    pub generation: u64,
    pub built_at: Option<String>,
    pub last_fetched_at: Option<String>,
    pub source_max_updated_at: Option<String>,
    pub lake_rows: Option<i64>,
    pub fact_rows: Option<i64>,
    pub excluded_rows: Option<i64>,
    /// Rows the source sent that could not be read (quarantined in the lake with their reasons).
    pub quarantined_rows: Option<i64>,
    pub occurred: Option<MonthSpan>,
    pub reported: Option<MonthSpan>,
    pub partial_months: Vec<String>,
    pub provisional_months: Vec<String>,
    /// How `provisional_months` were chosen (docs/reading-the-numbers.md).
    pub provisional_rule: Option<ProvisionalRule>,
}

/// `method` is `completeness` (months less than `complete_share` reported, measured from the reporting delays) or
/// `fixed` (the `fixed_months` months before the newest lake month: too little history to measure the delays).
#[derive(Debug, Serialize)]
pub struct ProvisionalRule {
    pub method: String,
    pub complete_share: f64,
    pub fixed_months: i32,
}

#[derive(Debug, Serialize)]
pub struct MonthSpan {
    pub first_month: String,
    pub last_month: String,
}

fn span(r: Option<(Month, Month)>) -> Option<MonthSpan> {
    r.map(|(a, b)| MonthSpan { first_month: a.to_string(), last_month: b.to_string() })
}

pub fn health(g: &Generation, bounds: &Bounds) -> Result<Health, WebError> {
    type Meta = (Option<String>, Option<String>, Option<String>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let meta: Meta = g.with_conn("meta", |c| {
        let mut stmt = c.prepare_cached(META_SQL)?;
        let mut rows = stmt.query([])?;
        match rows.next()? {
            Some(r) => Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            None => Ok((None, None, None, None, None, None, None)),
        }
    })?;
    let flagged: Vec<(String, bool, bool)> = g.with_conn("flagged_months", |c| {
        let mut stmt = c.prepare_cached(FLAGGED_MONTHS_SQL)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    })?;
    let provisional_rule = g.with_conn("provisional_rule", |c| {
        let mut stmt = c.prepare_cached(PROVISIONAL_RULE_SQL)?;
        let mut rows = stmt.query([])?;
        match rows.next()? {
            Some(r) => {
                Ok(Some(ProvisionalRule { method: r.get(0)?, complete_share: r.get(1)?, fixed_months: r.get(2)? }))
            }
            None => Ok(None),
        }
    })?;
    Ok(Health {
        status: "ok",
        generation: g.id,
        built_at: meta.0,
        last_fetched_at: meta.1,
        source_max_updated_at: meta.2,
        lake_rows: meta.3,
        fact_rows: meta.4,
        excluded_rows: meta.5,
        quarantined_rows: meta.6,
        occurred: span(bounds.occurred),
        reported: span(bounds.reported),
        partial_months: flagged.iter().filter(|m| m.1).map(|m| m.0.clone()).collect(),
        provisional_months: flagged.iter().filter(|m| m.2).map(|m| m.0.clone()).collect(),
        provisional_rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yoy_is_rounded_to_one_decimal_and_unknown_without_a_base() {
        assert_eq!(yoy_pct(110, Some(100)), Some(10.0));
        assert_eq!(yoy_pct(2, Some(3)), Some(-33.3));
        assert_eq!(yoy_pct(5, Some(0)), None);
        assert_eq!(yoy_pct(5, None), None);
    }
}
