//! Warehouse: golden marts against an independent Rust computation, write–audit–publish atomicity, opening the
//! file from other tools, and row-for-row interop with `dbt build` on the same project.
//!
//! Lakes come from `fixture_lake::write`, a fixture writer that lays SODA-shaped rows down in the lake contract's
//! layout (docs/CONTRACTS.md) with DuckDB, the way `crimewatch ingest` does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use chrono::{Datelike, NaiveDateTime, Timelike};
use crimewatch::pipeline::{self, PipelineConfig, Progress};
use crimewatch::settings::Settings;
use serde_json::{json, Map, Value};

use crate::fixture_lake;
use crate::tempdir::TempDir;

type Row = Map<String, Value>;

/// A fresh, unique data dir per test (removed when it passes).
fn data_dir(name: &str) -> TempDir {
    TempDir::new(&format!("wh-{name}"))
}

fn settings(dir: &Path) -> PipelineConfig {
    Settings::for_data_dir(dir, "http://127.0.0.1:9").pipeline()
}

fn crimewatch(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crimewatch"));
    cmd.arg("--data-dir").arg(dir).args(args).env_remove("CRIMEWATCH_CONFIG").env_remove("RUST_LOG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn row(pairs: &[(&str, &str)]) -> Row {
    pairs.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect()
}

/// Real rows from `/work/shared/data/spd-samples` (see its SOURCES.md) and hand-built edge cases.
mod samples {
    use super::*;

    const SAMPLES: &str = "/work/shared/data/spd-samples";

    /// The old-schema SODA JSON download (raw `tazs-3rd5` responses, 2022-04/05 offenses).
    pub fn old_schema_api_rows() -> Vec<Row> {
        let text = std::fs::read_to_string(format!(
            "{SAMPLES}/old_schema_api_json_2022-04-16_to_05-06__pull2_justinjconroy.json"
        ))
        .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The new-schema CSV export excerpt, turned into SODA-shaped rows (the export's subset of columns).
    pub fn new_schema_export_rows() -> Vec<Row> {
        let mut reader =
            csv::Reader::from_path(format!("{SAMPLES}/new_schema_csv_export_2025-12_excerpt.csv")).unwrap();
        let headers = reader.headers().unwrap().clone();
        let fields = [
            ("Report Number", "report_number"),
            ("Report DateTime", "report_date_time"),
            ("Offense ID", "offense_id"),
            ("Offense Date", "offense_date"),
            ("Neighborhood", "neighborhood"),
            ("Reporting Area", "reporting_area"),
            ("Offense Category", "offense_category"),
            ("Sector", "sector"),
        ];
        reader
            .records()
            .map(|rec| {
                let rec = rec.unwrap();
                let mut out = Row::new();
                for (header, name) in fields {
                    let i = headers.iter().position(|h| h == header).unwrap();
                    let mut v = rec[i].to_string();
                    if name.ends_with("date_time") || name == "offense_date" {
                        v = NaiveDateTime::parse_from_str(&v, "%Y %b %d %I:%M:%S %p")
                            .unwrap()
                            .format("%Y-%m-%dT%H:%M:%S.000")
                            .to_string();
                    }
                    out.insert(name.to_string(), Value::String(v));
                }
                out
            })
            .collect()
    }

    /// Hand-built rows, each guarding one rule of staging (see the comment on each).
    pub fn edge_rows() -> Vec<Row> {
        let new = |id: &str, reported: &str, extra: &[(&str, &str)]| {
            let mut r = row(&[
                ("report_number", format!("2024-{id}").as_str()),
                ("offense_id", id),
                ("report_date_time", reported),
                ("offense_date", "2024-01-10T08:30:00.000"),
                ("nibrs_group_a_b", "A"),
                ("nibrs_crime_against_category", "PROPERTY"),
                ("offense_sub_category", "LARCENY-THEFT"),
                ("nibrs_offense_code_description", "Shoplifting"),
                ("nibrs_offense_code", "23C"),
                ("offense_category", "PROPERTY CRIME"),
                ("precinct", "North"),
                ("sector", "B"),
                ("beat", "B2"),
                ("neighborhood", "FREMONT"),
                ("reporting_area", "2535"),
                ("block_address", "7XX BLOCK OF N 47TH ST"),
                ("latitude", "47.66287425"),
                ("longitude", "-122.349303056792"),
            ]);
            for (k, v) in extra {
                r.insert(k.to_string(), Value::String(v.to_string()));
            }
            r
        };
        let old = |id: &str, code: &str, extra: &[(&str, &str)]| {
            let mut r = row(&[
                ("report_number", format!("2024-{id}").as_str()),
                ("offense_id", id),
                ("report_datetime", "2024-02-03T14:05:00.000"),
                ("offense_start_datetime", "2024-02-02T23:15:00.000"),
                ("group_a_b", "A"),
                ("crime_against_category", "PERSON"),
                ("offense_parent_group", "ASSAULT OFFENSES"),
                ("offense", "Some Offense"),
                ("offense_code", code),
                ("precinct", "SW"),
                ("sector", "F"),
                ("beat", "F2"),
                ("mcpp", "HIGH POINT"),
                ("latitude", "47.54"),
                ("longitude", "-122.37"),
            ]);
            for (k, v) in extra {
                r.insert(k.to_string(), Value::String(v.to_string()));
            }
            r
        };
        vec![
            // The same offense_id in two report months: the newer :updated_at wins (reclassified, moved month).
            new("9000001", "2024-01-31T23:50:00.000", &[(":updated_at", "2024-02-01T00:00:00.000Z")]),
            new(
                "9000001",
                "2024-02-01T00:10:00.000",
                &[
                    (":updated_at", "2024-03-01T00:00:00.000Z"),
                    ("offense_category", "VIOLENT CRIME"),
                    ("nibrs_offense_code", "120"),
                    ("offense_sub_category", "ROBBERY"),
                    ("nibrs_offense_code_description", "Robbery"),
                ],
            ),
            // Placeholders: OOJ precinct, sector 99, UNKNOWN beat, FK ERROR neighborhood, 1900 date, bad geocode.
            new(
                "9000002",
                "2024-01-15T12:01:00.000",
                &[
                    ("precinct", "OOJ"),
                    ("sector", "99"),
                    ("beat", "UNKNOWN"),
                    ("neighborhood", "FK ERROR"),
                    ("reporting_area", "99"),
                    ("offense_date", "1900-01-01T00:00:00.000"),
                    ("latitude", "89.99998854"),
                    ("longitude", "165.993010801"),
                    ("block_address", "REDACTED"),
                ],
            ),
            // '-' placeholders and a lower-case precinct name.
            new(
                "9000003",
                "2024-01-16T09:00:00.000",
                &[("precinct", "north"), ("beat", "-"), ("shooting_type_group", "-")],
            ),
            // A row without an offense_id cannot be keyed: excluded (and counted as an exclusion).
            new("9000004", "2024-01-17T10:00:00.000", &[("offense_id", "-")]),
            // Offense after its report by three days: kept, reported by a warning test.
            new("9000005", "2024-01-18T10:00:00.000", &[("offense_date", "2024-01-21T10:00:00.000")]),
            // SPD's category disagrees with the code's FBI class (robbery is violent): SPD's is kept, warned.
            new("9000006", "2024-01-19T10:00:00.000", &[("nibrs_offense_code", "120")]),
            // A column the lake schema does not know.
            new("9000007", "2024-01-20T23:59:59.000", &[("census_block_2020", "6400.3016")]),
            // An offense in November reported in December: its month exists on the occurred axis only.
            new("9000008", "2025-12-20T10:00:00.000", &[("offense_date", "2025-11-28T22:00:00.000")]),
            // Old schema: no offense_category, derived from the NIBRS code; old letter precincts.
            old("9100001", "13A", &[]),
            old("9100002", "09B", &[("precinct", "E"), ("sector", "C"), ("beat", "C1")]),
            old("9100003", "09C", &[]),
            old("9100004", "23H", &[("crime_against_category", "PROPERTY")]),
            old("9100005", "240", &[("precinct", "W"), ("sector", "K")]),
            old("9100006", "11A", &[("precinct", "UNKNOWN")]),
            // No precinct, but a sector: the sector's precinct.
            old("9100007", "220", &[("precinct", ""), ("sector", "O"), ("beat", "O1")]),
            // A code the seed does not know: ALL OTHER, crime_against as published.
            old("9100008", "999", &[("crime_against_category", "SOCIETY")]),
            // Out-of-Seattle coordinates of a real shape: (0, 0) is already NULL in the lake; 47.6/-123.5 is not.
            old("9100009", "13B", &[("latitude", "47.6"), ("longitude", "-123.5")]),
        ]
    }
}

/// The marts, computed in Rust from the lake rows by the rules schema.yml documents (not by the same SQL).
pub(crate) mod expected {
    use super::*;
    use crate::fixture_lake::{timestamp, LakeRow};

    #[derive(Debug, Clone)]
    pub struct Offense {
        pub offense_id: String,
        pub report_month: String,
        pub reported: Option<NaiveDateTime>,
        pub occurred: Option<NaiveDateTime>,
        pub category: String,
        pub crime_against: Option<String>,
        pub sub_category: Option<String>,
        pub offense: Option<String>,
        pub precinct: String,
        pub sector: String,
        pub beat: String,
        pub neighborhood: String,
        pub latitude: Option<f64>,
        pub longitude: Option<f64>,
        pub block_address: Option<String>,
        updated_at: Option<NaiveDateTime>,
        source_row_id: Option<String>,
    }

    const VIOLENT: &[&str] = &["09A", "11A", "11B", "11C", "120", "13A"];
    const PROPERTY: &[&str] = &["200", "220", "23A", "23B", "23C", "23D", "23E", "23F", "23G", "23H", "240"];

    fn text(r: &LakeRow, c: &str) -> Option<String> {
        r[c].as_deref().map(str::trim).filter(|v| !v.is_empty() && *v != "-").map(str::to_string)
    }

    fn area(r: &LakeRow, c: &str, placeholders: &[&str]) -> Option<String> {
        text(r, c).map(|v| v.to_uppercase()).filter(|v| !placeholders.contains(&v.as_str()))
    }

    fn precinct_name(code: &str) -> Option<&'static str> {
        Some(match code {
            "N" | "NORTH" => "North",
            "E" | "EAST" => "East",
            "S" | "SOUTH" => "South",
            "SW" | "SOUTHWEST" => "Southwest",
            "W" | "WEST" => "West",
            _ => return None,
        })
    }

    fn sector_precinct(sector: &str) -> Option<&'static str> {
        let c = sector.chars().next()?;
        if sector.len() != 1 {
            return None;
        }
        Some(match c {
            'B' | 'J' | 'L' | 'N' | 'U' => "North",
            'C' | 'E' | 'G' => "East",
            'O' | 'R' | 'S' => "South",
            'F' | 'W' => "Southwest",
            'D' | 'K' | 'M' | 'Q' => "West",
            _ => return None,
        })
    }

    fn date(r: &LakeRow, c: &str) -> Option<NaiveDateTime> {
        r[c].as_deref().map(timestamp).filter(|t| t.year() >= 1901)
    }

    pub fn offenses(rows: &[LakeRow]) -> BTreeMap<String, Offense> {
        let placeholders = ["UNKNOWN", "OOJ", "99", "FK ERROR"];
        let mut out: BTreeMap<String, Offense> = BTreeMap::new();
        for r in rows {
            let Some(offense_id) = text(r, "offense_id") else { continue };
            let code = text(r, "nibrs_offense_code").map(|c| c.to_uppercase());
            let spd = text(r, "offense_category").map(|c| c.to_uppercase());
            let category = match (spd.as_deref(), code.as_deref()) {
                (Some(c @ ("VIOLENT CRIME" | "PROPERTY CRIME" | "ALL OTHER")), _) => c.to_string(),
                (_, Some(c)) if VIOLENT.contains(&c) => "VIOLENT CRIME".to_string(),
                (_, Some(c)) if PROPERTY.contains(&c) => "PROPERTY CRIME".to_string(),
                _ => "ALL OTHER".to_string(),
            };
            let sector = area(r, "sector", &placeholders);
            let precinct = area(r, "precinct", &placeholders)
                .map(|p| precinct_name(&p).map(str::to_string).unwrap_or(p))
                .or_else(|| sector.as_deref().and_then(sector_precinct).map(str::to_string));
            let lat = r["latitude"].as_deref().map(|v| v.parse::<f64>().unwrap());
            let lon = r["longitude"].as_deref().map(|v| v.parse::<f64>().unwrap());
            let in_seattle = matches!((lat, lon), (Some(a), Some(o)) if (47.45..=47.80).contains(&a) && (-122.50..=-122.20).contains(&o));
            let reported = date(r, "report_date_time");
            let o = Offense {
                offense_id: offense_id.clone(),
                report_month: r["report_date_time"].as_deref().unwrap()[..7].to_string(),
                reported,
                occurred: date(r, "offense_date"),
                category,
                crime_against: text(r, "nibrs_crime_against_category").map(|c| c.to_uppercase()),
                sub_category: text(r, "offense_sub_category"),
                offense: text(r, "nibrs_offense_code_description"),
                precinct: precinct.unwrap_or_else(|| "UNKNOWN".into()),
                sector: sector.unwrap_or_else(|| "UNKNOWN".into()),
                beat: area(r, "beat", &placeholders).unwrap_or_else(|| "UNKNOWN".into()),
                neighborhood: area(r, "neighborhood", &placeholders).unwrap_or_else(|| "UNKNOWN".into()),
                latitude: lat.filter(|_| in_seattle),
                longitude: lon.filter(|_| in_seattle),
                block_address: text(r, "block_address").filter(|b| b.to_uppercase() != "REDACTED"),
                updated_at: r["source_updated_at"].as_deref().map(timestamp),
                source_row_id: r["source_row_id"].clone(),
            };
            let keep_new = match out.get(&offense_id) {
                None => true,
                Some(prev) => {
                    (o.updated_at, o.reported, &o.report_month, &o.source_row_id)
                        > (prev.updated_at, prev.reported, &prev.report_month, &prev.source_row_id)
                }
            };
            if keep_new {
                out.insert(offense_id, o);
            }
        }
        out
    }

    /// `(axis, timestamp)` pairs of an offense: occurred when it has an offense date, reported when it has a report time.
    pub fn axes(o: &Offense) -> Vec<(&'static str, NaiveDateTime)> {
        let mut v = vec![];
        if let Some(t) = o.occurred {
            v.push(("occurred", t));
        }
        if let Some(t) = o.reported {
            v.push(("reported", t));
        }
        v
    }

    pub fn month(t: NaiveDateTime) -> String {
        format!("{:04}-{:02}-01", t.year(), t.month())
    }

    pub type Counts = BTreeMap<Vec<String>, i64>;

    pub fn count<F: Fn(&Offense, &str, NaiveDateTime) -> Vec<Vec<String>>>(
        offenses: &BTreeMap<String, Offense>,
        key: F,
    ) -> Counts {
        let mut out = Counts::new();
        for o in offenses.values() {
            for (axis, t) in axes(o) {
                for k in key(o, axis, t) {
                    *out.entry(k).or_default() += 1;
                }
            }
        }
        out
    }

    pub fn areas(o: &Offense) -> Vec<String> {
        vec![o.precinct.clone(), o.sector.clone(), o.beat.clone(), o.neighborhood.clone()]
    }

    /// The all-category delay shares (0 … 12 months) dim_month reads and the reference offenses they rest on:
    /// occurrence months 12 … 23 before the newest lake month, none before the first lake month.
    pub fn delay_shares(offenses: &BTreeMap<String, Offense>, lake_months: &[&str]) -> Option<(Vec<f64>, usize)> {
        let index = |m: &str| -> i32 { m[..4].parse::<i32>().unwrap() * 12 + m[5..7].parse::<i32>().unwrap() };
        let newest = index(lake_months.iter().max().unwrap());
        let first = index(lake_months.iter().min().unwrap());
        let delays: Vec<u32> = offenses
            .values()
            .filter_map(|o| Some((month(o.occurred?), month(o.reported?))))
            .filter(|(occ, _)| (newest - 23..=newest - 12).contains(&index(occ)) && index(occ) >= first)
            .map(|(occ, rep)| (index(&rep) - index(&occ)).max(0) as u32)
            .collect();
        crate::numbers::delay_shares(&delays, 12)
    }

    /// dim_month: month → (is_partial, is_provisional), from the lake's months and both axes. Provisional: not
    /// partial and less than `complete_share` of all offenses reported at the month's age, when the delays rest on
    /// 100 reference offenses or more; otherwise one of the `provisional_months` before the newest lake month.
    pub fn months(
        offenses: &BTreeMap<String, Offense>,
        lake_months: &[&str],
        partial: &[&str],
        (complete_share, provisional_months): (f64, u32),
    ) -> BTreeMap<String, (bool, bool)> {
        let newest = lake_months.iter().max().unwrap();
        let (ny, nm): (i32, i32) = (newest[..4].parse().unwrap(), newest[5..7].parse().unwrap());
        let index = |m: &str| -> i32 { m[..4].parse::<i32>().unwrap() * 12 + m[5..7].parse::<i32>().unwrap() };
        let newest_index = ny * 12 + nm;
        let measured = delay_shares(offenses, lake_months).filter(|(_, reference)| *reference >= 100);
        let mut all: BTreeSet<String> = lake_months.iter().map(|m| format!("{m}-01")).collect();
        for o in offenses.values() {
            for (_, t) in axes(o) {
                all.insert(month(t));
            }
        }
        all.into_iter()
            .map(|m| {
                let i = index(&m);
                let is_partial = partial.contains(&&m[..7]) || i > newest_index;
                let is_provisional = match &measured {
                    Some((shares, _)) => {
                        !is_partial
                            && usize::try_from(newest_index - i)
                                .ok()
                                .and_then(|age| shares.get(age))
                                .is_some_and(|p| *p < complete_share)
                    }
                    None => i >= newest_index - provisional_months as i32 && i < newest_index,
                };
                (m, (is_partial, is_provisional))
            })
            .collect()
    }
}

/// mart_category_trend equals the trend counted independently from the expected offenses.
pub(crate) fn assert_trend_matches(
    conn: &duckdb::Connection,
    offenses: &BTreeMap<String, expected::Offense>,
    label: &str,
) {
    let trend = mart_counts(
        conn,
        "marts.mart_category_trend",
        &["axis", "month", "offense_category", "precinct", "sector", "beat", "neighborhood"],
    );
    let want = expected::count(offenses, |o, axis, t| {
        let mut k = vec![axis.to_string(), expected::month(t), o.category.clone()];
        k.extend(expected::areas(o));
        vec![k]
    });
    assert_counts_equal(label, &trend, &want);
}

/// Reads a mart into `key columns → n`.
fn mart_counts(conn: &duckdb::Connection, table: &str, keys: &[&str]) -> expected::Counts {
    let cols: Vec<String> = keys.iter().map(|k| format!("CAST({k} AS VARCHAR)")).collect();
    let sql = format!("SELECT {}, n FROM {table}", cols.join(", "));
    let mut stmt = conn.prepare(&sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = expected::Counts::new();
    while let Some(r) = rows.next().unwrap() {
        let key: Vec<String> = (0..keys.len()).map(|i| r.get::<_, String>(i).unwrap()).collect();
        let n: i64 = r.get(keys.len()).unwrap();
        assert!(out.insert(key.clone(), n).is_none(), "{table}: duplicate key {key:?}");
    }
    out
}

fn assert_counts_equal(table: &str, actual: &expected::Counts, expected: &expected::Counts) {
    let missing: Vec<_> = expected.iter().filter(|(k, v)| actual.get(*k) != Some(v)).take(5).collect();
    let extra: Vec<_> = actual.iter().filter(|(k, v)| expected.get(*k) != Some(v)).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{table} differs from the Rust computation:\n  expected (not found): {missing:?}\n  found (not expected): {extra:?}");
    assert_eq!(actual.len(), expected.len(), "{table} row count");
}

pub(crate) fn open_read_only(path: &Path) -> duckdb::Connection {
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap();
    duckdb::Connection::open_with_flags(path, config).unwrap()
}

fn golden_rows() -> Vec<Row> {
    let mut rows = samples::old_schema_api_rows();
    rows.extend(samples::new_schema_export_rows());
    rows.extend(samples::edge_rows());
    rows
}

const GOLDEN_PARTIAL: &[&str] = &["2026-01"];

#[test]
fn golden_marts_match_an_independent_rust_computation_on_real_and_edge_rows() {
    let dir = data_dir("golden");
    let lake_rows = fixture_lake::write(&dir.join("lake"), &golden_rows(), GOLDEN_PARTIAL);
    let summary = pipeline::build(&settings(&dir), Progress::Hidden).unwrap();
    let offenses = expected::offenses(&lake_rows);
    assert!(summary.published);
    assert_eq!(summary.lake_rows as usize, lake_rows.len());
    assert_eq!(summary.fact_rows as usize, offenses.len());
    assert_eq!(summary.excluded_rows, 2, "one row without an offense_id, one older version of 9000001");

    let conn = open_read_only(&dir.join("warehouse.duckdb"));
    assert_trend_matches(&conn, &offenses, "mart_category_trend");

    let area =
        mart_counts(&conn, "marts.mart_area_counts", &["axis", "month", "offense_category", "area_level", "area"]);
    let want = expected::count(&offenses, |o, axis, t| {
        ["precinct", "sector", "beat", "neighborhood"]
            .iter()
            .zip(expected::areas(o))
            .map(|(level, a)| vec![axis.to_string(), expected::month(t), o.category.clone(), level.to_string(), a])
            .collect()
    });
    assert_counts_equal("mart_area_counts", &area, &want);

    let breakdown = mart_counts(
        &conn,
        "marts.mart_offense_breakdown",
        &[
            "axis",
            "month",
            "offense_category",
            "offense_sub_category",
            "offense",
            "precinct",
            "sector",
            "beat",
            "neighborhood",
        ],
    );
    let want = expected::count(&offenses, |o, axis, t| {
        let mut k = vec![
            axis.to_string(),
            expected::month(t),
            o.category.clone(),
            o.sub_category.clone().unwrap_or_else(|| "UNKNOWN".into()),
            o.offense.clone().unwrap_or_else(|| "UNKNOWN".into()),
        ];
        k.extend(expected::areas(o));
        vec![k]
    });
    assert_counts_equal("mart_offense_breakdown", &breakdown, &want);

    let hours = mart_counts(
        &conn,
        "marts.mart_hour_weekday",
        &["axis", "month", "offense_category", "hour", "weekday", "precinct", "sector", "beat", "neighborhood"],
    );
    let want = expected::count(&offenses, |o, axis, t| {
        let mut k = vec![
            axis.to_string(),
            expected::month(t),
            o.category.clone(),
            t.hour().to_string(),
            t.weekday().num_days_from_monday().to_string(),
        ];
        k.extend(expected::areas(o));
        vec![k]
    });
    assert_counts_equal("mart_hour_weekday", &hours, &want);

    // Month flags, in dim_month and on every trend row.
    let lake_months: Vec<&str> =
        vec!["2022-04", "2022-05", "2022-06", "2022-07", "2024-01", "2024-02", "2025-12", "2026-01"];
    // Too few reference offenses to measure the delays: the fixed fallback, and meta_build says so.
    let reference = expected::delay_shares(&offenses, &lake_months).map_or(0, |d| d.1);
    assert!(reference < 100, "{reference}");
    let method: String = conn.query_row("SELECT provisional_method FROM marts.meta_build", [], |r| r.get(0)).unwrap();
    assert_eq!(method, "fixed");
    let months = expected::months(&offenses, &lake_months, GOLDEN_PARTIAL, (0.95, 2));
    let mut stmt =
        conn.prepare("SELECT CAST(month AS VARCHAR), is_partial, is_provisional FROM marts.dim_month").unwrap();
    let actual: BTreeMap<String, (bool, bool)> =
        stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))).unwrap().map(Result::unwrap).collect();
    assert_eq!(actual, months);
    assert_eq!(months["2026-01-01"], (true, false), "the partial month");
    assert_eq!(months["2025-12-01"], (false, true), "provisional: one of the 2 months before the newest");
    assert_eq!(months["2025-11-01"], (false, true), "provisional even without lake rows (offense dates)");
    let bad_flags: i64 = conn
        .query_row(
            "SELECT count(*) FROM marts.mart_category_trend t JOIN marts.dim_month d USING (month)
             WHERE t.is_partial <> d.is_partial OR t.is_provisional <> d.is_provisional",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad_flags, 0);

    // The edge rows, one by one, in the fact table.
    let fact = |id: &str| -> (String, String, String, String, Option<String>, Option<f64>, Option<String>) {
        conn.query_row(
            "SELECT offense_category, precinct, sector, beat, CAST(offense_date AS VARCHAR), latitude, crime_against
             FROM marts.fct_offenses WHERE offense_id = ?",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap()
    };
    let dedup = fact("9000001");
    assert_eq!(dedup.0, "VIOLENT CRIME", "the newer version of a duplicated offense_id wins");
    let placeholder = fact("9000002");
    assert_eq!(
        (placeholder.1.as_str(), placeholder.2.as_str(), placeholder.3.as_str()),
        ("UNKNOWN", "UNKNOWN", "UNKNOWN")
    );
    assert_eq!(placeholder.4, None, "1900-01-01 is NULL");
    assert_eq!(placeholder.5, None, "latitude 89.99 is NULL");
    assert_eq!(fact("9000003").1, "North");
    assert_eq!(fact("9100001").0, "VIOLENT CRIME", "old schema 13A → violent");
    assert_eq!(fact("9100001").1, "Southwest", "SW → Southwest");
    assert_eq!(fact("9100002").0, "ALL OTHER", "09B negligent manslaughter is not violent");
    assert_eq!(fact("9100002").1, "East");
    assert_eq!(fact("9100003").0, "ALL OTHER", "09C justifiable homicide is not violent");
    assert_eq!(fact("9100004").0, "PROPERTY CRIME", "23H → property");
    assert_eq!(fact("9100005").0, "PROPERTY CRIME", "240 → property");
    assert_eq!(fact("9100006").1, "Southwest", "UNKNOWN precinct, sector F → Southwest");
    assert_eq!(fact("9100007").1, "South", "empty precinct, sector O → South");
    assert_eq!(fact("9100008").0, "ALL OTHER");
    assert_eq!(fact("9100009").5, None, "longitude -123.5 is outside Seattle");
    let missing_id: i64 = conn
        .query_row("SELECT count(*) FROM marts.fct_offenses WHERE report_number = '2024-9000004'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(missing_id, 0);
    let extra: String = conn
        .query_row("SELECT extra_columns FROM staging.stg_offenses WHERE offense_id = '9000007'", [], |r| r.get(0))
        .unwrap();
    assert!(extra.contains("census_block_2020"), "{extra}");

    // Every fact row's cleaned columns, against the Rust computation.
    let mut stmt = conn
        .prepare("SELECT offense_id, crime_against, latitude, longitude, block_address FROM marts.fct_offenses")
        .unwrap();
    type Cleaned = (Option<String>, Option<f64>, Option<f64>, Option<String>);
    let facts: BTreeMap<String, Cleaned> = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(facts.len(), offenses.len());
    for o in offenses.values() {
        let f = &facts[&o.offense_id];
        assert_eq!((&f.1, &f.2, &f.3), (&o.latitude, &o.longitude, &o.block_address), "{}", o.offense_id);
        if o.crime_against.is_some() {
            assert_eq!(f.0, o.crime_against, "{}", o.offense_id);
        }
    }

    // Real old-schema rows: every one derives its category from the NIBRS code, as computed in Rust.
    let derived: i64 = conn
        .query_row("SELECT count(*) FROM staging.stg_offenses WHERE offense_category_source = 'nibrs_code'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(derived >= 4098, "{derived}");
    for o in offenses.values() {
        if o.offense_id == "33504656149" {
            assert_eq!((o.category.as_str(), o.precinct.as_str()), ("PROPERTY CRIME", "North"));
        }
    }

    // Warnings carry counts: the future offense and SPD's robbery-as-property.
    let future = summary.tests.iter().find(|t| t.name == "warn_offense_date_after_report_date_time").unwrap();
    let want_future = offenses
        .values()
        .filter(|o| matches!((o.occurred, o.reported), (Some(a), Some(b)) if a > b + chrono::Duration::hours(24)))
        .count();
    assert_eq!(future.failing_rows as usize, want_future);
    assert!(want_future >= 1);
    let disagree = summary.tests.iter().find(|t| t.name == "warn_spd_category_disagrees_with_nibrs").unwrap();
    assert_eq!(disagree.failing_rows, 1);
    assert!(
        disagree.sample_rows[0].contains("offenses=1") && disagree.sample_rows[0].contains("120"),
        "{:?}",
        disagree.sample_rows
    );
    assert!(summary.warnings.iter().any(|w| w.contains("warn_spd_category_disagrees_with_nibrs")));
    assert!(summary.tests.iter().filter(|t| t.severity == crimewatch::warehouse::Severity::Error).all(|t| t.passed()));
    assert!(summary.tests.len() > 80, "every generic and singular test ran: {}", summary.tests.len());
}

/// A small good lake and a broken one (a crime-against value outside the accepted list).
fn small_rows() -> Vec<Row> {
    samples::edge_rows()
}

fn broken_rows() -> Vec<Row> {
    let mut rows = small_rows();
    rows[3].insert("nibrs_crime_against_category".into(), json!("BOGUS"));
    rows
}

fn candidates_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("candidate"))
        .collect()
}

#[test]
fn failing_data_test_exits_non_zero_names_the_test_and_leaves_the_published_file_byte_identical() {
    let dir = data_dir("failing");
    fixture_lake::write(&dir.join("lake"), &small_rows(), &[]);
    let out = crimewatch(&dir, &["build"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let published = dir.join("warehouse.duckdb");
    let before = std::fs::read(&published).unwrap();

    fixture_lake::write(&dir.join("lake"), &broken_rows(), &[]);
    let out = crimewatch(&dir, &["build"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "failed data tests exit 4: {stderr}");
    assert!(
        stderr.contains("accepted_values_fct_offenses_crime_against__PERSON__PROPERTY__SOCIETY__ANY__NOT_A_CRIME"),
        "{stderr}"
    );
    assert!(stderr.contains("1 failing row(s)"), "{stderr}");
    assert!(stderr.contains("value_field=BOGUS, n_records=1"), "{stderr}");
    assert!(stderr.contains("unchanged"), "{stderr}");
    assert_eq!(std::fs::read(&published).unwrap(), before, "the published file must not change");
    assert!(candidates_left(&dir).is_empty(), "{:?}", candidates_left(&dir));

    let out = crimewatch(&dir, &["--json", "build"], &[]);
    assert_eq!(out.status.code(), Some(4));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&report["error"]["code"], &report["error"]["exit_code"]), (&json!("data_tests_failed"), &json!(4)));
    assert!(report["error"]["message"].as_str().unwrap().contains("1 data test(s) failed"), "{report:#}");
    assert_eq!(report["published"], json!(false));
    let failed = report["failed_tests"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed.iter().all(|f| f["failing_rows"] == json!(1)));
    assert_eq!(std::fs::read(&published).unwrap(), before);
}

#[test]
fn build_killed_mid_way_leaves_the_published_file_intact_and_the_next_build_cleans_up() {
    let dir = data_dir("killed");
    fixture_lake::write(&dir.join("lake"), &small_rows(), &[]);
    assert!(crimewatch(&dir, &["build"], &[]).status.success());
    let published = dir.join("warehouse.duckdb");
    let before = std::fs::read(&published).unwrap();
    let old_facts: i64 =
        open_read_only(&published).query_row("SELECT count(*) FROM marts.fct_offenses", [], |r| r.get(0)).unwrap();

    let mut more = small_rows();
    more.extend(samples::new_schema_export_rows());
    fixture_lake::write(&dir.join("lake"), &more, &[]);
    for point in ["kill-build-after-models", "kill-build-before-publish"] {
        let out = crimewatch(&dir, &["build"], &[(crimewatch::warehouse::FAULT_INJECTION_ENV, point)]);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{point}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(&published).unwrap(), before, "{point}: published file changed");
        assert!(!candidates_left(&dir).is_empty(), "{point}: the killed build's candidate is still there");
        let n: i64 =
            open_read_only(&published).query_row("SELECT count(*) FROM marts.fct_offenses", [], |r| r.get(0)).unwrap();
        assert_eq!(n, old_facts, "{point}: the published warehouse still reads");
    }

    let out = crimewatch(&dir, &["--json", "build"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["fact_rows"].as_i64().unwrap(), old_facts + 130);
    assert!(candidates_left(&dir).is_empty(), "stale candidates removed: {:?}", candidates_left(&dir));
}

#[test]
fn reader_holding_the_published_file_is_not_blocked_and_keeps_its_snapshot() {
    let dir = data_dir("reader");
    fixture_lake::write(&dir.join("lake"), &small_rows(), &[]);
    pipeline::build(&settings(&dir), Progress::Hidden).unwrap();
    let published = dir.join("warehouse.duckdb");
    let reader = open_read_only(&published);
    let count = |c: &duckdb::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM marts.fct_offenses", [], |r| r.get(0)).unwrap()
    };
    let old = count(&reader);

    let mut more = small_rows();
    more.extend(samples::new_schema_export_rows());
    fixture_lake::write(&dir.join("lake"), &more, &[]);
    let summary = pipeline::build(&settings(&dir), Progress::Hidden).unwrap();
    assert_eq!(summary.fact_rows as i64, old + 130);
    assert_eq!(count(&reader), old, "an open reader keeps the file it opened");
    assert_eq!(count(&open_read_only(&published)), old + 130, "a new reader sees the new build");
}

#[test]
fn warehouse_is_self_contained_and_opens_in_python_duckdb() {
    let dir = data_dir("python");
    let lake_rows = fixture_lake::write(&dir.join("lake"), &small_rows(), &[]);
    pipeline::build(&settings(&dir), Progress::Hidden).unwrap();
    // Moved away from its lake (deleted), the file still answers every query: staging and the stored marts are
    // tables, and the views (fct_offenses; the published marts stored at the dashboard's grain) read tables in
    // the same file.
    let moved_to = data_dir("python-moved");
    let elsewhere = moved_to.join("copy.duckdb");
    std::fs::copy(dir.join("warehouse.duckdb"), &elsewhere).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let script = r#"
import sys, duckdb
c = duckdb.connect(sys.argv[1], read_only=True)
tables = c.execute("select table_schema || '.' || table_name, table_type from information_schema.tables order by 1").fetchall()
for name, kind in tables:
    n = c.execute(f"select count(*) from {name}").fetchall()[0][0]
    print(f"{name} {kind} {n}")
print("version", duckdb.__version__)
"#;
    let out = Command::new("python3").arg("-c").arg(script).arg(&elsewhere).output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&out.stderr));
    let facts = expected::offenses(&lake_rows).len();
    assert!(stdout.contains(&format!("marts.fct_offenses VIEW {facts}\n")), "{stdout}");
    assert!(stdout.contains(&format!("staging.stg_offenses BASE TABLE {facts}\n")), "{stdout}");
    for table in [
        "staging.stg_offenses",
        "staging.lake_manifest",
        "staging.nibrs_offense_codes",
        "staging.precincts",
        "marts.dim_month",
        "marts.dim_area",
        "marts.mart_area_counts",
        "marts.api_category_trend",
        "marts.api_offense_breakdown",
        "marts.api_hour_weekday",
        "marts.mart_dispersion",
        "marts.mart_reporting_delay",
        "marts.mart_completeness",
        "marts.mart_revisions",
        "marts.mart_month_revisions",
        "marts.mart_revision_drift",
        "marts.mart_expected_range",
        "marts.meta_build",
    ] {
        assert!(stdout.contains(&format!("{table} BASE TABLE ")), "{table} missing:\n{stdout}");
    }
    for view in ["marts.mart_category_trend", "marts.mart_offense_breakdown", "marts.mart_hour_weekday"] {
        assert!(stdout.contains(&format!("{view} VIEW ")), "{view} missing:\n{stdout}");
    }
    assert_eq!(stdout.matches("VIEW").count(), 4, "fct_offenses and three published marts are views: {stdout}");
    // The intermediate models are ephemeral: they add no relation (nor a schema) to the published file.
    let relations = stdout.lines().filter(|l| l.contains(" BASE TABLE ") || l.contains(" VIEW ")).count();
    assert_eq!(relations, 22, "seeds, lake_manifest, stg_offenses and the marts only: {stdout}");
    assert!(stdout.contains("version 2."), "same major version as the bundled DuckDB: {stdout}");
}

/// The DuckDB 1.x CLI (1.5.6 from PyPI), installed by scripts/install-test-deps: users' tools still ship 1.x.
fn duckdb_1x_cli() -> std::path::PathBuf {
    let home = std::env::var_os("HOME").expect("HOME is set");
    let cli = Path::new(&home).join(".cache/crimewatch/duckdb-cli-1.5.6/duckdb_cli/duckdb");
    assert!(cli.exists(), "{} is missing: run scripts/install-test-deps", cli.display());
    cli
}

fn duckdb_1x(cli: &Path, dir: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new(cli).current_dir(dir).args(["-csv", "-noheader"]).args(args).output().expect("duckdb runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "duckdb {args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout.lines().map(str::to_string).collect()
}

#[test]
fn lake_and_published_warehouse_open_in_the_duckdb_1x_cli() {
    let cli = duckdb_1x_cli();
    let dir = data_dir("duckdb-1x");
    let lake_rows = fixture_lake::write(&dir.join("lake"), &small_rows(), &[]);
    pipeline::build(&settings(&dir), Progress::Hidden).unwrap();
    // The ingest issue's own check on the lake, as a user types it from the folder holding the data dir.
    let parent = dir.parent().unwrap();
    let name = dir.file_name().unwrap().to_string_lossy();
    let lake_count =
        format!("select count(*) from read_parquet('{name}/lake/spd_crime/*/*.parquet', hive_partitioning=true)");
    assert_eq!(duckdb_1x(&cli, parent, &["-c", &lake_count]), [lake_rows.len().to_string()]);
    // DuckDB 2.0 writes a format 1.x cannot open unless told otherwise (warehouse.storage_version, v1.4.0).
    let facts = expected::offenses(&lake_rows).len();
    let lines = duckdb_1x(
        &cli,
        &dir,
        &[
            "-readonly",
            "warehouse.duckdb",
            "-c",
            "select count(*) from marts.fct_offenses; \
             select (select sum(n) from marts.mart_category_trend where axis = 'reported') \
                  = (select count(report_date_time) from marts.fct_offenses); \
             select version();",
        ],
    );
    assert_eq!(lines, [facts.to_string(), "true".to_string(), "v1.5.6".to_string()]);
}

/// Each month's file kept once more under revisions/ with its record, as first fetched on the 3rd of the next
/// month: every revision mart then has rows (three months of age 1 make a drift row).
fn keep_versions_first_fetched_a_month_later(lake: &Path, months: &[&str]) {
    for m in months {
        let live = lake.join(format!("spd_crime/report_month={m}"));
        let file = std::fs::read_dir(&live)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "parquet"))
            .unwrap();
        let kept = lake.join(format!("revisions/report_month={m}/20260101T000000.000000Z"));
        std::fs::create_dir_all(&kept).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        std::fs::copy(&file, kept.join(&name)).unwrap();
        let (y, mo): (i32, u32) = (m[..4].parse().unwrap(), m[5..7].parse().unwrap());
        let next = if mo == 12 { format!("{}-01", y + 1) } else { format!("{y}-{:02}", mo + 1) };
        let record = json!({"dataset": "tazs-3rd5", "month": m, "rows": 1, "file": name,
            "fetched_at": format!("{next}-03T08:00:00Z"), "partial": false, "source_kind": "soda"});
        std::fs::write(kept.join("_month.json"), record.to_string()).unwrap();
    }
}

#[test]
fn dbt_build_on_the_same_project_matches_crimewatch_row_for_row() {
    let dir = data_dir("dbt");
    let lake = dir.join("lake");
    // Plus January 2023 and 2025, so January 2026 has earlier Januaries for an expected range.
    let mut rows = golden_rows();
    let template = samples::new_schema_export_rows()[0].clone();
    for (i, when) in ["2023-01-10T10:00:00.000", "2025-01-12T11:00:00.000"].iter().enumerate() {
        let mut r = template.clone();
        r.retain(|k, _| !k.contains("date") && k != "report_datetime" && k != "offense_start_datetime");
        r.insert("offense_id".into(), json!(format!("7770000{i}")));
        r.insert("report_date_time".into(), json!(when));
        r.insert("offense_date".into(), json!(when));
        rows.push(r);
    }
    fixture_lake::write(&lake, &rows, GOLDEN_PARTIAL);
    keep_versions_first_fetched_a_month_later(&lake, &["2022-04", "2022-05", "2022-06"]);
    let summary = pipeline::build(&settings(&dir), Progress::Hidden).unwrap();
    let our_warnings: BTreeSet<String> = summary.tests.iter().filter(|t| !t.passed()).map(|t| t.name.clone()).collect();

    let dbt_file = dir.join("dbt.duckdb");
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("transform");
    // dbt writes .user.yml into the profiles dir: give it a copy of the project's profile in the temp dir.
    let profiles = dir.join("dbt-profiles");
    std::fs::create_dir_all(&profiles).unwrap();
    std::fs::copy(project.join("profiles.yml"), profiles.join("profiles.yml")).unwrap();
    let out = Command::new("dbt")
        .args(["build", "--project-dir"])
        .arg(&project)
        .arg("--profiles-dir")
        .arg(&profiles)
        .arg("--target-path")
        .arg(dir.join("dbt-target"))
        .arg("--log-path")
        .arg(dir.join("dbt-logs"))
        .args(["--vars", "{provisional_months: 2}", "--no-use-colors"])
        .env("CRIMEWATCH_LAKE_DIR", &lake)
        .env("CRIMEWATCH_WAREHOUSE", &dbt_file)
        .env("DBT_PROFILES_DIR", &profiles)
        .env("DO_NOT_TRACK", "1")
        .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        .output()
        .expect("dbt is installed (scripts/install-test-deps)");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "dbt build failed:\n{log}\n{}", String::from_utf8_lossy(&out.stderr));
    // The word after `marker` on each line of dbt's log that has it: a test's name.
    let named_after = |marker: &str| -> BTreeSet<String> {
        let names =
            log.lines().filter_map(|l| l.split(marker).nth(1)).filter_map(|rest| rest.split_whitespace().next());
        names.map(str::to_string).collect()
    };
    assert_eq!(named_after("Warning in test "), our_warnings, "dbt warns on the same tests:\n{log}");
    // dbt runs the same data tests, by the same names (model-level grain tests included).
    let our_tests: BTreeSet<String> = summary.tests.iter().map(|t| t.name.clone()).collect();
    assert_eq!(named_after(" START test "), our_tests, "the same data tests:\n{log}");
    assert!(our_warnings.len() >= 3, "{our_warnings:?}");
    assert!(log.contains("ERROR=0"), "{log}");

    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "ATTACH '{}' AS cw (READ_ONLY); ATTACH '{}' AS dbt (READ_ONLY);",
        dir.join("warehouse.duckdb").display(),
        dbt_file.display()
    ))
    .unwrap();
    let tables = |db: &str| -> BTreeSet<String> {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables
                 WHERE table_catalog = '{db}' AND table_schema IN ('staging', 'marts')"
            ))
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let ours = tables("cw");
    assert_eq!(ours, tables("dbt"), "the same tables");
    assert!(ours.len() >= 14, "{ours:?}");
    for table in ours.iter().filter(|t| *t != "marts.meta_build") {
        let columns = |db: &str| -> Vec<(String, String)> {
            let (schema, name) = table.split_once('.').unwrap();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT column_name, data_type FROM information_schema.columns
                     WHERE table_catalog = '{db}' AND table_schema = '{schema}' AND table_name = '{name}'
                     ORDER BY ordinal_position"
                ))
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(columns("cw"), columns("dbt"), "{table}: columns and types");
        let total: i64 = conn.query_row(&format!("SELECT count(*) FROM cw.{table}"), [], |r| r.get(0)).unwrap();
        assert!(total > 0, "{table} is empty");
        for (a, b) in [("cw", "dbt"), ("dbt", "cw")] {
            let diff: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM (SELECT * FROM {a}.{table} EXCEPT ALL SELECT * FROM {b}.{table})"),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(diff, 0, "{table}: {diff} row(s) in {a} not in {b}");
        }
    }
    // meta_build differs only in built_at.
    let diff: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT * EXCLUDE (built_at) FROM cw.marts.meta_build
             EXCEPT ALL SELECT * EXCLUDE (built_at) FROM dbt.marts.meta_build)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(diff, 0);
}

#[test]
fn build_without_a_lake_fails_clearly_and_publishes_nothing() {
    let dir = data_dir("nolake");
    let out = crimewatch(&dir, &["build"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no lake at") && stderr.contains("crimewatch ingest"), "{stderr}");
    assert!(!dir.join("warehouse.duckdb").exists());
}

#[test]
fn build_prints_a_summary_table_and_json() {
    let dir = data_dir("summary");
    let lake_rows = fixture_lake::write(&dir.join("lake"), &small_rows(), &[]);
    let out = crimewatch(&dir, &["build"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("warehouse published:"), "{stdout}");
    assert!(stdout.contains("warning: warn_spd_category_disagrees_with_nibrs"), "{stdout}");
    let out = crimewatch(&dir, &["--json", "build"], &[]);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["published"], json!(true));
    assert_eq!(summary["lake_rows"].as_u64().unwrap() as usize, lake_rows.len());
    assert_eq!(summary["fact_rows"].as_u64().unwrap() as usize, expected::offenses(&lake_rows).len());
    assert_eq!(summary["models"], json!(20));
    assert_eq!(summary["seeds"], json!(2));
}

/// The real path: the SODA-compatible server → `crimewatch ingest` → `crimewatch build`, with the marts checked
/// against the Rust computation from the rows the server held (generated rows, then the real revision pair).
#[test]
fn served_rows_ingested_then_built_give_the_independently_computed_marts() {
    use soda_testkit::generate::{self, GenSpec, Schema};
    use soda_testkit::{samples as kit_samples, Month, SodaServer};

    let check = |name: &str, rows: Vec<Row>, range: &[&str], then: Option<Vec<Row>>| {
        let dir = data_dir(name);
        let server = SodaServer::start("tazs-3rd5", rows.clone());
        let url = server.url();
        let ingest = |dir: &Path| {
            let mut args = vec!["--socrata-url", url.as_str(), "--json", "ingest"];
            args.extend_from_slice(range);
            let out = crimewatch(dir, &args, &[]);
            assert!(out.status.success(), "ingest: {}", String::from_utf8_lossy(&out.stderr));
        };
        ingest(&dir);
        let mut final_rows = rows;
        if let Some(next) = then {
            drop(server);
            let server = SodaServer::start("tazs-3rd5", next.clone());
            let mut args = vec!["--socrata-url", server.url().leak() as &str, "--json", "ingest"];
            args.extend_from_slice(range);
            let out = crimewatch(&dir, &args, &[]);
            assert!(out.status.success(), "second ingest: {}", String::from_utf8_lossy(&out.stderr));
            final_rows = next;
        }
        let out = crimewatch(&dir, &["--json", "build"], &[]);
        assert!(out.status.success(), "build: {}", String::from_utf8_lossy(&out.stderr));
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        let lake_rows: Vec<_> = final_rows.iter().enumerate().map(|(i, r)| fixture_lake::to_lake_row(r, i)).collect();
        let offenses = expected::offenses(&lake_rows);
        assert_eq!(summary["fact_rows"].as_u64().unwrap() as usize, offenses.len(), "{name}");
        let conn = open_read_only(&dir.join("warehouse.duckdb"));
        assert_trend_matches(&conn, &offenses, "mart_category_trend (served, ingested, built)");
        let hours = mart_counts(
            &conn,
            "(SELECT axis, month, offense_category, hour, weekday, CAST(sum(n) AS BIGINT) AS n
              FROM marts.mart_hour_weekday GROUP BY ALL)",
            &["axis", "month", "offense_category", "hour", "weekday"],
        );
        let mut want = expected::Counts::new();
        for o in offenses.values() {
            for (axis, t) in expected::axes(o) {
                let k = vec![
                    axis.to_string(),
                    expected::month(t),
                    o.category.clone(),
                    t.hour().to_string(),
                    t.weekday().num_days_from_monday().to_string(),
                ];
                *want.entry(k).or_default() += 1;
            }
        }
        assert_counts_equal("mart_hour_weekday (served)", &hours, &want);
    };

    let generated = generate::rows(&GenSpec {
        seed: 7,
        first: Month::parse("2024-01").unwrap(),
        last: Month::parse("2024-06").unwrap(),
        rows: 1500,
        schema: Schema::Nibrs,
    });
    check("e2e-generated", generated, &["--since", "2024-01", "--until", "2024-06"], None);
    // The real revision pair: the second download replaces the first (added, gone, reclassified offenses).
    check(
        "e2e-revision",
        kit_samples::pull1(),
        &["--since", "2022-04", "--until", "2022-07"],
        Some(kit_samples::pull2()),
    );
}
