//! `cargo bench --bench pipeline`: the pipeline's speed and memory figures, printed next to their targets.
//! Never a timed test: nothing here fails a build; it measures and reports.
//!
//! Each section is one function that appends figures to the report; run a subset with
//! `cargo bench --bench pipeline -- ingest`. `BENCH_RUNS` (default 3) sets the repetitions; medians are shown.

mod bigquery;
mod build;
/// The emulators the tests start (BigQuery, fake-gcs-server, moto), for the bigquery and lake sections.
#[allow(dead_code)]
#[path = "../../tests/emulators.rs"]
mod emulators;
mod ingest;
mod lake;
mod web;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One measured figure.
pub struct Figure {
    pub section: &'static str,
    pub name: String,
    /// The median (or single) value, formatted with its unit.
    pub value: String,
    /// Every run's value, when repeated.
    pub runs: Vec<String>,
    /// The target, e.g. `≤ 1.5×`.
    pub target: Option<String>,
    /// Whether the target is met.
    pub met: Option<bool>,
}

/// The figures of all sections, printed as one table at the end.
#[derive(Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn add(&mut self, section: &'static str, name: &str, value: String, runs: Vec<String>) {
        self.figures.push(Figure { section, name: name.to_string(), value, runs, target: None, met: None });
    }

    /// A figure measured once per run as a duration: the median is shown, then every run.
    pub fn add_durations(&mut self, section: &'static str, name: &str, runs: &[Duration]) {
        self.add(section, name, secs(median_duration(runs.to_vec())), runs.iter().map(|d| secs(*d)).collect());
    }

    pub fn add_target(
        &mut self,
        section: &'static str,
        name: &str,
        value: String,
        runs: Vec<String>,
        target: &str,
        met: bool,
    ) {
        self.figures.push(Figure {
            section,
            name: name.to_string(),
            value,
            runs,
            target: Some(target.to_string()),
            met: Some(met),
        });
    }

    pub fn note(&mut self, text: String) {
        eprintln!("note: {text}");
        self.notes.push(text);
    }

    fn render(&self) -> String {
        let headers = ["section", "figure", "median", "runs", "target", "met"];
        let rows: Vec<[String; 6]> = self
            .figures
            .iter()
            .map(|f| {
                [
                    f.section.to_string(),
                    f.name.clone(),
                    f.value.clone(),
                    f.runs.join(" / "),
                    f.target.clone().unwrap_or_default(),
                    f.met.map(|m| if m { "yes" } else { "NO" }.to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        let mut widths = headers.map(|h| h.chars().count());
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for (c, w) in cells.iter().zip(widths) {
                let _ = write!(s, " {c}{} |", " ".repeat(w - c.chars().count()));
            }
            s
        };
        let mut out = String::new();
        let _ = writeln!(out, "{}", line(&headers.map(String::from)));
        let _ = writeln!(out, "|{}", widths.map(|w| format!("{}|", "-".repeat(w + 2))).concat());
        for r in &rows {
            let _ = writeln!(out, "{}", line(r));
        }
        for n in &self.notes {
            let _ = writeln!(out, "\nnote: {n}");
        }
        out
    }
}

/// The generated rows the ingest, lake and build sections fetch: `BENCH_ROWS` (default 1.2M), seed 2026,
/// from `since` to this month, the new (NIBRS) field names. One spec, so the sections measure the same data.
pub fn bench_rows(since: &str) -> soda_testkit::generate::GenSpec {
    let rows: usize = std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_200_000);
    let first = soda_testkit::Month::parse(since).expect("valid month");
    let last = soda_testkit::Month::current_in_seattle(chrono::Utc::now());
    soda_testkit::generate::GenSpec { seed: 2026, first, last, rows, schema: soda_testkit::generate::Schema::Nibrs }
}

/// How many times each measurement is repeated (`BENCH_RUNS`, default 3).
pub fn runs() -> usize {
    std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(3)
}

/// The median of some durations (upper median for even counts).
pub fn median_duration(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub fn median_u64(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// A byte count as every other place prints one (`814.1 MiB`, units of 1024).
pub fn megabytes(bytes: u64) -> String {
    crimewatch::domain::Bytes(bytes).to_string()
}

/// What one run of the `crimewatch` binary did, measured from outside.
pub struct ChildRun {
    pub wall: Duration,
    /// The child's own peak RSS (`ru_maxrss` taken by the launcher).
    pub peak_rss_bytes: u64,
    /// User + system CPU time of the child.
    pub cpu: Duration,
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the release `crimewatch` binary with `args` (and `CRIMEWATCH_CONFIG`, `SODA_APP_TOKEN` unset) through
/// the rusage launcher below, so its peak RSS and CPU time are its own; `usage_file` is a scratch path.
pub fn run_crimewatch(args: &[&std::ffi::OsStr], usage_file: &Path) -> ChildRun {
    run_program(OsStr::new(env!("CARGO_BIN_EXE_crimewatch")), args, usage_file)
}

/// Runs any program (a crimewatch binary, the Python baseline) the way [`run_crimewatch`] does.
pub fn run_program(program: &OsStr, args: &[&OsStr], usage_file: &Path) -> ChildRun {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().expect("the bench binary's path"))
        .arg(LAUNCHER_FLAG)
        .arg(usage_file)
        .arg(program)
        .args(args)
        .env_remove("CRIMEWATCH_CONFIG")
        .env_remove("SODA_APP_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the measured program");
    let out_reader = read_to_string_in_thread(child.stdout.take().expect("stdout pipe"));
    let err_reader = read_to_string_in_thread(child.stderr.take().expect("stderr pipe"));
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    let wall = started.elapsed();
    let usage = std::fs::read_to_string(usage_file).unwrap_or_default();
    let mut fields = usage.split_whitespace().map(|t| t.parse::<u64>().unwrap_or(0));
    let (peak_rss_kib, cpu_ms) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
    let _ = std::fs::remove_file(usage_file);
    ChildRun {
        wall,
        peak_rss_bytes: peak_rss_kib * 1024,
        cpu: Duration::from_millis(cpu_ms),
        ok,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// Drains a child's pipe on a thread of its own, so neither pipe can fill up and stall the child.
fn read_to_string_in_thread(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    })
}

/// `<bench> --rusage-launcher FILE PROGRAM ARGS...` runs PROGRAM as a child of this (small) process and writes
/// its peak RSS in KiB and its CPU time (user + system) in milliseconds to FILE, exiting with its status.
/// Needed because on Linux a program exec'd straight from the bench process — which holds the 1.2M-row test
/// server — starts with the bench's high-water RSS in `ru_maxrss` (exec records the old address space's peak).
pub const LAUNCHER_FLAG: &str = "--rusage-launcher";

fn launcher(args: &[String]) -> ! {
    let [file, program, rest @ ..] = args else {
        eprintln!("usage: {LAUNCHER_FLAG} FILE PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let child = match std::process::Command::new(program).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start {program}: {e}");
            std::process::exit(127);
        }
    };
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child and is reaped only here (the `Child` handle is leaked, never waited on).
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    std::mem::forget(child);
    let _ = std::fs::write(file, format!("{} {}", usage.ru_maxrss, cpu_millis(&usage)));
    let code = if rc == pid && libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 1 };
    std::process::exit(code)
}

fn cpu_millis(u: &libc::rusage) -> i64 {
    let ms = |t: libc::timeval| t.tv_sec * 1000 + t.tv_usec / 1000;
    ms(u.ru_utime) + ms(u.ru_stime)
}

/// CPU time (user + system) this bench process has used so far: the in-process test server's share of a run is
/// the difference across it.
pub fn own_cpu() -> Duration {
    // SAFETY: an all-zero rusage is valid; getrusage fills it for this process.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    Duration::from_millis(cpu_millis(&usage).max(0) as u64)
}

const WEB_DIR_ENV: &str = "BENCH_WEB_DIR";

/// Runs the web section on `dir`'s published warehouse and adds its figures to the report.
fn web_figures(report: &mut Report, dir: &Path) {
    for (name, value, target) in web::run(dir) {
        let shown = format!("{value:.1}");
        if target.is_nan() {
            report.add("web", &name, shown, Vec::new());
        } else {
            report.add_target("web", &name, shown, Vec::new(), &format!("≤ {target}"), value <= target);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(LAUNCHER_FLAG) {
        launcher(&args[2..]);
    }
    // `cargo bench` passes `--bench`; other arguments name the sections to run.
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    let mut report = Report::default();
    if run("ingest") {
        ingest::run(&mut report);
    }
    if run("lake") {
        lake::run(&mut report);
    }
    // `BENCH_WEB_DIR`: the web section alone, on the warehouse already published in that data dir (e.g. a kept
    // BENCH_DATA_DIR), so the server can be profiled without a build first.
    let web_dir = std::env::var_os(WEB_DIR_ENV).filter(|d| !d.is_empty()).map(std::path::PathBuf::from);
    if let (Some(dir), true) = (&web_dir, run("web")) {
        web_figures(&mut report, dir);
    }
    // The web and bigquery sections measure on the warehouse the build section published.
    if web_dir.is_none() && (run("build") || run("web") || run("bigquery")) {
        if let Some(dir) = build::run(&mut report, run("web") || run("bigquery")) {
            if run("bigquery") {
                bigquery::run(&mut report, &dir);
            }
            if run("web") {
                web_figures(&mut report, &dir);
            }
            build::discard(&dir);
        }
    }
    println!("\n{}", report.render());
}
