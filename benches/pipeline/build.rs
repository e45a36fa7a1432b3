//! Build section: a full rebuild with every data test (`crimewatch build`) on ~1.2M generated rows. The lake is
//! laid down first (not timed) by the test suite's fixture writer from the seeded generator's rows; each build
//! runs as a child process, so wall time and peak RSS (the child's VmHWM) are the build's own.
//! Targets (issue 3): ≤ 5 s, ≤ 512 MB.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crimewatch::domain::Month;
use crimewatch::testkit::generate::{self, GenSpec, Schema};

use crate::{median_duration, median_u64, megabytes, secs, Report};

#[path = "../../tests/fixture_lake.rs"]
mod fixture_lake;

const SECTION: &str = "build";
const WALL_TARGET: Duration = Duration::from_secs(5);
const RSS_TARGET_BYTES: u64 = 512 * 1024 * 1024;

struct ChildRun {
    wall: Duration,
    peak_rss_bytes: u64,
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `crimewatch --data-dir DIR --json build` and reaps it with `wait4` for its own peak RSS.
// The child is reaped by `wait4` (which `Child::wait` cannot do while returning its rusage).
#[allow(clippy::zombie_processes)]
fn run_build(data_dir: &Path) -> ChildRun {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crimewatch"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--json", "build"])
        .env_remove("CRIMEWATCH_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the crimewatch binary");
    let mut out = child.stdout.take().expect("stdout pipe");
    let mut err = child.stderr.take().expect("stderr pipe");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    // ru_maxrss from wait4 would report this (large) bench process: the child is spawned sharing its memory
    // (vfork) and Linux carries the high-water mark across exec. The child's own VmHWM in /proc is its peak.
    let status_path = format!("/proc/{pid}/status");
    let hwm_reader = std::thread::spawn(move || {
        let mut peak_kb = 0u64;
        while let Ok(text) = std::fs::read_to_string(&status_path) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            match hwm {
                Some(kb) => peak_kb = peak_kb.max(kb),
                None => break, // a zombie has no memory lines: the child has exited
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        peak_kb
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in; we wait for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    let ok = rc == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    ChildRun {
        wall,
        peak_rss_bytes: hwm_reader.join().unwrap_or(0) * 1024,
        ok,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

fn temp_data_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crimewatch-bench-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create bench data dir");
    dir
}

/// Runs the build section; with `keep` the data dir with its published warehouse is returned for the web section.
pub fn run(report: &mut Report, keep: bool) -> Option<PathBuf> {
    let runs = crate::runs();
    let rows: usize = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_200_000);
    let first = Month::parse("2008-01").expect("valid month");
    let last = Month::current_in_seattle(chrono::Utc::now());
    let spec = GenSpec { seed: 2026, first, last, rows, schema: Schema::Nibrs };
    let dir = temp_data_dir();
    eprintln!("build: writing a lake of {rows} generated rows into {} (not timed)...", dir.display());
    let t = Instant::now();
    let partial = last.to_string();
    let written = fixture_lake::write_iter(&dir.join("lake"), generate::iter(&spec), &[partial.as_str()]);
    eprintln!("build: lake ready ({written} rows) after {:.1} s", t.elapsed().as_secs_f64());

    let (mut walls, mut rss) = (Vec::new(), Vec::new());
    let mut fact_rows = None;
    for i in 0..runs {
        eprintln!("build: run {}/{runs}", i + 1);
        let r = run_build(&dir);
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
    }
    let published = !walls.is_empty();
    let kept = if keep && published {
        Some(dir)
    } else {
        let _ = std::fs::remove_dir_all(&dir);
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
        "≤ 5 s",
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
    kept
}
