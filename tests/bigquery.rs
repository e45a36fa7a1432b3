//! Publishing to BigQuery, against the real BigQuery emulator (`bqemulator`, installed by
//! `scripts/install-test-deps` and started here) and, for the lake-on-GCS path, `fake-gcs-server` whose
//! filesystem root the emulator reads `gs://` URIs from. Every test has a project of its own on the shared
//! emulator. Only the permission-denied case uses a test double (a loopback server answering BigQuery's 403),
//! since no emulator enforces IAM.
//!
//! What BigQuery holds is compared with DuckDB: per table the row count, the columns and their types, and a grid
//! of per-column aggregates (count, distinct count, sum, min, max), plus the per category × month × axis and per
//! area-level grids the dashboard's questions use; `spd_crime` against the lake's Parquet files.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use crimewatch::bigquery::{self, BigQueryOverrides, BigQuerySection, LakeLocation, PublishInput};
use crimewatch::domain::DataDir;
use serde_json::{json, Value};
use soda_testkit::generate::{self, GenSpec, Schema};
use soda_testkit::{Month, Row, SodaServer};

use crate::emulators::{free_port, Emulators};
use crate::ingest::text;
use crate::tempdir::TempDir;

const DATASET: &str = "tazs-3rd5";
const MARTS: &str = "crimewatch_marts";
const STAGING: &str = "crimewatch_staging";

// ---------------------------------------------------------------------------------------------------------------
// The emulators: started once for the test binary (see emulators.rs), stopped when it exits.

fn emulators() -> &'static Emulators {
    static E: OnceLock<(TempDir, Emulators)> = OnceLock::new();
    &E.get_or_init(|| {
        let root = TempDir::new("bigquery-emulators");
        let e = crate::emulators::start(&root);
        (root, e)
    })
    .1
}

// ---------------------------------------------------------------------------------------------------------------
// Plain HTTP to the emulators (the tests' own view of BigQuery, independent of crimewatch's client).

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn http(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    runtime().block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Err(_) => (0, Value::Null),
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        }
    })
}

struct Bq {
    project: String,
}

impl Bq {
    fn api(&self, path: &str) -> String {
        format!("http://{}/bigquery/v2/projects/{}{path}", emulators().bq_host, self.project)
    }

    /// Rows of a standard-SQL query, each cell as the REST API gives it (a string or null).
    fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        let (status, body) = http(
            "POST",
            &self.api("/queries"),
            Some(json!({"query": sql, "useLegacySql": false, "maxResults": 100000})),
        );
        assert_eq!(status, 200, "{sql}: {body}");
        assert!(body.get("errors").is_none(), "{sql}: {body}");
        body["rows"]
            .as_array()
            .map(|rows| {
                rows.iter().map(|r| r["f"].as_array().unwrap().iter().map(|c| c["v"].clone()).collect()).collect()
            })
            .unwrap_or_default()
    }

    fn table(&self, dataset: &str, table: &str) -> Value {
        let (status, body) = http("GET", &self.api(&format!("/datasets/{dataset}/tables/{table}")), None);
        assert_eq!(status, 200, "{dataset}.{table}: {body}");
        body
    }

    fn tables(&self, dataset: &str) -> Vec<String> {
        let (_, body) = http("GET", &self.api(&format!("/datasets/{dataset}/tables?maxResults=1000")), None);
        let mut names: Vec<String> = body["tables"]
            .as_array()
            .map(|t| t.iter().map(|t| t["tableReference"]["tableId"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Every job the project ran (the tests' count of load and copy jobs).
    fn jobs(&self) -> Vec<Value> {
        let (status, body) = http("GET", &self.api("/jobs?allUsers=true&maxResults=100000"), None);
        assert_eq!(status, 200, "{body}");
        body["jobs"].as_array().cloned().unwrap_or_default()
    }

    fn load_jobs(&self) -> Vec<Value> {
        self.jobs().into_iter().filter(|j| j["configuration"].get("load").is_some()).collect()
    }

    /// Each table's checksum label and `meta_build.built_at`: what must not move when nothing is published.
    fn state(&self) -> (BTreeMap<String, Value>, Vec<Vec<Value>>, usize) {
        let mut labels = BTreeMap::new();
        for (dataset, names) in [(STAGING, self.tables(STAGING)), (MARTS, self.tables(MARTS))] {
            for name in names {
                labels.insert(format!("{dataset}.{name}"), self.table(dataset, &name)["labels"].clone());
            }
        }
        // Counted before the query below, which is a job of its own; the tests' own queries are not counted.
        let jobs = self.jobs().iter().filter(|j| !is_test_query(j)).count();
        let built = self.query(&format!("SELECT UNIX_MICROS(built_at) FROM `{}.{MARTS}.meta_build`", self.project));
        (labels, built, jobs)
    }
}

/// A query job the tests ran (a SELECT), as opposed to crimewatch's jobs (loads, copies, INSERTs).
fn is_test_query(job: &Value) -> bool {
    job["configuration"]["query"]["query"].as_str().is_some_and(|q| q.trim_start().to_uppercase().starts_with("SELECT"))
}

// ---------------------------------------------------------------------------------------------------------------
// A data dir with a SODA source, and crimewatch run against them.

struct World {
    dir: TempDir,
    server: SodaServer,
    project: String,
}

fn rows(seed: u64, n: usize) -> Vec<Row> {
    generate::rows(&GenSpec {
        seed,
        first: Month::parse("2026-05").unwrap(),
        last: Month::parse("2026-10").unwrap(),
        rows: n,
        schema: Schema::Nibrs,
    })
}

impl World {
    fn new(name: &str, rows: Vec<Row>) -> World {
        let dir = TempDir::new(&format!("bigquery-{name}"));
        let server = SodaServer::start(DATASET, rows);
        std::fs::write(
            dir.join("crimewatch.toml"),
            format!(
                "data_dir = {:?}\nsocrata_url = {:?}\n[source]\nmax_attempts = 1\ndefault_since = \"2026-05\"\n",
                dir.join("data").to_string_lossy(),
                server.url()
            ),
        )
        .unwrap();
        World { dir, server, project: format!("cw-{name}") }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn bq(&self) -> Bq {
        Bq { project: self.project.clone() }
    }

    /// The binary with this world's config, the emulator at `host` (`None`: no BigQuery project at all).
    fn crimewatch(&self, args: &[&str], bigquery_host: Option<&str>) -> Output {
        self.command(args, bigquery_host).output().unwrap()
    }

    /// The command [`World::crimewatch`] runs, for a test to add to.
    fn command(&self, args: &[&str], bigquery_host: Option<&str>) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_crimewatch"));
        c.arg("--config").arg(self.dir.join("crimewatch.toml")).args(args).current_dir(&*self.dir);
        for v in ["CRIMEWATCH_DATA_DIR", "CRIMEWATCH_SOCRATA_URL", "CRIMEWATCH_CONFIG", "SODA_APP_TOKEN", "RUST_LOG"] {
            c.env_remove(v);
        }
        c.env_remove("CRIMEWATCH_BIGQUERY_PROJECT").env_remove("CRIMEWATCH_BIGQUERY_LOCATION");
        c.env_remove("BIGQUERY_EMULATOR_HOST").env_remove("GOOGLE_APPLICATION_CREDENTIALS_JSON");
        if let Some(host) = bigquery_host {
            c.env("CRIMEWATCH_BIGQUERY_PROJECT", &self.project).env("BIGQUERY_EMULATOR_HOST", host);
        }
        c
    }

    fn ok(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.crimewatch(&all, Some(&emulators().bq_host));
        assert!(out.status.success(), "{args:?} failed:\n{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{}", text(&out)))
    }

    fn duck(&self) -> duckdb::Connection {
        let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).unwrap();
        duckdb::Connection::open_with_flags(self.data().join("warehouse.duckdb"), config).unwrap()
    }

    /// Every file of the data dir but the ledger and the lock (what a failed publish must leave as it was).
    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                if p.is_dir() {
                    walk(root, &p, out);
                } else if !rel.starts_with("runs.jsonl") && !rel.starts_with("crimewatch.lock") {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.data(), &self.data(), &mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------------------------------
// BigQuery == DuckDB.

/// One aggregate over one column, spelled for each side; `float` compares with a relative tolerance.
struct Measure {
    duck: String,
    bq: String,
    float: bool,
}

fn measures(column: &str, bq_type: &str) -> Vec<Measure> {
    let q = format!("\"{column}\"");
    let b = format!("`{column}`");
    let exact = |duck: String, bq: String| Measure { duck, bq, float: false };
    let mut m = vec![
        exact(format!("CAST(count({q}) AS VARCHAR)"), format!("COUNT({b})")),
        exact(format!("CAST(count(DISTINCT {q}) AS VARCHAR)"), format!("COUNT(DISTINCT {b})")),
    ];
    match bq_type {
        "INTEGER" => {
            m.push(exact(format!("CAST(sum({q}) AS VARCHAR)"), format!("SUM({b})")));
            m.push(exact(format!("CAST(min({q}) AS VARCHAR)"), format!("MIN({b})")));
            m.push(exact(format!("CAST(max({q}) AS VARCHAR)"), format!("MAX({b})")));
        }
        "FLOAT" => {
            m.push(Measure { duck: format!("CAST(sum({q}) AS VARCHAR)"), bq: format!("SUM({b})"), float: true });
            m.push(Measure { duck: format!("CAST(min({q}) AS VARCHAR)"), bq: format!("MIN({b})"), float: true });
            m.push(Measure { duck: format!("CAST(max({q}) AS VARCHAR)"), bq: format!("MAX({b})"), float: true });
        }
        "STRING" => {
            m.push(exact(format!("min({q})"), format!("MIN({b})")));
            m.push(exact(format!("max({q})"), format!("MAX({b})")));
        }
        "BOOLEAN" => m.push(exact(format!("CAST(count_if({q}) AS VARCHAR)"), format!("COUNTIF({b})"))),
        "DATE" => {
            m.push(exact(format!("strftime(min({q}), '%Y-%m-%d')"), format!("FORMAT_DATE('%Y-%m-%d', MIN({b}))")));
            m.push(exact(format!("strftime(max({q}), '%Y-%m-%d')"), format!("FORMAT_DATE('%Y-%m-%d', MAX({b}))")));
        }
        "DATETIME" => {
            let f = "%Y-%m-%d %H:%M:%S";
            m.push(exact(format!("strftime(min({q}), '{f}')"), format!("FORMAT_DATETIME('{f}', MIN({b}))")));
            m.push(exact(format!("strftime(max({q}), '{f}')"), format!("FORMAT_DATETIME('{f}', MAX({b}))")));
        }
        "TIMESTAMP" => {
            m.push(exact(format!("CAST(epoch_us(min({q})) AS VARCHAR)"), format!("UNIX_MICROS(MIN({b}))")));
            m.push(exact(format!("CAST(epoch_us(max({q})) AS VARCHAR)"), format!("UNIX_MICROS(MAX({b}))")));
        }
        other => panic!("no measures for BigQuery type {other} ({column})"),
    }
    m
}

/// Row count, columns in order with their BigQuery types, and every column's aggregates equal on both sides.
/// Returns the BigQuery column types by name.
fn assert_same_table(
    duck: &duckdb::Connection,
    relation: &str,
    bq: &Bq,
    dataset: &str,
    table: &str,
) -> BTreeMap<String, String> {
    let duck_columns: Vec<String> = {
        let mut stmt = duck.prepare(&format!("DESCRIBE SELECT * FROM {relation}")).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
    };
    let meta = bq.table(dataset, table);
    let fields = meta["schema"]["fields"].as_array().unwrap();
    let bq_columns: Vec<String> = fields.iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(bq_columns, duck_columns, "{dataset}.{table}: columns");
    let types: BTreeMap<String, String> = fields
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["type"].as_str().unwrap().to_string()))
        .collect();

    let all: Vec<Measure> = bq_columns.iter().flat_map(|c| measures(c, &types[c])).collect();
    let duck_sql = format!(
        "SELECT CAST(count(*) AS VARCHAR), {} FROM {relation}",
        all.iter().map(|m| m.duck.as_str()).collect::<Vec<_>>().join(", ")
    );
    let want: Vec<Option<String>> =
        duck.query_row(&duck_sql, [], |r| (0..=all.len()).map(|i| r.get::<_, Option<String>>(i)).collect()).unwrap();
    let bq_sql = format!(
        "SELECT COUNT(*), {} FROM `{}.{dataset}.{table}`",
        all.iter().map(|m| m.bq.as_str()).collect::<Vec<_>>().join(", "),
        bq.project
    );
    let got: Vec<Option<String>> =
        bq.query(&bq_sql).remove(0).into_iter().map(|v| v.as_str().map(str::to_string)).collect();
    assert_eq!(got[0], want[0], "{dataset}.{table}: row count");
    // An empty table (the revision marts before any month is revised) has no column figures to compare: the
    // engines disagree only on what an aggregate over no rows is (NULL or 0).
    let compared = if want[0].as_deref() == Some("0") { &all[..0] } else { &all[..] };
    for (i, m) in compared.iter().enumerate() {
        let (g, w) = (&got[i + 1], &want[i + 1]);
        if m.float {
            let (g, w) =
                (g.as_deref().map(|s| s.parse::<f64>().unwrap()), w.as_deref().map(|s| s.parse::<f64>().unwrap()));
            let close = match (g, w) {
                (Some(g), Some(w)) => (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                (g, w) => g == w,
            };
            assert!(close, "{dataset}.{table}: {} = {g:?} in BigQuery, {w:?} in DuckDB", m.bq);
        } else {
            assert_eq!(g, w, "{dataset}.{table}: {} in BigQuery vs {} in DuckDB", m.bq, m.duck);
        }
    }
    types
}

/// A grouped count on both sides, as sorted maps.
fn grid(duck: &duckdb::Connection, duck_sql: &str, bq: &Bq, bq_sql: &str) -> BTreeMap<String, String> {
    let mut stmt = duck.prepare(duck_sql).unwrap();
    let want: BTreeMap<String, String> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let got: BTreeMap<String, String> = bq
        .query(bq_sql)
        .into_iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(got, want, "{bq_sql}");
    assert!(!want.is_empty(), "an empty grid proves nothing: {duck_sql}");
    want
}

/// The lake's rows as `spd_crime` should hold them (report_month as a DATE): the data dir's lake, or the local
/// copy of a lake in a bucket.
fn lake_relation(data: &Path) -> String {
    let lake = if data.join("lake-cache").is_dir() { data.join("lake-cache") } else { data.join("lake") };
    format!(
        "(SELECT * EXCLUDE (report_month), CAST(report_month || '-01' AS DATE) AS report_month \
         FROM read_parquet('{}/spd_crime/*/*.parquet', hive_partitioning = true, hive_types = {{'report_month': VARCHAR}}))",
        lake.display()
    )
}

/// Everything BigQuery holds equals the warehouse and the lake.
fn assert_bigquery_equals_duckdb(world: &World) {
    let (duck, bq) = (world.duck(), world.bq());
    let mut stmt = duck
        .prepare("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1")
        .unwrap();
    let marts: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert!(marts.len() >= 7, "{marts:?}");
    assert_eq!(bq.tables(MARTS), marts, "BigQuery's marts dataset holds exactly DuckDB's marts");
    for table in &marts {
        let types = assert_same_table(&duck, &format!("marts.\"{table}\""), &bq, MARTS, table);
        if table == "fct_offenses" {
            assert_eq!(types["report_date_time"], "DATETIME", "SPD's floating local times stay floating");
            assert_eq!(types["offense_date"], "DATETIME");
            assert_eq!(types["source_updated_at"], "TIMESTAMP", ":updated_at is a UTC instant");
        }
        if table == "meta_build" {
            assert_eq!(types["built_at"], "TIMESTAMP");
        }
    }
    let p = &bq.project;
    grid(
        &duck,
        "SELECT axis || ' ' || strftime(month, '%Y-%m') || ' ' || offense_category, CAST(sum(n) AS VARCHAR) \
         FROM marts.mart_category_trend GROUP BY ALL",
        &bq,
        &format!(
            "SELECT CONCAT(axis, ' ', FORMAT_DATE('%Y-%m', month), ' ', offense_category), SUM(n) \
                  FROM `{p}.{MARTS}.mart_category_trend` GROUP BY 1"
        ),
    );
    grid(
        &duck,
        "SELECT axis || ' ' || area_level || ' ' || area, CAST(sum(n) AS VARCHAR) FROM marts.mart_area_counts GROUP BY ALL",
        &bq,
        &format!("SELECT CONCAT(axis, ' ', area_level, ' ', area), SUM(n) FROM `{p}.{MARTS}.mart_area_counts` GROUP BY 1"),
    );
    grid(
        &duck,
        "SELECT strftime(report_date_time, '%Y-%m') || ' ' || offense_category || ' ' || precinct, CAST(count(*) AS VARCHAR) \
         FROM marts.fct_offenses GROUP BY ALL",
        &bq,
        &format!("SELECT CONCAT(FORMAT_DATETIME('%Y-%m', report_date_time), ' ', offense_category, ' ', precinct), COUNT(*) \
                  FROM `{p}.{MARTS}.fct_offenses` GROUP BY 1"),
    );

    let lake = lake_relation(&world.data());
    let types = assert_same_table(&duck, &lake, &bq, STAGING, "spd_crime");
    assert_eq!(types["report_month"], "DATE");
    grid(
        &duck,
        &format!("SELECT strftime(report_month, '%Y-%m'), CAST(count(*) AS VARCHAR) FROM {lake} GROUP BY ALL"),
        &bq,
        &format!("SELECT FORMAT_DATE('%Y-%m', report_month), COUNT(*) FROM `{p}.{STAGING}.spd_crime` GROUP BY 1"),
    );
    assert_eq!(bq.tables(STAGING), ["spd_crime"], "no temporary table is left behind");
}

// ---------------------------------------------------------------------------------------------------------------

#[test]
fn run_publishes_marts_and_lake_equal_to_duckdb_and_a_second_publish_loads_nothing() {
    let world = World::new("full", rows(31, 2500));
    let report = world.ok(&["run"]);
    assert_eq!(report["status"], "succeeded", "{report}");
    let published = &report["bigquery"];
    assert!(published["load_jobs"].as_u64().unwrap() >= 8, "{published}");
    assert_eq!(published["copy_jobs"], published["load_jobs"], "each load lands by one copy: {published}");
    let order: Vec<&str> =
        published["published"].as_array().unwrap().iter().map(|t| t["table"].as_str().unwrap()).collect();
    assert_eq!(order.first(), Some(&"spd_crime"), "{order:?}");
    assert_eq!(order.last(), Some(&"meta_build"), "meta_build is written last: {order:?}");

    assert_bigquery_equals_duckdb(&world);
    let bq = world.bq();
    let fct = bq.table(MARTS, "fct_offenses");
    assert_eq!(fct["timePartitioning"], json!({"type": "MONTH", "field": "report_date_time"}), "{fct}");
    assert_eq!(fct["clustering"]["fields"], json!(["offense_category", "precinct"]));
    assert_eq!(bq.table(STAGING, "spd_crime")["timePartitioning"]["field"], "report_month");
    let load_jobs = bq.load_jobs();
    assert_eq!(load_jobs.len() as u64, published["load_jobs"].as_u64().unwrap(), "the summary counts every load job");

    // Nothing changed: no job at all, nothing uploaded.
    let before = bq.state();
    let again = world.ok(&["publish"]);
    assert_eq!(again["load_jobs"], 0, "{again}");
    assert_eq!(again["bytes_uploaded"], 0, "{again}");
    assert_eq!(again["unchanged"].as_array().unwrap().len(), order.len(), "{again}");
    assert_eq!(bq.state(), before, "a no-change publish runs no job and relabels nothing");

    // Both are on record (the ledger, `runs`, /api/runs): the run with its publish, then the publish run.
    let runs = world.ok(&["runs"])["runs"].clone();
    let (publish, run) = (&runs[0], &runs[1]);
    assert_eq!((&publish["command"], &publish["run_id"]), (&json!("publish"), &again["run_id"]), "{runs:#}");
    assert_eq!(publish["bigquery"]["tables_loaded"], 0, "{publish:#}");
    assert_eq!(publish["bigquery"]["tables_skipped"], order.len(), "{publish:#}");
    assert_eq!(publish["bigquery"]["jobs"], 0, "{publish:#}");
    assert_eq!((&run["command"], &run["run_id"]), (&json!("run"), &report["run_id"]), "{runs:#}");
    assert_eq!(run["bigquery"]["tables_loaded"], order.len(), "{run:#}");
    let jobs = ["load_jobs", "copy_jobs", "query_jobs"].iter().map(|k| published[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(run["bigquery"]["jobs"], jobs, "{run:#}");
    assert_eq!(run["bigquery"]["bytes_uploaded"], published["bytes_uploaded"], "{run:#}");
    assert!(run["bigquery"]["error"].is_null(), "{run:#}");
    let table = world.crimewatch(&["runs"], None);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("BIGQUERY") && table.contains(&format!("0 loaded, {} same", order.len())), "{table}");
    assert!(table.contains(&format!("{} loaded, 0 same", order.len())), "{table}");
}

#[test]
fn a_failed_data_test_publishes_nothing_and_a_revision_shows_up_after_the_next_run() {
    let good = rows(47, 1200);
    let world = World::new("revise", good.clone());
    assert_eq!(world.ok(&["run"])["status"], "succeeded");
    let bq = world.bq();
    let before = bq.state();

    // A row the data tests reject: the run fails at the build, BigQuery stays as it was.
    let mut broken = good.clone();
    broken[5].insert("nibrs_crime_against_category".into(), json!("BOGUS"));
    world.server.set_rows(broken);
    let out = world.crimewatch(&["run"], Some(&emulators().bq_host));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("accepted_values"), "{}", text(&out));
    assert_eq!(bq.state(), before, "a failed data test must not reach BigQuery");
    // Publishing by hand now would pair the new lake with the old marts: refused.
    let out = world.crimewatch(&["publish"], Some(&emulators().bq_host));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("crimewatch build"), "{}", text(&out));
    assert_eq!(bq.state(), before);

    // A revision of one offense: the next run brings it to BigQuery.
    let mut revised = good;
    let unique = |id: &Value| revised.iter().filter(|r| r.get("offense_id") == Some(id)).count() == 1;
    let i = (0..revised.len())
        .find(|&i| revised[i].get("offense_id").is_some_and(|id| id.is_string() && unique(id)))
        .unwrap();
    let id = revised[i]["offense_id"].as_str().unwrap().to_string();
    let precinct = if revised[i].get("precinct") == Some(&json!("North")) { "South" } else { "North" };
    revised[i].insert("precinct".into(), json!(precinct));
    world.server.set_rows(revised);
    let report = world.ok(&["run"]);
    assert_eq!(report["status"], "succeeded", "{report}");
    let got =
        bq.query(&format!("SELECT precinct FROM `{}.{MARTS}.fct_offenses` WHERE offense_id = '{id}'", bq.project));
    assert_eq!(got, vec![vec![json!(precinct)]]);
    assert_bigquery_equals_duckdb(&world);
    assert_ne!(bq.state().1, before.1, "meta_build carries the new build");
}

#[test]
fn lake_on_gcs_loads_spd_crime_from_its_gs_objects_without_upload() {
    let world = World::new("gcs", rows(53, 1500));
    let out = world.crimewatch(&["run"], None);
    assert!(out.status.success(), "{}", text(&out));

    // The lake's files, as a bucket lake holds them: gs://BUCKET/lake/<same layout>, through GCS's JSON API.
    let e = emulators();
    let bucket = "crimewatch-lake-gcs";
    let (status, body) = http("POST", &format!("{}/storage/v1/b", e.gcs_url), Some(json!({"name": bucket})));
    assert!(status == 200 || status == 409, "{status} {body}");
    let lake = world.data().join("lake");
    let manifest: Value = serde_json::from_slice(&std::fs::read(lake.join("_manifest.json")).unwrap()).unwrap();
    for m in manifest["months"].as_array().unwrap() {
        let rel = format!("spd_crime/report_month={}/{}", m["month"].as_str().unwrap(), m["file"].as_str().unwrap());
        upload_object(&e.gcs_url, bucket, &format!("lake/{rel}"), &std::fs::read(lake.join(&rel)).unwrap());
    }

    let over = BigQueryOverrides {
        project: Some(world.project.clone()),
        emulator_host: Some(e.bq_host.clone()),
        ..Default::default()
    };
    let config = BigQuerySection::default().validate(over).unwrap().unwrap();
    let input = PublishInput {
        data_dir: DataDir::new(world.data()),
        lake: LakeLocation::Gcs { url: format!("gs://{bucket}/lake") },
    };
    let summary = runtime().block_on(bigquery::publish(&config, &input)).unwrap();
    let spd = summary.published.iter().find(|t| t.table == "spd_crime").unwrap();
    assert_eq!((spd.loaded_from.as_str(), spd.bytes_uploaded), ("gs://", 0), "{summary:?}");
    assert_eq!(summary.query_jobs, 1, "one INSERT shapes the raw rows: {summary:?}");

    let bq = world.bq();
    let from_gcs: Vec<Value> = bq
        .load_jobs()
        .into_iter()
        .filter(|j| j["configuration"]["load"]["sourceUris"][0].as_str().is_some_and(|u| u.starts_with("gs://")))
        .collect();
    assert_eq!(from_gcs.len(), 1, "spd_crime is one load job over the month objects");
    let uris = from_gcs[0]["configuration"]["load"]["sourceUris"].as_array().unwrap();
    assert_eq!(uris.len(), manifest["months"].as_array().unwrap().len());
    assert_bigquery_equals_duckdb(&world);
}

#[test]
fn a_run_with_the_lake_on_gcs_publishes_spd_crime_from_the_lakes_own_objects() {
    let world = World::new("gcs-lake-run", rows(59, 1500));
    let e = emulators();
    let bucket = "crimewatch-lake-run";
    let (status, body) = http("POST", &format!("{}/storage/v1/b", e.gcs_url), Some(json!({"name": bucket})));
    assert!(status == 200 || status == 409, "{status} {body}");
    let lake = format!("gs://{bucket}/lake");
    let out = world
        .command(&["--lake", &lake, "--json", "run"], Some(&e.bq_host))
        .env("STORAGE_EMULATOR_HOST", &e.gcs_url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // The months the bucket's manifest names (its local copy is what the build read).
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(world.data().join("lake-cache/_manifest.json")).unwrap()).unwrap();
    let months = manifest["months"].as_array().unwrap();
    let from_gcs: Vec<Value> = world
        .bq()
        .load_jobs()
        .into_iter()
        .filter(|j| j["configuration"]["load"]["sourceUris"][0].as_str().is_some_and(|u| u.starts_with("gs://")))
        .collect();
    assert_eq!(from_gcs.len(), 1, "spd_crime is one load job over the lake's month objects");
    let uris: Vec<&str> = from_gcs[0]["configuration"]["load"]["sourceUris"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(uris.len(), months.len());
    for m in months {
        let want =
            format!("{lake}/spd_crime/report_month={}/{}", m["month"].as_str().unwrap(), m["file"].as_str().unwrap());
        assert!(uris.contains(&want.as_str()), "{want} not loaded: {uris:?}");
    }
    assert_bigquery_equals_duckdb(&world);
}

fn upload_object(gcs_url: &str, bucket: &str, name: &str, bytes: &[u8]) {
    runtime().block_on(async {
        let url = format!("{gcs_url}/upload/storage/v1/b/{bucket}/o");
        let r = reqwest::Client::new()
            .post(url)
            .query(&[("uploadType", "media"), ("name", name)])
            .header("Content-Type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{name}: {}", r.status());
    });
}

#[test]
fn unreachable_endpoint_or_denied_permission_fails_clearly_and_leaves_warehouse_and_lake() {
    let world = World::new("errors", rows(59, 300));
    let out = world.crimewatch(&["run"], None);
    assert!(out.status.success(), "{}", text(&out));
    let files = world.files();

    let closed = format!("127.0.0.1:{}", free_port());
    let out = world.crimewatch(&["publish"], Some(&closed));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out));
    for needle in
        ["cannot be reached", &closed, "project cw-errors", "dataset crimewatch_staging", "BIGQUERY_EMULATOR_HOST"]
    {
        assert!(err.contains(needle), "{needle:?} in:\n{err}");
    }

    // Test double: a loopback server that answers every call with BigQuery's 403 (no emulator enforces IAM).
    let denied = DenyingServer::start();
    let out = world.crimewatch(&["publish"], Some(&denied.host));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out));
    for needle in [
        "denied",
        "project cw-errors",
        "dataset crimewatch_staging",
        "roles/bigquery.dataEditor",
        "roles/bigquery.jobUser on project cw-errors",
    ] {
        assert!(err.contains(needle), "{needle:?} in:\n{err}");
    }
    assert!(world.files() == files, "a failed publish changes no file of the data dir (warehouse, lake)");
    // On record as a failed publish run, with BigQuery's error in its publish part.
    let runs = world.ok(&["runs"])["runs"].clone();
    assert_eq!((&runs[0]["command"], &runs[0]["status"]), (&json!("publish"), &json!("failed")), "{runs:#}");
    let error = runs[0]["bigquery"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("roles/bigquery.jobUser"), "{:#}", runs[0]);

    // No project at all: refused before anything is tried or recorded.
    let out = world.crimewatch(&["publish"], None);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bigquery-project"), "{}", text(&out));
    assert_eq!(world.ok(&["runs"])["runs"].as_array().unwrap().len(), runs.as_array().unwrap().len());

    // `run` fails the same way after its build, with a non-zero exit; the lake is untouched.
    let out = world.crimewatch(&["run"], Some(&denied.host));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("roles/bigquery.jobUser"), "{}", text(&out));
    let lake = |f: &BTreeMap<String, Vec<u8>>| {
        f.iter().filter(|(k, _)| k.starts_with("lake/")).map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()
    };
    assert!(lake(&world.files()) == lake(&files), "the lake is untouched");
}

/// Test double: answers every HTTP request with BigQuery's permission-denied error, and keeps the requests.
struct DenyingServer {
    host: String,
    requests: Requests,
}

impl DenyingServer {
    fn start() -> DenyingServer {
        let body = r#"{"error":{"code":403,"message":"Access Denied: Project cw-errors: User does not have bigquery.datasets.get permission","errors":[{"reason":"accessDenied","message":"Access Denied","domain":"global"}],"status":"PERMISSION_DENIED"}}"#;
        let (host, requests) = answering("403 Forbidden", body);
        DenyingServer { host, requests }
    }
}

/// The requests a test double received, each as its text (request line, headers, body).
type Requests = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A loopback HTTP server that answers every request with `status` and the JSON `body`; its `host:port` and
/// what it received.
fn answering(status: &'static str, body: &'static str) -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let requests = Requests::default();
    let kept = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_millis(2000)));
            kept.lock().unwrap().push(read_request(&mut s));
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (host, requests)
}

/// One HTTP/1.1 request as its text (request line, headers, body).
fn read_request(s: &mut TcpStream) -> String {
    String::from_utf8_lossy(&read_request_bytes(s)).into_owned()
}

/// One HTTP/1.1 request: the head, then as much body as its Content-Length says.
fn read_request_bytes(s: &mut TcpStream) -> Vec<u8> {
    let (mut data, mut buf) = (Vec::new(), [0u8; 65536]);
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let length = String::from_utf8_lossy(&data[..end])
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return data;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return data,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Test double in front of the emulator: forwards every request to `upstream` (one per connection, asking it to
/// close) and keeps them, for what the emulator's answers do not show (it answers every job as run in `US`).
fn recording_proxy(upstream: &str) -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let (requests, upstream) = (Requests::default(), upstream.to_string());
    let kept = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut client) = stream else { continue };
            let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
            let request = read_request_bytes(&mut client);
            kept.lock().unwrap().push(String::from_utf8_lossy(&request).into_owned());
            let end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(request.len());
            let head = String::from_utf8_lossy(&request[..end]);
            let head: Vec<&str> = head.lines().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).collect();
            let mut up = TcpStream::connect(&upstream).unwrap();
            up.write_all(format!("{}\r\nConnection: close\r\n\r\n", head.join("\r\n")).as_bytes()).unwrap();
            up.write_all(request.get(end + 4..).unwrap_or_default()).unwrap();
            let mut answer = Vec::new();
            let _ = up.read_to_end(&mut answer);
            let _ = client.write_all(&answer);
        }
    });
    (host, requests)
}

#[test]
fn google_credentials_from_a_service_account_key_reach_bigquery_as_a_bearer_token() {
    let world = World::new("creds", rows(61, 300));
    let out = world.crimewatch(&["run"], None);
    assert!(out.status.success(), "{}", text(&out));

    // A service-account key of our own (a fresh RSA key) whose token_uri is a test double of Google's OAuth token
    // endpoint on loopback (nothing here can reach Google's).
    let (token_host, grants) =
        answering("200 OK", r#"{"access_token":"ya29.crimewatch-test-token","token_type":"Bearer","expires_in":3599}"#);
    let key = world.dir.join("key.pem");
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl: {}", text(&made));
    let email = "publisher@cw-creds.iam.gserviceaccount.com";
    let credentials = world.dir.join("service-account.json");
    let key_file = json!({
        "type": "service_account",
        "project_id": world.project,
        "private_key_id": "k1",
        "private_key": std::fs::read_to_string(&key).unwrap(),
        "client_email": email,
        "client_id": "1",
        "token_uri": format!("http://{token_host}/token"),
    });
    std::fs::write(&credentials, key_file.to_string()).unwrap();

    // BigQuery's API at another endpoint (`[bigquery] endpoint`), with Google credentials and no emulator switch:
    // first the emulator itself (it does not check tokens), then a test double that keeps what it was sent.
    let config = world.dir.join("crimewatch.toml");
    let base = std::fs::read_to_string(&config).unwrap();
    let publish = |endpoint: &str| {
        std::fs::write(&config, format!("{base}[bigquery]\nendpoint = \"{endpoint}\"\n")).unwrap();
        let mut c = world.command(&["--json", "publish"], None);
        c.env("CRIMEWATCH_BIGQUERY_PROJECT", &world.project).env("GOOGLE_APPLICATION_CREDENTIALS", &credentials);
        c.output().unwrap()
    };
    let out = publish(&format!("http://{}", emulators().bq_host));
    assert!(out.status.success(), "{}", text(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["load_jobs"].as_u64().unwrap() >= 8, "{summary}");
    assert_eq!(world.bq().tables(STAGING), ["spd_crime"]);

    let grant = grants.lock().unwrap().first().cloned().expect("the token endpoint was asked for a token");
    assert!(grant.starts_with("POST /token "), "{grant}");
    let form = grant.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    let field = |name: &str| {
        form.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap_or_default().to_string()
    };
    assert_eq!(field("grant_type"), "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer", "{form}");
    // The JWT's claims, decoded by DuckDB (base64url → base64): signed by this key's account, for BigQuery.
    let claims = field("assertion").split('.').nth(1).unwrap_or_default().replace('-', "+").replace('_', "/");
    let padded = format!("{claims}{}", "=".repeat((4 - claims.len() % 4) % 4));
    let duck = duckdb::Connection::open_in_memory().unwrap();
    let claims: String = duck.query_row("SELECT decode(from_base64(?))", [padded], |r| r.get(0)).unwrap();
    let claims: Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims["iss"], email, "{claims}");
    assert!(claims["scope"].as_str().unwrap_or_default().contains("https://www.googleapis.com/auth/bigquery"));

    let api = DenyingServer::start();
    let out = publish(&format!("http://{}", api.host));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("roles/bigquery.dataEditor"), "{}", text(&out));
    let requests = api.requests.lock().unwrap().clone();
    assert!(!requests.is_empty());
    for r in &requests {
        let bearer = r.lines().any(|l| l.eq_ignore_ascii_case("authorization: Bearer ya29.crimewatch-test-token"));
        assert!(bearer, "every BigQuery call carries the token:\n{r}");
    }
}

#[test]
fn the_location_from_the_environment_is_where_datasets_are_made_and_jobs_run() {
    // deploy/terraform passes CRIMEWATCH_BIGQUERY_LOCATION to the Cloud Run job; crimewatch's default is US.
    let world = World::new("location", rows(67, 300));
    let out = world.crimewatch(&["run"], None);
    assert!(out.status.success(), "{}", text(&out));
    let mut publish = world.command(&["--json", "publish"], Some(&emulators().bq_host));
    let out = publish.env("CRIMEWATCH_BIGQUERY_LOCATION", "EU").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let bq = world.bq();
    for dataset in [STAGING, MARTS] {
        let (status, body) = http("GET", &bq.api(&format!("/datasets/{dataset}")), None);
        assert_eq!((status, &body["location"]), (200, &json!("EU")), "{dataset}: {body}");
    }
    let jobs = bq.jobs();
    assert!(jobs.len() >= 16, "{}", jobs.len());

    // Jobs must run where the datasets are. The emulator answers every job as run in `US`, so what crimewatch
    // asked for is read from its requests, through a recording proxy: a second project, the same location.
    let (proxy, requests) = recording_proxy(&emulators().bq_host);
    let mut publish = world.command(&["--json", "publish"], Some(&proxy));
    publish.env("CRIMEWATCH_BIGQUERY_PROJECT", "cw-location-2").env("CRIMEWATCH_BIGQUERY_LOCATION", "EU");
    let out = publish.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let inserts: Vec<Value> = requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with("POST ") && r.lines().next().unwrap_or_default().contains("/jobs"))
        .map(|r| serde_json::from_str(r.split_once("\r\n\r\n").unwrap().1).unwrap())
        .collect();
    assert!(inserts.len() >= 16, "every load and copy job is inserted: {}", inserts.len());
    for job in &inserts {
        assert_eq!(job["jobReference"]["location"], "EU", "{job}");
    }
    let mut bad = world.command(&["publish"], Some(&emulators().bq_host));
    let out = bad.env("CRIMEWATCH_BIGQUERY_LOCATION", "europe west").output().unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bigquery-location"), "{}", text(&out));
}
