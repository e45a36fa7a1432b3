//! Issue 17 against the real binary, each test reproducing a failure found by trying crimewatch the way an unlucky
//! disk or an attacker would: a ledger with a torn line and an invalid UTF-8 byte (`serve`/`up` used to exit 1);
//! a short admin token or a trigger on a public address (used to start without a word); guessed tokens (neither
//! logged nor slowed); error texts in public answers (absolute paths). The web server's limits, headers and CSV
//! escaping are in `web/limits.rs` and `web/surface.rs`, the quarantine counts in `web/quarantine.rs`.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crimewatch::domain::run::Trigger;
use crimewatch::domain::DataDir;
use crimewatch::runs::{LockHolder, RunLock};
use serde_json::Value;

use crate::schedule::{crimewatch, get_json, ledger_lines, runs_json, write_config, Server};
use crate::tempdir::TempDir;

const TOKEN: &str = "0123456789abcdef0123456789abcdef-test-token";

/// A URL nobody listens on: runs against it fail at once.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// Runs `cmd` to its end, or kills it after `limit` (a server that should have refused to start): `None` then.
fn run_briefly(mut cmd: Command, limit: Duration) -> Option<Output> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let begun = Instant::now();
    while begun.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_up_start_and_list_runs_with_a_torn_and_invalid_utf8_ledger() {
    let dir = TempDir::new("hardening-ledger");
    let config = write_config(&dir, "");
    let source = closed_port();
    // One recorded run (a build with no lake fails), then what a power loss and a bad disk leave behind: a line
    // holding an invalid UTF-8 byte, and a last line torn inside a multi-byte character, without its newline.
    let out = crimewatch(&dir, &source, &config).arg("build").output().unwrap();
    assert!(!out.status.success());
    let ledger = dir.join("runs.jsonl");
    let mut f = std::fs::OpenOptions::new().append(true).open(&ledger).unwrap();
    f.write_all(b"{\"event\":\"started\",\"run_id\":\"bad\xe2\x28\"}\n{\"event\":\"finished\",\"run_id\":\"x\xc3")
        .unwrap();
    drop(f);

    // `up`: nothing is published, so it runs the pipeline first (the source is down: the run fails, on record
    // after the torn line), then serves and lists both runs.
    let mut cmd = crimewatch(&dir, &source, &config);
    cmd.args(["up", "--addr", "127.0.0.1:0", "--no-schedule"]).stderr(Stdio::null());
    let up = Server::spawn(cmd);
    // `up` serves at once and runs in the background: wait until its run is on record as ended.
    let begun = Instant::now();
    let body = loop {
        let body = get_json(&up.url("/api/runs")).await;
        let ended = body["runs"][0]["finished_at"].is_string();
        if ended || begun.elapsed() > Duration::from_secs(60) {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let runs = body["runs"].as_array().unwrap();
    let commands: Vec<(&str, &str)> =
        runs.iter().map(|r| (r["command"].as_str().unwrap(), r["status"].as_str().unwrap())).collect();
    assert_eq!(commands, [("run", "failed"), ("build", "failed")], "{body:#}");
    let status = tokio::task::spawn_blocking(move || up.sigterm_and_wait()).await.unwrap();
    assert!(status.success(), "{status:?}");
    // The torn line was ended before up's run was appended: its lines are whole and read back.
    let bytes = std::fs::read(&ledger).unwrap();
    let records = bytes.split(|b| *b == b'\n').filter(|l| serde_json::from_slice::<Value>(l).is_ok()).count();
    assert_eq!(records, 4, "two runs, two lines each");

    // `serve` on the same ledger, and the CLI's one warning naming the skipped lines.
    let mut cmd = crimewatch(&dir, &source, &config);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--no-schedule"]).stderr(Stdio::null());
    let serve = Server::spawn(cmd);
    assert_eq!(get_json(&serve.url("/api/runs")).await["runs"].as_array().unwrap().len(), 2);
    drop(serve);
    let out = crimewatch(&dir, &source, &config).arg("runs").env("NO_COLOR", "1").output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("unreadable line")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("skipped 2 unreadable line(s)") && warnings[0].contains("line 3, 4"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_admin_token_or_a_public_trigger_is_refused_at_start() {
    let dir = TempDir::new("hardening-trigger-policy");
    let config = write_config(&dir, "");
    let serve = |token: Option<&str>, args: &[&str]| {
        let mut cmd = crimewatch(&dir, &closed_port(), &config);
        cmd.arg("serve").args(["--no-schedule"]).args(args);
        if let Some(t) = token {
            cmd.env("CRIMEWATCH_ADMIN_TOKEN", t);
        }
        cmd
    };
    let refused = |cmd: Command, needles: &[&str]| {
        let out = run_briefly(cmd, Duration::from_secs(60)).expect("the server started instead of refusing");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
        }
        assert!(!stderr.contains(TOKEN), "the token is printed: {stderr}");
    };
    refused(serve(Some("abc"), &["--addr", "127.0.0.1:0"]), &["3 characters", "at least 32", "openssl rand -hex 32"]);
    refused(
        serve(Some(TOKEN), &["--addr", "0.0.0.0:0"]),
        &["0.0.0.0:0 is not a loopback address", "TLS proxy", "--allow-remote-trigger"],
    );
    // `up` refuses before its first run: nothing is fetched, nothing recorded.
    let mut up = crimewatch(&dir, &closed_port(), &config);
    up.args(["up", "--addr", "0.0.0.0:0"]).env("CRIMEWATCH_ADMIN_TOKEN", "short");
    refused(up, &["5 characters"]);
    assert!(ledger_lines(&dir).is_empty(), "a refused start runs nothing");

    // Allowed: a proxy declared, a trigger on loopback, or no trigger at all on a public address.
    for (token, args, trigger) in [
        (Some(TOKEN), &["--addr", "0.0.0.0:0", "--allow-remote-trigger"][..], 401),
        (Some(TOKEN), &["--addr", "127.0.0.1:0"], 401),
        (None, &["--addr", "0.0.0.0:0"], 403),
    ] {
        let server = Server::spawn(serve(token, args));
        let status = reqwest::Client::new().post(server.url("/api/runs")).send().await.unwrap().status().as_u16();
        assert_eq!(status, trigger, "{args:?}: POST /api/runs without a token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authorisations_are_logged_with_the_client_address_and_slowed_down() {
    let dir = TempDir::new("hardening-guessing");
    let config = write_config(&dir, "");
    let log = dir.join("serve.log");
    let mut cmd = crimewatch(&dir, &closed_port(), &config);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--no-schedule"])
        .env("CRIMEWATCH_ADMIN_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .stderr(std::fs::File::create(&log).unwrap());
    let server = Server::spawn(cmd);
    let url = server.url("/api/runs");
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..12 {
        let resp = client.post(&url).bearer_auth(format!("guess-{i:02}-0123456789abcdef0123456789")).send().await;
        let resp = resp.unwrap();
        if resp.status() == 429 {
            let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&wait), "Retry-After {wait}");
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "then refused without looking: {statuses:?}");
    // Even the right token waits its turn; after Retry-After it gets through (409: a lock held by this test, so
    // no pipeline runs).
    let holder = LockHolder::this_process(Trigger::Cli, "run", None);
    let lock = RunLock::acquire_as(&DataDir::new(dir.path()), Duration::ZERO, holder).unwrap();
    assert_eq!(client.post(&url).bearer_auth(TOKEN).send().await.unwrap().status(), 429);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = client.post(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 409);
    let body = resp.text().await.unwrap();
    assert!(body.contains("DATA_DIR/crimewatch.lock") && !body.contains(dir.to_str().unwrap()), "{body}");
    drop(lock);
    let status = tokio::task::spawn_blocking(move || server.sigterm_and_wait()).await.unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let failures: Vec<&str> = text.lines().filter(|l| l.contains("failed authorisation for POST")).collect();
    assert_eq!(failures.len(), 5, "each try that was looked at is logged once:\n{text}");
    assert!(failures.iter().all(|l| l.contains("client=127.0.0.1") && l.contains("WARN")), "{failures:?}");
    assert_eq!(text.matches("too many failed authorisations").count(), 1, "the refusals are logged once:\n{text}");
    assert!(!text.contains("guess-0") && !text.contains(TOKEN), "a token reached the log:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_error_body_or_listed_run_carries_an_absolute_path() {
    let dir = TempDir::new("hardening-paths");
    let config = write_config(&dir, "");
    let data_dir = dir.to_str().unwrap().to_string();
    // Runs that fail naming paths: a build without a lake (the data dir's path), an import of a file elsewhere.
    let out = crimewatch(&dir, &closed_port(), &config).arg("build").output().unwrap();
    assert!(!out.status.success());
    let elsewhere = TempDir::new("hardening-paths-export");
    let export = elsewhere.join("export.csv");
    std::fs::write(&export, "not,an,export\n1,2,3\n").unwrap();
    let out = crimewatch(&dir, &closed_port(), &config).arg("import").arg(&export).output().unwrap();
    assert!(!out.status.success());
    let recorded: Vec<String> =
        ledger_lines(&dir).iter().filter_map(|l| l["error"].as_str().map(str::to_string)).collect();
    assert!(recorded.iter().any(|e| e.contains(&data_dir)), "the ledger keeps the full text: {recorded:?}");
    assert!(recorded.iter().any(|e| e.contains(export.to_str().unwrap())), "{recorded:?}");
    // A published file DuckDB cannot open: every data endpoint answers 500.
    std::fs::write(dir.join("warehouse.duckdb"), b"not a DuckDB file").unwrap();

    let mut cmd = crimewatch(&dir, &closed_port(), &config);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--no-schedule"]).stderr(Stdio::null());
    let server = Server::spawn(cmd);
    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    for path in ["/api/runs", "/api/health", "/api/trend", "/api/areas", "/api/offenses", "/api/heatmap", "/nope"] {
        let resp = client.get(server.url(path)).send().await.unwrap();
        let status = resp.status().as_u16();
        bodies.push((path, status, resp.text().await.unwrap()));
    }
    let resp = client.post(server.url("/api/runs")).send().await.unwrap();
    bodies.push(("POST /api/runs", resp.status().as_u16(), resp.text().await.unwrap()));
    for (path, status, body) in &bodies {
        for leak in [data_dir.as_str(), elsewhere.to_str().unwrap(), "/tmp/", "warehouse.duckdb"] {
            assert!(!body.contains(leak), "{path} ({status}) leaks {leak:?}: {body}");
        }
    }
    assert!(bodies.iter().filter(|b| b.1 == 500).count() >= 5, "{bodies:#?}");
    let runs: Value = serde_json::from_str(&bodies[0].2).unwrap();
    let shown: Vec<&str> = runs["runs"].as_array().unwrap().iter().filter_map(|r| r["error"].as_str()).collect();
    assert_eq!(shown.len(), 2, "{runs:#}");
    assert!(shown.iter().any(|e| e.contains("no lake at DATA_DIR/lake")), "{shown:?}");
    assert!(shown.iter().any(|e| e.contains("…/export.csv")), "{shown:?}");
    drop(server);
    // The operator's own view keeps the detail.
    let cli = runs_json(&dir, &config);
    assert!(cli.to_string().contains(&data_dir), "{cli:#}");
}

#[test]
fn the_service_unit_raises_the_open_file_limit_above_the_connection_cap() {
    let unit =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/crimewatch.service")).unwrap();
    let limit: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .expect("LimitNOFILE in deploy/crimewatch.service")
        .trim()
        .parse()
        .unwrap();
    let cap = crimewatch::web::WebConfig::default().max_connections as u64;
    assert!(limit >= 4 * cap, "LimitNOFILE={limit} leaves too little room above web.max_connections = {cap}");
}
