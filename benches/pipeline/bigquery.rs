//! BigQuery section: `crimewatch publish` of the build section's 1.2M-row warehouse (and its lake) to the BigQuery
//! emulator (`bqemulator`, started here as the tests start it), each run into a fresh project: wall time, bytes
//! uploaded and jobs run; then the no-change publish of the same warehouse into the same project.
//! Target (issue 13): the no-change publish runs 0 load jobs in ≤ 2 s.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use crate::{median_duration, run_crimewatch, secs, ChildRun, Report};

use crate::emulators;

const SECTION: &str = "bigquery";
const NO_CHANGE_TARGET: Duration = Duration::from_secs(2);

fn publish(data_dir: &Path, project: &str) -> (ChildRun, serde_json::Value) {
    let args = [
        OsStr::new("--data-dir"),
        data_dir.as_os_str(),
        OsStr::new("--bigquery-project"),
        OsStr::new(project),
        OsStr::new("--json"),
        OsStr::new("publish"),
    ];
    let r = run_crimewatch(&args, &data_dir.with_extension("usage"));
    let summary = serde_json::from_str(&r.stdout).unwrap_or_default();
    (r, summary)
}

pub fn run(report: &mut Report, data_dir: &Path) {
    let root = data_dir.with_extension("emulators");
    let _ = std::fs::remove_dir_all(&root);
    let e = emulators::start(&root);
    // The binary reads the emulator's address from the environment, as users set it.
    std::env::set_var("BIGQUERY_EMULATOR_HOST", &e.bq_host);
    let runs = crate::runs();
    let (mut full, mut unchanged) = (Vec::new(), Vec::new());
    let (mut uploaded, mut jobs, mut no_change_loads) = (0, String::new(), Vec::new());
    for i in 0..runs {
        let project = format!("bench-{}-{i}", std::process::id());
        eprintln!("bigquery: publish {}/{runs} into {project}", i + 1);
        let (r, s) = publish(data_dir, &project);
        if !r.ok {
            report.note(format!("publish failed: {}", r.stderr.lines().rev().take(10).collect::<Vec<_>>().join("\n")));
            break;
        }
        full.push(r.wall);
        uploaded = s["bytes_uploaded"].as_u64().unwrap_or(0);
        jobs = format!("{} load, {} copy, {} query", s["load_jobs"], s["copy_jobs"], s["query_jobs"]);
        let (r, s) = publish(data_dir, &project);
        if r.ok {
            unchanged.push(r.wall);
            no_change_loads.push(s["load_jobs"].as_u64().unwrap_or(u64::MAX));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    if full.is_empty() {
        return;
    }
    report.add_durations(SECTION, "publish 1.2M-row warehouse + lake to the emulator: wall time", &full);
    report.add(SECTION, "publish: bytes uploaded (Parquet)", crate::megabytes(uploaded), Vec::new());
    report.add(SECTION, "publish: jobs run", jobs, Vec::new());
    if unchanged.is_empty() {
        return;
    }
    let wall = median_duration(unchanged.clone());
    let loads = no_change_loads.iter().copied().max().unwrap_or(0);
    report.add_target(
        SECTION,
        "no-change publish: wall time",
        secs(wall),
        unchanged.iter().map(|d| secs(*d)).collect(),
        "≤ 2 s",
        wall <= NO_CHANGE_TARGET,
    );
    report.add_target(SECTION, "no-change publish: load jobs", loads.to_string(), Vec::new(), "0", loads == 0);
}
