//! Web section of `cargo bench --bench pipeline`: API latency at 32 concurrent clients and the time to a fully
//! drawn page in headless Chromium, on a data dir whose published warehouse holds ~1.2M generated rows.
//! Targets (issue 16): per endpoint p99 ≤ 50 ms with the response cache off (every request a DuckDB query) and
//! ≤ 10 ms cached; page ≤ 1 s. Each figure is the median of 3 runs (a fresh server each).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crimewatch::settings::Settings;
use crimewatch::web::Application;

const CLIENTS: usize = 32;
const REQUESTS_PER_CLIENT: usize = 60;
const RUNS: usize = 3;
/// p99 targets in milliseconds: cache off, cached; and the fully drawn page.
const NOCACHE_P99_MS: f64 = 50.0;
const CACHED_P99_MS: f64 = 10.0;
const PAGE_MS: f64 = 1000.0;

const ENDPOINTS: &[&str] = &[
    "/api/health",
    "/api/trend",
    "/api/areas?level=neighborhood",
    "/api/areas?level=beat",
    "/api/offenses",
    "/api/heatmap",
];

/// The filter variants each client cycles through (what people click): every category × both axes × the whole
/// city or an area at each level × the default range or half a year, 80 in all. `areas` holds one area per
/// level, the busiest, read from the warehouse.
fn variants(areas: &[(String, String)]) -> Vec<String> {
    let mut places = vec![String::new()];
    places.extend(areas.iter().map(|(level, area)| format!("&area_level={level}&area={}", encode(area))));
    let mut out = Vec::new();
    for category in ["all", "violent", "property", "other"] {
        for axis in ["occurred", "reported"] {
            for place in &places {
                for range in ["", "&from=2025-01&to=2025-06"] {
                    out.push(format!("category={category}&axis={axis}{place}{range}"));
                }
            }
        }
    }
    out
}

/// The busiest area of each level in the published warehouse (its `mart_area_counts`).
fn busiest_areas(data_dir: &Path) -> Vec<(String, String)> {
    let conn = duckdb::Connection::open_with_flags(
        data_dir.join("warehouse.duckdb"),
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly).expect("read-only"),
    )
    .expect("open the published warehouse");
    let sql = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/pipeline/busiest_areas.sql"))
        .expect("busiest_areas.sql");
    let mut stmt = conn.prepare(&sql).expect("prepare busiest areas");
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("busiest areas");
    rows.collect::<Result<_, _>>().expect("busiest areas")
}

/// Percent-encodes a query value (area names hold spaces and `&`).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

async fn serve(data_dir: &Path, cache: bool) -> (String, tokio::sync::oneshot::Sender<()>) {
    let mut settings = Settings::for_data_dir(data_dir, "http://127.0.0.1:9");
    settings.web.addr = "127.0.0.1:0".parse().expect("an address");
    if !cache {
        settings.web.cache_max_entries = 0;
    }
    let app = Application::build(&settings.web, &settings.data_dir, None).await.expect("bind");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    (base, tx)
}

/// Requests every variant of `endpoint` once, as the first visitors after a publish would.
async fn warm_up(base: &str, endpoint: &str, variants: &[String]) {
    let client = reqwest::Client::new();
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    for v in variants {
        let resp = client.get(format!("{base}{endpoint}{sep}{v}")).send().await.expect("warm-up request");
        resp.bytes().await.expect("warm-up body");
    }
}

/// One run: every client requests `endpoint` with the variants in turn; returns (p50, p99) in milliseconds.
async fn load(base: &str, endpoint: &str, variants: &[String]) -> (f64, f64) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().expect("client");
    let variants = Arc::new(variants.to_vec());
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, variants) = (client.clone(), Arc::clone(&variants));
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        let prefix = format!("{base}{endpoint}{sep}");
        let health = endpoint == "/api/health";
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(REQUESTS_PER_CLIENT);
            for i in 0..REQUESTS_PER_CLIENT {
                let url = if health {
                    prefix.trim_end_matches('?').to_string()
                } else {
                    format!("{prefix}{}", variants[(c + i) % variants.len()])
                };
                let t = Instant::now();
                let resp = client.get(&url).send().await.expect("request");
                assert!(resp.status().is_success(), "{url}: {}", resp.status());
                resp.bytes().await.expect("body");
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    all.sort_by(f64::total_cmp);
    (percentile(&all, 0.5), percentile(&all, 0.99))
}

/// Times the page in headless Chromium. An error (no Node, Chromium or playwright-core) names the fix instead of
/// ending the bench, so the figures measured before it are still reported.
fn page_load(base: &str) -> Result<Vec<f64>, String> {
    const FIX: &str = "run scripts/install-test-deps first (it installs Chromium, Node and playwright-core)";
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/pageload.mjs");
    let out = std::process::Command::new("node")
        .arg(script)
        .arg(base)
        .arg(RUNS.to_string())
        .output()
        .map_err(|e| format!("cannot start node: {e}; {FIX}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).take(6).collect();
        return Err(format!("pageload.mjs failed; {FIX}:\n{}", tail.join("\n")));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("pageload.mjs printed no JSON: {e}"))?;
    let runs: Vec<f64> = v["runs_ms"].as_array().into_iter().flatten().filter_map(|x| x.as_f64()).collect();
    if runs.is_empty() {
        return Err("pageload.mjs reported no runs".to_string());
    }
    Ok(runs)
}

/// Prints the web figures for the warehouse published in `data_dir` and returns them as (name, value, target).
pub fn run(data_dir: &Path) -> Vec<(String, f64, f64)> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut figures = Vec::new();
    let variants = variants(&busiest_areas(data_dir));
    let health = vec![String::new()];
    rt.block_on(async {
        println!(
            "web: API latency, {CLIENTS} concurrent clients x {REQUESTS_PER_CLIENT} requests over {} filter variants, median of {RUNS} runs \
             (fresh server each; cached = after one warm-up request per variant, nocache = cache off: every request computes its answer)",
            variants.len()
        );
        println!("  {:<34} {:>9} {:>9}   {:>12} {:>12}", "endpoint", "p50 ms", "p99 ms", "nocache p50", "nocache p99");
        for endpoint in ENDPOINTS {
            let mut p50s = Vec::new();
            let mut p99s = Vec::new();
            let mut raw50 = Vec::new();
            let mut raw99 = Vec::new();
            for _ in 0..RUNS {
                let (base, stop) = serve(data_dir, true).await;
                warm_up(&base, endpoint, if *endpoint == "/api/health" { &health } else { &variants }).await;
                let (p50, p99) = load(&base, endpoint, &variants).await;
                p50s.push(p50);
                p99s.push(p99);
                let _ = stop.send(());
                let (base, stop) = serve(data_dir, false).await;
                warm_up(&base, "/api/health", &health).await;
                let (p50, p99) = load(&base, endpoint, &variants).await;
                raw50.push(p50);
                raw99.push(p99);
                let _ = stop.send(());
            }
            let (p50, p99, raw50, raw99) = (median(p50s), median(p99s), median(raw50), median(raw99));
            println!("  {endpoint:<34} {p50:>9.2} {p99:>9.2}   {raw50:>12.2} {raw99:>12.2}");
            figures.push((format!("web {endpoint} p50 ms"), p50, f64::NAN));
            figures.push((format!("web {endpoint} p99 ms"), p99, CACHED_P99_MS));
            figures.push((format!("web {endpoint} p50 ms without cache"), raw50, f64::NAN));
            figures.push((format!("web {endpoint} p99 ms without cache"), raw99, NOCACHE_P99_MS));
        }
        let (base, stop) = serve(data_dir, true).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let runs = tokio::task::spawn_blocking(move || page_load(&base)).await.expect("page load task");
        let _ = stop.send(());
        match runs {
            Ok(runs) => {
                let ms = median(runs.clone());
                println!("web: time to a fully drawn page (headless Chromium, fresh profile): median {ms:.0} ms of {runs:?} (target <= {PAGE_MS} ms)");
                figures.push(("web page fully drawn ms".to_string(), ms, PAGE_MS));
            }
            Err(e) => println!("web: no page-load figure: {e}"),
        }
    });
    figures
}
