//! "How final are the numbers?" end to end: rows served by the test kit's SODA server, ingested, revised and
//! ingested again (the real pair of downloads, and generated late reports, reclassifications and deletions), so
//! the lake keeps real replaced versions; then the real build and `/api/revisions` and `/api/revisions/drift`.
//! The expected counts are computed here from the served rows (ingest.rs's own mapping of a row to its lake row,
//! the NIBRS seed's classes read from the CSV), never from the marts under test.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crimewatch::pipeline::{self, IngestOptions, Progress};
use crimewatch::settings::Settings;
use serde_json::{json, Value};
use soda_testkit::generate::revise::{revise, Revision};
use soda_testkit::generate::{self, GenSpec, Schema};
use soda_testkit::{samples, Month, Row, SodaServer};

use crate::ingest::{expected, DATASET};
use crate::tempdir::TempDir;

/// NIBRS code → FBI class, read from the seed file.
fn fbi_classes() -> HashMap<String, String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/transform/seeds/nibrs_offense_codes.csv"))
        .expect("seed");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_uppercase(), f[f.len() - 2].to_string())
        })
        .collect()
}

/// The dashboard's category of a served row: SPD's when one of the three, else the class of its NIBRS code.
fn category(spd: Option<&str>, code: Option<&str>, classes: &HashMap<String, String>) -> &'static str {
    match spd.map(str::to_uppercase).as_deref() {
        Some("VIOLENT CRIME") => return "violent",
        Some("PROPERTY CRIME") => return "property",
        Some("ALL OTHER") => return "other",
        _ => {}
    }
    match code.and_then(|c| classes.get(&c.to_uppercase())).map(String::as_str) {
        Some("violent") => "violent",
        Some("property") => "property",
        _ => "other",
    }
}

/// Rows per report month and category ('all' too) of one served version, as the lake stores them.
fn counts(rows: &[Row], classes: &HashMap<String, String>) -> BTreeMap<(String, &'static str), i64> {
    let mut out = BTreeMap::new();
    for r in rows.iter().filter_map(|r| expected(r, "soda")) {
        let c = category(r.texts[10].as_deref(), r.texts[12].as_deref(), classes);
        for k in [c, "all"] {
            *out.entry((r.report_month.clone(), k)).or_default() += 1;
        }
    }
    out
}

struct Lake {
    server: SodaServer,
    settings: Settings,
    dir: TempDir,
    range: IngestOptions,
}

impl Lake {
    fn new(name: &str, rows: Vec<Row>, since: &str, until: &str) -> Lake {
        let server = SodaServer::start(DATASET, rows);
        let dir = TempDir::new(name);
        let mut settings = Settings::for_data_dir(dir.path(), &server.url());
        settings.web.addr = "127.0.0.1:0".parse().unwrap();
        let month = |s: &str| crimewatch::domain::Month::parse(s).unwrap();
        let range = IngestOptions { since: Some(month(since)), until: Some(month(until)), full: false };
        Lake { server, settings, dir, range }
    }

    /// Serves `rows` and ingests them; returns each month's fetched_at from the manifest.
    async fn ingest(&self, rows: Vec<Row>) -> BTreeMap<String, String> {
        self.server.set_rows(rows);
        pipeline::ingest(&self.settings.pipeline(), &self.range, Progress::Hidden).await.expect("ingest");
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(self.dir.join("lake/_manifest.json")).unwrap()).unwrap();
        manifest["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["month"].as_str().unwrap().to_string(), m["fetched_at"].as_str().unwrap().to_string()))
            .collect()
    }

    /// Builds the warehouse and serves it; returns `(/api/revisions, /api/revisions/drift)`.
    async fn build_and_ask(&self) -> (Value, Value) {
        let config = self.settings.pipeline();
        let summary = tokio::task::spawn_blocking(move || pipeline::build(&config, Progress::Hidden))
            .await
            .unwrap()
            .expect("build");
        assert!(summary.published, "{summary:?}");
        let app = crimewatch::web::Application::build(&self.settings.web, &self.settings.data_dir, None).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        let get = |p: &str| {
            let url = format!("{base}{p}");
            async move { serde_json::from_str::<Value>(&reqwest::get(url).await.unwrap().text().await.unwrap()).unwrap() }
        };
        (get("/api/revisions").await, get("/api/revisions/drift").await)
    }
}

type Counts = BTreeMap<(String, &'static str), i64>;

/// The API rows expected for the revised months (month → versions): the first complete version's counts
/// (`first_of`), now (0 for a deleted month), the first fetch (`None`: unknown).
fn want_rows(
    first_of: &dyn Fn(&str) -> Counts,
    now: &Counts,
    fetched: &BTreeMap<String, Option<String>>,
    revised: &BTreeMap<String, i64>,
    deleted: &BTreeSet<String>,
) -> Value {
    let mut out = Vec::new();
    for (month, n) in revised {
        let first = first_of(month);
        for c in ["all", "other", "property", "violent"] {
            let key = (month.clone(), c);
            let count = if deleted.contains(month) { 0 } else { now.get(&key).copied().unwrap_or(0) };
            out.push(json!({
                "month": month, "offense_category": c, "first_fetched_at": fetched[month],
                "first_count": first.get(&key).copied().unwrap_or(0), "count": count, "versions": n,
            }));
        }
    }
    Value::Array(out)
}

/// The median and quartiles as DuckDB's quantile_cont (linear between the sorted values), rounded to 0.1.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let x = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64);
    (x * 10.0).round() / 10.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_pair_of_downloads_keeps_each_revised_month_first_fetched_and_now() {
    let classes = fbi_classes();
    let (pull1, pull2) = (samples::pull1(), samples::pull2());
    let lake = Lake::new("rev-real", Vec::new(), "2022-01", "2022-12");
    let fetched1 = lake.ingest(pull1.clone()).await;
    lake.ingest(pull2.clone()).await;
    let (c1, c2) = (counts(&pull1, &classes), counts(&pull2, &classes));
    // The months whose rows differ between the pulls (compared row by row, not by count): those SPD revised.
    let lake_rows = |rows: &[Row]| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows.iter().filter_map(|r| expected(r, "soda")) {
            m.entry(r.report_month.clone()).or_default().push(format!("{r:?}"));
        }
        m.values_mut().for_each(|v| v.sort());
        m
    };
    let (a, b) = (lake_rows(&pull1), lake_rows(&pull2));
    let revised: BTreeMap<String, i64> = a.keys().filter(|m| b.get(*m) != a.get(*m)).map(|m| (m.clone(), 2)).collect();
    assert!(!revised.is_empty(), "the real pulls differ in some month");
    let deleted: BTreeSet<String> = a.keys().filter(|m| !b.contains_key(*m)).cloned().collect();
    let fetched: BTreeMap<String, Option<String>> =
        revised.keys().map(|m| (m.clone(), Some(fetched1[m].clone()))).collect();
    // Each kept version carries its own record.
    for m in revised.keys() {
        let kept: Vec<_> = std::fs::read_dir(lake.dir.join(format!("lake/revisions/report_month={m}")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(kept.len(), 1, "{m}: {kept:?}");
        let record: Value = serde_json::from_slice(&std::fs::read(kept[0].join("_month.json")).unwrap()).unwrap();
        assert_eq!(record["fetched_at"], fetched1[m], "{m}");
        assert_eq!(record["rows"], c1[&(m.clone(), "all")], "{m}");
    }
    let (got, drift) = lake.build_and_ask().await;
    let want = want_rows(&|_| c1.clone(), &c2, &fetched, &revised, &deleted);
    assert_eq!(got, want, "/api/revisions");
    for r in got.as_array().unwrap().iter().filter(|r| r["offense_category"] == "all") {
        eprintln!(
            "real pair: {} first {} now {} ({} versions)",
            r["month"], r["first_count"], r["count"], r["versions"]
        );
    }
    let moved = revised.keys().any(|m| c1.get(&(m.clone(), "all")) != c2.get(&(m.clone(), "all")));
    assert!(moved, "some revised month's count changed: {got}");
    // Two revised months at most: too few to say what is typical.
    assert_eq!(drift, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_late_reports_reclassifications_and_deletions_are_counted_per_version() {
    let classes = fbi_classes();
    let m = |s: &str| Month::parse(s).unwrap();
    let v0 = generate::rows(&GenSpec {
        seed: 77,
        first: m("2024-01"),
        last: m("2024-06"),
        rows: 1800,
        schema: Schema::Nibrs,
    });
    let lake = Lake::new("rev-gen", Vec::new(), "2024-01", "2024-06");
    lake.ingest(v0.clone()).await;
    let revision = |seed, months: &[&str]| Revision {
        seed,
        months: months.iter().map(|s| m(s)).collect(),
        late: 0.08,
        reclassified: 0.05,
        deleted: 0.04,
    };
    let v1 = revise(&v0, &revision(1, &["2024-01", "2024-02", "2024-03", "2024-04", "2024-06"]));
    lake.ingest(v1.clone()).await;
    // A second revision of two months, and the source drops 2024-05 altogether.
    let v2: Vec<Row> = revise(&v1, &revision(2, &["2024-02", "2024-06"]))
        .into_iter()
        .filter(|r| generate::report_month(r) != Some(m("2024-05")))
        .collect();
    lake.ingest(v2.clone()).await;
    // History, as an operating lake would have it: each month first fetched complete early in the next month
    // (age 1), so the drift has one age to speak of. 2024-04's kept version as one kept before records were:
    // its first fetch unknown. 2024-06's first version as fetched while the month was filling: not a revision.
    let folders = |m: &str| {
        let mut v: Vec<_> = std::fs::read_dir(lake.dir.join(format!("lake/revisions/report_month={m}")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let edit = |dir: &std::path::Path, f: &dyn Fn(&mut Value)| {
        let path = dir.join("_month.json");
        let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        f(&mut record);
        std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    };
    let mut first_fetch: BTreeMap<String, Option<String>> = BTreeMap::new();
    for k in ["2024-01", "2024-02", "2024-03", "2024-05"] {
        let next = m(k).next();
        let at = format!("{:04}-{:02}-03T08:00:00Z", next.year(), next.month());
        edit(&folders(k)[0], &|r| r["fetched_at"] = json!(at));
        first_fetch.insert(k.into(), Some(at));
    }
    std::fs::remove_file(folders("2024-04")[0].join("_month.json")).unwrap();
    first_fetch.insert("2024-04".into(), None);
    edit(&folders("2024-06")[0], &|r| r["partial"] = json!(true));
    edit(&folders("2024-06")[1], &|r| r["fetched_at"] = json!("2024-08-03T08:00:00Z"));
    first_fetch.insert("2024-06".into(), Some("2024-08-03T08:00:00Z".into()));

    let (c0, c1, c2) = (counts(&v0, &classes), counts(&v1, &classes), counts(&v2, &classes));
    // Complete versions: 2024-02 v0, v1, live; 2024-06 v1 (v0 was filling), live; 2024-05 v0 and its deletion.
    let revised: BTreeMap<String, i64> =
        [("2024-01", 2), ("2024-02", 3), ("2024-03", 2), ("2024-04", 2), ("2024-05", 2), ("2024-06", 2)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    let deleted: BTreeSet<String> = ["2024-05".to_string()].into();
    let first_of = |k: &str| if k == "2024-06" { c1.clone() } else { c0.clone() };
    let (got, drift) = lake.build_and_ask().await;
    assert_eq!(got, want_rows(&first_of, &c2, &first_fetch, &revised, &deleted), "/api/revisions");

    // The typical drift: the four months first fetched at age 1 (2024-06's first complete fetch is older, alone
    // at its age); the median and quartiles of (now − first) / first in %, recomputed here.
    let mut changes: Vec<f64> = ["2024-01", "2024-02", "2024-03", "2024-05"]
        .iter()
        .map(|k| {
            let key = (k.to_string(), "all");
            let now = if deleted.contains(*k) { 0 } else { c2[&key] };
            100.0 * (now - c0[&key]) as f64 / c0[&key] as f64
        })
        .collect();
    changes.sort_by(f64::total_cmp);
    assert!(changes[0] == -100.0 && changes[1..].iter().all(|c| *c != 0.0), "{changes:?}");
    let want = json!([{
        "age_months": 1, "months": 4, "median_change_pct": quantile(&changes, 0.5),
        "change_pct_p25": quantile(&changes, 0.25), "change_pct_p75": quantile(&changes, 0.75),
    }]);
    assert_eq!(drift, want, "/api/revisions/drift");
}
