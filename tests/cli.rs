//! The command line's edges: bad flags and bad config give a clear error naming the flag or key and the fix,
//! a non-zero exit, and an untouched lake; `status` reports what the lake holds.

use std::process::Command;

use serde_json::Value;

use crate::ingest::{temp_dir, text, World};

fn crimewatch(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crimewatch"));
    c.args(args).current_dir(dir);
    for v in ["CRIMEWATCH_DATA_DIR", "CRIMEWATCH_SOCRATA_URL", "CRIMEWATCH_CONFIG", "SODA_APP_TOKEN", "RUST_LOG"] {
        c.env_remove(v);
    }
    c.output().unwrap()
}

fn fails_saying(out: &std::process::Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure:\n{}", text(out));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "stderr should mention {n:?}:\n{err}");
    }
}

#[test]
fn bad_month_flags_are_named_with_the_expected_format() {
    let dir = temp_dir("cli-month");
    fails_saying(&crimewatch(&dir, &["ingest", "--since", "2024-13"]), &["--since", "YYYY-MM"]);
    fails_saying(&crimewatch(&dir, &["ingest", "--until", "March"]), &["--until", "YYYY-MM"]);
    fails_saying(&crimewatch(&dir, &["ingest", "--bogus"]), &["--bogus"]);
    let out = crimewatch(
        &dir,
        &[
            "--data-dir",
            dir.join("d").to_str().unwrap(),
            "--socrata-url",
            "http://127.0.0.1:9",
            "ingest",
            "--since",
            "2024-05",
            "--until",
            "2024-01",
        ],
    );
    fails_saying(&out, &["--since 2024-05 is after --until 2024-01"]);
}

#[test]
fn bad_config_names_the_key_and_the_fix() {
    let dir = temp_dir("cli-config");
    let cfg = dir.join("crimewatch.toml");
    std::fs::write(&cfg, "[source]\npage_size = 10\n").unwrap();
    fails_saying(&crimewatch(&dir, &["status"]), &["page_size", "crimewatch.toml"]);
    std::fs::write(&cfg, "[source]\npage_size_rows = 0\n").unwrap();
    fails_saying(&crimewatch(&dir, &["ingest"]), &["source.page_size_rows", "1..=50000"]);
    std::fs::write(&cfg, "[source]\nmonths_in_flight = 0\n").unwrap();
    fails_saying(&crimewatch(&dir, &["ingest"]), &["source.months_in_flight"]);
    std::fs::write(&cfg, "[warehouse]\nstorage_version = \"1.4\"\n").unwrap();
    fails_saying(&crimewatch(&dir, &["build"]), &["warehouse.storage_version", "v1.4.0"]);
    std::fs::remove_file(&cfg).unwrap();
    fails_saying(&crimewatch(&dir, &["--socrata-url", "data.seattle.gov", "ingest"]), &["socrata_url", "https://"]);
    fails_saying(&crimewatch(&dir, &["--dataset", "tazs3rd5", "ingest"]), &["dataset", "xxxx-xxxx"]);
    fails_saying(&crimewatch(&dir, &["--config", "missing.toml", "status"]), &["missing.toml"]);
}

#[test]
fn import_of_a_missing_or_non_csv_file_is_refused() {
    let dir = temp_dir("cli-import");
    let data = dir.join("data");
    let d = data.to_str().unwrap();
    fails_saying(&crimewatch(&dir, &["--data-dir", d, "import", "nope.csv"]), &["nope.csv", "not a file"]);
    let junk = dir.join("junk.csv");
    std::fs::write(&junk, "hello\nworld\n").unwrap();
    fails_saying(&crimewatch(&dir, &["--data-dir", d, "import", junk.to_str().unwrap()]), &["junk.csv", "Export"]);
    fails_saying(&crimewatch(&dir, &["--data-dir", d, "import"]), &["FILE"]);
}

#[test]
fn unreachable_source_fails_naming_the_url_and_keeps_the_lake() {
    let w = World::new("cli-unreachable", "http://127.0.0.1:9", "");
    let out = w.run(&["ingest", "--since", "2024-01", "--until", "2024-01"], &[]);
    fails_saying(&out, &["http://127.0.0.1:9/resource/tazs-3rd5.json", "4 tries"]);
    assert!(!w.lake().join("_manifest.json").exists());
}

#[test]
fn status_reports_months_and_totals_in_text_and_json() {
    let w = World::new("cli-status", "http://127.0.0.1:9", "");
    let out = w.run(&["status"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no lake yet"));
    let file = w.dir.join("export.csv");
    std::fs::write(
        &file,
        "Report Number,Offense ID,Offense Start DateTime,Report DateTime,MCPP\n\
         2020-1,11,12/01/2020 06:35:48 PM,12/01/2020 06:40:00 PM,FREMONT\n\
         2020-2,12,12/02/2020 06:35:48 PM,01/02/2021 06:40:00 AM,BALLARD SOUTH\n\
         2020-3,13,12/02/2020 06:35:48 PM,01/03/2021 06:40:00 AM,\n",
    )
    .unwrap();
    let out = w.run(&["import", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = w.run(&["status"], &[]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("2020-12") && s.contains("2021-01") && s.contains("total: 3 rows in 2 months"), "{s}");
    let out = w.run(&["--json", "status"], &[]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total_rows"], 3);
    assert_eq!(v["months"][1]["rows"], 2);
    assert_eq!(v["months"][1]["partial"], false);
    let rows = w.lake_rows();
    assert_eq!(rows.iter().filter(|r| r.texts[8].as_deref() == Some("FREMONT")).count(), 1);
    assert_eq!(rows.iter().find(|r| r.offense_id == "13").unwrap().texts[8], None);
}

#[test]
fn build_verbose_logs_the_seconds_of_every_model_and_data_test() {
    let w = World::new("cli-build-v", "http://127.0.0.1:9", "");
    let file = w.dir.join("export.csv");
    std::fs::write(
        &file,
        "Report Number,Offense ID,Offense Start DateTime,Report DateTime,MCPP\n\
         2020-1,11,12/01/2020 06:35:48 PM,12/01/2020 06:40:00 PM,FREMONT\n",
    )
    .unwrap();
    assert!(w.run(&["import", file.to_str().unwrap()], &[]).status.success());
    let out = w.run(&["-v", "build"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let log = without_ansi(&String::from_utf8_lossy(&out.stderr));
    let timed = |line: &str| line.contains(" seconds=") && line.contains(" cpu_seconds=");
    for model in ["stg_offenses", "fct_offenses", "mart_hour_weekday", "meta_build"] {
        let line = log.lines().find(|l| l.contains(" built ") && l.contains(&format!("node={model} ")));
        assert!(line.is_some_and(timed), "no timed `built` line for {model}:\n{log}");
    }
    let passes = log.lines().filter(|l| l.contains(" pass ") && l.contains(" test=")).collect::<Vec<_>>();
    assert!(passes.len() > 50 && passes.iter().all(|l| timed(l)), "every data test logs its seconds:\n{log}");
}

/// The log without terminal colour codes (`ESC [ … m`), which the fields' `name=value` would be split by.
fn without_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}
