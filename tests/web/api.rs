//! The API's answers equal counts computed in Rust from the fixture rows, over a grid of filters.

use std::collections::HashSet;

use crimewatch::domain::Month;
use crimewatch::web::{Refused, RunsApi};
use futures_util::FutureExt as _;
use serde_json::Value;

use super::expect::{self, encode, Query};
use super::fixture::{generate, Offense};
use super::support::spawn_app;

fn month(s: &str) -> Month {
    Month::parse(s).expect("month")
}

fn fixture_rows() -> Vec<Offense> {
    generate(7, 6000, month("2023-01"), month("2025-06"))
}

/// The test's own map of data names to polygon names: exact matches against the polygon file, plus the two
/// documented renames; placeholders match nothing.
fn polygon_table() -> impl Fn(&str) -> Option<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/assets/neighborhoods.geojson"))
        .expect("polygons");
    let geo: Value = serde_json::from_str(&text).expect("geojson");
    let names: HashSet<String> = geo["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["name"].as_str().expect("name").to_string())
        .collect();
    move |data: &str| {
        let target = match data {
            "CHINATOWN/INTERNATIONAL DISTRICT" => "INTERNATIONAL DISTRICT",
            "MADRONA/LESCHI" => "LESCHI/MADRONA",
            other => other,
        };
        names.contains(target).then(|| target.to_string())
    }
}

fn grid() -> Vec<Query> {
    let areas: Vec<Option<(&'static str, String)>> = vec![
        None,
        Some(("precinct", "North".to_string())),
        Some(("neighborhood", "CHINATOWN/INTERNATIONAL DISTRICT".to_string())),
        Some(("beat", "E2".to_string())),
    ];
    let ranges = [(None, None), (Some(month("2024-03")), Some(month("2025-02"))), (Some(month("2024-11")), None)];
    let mut out = Vec::new();
    for axis in ["occurred", "reported"] {
        for category in ["all", "violent", "property", "other"] {
            for area in &areas {
                for (from, to) in ranges {
                    out.push(Query { axis, category, area: area.clone(), from, to });
                }
            }
        }
    }
    out
}

fn assert_same(endpoint: &str, q: &str, got: &Value, want: &Value) {
    if got != want {
        let (g, w) = (got.as_array().map(Vec::len), want.as_array().map(Vec::len));
        let first = got
            .as_array()
            .zip(want.as_array())
            .and_then(|(g, w)| g.iter().zip(w).find(|(a, b)| a != b).map(|(a, b)| format!("got {a}\nwant {b}")));
        panic!("{endpoint}?{q}: rows got {g:?} want {w:?}; first difference:\n{}", first.unwrap_or_default());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_matches_counts_computed_from_the_rows_over_a_grid_of_filters() {
    let rows = fixture_rows();
    let app = spawn_app("grid", Some(&rows), None).await;
    let polygons = polygon_table();
    let mut checked = 0;
    for q in grid() {
        let qs = q.to_query_string();
        let got = app.json(&format!("/api/trend?{qs}")).await;
        assert_same("trend", &qs, &got, &expect::trend(&rows, &q));
        let got = app.json(&format!("/api/offenses?{qs}")).await;
        assert_same("offenses", &qs, &got, &expect::offenses(&rows, &q));
        let got = app.json(&format!("/api/heatmap?{qs}")).await;
        assert_same("heatmap", &qs, &got, &expect::heatmap(&rows, &q));
        for level in ["precinct", "sector", "beat", "neighborhood"] {
            let got = app.json(&format!("/api/areas?level={level}&{qs}")).await;
            assert_same("areas", &format!("level={level}&{qs}"), &got, &expect::areas(&rows, &q, level, &polygons));
        }
        checked += 1;
    }
    assert_eq!(checked, 96);
    // The grid is not vacuous: the filtered answers hold data, and the area filter changes them.
    let all = app.json("/api/heatmap").await;
    let north = app.json("/api/heatmap?area_level=precinct&area=North").await;
    let total = |v: &Value| v.as_array().unwrap().iter().map(|r| r["count"].as_i64().unwrap()).sum::<i64>();
    assert!(total(&north) > 0 && total(&north) < total(&all));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_charts_agree_on_the_total_and_trend_marks_partial_and_provisional_months() {
    let rows = fixture_rows();
    let app = spawn_app("totals", Some(&rows), None).await;
    let sum = |v: &Value| v.as_array().unwrap().iter().map(|r| r["count"].as_i64().unwrap()).sum::<i64>();
    for axis in ["occurred", "reported"] {
        let q = format!("axis={axis}&from=2024-01&to=2025-06");
        let want = rows
            .iter()
            .filter_map(|o| super::fixture::on_axis(o, axis))
            .filter(|(m, _, _)| *m >= month("2024-01") && *m <= month("2025-06"))
            .count() as i64;
        assert_eq!(sum(&app.json(&format!("/api/trend?{q}")).await), want, "{axis}");
        assert_eq!(sum(&app.json(&format!("/api/offenses?{q}")).await), want, "{axis}");
        assert_eq!(sum(&app.json(&format!("/api/heatmap?{q}")).await), want, "{axis}");
        assert_eq!(sum(&app.json(&format!("/api/areas?level=beat&{q}")).await), want, "{axis}");
    }
    let trend = app.json("/api/trend?axis=reported&category=violent").await;
    let flagged: Vec<(&str, bool, bool)> = trend
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["is_partial"] == true || r["is_provisional"] == true)
        .map(|r| (r["month"].as_str().unwrap(), r["is_partial"] == true, r["is_provisional"] == true))
        .collect();
    // Provisional = less than 95% complete, recomputed from the rows' reporting delays (expect::flagger).
    let provisional = expect::provisional_months(&rows);
    assert!(!provisional.is_empty(), "the fixture's late reports leave recent months incomplete");
    let mut want: Vec<(&str, bool, bool)> = provisional.iter().map(|m| (m.as_str(), false, true)).collect();
    want.push(("2025-06", true, false));
    assert_eq!(flagged, want);
    let health = app.json("/api/health").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["partial_months"], serde_json::json!(["2025-06"]));
    assert_eq!(health["provisional_months"], serde_json::json!(provisional));
    assert_eq!(expect::provisional_method(&rows), "completeness");
    assert_eq!(
        health["provisional_rule"],
        serde_json::json!({"method": "completeness", "complete_share": 0.95, "fixed_months": 2})
    );
    assert_eq!(health["fact_rows"], rows.len() as i64);
    assert_eq!(health["built_at"], "2026-11-28T12:00:00Z");
    assert_eq!(health["reported"]["first_month"], "2023-01");
    assert_eq!(health["reported"]["last_month"], "2025-06");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neighborhood_names_are_mapped_to_polygons_explicitly_and_unmatched_names_reported() {
    let rows = fixture_rows();
    let app = spawn_app("polygons", Some(&rows), None).await;
    let areas = app.json("/api/areas?level=neighborhood").await;
    let by_name = |name: &str| areas.as_array().unwrap().iter().find(|r| r["area"] == name).cloned().expect(name);
    assert_eq!(by_name("CHINATOWN/INTERNATIONAL DISTRICT")["polygon"], "INTERNATIONAL DISTRICT");
    assert_eq!(by_name("MADRONA/LESCHI")["polygon"], "LESCHI/MADRONA");
    assert_eq!(by_name("FREMONT")["polygon"], "FREMONT");
    assert_eq!(by_name("UNKNOWN")["polygon"], Value::Null);
    assert_eq!(by_name("OOJ")["polygon"], Value::Null);
    let unmatched: Vec<&str> = areas
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["polygon"].is_null())
        .map(|r| r["area"].as_str().unwrap())
        .collect();
    assert_eq!(unmatched.len(), 2, "{unmatched:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_format_carries_the_same_rows_as_json() {
    let rows = fixture_rows();
    let app = spawn_app("csv", Some(&rows), None).await;
    for endpoint in ["trend", "areas", "offenses", "heatmap"] {
        let q = "axis=reported&category=property&from=2024-02&to=2024-12&area_level=precinct&area=West";
        let json = app.json(&format!("/api/{endpoint}?{q}")).await;
        let (status, body, headers) = app.get(&format!("/api/{endpoint}?{q}&format=csv")).await;
        assert_eq!(status, 200, "{body}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(headers["content-disposition"].to_str().unwrap().contains(&format!("crimewatch-{endpoint}.csv")));
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        let json_rows = json.as_array().unwrap();
        let first_keys: Vec<String> = json_rows[0].as_object().unwrap().keys().cloned().collect();
        let mut sorted_header = header.clone();
        sorted_header.sort();
        let mut sorted_keys = first_keys.clone();
        sorted_keys.sort();
        assert_eq!(sorted_header, sorted_keys, "{endpoint}");
        let count_col = header.iter().position(|h| h == "count").unwrap();
        let csv_counts: Vec<i64> = reader.records().map(|r| r.unwrap()[count_col].parse().unwrap()).collect();
        let json_counts: Vec<i64> = json_rows.iter().map(|r| r["count"].as_i64().unwrap()).collect();
        assert_eq!(csv_counts, json_counts, "{endpoint}");
    }
}

/// The endpoints without filters (the revision audit) and the expected range: CSV carries the JSON's rows, and
/// the stand-in's expected range is the Rust recomputation (so the browser checks of the band rest on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_and_expected_range_endpoints_answer_json_and_csv_alike() {
    let rows = fixture_rows();
    let app = spawn_app("rev-csv", Some(&rows), None).await;
    for (path, name, column) in [
        ("/api/revisions", "revisions", "count"),
        ("/api/revisions/drift", "revision_drift", "months"),
        ("/api/expected-range?axis=reported", "expected_range", "years"),
    ] {
        let json = app.json(path).await;
        let json_rows = json.as_array().unwrap();
        assert!(!json_rows.is_empty(), "{path}");
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, body, headers) = app.get(&format!("{path}{sep}format=csv")).await;
        assert_eq!(status, 200, "{body}");
        assert!(headers["content-disposition"].to_str().unwrap().contains(&format!("crimewatch-{name}.csv")));
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let col = reader.headers().unwrap().iter().position(|h| h == column).unwrap();
        let csv_values: Vec<i64> = reader.records().map(|r| r.unwrap()[col].parse().unwrap()).collect();
        let json_values: Vec<i64> = json_rows.iter().map(|r| r[column].as_i64().unwrap()).collect();
        assert_eq!(csv_values, json_values, "{path}");
    }
    for axis in ["occurred", "reported"] {
        let got = app.json(&format!("/api/expected-range?axis={axis}")).await;
        assert!(expect::close(&got, &expect::expected_range(&rows, axis)), "{axis}: {got}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_get_400_naming_the_parameter_and_allowed_values() {
    let rows = generate(3, 300, month("2024-01"), month("2024-06"));
    let app = spawn_app("bad", Some(&rows), None).await;
    let cases = [
        ("/api/trend?axis=sideways", "axis", "occurred, reported"),
        ("/api/offenses?category=crimes", "category", "violent, property, other, all"),
        ("/api/heatmap?from=2024-1", "from", "YYYY-MM"),
        ("/api/trend?to=March", "to", "YYYY-MM"),
        ("/api/trend?from=2024-05&to=2024-02", "from", "after"),
        ("/api/areas?level=city", "level", "precinct, sector, beat, neighborhood"),
        ("/api/areas?area_level=county&area=King", "area_level", "precinct, sector, beat, neighborhood"),
        ("/api/trend?area=North", "area_level", "needs"),
        ("/api/trend?area_level=precinct", "area", "needs"),
        ("/api/trend?catgory=violent", "catgory", "allowed: from, to, axis, category"),
        ("/api/heatmap?format=xlsx", "format", "json, csv"),
        ("/api/trend?axis=occurred&axis=reported", "axis", "more than once"),
        ("/api/trend?from=1900-01&to=2024-01", "from", "1200 months"),
        ("/api/expected-range?area_level=precinct&area=North", "area", "whole city"),
        ("/api/revisions?catgory=violent", "catgory", "allowed: from, to, axis, category"),
    ];
    for (url, param, needle) in cases {
        let (status, body, _) = app.get(url).await;
        assert_eq!(status, 400, "{url}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let msg = v["error"].as_str().unwrap_or_else(|| panic!("{url}: {body}"));
        assert_eq!(v["parameter"], param, "{url}: {body}");
        assert!(msg.contains(needle), "{url}: {msg:?} should mention {needle:?}");
    }
    // A value that looks like SQL is only ever a bound value: no error, no rows.
    let q = format!("/api/trend?area_level=precinct&area={}", encode("North' OR '1'='1"));
    let v = app.json(&q).await;
    assert!(v.as_array().unwrap().iter().all(|r| r["count"] == 0), "{v}");
    let (status, body, _) = app.get("/api/nope").await;
    assert_eq!(status, 404);
    assert!(body.contains("/api/nope"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_warehouse_the_api_answers_503_no_data_and_the_page_still_loads() {
    let app = spawn_app("nodata", None, None).await;
    for url in ["/api/health", "/api/trend", "/api/areas?level=beat", "/api/offenses", "/api/heatmap"] {
        let (status, body, _) = app.get(url).await;
        assert_eq!(status, 503, "{url}: {body}");
        assert!(body.contains("no data yet") && body.contains("crimewatch run"), "{url}: {body}");
    }
    let (status, body, headers) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(body.contains("/assets/app.js"));
    // Once a warehouse is published, the same server serves it without a restart.
    let rows = generate(5, 200, month("2024-01"), month("2024-03"));
    super::support::publish(&rows, &app.warehouse()).await;
    let health = app.json("/api/health").await;
    assert_eq!(health["fact_rows"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_route_answers_an_empty_ledger_unless_runs_are_handed_in() {
    let app = spawn_app("runs-empty", None, None).await;
    let v = app.json("/api/runs").await;
    assert_eq!(v["runs"], serde_json::json!([]));
    assert_eq!(v["next_run"], Value::Null);
    let next = "2026-12-01T15:00:00Z".parse().unwrap();
    let (_next_tx, next_run) = tokio::sync::watch::channel(Some(next));
    let runs = RunsApi {
        list: std::sync::Arc::new(|| Ok(Vec::new())),
        start: std::sync::Arc::new(|| async { Err::<String, _>(Refused::Failed("not in this test".into())) }.boxed()),
        admin_token: None,
        schedule: "0 15 1 * *".into(),
        timezone: "UTC".into(),
        next_run,
    };
    let app = spawn_app("runs-handed-in", None, Some(runs)).await;
    let v = app.json("/api/runs").await;
    assert_eq!(v["next_run"], "2026-12-01T15:00:00Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_embedded_and_reference_nothing_outside_the_server() {
    let app = spawn_app("assets", None, None).await;
    for (path, ctype) in [
        ("/", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/charts.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
        ("/assets/favicon.svg", "image/svg+xml"),
        ("/assets/neighborhoods.geojson", "application/geo+json"),
    ] {
        let (status, body, headers) = app.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(headers["content-type"].to_str().unwrap().starts_with(ctype), "{path}");
        if path != "/assets/neighborhoods.geojson" {
            for needle in ["http://", "https://", "//cdn", "@import", "fonts.g"] {
                let hits: Vec<&str> =
                    body.lines().filter(|l| l.contains(needle) && !l.contains("http://www.w3.org/2000/svg")).collect();
                assert!(hits.is_empty(), "{path} references {needle}: {hits:?}");
            }
        }
    }
    let geo: Value = serde_json::from_str(&app.get("/assets/neighborhoods.geojson").await.1).unwrap();
    assert_eq!(geo["features"].as_array().unwrap().len(), 58);
    let (status, _, _) = app.get("/assets/missing.js").await;
    assert_eq!(status, 404);
}
