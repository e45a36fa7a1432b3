//! The page in headless Chromium (Debian's `chromium`, driven by the scripts in `tests/browser/` with
//! playwright-core): charts drawn, totals equal the API, a filter changes charts and URL, a reload restores the
//! view, no console errors (`check.mjs`); accessibility with axe-core, the keyboard and the charts' text summaries
//! (`a11y.mjs`); the phone layout under device emulation with touch (`phone.mjs`); a second page load that
//! downloads no asset again (`cache.mjs`). Screenshots and the request log land in `tests/output/browser/`.

use crimewatch::domain::Month;

use super::fixture::generate;
use super::support::{spawn_app, TestApp};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn out_dir() -> String {
    let dir = format!("{ROOT}/tests/output/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Reports 2022-01 .. 2025-06, offenses occurring up to ~500 days earlier (so the "occurred" axis starts before
/// the lake's first reported month).
async fn app_with_data(name: &str) -> TestApp {
    let m = |s: &str| Month::parse(s).unwrap();
    let rows = generate(42, 40_000, m("2022-01"), m("2025-06"));
    spawn_app(name, Some(&rows), None).await
}

/// Runs `node tests/browser/<script> <args>` and returns its stdout, failing with both streams unless it exits 0
/// and prints `<ok>`.
async fn node(script: &str, args: &[&str], ok: &str) -> String {
    for package in ["playwright-core", "axe-core"] {
        assert!(
            std::path::Path::new(&format!("{ROOT}/tests/browser/node_modules/{package}")).exists(),
            "tests/browser/node_modules/{package} is missing: run scripts/install-test-deps (npm ci in tests/browser)"
        );
    }
    let output = tokio::process::Command::new("node")
        .arg(format!("{ROOT}/tests/browser/{script}"))
        .args(args)
        .output()
        .await
        .expect("run node (install Node.js: scripts/install-test-deps)");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains(ok), "{stdout}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_draws_every_chart_matches_the_api_keeps_filters_in_the_url_and_logs_no_errors() {
    let app = app_with_data("browser").await;
    let out_dir = out_dir();
    node("check.mjs", &[&app.base, &out_dir], "browser check: ok").await;
    assert!(std::path::Path::new(&format!("{out_dir}/dashboard.png")).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_passes_axe_core_reaches_every_chart_by_keyboard_and_summarises_the_api_rows_it_draws() {
    let app = app_with_data("a11y").await;
    let empty = spawn_app("a11y-nodata", None, None).await;
    let stdout = node("a11y.mjs", &[&app.base, &empty.base], "a11y check: ok").await;
    // axe really ran: it reports its findings (of any impact) as a JSON line.
    assert!(stdout.lines().any(|l| l.starts_with("{\"axe\":")), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_layout_at_390_px_fits_every_chart_without_sideways_scrolling_and_answers_taps() {
    let app = app_with_data("phone").await;
    let out_dir = out_dir();
    node("phone.mjs", &[&app.base, &out_dir], "phone check: ok").await;
    assert!(std::path::Path::new(&format!("{out_dir}/phone-390.png")).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_page_load_in_one_profile_downloads_no_asset_again() {
    let app = app_with_data("cache").await;
    let stdout = node("cache.mjs", &[&app.base], "cache check: ok").await;
    let log = stdout.lines().find(|l| l.starts_with("{\"first\":")).expect("the request log");
    std::fs::write(format!("{}/requests.json", out_dir()), log).unwrap();
}
