//! The mart queries behind each endpoint. Blocking (DuckDB): run them through [`Generation::with_conn`] in
//! `spawn_blocking`. Values are bound as named parameters; the only fragments put into the SQL text are the
//! fixed strings of [`area_predicate`] and [`level_column`], chosen by enums.
//!
//! The charts read the `api_*` marts (the published marts' counts at the dashboard's grain: the area as one
//! `area_key`, the whole city on rows of its own) rather than the published marts, which are views over them:
//! a city-wide request reads only the city's rows, an area's request only the row groups of its key range.

use duckdb::Connection;
use serde::Serialize;

use super::bounds::Bounds;
use super::filters::{Category, Filters};
use super::geo;
use super::published::Generation;
use super::significance::{self, Comparison};
use super::WebError;
use crate::domain::category::{AreaLevel, OffenseCategory};
use crate::domain::Month;

const META_SQL: &str = include_str!("sql/meta.sql");
const FLAGGED_MONTHS_SQL: &str = include_str!("sql/flagged_months.sql");
const PROVISIONAL_RULE_SQL: &str = include_str!("sql/provisional_rule.sql");
const TREND_SQL: &str = include_str!("sql/trend.sql");
const AREAS_SQL: &str = include_str!("sql/areas.sql");
const AREAS_WITHIN_SQL: &str = include_str!("sql/areas_within.sql");
const AREA_KEYS_SQL: &str = include_str!("sql/area_keys.sql");
const OFFENSES_SQL: &str = include_str!("sql/offenses.sql");
const HEATMAP_SQL: &str = include_str!("sql/heatmap.sql");
const DISPERSION_SQL: &str = include_str!("sql/dispersion.sql");
const COMPLETENESS_SQL: &str = include_str!("sql/completeness.sql");

/// Longest range a request may ask for (100 years of months).
pub const MAX_RANGE_MONTHS: i64 = 1200;

/// The WHERE fragment for an area filter on an `api_*` mart; `$area`, `$lo` and `$hi` are always bound (NULL
/// when there is no filter). Without a filter it picks the whole city's rows (`area_key` NULL); with one, the
/// keys of that area, first by their range (a constant DuckDB can compare with each row group's min and max),
/// then exactly.
fn area_predicate(level: Option<AreaLevel>) -> &'static str {
    match level {
        None => "area_key is null and $area::varchar is null and $lo::integer is null and $hi::integer is null",
        Some(AreaLevel::Precinct) => {
            "area_key between $lo and $hi and area_key in (select area_key from marts.dim_area where precinct = $area)"
        }
        Some(AreaLevel::Sector) => {
            "area_key between $lo and $hi and area_key in (select area_key from marts.dim_area where sector = $area)"
        }
        Some(AreaLevel::Beat) => {
            "area_key between $lo and $hi and area_key in (select area_key from marts.dim_area where beat = $area)"
        }
        Some(AreaLevel::Neighborhood) => {
            "area_key between $lo and $hi and area_key in (select area_key from marts.dim_area where neighborhood = $area)"
        }
    }
}

/// The mart column of an area level.
fn level_column(level: AreaLevel) -> &'static str {
    match level {
        AreaLevel::Precinct => "precinct",
        AreaLevel::Sector => "sector",
        AreaLevel::Beat => "beat",
        AreaLevel::Neighborhood => "neighborhood",
    }
}

fn with_area(sql: &str, filters: &Filters) -> String {
    sql.replace("{area_predicate}", area_predicate(filters.area.as_ref().map(|(l, _)| *l)))
}

/// A month as the marts' `month DATE` column holds it: its first day.
fn month_param(m: Month) -> String {
    m.first_day().to_string()
}

fn yoy_pct(count: i64, prior: Option<i64>) -> Option<f64> {
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
    fn prior_known(&self) -> bool {
        self.from.year_earlier() >= self.data_from
    }
}

/// The values every mart query binds, taken once from a request's range and filters.
struct Bound<'f> {
    from: String,
    to: String,
    axis: &'static str,
    /// NULL for `all`.
    category: Option<&'static str>,
    /// NULL without an area filter.
    area: Option<&'f str>,
    /// The area's first and last `area_key` (NULL without an area filter, or for an area with no offenses).
    lo: Option<i32>,
    hi: Option<i32>,
}

impl<'f> Bound<'f> {
    fn new(c: &Connection, range: &Range, f: &'f Filters) -> duckdb::Result<Bound<'f>> {
        let (lo, hi) = match &f.area {
            None => (None, None),
            Some((level, area)) => {
                let sql = AREA_KEYS_SQL.replace("{level_column}", level_column(*level));
                let mut stmt = c.prepare_cached(&sql)?;
                stmt.query_row(duckdb::named_params! { "area": area }, |r| Ok((r.get(0)?, r.get(1)?)))?
            }
        };
        Ok(Bound {
            from: month_param(range.from),
            to: month_param(range.to),
            axis: f.axis.as_str(),
            category: f.category.mart_value(),
            area: f.area.as_ref().map(|(_, a)| a.as_str()),
            lo,
            hi,
        })
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

pub fn trend(c: &Connection, range: Range, f: &Filters) -> duckdb::Result<Vec<TrendRow>> {
    let mut stmt = c.prepare_cached(&with_area(TREND_SQL, f))?;
    let b = Bound::new(c, &range, f)?;
    let data_from = month_param(range.data_from);
    let params = duckdb::named_params! {
        "from": b.from, "to": b.to, "data_from": data_from, "axis": b.axis, "category": b.category, "area": b.area,
        "lo": b.lo, "hi": b.hi,
    };
    let rows = stmt.query_map(params, |r| {
        let count: i64 = r.get(2)?;
        let prior: Option<i64> = r.get(3)?;
        Ok(TrendRow {
            month: r.get(0)?,
            category: Category::label_of(&r.get::<_, String>(1)?),
            count,
            prior_year_count: prior,
            yoy_pct: yoy_pct(count, prior),
            is_partial: r.get(4)?,
            is_provisional: r.get(5)?,
            ratio: None,
            ratio_low: None,
            ratio_high: None,
            significant: None,
        })
    })?;
    let mut rows: Vec<TrendRow> = rows.collect::<duckdb::Result<_>>()?;
    let level = f.area.as_ref().map_or("city", |(l, _)| l.as_str());
    let d = Dispersion::load(c, &b, level)?;
    for row in &mut rows {
        let month = Month::parse(&row.month).ok();
        let mart_category = OffenseCategory::from_label(&row.category).map(|c| c.mart_value());
        if let (Some(m), Some(prior), Some(phi), false) =
            (month, row.prior_year_count, mart_category.and_then(|c| d.phi(c)), row.is_partial)
        {
            if d.comparable_from(m.year_earlier()) {
                let c = significance::compare(row.count, prior, phi);
                (row.ratio, row.ratio_low, row.ratio_high, row.significant) =
                    (c.ratio, c.ratio_low, c.ratio_high, c.significant);
            }
        }
    }
    Ok(rows)
}

/// What [`significance::compare`] needs from `marts.mart_dispersion` for one axis and area level.
struct Dispersion {
    phi: Vec<(String, f64)>,
    first_lake_month: Option<Month>,
    range_has_partial: bool,
}

impl Dispersion {
    fn load(c: &Connection, b: &Bound<'_>, level: &str) -> duckdb::Result<Dispersion> {
        let mut stmt = c.prepare_cached(DISPERSION_SQL)?;
        let params = duckdb::named_params! { "axis": b.axis, "level": level, "from": b.from, "to": b.to };
        let rows = stmt.query_map(params, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, String>(2)?, r.get::<_, bool>(3)?))
        })?;
        let mut d = Dispersion { phi: Vec::new(), first_lake_month: None, range_has_partial: false };
        for row in rows {
            let (category, phi, first, partial) = row?;
            d.phi.push((category, phi));
            d.first_lake_month = Month::parse(&first).ok();
            d.range_has_partial = partial;
        }
        Ok(d)
    }

    /// φ of a mart category (`ALL` for the three summed); `None` when the data gave no estimate.
    fn phi(&self, mart_category: &str) -> Option<f64> {
        self.phi.iter().find(|(c, _)| c == mart_category).map(|(_, p)| *p)
    }

    /// An earlier period starting at `earlier` is comparable when the lake covers it: on the occurred axis,
    /// months before the lake's first report month hold only late reports.
    fn comparable_from(&self, earlier: Month) -> bool {
        self.first_lake_month.is_some_and(|first| earlier >= first)
    }
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

pub fn areas(c: &Connection, range: Range, f: &Filters, level: AreaLevel) -> duckdb::Result<Vec<AreaRow>> {
    let b = Bound::new(c, &range, f)?;
    let prior_known = range.prior_known();
    let level_name = level.as_str();
    let d = Dispersion::load(c, &b, level_name)?;
    let phi = d.phi(f.category.mart_value().unwrap_or("ALL"));
    let comparable = !d.range_has_partial && d.comparable_from(range.from.year_earlier());
    let map = |r: &duckdb::Row<'_>| -> duckdb::Result<AreaRow> {
        let area: String = r.get(0)?;
        let count: i64 = r.get(1)?;
        let prior: Option<i64> = r.get(2)?;
        let polygon = if level == AreaLevel::Neighborhood { geo::polygon_for(&area) } else { None };
        let change = match (prior, phi, comparable) {
            (Some(p), Some(phi), true) => significance::compare(count, p, phi),
            _ => Comparison::NONE,
        };
        Ok(AreaRow {
            level: level.as_str(),
            area,
            category: f.category.as_str(),
            count,
            prior_year_count: prior,
            yoy_pct: yoy_pct(count, prior),
            polygon,
            ratio: change.ratio,
            ratio_low: change.ratio_low,
            ratio_high: change.ratio_high,
            significant: change.significant,
        })
    };
    match &f.area {
        None => {
            let mut stmt = c.prepare_cached(AREAS_SQL)?;
            let params = duckdb::named_params! {
                "axis": b.axis, "level": level_name, "from": b.from, "to": b.to, "category": b.category,
                "prior_known": prior_known,
            };
            let rows = stmt.query_map(params, map)?;
            rows.collect()
        }
        Some(_) => {
            let sql = with_area(AREAS_WITHIN_SQL, f).replace("{level_column}", level_column(level));
            let mut stmt = c.prepare_cached(&sql)?;
            let params = duckdb::named_params! {
                "axis": b.axis, "from": b.from, "to": b.to, "category": b.category, "area": b.area,
                "lo": b.lo, "hi": b.hi, "prior_known": prior_known,
            };
            let rows = stmt.query_map(params, map)?;
            rows.collect()
        }
    }
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

pub fn offenses(c: &Connection, range: Range, f: &Filters) -> duckdb::Result<Vec<OffenseRow>> {
    let mut stmt = c.prepare_cached(&with_area(OFFENSES_SQL, f))?;
    let b = Bound::new(c, &range, f)?;
    let params = duckdb::named_params! {
        "axis": b.axis, "from": b.from, "to": b.to, "category": b.category, "area": b.area,
        "lo": b.lo, "hi": b.hi,
    };
    let rows = stmt.query_map(params, |r| {
        Ok(OffenseRow {
            offense_sub_category: r.get(0)?,
            offense: r.get(1)?,
            category: Category::label_of(&r.get::<_, String>(2)?),
            count: r.get(3)?,
        })
    })?;
    rows.collect()
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

const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

pub fn heatmap(c: &Connection, range: Range, f: &Filters) -> duckdb::Result<Vec<HeatmapRow>> {
    let mut stmt = c.prepare_cached(&with_area(HEATMAP_SQL, f))?;
    let b = Bound::new(c, &range, f)?;
    let params = duckdb::named_params! {
        "axis": b.axis, "from": b.from, "to": b.to, "category": b.category, "area": b.area,
        "lo": b.lo, "hi": b.hi,
    };
    let rows = stmt.query_map(params, |r| {
        let weekday: i32 = r.get(0)?;
        Ok(HeatmapRow {
            weekday,
            weekday_name: usize::try_from(weekday).ok().and_then(|w| WEEKDAYS.get(w)).copied().unwrap_or("?"),
            hour: r.get(1)?,
            category: f.category.as_str(),
            count: r.get(2)?,
        })
    })?;
    rows.collect()
}

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

    #[test]
    fn every_area_predicate_binds_area_and_names_only_its_column() {
        let binds_all = |p: &str| ["$area", "$lo", "$hi"].iter().all(|v| p.contains(v));
        assert!(binds_all(area_predicate(None)) && area_predicate(None).starts_with("area_key is null"));
        for (level, col) in [
            (AreaLevel::Precinct, "precinct"),
            (AreaLevel::Sector, "sector"),
            (AreaLevel::Beat, "beat"),
            (AreaLevel::Neighborhood, "neighborhood"),
        ] {
            let p = area_predicate(Some(level));
            assert!(binds_all(p) && p.ends_with(&format!("where {col} = $area)")), "{p}");
            let mut others = ["precinct", "sector", "beat", "neighborhood"].into_iter().filter(|c| *c != col);
            assert!(others.all(|o| !p.contains(o)), "{p}");
            assert_eq!(level_column(level), col);
        }
    }
}
