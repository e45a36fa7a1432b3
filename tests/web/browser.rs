//! The page in headless Chromium (Debian's `chromium`, driven by `tests/browser/check.mjs` with playwright-core):
//! charts drawn, totals equal the API, a filter changes charts and URL, a reload restores the view, no console
//! errors; screenshots land in `tests/output/browser/`.

use crimewatch::domain::Month;

use super::fixture::generate;
use super::support::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_draws_every_chart_matches_the_api_keeps_filters_in_the_url_and_logs_no_errors() {
    let m = |s: &str| Month::parse(s).unwrap();
    let rows = generate(42, 40_000, m("2022-01"), m("2025-06"));
    let app = spawn_app("browser", Some(&rows), axum::Router::new()).await;
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!("{root}/tests/browser/check.mjs");
    assert!(
        std::path::Path::new(&format!("{root}/tests/browser/node_modules/playwright-core")).exists(),
        "tests/browser/node_modules is missing: run scripts/install-test-deps (npm ci in tests/browser)"
    );
    let out_dir = format!("{root}/tests/output/browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&app.base)
        .arg(&out_dir)
        .output()
        .await
        .expect("run node (install Node.js: scripts/install-test-deps)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "browser check failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("browser check: ok"), "{stdout}");
    assert!(std::path::Path::new(&format!("{out_dir}/dashboard.png")).exists());
}
