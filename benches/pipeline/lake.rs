//! Lake section (issue 12): the 1.2M-row backfill with the lake on the S3 emulator (moto, started here as the
//! tests start it) against the same backfill with the lake on disk, alternating in the same run, then the
//! no-change run on the bucket lake: its wall time and the objects it wrote (a full listing with ETags, before
//! and after). Targets: bucket backfill ≤ 1.3× the local one; no-change ≤ 1 s and 0 objects written.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use soda_testkit::generate;
use soda_testkit::SodaServer;

use crate::{median_duration, run_crimewatch, secs, ChildRun, Report};

use crate::emulators;

const SECTION: &str = "lake";
const DATASET: &str = "tazs-3rd5";
const SINCE: &str = "2008-01";
const RATIO_TARGET: f64 = 1.3;
const NO_CHANGE_TARGET: Duration = Duration::from_secs(1);

fn ingest(data_dir: &Path, url: &str, lake: Option<&str>) -> ChildRun {
    let mut args = vec![OsStr::new("--data-dir"), data_dir.as_os_str()];
    if let Some(l) = lake {
        args.extend([OsStr::new("--lake"), OsStr::new(l)]);
    }
    args.extend(["--socrata-url", url, "--dataset", DATASET, "ingest", "--since", SINCE, "--json"].map(OsStr::new));
    run_crimewatch(&args, &data_dir.with_extension("usage"))
}

fn s3(moto: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "bench:bench"])
        .args(args)
        .arg(moto)
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every object of the bucket and its ETag (moto lists 1000 keys a page).
fn listing(moto: &str, bucket: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut after = String::new();
    loop {
        let url = format!("{moto}/{bucket}?list-type=2&start-after={after}");
        let Some(xml) = s3(&url, &[]) else { return out };
        let mut n = 0;
        for c in xml.split("<Contents>").skip(1) {
            let field = |a: &str, b: &str| c.split(a).nth(1).and_then(|r| r.split(b).next()).unwrap_or("").to_string();
            after = field("<Key>", "</Key>");
            out.insert(after.clone(), field("<ETag>", "</ETag>"));
            n += 1;
        }
        if n < 1000 {
            return out;
        }
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crimewatch-bench-lake-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create bench dir");
    dir
}

pub fn run(report: &mut Report) {
    let runs = crate::runs();
    let spec = crate::bench_rows(SINCE);
    let rows = spec.rows;
    eprintln!("lake: generating {rows} rows and starting the SODA server and moto (not timed)...");
    let server = SodaServer::start_streaming(DATASET, generate::iter(&spec));
    let url = server.url();
    let moto = emulators::start_moto(&temp("moto"), &[]);
    // The binary reads the endpoint and credentials from the environment, as users set them.
    for (k, v) in [
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::env::set_var(k, v);
    }
    let (mut local, mut bucket, mut no_change, mut written) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let dir = temp(&format!("local-{i}"));
        eprintln!("lake: run {}/{runs}: backfill, lake on disk", i + 1);
        let r = ingest(&dir, &url, None);
        if !r.ok {
            report.note(format!("local backfill failed: {}", r.stderr.lines().last().unwrap_or_default()));
            return;
        }
        local.push(r.wall);
        let _ = std::fs::remove_dir_all(&dir);

        let name = format!("bench-lake-{}-{i}", std::process::id());
        let _ = s3(&format!("{}/{name}", moto.url), &["-X", "PUT"]);
        let lake = format!("s3://{name}/lake");
        let dir = temp(&format!("s3-{i}"));
        eprintln!("lake: run {}/{runs}: backfill, lake on moto ({lake})", i + 1);
        let r = ingest(&dir, &url, Some(&lake));
        if !r.ok {
            report.note(format!("bucket backfill failed: {}", r.stderr.lines().last().unwrap_or_default()));
            return;
        }
        bucket.push(r.wall);
        let before = listing(&moto.url, &name);
        let t = Instant::now();
        let r = ingest(&dir, &url, Some(&lake));
        let wall = t.elapsed();
        if r.ok {
            no_change.push(wall);
            let after = listing(&moto.url, &name);
            written.push(after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).count());
            if i == 0 {
                report.note(format!("bucket lake after the backfill: {} objects", before.len()));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let all = |v: &[Duration]| v.iter().map(|d| secs(*d)).collect::<Vec<_>>();
    report.add_durations(SECTION, "backfill, lake on disk", &local);
    report.add_durations(SECTION, "backfill, lake on moto (S3)", &bucket);
    let mut ratios: Vec<f64> = local.iter().zip(&bucket).map(|(l, b)| b.as_secs_f64() / l.as_secs_f64()).collect();
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}×")).collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
    let target = format!("≤ {RATIO_TARGET}×");
    report.add_target(SECTION, "bucket / disk backfill", format!("{ratio:.2}×"), shown, &target, ratio <= RATIO_TARGET);
    let nc = median_duration(no_change.clone());
    let met = nc <= NO_CHANGE_TARGET;
    report.add_target(SECTION, "no-change run, lake on moto", secs(nc), all(&no_change), "≤ 1 s", met);
    let max_written = written.iter().copied().max().unwrap_or(usize::MAX);
    let shown = written.iter().map(usize::to_string).collect();
    report.add_target(
        SECTION,
        "objects written by the no-change run",
        max_written.to_string(),
        shown,
        "0",
        max_written == 0,
    );
}
