//! Ingest section: the built `crimewatch ingest` against the local SODA server on ~1.2M generated rows.
//!
//! Per run: (1) a full backfill into an empty data dir — wall time, rows/s, the child's peak RSS
//! (`wait4` → `ru_maxrss`), requests and bytes from the server log; (2) the download floor — the same page
//! requests the ingest made, replayed with the same concurrency by a bare keep-alive client that discards the
//! bodies; (3) the no-change re-run on the same data dir — wall time and requests.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use soda_testkit::generate::{self, GenSpec, Schema};
use soda_testkit::{Month, RequestKind, SodaServer};

use crate::{median_duration, median_u64, megabytes, run_crimewatch, secs, ChildRun, Report};

const SECTION: &str = "ingest";
const DATASET: &str = "tazs-3rd5";
/// Targets from issue 2.
const FLOOR_RATIO_TARGET: f64 = 1.5;
const RSS_TARGET_BYTES: u64 = 256 * 1024 * 1024;
const NO_CHANGE_TARGET: Duration = Duration::from_secs(1);

/// Runs `crimewatch --data-dir DIR --socrata-url URL ingest --since 2008-01 --json`.
fn run_ingest(data_dir: &Path, url: &str) -> ChildRun {
    let mut args = vec![OsStr::new("--data-dir"), data_dir.as_os_str()];
    args.extend(["--socrata-url", url, "--dataset", DATASET, "ingest", "--since", "2008-01", "--json"].map(OsStr::new));
    run_crimewatch(&args, &data_dir.with_extension("usage"))
}

/// Fetches every target with `concurrency` keep-alive connections, reading and discarding the bodies.
fn replay(addr: &str, targets: &[String], concurrency: usize) -> (Duration, u64) {
    let targets = Arc::new(targets.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (targets, next, addr) = (targets.clone(), next.clone(), addr.to_string());
            std::thread::spawn(move || {
                let mut conn = TcpStream::connect(&addr).expect("connect for replay");
                conn.set_nodelay(true).expect("nodelay");
                let mut bytes = 0u64;
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = targets.get(i) else { return bytes };
                    write!(conn, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("send");
                    bytes += read_discarding(&mut conn, &mut buf);
                }
            })
        })
        .collect();
    let bytes = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    (started.elapsed(), bytes)
}

/// Reads one response (head + `Content-Length` body) and returns the body length.
fn read_discarding(conn: &mut TcpStream, buf: &mut [u8]) -> u64 {
    let mut head = Vec::new();
    let (content_length, mut have) = loop {
        let n = conn.read(buf).expect("read reply");
        assert!(n > 0, "server closed during replay");
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&head[..end]).to_lowercase();
            let len: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            break (len, (head.len() - end - 4) as u64);
        }
    };
    while have < content_length {
        let n = conn.read(buf).expect("read body");
        assert!(n > 0, "server closed mid-body during replay");
        have += n as u64;
    }
    content_length
}

/// Rows in the lake after a run, counted by DuckDB straight from the Parquet files (as a user would).
fn lake_rows(data_dir: &Path) -> Result<u64, String> {
    let glob = data_dir.join("lake").join("spd_crime").join("*").join("*.parquet");
    let conn = duckdb::Connection::open_in_memory().map_err(|e| e.to_string())?;
    let sql = format!(
        "SELECT count(*) FROM read_parquet('{}', hive_partitioning = true)",
        glob.display().to_string().replace('\'', "''")
    );
    conn.query_row(&sql, [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(|e| e.to_string())
}

fn temp_data_dir(run: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crimewatch-bench-ingest-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create bench data dir");
    dir
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn run(report: &mut Report) {
    let runs = crate::runs();
    let rows: usize = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_200_000);
    let first = Month::parse("2008-01").expect("valid month");
    let last = Month::current_in_seattle(chrono::Utc::now());
    let spec = GenSpec { seed: 2026, first, last, rows, schema: Schema::Nibrs };
    eprintln!("ingest: generating {rows} rows for {first}..{last} and starting the SODA server (not timed)...");
    let t = Instant::now();
    let server = SodaServer::start_streaming(DATASET, generate::iter(&spec));
    eprintln!("ingest: server ready at {} after {:.1} s", server.url(), t.elapsed().as_secs_f64());
    let addr = server.url().trim_start_matches("http://").to_string();

    let mut backfill = Vec::new();
    let (mut client_cpus, mut server_cpus, mut floor_cpus) = (Vec::new(), Vec::new(), Vec::new());
    let mut rss = Vec::new();
    let mut requests = Vec::new();
    let mut bytes = Vec::new();
    let mut floors = Vec::new();
    let mut ratios = Vec::new();
    let mut concurrency = Vec::new();
    let mut no_change = Vec::new();
    let mut no_change_requests = Vec::new();
    let mut lake_count = None;
    for i in 0..runs {
        let dir = temp_data_dir(i);
        server.reset_log();
        eprintln!("ingest: run {}/{runs}: backfill into {}", i + 1, dir.display());
        let server_cpu_before = crate::own_cpu();
        let full = run_ingest(&dir, &server.url());
        let server_cpu = crate::own_cpu().saturating_sub(server_cpu_before);
        if !full.ok {
            report.note(format!(
                "ingest backfill failed (run {}): stderr tail:\n{}\nstdout tail:\n{}",
                i + 1,
                tail(&full.stderr, 15),
                tail(&full.stdout, 5)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            break;
        }
        let log = server.requests();
        let pages: Vec<String> =
            log.iter().filter(|r| r.kind == RequestKind::Page && r.status == 200).map(|r| r.target.clone()).collect();
        let peak = server.peak_concurrency().max(1);
        if i == 0 {
            lake_count = Some(lake_rows(&dir));
        }
        backfill.push(full.wall);
        client_cpus.push(full.cpu);
        server_cpus.push(server_cpu);
        rss.push(full.peak_rss_bytes);
        requests.push(log.len() as u64);
        bytes.push(server.bytes_sent());
        concurrency.push(peak as u64);

        eprintln!("ingest: run {}/{runs}: replaying {} pages with {peak} connections", i + 1, pages.len());
        let floor_cpu_before = crate::own_cpu();
        let (floor, floor_bytes) = replay(&addr, &pages, peak);
        floor_cpus.push(crate::own_cpu().saturating_sub(floor_cpu_before));
        floors.push(floor);
        ratios.push(full.wall.as_secs_f64() / floor.as_secs_f64().max(1e-9));
        if i == 0 {
            report.note(format!(
                "run 1: {} requests ({} pages, {} replayed bytes); ingest summary: {}",
                log.len(),
                pages.len(),
                floor_bytes,
                serde_json::from_str::<serde_json::Value>(full.stdout.trim())
                    .map(|v| v.to_string())
                    .unwrap_or_else(|_| tail(full.stdout.trim(), 1))
                    .chars()
                    .take(600)
                    .collect::<String>()
            ));
        }

        server.reset_log();
        let again = run_ingest(&dir, &server.url());
        if !again.ok {
            report.note(format!("no-change re-run failed (run {}): {}", i + 1, tail(&again.stderr, 10)));
        } else {
            no_change.push(again.wall);
            no_change_requests.push(server.request_count() as u64);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    report.add(SECTION, "source rows (generated, 2008-01..now)", rows.to_string(), Vec::new());
    match lake_count {
        Some(Ok(n)) => report.add_target(
            SECTION,
            "lake rows after backfill",
            n.to_string(),
            Vec::new(),
            "= source rows",
            n == rows as u64,
        ),
        Some(Err(e)) => report.note(format!("could not count the lake's rows: {e}")),
        None => {}
    }
    if backfill.is_empty() {
        report.note("no ingest figures: the backfill did not succeed (see above)".to_string());
        return;
    }
    let all = |v: &[Duration]| v.iter().map(|d| secs(*d)).collect::<Vec<_>>();
    let wall = median_duration(backfill.clone());
    report.add(SECTION, "full backfill: wall time", secs(wall), all(&backfill));
    report.add(SECTION, "full backfill: rows/s", format!("{:.0}", rows as f64 / wall.as_secs_f64()), Vec::new());
    let peak_rss = median_u64(rss.clone());
    report.add_target(
        SECTION,
        "full backfill: peak RSS (child)",
        megabytes(peak_rss),
        rss.iter().map(|b| megabytes(*b)).collect(),
        "≤ 256 MB",
        peak_rss <= RSS_TARGET_BYTES,
    );
    report.add_durations(SECTION, "full backfill: CPU time of the ingest process", &client_cpus);
    report.add_durations(SECTION, "full backfill: CPU time of the test server (same cores)", &server_cpus);
    report.add(SECTION, "full backfill: requests", median_u64(requests.clone()).to_string(), Vec::new());
    report.add(SECTION, "full backfill: response bytes", megabytes(median_u64(bytes.clone())), Vec::new());
    report.add(SECTION, "full backfill: peak concurrent requests", median_u64(concurrency).to_string(), Vec::new());
    report.add_durations(SECTION, "download floor (same pages, same concurrency)", &floors);
    report.add_durations(SECTION, "download floor: CPU time of server + bare client", &floor_cpus);
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    report.add_target(
        SECTION,
        "backfill / floor",
        format!("{ratio:.2}×"),
        ratios.iter().map(|r| format!("{r:.2}×")).collect(),
        "≤ 1.5×",
        ratio <= FLOOR_RATIO_TARGET,
    );
    if !no_change.is_empty() {
        let nc = median_duration(no_change.clone());
        report.add_target(
            SECTION,
            "no-change re-run: wall time",
            secs(nc),
            all(&no_change),
            "≤ 1 s",
            nc <= NO_CHANGE_TARGET,
        );
        report.add(
            SECTION,
            "no-change re-run: requests",
            median_u64(no_change_requests.clone()).to_string(),
            no_change_requests.iter().map(u64::to_string).collect(),
        );
    }
}
