//! The serving index: the rows the chart endpoints read (`api_category_trend`, `api_hour_weekday`,
//! `api_offense_breakdown`, `dim_area`, `dim_month`, `mart_dispersion`), held in memory per published
//! generation, so `/api/trend`, `/api/areas`, `/api/offenses` and `/api/heatmap` answer any filter without a
//! DuckDB query. A DuckDB query with a join or an aggregate costs 2–4 ms of CPU however few rows it reads, and at
//! 32 clients on 2 cores a request waits behind ~16 others (docs/benchmarks.md, issue 16, session 4).
//!
//! Numbers stay traceable: the index holds the marts' rows as the SQL models produced them (text as dictionary
//! ids, months as numbers, counts as u32); the answers only filter and sum them as the chart queries did
//! (`tests/web/serving.rs` holds those queries and compares every answer with theirs, byte for byte).
//! The rows are grouped per (axis, area) and sorted by month ([`table`]): a month range is a binary search and a
//! slice.

mod areas;
mod breakdown;
mod load;
mod table;
mod trend;

use std::collections::HashMap;

use duckdb::Connection;

use crate::domain::category::{AreaLevel, Axis};
use crate::domain::Month;
use crate::web::filters::Category;
pub use areas::areas;
pub use breakdown::{heatmap, offenses};
pub use load::LoadError;
use load::{batches, Batch};
use table::{AreaKey, AxisNo, MonthNo, Monthly, Months, Table};
pub use trend::trend;

const TREND_SQL: &str = include_str!("../sql/serving/trend.sql");
const HEATMAP_SQL: &str = include_str!("../sql/serving/heatmap.sql");
const OFFENSES_SQL: &str = include_str!("../sql/serving/offenses.sql");
const AREAS_SQL: &str = include_str!("../sql/serving/areas.sql");
const MONTHS_SQL: &str = include_str!("../sql/serving/months.sql");
const DISPERSION_SQL: &str = include_str!("../sql/serving/dispersion.sql");

/// One month's count of one category (an `api_category_trend` row).
pub struct TrendCell {
    month: MonthNo,
    category: u8,
    n: u32,
}

/// One hour × weekday cell's count (an `api_hour_weekday` row); `cell` = weekday × 24 + hour.
pub struct HeatCell {
    month: MonthNo,
    category: u8,
    cell: u8,
    n: u32,
}

/// One offense's count (an `api_offense_breakdown` row); `offense` indexes [`ServingIndex::offense_names`].
pub struct OffenseCell {
    month: MonthNo,
    offense: u32,
    n: u32,
}

impl Monthly for TrendCell {
    fn month(&self) -> MonthNo {
        self.month
    }
}
impl Monthly for HeatCell {
    fn month(&self) -> MonthNo {
        self.month
    }
}
impl Monthly for OffenseCell {
    fn month(&self) -> MonthNo {
        self.month
    }
}

/// (sub-category, offense, category id): one line of the offense breakdown.
pub struct OffenseName {
    sub_category: String,
    offense: String,
    category: u8,
}

/// `dim_area`: each key's four names, as ids into one sorted name list per level.
#[derive(Default)]
struct Areas {
    /// Per level (precinct, sector, beat, neighborhood): the distinct names, sorted.
    names: [Vec<String>; 4],
    /// Every key with its four name ids.
    keys: Vec<(i32, [u32; 4])>,
}

const LEVELS: [AreaLevel; 4] = [AreaLevel::Precinct, AreaLevel::Sector, AreaLevel::Beat, AreaLevel::Neighborhood];

fn level_no(level: AreaLevel) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap_or(0)
}

impl Areas {
    /// The keys whose name at `level` is `name` (none for a name no offense has).
    fn keys_of(&self, level: AreaLevel, name: &str) -> Vec<i32> {
        let l = level_no(level);
        match self.names[l].binary_search_by(|n| n.as_str().cmp(name)) {
            Ok(id) => self.keys.iter().filter(|(_, ids)| ids[l] as usize == id).map(|(k, _)| *k).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// One `mart_dispersion` row.
struct DispersionRow {
    axis: AxisNo,
    level: String,
    category: String,
    phi: f64,
    first_lake_month: Option<String>,
}

/// The chart marts of one published warehouse, in memory.
pub struct ServingIndex {
    /// Offense categories as the marts spell them; the cells hold their position.
    categories: Vec<String>,
    trend: Table<TrendCell>,
    heat: Table<HeatCell>,
    offenses: Table<OffenseCell>,
    /// Sorted by (sub-category, offense, category as spelled): an id's order is the breakdown's tie order.
    offense_names: Vec<OffenseName>,
    areas: Areas,
    /// `dim_month`: (is_partial, is_provisional) per month.
    months: HashMap<MonthNo, (bool, bool)>,
    dispersion: Vec<DispersionRow>,
}

fn axis_no(axis: Axis) -> AxisNo {
    match axis {
        Axis::Occurred => 0,
        Axis::Reported => 1,
    }
}

/// A month as `year × 12 + month − 1`, the number the serving SQL gives each mart row's month.
fn month_number(m: Month) -> i32 {
    m.year() * 12 + m.month() as i32 - 1
}

/// A request's month, compared with the stored month numbers ([`Months::bound`]).
fn month_bound(m: Month) -> i32 {
    Months::bound(month_number(m))
}

/// Text values with few distinct spellings (axis, category) as small ids.
struct Dict<'a> {
    values: &'a mut Vec<String>,
}

impl Dict<'_> {
    fn id(&mut self, v: &str, b: &Batch<'_>) -> Result<u8, LoadError> {
        if let Some(i) = self.values.iter().position(|x| x == v) {
            return Ok(i as u8);
        }
        if self.values.len() > usize::from(u8::MAX) {
            return Err(b.other(format!("more than {} distinct offense categories", u8::MAX)));
        }
        self.values.push(v.to_string());
        Ok((self.values.len() - 1) as u8)
    }
}

fn parse_axis(v: &str, b: &Batch<'_>) -> Result<Option<AxisNo>, LoadError> {
    match Axis::parse(v) {
        Some(a) => Ok(Some(axis_no(a))),
        None if v.is_empty() => Err(b.other("an empty axis".to_string())),
        // An axis the API cannot ask for is never read.
        None => Ok(None),
    }
}

impl ServingIndex {
    /// Reads the chart marts of the warehouse `c` is connected to. Blocking (DuckDB).
    pub fn load(c: &Connection) -> Result<ServingIndex, LoadError> {
        let mut categories = Vec::new();
        let trend = load_trend(c, &mut Dict { values: &mut categories })?;
        let heat = load_heat(c, &mut Dict { values: &mut categories })?;
        let (offenses, offense_names) = load_offenses(c, &mut Dict { values: &mut categories })?;
        Ok(ServingIndex {
            categories,
            trend,
            heat,
            offenses,
            offense_names,
            areas: load_areas(c)?,
            months: load_months(c)?,
            dispersion: load_dispersion(c)?,
        })
    }

    /// Rows held: (trend, heatmap, offense breakdown), for the log.
    pub fn rows(&self) -> (usize, usize, usize) {
        (self.trend.len(), self.heat.len(), self.offenses.len())
    }

    /// The category id a filter keeps: `None` = every category (`all`), `Some(None)` = one no row has.
    fn category_filter(&self, c: Category) -> Option<Option<u8>> {
        c.mart_value().map(|v| self.category_id(v))
    }

    fn category_id(&self, mart_value: &str) -> Option<u8> {
        self.categories.iter().position(|x| x == mart_value).map(|i| i as u8)
    }

    /// The area keys a request reads: the city's (no key) without an area, else the area's keys.
    fn keys(&self, area: Option<&(AreaLevel, String)>) -> Vec<AreaKey> {
        match area {
            None => vec![None],
            Some((level, name)) => self.areas.keys_of(*level, name).into_iter().map(Some).collect(),
        }
    }
}

/// Whether a row of category `id` passes the filter from [`ServingIndex::category_filter`].
fn keeps(filter: Option<Option<u8>>, id: u8) -> bool {
    match filter {
        None => true,
        Some(want) => want == Some(id),
    }
}

fn load_trend(c: &Connection, dict: &mut Dict<'_>) -> Result<Table<TrendCell>, LoadError> {
    let mut rows = Vec::new();
    batches(c, "api_category_trend", TREND_SQL, |b| {
        let (axis, key, month, category, n) =
            (b.required_text(0)?, b.int(1)?, b.required_int(2)?, b.required_text(3)?, b.counts(4)?);
        for (i, &n) in n.iter().enumerate() {
            let (Some(a), Some(m)) = (parse_axis(axis(i), b)?, Months::store(month(i))) else { continue };
            rows.push(((a, key(i)), TrendCell { month: m, category: dict.id(category(i), b)?, n }));
        }
        Ok(())
    })?;
    Ok(Table::build(rows))
}

fn load_heat(c: &Connection, dict: &mut Dict<'_>) -> Result<Table<HeatCell>, LoadError> {
    let mut rows = Vec::new();
    batches(c, "api_hour_weekday", HEATMAP_SQL, |b| {
        let (axis, key, month, category, cell, n) =
            (b.required_text(0)?, b.int(1)?, b.required_int(2)?, b.required_text(3)?, b.required_int(4)?, b.counts(5)?);
        rows.reserve(b.rows());
        for (i, &n) in n.iter().enumerate() {
            let (Some(a), Some(m)) = (parse_axis(axis(i), b)?, Months::store(month(i))) else { continue };
            let cell = u8::try_from(cell(i)).map_err(|_| b.other(format!("the cell {}", cell(i))))?;
            rows.push(((a, key(i)), HeatCell { month: m, category: dict.id(category(i), b)?, cell, n }));
        }
        Ok(())
    })?;
    Ok(Table::build(rows))
}

fn load_offenses(c: &Connection, dict: &mut Dict<'_>) -> Result<(Table<OffenseCell>, Vec<OffenseName>), LoadError> {
    let mut rows = Vec::new();
    let mut ids: HashMap<(String, String, u8), u32> = HashMap::new();
    batches(c, "api_offense_breakdown", OFFENSES_SQL, |b| {
        let (axis, key, month, category, sub, offense, n) = (
            b.required_text(0)?,
            b.int(1)?,
            b.required_int(2)?,
            b.required_text(3)?,
            b.required_text(4)?,
            b.required_text(5)?,
            b.counts(6)?,
        );
        rows.reserve(b.rows());
        for (i, &n) in n.iter().enumerate() {
            let (Some(a), Some(m)) = (parse_axis(axis(i), b)?, Months::store(month(i))) else { continue };
            let name = (sub(i).to_string(), offense(i).to_string(), dict.id(category(i), b)?);
            let next = ids.len() as u32;
            let id = *ids.entry(name).or_insert(next);
            rows.push(((a, key(i)), OffenseCell { month: m, offense: id, n }));
        }
        Ok(())
    })?;
    // Number the names in the breakdown's tie order (sub-category, offense, category as the mart spells it).
    let mut names: Vec<((String, String, u8), u32)> = ids.into_iter().collect();
    names.sort_by(|((s1, o1, c1), _), ((s2, o2, c2), _)| {
        (s1, o1, &dict.values[*c1 as usize]).cmp(&(s2, o2, &dict.values[*c2 as usize]))
    });
    let mut renumber = vec![0u32; names.len()];
    for (new, (_, old)) in names.iter().enumerate() {
        renumber[*old as usize] = new as u32;
    }
    for (_, r) in &mut rows {
        r.offense = renumber[r.offense as usize];
    }
    let names = names
        .into_iter()
        .map(|((sub_category, offense, category), _)| OffenseName { sub_category, offense, category })
        .collect();
    Ok((Table::build(rows), names))
}

fn load_areas(c: &Connection) -> Result<Areas, LoadError> {
    let mut raw: Vec<(i32, [String; 4])> = Vec::new();
    batches(c, "dim_area", AREAS_SQL, |b| {
        let key = b.required_int(0)?;
        let names = [b.required_text(1)?, b.required_text(2)?, b.required_text(3)?, b.required_text(4)?];
        for i in 0..b.rows() {
            raw.push((key(i), names.each_ref().map(|n| n(i).to_string())));
        }
        Ok(())
    })?;
    let mut areas = Areas::default();
    for (l, names) in areas.names.iter_mut().enumerate() {
        *names = raw.iter().map(|(_, n)| n[l].clone()).collect();
        names.sort_unstable();
        names.dedup();
    }
    areas.keys = raw
        .iter()
        .map(|(key, n)| {
            let id = |l: usize| areas.names[l].binary_search(&n[l]).unwrap_or(0) as u32;
            (*key, [id(0), id(1), id(2), id(3)])
        })
        .collect();
    Ok(areas)
}

fn load_months(c: &Connection) -> Result<HashMap<MonthNo, (bool, bool)>, LoadError> {
    let mut months = HashMap::new();
    batches(c, "dim_month", MONTHS_SQL, |b| {
        let (month, partial, provisional) = (b.required_int(0)?, b.flag(1)?, b.flag(2)?);
        for i in 0..b.rows() {
            if let Some(m) = Months::store(month(i)) {
                months.insert(m, (partial(i), provisional(i)));
            }
        }
        Ok(())
    })?;
    Ok(months)
}

fn load_dispersion(c: &Connection) -> Result<Vec<DispersionRow>, LoadError> {
    let mut rows = Vec::new();
    batches(c, "mart_dispersion", DISPERSION_SQL, |b| {
        let (axis, level, category, phi, first) =
            (b.required_text(0)?, b.required_text(1)?, b.required_text(2)?, b.required_double(3)?, b.text(4)?);
        for i in 0..b.rows() {
            let Some(axis) = parse_axis(axis(i), b)? else { continue };
            rows.push(DispersionRow {
                axis,
                level: level(i).to_string(),
                category: category(i).to_string(),
                phi: phi(i),
                first_lake_month: first(i).map(str::to_string),
            });
        }
        Ok(())
    })?;
    Ok(rows)
}

/// What [`crate::web::significance::compare`] needs from `mart_dispersion` for one axis and area level, and
/// whether the range holds a partial month (`dim_month`).
struct Dispersion<'a> {
    phi: Vec<(&'a str, f64)>,
    first_lake_month: Option<Month>,
    range_has_partial: bool,
}

impl<'a> Dispersion<'a> {
    /// The rows of one axis and level (`city` without an area filter). With none, nothing is comparable and
    /// no partial month is noticed, as when the query returned no row.
    fn of(ix: &'a ServingIndex, axis: Axis, level: &str, range: crate::web::queries::Range) -> Dispersion<'a> {
        let axis = axis_no(axis);
        let rows: Vec<&DispersionRow> = ix.dispersion.iter().filter(|d| d.axis == axis && d.level == level).collect();
        let Some(last) = rows.last() else {
            return Dispersion { phi: Vec::new(), first_lake_month: None, range_has_partial: false };
        };
        let (from, to) = (month_bound(range.from), month_bound(range.to));
        Dispersion {
            phi: rows.iter().map(|d| (d.category.as_str(), d.phi)).collect(),
            first_lake_month: last.first_lake_month.as_deref().and_then(|m| Month::parse(m).ok()),
            range_has_partial: ix
                .months
                .iter()
                .any(|(m, (partial, _))| *partial && (from..=to).contains(&i32::from(*m))),
        }
    }

    /// φ of a mart category (`ALL` for the three summed); `None` when the data gave no estimate.
    fn phi(&self, mart_category: &str) -> Option<f64> {
        self.phi.iter().find(|(c, _)| *c == mart_category).map(|(_, p)| *p)
    }

    /// An earlier period starting at `earlier` is comparable when the lake covers it: on the occurred axis,
    /// months before the lake's first report month hold only late reports.
    fn comparable_from(&self, earlier: Month) -> bool {
        self.first_lake_month.is_some_and(|first| earlier >= first)
    }
}

impl ServingIndex {
    /// A month's (is_partial, is_provisional); a month `dim_month` does not hold has neither.
    fn flags(&self, m: Month) -> (bool, bool) {
        Months::store(month_number(m)).and_then(|m| self.months.get(&m).copied()).unwrap_or_default()
    }
}
