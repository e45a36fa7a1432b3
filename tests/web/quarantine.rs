//! Quarantined rows are visible (issue 17, item 6): the rows the source sent that the lake could not read are
//! counted by the warehouse (`marts.meta_build.quarantined_rows`, from the manifest's per-month counts and the
//! last import's quarantine file) and shown by `/api/health` and `crimewatch status`, each equal to a count made
//! here from the quarantine files on disk. (The page shows `/api/health`'s figure: `tests/browser/check.mjs`.)

use std::path::Path;

use serde_json::Value;
use soda_testkit::generate::Schema;
use soda_testkit::SodaServer;

use crate::ingest::{gen, text, World};

/// Non-blank lines of every quarantine file in the lake: the months' and the import's.
fn quarantine_lines_on_disk(lake: &Path) -> (u64, u64) {
    let lines = |p: &Path| {
        std::fs::read(p).map(|b| b.split(|c| *c == b'\n').filter(|l| !l.is_empty()).count() as u64).unwrap_or(0)
    };
    let mut months = 0;
    for folder in std::fs::read_dir(lake.join("spd_crime")).unwrap().flatten() {
        months += lines(&folder.path().join("_quarantine.jsonl"));
    }
    (months, lines(&lake.join("_quarantine_import.jsonl")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_rows_show_in_health_and_status_equal_to_the_rows_quarantined_on_disk() {
    let mut rows = gen(41, "2024-01", "2024-03", 300, Schema::Nibrs);
    // Three rows whose coordinates are not numbers: the lake quarantines them, with the reason.
    for i in [5, 150, 290] {
        rows[i].insert("latitude".into(), Value::String("north-ish".into()));
    }
    let server = SodaServer::start("tazs-3rd5", rows);
    let w = World::new("quarantine-counts", &server.url(), "");
    let ingested = w.ingest(&["--since", "2024-01", "--until", "2024-03"]);
    assert_eq!(ingested["rows_quarantined"], 3, "{ingested:#}");
    // An export with one row whose report date cannot be read: it belongs to no month.
    let export = w.dir.join("export.csv");
    std::fs::write(
        &export,
        "Report Number,Offense ID,Offense Start DateTime,Report DateTime,MCPP\n\
         2020-1,11,12/01/2020 06:35:48 PM,12/01/2020 06:40:00 PM,FREMONT\n\
         2020-2,12,12/02/2020 06:35:48 PM,not a date,FREMONT\n",
    )
    .unwrap();
    let out = w.run(&["import", export.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = w.run(&["build"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    let (in_months, in_import) = quarantine_lines_on_disk(&w.lake());
    assert_eq!((in_months, in_import), (3, 1), "the quarantine files on disk");
    let on_disk = in_months + in_import;

    let out = w.run(&["--json", "status"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["total_quarantined"], on_disk, "{status:#}");
    assert_eq!(status["import_quarantined"], in_import, "{status:#}");
    let out = w.run(&["status"], &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&format!("({on_disk} quarantined, 1 of them from an import with no month)")), "{table}");

    let mut settings = crimewatch::settings::Settings::for_data_dir(w.data(), &server.url());
    settings.web.addr = "127.0.0.1:0".parse().unwrap();
    let app = crimewatch::web::Application::build(&settings.web, &settings.data_dir, None).await.unwrap();
    let url = format!("http://127.0.0.1:{}/api/health", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let health: Value = serde_json::from_str(&reqwest::get(&url).await.unwrap().text().await.unwrap()).unwrap();
    assert_eq!(health["quarantined_rows"], on_disk, "{health:#}");
    assert_eq!(health["lake_rows"], 300 - 3 + 1, "quarantined rows are not lake rows: {health:#}");
}
