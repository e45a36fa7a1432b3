//! Build section: a full rebuild with every data test (`crimewatch build`) on ~1.2M generated rows. The lake is
//! laid down first (not timed) by the test suite's fixture writer from the seeded generator's rows; each build
//! runs as a child process (through the bench's rusage launcher), so wall time, peak RSS and CPU time are the
//! build's own. With `BENCH_BASELINE_BIN` (another crimewatch binary, e.g. main's) that binary builds the same
//! lake just before each of this binary's builds, so the before/after ratios come from one bench run.
//! Targets (issue 16): ≤ 4 s, ≤ 512 MB.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use soda_testkit::generate;

use crate::{median_duration, median_u64, megabytes, run_crimewatch, run_program, secs, ChildRun, Report};

#[path = "../../tests/fixture_lake.rs"]
mod fixture_lake;

const SECTION: &str = "build";
const WALL_TARGET: Duration = Duration::from_secs(4);
const RSS_TARGET_BYTES: u64 = 512 * 1024 * 1024;

/// Runs `crimewatch --data-dir DIR --json build` (this bench's binary, or `program`).
fn run_build(data_dir: &Path, program: Option<&OsStr>) -> ChildRun {
    let args = [OsStr::new("--data-dir"), data_dir.as_os_str(), OsStr::new("--json"), OsStr::new("build")];
    match program {
        Some(p) => run_program(p, &args, &data_dir.with_extension("usage")),
        None => run_crimewatch(&args, &data_dir.with_extension("usage")),
    }
}

/// `BENCH_DATA_DIR`: a data dir to build in and keep (its lake is written only when it has none), so two
/// binaries can be compared on the same lake and the published warehouse inspected afterwards.
pub const DATA_DIR_ENV: &str = "BENCH_DATA_DIR";

/// The data dir to build in, and whether it is the bench's own (removed at the end).
fn data_dir() -> (PathBuf, bool) {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create BENCH_DATA_DIR");
        return (dir, false);
    }
    let dir = std::env::temp_dir().join(format!("crimewatch-bench-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create bench data dir");
    (dir, true)
}

/// Removes the data dir when it is the bench's own.
pub fn discard(dir: &Path) {
    if std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()).is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Runs the build section; with `keep` the data dir with its published warehouse is returned for the web section.
pub fn run(report: &mut Report, keep: bool) -> Option<PathBuf> {
    let runs = crate::runs();
    let spec = crate::bench_rows("2008-01");
    let (rows, last) = (spec.rows, spec.last);
    let (dir, own) = data_dir();
    let written = if !own && dir.join("lake").join("_manifest.json").is_file() {
        eprintln!("build: reusing the lake in {}", dir.display());
        lake_rows(&dir)
    } else {
        eprintln!("build: writing a lake of {rows} generated rows into {} (not timed)...", dir.display());
        let t = Instant::now();
        let partial = last.to_string();
        let written = fixture_lake::write_iter(&dir.join("lake"), generate::iter(&spec), &[partial.as_str()]);
        eprintln!("build: lake ready ({written} rows) after {:.1} s", t.elapsed().as_secs_f64());
        written
    };

    let (mut walls, mut rss, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    let baseline = std::env::var_os("BENCH_BASELINE_BIN").filter(|b| !b.is_empty());
    let (mut base_walls, mut base_cpus) = (Vec::new(), Vec::new());
    let mut fact_rows = None;
    let (mut loads, mut base_loads) = (Vec::new(), Vec::new());
    for i in 0..runs {
        if let Some(bin) = &baseline {
            eprintln!("build: baseline run {}/{runs}", i + 1);
            base_loads.push(load_average());
            let r = run_build(&dir, Some(bin));
            if r.ok {
                base_walls.push(r.wall);
                base_cpus.push(r.cpu);
            } else {
                report.note(format!(
                    "baseline build failed (run {}): {}",
                    i + 1,
                    r.stderr.lines().last().unwrap_or("")
                ));
            }
        }
        eprintln!("build: run {}/{runs}", i + 1);
        loads.push(load_average());
        let r = run_build(&dir, None);
        if !r.ok {
            report.note(format!(
                "build failed (run {}): {}",
                i + 1,
                r.stderr.lines().rev().take(15).collect::<Vec<_>>().join("\n")
            ));
            break;
        }
        if let Ok(summary) = serde_json::from_str::<serde_json::Value>(&r.stdout) {
            fact_rows = summary["fact_rows"].as_u64();
        }
        walls.push(r.wall);
        rss.push(r.peak_rss_bytes);
        cpus.push(r.cpu);
    }
    let published = !walls.is_empty();
    let kept = if keep && published {
        Some(dir)
    } else {
        discard(&dir);
        None
    };
    report.add(SECTION, "lake rows (generated)", written.to_string(), Vec::new());
    if let Some(n) = fact_rows {
        report.add(SECTION, "fact rows", n.to_string(), Vec::new());
    }
    if walls.is_empty() {
        report.note("no build figures: the build did not succeed (see above)".to_string());
        return kept;
    }
    let wall = median_duration(walls.clone());
    report.add_target(
        SECTION,
        "rebuild + all data tests: wall time",
        secs(wall),
        walls.iter().map(|d| secs(*d)).collect(),
        "≤ 4 s",
        wall <= WALL_TARGET,
    );
    let peak = median_u64(rss.clone());
    report.add_target(
        SECTION,
        "rebuild + all data tests: peak RSS (child)",
        megabytes(peak),
        rss.iter().map(|b| megabytes(*b)).collect(),
        "≤ 512 MB",
        peak <= RSS_TARGET_BYTES,
    );
    report.add_durations(SECTION, "rebuild + all data tests: CPU time (2 cores)", &cpus);
    report.add(SECTION, "load average (1 min) before each build", String::new(), loads);
    if !base_walls.is_empty() {
        report.add(SECTION, "load average before each baseline build", String::new(), base_loads);
        report.add_durations(SECTION, "baseline (BENCH_BASELINE_BIN): wall time", &base_walls);
        report.add_durations(SECTION, "baseline (BENCH_BASELINE_BIN): CPU time", &base_cpus);
        let ratio = |a: Duration, b: Duration| format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64().max(1e-9));
        let (bw, bc) = (median_duration(base_walls), median_duration(base_cpus));
        report.add(SECTION, "baseline / this binary: wall time", ratio(bw, wall), Vec::new());
        report.add(SECTION, "baseline / this binary: CPU time", ratio(bc, median_duration(cpus)), Vec::new());
    }
    kept
}

/// The machine's 1-minute load average (`/proc/loadavg`), reported next to each build: wall times on a shared
/// machine only compare at a similar load.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("?").to_string()
}

/// The rows a kept lake's manifest records.
fn lake_rows(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("lake").join("_manifest.json")).unwrap_or_default();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let months = manifest["months"].as_array().cloned().unwrap_or_default();
    months.iter().filter_map(|m| m["rows"].as_u64()).sum()
}
