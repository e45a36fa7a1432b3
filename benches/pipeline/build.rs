//! The `build` section of the pipeline benchmark: a full rebuild with every data test (`crimewatch build`) on the
//! lake in `data_dir` (about 1.2M generated rows, written by the ingest section), as a child process so the
//! figures are the build's own: wall time and peak RSS (`ru_maxrss` from `wait4`). Targets: ≤ 5 s, ≤ 512 MB;
//! medians of `runs`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// What one section measured.
#[derive(Debug, Clone)]
pub struct BuildFigures {
    pub fact_rows: u64,
    pub wall_seconds: Vec<f64>,
    pub peak_rss_mb: Vec<f64>,
}

impl BuildFigures {
    pub fn median_seconds(&self) -> f64 {
        median(&self.wall_seconds)
    }

    pub fn median_rss_mb(&self) -> f64 {
        median(&self.peak_rss_mb)
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Rebuilds the warehouse of `data_dir` `runs` times and prints the figures next to their targets.
pub fn run(data_dir: &Path, runs: usize) -> BuildFigures {
    let mut figures = BuildFigures { fact_rows: 0, wall_seconds: vec![], peak_rss_mb: vec![] };
    for _ in 0..runs {
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_crimewatch"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--json", "build"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start crimewatch build");
        let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
        let mut stdout = child.stdout.expect("piped stdout");
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
        });
        let mut status = 0;
        // SAFETY: zeroed rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child; std's Child is not waited on afterwards.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(rc, pid, "wait4 failed");
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "crimewatch build failed (status {status})");
        let text = reader.join().expect("reader thread").expect("read stdout");
        let summary: serde_json::Value = serde_json::from_str(&text).expect("build --json prints JSON");
        figures.fact_rows = summary["fact_rows"].as_u64().unwrap_or(0);
        figures.wall_seconds.push(seconds);
        // ru_maxrss is in kilobytes on Linux.
        figures.peak_rss_mb.push(usage.ru_maxrss as f64 / 1024.0);
    }
    println!(
        "build: rebuild + all data tests, {} fact rows: median {:.2} s (target ≤ 5 s), peak RSS median {:.0} MB (target ≤ 512 MB); runs {:?} s, {:?} MB",
        figures.fact_rows,
        figures.median_seconds(),
        figures.median_rss_mb(),
        figures.wall_seconds.iter().map(|s| (s * 100.0).round() / 100.0).collect::<Vec<_>>(),
        figures.peak_rss_mb.iter().map(|m| m.round()).collect::<Vec<_>>(),
    );
    figures
}
