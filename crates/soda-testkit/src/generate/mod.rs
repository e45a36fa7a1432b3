//! A seeded generator of SPD crime rows at any scale, shaped exactly as the SODA API returns them (see
//! `shared/data/SPD-FORMAT.md`). Realistic where the pipeline cares: category/offense mix with consistent
//! codes, multi-offense reports, reporting lags (late reports land in old offense months), seasonality,
//! hour/weekday patterns, consistent areas, placeholders and dirty values at low rates, thinner coverage
//! before 2016. Rows come out grouped by report month. Deterministic: own PRNG (splitmix64), no `rand`.

pub mod counts;
pub mod revise;
mod tables;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

use crate::{Month, Row};
use tables::{Area, Offense, AREAS, DATA_SPELLINGS, OFFENSES, PRECINCT_SECTORS, STREETS};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenSpec {
    pub seed: u64,
    /// First report month.
    pub first: Month,
    /// Last report month (included).
    pub last: Month,
    /// Total rows, spread over the months realistically.
    pub rows: usize,
    pub schema: Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The current NIBRS field names (19 fields, plus `census_block_2020` on some rows).
    Nibrs,
    /// The pre-2025 field names (17 fields).
    Old,
}

/// The report-time field of a schema (the lake's partition key).
pub fn report_field(schema: Schema) -> &'static str {
    match schema {
        Schema::Nibrs => "report_date_time",
        Schema::Old => "report_datetime",
    }
}

/// Every row of the spec, in generation order (grouped by report month).
pub fn rows(spec: &GenSpec) -> Vec<Row> {
    iter(spec).collect()
}

/// The same rows as [`rows`], one at a time (for data sets too large to hold as JSON).
pub fn iter(spec: &GenSpec) -> Rows {
    let months: Vec<Month> = spec.first.through(spec.last).collect();
    let counts = month_counts(&months, spec.rows);
    Rows {
        rng: Rng::new(spec.seed),
        schema: spec.schema,
        months,
        counts,
        month_pos: 0,
        buffer: Vec::new(),
        report_seq: Vec::new(),
        offense_weights: cumulative(OFFENSES.iter().map(|o| o.weight)),
        area_weights: cumulative(AREAS.iter().map(|a| a.weight)),
    }
}

/// The number of rows per report month: `total` spread by coverage (thin before 2016), season (summer
/// higher) and month length, rounded so they sum to `total` exactly.
pub fn month_counts(months: &[Month], total: usize) -> Vec<usize> {
    const SEASON: [f64; 12] = [0.93, 0.86, 0.95, 0.96, 1.02, 1.05, 1.09, 1.10, 1.03, 1.02, 0.98, 0.96];
    let weights: Vec<f64> = months
        .iter()
        .map(|m| {
            let coverage = match m.year() {
                ..=2011 => 0.38 + 0.03 * (m.year() - 2008).max(0) as f64,
                2012..=2015 => 0.55 + 0.05 * (m.year() - 2012) as f64,
                2020 => 0.94,
                2022..=2024 => 1.06,
                _ => 1.0,
            };
            let days = m.days() as f64;
            coverage * SEASON[m.month() as usize - 1] * days
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; months.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut rest = total - counts.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..months.len()).collect();
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())));
    for i in order.into_iter().cycle() {
        if rest == 0 {
            break;
        }
        counts[i] += 1;
        rest -= 1;
    }
    counts
}

/// splitmix64: tiny, fast, good enough for test data, and stable across platforms and crate versions.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5EED_C01D_CAFE_F00D)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    fn pick(&mut self, cumulative: &[f64]) -> usize {
        let x = self.f64() * cumulative.last().copied().unwrap_or(0.0);
        cumulative.partition_point(|c| *c <= x).min(cumulative.len().saturating_sub(1))
    }
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    weights
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

/// Hour of day when offenses happen (midnight spike for "date only" offenses, evening peak).
const OFFENSE_HOURS: [f64; 24] = [
    5.5, 3.0, 2.6, 2.2, 1.8, 1.6, 1.9, 2.6, 3.4, 3.8, 4.0, 4.3, 5.2, 4.6, 4.7, 4.9, 5.1, 5.2, 5.3, 5.2, 5.0, 4.8, 4.6,
    4.4,
];
/// Hour of day when reports are taken (office hours heavy).
const REPORT_HOURS: [f64; 24] = [
    2.0, 1.5, 1.2, 1.0, 0.9, 0.9, 1.5, 3.0, 5.0, 6.0, 6.5, 6.5, 6.3, 6.3, 6.2, 6.0, 5.8, 5.5, 5.0, 4.5, 4.0, 3.5, 3.0,
    2.5,
];
/// Monday..Sunday.
const REPORT_WEEKDAYS: [f64; 7] = [1.08, 1.04, 1.02, 1.02, 1.03, 0.92, 0.89];

/// A streaming generator: one report month at a time.
pub struct Rows {
    rng: Rng,
    schema: Schema,
    months: Vec<Month>,
    counts: Vec<usize>,
    month_pos: usize,
    buffer: Vec<Row>,
    /// Next report sequence number per year: (year, regular, online).
    report_seq: Vec<(i32, u64, u64)>,
    offense_weights: Vec<f64>,
    area_weights: Vec<f64>,
}

impl Iterator for Rows {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        while self.buffer.is_empty() {
            if self.month_pos >= self.months.len() {
                return None;
            }
            let (m, n, idx) = (self.months[self.month_pos], self.counts[self.month_pos], self.month_pos);
            self.month_pos += 1;
            self.generate_month(m, n, idx);
            self.buffer.reverse();
        }
        self.buffer.pop()
    }
}

/// One offense, schema-independent.
struct Record<'a> {
    report_number: String,
    report: NaiveDateTime,
    offense_id: u64,
    offense: &'a Offense,
    /// `None` is the `1900-01-01` placeholder.
    offense_start: Option<NaiveDateTime>,
    offense_end: Option<NaiveDateTime>,
    place: Place,
    shooting: Option<&'static str>,
    census_block: Option<String>,
}

/// Where, with the placeholders SPD uses.
#[derive(Clone)]
struct Place {
    area: Option<&'static Area>,
    kind: PlaceKind,
    neighborhood: String,
    sector: String,
    beat: String,
    reporting_area: Option<String>,
    address: Option<String>,
    /// (lat, lon) as published; `None` when withheld.
    coords: Option<(String, String)>,
}

#[derive(Clone, Copy, PartialEq)]
enum PlaceKind {
    Known,
    Unknown,
    OutOfJurisdiction,
    Dash,
}

fn seconds_in(month: Month) -> i64 {
    month.days() * 86_400
}

impl Rows {
    fn generate_month(&mut self, month: Month, n: usize, month_index: usize) {
        // offense_id ranges are disjoint per month and ascending, so ids are unique across the whole set.
        let id_base = 1_000_000_000u64 + month_index as u64 * 300_000_000;
        let id_step = (285_000_000 / n.max(1) as u64).max(2);
        let mut next_id = id_base + self.rng.range(0, id_step);
        let mut made = 0;
        while made < n {
            let offenses = if self.rng.chance(0.08) {
                2
            } else if self.rng.chance(0.022) {
                3
            } else {
                1
            };
            let offenses = offenses.min(n - made);
            let report = self.report_time(month);
            let report_number = self.report_number(report.date().year());
            let offense_start = self.offense_start(report);
            let offense_end = match (self.schema, offense_start) {
                (Schema::Old, Some(start)) if self.rng.chance(0.72) => {
                    let span = report.signed_duration_since(start).num_minutes().clamp(0, 48 * 60);
                    Some(start + Duration::minutes(self.rng.range(0, span as u64 + 1) as i64))
                }
                _ => None,
            };
            let place = self.place();
            let census_block = (self.schema == Schema::Nibrs && report.date().year() >= 2020 && self.rng.chance(0.4))
                .then(|| format!("{}.{}", 100 * self.rng.range(1, 121), self.rng.range(1000, 5000)));
            for _ in 0..offenses {
                let offense = &OFFENSES[self.rng.pick(&self.offense_weights)];
                let shooting = if matches!(offense.code, "13A" | "09A") && self.rng.chance(0.06) {
                    Some(if offense.code == "09A" { "Fatal" } else { "Non-Fatal" })
                } else if self.rng.chance(0.04) {
                    None
                } else {
                    Some("-")
                };
                let record = Record {
                    report_number: report_number.clone(),
                    report,
                    offense_id: next_id,
                    offense,
                    offense_start,
                    offense_end,
                    place: place.clone(),
                    shooting,
                    census_block: census_block.clone(),
                };
                next_id += self.rng.range(1, id_step);
                let row = match self.schema {
                    Schema::Nibrs => self.nibrs_row(&record),
                    Schema::Old => old_row(&record),
                };
                self.buffer.push(row);
                made += 1;
            }
        }
    }

    fn report_time(&mut self, month: Month) -> NaiveDateTime {
        // Rejection sampling against the weekday and hour patterns.
        loop {
            let secs = self.rng.range(0, seconds_in(month) as u64) as i64;
            let t = month.first_day().and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::seconds(secs);
            let w = REPORT_WEEKDAYS[t.weekday().num_days_from_monday() as usize] / 1.08
                * REPORT_HOURS[t.hour() as usize]
                / 6.5;
            if self.rng.f64() < w {
                return t;
            }
        }
    }

    fn report_number(&mut self, year: i32) -> String {
        let pos = match self.report_seq.iter().position(|(y, _, _)| *y == year) {
            Some(p) => p,
            None => {
                self.report_seq.push((year, 0, 900_000));
                self.report_seq.len() - 1
            }
        };
        let online = self.rng.chance(0.12);
        let step = if online { self.rng.range(1, 3) } else { self.rng.range(1, 9) };
        let entry = &mut self.report_seq[pos];
        let seq = if online {
            entry.2 += step;
            entry.2
        } else {
            entry.1 += step;
            entry.1.min(899_999)
        };
        format!("{year}-{seq:06}")
    }

    /// Offense start: report time minus a lag (hours for most, days for many, months or years for a tail),
    /// with SPD's placeholder times; `None` for the `1900-01-01` placeholder.
    fn offense_start(&mut self, report: NaiveDateTime) -> Option<NaiveDateTime> {
        if self.rng.chance(0.0008) {
            return None;
        }
        let u = self.rng.f64();
        let lag_minutes: i64 = if u < 0.45 {
            (-(1.0 - self.rng.f64()).ln() * 90.0) as i64
        } else if u < 0.70 {
            self.rng.range(6 * 60, 72 * 60) as i64
        } else if u < 0.90 {
            self.rng.range(3 * 1440, 30 * 1440) as i64
        } else if u < 0.98 {
            self.rng.range(30 * 1440, 365 * 1440) as i64
        } else {
            self.rng.range(365 * 1440, 10 * 365 * 1440) as i64
        };
        let mut start = report - Duration::minutes(lag_minutes);
        if lag_minutes > 1440 {
            // Long lags: the victim remembers the day, the time follows the offense pattern or a placeholder.
            let r = self.rng.f64();
            let (h, m) = if r < 0.05 {
                (0, 1)
            } else if r < 0.08 {
                (12, 1)
            } else if r < 0.16 {
                (0, 0)
            } else {
                let h = self.rng.pick(&cumulative(OFFENSE_HOURS.iter().copied()));
                (h as u32, (self.rng.range(0, 12) * 5) as u32)
            };
            start = start.date().and_hms_opt(h, m, 0).unwrap_or(start);
            if start > report {
                start = report;
            }
        } else {
            start = start.with_second(0).unwrap_or(start);
        }
        Some(start)
    }

    fn place(&mut self) -> Place {
        let r = self.rng.f64();
        let kind = if r < 0.007 {
            PlaceKind::Unknown
        } else if r < 0.009 {
            PlaceKind::OutOfJurisdiction
        } else if r < 0.012 {
            PlaceKind::Dash
        } else {
            PlaceKind::Known
        };
        let area = &AREAS[self.rng.pick(&self.area_weights)];
        let mut neighborhood = area.name.to_string();
        if let Some((_, data)) = DATA_SPELLINGS.iter().find(|(map, _)| *map == area.name) {
            if self.rng.chance(0.5) {
                neighborhood = data.to_string();
            }
        }
        if self.rng.chance(0.0005) {
            neighborhood = "FK ERROR".to_string();
        }
        let area_index = AREAS.iter().position(|a| a.name == area.name).unwrap_or(0) as u64;
        let reporting_area = Some((100 + area_index * 230 + self.rng.range(0, 200)).to_string());
        let sector = area.sector.to_string();
        let beat = format!("{}{}", area.sector, self.rng.range(1, 4));
        let street = STREETS[((area_index * 7 + self.rng.range(0, 4)) % STREETS.len() as u64) as usize];
        let address = if self.rng.chance(0.08) {
            let other = STREETS[self.rng.range(0, STREETS.len() as u64) as usize];
            format!("{street} / {other}")
        } else {
            format!("{}XX BLOCK OF {street}", self.rng.range(1, 150))
        };
        let lat = area.lat + (self.rng.f64() - 0.5) * 0.016;
        let lon = area.lon + (self.rng.f64() - 0.5) * 0.02;
        let coords = Some((format!("{lat:.8}"), format!("{lon:.12}")));
        let mut place = Place {
            area: Some(area),
            kind,
            neighborhood,
            sector,
            beat,
            reporting_area,
            address: Some(address),
            coords,
        };
        match kind {
            PlaceKind::Known => {}
            PlaceKind::Unknown => {
                if self.rng.chance(0.03) {
                    // A bad geocode SPD publishes as is (seen in the real pulls).
                    place.coords = Some(("89.999988540".to_string(), "165.993010801".to_string()));
                }
                place.area = None;
                place.neighborhood = "UNKNOWN".to_string();
                place.sector = "99".to_string();
                place.beat = "99".to_string();
                place.reporting_area = Some("99".to_string());
            }
            PlaceKind::OutOfJurisdiction => {
                place.area = None;
                place.neighborhood = "OOJ".to_string();
                place.sector = "OOJ".to_string();
                place.beat = "OOJ".to_string();
                place.reporting_area = None;
            }
            PlaceKind::Dash => {
                place.area = None;
                place.neighborhood = "-".to_string();
                place.sector = "-".to_string();
                place.beat = "-".to_string();
                place.reporting_area = Some("-".to_string());
            }
        }
        // Withheld and broken locations.
        let w = self.rng.f64();
        if w < 0.02 {
            place.address = Some("REDACTED".to_string());
            place.reporting_area =
                if self.rng.chance(0.5) { Some("REDACTED".to_string()) } else { place.reporting_area };
            place.coords = Some(if self.rng.chance(0.5) {
                ("REDACTED".to_string(), "REDACTED".to_string())
            } else {
                ("-1.0".to_string(), "-122.33".to_string())
            });
        } else if w < 0.025 {
            place.coords = Some(("-1.0".to_string(), "-1.0".to_string()));
        } else if w < 0.03 {
            place.coords = Some(("0".to_string(), "0".to_string()));
        } else if w < 0.04 {
            place.address = None;
        }
        place
    }

    fn nibrs_row(&mut self, r: &Record<'_>) -> Row {
        let mut row = Row::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                row.insert(k.to_string(), serde_json::Value::String(v));
            }
        };
        put("report_number", Some(r.report_number.clone()));
        put("report_date_time", Some(ts(r.report)));
        put("offense_id", Some(r.offense_id.to_string()));
        put("offense_date", Some(r.offense_start.map(ts).unwrap_or_else(|| "1900-01-01T00:00:00.000".to_string())));
        put("nibrs_group_a_b", Some(r.offense.group_a_b.to_string()));
        let against = if self.rng.chance(0.001) { "-" } else { r.offense.against };
        put("nibrs_crime_against_category", Some(against.to_string()));
        put("offense_sub_category", Some(r.offense.sub_category.to_string()));
        put("shooting_type_group", r.shooting.map(str::to_string));
        put("block_address", r.place.address.clone());
        put("latitude", r.place.coords.as_ref().map(|c| c.0.clone()));
        put("longitude", r.place.coords.as_ref().map(|c| c.1.clone()));
        let precinct = match (r.place.kind, r.place.area) {
            (PlaceKind::Unknown, _) => "UNKNOWN".to_string(),
            (PlaceKind::OutOfJurisdiction, _) => "OOJ".to_string(),
            (PlaceKind::Dash, _) | (_, None) => "-".to_string(),
            (PlaceKind::Known, Some(a)) => precinct_word(a.precinct).to_string(),
        };
        put("beat", Some(r.place.beat.clone()));
        put("precinct", Some(precinct));
        put("sector", Some(r.place.sector.clone()));
        put("neighborhood", Some(r.place.neighborhood.clone()));
        put("reporting_area", r.place.reporting_area.clone());
        put("offense_category", Some(r.offense.category.to_string()));
        put("nibrs_offense_code_description", Some(r.offense.description.to_string()));
        put("nibrs_offense_code", Some(r.offense.code.to_string()));
        put("census_block_2020", r.census_block.clone());
        row
    }
}

fn old_row(r: &Record<'_>) -> Row {
    let mut row = Row::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            row.insert(k.to_string(), serde_json::Value::String(v));
        }
    };
    put("report_number", Some(r.report_number.clone()));
    put("offense_id", Some(r.offense_id.to_string()));
    put(
        "offense_start_datetime",
        Some(r.offense_start.map(ts).unwrap_or_else(|| "1900-01-01T00:00:00.000".to_string())),
    );
    put("offense_end_datetime", r.offense_end.map(ts));
    put("report_datetime", Some(ts(r.report)));
    put("group_a_b", Some(r.offense.group_a_b.to_string()));
    put("crime_against_category", Some(r.offense.against.to_string()));
    put("offense_parent_group", Some(r.offense.parent_group.to_string()));
    put("offense", Some(r.offense.description.to_string()));
    put("offense_code", Some(r.offense.code.to_string()));
    let precinct = match (r.place.kind, r.place.area) {
        (PlaceKind::Known, Some(a)) => a.precinct.to_string(),
        _ => "UNKNOWN".to_string(),
    };
    let known = r.place.kind == PlaceKind::Known;
    put("precinct", Some(precinct));
    put("sector", Some(if known { r.place.sector.clone() } else { "UNKNOWN".to_string() }));
    put("beat", Some(if known { r.place.beat.clone() } else { "UNKNOWN".to_string() }));
    put("mcpp", Some(if known { r.place.neighborhood.clone() } else { "UNKNOWN".to_string() }));
    // The old API withheld locations by omitting the address and zeroing the coordinates.
    let withheld = matches!(r.place.address.as_deref(), Some("REDACTED") | None);
    put("_100_block_address", if withheld { None } else { r.place.address.clone() });
    let (lat, lon) = match (&r.place.coords, withheld) {
        (Some((lat, lon)), false) => match (lat.parse::<f64>(), lon.parse::<f64>()) {
            (Ok(a), Ok(o)) if a > 1.0 => (format!("{a:.9}"), format!("{o:.9}")),
            _ => ("0.000000000".to_string(), "0.000000000".to_string()),
        },
        _ => ("0.000000000".to_string(), "0.000000000".to_string()),
    };
    put("longitude", Some(lon));
    put("latitude", Some(lat));
    row
}

fn precinct_word(code: &str) -> &'static str {
    PRECINCT_SECTORS.iter().find(|(c, _, _)| *c == code).map(|(_, w, _)| *w).unwrap_or("-")
}

/// The sectors of a precinct word (`North`) or code (`N`); empty for anything else.
pub fn sectors_of_precinct(precinct: &str) -> &'static [&'static str] {
    PRECINCT_SECTORS.iter().find(|(c, w, _)| *c == precinct || *w == precinct).map(|(_, _, s)| *s).unwrap_or(&[])
}

/// The precinct code (`N`, `E`, `S`, `SW`, `W`) of a neighborhood name (either spelling), if it is one of the 58.
pub fn precinct_of_neighborhood(name: &str) -> Option<&'static str> {
    let map_name = DATA_SPELLINGS.iter().find(|(_, data)| *data == name).map(|(m, _)| *m).unwrap_or(name);
    AREAS.iter().find(|a| a.name == map_name).map(|a| a.precinct)
}

/// The 58 neighborhood names as on SPD's map.
pub fn neighborhood_names() -> Vec<&'static str> {
    AREAS.iter().map(|a| a.name).collect()
}

/// A floating timestamp as SODA prints it.
fn ts(t: NaiveDateTime) -> String {
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
}

/// The report month of a generated or served row (`None` when the report field is missing or malformed).
pub fn report_month(row: &Row) -> Option<Month> {
    let t = row.get("report_date_time").or_else(|| row.get("report_datetime"))?.as_str()?;
    let d = NaiveDate::parse_from_str(t.get(..10)?, "%Y-%m-%d").ok()?;
    Some(Month::of(d))
}
