//! What every response carries and what a spreadsheet gets (issue 17, item 5): the security headers on the page,
//! its assets, the API and every kind of error; CSV cells that a spreadsheet would run as a formula are escaped
//! in every CSV endpoint, while numbers (a negative change included) stay numbers.

use crimewatch::domain::Month;
use crimewatch::web::SECURITY_HEADERS;

use super::fixture::{generate, Offense};
use super::support::{spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_are_on_the_page_its_assets_the_api_and_every_error() {
    let m = |s: &str| Month::parse(s).unwrap();
    let rows = generate(31, 500, m("2024-01"), m("2024-12"));
    let app = spawn_app_with("headers", Some(&rows), None, |web| web.max_body_bytes = 4096).await;
    let empty = spawn_app("headers-nodata", None, None).await;
    let client = reqwest::Client::new();
    let (_, page, _) = app.get("/").await;
    let versioned = page.split('"').find(|s| s.starts_with("/assets/app.js?v=")).expect("versioned app.js").to_string();
    let etag = app.get("/").await.2["etag"].to_str().unwrap().to_string();
    let cases: Vec<(String, reqwest::RequestBuilder, u16)> = vec![
        ("page".into(), client.get(format!("{}/", app.base)), 200),
        ("page, not modified".into(), client.get(format!("{}/", app.base)).header("if-none-match", &etag), 304),
        ("script".into(), client.get(format!("{}{versioned}", app.base)), 200),
        ("style".into(), client.get(format!("{}/assets/app.css", app.base)), 200),
        ("map".into(), client.get(format!("{}/assets/neighborhoods.geojson", app.base)), 200),
        ("health".into(), client.get(format!("{}/api/health", app.base)), 200),
        ("csv".into(), client.get(format!("{}/api/trend?format=csv", app.base)), 200),
        ("runs".into(), client.get(format!("{}/api/runs", app.base)), 200),
        ("bad parameter".into(), client.get(format!("{}/api/trend?axis=sideways", app.base)), 400),
        ("no route".into(), client.get(format!("{}/api/nope", app.base)), 404),
        ("body too large".into(), client.post(format!("{}/api/runs", app.base)).body(vec![b'x'; 8192]), 413),
        ("no data".into(), client.get(format!("{}/api/health", empty.base)), 503),
    ];
    for (what, request, status) in cases {
        let resp = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(resp.status().as_u16(), status, "{what}");
        for (name, value) in SECURITY_HEADERS {
            let got = resp.headers().get(name).map(|v| v.to_str().unwrap().to_string());
            assert_eq!(got.as_deref(), Some(value), "{what}: {name}");
        }
    }
    let (_, _, headers) = app.get("/").await;
    let csp = headers["content-security-policy"].to_str().unwrap();
    for needle in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(needle), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'), "{csp}");
    // The page obeys its own policy: no inline script, style element or style attribute in it or in what its
    // scripts write (the browser tests would report a violation as a console error).
    assert!(
        !page.contains("<style") && !page.contains(" style=") && !page.contains("<script>"),
        "inline code in the page"
    );
    for asset in ["app.js", "charts.js"] {
        let (_, js, _) = app.get(&format!("/assets/{asset}")).await;
        assert!(!js.contains("style=\""), "{asset} writes an inline style attribute");
    }
}

/// Fixture rows plus a few whose names a spreadsheet would run as formulas.
fn rows_with_formulas() -> Vec<Offense> {
    let m = |s: &str| Month::parse(s).unwrap();
    let mut rows = generate(32, 800, m("2023-01"), m("2024-12"));
    let evil: [(&str, &str, &str, &str); 4] = [
        ("=HYPERLINK(\"http://evil.example/\",\"click\")", "+1", "@SUM(A1)", "-2+3"),
        ("+cmd|' /C calc'!A0", "=1+1", "\tTAB", "@X"),
        ("-10", "-", "=2*3", "\rCR"),
        ("@NAME", "B1", "+2", "=A1"),
    ];
    for (i, (hood, beat, offense, sub)) in evil.into_iter().enumerate() {
        for k in 0..5 {
            let mut r = rows[i * 10 + k].clone();
            r.offense_id = format!("evil-{i}-{k}");
            r.neighborhood = hood.to_string();
            r.beat = beat.to_string();
            r.offense = offense;
            r.sub_category = sub;
            rows.push(r);
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_cells_that_would_start_a_formula_are_escaped_in_every_csv_endpoint_and_numbers_stay_numbers() {
    let rows = rows_with_formulas();
    let app = spawn_app("csv-formulas", Some(&rows), None).await;
    let formula = |s: &str| s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let mut escaped = Vec::new();
    let mut negative_numbers = 0;
    for path in [
        "/api/trend?format=csv",
        "/api/trend?format=csv&category=violent&from=2024-01",
        "/api/areas?format=csv&level=neighborhood",
        "/api/areas?format=csv&level=beat",
        "/api/offenses?format=csv",
        "/api/heatmap?format=csv",
    ] {
        let (status, body, _) = app.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        // The JSON of the same query says which columns are numbers.
        let json: serde_json::Value = app.json(&path.replace("format=csv", "format=json")).await;
        let json_rows = json.as_array().expect("rows");
        assert!(!json_rows.is_empty(), "{path}: no rows");
        let numeric = |column: &str| json_rows.iter().any(|r| r[column].is_number());
        for record in reader.records() {
            let record = record.unwrap();
            for (column, cell) in header.iter().zip(record.iter()) {
                if numeric(column) {
                    if cell.starts_with('-') {
                        negative_numbers += 1;
                    }
                    assert!(
                        cell.is_empty() || cell.parse::<f64>().is_ok(),
                        "{path}: {column} {cell:?} is not a number"
                    );
                } else {
                    assert!(!formula(cell), "{path}: text cell {column} = {cell:?} would run as a formula");
                    if cell.starts_with('\'') {
                        escaped.push(cell.to_string());
                    }
                }
            }
        }
    }
    for want in
        ["'=HYPERLINK(\"http://evil.example/\",\"click\")", "'+1", "'@SUM(A1)", "'-2+3", "'\tTAB", "'\rCR", "'-10"]
    {
        assert!(escaped.iter().any(|c| c == want), "{want:?} not among the escaped cells: {escaped:?}");
    }
    assert!(negative_numbers > 0, "no negative year-over-year change left as a number");
    // JSON carries the values as the source spelled them.
    let areas = app.json("/api/areas?level=neighborhood").await;
    assert!(areas.as_array().unwrap().iter().any(|a| a["area"] == "=HYPERLINK(\"http://evil.example/\",\"click\")"));
}
