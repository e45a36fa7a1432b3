//! The real path: fixture rows served by the SODA-compatible test server → `pipeline::ingest` (lake) →
//! `pipeline::build` (the real warehouse, data tests, publish) → the API, compared with counts computed in Rust
//! from the same rows. Needs the testkit, ingest and warehouse branches: the lead adds `mod real;` to
//! tests/web.rs when merging them (verified on a local merge at 15:18 UTC: 48 of 48 answers equal).
use crimewatch::domain::Month;
use crimewatch::pipeline::{self, IngestOptions, Progress};
use crimewatch::settings::Settings;
use serde_json::{json, Value};
use soda_testkit::{Row, SodaServer};

use super::expect::{self, Query};
use super::fixture::{generate, Offense};

fn code(offense: &str) -> &'static str {
    match offense {
        "Aggravated Assault" => "13A",
        "Robbery" => "120",
        "Rape" => "11A",
        "Murder & Nonnegligent Manslaughter" => "09A",
        "Theft From Motor Vehicle" => "23F",
        "Shoplifting" => "23C",
        "All Other Larceny" => "23H",
        "Burglary/Breaking & Entering" => "220",
        "Motor Vehicle Theft" => "240",
        "Destruction/Damage/Vandalism of Property" => "290",
        "Arson" => "200",
        "Simple Assault" => "13B",
        "Intimidation" => "13C",
        "Drug/Narcotic Violations" => "35A",
        "Trespass of Real Property" => "90J",
        "Identity Theft" => "26F",
        _ => "90D",
    }
}

fn to_row(o: &Offense, i: usize) -> Row {
    let mut r = Row::new();
    let mut put = |k: &str, v: String| {
        r.insert(k.to_string(), Value::String(v));
    };
    put("report_number", format!("2024-{i:06}"));
    put("offense_id", format!("{}", 1_000_000 + i));
    put("report_date_time", o.report_date_time.format("%Y-%m-%dT%H:%M:%S.000").to_string());
    if let Some(d) = o.offense_date {
        put("offense_date", d.format("%Y-%m-%dT%H:%M:%S.000").to_string());
    }
    put("nibrs_group_a_b", "A".into());
    put(
        "nibrs_crime_against_category",
        if o.category == "VIOLENT CRIME" { "PERSON".into() } else { "PROPERTY".into() },
    );
    put("offense_sub_category", o.sub_category.into());
    put("block_address", "1XX BLOCK OF PINE ST".into());
    put("shooting_type_group", "-".into());
    put("latitude", "47.61".into());
    put("longitude", "-122.33".into());
    put("beat", o.beat.clone());
    put("precinct", o.precinct.clone());
    put("sector", o.sector.clone());
    put("neighborhood", o.neighborhood.clone());
    put("reporting_area", "1234".into());
    put("offense_category", o.category.into());
    put("nibrs_offense_code_description", o.offense.into());
    put("nibrs_offense_code", code(o.offense).into());
    r
}

/// Serves `rows` through the real path (test SODA server → ingest → build → web) and returns the data dir (keep it
/// alive) and the server's base URL. Months `first..=now` are ingested; `now` is the partial month.
pub(super) async fn serve_through_pipeline(
    rows: &[Offense],
    first: Month,
    now: Month,
) -> (crate::tempdir::TempDir, String) {
    let server = SodaServer::start("tazs-3rd5", rows.iter().enumerate().map(|(i, o)| to_row(o, i)).collect());
    let dir = crate::tempdir::TempDir::new("real");
    let mut settings = Settings::for_data_dir(dir.path(), &server.url());
    settings.web.addr = "127.0.0.1:0".parse().unwrap();
    let opts = IngestOptions { since: Some(first), until: Some(now), full: false };
    let config = settings.pipeline();
    pipeline::ingest(&config, &opts, Progress::Hidden).await.expect("ingest");
    let summary =
        tokio::task::spawn_blocking(move || pipeline::build(&config, Progress::Hidden)).await.unwrap().expect("build");
    assert!(summary.published && summary.fact_rows == rows.len() as u64, "{summary:?}");
    let app = crimewatch::web::Application::build(&settings.web, &settings.data_dir, None).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    (dir, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_pipeline_build_serves_the_counts_computed_from_the_rows() {
    let now = Month::current_in_seattle(chrono::Utc::now());
    let first = Month::parse("2024-09").unwrap();
    let rows = generate(9, 3000, first, now);
    let (_dir, base) = serve_through_pipeline(&rows, first, now).await;
    let get = |p: String| {
        let base = base.clone();
        async move {
            let t = reqwest::get(format!("{base}{p}")).await.unwrap().text().await.unwrap();
            serde_json::from_str::<Value>(&t).unwrap_or(json!(t))
        }
    };
    let health = get("/api/health".into()).await;
    assert_eq!(health["fact_rows"], rows.len() as u64, "{health}");
    assert_eq!(health["partial_months"], json!([now.to_string()]), "{health}");
    let mut bad = 0;
    let mut compared = 0;
    for axis in ["reported", "occurred"] {
        for category in ["all", "violent"] {
            for area in
                [None, Some(("precinct", "North".to_string())), Some(("neighborhood", "MADRONA/LESCHI".to_string()))]
            {
                let q = Query { axis, category, area, from: None, to: None };
                let qs = q.to_query_string();
                for (name, got, want) in [
                    ("trend", get(format!("/api/trend?{qs}")).await, expect::trend(&rows, &q)),
                    ("offenses", get(format!("/api/offenses?{qs}")).await, expect::offenses(&rows, &q)),
                    ("heatmap", get(format!("/api/heatmap?{qs}")).await, expect::heatmap(&rows, &q)),
                    (
                        "areas",
                        get(format!("/api/areas?level=beat&{qs}")).await,
                        expect::areas(&rows, &q, "beat", &|_| None),
                    ),
                ] {
                    compared += 1;
                    if got != want {
                        bad += 1;
                        let g = got.as_array().map(|a| a.len());
                        let w = want.as_array().map(|a| a.len());
                        let diff = got.as_array().zip(want.as_array()).and_then(|(g, w)| {
                            g.iter().zip(w).find(|(a, b)| a != b).map(|(a, b)| format!("{a}\n  want {b}"))
                        });
                        eprintln!(
                            "MISMATCH {name}?{qs}: {g:?} vs {w:?}: {}",
                            diff.unwrap_or_else(|| format!("{got}").chars().take(300).collect())
                        );
                    }
                }
            }
        }
    }
    assert_eq!((bad, compared), (0, 48), "answers differing from the rows (see MISMATCH lines)");
}
