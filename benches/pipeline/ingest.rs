//! Ingest section: every party fetches the same ~1.2M generated rows (2008-01 to now) from one in-process SODA
//! server, in the same run, alternating, so the ratios are measured rather than remembered (issue 16):
//! 1. crimewatch's backfill (`ingest` into an empty data dir): wall time, rows/s, CPU µs per row, peak RSS (the
//!    child's own, `wait4` → `ru_maxrss`), requests and bytes from the server's log;
//! 2. the download floor: the same page requests the backfill made, replayed with the same concurrency by a bare
//!    keep-alive client that discards the bodies;
//! 3. the no-change re-run on the same data dir;
//! 4. the plain Python baseline (`benches/python/naive_ingest.py`: requests + pandas + pyarrow, one month at a
//!    time, page by page), in a venv `benches/python/install` makes (`BENCH_PYTHON` names another python);
//! 5. with `BENCH_BASELINE_BIN=/path/to/an/older/crimewatch`, that binary's backfill: the "before" of
//!    docs/benchmarks.md, on the same server in the same run.
//!
//! The server answers from its response cache (as issue 16's measurement did): one warm-up pass of every party
//! (reported as the uncached figures) fills it, then every measured request is a cache hit, so the parties measure
//! themselves rather than the kit's SoQL engine, which evaluates each page over every row (~6 CPU-s a backfill).
//! `BENCH_RESPONSE_CACHE=0` measures against the uncached server instead, without the warm-up pass.
//!
//! CPU time is reported for every party, the server's included (the bench process's own CPU time across a party's
//! run: the server's threads, and for the floor its bare client too).

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use soda_testkit::generate;
use soda_testkit::{RequestKind, SodaServer};

use crate::{median_duration, median_u64, megabytes, run_crimewatch, run_program, secs, ChildRun, Report};

const SECTION: &str = "ingest";
const DATASET: &str = "tazs-3rd5";
const SINCE: &str = "2008-01";
/// Targets from issue 16.
const FLOOR_RATIO_TARGET: f64 = 1.5;
const PYTHON_RATIO_TARGET: f64 = 10.0;
const RSS_TARGET_BYTES: u64 = 200 * 1024 * 1024;
const CPU_PER_ROW_TARGET_US: f64 = 3.0;
const NO_CHANGE_TARGET: Duration = Duration::from_millis(500);

/// The arguments of `crimewatch --data-dir DIR --socrata-url URL ingest --since 2008-01 --json`.
fn ingest_args<'a>(data_dir: &'a Path, url: &'a str) -> Vec<&'a OsStr> {
    let mut args = vec![OsStr::new("--data-dir"), data_dir.as_os_str()];
    args.extend(["--socrata-url", url, "--dataset", DATASET, "ingest", "--since", SINCE, "--json"].map(OsStr::new));
    args
}

fn run_ingest(data_dir: &Path, url: &str) -> ChildRun {
    run_crimewatch(&ingest_args(data_dir, url), &data_dir.with_extension("usage"))
}

/// The Python baseline's interpreter: `BENCH_PYTHON`, else the venv `benches/python/install` makes (or finds).
fn python() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("BENCH_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python/install");
    let out = std::process::Command::new(&script).output().map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().last().map(|l| PathBuf::from(l.trim())).ok_or_else(|| "the install script printed nothing".into())
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

/// One party's figures, run after run.
#[derive(Default)]
struct Party {
    walls: Vec<Duration>,
    cpus: Vec<Duration>,
    server_cpus: Vec<Duration>,
    rss: Vec<u64>,
    requests: Vec<u64>,
    bytes: Vec<u64>,
    /// Requests answered from the server's response cache.
    hits: Vec<u64>,
}

impl Party {
    /// Runs `f` (one child process) against `server`, keeping its figures and the server's CPU time meanwhile.
    fn measure(&mut self, server: &SodaServer, f: impl FnOnce() -> ChildRun) -> ChildRun {
        server.reset_log();
        let (before, hits_before) = (crate::own_cpu(), server.response_cache_hits());
        let run = f();
        self.server_cpus.push(crate::own_cpu().saturating_sub(before));
        if run.ok {
            self.hits.push(server.response_cache_hits() - hits_before);
            self.walls.push(run.wall);
            self.cpus.push(run.cpu);
            self.rss.push(run.peak_rss_bytes);
            self.requests.push(server.request_count() as u64);
            self.bytes.push(server.bytes_sent());
        }
        run
    }

    fn wall(&self) -> Duration {
        median_duration(self.walls.clone())
    }

    /// Wall time, CPU time (and per row), the server's CPU time, peak RSS, requests and bytes, one figure each.
    fn report(&self, report: &mut Report, name: &str, rows: usize) {
        if self.walls.is_empty() {
            return;
        }
        let all = |v: &[Duration]| v.iter().map(|d| secs(*d)).collect::<Vec<_>>();
        report.add(SECTION, &format!("{name}: wall time"), secs(self.wall()), all(&self.walls));
        let cpu = median_duration(self.cpus.clone());
        report.add(SECTION, &format!("{name}: CPU time"), secs(cpu), all(&self.cpus));
        report.add(SECTION, &format!("{name}: CPU per row"), format!("{:.2} µs", per_row_us(cpu, rows)), Vec::new());
        let server = median_duration(self.server_cpus.clone());
        report.add(SECTION, &format!("{name}: CPU time of the test server"), secs(server), all(&self.server_cpus));
        let rss = median_u64(self.rss.clone());
        report.add(
            SECTION,
            &format!("{name}: peak RSS"),
            megabytes(rss),
            self.rss.iter().map(|b| megabytes(*b)).collect(),
        );
        let requests = median_u64(self.requests.clone());
        let hits = median_u64(self.hits.clone());
        report.add(
            SECTION,
            &format!("{name}: requests (from the response cache)"),
            format!("{requests} ({hits})"),
            Vec::new(),
        );
        report.add(SECTION, &format!("{name}: response bytes"), megabytes(median_u64(self.bytes.clone())), Vec::new());
    }
}

/// What every run of every party needs: the server, its URL, the Python baseline and the "before" binary.
struct Parties<'a> {
    server: &'a SodaServer,
    url: String,
    python: Option<PathBuf>,
    before_bin: Option<PathBuf>,
    until: String,
}

impl Parties<'_> {
    /// The Python baseline into a fresh dir; `None` when there is no Python.
    fn python(&self, party: &mut Party, report: &mut Report, run: usize) -> Option<ChildRun> {
        let python = self.python.as_ref()?;
        let out = temp_data_dir(run);
        eprintln!("ingest: run {run}: the Python baseline into {}", out.display());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python/naive_ingest.py");
        let args = [
            script.as_os_str(),
            OsStr::new(&self.url),
            OsStr::new(DATASET),
            OsStr::new(SINCE),
            OsStr::new(&self.until),
            out.as_os_str(),
        ];
        let r = party.measure(self.server, || run_program(python.as_os_str(), &args, &out.with_extension("usage")));
        if !r.ok {
            failed(report, "the Python baseline", run, &r);
        }
        let _ = std::fs::remove_dir_all(&out);
        Some(r)
    }

    /// `BENCH_BASELINE_BIN`'s backfill into a fresh dir, when it is set.
    fn before(&self, party: &mut Party, report: &mut Report, run: usize) {
        let Some(bin) = &self.before_bin else { return };
        let dir = temp_data_dir(run);
        eprintln!("ingest: run {run}: the baseline binary {} into {}", bin.display(), dir.display());
        let args = ingest_args(&dir, &self.url);
        let r = party.measure(self.server, || run_program(bin.as_os_str(), &args, &dir.with_extension("usage")));
        if !r.ok {
            failed(report, "the baseline binary", run, &r);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn per_row_us(cpu: Duration, rows: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / rows.max(1) as f64
}

/// `a / b` per run, as the median and every run's value.
fn ratios(a: &[Duration], b: &[Duration]) -> (f64, Vec<String>) {
    let mut r: Vec<f64> = a.iter().zip(b).map(|(a, b)| a.as_secs_f64() / b.as_secs_f64().max(1e-9)).collect();
    let shown = r.iter().map(|x| format!("{x:.2}×")).collect();
    r.sort_by(f64::total_cmp);
    (r.get(r.len() / 2).copied().unwrap_or(f64::NAN), shown)
}

fn failed(report: &mut Report, what: &str, run: usize, r: &ChildRun) {
    report.note(format!(
        "{what} failed (run {run}): stderr tail:\n{}\nstdout tail:\n{}",
        tail(&r.stderr, 15),
        tail(&r.stdout, 5)
    ));
}

/// One pass of every party while the response cache fills; reported (one run each) as the uncached figures, the
/// server-bound case. A party whose requests an earlier one already made (the "before" binary asks what the
/// backfill asked) is answered from the cache even here: its requests row shows the hits.
fn warm_up(parties: &Parties<'_>, report: &mut Report, rows: usize, lake_count: &mut Option<Result<u64, String>>) {
    let (mut backfill, mut py, mut before) = (Party::default(), Party::default(), Party::default());
    let dir = temp_data_dir(0);
    eprintln!("ingest: warm-up: crimewatch backfill into {} (uncached server)", dir.display());
    let full = backfill.measure(parties.server, || run_ingest(&dir, &parties.url));
    if full.ok {
        *lake_count = Some(lake_rows(&dir));
    } else {
        failed(report, "ingest backfill (warm-up)", 0, &full);
    }
    let _ = std::fs::remove_dir_all(&dir);
    parties.python(&mut py, report, 0);
    parties.before(&mut before, report, 0);
    backfill.report(report, "warm-up (cache filling): backfill", rows);
    py.report(report, "warm-up (cache filling): Python baseline", rows);
    before.report(report, "warm-up (cache filling): before (BENCH_BASELINE_BIN)", rows);
}

pub fn run(report: &mut Report) {
    let runs = crate::runs();
    let spec = crate::bench_rows(SINCE);
    let (rows, first, last) = (spec.rows, spec.first, spec.last);
    let python = python().map_err(|e| report.note(format!("no Python baseline: {e}"))).ok();
    let before_bin = std::env::var_os("BENCH_BASELINE_BIN").map(PathBuf::from);
    eprintln!("ingest: generating {rows} rows for {first}..{last} and starting the SODA server (not timed)...");
    let t = Instant::now();
    let cached = std::env::var("BENCH_RESPONSE_CACHE").map_or(true, |v| v != "0");
    let server = SodaServer::start_streaming(DATASET, generate::iter(&spec));
    let server = if cached { server.with_response_cache() } else { server };
    eprintln!("ingest: server ready at {} after {:.1} s", server.url(), t.elapsed().as_secs_f64());
    let url = server.url();
    let addr = url.trim_start_matches("http://").to_string();
    let parties = Parties { server: &server, url: url.clone(), python, before_bin, until: last.to_string() };
    let mut lake_count = None;
    if cached {
        warm_up(&parties, report, rows, &mut lake_count);
    }

    let (mut backfill, mut py, mut before) = (Party::default(), Party::default(), Party::default());
    let (mut floors, mut floor_cpus, mut concurrency) = (Vec::new(), Vec::new(), Vec::new());
    let (mut no_change, mut no_change_requests) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let dir = temp_data_dir(i);
        eprintln!("ingest: run {}/{runs}: crimewatch backfill into {}", i + 1, dir.display());
        let full = backfill.measure(&server, || run_ingest(&dir, &url));
        if !full.ok {
            failed(report, "ingest backfill", i + 1, &full);
            let _ = std::fs::remove_dir_all(&dir);
            break;
        }
        let log = server.requests();
        let pages: Vec<String> =
            log.iter().filter(|r| r.kind == RequestKind::Page && r.status == 200).map(|r| r.target.clone()).collect();
        let peak = server.peak_concurrency().max(1);
        concurrency.push(peak as u64);
        if lake_count.is_none() {
            lake_count = Some(lake_rows(&dir));
        }

        eprintln!("ingest: run {}/{runs}: replaying {} pages with {peak} connections", i + 1, pages.len());
        let floor_cpu_before = crate::own_cpu();
        let (floor, floor_bytes) = replay(&addr, &pages, peak);
        floor_cpus.push(crate::own_cpu().saturating_sub(floor_cpu_before));
        floors.push(floor);
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
        let again = run_ingest(&dir, &url);
        if !again.ok {
            failed(report, "no-change re-run", i + 1, &again);
        } else {
            no_change.push(again.wall);
            no_change_requests.push(server.request_count() as u64);
        }
        let _ = std::fs::remove_dir_all(&dir);

        if let Some(r) = parties.python(&mut py, report, i + 1) {
            if r.ok && i == 0 {
                report.note(format!("Python baseline, run 1: {}", r.stdout.trim()));
            }
        }
        parties.before(&mut before, report, i + 1);
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
    if backfill.walls.is_empty() {
        report.note("no ingest figures: the backfill did not succeed (see above)".to_string());
        return;
    }
    let wall = backfill.wall();
    backfill.report(report, "backfill", rows);
    report.add(SECTION, "backfill: rows/s", format!("{:.0}", rows as f64 / wall.as_secs_f64()), Vec::new());
    let cpu_per_row = per_row_us(median_duration(backfill.cpus.clone()), rows);
    report.add_target(
        SECTION,
        "backfill: CPU per row (target)",
        format!("{cpu_per_row:.2} µs"),
        Vec::new(),
        "≤ 3 µs",
        cpu_per_row <= CPU_PER_ROW_TARGET_US,
    );
    let peak_rss = median_u64(backfill.rss.clone());
    report.add_target(
        SECTION,
        "backfill: peak RSS (target)",
        megabytes(peak_rss),
        Vec::new(),
        "≤ 200 MB",
        peak_rss <= RSS_TARGET_BYTES,
    );
    report.add(SECTION, "backfill: peak concurrent requests", median_u64(concurrency).to_string(), Vec::new());
    let all = |v: &[Duration]| v.iter().map(|d| secs(*d)).collect::<Vec<_>>();
    report.add_durations(SECTION, "download floor (same pages, same concurrency)", &floors);
    report.add_durations(SECTION, "download floor: CPU time of server + bare client", &floor_cpus);
    let (ratio, shown) = ratios(&backfill.walls, &floors);
    report.add_target(
        SECTION,
        "backfill / floor",
        format!("{ratio:.2}×"),
        shown,
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
            "≤ 0.5 s",
            nc <= NO_CHANGE_TARGET,
        );
        report.add(
            SECTION,
            "no-change re-run: requests",
            median_u64(no_change_requests.clone()).to_string(),
            no_change_requests.iter().map(u64::to_string).collect(),
        );
    }
    if py.walls.len() == backfill.walls.len() {
        py.report(report, "Python baseline", rows);
        let (ratio, shown) = ratios(&py.walls, &backfill.walls);
        report.add_target(
            SECTION,
            "Python / backfill",
            format!("{ratio:.1}×"),
            shown,
            "≥ 10×",
            ratio >= PYTHON_RATIO_TARGET,
        );
    }
    if parties.before_bin.is_some() && before.walls.len() == backfill.walls.len() {
        before.report(report, "before (BENCH_BASELINE_BIN)", rows);
        let (ratio, shown) = ratios(&before.walls, &backfill.walls);
        report.add(SECTION, "before / backfill", format!("{ratio:.1}×"), shown);
    }
}
