//! A fixture writer for tests and the benchmark: lays SODA-shaped rows (new or old field names) down as a lake in
//! the contract's layout (docs/CONTRACTS.md) — `lake/spd_crime/report_month=YYYY-MM/*.parquet` with the
//! contract's columns, and `lake/_manifest.json` — using DuckDB, as `crimewatch ingest` does. It applies the
//! lake's placeholder rules, nothing more. Standalone (the benchmark includes this file by path).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

type Row = Map<String, Value>;

/// Lake column, SODA new-schema name, SODA old-schema name (`-`: none).
const FIELDS: &[(&str, &str, &str)] = &[
    ("report_number", "report_number", "report_number"),
    ("offense_id", "offense_id", "offense_id"),
    ("report_date_time", "report_date_time", "report_datetime"),
    ("offense_date", "offense_date", "offense_start_datetime"),
    ("offense_end_date", "-", "offense_end_datetime"),
    ("nibrs_group_a_b", "nibrs_group_a_b", "group_a_b"),
    ("nibrs_crime_against_category", "nibrs_crime_against_category", "crime_against_category"),
    ("offense_sub_category", "offense_sub_category", "offense_parent_group"),
    ("shooting_type_group", "shooting_type_group", "-"),
    ("block_address", "block_address", "_100_block_address"),
    ("latitude", "latitude", "latitude"),
    ("longitude", "longitude", "longitude"),
    ("beat", "beat", "beat"),
    ("precinct", "precinct", "precinct"),
    ("sector", "sector", "sector"),
    ("neighborhood", "neighborhood", "mcpp"),
    ("reporting_area", "reporting_area", "-"),
    ("offense_category", "offense_category", "-"),
    ("nibrs_offense_code_description", "nibrs_offense_code_description", "offense"),
    ("nibrs_offense_code", "nibrs_offense_code", "offense_code"),
];

const SYSTEM: [&str; 4] = ["extra_columns", "source_row_id", "source_updated_at", "source_kind"];

/// One row in lake columns (text; timestamps as `YYYY-MM-DD HH:MM:SS`), after the lake's placeholder rules.
pub type LakeRow = BTreeMap<&'static str, Option<String>>;

/// Maps a SODA row to lake columns, as the lake contract says: `-` and '' are NULL in text columns;
/// REDACTED is NULL in block_address, reporting_area and the coordinates; coordinates -1 and 0 are NULL.
pub fn to_lake_row(r: &Row, index: usize) -> LakeRow {
    let old = r.contains_key("report_datetime");
    let mut out = LakeRow::new();
    let mut known: BTreeSet<&str> = [":id", ":updated_at", ":created_at"].into_iter().collect();
    for (col, new_name, old_name) in FIELDS {
        let name = if old { *old_name } else { *new_name };
        known.insert(name);
        let raw = r.get(name).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty() && *v != "-");
        let raw = raw.filter(|v| {
            !(matches!(*col, "block_address" | "reporting_area" | "latitude" | "longitude") && *v == "REDACTED")
        });
        let value = match *col {
            "latitude" | "longitude" => {
                raw.and_then(|v| v.parse::<f64>().ok()).filter(|f| *f != 0.0 && *f != -1.0).map(|f| f.to_string())
            }
            "report_date_time" | "offense_date" | "offense_end_date" => raw.map(|v| timestamp(v).to_string()),
            _ => raw.map(str::to_string),
        };
        out.insert(col, value);
    }
    let extra: Map<String, Value> =
        r.iter().filter(|(k, _)| !known.contains(k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    out.insert("extra_columns", (!extra.is_empty()).then(|| Value::Object(extra).to_string()));
    out.insert(
        "source_row_id",
        Some(r.get(":id").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| format!("row-{index:07}"))),
    );
    let updated = r.get(":updated_at").and_then(Value::as_str).unwrap_or("2026-11-01T00:00:00.000Z");
    out.insert("source_updated_at", Some(timestamp(updated.trim_end_matches('Z')).to_string()));
    out.insert("source_kind", Some("soda".to_string()));
    out
}

/// `2024-03-01T10:00:00.000` or `2024-03-01 10:00:00` → a timestamp.
pub fn timestamp(v: &str) -> NaiveDateTime {
    let v = v.replace('T', " ");
    let v = v.split('.').next().unwrap_or_default();
    NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S").unwrap_or_else(|e| panic!("fixture timestamp {v}: {e}"))
}

/// Writes the lake from `rows`; `partial` months are marked partial in the manifest. Returns the rows as written.
pub fn write(lake: &Path, rows: &[Row], partial: &[&str]) -> Vec<LakeRow> {
    let lake_rows: Vec<LakeRow> = rows.iter().enumerate().map(|(i, r)| to_lake_row(r, i)).collect();
    write_lake_rows(lake, lake_rows.iter().cloned(), partial);
    lake_rows
}

/// Writes the lake from a stream of SODA rows (the benchmark's 1.2M generated rows); returns the row count.
pub fn write_iter(lake: &Path, rows: impl Iterator<Item = Row>, partial: &[&str]) -> u64 {
    write_lake_rows(lake, rows.enumerate().map(|(i, r)| to_lake_row(&r, i)), partial)
}

fn write_lake_rows(lake: &Path, rows: impl Iterator<Item = LakeRow>, partial: &[&str]) -> u64 {
    let _ = std::fs::remove_dir_all(lake.join("spd_crime"));
    std::fs::create_dir_all(lake.join("spd_crime")).unwrap();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let columns: Vec<&str> = FIELDS.iter().map(|f| f.0).chain(SYSTEM).collect();
    let ddl: Vec<String> = columns.iter().map(|c| format!("{c} VARCHAR")).collect();
    conn.execute_batch(&format!("CREATE TABLE t ({}, report_month VARCHAR)", ddl.join(", "))).unwrap();
    let mut n = 0u64;
    {
        let mut app = conn.appender("t").unwrap();
        for r in rows {
            let month = r["report_date_time"].as_deref().expect("fixture rows need a report time")[..7].to_string();
            let values: Vec<Option<String>> = columns.iter().map(|c| r[c].clone()).chain([Some(month)]).collect();
            app.append_row(duckdb::appender_params_from_iter(values)).unwrap();
            n += 1;
        }
    }
    let typed: Vec<String> = columns
        .iter()
        .map(|c| match *c {
            "report_date_time" | "offense_date" | "offense_end_date" | "source_updated_at" => {
                format!("CAST({c} AS TIMESTAMP) AS {c}")
            }
            "latitude" | "longitude" => format!("CAST({c} AS DOUBLE) AS {c}"),
            _ => c.to_string(),
        })
        .collect();
    // One file per month folder, the partition column only in the folder name.
    conn.execute_batch(&format!(
        "COPY (SELECT {}, report_month FROM t ORDER BY source_row_id, offense_id) TO '{}'
         (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (report_month), FILENAME_PATTERN 'part-fixture{{i}}')",
        typed.join(", "),
        lake.join("spd_crime").display()
    ))
    .unwrap();
    let mut stmt = conn.prepare("SELECT report_month, count(*) FROM t GROUP BY 1 ORDER BY 1").unwrap();
    let counts: Vec<(String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let months: Vec<Value> = counts
        .iter()
        .map(|(month, rows)| {
            let (sha256, bytes) = checksum(&lake.join(format!("spd_crime/report_month={month}/part-fixture0.parquet")));
            json!({
                "month": month, "rows": rows, "quarantined": 0, "file": "part-fixture0.parquet",
                "sha256": sha256, "bytes": bytes,
                "fingerprint": {"count": rows, "max_updated_at": "2026-11-01T00:00:00.000", "content_sum": "0"},
                "fetched_at": "2026-11-28T12:00:00Z", "partial": partial.contains(&month.as_str()), "source_kind": "soda"
            })
        })
        .collect();
    let manifest = json!({
        "version": 1, "dataset": "tazs-3rd5", "source": "http://127.0.0.1", "source_fields": [],
        "updated_at": "2026-11-28T12:00:00Z", "months": months
    });
    std::fs::write(lake.join("_manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    n
}

/// A file's SHA-256 (hex) and size, as the manifest records them.
fn checksum(path: &Path) -> (String, u64) {
    use sha2::Digest as _;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("fixture file {}: {e}", path.display()));
    let hex = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    (hex, bytes.len() as u64)
}
