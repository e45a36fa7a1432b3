//! Ingest and import against the real local SODA-compatible server (soda_testkit), through the real
//! binary, with a fresh data dir per test. Expectations are computed here from the fixture rows, not by the
//! code under test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;
use soda_testkit::export::{write_csv, ExportStyle};
use soda_testkit::generate::{self, GenSpec, Schema};
use soda_testkit::{samples, Fault, FaultKind, Month, RequestKind, Row, SodaServer};

pub use crate::tempdir::TempDir;

pub const DATASET: &str = "tazs-3rd5";

/// The environment variables crimewatch reads, removed from every child so the machine's own settings cannot
/// change a test.
pub const AMBIENT_ENV: [&str; 13] = [
    "CRIMEWATCH_DATA_DIR",
    "CRIMEWATCH_LAKE",
    "CRIMEWATCH_FAULT_HOLD",
    "CRIMEWATCH_SOCRATA_URL",
    "CRIMEWATCH_DATASET",
    "CRIMEWATCH_CONFIG",
    "CRIMEWATCH_JSON",
    "CRIMEWATCH_VERBOSE",
    "CRIMEWATCH_LOG_FORMAT",
    "CRIMEWATCH_ADMIN_TOKEN",
    "SODA_APP_TOKEN",
    "RUST_LOG",
    "NO_COLOR",
];

/// A unique, empty folder for one test (removed when it passes).
pub fn temp_dir(name: &str) -> TempDir {
    TempDir::new(name)
}

/// One test's world: a data dir and a config file pointing at a server.
pub struct World {
    pub dir: TempDir,
    pub config: PathBuf,
}

impl World {
    /// `extra_source` is appended to the `[source]` table (e.g. `page_size_rows = 50`).
    pub fn new(name: &str, url: &str, extra_source: &str) -> World {
        let dir = temp_dir(name);
        let config = dir.join("crimewatch.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = {:?}\nsocrata_url = {:?}\n[source]\ntimeout_seconds = 2\nmax_attempts = 4\nbackoff_initial_ms = 10\nbackoff_max_seconds = 2\n{extra_source}\n",
                dir.join("data").to_string_lossy(),
                url
            ),
        )
        .unwrap();
        World { dir, config }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn lake(&self) -> PathBuf {
        self.data().join("lake")
    }

    /// Runs the binary with this world's config (ambient crimewatch env vars removed).
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_crimewatch"));
        c.arg("--config").arg(&self.config).args(args).current_dir(&self.dir);
        for v in AMBIENT_ENV {
            c.env_remove(v);
        }
        c.env_remove("CRIMEWATCH_FAULT_ABORT_AFTER");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    /// `ingest --json` over a range; panics with the output unless it succeeds; returns the summary.
    pub fn ingest(&self, extra: &[&str]) -> Value {
        let mut args = vec!["--json", "ingest"];
        args.extend_from_slice(extra);
        let out = self.run(&args, &[]);
        assert!(out.status.success(), "ingest failed:\n{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad JSON summary ({e}):\n{}", text(&out)))
    }

    pub fn manifest(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.lake().join("_manifest.json")).unwrap()).unwrap()
    }

    /// Every file under the lake (relative path → bytes): for byte-identical comparisons.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            let Ok(rd) = std::fs::read_dir(dir) else { return };
            for e in rd {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    out.insert(
                        p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                        std::fs::read(&p).unwrap(),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.lake(), &self.lake(), &mut out);
        out
    }

    /// Rows of the lake as readers see them, through DuckDB's hive-partitioned Parquet reader.
    pub fn lake_rows(&self) -> Vec<LakeRow> {
        lake_rows(&self.lake())
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The canonical columns a test compares (source ids aside), as text.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub struct LakeRow {
    pub report_month: String,
    pub offense_id: String,
    pub report_number: Option<String>,
    pub report_date_time: String,
    pub offense_date: Option<String>,
    pub offense_end_date: Option<String>,
    pub texts: Vec<Option<String>>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub source_kind: String,
    pub source_row_id: Option<String>,
}

const TEXT_COLS: &str = "nibrs_group_a_b, nibrs_crime_against_category, offense_sub_category, shooting_type_group, \
    block_address, beat, precinct, sector, neighborhood, reporting_area, offense_category, \
    nibrs_offense_code_description, nibrs_offense_code";

pub fn lake_rows(lake: &Path) -> Vec<LakeRow> {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let glob = lake.join("spd_crime/*/*.parquet");
    let sql = format!(
        "SELECT CAST(report_month AS VARCHAR), offense_id, report_number, strftime(report_date_time, '%Y-%m-%d %H:%M:%S'), \
         strftime(offense_date, '%Y-%m-%d %H:%M:%S'), strftime(offense_end_date, '%Y-%m-%d %H:%M:%S'), latitude, longitude, \
         source_kind, source_row_id, {TEXT_COLS} \
         FROM read_parquet('{}', hive_partitioning=true) ORDER BY offense_id, report_number",
        glob.display()
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt
        .query_map([], |r| {
            let mut texts = Vec::new();
            for i in 10..23 {
                texts.push(r.get::<_, Option<String>>(i)?);
            }
            Ok(LakeRow {
                report_month: r.get(0)?,
                offense_id: r.get(1)?,
                report_number: r.get(2)?,
                report_date_time: r.get(3)?,
                offense_date: r.get(4)?,
                offense_end_date: r.get(5)?,
                latitude: r.get(6)?,
                longitude: r.get(7)?,
                source_kind: r.get(8)?,
                source_row_id: r.get(9)?,
                texts,
            })
        })
        .unwrap();
    rows.map(|r| r.unwrap()).collect()
}

/// What the lake must hold for a source row, computed here from the row's JSON independently of crimewatch's
/// parser: old names mapped by hand, placeholders nulled as docs/CONTRACTS.md says.
pub fn expected(row: &Row, kind: &str) -> Option<LakeRow> {
    let get = |names: &[&str]| -> Option<String> {
        names.iter().find_map(|n| row.get(*n)).and_then(|v| v.as_str()).map(|s| s.trim().to_string())
    };
    let text = |names: &[&str], redactable: bool| -> Option<String> {
        get(names).filter(|s| !s.is_empty() && s != "-" && !(redactable && s == "REDACTED"))
    };
    let ts = |names: &[&str]| -> Option<String> { text(names, false).map(|s| s.replace('T', " ")[..19].to_string()) };
    let coord = |names: &[&str]| -> Option<f64> {
        text(names, true).map(|s| s.parse::<f64>().unwrap()).filter(|x| *x != 0.0 && *x != -1.0)
    };
    let offense_id = text(&["offense_id"], false)?;
    let report_date_time = ts(&["report_date_time", "report_datetime"])?;
    Some(LakeRow {
        report_month: report_date_time[..7].to_string(),
        offense_id,
        report_number: text(&["report_number"], false),
        report_date_time,
        offense_date: ts(&["offense_date", "offense_start_datetime"]),
        offense_end_date: ts(&["offense_end_datetime"]),
        texts: vec![
            text(&["nibrs_group_a_b", "group_a_b"], false),
            text(&["nibrs_crime_against_category", "crime_against_category"], false),
            text(&["offense_sub_category", "offense_parent_group"], false),
            text(&["shooting_type_group"], false),
            text(&["block_address", "_100_block_address"], true),
            text(&["beat"], false),
            text(&["precinct"], false),
            text(&["sector"], false),
            text(&["neighborhood", "mcpp"], false),
            text(&["reporting_area"], true),
            text(&["offense_category"], false),
            text(&["nibrs_offense_code_description", "offense"], false),
            text(&["nibrs_offense_code", "offense_code"], false),
        ],
        latitude: coord(&["latitude"]),
        longitude: coord(&["longitude"]),
        source_kind: kind.to_string(),
        source_row_id: None,
    })
}

/// Expected lake rows for `rows` in `since..=until` (sorted like [`lake_rows`]), ignoring source row ids.
pub fn expected_rows(rows: &[Row], kind: &str, since: &str, until: &str) -> Vec<LakeRow> {
    let mut out: Vec<LakeRow> = rows
        .iter()
        .filter_map(|r| expected(r, kind))
        .filter(|r| r.report_month.as_str() >= since && r.report_month.as_str() <= until)
        .collect();
    out.sort_by(|a, b| (&a.offense_id, &a.report_number).cmp(&(&b.offense_id, &b.report_number)));
    out
}

pub fn without_ids(mut rows: Vec<LakeRow>) -> Vec<LakeRow> {
    for r in &mut rows {
        r.source_row_id = None;
    }
    rows
}

pub fn assert_lake_equals(w: &World, rows: &[Row], since: &str, until: &str) {
    let got = without_ids(w.lake_rows());
    let want = expected_rows(rows, "soda", since, until);
    assert_eq!(got.len(), want.len(), "row count differs");
    for (g, e) in got.iter().zip(&want) {
        assert_eq!(g, e);
    }
    // one Parquet file per month folder, and the manifest agrees with the folders
    let man = w.manifest();
    let months: Vec<String> =
        man["months"].as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap().to_string()).collect();
    let mut sorted = months.clone();
    sorted.sort();
    assert_eq!(months, sorted, "manifest months must be sorted");
    let want_months: BTreeSet<String> = want.iter().map(|r| r.report_month.clone()).collect();
    assert_eq!(months.iter().cloned().collect::<BTreeSet<_>>(), want_months);
    for m in man["months"].as_array().unwrap() {
        let folder = w.lake().join("spd_crime").join(format!("report_month={}", m["month"].as_str().unwrap()));
        let parquet: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".parquet"))
            .collect();
        assert_eq!(parquet, [m["file"].as_str().unwrap().to_string()], "{}", folder.display());
        let n = want.iter().filter(|r| r.report_month == m["month"].as_str().unwrap()).count() as u64;
        assert_eq!(m["rows"].as_u64(), Some(n));
    }
}

pub fn gen(seed: u64, first: &str, last: &str, rows: usize, schema: Schema) -> Vec<Row> {
    generate::rows(&GenSpec {
        seed,
        first: Month::parse(first).unwrap(),
        last: Month::parse(last).unwrap(),
        rows,
        schema,
    })
}

/// A late report for February 2024: a copy of one of that month's rows under a new offense id and report
/// number, reported on the month's last days (the shape of a report SPD adds to a month already fetched).
pub fn late_february_report(rows: &[Row]) -> Row {
    let mut late = rows.iter().find(|r| month_of(r) == "2024-02").unwrap().clone();
    late.insert("offense_id".into(), Value::String("99999999901".into()));
    late.insert("report_number".into(), Value::String("2024-999001".into()));
    late.insert("report_date_time".into(), Value::String("2024-02-27T23:59:59.000".into()));
    late
}

fn month_of(r: &Row) -> String {
    let v = r.get("report_date_time").or_else(|| r.get("report_datetime")).and_then(|v| v.as_str()).unwrap_or("");
    v.get(..7).unwrap_or("").to_string()
}

fn months(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
}

fn page_requests(server: &SodaServer) -> usize {
    server.requests().iter().filter(|r| r.kind == RequestKind::Page).count()
}

fn pulls() -> (Vec<Row>, Vec<Row>) {
    (samples::pull1(), samples::pull2())
}

const RANGE: [&str; 4] = ["--since", "2024-01", "--until", "2024-06"];

#[test]
fn backfill_from_empty_mirrors_every_row() {
    let rows = gen(1, "2024-01", "2024-06", 900, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("backfill", &server.url(), "");
    let s = w.ingest(&RANGE);
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
    let want_months: BTreeSet<String> = rows.iter().map(month_of).collect();
    assert_eq!(months(&s, "months_added").into_iter().collect::<BTreeSet<_>>(), want_months);
    assert_eq!(s["requests"].as_u64().unwrap() as usize, server.request_count());
    let requests = server.requests();
    assert_eq!(requests[0].kind, RequestKind::Probe);
    assert_eq!(requests.iter().filter(|r| r.kind == RequestKind::Aggregate).count(), 1);
    // the one aggregate is the only request without a month filter besides the probe; no stray folders
    assert!(std::fs::read_dir(w.lake().join("_staging")).unwrap().next().is_none());
}

#[test]
fn rerun_without_change_rewrites_nothing_and_makes_two_requests() {
    let rows = gen(2, "2024-01", "2024-06", 700, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows);
    let w = World::new("noop", &server.url(), "");
    w.ingest(&RANGE);
    let before = w.snapshot();
    server.reset_log();
    let s = w.ingest(&RANGE);
    assert_eq!(server.request_count(), 2, "{:?}", server.requests());
    assert_eq!(s["requests"], 2);
    assert_eq!(s["months_fetched"], 0);
    assert!(months(&s, "months_added").is_empty() && months(&s, "months_changed").is_empty());
    assert_eq!(w.snapshot(), before, "the lake (files and manifest) must be byte-identical");
}

#[test]
fn real_revision_pull1_then_pull2_mirrors_pull2_exactly() {
    let (pull1, pull2) = pulls();
    let server = SodaServer::start(DATASET, pull1.clone());
    let w = World::new("revision", &server.url(), "");
    let range = ["--since", "2022-01", "--until", "2022-12"];
    w.ingest(&range);
    assert_lake_equals(&w, &pull1, "2022-01", "2022-12");
    server.set_rows(pull2.clone());
    let s = w.ingest(&range);
    assert_lake_equals(&w, &pull2, "2022-01", "2022-12");
    // independent check of what changed: months whose expected rows differ between the pulls
    let by_month = |rows: &[Row]| {
        let mut m: BTreeMap<String, Vec<LakeRow>> = BTreeMap::new();
        for r in expected_rows(rows, "soda", "2022-01", "2022-12") {
            m.entry(r.report_month.clone()).or_default().push(r);
        }
        m
    };
    let (a, b) = (by_month(&pull1), by_month(&pull2));
    let changed: Vec<String> = b.keys().filter(|k| a.contains_key(*k) && a[*k] != b[*k]).cloned().collect();
    let added: Vec<String> = b.keys().filter(|k| !a.contains_key(*k)).cloned().collect();
    assert_eq!(months(&s, "months_changed"), changed);
    assert_eq!(months(&s, "months_added"), added);
    // old versions are kept under revisions/
    for m in &changed {
        let rev = w.lake().join("revisions").join(format!("report_month={m}"));
        assert!(rev.is_dir(), "{} missing", rev.display());
    }
    // the old schema's names were mapped; offense_category stays NULL, extra columns none
    let rows = w.lake_rows();
    assert!(rows.iter().all(|r| r.texts[10].is_none()));
    assert!(rows.iter().any(|r| r.texts[8].is_some()), "mcpp must land in neighborhood");
}

#[test]
fn late_report_in_old_month_is_refetched() {
    let mut rows = gen(3, "2024-01", "2024-06", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("late", &server.url(), "");
    w.ingest(&RANGE);
    rows.push(late_february_report(&rows));
    server.set_rows(rows.clone());
    server.reset_log();
    let s = w.ingest(&RANGE);
    assert_eq!(months(&s, "months_changed"), ["2024-02"]);
    assert!(server
        .requests()
        .iter()
        .filter(|r| r.kind == RequestKind::Page)
        .all(|r| r.path_and_query.contains("2024-02")));
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
    assert!(w.lake_rows().iter().any(|r| r.offense_id == "99999999901"));
}

#[test]
fn updated_row_replaces_the_old_value() {
    let mut rows = gen(4, "2024-01", "2024-06", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("updated", &server.url(), "");
    w.ingest(&RANGE);
    let i = rows.iter().position(|r| month_of(r) == "2024-04").unwrap();
    rows[i].insert("precinct".into(), Value::String("Southwest".into()));
    rows[i].insert("nibrs_offense_code".into(), Value::String("240".into()));
    server.set_rows(rows.clone());
    let s = w.ingest(&RANGE);
    assert_eq!(months(&s, "months_changed"), ["2024-04"]);
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
}

#[test]
fn deleted_row_and_deleted_month_leave_the_lake() {
    let mut rows = gen(5, "2024-01", "2024-06", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("deleted", &server.url(), "");
    w.ingest(&RANGE);
    let i = rows.iter().position(|r| month_of(r) == "2024-05").unwrap();
    rows.remove(i);
    rows.retain(|r| month_of(r) != "2024-03");
    server.set_rows(rows.clone());
    let s = w.ingest(&RANGE);
    assert_eq!(months(&s, "months_changed"), ["2024-05"]);
    assert_eq!(months(&s, "months_deleted"), ["2024-03"]);
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
    assert!(!w.lake().join("spd_crime/report_month=2024-03").exists());
    assert!(w.lake().join("revisions/report_month=2024-03").is_dir());
}

#[test]
fn month_crossing_a_page_boundary_exactly_is_complete() {
    let all = gen(6, "2024-01", "2024-02", 400, Schema::Nibrs);
    let mut jan: Vec<Row> = all.iter().filter(|r| month_of(r) == "2024-01").take(100).cloned().collect();
    let feb: Vec<Row> = all.iter().filter(|r| month_of(r) == "2024-02").take(101).cloned().collect();
    assert_eq!((jan.len(), feb.len()), (100, 101), "generator gave too few rows");
    jan.extend(feb);
    let server = SodaServer::start(DATASET, jan.clone());
    let w = World::new("pages", &server.url(), "page_size_rows = 50");
    w.ingest(&["--since", "2024-01", "--until", "2024-02"]);
    assert_lake_equals(&w, &jan, "2024-01", "2024-02");
    // 100 rows: pages of 50, 50 and an empty one; 101 rows: 50, 50, 1.
    assert_eq!(page_requests(&server), 6, "{:#?}", server.requests());
}

/// Every fault, injected a few times: the run retries and ends complete and correct.
#[test]
fn every_injected_fault_is_retried_to_a_correct_lake() {
    let kinds = [
        FaultKind::TooManyRequests { retry_after_seconds: Some(0) },
        FaultKind::TooManyRequests { retry_after_seconds: Some(1) },
        FaultKind::ServerError,
        FaultKind::Unavailable,
        FaultKind::Accepted,
        FaultKind::ConnectionReset,
        FaultKind::TruncatedBody,
        FaultKind::Stall { seconds: 4 },
    ];
    let rows = gen(7, "2024-01", "2024-03", 300, Schema::Nibrs);
    for (i, kind) in kinds.into_iter().enumerate() {
        for when in [RequestKind::Probe, RequestKind::Aggregate, RequestKind::Page] {
            let server = SodaServer::start(DATASET, rows.clone());
            server.push_fault(Fault { when, times: 2, kind: kind.clone() });
            let w = World::new(&format!("fault{i}"), &server.url(), "");
            let t = Instant::now();
            let out = w.run(&["--json", "ingest", "--since", "2024-01", "--until", "2024-03"], &[]);
            assert!(out.status.success(), "{kind:?} on {when:?}:\n{}", text(&out));
            assert_lake_equals(&w, &rows, "2024-01", "2024-03");
            if let FaultKind::TooManyRequests { retry_after_seconds: Some(1) } = kind {
                // (two page requests may wait side by side, so only one full second is certain)
                assert!(t.elapsed().as_secs_f64() >= 1.0, "Retry-After: 1 must be honoured");
            }
        }
    }
}

/// A fault that outlasts every try: the run fails naming the URL, and the lake is exactly as before.
#[test]
fn persistent_fault_fails_clearly_and_leaves_the_lake_unchanged() {
    let mut rows = gen(8, "2024-01", "2024-03", 300, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    // one month at a time, so a fault injected `max_attempts` times exhausts exactly one request's tries
    let w = World::new("persistent", &server.url(), "months_in_flight = 1");
    w.ingest(&["--since", "2024-01", "--until", "2024-03"]);
    let before = w.snapshot();
    rows.retain(|r| month_of(r) != "2024-02"); // a change the failed run must not half-apply
    rows.truncate(rows.len() - 3);
    server.set_rows(rows);
    for kind in [FaultKind::ServerError, FaultKind::TruncatedBody, FaultKind::ConnectionReset] {
        server.push_fault(Fault { when: RequestKind::Page, times: 4, kind: kind.clone() });
        let out = w.run(&["ingest", "--since", "2024-01", "--until", "2024-03"], &[]);
        assert!(!out.status.success(), "{kind:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("/resource/tazs-3rd5.json") && err.contains("4 tries"), "{err}");
        assert_eq!(w.snapshot(), before, "{kind:?}: the lake changed");
    }
}

#[test]
fn kill_during_a_month_swap_then_rerun_converges() {
    let (pull1, pull2) = pulls();
    let range = ["--since", "2022-01", "--until", "2022-12"];
    for step in ["staged", "swapped", "revision_kept", "manifest_written"] {
        let server = SodaServer::start(DATASET, pull1.clone());
        let w = World::new(&format!("kill-{step}"), &server.url(), "");
        w.ingest(&range);
        server.set_rows(pull2.clone());
        let mut args = vec!["ingest"];
        args.extend_from_slice(&range);
        let out = w.run(&args, &[("CRIMEWATCH_FAULT_ABORT_AFTER", step)]);
        assert!(!out.status.success(), "{step}: the hook must abort:\n{}", text(&out));
        // Readers still see whole months: exactly one Parquet file per month folder, every row readable.
        for e in std::fs::read_dir(w.lake().join("spd_crime")).unwrap() {
            let p = e.unwrap().path();
            let n = std::fs::read_dir(&p)
                .unwrap()
                .filter(|f| f.as_ref().unwrap().file_name().to_string_lossy().ends_with(".parquet"));
            assert_eq!(n.count(), 1, "{step}: {}", p.display());
        }
        let seen = w.lake_rows();
        let (a, b) =
            (expected_rows(&pull1, "soda", "2022-01", "2022-12"), expected_rows(&pull2, "soda", "2022-01", "2022-12"));
        for month in seen.iter().map(|r| r.report_month.clone()).collect::<BTreeSet<_>>() {
            let got: Vec<_> = without_ids(seen.clone()).into_iter().filter(|r| r.report_month == month).collect();
            let old: Vec<_> = a.iter().filter(|r| r.report_month == month).cloned().collect();
            let new: Vec<_> = b.iter().filter(|r| r.report_month == month).cloned().collect();
            assert!(got == old || got == new, "{step}: month {month} is neither the old nor the new version");
        }
        // the next run finishes the job
        w.ingest(&range);
        assert_lake_equals(&w, &pull2, "2022-01", "2022-12");
        assert!(std::fs::read_dir(w.lake().join("_staging")).unwrap().next().is_none(), "{step}: staging not cleaned");
        // and the one after that is a no-op
        let before = w.snapshot();
        server.reset_log();
        w.ingest(&range);
        assert_eq!(server.request_count(), 2, "{step}");
        assert_eq!(w.snapshot(), before, "{step}");
    }
}

#[test]
fn renamed_column_fails_loudly_naming_it_without_retrying() {
    let rows = gen(9, "2024-01", "2024-02", 200, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("renamed", &server.url(), "");
    w.ingest(&["--since", "2024-01", "--until", "2024-02"]);
    let before = w.snapshot();
    server.rename_column("offense_category", "offense_cat");
    server.reset_log();
    let out = w.run(&["ingest", "--since", "2024-01", "--until", "2024-02"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("offense_category") && err.contains("schema changed"), "{err}");
    assert_eq!(server.request_count(), 1, "a schema change must not be retried: {:?}", server.requests());
    assert_eq!(w.snapshot(), before);

    // renaming the report date makes every query impossible: also named, also not retried
    server.rename_column("report_date_time", "reported");
    server.reset_log();
    let out = w.run(&["ingest", "--since", "2024-01", "--until", "2024-02"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("report_date_time"), "{}", text(&out));
    assert_eq!(server.request_count(), 1);
}

#[test]
fn app_token_is_sent_and_never_printed() {
    let token = "tok-3f9a-secret-value";
    let rows = gen(10, "2024-01", "2024-02", 200, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    server.require_app_token(Some(token));
    let w = World::new("token", &server.url(), "");
    let out = w.run(&["ingest", "--since", "2024-01", "--until", "2024-02"], &[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "without the token the server refuses: exit 3, the source's\n{}",
        text(&out)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("SODA_APP_TOKEN"), "{}", text(&out));
    for args in
        [vec!["-vv", "ingest", "--since", "2024-01", "--until", "2024-02"], vec!["-vv", "--json", "ingest", "--full"]]
    {
        server.reset_log();
        let out = w.run(&args, &[("SODA_APP_TOKEN", token), ("RUST_LOG", "trace")]);
        assert!(out.status.success(), "{}", text(&out));
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains(token), "the token was printed");
        assert!(server.requests().iter().all(|r| r.app_token.as_deref() == Some(token)));
    }
    assert_lake_equals(&w, &rows, "2024-01", "2024-02");
}

#[test]
fn redirect_is_followed() {
    let rows = gen(11, "2024-01", "2024-02", 200, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let redirector = SodaServer::start_redirector(&server.url());
    let w = World::new("redirect", &redirector.url(), "");
    w.ingest(&["--since", "2024-01", "--until", "2024-02"]);
    assert_lake_equals(&w, &rows, "2024-01", "2024-02");
    assert!(server.request_count() >= 3);
}

#[test]
fn refused_updated_at_aggregate_falls_back_and_rechecks_recent_months() {
    let mut rows = gen(12, "2024-01", "2024-06", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    server.refuse_updated_at_aggregates(true);
    let w = World::new("fallback", &server.url(), "recheck_recent_months = 2");
    let s = w.ingest(&RANGE);
    assert_eq!(s["detection"], "count+id_sum");
    assert!(s["notes"].to_string().contains(":updated_at"));
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
    // an edit that keeps the count and the id sum is still caught in the recent months
    let i = rows.iter().position(|r| month_of(r) == "2024-06").unwrap();
    rows[i].insert("precinct".into(), Value::String("West".into()));
    server.set_rows(rows.clone());
    server.reset_log();
    let s = w.ingest(&RANGE);
    assert_eq!(s["months_fetched"], 2);
    assert_eq!(months(&s, "months_changed"), ["2024-06"]);
    let fetched: BTreeSet<String> = server
        .requests()
        .iter()
        .filter(|r| r.kind == RequestKind::Page)
        .map(|r| if r.path_and_query.contains("2024-05") { "2024-05".into() } else { "2024-06".into() })
        .collect();
    assert_eq!(fetched.len(), 2);
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
}

#[test]
fn refused_offense_id_sum_keeps_updated_at_and_an_edit_in_an_old_month_is_refetched() {
    let mut rows = gen(19, "2024-01", "2024-06", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    server.refuse_offense_id_sums(true);
    let w = World::new("no-sum", &server.url(), "recheck_recent_months = 2");
    let s = w.ingest(&RANGE);
    assert_eq!(s["detection"], "count+updated_at", "{s:#}");
    let notes = s["notes"].to_string();
    assert!(notes.contains("offense-id sum") && notes.contains("max(:updated_at)"), "{notes}");
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
    // An edit that keeps the month's count and offense ids, in the oldest month (not a recently rechecked one).
    let i = rows.iter().position(|r| month_of(r) == "2024-01").unwrap();
    rows[i].insert("precinct".into(), Value::String("West".into()));
    server.set_rows(rows.clone());
    server.reset_log();
    let s = w.ingest(&RANGE);
    assert_eq!(months(&s, "months_changed"), ["2024-01"], "{s:#}");
    assert_eq!(s["months_fetched"], 1, "only the edited month, and no recheck of recent ones: {s:#}");
    assert!(server
        .requests()
        .iter()
        .filter(|r| r.kind == RequestKind::Page)
        .all(|r| r.path_and_query.contains("2024-01")));
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
}

#[test]
fn dataset_replacement_is_detected_and_said_plainly() {
    let rows = gen(13, "2024-01", "2024-06", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("replaced", &server.url(), "");
    w.ingest(&RANGE);
    let before = without_ids(w.lake_rows());
    server.touch_all();
    let s = w.ingest(&RANGE);
    assert_eq!(s["dataset_replaced"], true);
    assert_eq!(s["months_fetched"], 6);
    // every row's :updated_at moved, and the lake keeps it (source_updated_at), so every month is rewritten
    assert_eq!(months(&s, "months_changed").len(), 6);
    assert!(s["notes"].to_string().contains("replaced the whole dataset"));
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
    assert_eq!(without_ids(w.lake_rows()), before, "same offenses, same values");
    // a second replacement-free run is quiet again
    let s = w.ingest(&RANGE);
    assert_eq!(s["dataset_replaced"], false);
    assert_eq!(s["months_fetched"], 0);
}

#[test]
fn lake_is_readable_by_pyarrow_and_python_duckdb() {
    let rows = gen(14, "2024-01", "2024-04", 500, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("interop", &server.url(), "");
    w.ingest(&["--since", "2024-01", "--until", "2024-04"]);
    let want = expected_rows(&rows, "soda", "2024-01", "2024-04");
    let script = r#"
import sys, json, duckdb, pyarrow.dataset as ds
lake = sys.argv[1]
t = ds.dataset(lake + "/spd_crime", format="parquet", partitioning="hive").to_table()
con = duckdb.connect()
n = con.execute("select count(*) from read_parquet(?, hive_partitioning=true)", [lake + "/spd_crime/*/*.parquet"]).fetchone()[0]
per = con.execute("select cast(report_month as varchar), count(*) from read_parquet(?, hive_partitioning=true) group by 1 order by 1", [lake + "/spd_crime/*/*.parquet"]).fetchall()
man = con.execute("select m.month, m.rows from (select unnest(months) as m from read_json_auto(?))", [lake + "/_manifest.json"]).fetchall()
print(json.dumps({"pyarrow_rows": t.num_rows, "columns": t.schema.names, "types": [str(x) for x in t.schema.types], "duckdb_rows": n, "per_month": per, "manifest": man}))
"#;
    let out = Command::new("python3").arg("-c").arg(script).arg(w.lake()).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pyarrow_rows"].as_u64(), Some(want.len() as u64));
    assert_eq!(v["duckdb_rows"].as_u64(), Some(want.len() as u64));
    let cols: Vec<&str> = v["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(cols[0], "report_number");
    assert_eq!(cols[23], "source_kind");
    assert_eq!(cols[24], "report_month");
    assert_eq!(v["types"][2], "timestamp[us]");
    assert_eq!(v["types"][10], "double");
    let mut per: BTreeMap<String, u64> = BTreeMap::new();
    for r in &want {
        *per.entry(r.report_month.clone()).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = v["per_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap()))
        .collect();
    assert_eq!(got, per);
    let man: BTreeMap<String, u64> = v["manifest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap()))
        .collect();
    assert_eq!(man, per);
}

/// Ingests `rows` from the server and imports the same records as a CSV export; the canonical rows match.
fn csv_and_api_agree(name: &str, schema: Schema, style: ExportStyle) {
    let rows = gen(15, "2024-01", "2024-03", 300, schema);
    let server = SodaServer::start(DATASET, rows.clone());
    let api = World::new(&format!("{name}-api"), &server.url(), "");
    api.ingest(&["--since", "2024-01", "--until", "2024-03"]);
    let csv = World::new(&format!("{name}-csv"), &server.url(), "");
    let file = csv.dir.join("export.csv");
    std::fs::write(&file, write_csv(&rows, style)).unwrap();
    let out = csv.run(&["--json", "import", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let strip = |rows: Vec<LakeRow>| -> Vec<LakeRow> {
        rows.into_iter()
            .map(|mut r| {
                r.source_kind = String::new();
                r.source_row_id = None;
                r
            })
            .collect()
    };
    let (a, b) = (strip(api.lake_rows()), strip(csv.lake_rows()));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert!(csv.lake_rows().iter().all(|r| r.source_kind == "csv" && r.source_row_id.is_none()));
}

#[test]
fn csv_import_with_new_headers_gives_the_same_rows_as_the_api() {
    csv_and_api_agree("csv-new", Schema::Nibrs, ExportStyle::New);
}

#[test]
fn csv_import_with_old_headers_gives_the_same_rows_as_the_api() {
    csv_and_api_agree("csv-old", Schema::Old, ExportStyle::Old);
}

/// Parses a CSV sample independently (csv crate, header names by hand) into (offense_id, report time).
fn sample_keys(path: &Path, id: &str, date: &str, fmt: &str) -> BTreeSet<(String, String)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let (i, d) = (h.iter().position(|x| x == id).unwrap(), h.iter().position(|x| x == date).unwrap());
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let t = chrono::NaiveDateTime::parse_from_str(&rec[d], fmt).unwrap();
            (rec[i].to_string(), t.format("%Y-%m-%d %H:%M:%S").to_string())
        })
        .collect()
}

#[test]
fn real_sample_exports_import_and_a_file_without_offense_id_is_refused() {
    let dir = samples::samples_dir();
    let w = World::new("samples", "http://127.0.0.1:9", "");
    // new-schema export excerpt: quoted fields, `2025 Dec 01 09:15:21 PM`
    let new = dir.join("new_schema_csv_export_2025-12_excerpt.csv");
    let out = w.run(&["--json", "import", new.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let want = sample_keys(&new, "Offense ID", "Report DateTime", "%Y %b %d %I:%M:%S %p");
    let got: BTreeSet<(String, String)> =
        w.lake_rows().into_iter().map(|r| (r.offense_id, r.report_date_time)).collect();
    assert_eq!(got, want);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["source_rows"], 130);

    // old schema, snake_case API names, `YYYY-MM-DD HH:MM:SS`
    let w2 = World::new("samples-old", "http://127.0.0.1:9", "");
    let old = dir.join("old_schema_snake_case_2023-12_to_2024-03__samvit98.csv");
    let out = w2.run(&["--json", "import", old.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let want = sample_keys(&old, "offense_id", "report_datetime", "%Y-%m-%d %H:%M:%S");
    let rows = w2.lake_rows();
    assert_eq!(rows.len(), want.len());
    assert_eq!(rows.iter().map(|r| (r.offense_id.clone(), r.report_date_time.clone())).collect::<BTreeSet<_>>(), want);
    // `0.0` coordinates are NULL; 89.99 is kept as published
    assert!(rows.iter().all(|r| r.latitude != Some(0.0)));
    assert!(rows.iter().any(|r| r.latitude.is_some_and(|x| x > 89.0)));

    // the 2020 export has no Offense ID column: refused, naming the column and the fix; lake untouched
    let before = w2.snapshot();
    let no_id = dir.join("old_schema_export_headers_2020-12__galaxiceyy.csv");
    let out = w2.run(&["import", no_id.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Offense ID") && err.contains("re-export"), "{err}");
    assert_eq!(w2.snapshot(), before);
}

#[test]
fn csv_rows_without_offense_id_are_quarantined_not_invented() {
    let w = World::new("csv-quarantine", "http://127.0.0.1:9", "");
    let file = w.dir.join("export.csv");
    std::fs::write(
        &file,
        "\"Report Number\",\"Report DateTime\",\"Offense ID\",\"Offense Date\",\"Offense Category\"\n\
         \"2025-1\",\"2025 Dec 01 09:15:21 PM\",\"111\",\"2025 Dec 01 04:21:00 PM\",\"ALL OTHER\"\n\
         \"2025-2\",\"2025 Dec 02 09:15:21 AM\",\"\",\"2025 Dec 01 04:21:00 PM\",\"ALL OTHER\"\n\
         \"2025-3\",\"not a date\",\"333\",\"\",\"ALL OTHER\"\n",
    )
    .unwrap();
    let out = w.run(&["--json", "import", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["rows_written"], 1);
    assert_eq!(s["rows_quarantined"], 2);
    let q = std::fs::read_to_string(w.lake().join("spd_crime/report_month=2025-12/_quarantine.jsonl")).unwrap();
    assert!(q.contains("offense_id is missing") && q.contains("2025-2"), "{q}");
    let q = std::fs::read_to_string(w.lake().join("_quarantine_import.jsonl")).unwrap();
    assert!(q.contains("report_date_time") && q.contains("not a date"), "{q}");
    assert_eq!(w.lake_rows().len(), 1);
    assert_eq!(w.manifest()["months"][0]["source_kind"], "csv");
}

#[test]
fn imported_months_are_fetched_again_by_ingest() {
    let rows = gen(16, "2024-01", "2024-03", 300, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("import-then-ingest", &server.url(), "");
    let file = w.dir.join("export.csv");
    let jan: Vec<Row> = rows.iter().filter(|r| month_of(r) == "2024-01").cloned().collect();
    std::fs::write(&file, write_csv(&jan, ExportStyle::New)).unwrap();
    let out = w.run(&["import", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("months added"));
    let s = w.ingest(&["--since", "2024-01", "--until", "2024-03"]);
    assert_eq!(s["months_fetched"], 3);
    assert_lake_equals(&w, &rows, "2024-01", "2024-03");
    assert!(w.manifest()["months"].as_array().unwrap().iter().all(|m| m["source_kind"] == "soda"));
}
