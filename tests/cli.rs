//! The command line's edges, through the real binary: bad flags and bad config give a clear error naming the flag
//! or key and the fix, and an untouched lake; every documented exit code is provoked once; `--json` prints one
//! error object on stdout when a command fails; the help shows examples and the secrets without their values;
//! logs carry no escape codes off a terminal and parse as JSON with `--log-format json`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crimewatch::domain::run::Trigger;
use crimewatch::domain::DataDir;
use crimewatch::runs::{LockHolder, RunLock};
use serde_json::Value;
use soda_testkit::generate::Schema;
use soda_testkit::SodaServer;

use crate::ingest::{gen, temp_dir, text, World, AMBIENT_ENV, DATASET};
use crate::schedule::black_hole;

fn crimewatch(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().unwrap()
}

/// The binary in `dir` with the machine's crimewatch settings removed from its environment.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crimewatch"));
    c.args(args).current_dir(dir);
    for v in AMBIENT_ENV {
        c.env_remove(v);
    }
    c
}

fn fails_saying(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure:\n{}", text(out));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "stderr should mention {n:?}:\n{err}");
    }
}

/// Asserts the exit code and, for a `--json` run, the one error object on stdout (its `code` and `exit_code`);
/// returns that object's whole document.
fn exits_with(out: &Output, code: i32, name: &str) -> Value {
    assert_eq!(out.status.code(), Some(code), "expected exit {code} ({name}):\n{}", text(out));
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", text(out)));
    assert_eq!(doc["error"]["code"], name, "{doc:#}");
    assert_eq!(doc["error"]["exit_code"], code, "{doc:#}");
    assert!(doc["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{doc:#}");
    assert!(doc["error"]["causes"].is_array(), "{doc:#}");
    doc
}

/// A port nobody listens on: bind, note it, close.
fn closed_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
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
fn usage_errors_exit_2_with_a_json_error_from_flags_config_and_the_import_file() {
    let dir = temp_dir("cli-usage");
    let d = dir.join("data");
    let d = d.to_str().unwrap();
    let doc = exits_with(&crimewatch(&dir, &["--json", "ingest", "--since", "2024-13"]), 2, "usage");
    assert!(doc["error"]["message"].as_str().unwrap().contains("--since"), "{doc:#}");
    let out = crimewatch(&dir, &["--json", "--data-dir", d, "ingest", "--since", "2024-05", "--until", "2024-01"]);
    exits_with(&out, 2, "usage");
    let doc = exits_with(&crimewatch(&dir, &["--json", "--config", "missing.toml", "status"]), 2, "usage");
    assert!(doc["error"]["message"].as_str().unwrap().contains("missing.toml"), "{doc:#}");
    std::fs::write(dir.join("crimewatch.toml"), "[source]\npage_size = 10\n").unwrap();
    exits_with(&crimewatch(&dir, &["--json", "status"]), 2, "usage");
    std::fs::remove_file(dir.join("crimewatch.toml")).unwrap();
    let doc = exits_with(&crimewatch(&dir, &["--json", "--data-dir", d, "import", "nope.csv"]), 2, "usage");
    assert!(doc["error"]["message"].as_str().unwrap().contains("nope.csv is not a file"), "{doc:#}");
    let junk = dir.join("junk.csv");
    std::fs::write(&junk, "hello\nworld\n").unwrap();
    let doc = exits_with(&crimewatch(&dir, &["--json", "--data-dir", d, "import", junk.to_str().unwrap()]), 2, "usage");
    assert!(doc.to_string().contains("Export"), "the fix is named: {doc:#}");
    // CRIMEWATCH_DATASET is --dataset's variable: a bad one is named like the flag's value.
    let out = command(&dir, &["--data-dir", d, "ingest"]).env("CRIMEWATCH_DATASET", "tazs3rd5").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    fails_saying(&out, &["dataset", "tazs3rd5", "xxxx-xxxx"]);
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
fn unreachable_source_exits_3_naming_the_url_and_keeps_the_lake() {
    let w = World::new("cli-unreachable", &closed_url(), "");
    let out = w.run(&["ingest", "--since", "2024-01", "--until", "2024-01"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    fails_saying(&out, &["/resource/tazs-3rd5.json", "4 tries"]);
    assert!(!w.lake().join("_manifest.json").exists());
    let doc = exits_with(&w.run(&["--json", "ingest", "--since", "2024-01", "--until", "2024-01"], &[]), 3, "source");
    assert_eq!(doc["error"]["message"], "ingest failed");
    assert!(doc["error"]["causes"][0].as_str().unwrap().contains("4 tries"), "{doc:#}");
    // `run` puts its report beside the error object.
    let doc = exits_with(&w.run(&["--json", "run", "--since", "2024-01", "--until", "2024-01"], &[]), 3, "source");
    assert_eq!(doc["status"], "failed", "{doc:#}");
    assert!(doc["run_id"].as_str().is_some_and(|id| doc["error"]["message"].as_str().unwrap().contains(id)));
    assert!(doc["build"].is_null(), "no build after a failed ingest: {doc:#}");
}

#[test]
fn a_failure_without_a_class_of_its_own_exits_1_with_a_json_error() {
    let dir = temp_dir("cli-general");
    let d = dir.join("data");
    let doc = exits_with(&crimewatch(&dir, &["--json", "--data-dir", d.to_str().unwrap(), "build"]), 1, "failed");
    assert!(doc["error"]["message"].as_str().unwrap().contains("no lake at"), "{doc:#}");
}

#[test]
fn a_lock_held_by_another_run_exits_5() {
    let w = World::new("cli-busy", &closed_url(), "");
    std::fs::write(
        &w.config,
        format!("{}[schedule]\nlock_wait_seconds = 0\n", std::fs::read_to_string(&w.config).unwrap()),
    )
    .unwrap();
    std::fs::create_dir_all(w.data()).unwrap();
    let holder = LockHolder::this_process(Trigger::Schedule, "run", Some("r-held-by-test".into()));
    let lock = RunLock::acquire_as(&DataDir::new(w.data()), Duration::ZERO, holder).unwrap();
    for command in ["ingest", "build", "run"] {
        let doc = exits_with(&w.run(&["--json", command], &[]), 5, "lock_busy");
        assert!(doc["error"]["message"].as_str().unwrap().contains("r-held-by-test"), "{command}: {doc:#}");
    }
    drop(lock);
    assert_eq!(w.run(&["status"], &[]).status.code(), Some(0), "status takes no lock");
}

#[test]
fn ctrl_c_during_a_run_stops_it_exits_130_and_records_it_abandoned() {
    let w = World::new("cli-interrupt", "http://127.0.0.1:9", "");
    // A source that never answers, waited for longer than the test takes: the run is in ingest when Ctrl-C comes.
    let (source, accepted) = black_hole();
    let config = format!("data_dir = {:?}\nsocrata_url = {:?}\n[source]\ntimeout_seconds = 600\n", w.data(), source);
    std::fs::write(&w.config, config).unwrap();
    let child = command(&w.dir, &["--config", w.config.to_str().unwrap(), "--json", "ingest"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let begun = Instant::now();
    while accepted.load(Ordering::SeqCst) == 0 {
        assert!(begun.elapsed() < Duration::from_secs(60), "the run never reached the source");
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let doc = exits_with(&out, 130, "interrupted");
    assert!(doc["error"].to_string().contains("stopped by a shutdown during ingest"), "{doc:#}");
    let runs: Value = serde_json::from_slice(&w.run(&["--json", "runs"], &[]).stdout).unwrap();
    assert_eq!(runs["runs"][0]["status"], "abandoned", "{runs:#}");
}

#[test]
fn every_command_has_examples_and_the_help_lists_secrets_and_exit_codes_without_values() {
    let dir = temp_dir("cli-help");
    let secret = "s3cret-token-value-0123";
    for command in ["ingest", "import", "status", "build", "run", "publish", "serve", "up", "runs"] {
        let out = crimewatch(&dir, &[command, "--help"]);
        assert!(out.status.success(), "{}", text(&out));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Examples:\n  crimewatch"), "{command} --help has no examples:\n{help}");
    }
    let out = command(&dir, &["--help"])
        .env("SODA_APP_TOKEN", secret)
        .env("CRIMEWATCH_ADMIN_TOKEN", secret)
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(!help.contains(secret), "a secret's value is in --help:\n{help}");
    for needle in [
        "SODA_APP_TOKEN",
        "CRIMEWATCH_ADMIN_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "[set]",
        "CRIMEWATCH_DATASET",
        "CRIMEWATCH_LOG_FORMAT",
        "NO_COLOR",
        "Exit codes:",
        "130",
    ] {
        assert!(help.contains(needle), "--help should mention {needle:?}:\n{help}");
    }
    for code in 1..=5 {
        assert!(help.contains(&format!("\n  {code}    ")), "exit code {code} is not documented:\n{help}");
    }
    let short = String::from_utf8_lossy(&crimewatch(&dir, &["-h"]).stdout).to_string();
    assert!(short.contains("Examples:") && short.contains("crimewatch --help"), "{short}");
}

#[test]
fn logs_have_no_escape_codes_off_a_terminal_and_parse_as_json_with_log_format_json() {
    let rows = gen(41, "2024-01", "2024-02", 200, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows);
    let w = World::new("cli-logs", &server.url(), "");
    let log = w.dir.join("log");
    let run = |args: &[&str]| {
        let mut all = vec!["--config", w.config.to_str().unwrap()];
        all.extend_from_slice(args);
        let status =
            command(&w.dir, &all).stdout(Stdio::null()).stderr(std::fs::File::create(&log).unwrap()).status().unwrap();
        (status, std::fs::read_to_string(&log).unwrap())
    };
    let (status, text) = run(&["-v", "run", "--since", "2024-01", "--until", "2024-02"]);
    assert!(status.success(), "{text}");
    assert!(text.lines().filter(|l| l.contains(" INFO ")).count() >= 4, "-v logs the run's steps:\n{text}");
    assert!(!text.contains('\u{1b}'), "escape codes in a log file:\n{text:?}");

    let (status, json) = run(&["-v", "--log-format", "json", "run", "--since", "2024-01", "--until", "2024-02"]);
    assert!(status.success(), "{json}");
    let events = every_line_json(&json);
    assert!(events.iter().any(|e| e["message"] == "run succeeded" && e["level"] == "INFO"), "{json}");
    // A failure is one more JSON event (with its causes), and CRIMEWATCH_LOG_FORMAT is the option's variable.
    drop(server);
    let out = command(&w.dir, &["--config", w.config.to_str().unwrap(), "ingest", "--since", "2024-01"])
        .env("CRIMEWATCH_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", crate::ingest::text(&out));
    let events = every_line_json(&String::from_utf8_lossy(&out.stderr));
    let error = events.iter().find(|e| e["level"] == "ERROR").expect("the failure is logged");
    assert_eq!(error["message"], "ingest failed");
    assert!(error["causes"].as_str().is_some_and(|c| c.contains("tries")), "{error:#}");
}

/// Every non-empty line of `log` as JSON (panics naming the first that is not).
fn every_line_json(log: &str) -> Vec<Value> {
    let events: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\n{log}")))
        .collect();
    assert!(!events.is_empty(), "no log lines at all");
    events
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    // `script` (util-linux, on every Debian) runs the command on a pseudo-terminal. The command logs a warning (the
    // source refuses the connection), whose level is coloured on a terminal.
    let dir = temp_dir("cli-colour");
    std::fs::write(dir.join("crimewatch.toml"), "[source]\nmax_attempts = 1\n").unwrap();
    let source = closed_url();
    let on_a_terminal = |no_color: Option<&str>| {
        let cmd = format!(
            "{} --data-dir {} --socrata-url {source} ingest --since 2024-01 --until 2024-01",
            env!("CARGO_BIN_EXE_crimewatch"),
            dir.join("data").to_str().unwrap()
        );
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).current_dir(&dir);
        for v in AMBIENT_ENV {
            c.env_remove(v);
        }
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let out = c.stdin(Stdio::null()).output().expect("script(1) from util-linux");
        let seen = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(seen.contains("WARN") && seen.contains("connection failed"), "no warning logged:\n{seen}");
        seen
    };
    let coloured = on_a_terminal(None);
    assert!(has_colour(&coloured), "no colour on a terminal:\n{coloured:?}");
    let plain = on_a_terminal(Some("1"));
    assert!(!has_colour(&plain), "colour despite NO_COLOR:\n{plain:?}");
}

/// Whether `text` holds an SGR escape (`ESC [ params m`: colour, bold), as opposed to other terminal controls.
fn has_colour(text: &str) -> bool {
    text.split('\u{1b}').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|params| {
            let end = params.find(|c: char| !c.is_ascii_digit() && c != ';');
            end.is_some_and(|i| params[i..].starts_with('m'))
        })
    })
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

/// The README's quick start, offline: the real export excerpt in `examples/` imports, builds and serves.
#[test]
fn the_shipped_example_export_imports_builds_and_serves() {
    let dir = temp_dir("cli-example");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/spd-export-2025-12-excerpt.csv");
    let d = dir.join("data");
    let d = d.to_str().unwrap();
    let out = crimewatch(&dir, &["--json", "--data-dir", d, "import", example.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["rows_written"].as_u64(), summary["rows_quarantined"].as_u64()), (Some(130), Some(0)));
    let out = crimewatch(&dir, &["--json", "--data-dir", d, "build"]);
    assert!(out.status.success(), "{}", text(&out));
    let built: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((built["published"].as_bool(), built["fact_rows"].as_u64()), (Some(true), Some(130)), "{built:#}");
    let mut child = command(&dir, &["--data-dir", d, "serve", "--addr", "127.0.0.1:0", "--no-schedule"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line =
        BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok).find(|l| l.contains("serving"));
    let port = line.as_deref().and_then(|l| l.split("127.0.0.1:").nth(1)).and_then(|r| r.split('/').next());
    let health = port.map(|p| http_get(&format!("127.0.0.1:{p}"), "/api/health"));
    let _ = child.kill();
    let _ = child.wait();
    let (status, body) = health.expect("serve printed its address");
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((health["status"].as_str(), health["fact_rows"].as_u64()), (Some("ok"), Some(130)), "{health:#}");
}

/// One HTTP/1.0 GET (no keep-alive, no compression asked for): the status and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

/// README.md stays a short overview (≤ 200 lines), documents every exit code `--help` lists, and every relative
/// link in it, the stage pages and the examples' note points at a file that exists.
#[test]
fn readme_is_short_documents_every_exit_code_and_its_links_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.lines().count() <= 200, "README.md has {} lines", readme.lines().count());
    assert!(readme.contains("cargo run --release -- up") && readme.contains("scripts/test"), "the two commands");
    let help = String::from_utf8_lossy(&crimewatch(root, &["--help"]).stdout).to_string();
    let codes: Vec<&str> = help
        .split("Exit codes:")
        .nth(1)
        .expect("--help lists the exit codes")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(codes.len() >= 7, "{help}");
    for code in codes {
        assert!(readme.contains(&format!("\n| {code} | ")), "exit code {code} is not in README.md's table");
    }
    let mut pages = vec![root.join("README.md"), root.join("examples/README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in text.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let resolved = page.parent().unwrap().join(target);
            assert!(resolved.exists(), "{}: the link {target:?} points at nothing", page.display());
        }
    }
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
