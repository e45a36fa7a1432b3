//! Schedule, run lock, run ledger, `POST /api/runs`, `crimewatch run`/`serve`/`up`: against the real binary,
//! the real pipeline and the SODA-compatible test server, all on 127.0.0.1, each test in its own data dir.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use crimewatch::domain::run::{RunStatus, Trigger};
use crimewatch::domain::DataDir;
use crimewatch::runs::{Ledger, LockHolder, RunLock, RunService, RunsError, ScheduledTry};
use crimewatch::schedule::{Outcome, Scheduler};
use crimewatch::settings::Settings;
use serde_json::Value;
use soda_testkit::generate::{self, GenSpec, Schema};
use soda_testkit::{Fault, FaultKind, Month, RequestKind, SodaServer};
use tokio::sync::watch;

use crate::tempdir::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_crimewatch");
const DATASET: &str = "tazs-3rd5";

fn temp_dir(name: &str) -> TempDir {
    TempDir::new(&format!("schedule-{name}"))
}

fn data_dir(dir: &Path) -> DataDir {
    DataDir::new(dir)
}

/// A small generated dataset over three months; the config below starts ingest at its first month.
fn small_rows(seed: u64) -> Vec<serde_json::Map<String, Value>> {
    generate::rows(&GenSpec {
        seed,
        first: Month::parse("2026-08").unwrap(),
        last: Month::parse("2026-10").unwrap(),
        rows: 300,
        schema: Schema::Nibrs,
    })
}

/// `crimewatch.toml` for tests: quick source failures, ingest from 2026-08, plus `extra`.
pub(crate) fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("crimewatch.toml");
    let text = format!(
        "[source]\nmax_attempts = 1\nbackoff_initial_ms = 10\ntimeout_seconds = 60\ndefault_since = \"2026-08\"\n{extra}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn settings_for(data_dir: &Path, url: &str) -> Settings {
    let mut s = Settings::for_data_dir(data_dir, url);
    s.source.max_attempts = 1;
    s.source.backoff_initial = Duration::from_millis(10);
    s.source.default_since = crimewatch::domain::Month::parse("2026-08").unwrap();
    s.lock_wait = Duration::ZERO;
    s
}

pub(crate) fn crimewatch(data_dir: &Path, url: &str, config: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data_dir).arg("--socrata-url").arg(url).arg("--config").arg(config);
    cmd.env_remove("CRIMEWATCH_ADMIN_TOKEN").env_remove("SODA_APP_TOKEN").env("RUST_LOG", "crimewatch=warn");
    cmd
}

/// A TCP server that accepts connections and never answers: a source that hangs, so a run stays in ingest.
/// Returns its URL and the number of connections it has accepted.
pub(crate) fn black_hole() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (url, accepted)
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let begun = Instant::now();
    while !done() {
        assert!(begun.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The ledger's lines as JSON.
pub(crate) fn ledger_lines(data_dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(data_dir.join("runs.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `crimewatch runs --json`, from a fresh process.
pub(crate) fn runs_json(data_dir: &Path, config: &Path) -> Value {
    let out = crimewatch(data_dir, "http://127.0.0.1:9", config).args(["--json", "runs"]).output().unwrap();
    assert!(out.status.success(), "runs failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A spawned `serve`/`up` and the port it printed (its stderr goes where `cmd` says: inherited by default).
pub(crate) struct Server {
    child: Child,
    port: u16,
}

impl Server {
    pub(crate) fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("serving http://").nth(1) {
                    let port =
                        rest.split(['/', ' ']).next().and_then(|hp| hp.rsplit(':').next()).and_then(|p| p.parse().ok());
                    let _ = tx.send(port);
                }
            }
        });
        let port: u16 =
            rx.recv_timeout(Duration::from_secs(300)).ok().flatten().expect("the server printed its address");
        Server { child, port }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn sigterm_and_wait(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let begun = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(begun.elapsed() < Duration::from_secs(60), "server did not stop within 60 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn get_json(url: &str) -> Value {
    let resp = reqwest::get(url).await.unwrap();
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap()
}

async fn wait_for_runs(url: &str, what: &str, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let begun = Instant::now();
    loop {
        let body = get_json(url).await;
        let runs = body["runs"].as_array().cloned().unwrap_or_default();
        if done(&runs) {
            return runs;
        }
        assert!(begun.elapsed() < timeout, "timed out waiting for {what}; runs: {runs:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn cli_run_waits_for_the_lock_then_fails_naming_the_holder() {
    let dir = temp_dir("contention");
    let config = write_config(&dir, "[schedule]\nlock_wait_seconds = 1");
    let holder = LockHolder::this_process(Trigger::Schedule, "run", Some("r-held-by-test".into()));
    let lock = RunLock::acquire_as(&data_dir(&dir), Duration::ZERO, holder).unwrap();
    let begun = Instant::now();
    let out = crimewatch(&dir, "http://127.0.0.1:9", &config).arg("run").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "run must fail while another process holds the lock: {stderr}");
    assert!(begun.elapsed() >= Duration::from_secs(1), "it must wait the configured second first");
    assert!(stderr.contains("waiting up to 1 s"), "{stderr}");
    let holder_text = format!("another run (pid {}, scheduled", std::process::id());
    assert!(stderr.contains(&holder_text), "the message names the holder: {stderr}");
    assert!(stderr.contains(&dir.join("crimewatch.lock").display().to_string()), "and the lock file: {stderr}");
    assert!(ledger_lines(&dir).is_empty(), "a run that never got the lock is not on record");
    drop(lock);
}

#[test]
fn killed_lock_holder_leaves_no_stale_lock() {
    let dir = temp_dir("stale");
    let config = write_config(&dir, "");
    let (hang, _) = black_hole();
    let mut child =
        crimewatch(&dir, &hang, &config).arg("run").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let pid = child.id();
    wait_until("the child's run to start", Duration::from_secs(60), || {
        RunLock::current_holder(&data_dir(&dir)).unwrap().is_some_and(|h| h.pid == pid)
    });
    match RunLock::acquire(&data_dir(&dir), Duration::ZERO) {
        Err(RunsError::LockBusy { holder, .. }) => assert!(holder.contains(&format!("pid {pid}, cli")), "{holder}"),
        other => panic!("expected the lock to be busy, got {other:?}"),
    }
    child.kill().unwrap(); // SIGKILL: no chance to release anything
    child.wait().unwrap();
    let lock = RunLock::acquire(&data_dir(&dir), Duration::ZERO).expect("the kernel released the dead holder's lock");
    assert_eq!(lock.stale_holder().map(|h| h.pid), Some(pid), "the dead holder's entry is detected as stale");
    drop(lock);
    let runs = runs_json(&dir, &config);
    assert_eq!(runs["runs"][0]["status"], "abandoned", "{runs:#}");
    assert_eq!(runs["runs"][0]["trigger"], "cli");
}

#[test]
fn sigterm_during_a_scheduled_run_records_it_abandoned_and_exits_cleanly() {
    let dir = temp_dir("sigterm");
    let config = write_config(&dir, "");
    let (hang, connections) = black_hole();
    let mut cmd = crimewatch(&dir, &hang, &config);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--schedule", "*/2 * * * * *"]);
    let server = Server::spawn(cmd);
    wait_until("a scheduled run to start ingesting", Duration::from_secs(30), || {
        ledger_lines(&dir).iter().any(|l| l["event"] == "started" && l["trigger"] == "schedule")
            && connections.load(Ordering::SeqCst) > 0
    });
    let status = server.sigterm_and_wait();
    assert!(status.success(), "serve exits 0 after SIGTERM, got {status:?}");
    let lines = ledger_lines(&dir);
    let finished: Vec<&Value> = lines.iter().filter(|l| l["event"] == "finished").collect();
    assert_eq!(finished.len(), 1, "{lines:#?}");
    assert_eq!(finished[0]["status"], "abandoned");
    assert!(finished[0]["error"].as_str().unwrap_or("").contains("during ingest"), "{:#}", finished[0]);
    assert!(RunLock::current_holder(&data_dir(&dir)).unwrap().is_none());
    assert!(!dir.join("warehouse.duckdb").exists(), "nothing half-published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_run_killed_then_restart_converges() {
    let dir = temp_dir("kill9");
    let config = write_config(&dir, "");
    let soda = SodaServer::start(DATASET, small_rows(11));
    let (hang, _) = black_hole();

    // First life: the scheduled run hangs on the source, and the process is killed in the middle of it.
    let mut cmd = crimewatch(&dir, &hang, &config);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--schedule", "*/2 * * * * *"]);
    let first = Server::spawn(cmd);
    let d = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        wait_until("a scheduled run to start", Duration::from_secs(30), || {
            ledger_lines(&d).iter().any(|l| l["event"] == "started" && l["trigger"] == "schedule")
        })
    })
    .await
    .unwrap();
    drop(first); // SIGKILL
    let killed = runs_json(&dir, &config);
    assert_eq!(killed["runs"].as_array().unwrap().len(), 1);
    assert_eq!(killed["runs"][0]["status"], "abandoned");

    // Second life, source reachable: the made-up run succeeds.
    let mut cmd = crimewatch(&dir, &soda.url(), &config);
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--schedule", "*/2 * * * * *"]);
    let second = Server::spawn(cmd);
    let runs = wait_for_runs(&second.url("/api/runs"), "a succeeded scheduled run", Duration::from_secs(180), |runs| {
        runs.iter().any(|r| r["trigger"] == "schedule" && r["status"] == "succeeded")
    })
    .await;
    assert!(runs.iter().any(|r| r["status"] == "abandoned"), "the killed run stays on record: {runs:#?}");
    let status = tokio::task::spawn_blocking(move || second.sigterm_and_wait()).await.unwrap();
    assert!(status.success());

    // Read back by a third process: both runs, and a published warehouse.
    let after = runs_json(&dir, &config);
    let statuses: Vec<&str> = after["runs"].as_array().unwrap().iter().filter_map(|r| r["status"].as_str()).collect();
    assert!(statuses.contains(&"abandoned") && statuses.contains(&"succeeded"), "{statuses:?}");
    assert!(dir.join("warehouse.duckdb").exists());
    assert!(RunLock::current_holder(&data_dir(&dir)).unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_run_retries_after_source_failures_then_succeeds() {
    let dir = temp_dir("retry");
    let soda = SodaServer::start(DATASET, small_rows(12));
    // The source client tries once per request (config), so each fault fails one scheduled try.
    soda.push_fault(Fault { when: RequestKind::Any, times: 2, kind: FaultKind::ServerError });
    let mut settings = settings_for(&dir, &soda.url());
    settings.schedule.retry.max_attempts = 3;
    settings.schedule.retry.initial = ChronoDuration::seconds(30);
    let (_stop_tx, stop_rx) = watch::channel(false);
    let service = RunService::new(settings.runs(), stop_rx);
    let cron = settings.schedule.cron.clone();
    // The injected clock: the process starts on 20 November; 1 November's fire time was missed.
    let t0 = "2026-11-20T08:00:00Z".parse().unwrap();
    let handled = Some("2026-10-01T15:00:00Z".parse().unwrap());
    let mut scheduler = Scheduler::new(cron, settings.schedule.retry.clone(), handled, t0);

    let mut clock = t0;
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let svc = service.clone();
        let finished_at = clock + ChronoDuration::seconds(5);
        let outcome = scheduler
            .try_run_due(clock, |due| async move {
                let scheduled = ScheduledTry {
                    scheduled_for: due.scheduled_for,
                    attempt: due.attempt,
                    retry_on_failure: due.retry_on_failure,
                };
                (svc.run_scheduled(scheduled).await, finished_at)
            })
            .await;
        if let Outcome::WillRetry { retry_at, .. } = &outcome {
            assert!(*retry_at > clock, "backoff moves the retry into the future");
            // Not due a moment before the retry time.
            assert!(scheduler.due(*retry_at - ChronoDuration::seconds(1)).is_none());
            clock = *retry_at;
        }
        outcomes.push(outcome);
    }
    assert!(matches!(outcomes[0], Outcome::WillRetry { .. }), "{outcomes:?}");
    assert!(matches!(outcomes[1], Outcome::WillRetry { .. }), "{outcomes:?}");
    assert!(matches!(&outcomes[2], Outcome::Succeeded { due, .. } if due.attempt == 3), "{outcomes:?}");
    // Backoff doubled: 30 s after try 1, 60 s after try 2 (each try "took" 5 s on the injected clock).
    assert_eq!(clock, t0 + ChronoDuration::seconds(5 + 30 + 5 + 60));

    let runs = Ledger::new(&data_dir(&dir)).runs().unwrap();
    let got: Vec<(u32, RunStatus, bool)> = runs.iter().rev().map(|r| (r.attempt, r.status, r.will_retry)).collect();
    assert_eq!(
        got,
        [(1, RunStatus::Failed, true), (2, RunStatus::Failed, true), (3, RunStatus::Succeeded, false)],
        "{runs:#?}"
    );
    let fire = "2026-11-01T15:00:00Z".parse().unwrap();
    assert!(runs.iter().all(|r| r.trigger == Trigger::Schedule && r.scheduled_for == Some(fire)));
    assert!(runs[1].error.as_deref().is_some_and(|e| !e.is_empty()));
    assert!(runs[0].rows_written > 0 && runs[0].tests_failed == 0 && runs[0].published);
    assert!(dir.join("warehouse.duckdb").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_endpoint_needs_the_admin_token() {
    let dir = temp_dir("trigger");
    let config = write_config(&dir, "");
    let soda = SodaServer::start(DATASET, small_rows(13));
    let serve = |token: Option<&str>| {
        let mut cmd = crimewatch(&dir, &soda.url(), &config);
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--no-schedule"]);
        if let Some(token) = token {
            cmd.env("CRIMEWATCH_ADMIN_TOKEN", token);
        }
        Server::spawn(cmd)
    };
    let client = reqwest::Client::new();

    // Unset: disabled, and the message says how to enable it.
    let disabled = serve(None);
    let resp = client.post(disabled.url("/api/runs")).bearer_auth("anything").send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("CRIMEWATCH_ADMIN_TOKEN"));
    drop(disabled);

    let server = serve(Some("right-token-0123456789-abcdefghij"));
    let url = server.url("/api/runs");
    let resp = client.post(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401, "no token");
    let resp = client.post(&url).bearer_auth("wrong-token-0123456789-abcdefghij").send().await.unwrap();
    assert_eq!(resp.status(), 401, "wrong token");
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let resp = client.post(&url).bearer_auth("right-token-0123456789-abcdefghi").send().await.unwrap();
    assert_eq!(resp.status(), 401, "a prefix of the token");
    assert!(ledger_lines(&dir).is_empty(), "refused requests start nothing");

    // Right token while another run holds the lock: 409 naming it.
    let holder = LockHolder::this_process(Trigger::Cli, "run", None);
    let lock = RunLock::acquire_as(&data_dir(&dir), Duration::ZERO, holder).unwrap();
    let resp = client.post(&url).bearer_auth("right-token-0123456789-abcdefghij").send().await.unwrap();
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains(&format!("pid {}", std::process::id())));
    drop(lock);

    // Right token: 202 with the run id, and the run shows up and succeeds.
    let resp = client.post(&url).bearer_auth("right-token-0123456789-abcdefghij").send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    let run_id = body["run_id"].as_str().unwrap().to_string();
    let runs = wait_for_runs(&url, "the manual run to succeed", Duration::from_secs(180), |runs| {
        runs.iter().any(|r| r["run_id"] == run_id.as_str() && r["status"] == "succeeded")
    })
    .await;
    let run = runs.iter().find(|r| r["run_id"] == run_id.as_str()).unwrap();
    assert_eq!(run["trigger"], "manual");
    for key in [
        "run_id",
        "trigger",
        "started_at",
        "finished_at",
        "status",
        "months_added",
        "months_changed",
        "months_deleted",
        "rows_written",
        "requests",
        "bytes",
        "tests_passed",
        "tests_warned",
        "tests_failed",
        "error",
    ] {
        assert!(run.get(key).is_some(), "GET /api/runs run objects carry {key}: {run:#}");
    }
    assert_eq!(run["months_added"], 3, "three generated months were new: {run:#}");
    assert!(run["requests"].as_u64().unwrap() > 0 && run["rows_written"].as_u64().unwrap() > 0);
    let body = get_json(&url).await;
    for key in ["next_run", "schedule", "timezone", "runs"] {
        assert!(body.get(key).is_some(), "{key} in {body:#}");
    }
    assert_eq!(body["schedule"], "0 15 1 * *");

    // A restarted server (a new process, same data dir) reads the same ledger back.
    let status = tokio::task::spawn_blocking(move || server.sigterm_and_wait()).await.unwrap();
    assert!(status.success(), "{status:?}");
    let restarted = serve(None);
    let again = get_json(&restarted.url("/api/runs")).await;
    assert_eq!(again["runs"][0]["run_id"], run_id.as_str());
    assert_eq!(again["runs"][0]["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_at_once_runs_the_first_pipeline_in_the_background_then_on_schedule() {
    let dir = temp_dir("up");
    let config = write_config(&dir, "");
    let soda = SodaServer::start(DATASET, small_rows(14));
    // The first run's schema probe is held: the server must be up, with nothing published, meanwhile.
    soda.push_fault(Fault { when: RequestKind::Probe, times: 1, kind: FaultKind::Stall { seconds: 10 } });
    let mut cmd = crimewatch(&dir, &soda.url(), &config);
    cmd.args(["up", "--addr", "127.0.0.1:0", "--schedule", "*/3 * * * * *"]);
    let server = Server::spawn(cmd);
    assert!(!dir.join("warehouse.duckdb").exists(), "up serves before its first run has published");
    let health = reqwest::get(server.url("/api/health")).await.unwrap();
    assert_eq!(health.status(), 503, "no data yet while the first run goes on");
    wait_for_runs(&server.url("/api/runs"), "the first run, running", Duration::from_secs(30), |runs| {
        runs.iter().any(|r| r["trigger"] == "cli" && r["status"] == "running")
    })
    .await;
    // When it publishes, the same server serves the data (the web follows the published file by itself).
    let begun = Instant::now();
    while reqwest::get(server.url("/api/health")).await.unwrap().status() != 200 {
        assert!(begun.elapsed() < Duration::from_secs(180), "the first run never published");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let runs = wait_for_runs(
        &server.url("/api/runs"),
        "a scheduled run after the first one",
        Duration::from_secs(180),
        |runs| runs.iter().any(|r| r["trigger"] == "schedule" && r["status"] == "succeeded"),
    )
    .await;
    let first = runs.last().unwrap();
    assert_eq!(first["trigger"], "cli", "up's own first run: {runs:#?}");
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["months_added"], 3);
    let scheduled = runs.iter().find(|r| r["trigger"] == "schedule" && r["status"] == "succeeded").unwrap();
    assert_eq!(scheduled["months_added"], 0, "nothing changed at the source: {scheduled:#}");
    let body = get_json(&server.url("/api/runs")).await;
    assert!(body["next_run"].is_string(), "{body:#}");
    assert_eq!(body["schedule"], "*/3 * * * * *");

    let status = tokio::task::spawn_blocking(move || server.sigterm_and_wait()).await.unwrap();
    assert!(status.success(), "{status:?}");
    let after = runs_json(&dir, &config);
    let n = after["runs"].as_array().unwrap().len();
    assert!(n >= 2, "the ledger read back after the restart: {after:#}");
    assert!(after["runs"].as_array().unwrap().iter().all(|r| r["status"] != "running"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_an_unreachable_source_says_so_and_serves_anyway() {
    let dir = temp_dir("unreachable");
    let config = write_config(&dir, "");
    // A port nobody listens on: bind, note the port, close.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let err_path = dir.join("stderr.txt");
    let mut cmd = crimewatch(&dir, &closed, &config);
    cmd.args(["up", "--addr", "127.0.0.1:0"]).stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let port = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).find_map(|l| {
            l.split("serving http://127.0.0.1:").nth(1).and_then(|r| r.split('/').next()?.parse::<u16>().ok())
        })
    })
    .await
    .unwrap()
    .expect("up serves even though the first run failed");
    // The first run goes on in the background; its failure is said, with the ways around it, once it ends.
    let stderr = tokio::task::spawn_blocking(move || {
        let mut stderr = String::new();
        wait_until("the first run's failure and guidance", Duration::from_secs(60), || {
            stderr = std::fs::read_to_string(&err_path).unwrap();
            stderr.contains("--socrata-url")
        });
        stderr
    })
    .await
    .unwrap();
    for needle in ["could not be read", &closed, "crimewatch import FILE", "--socrata-url"] {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
    let body = get_json(&format!("http://127.0.0.1:{port}/api/runs")).await;
    assert_eq!(body["runs"][0]["status"], "failed", "{body:#}");
    assert_eq!(body["runs"][0]["trigger"], "cli");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn cli_run_ingests_builds_and_is_on_record() {
    let dir = temp_dir("clirun");
    let config = write_config(&dir, "");
    let soda = SodaServer::start(DATASET, small_rows(15));
    let out = crimewatch(&dir, &soda.url(), &config).args(["--json", "run"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(report["ingest"]["months_added"].as_array().map(Vec::len), Some(3), "{report:#}");
    assert_eq!(report["ingest"]["rows_written"], 300);
    assert_eq!(report["build"]["published"], true);
    assert_eq!(report["build"]["tests_failed"], 0);
    let runs = runs_json(&dir, &config);
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);
    let run = &runs["runs"][0];
    assert_eq!((run["trigger"].as_str(), run["status"].as_str()), (Some("cli"), Some("succeeded")));
    assert_eq!(run["run_id"], report["run_id"]);
    assert_eq!(run["rows_written"], 300);
    assert_eq!(run["requests"].as_u64(), Some(soda.request_count() as u64), "the ledger counts every request made");
    // The table form names the run too.
    let table = crimewatch(&dir, &soda.url(), &config).arg("runs").output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains(report["run_id"].as_str().unwrap()) && text.contains("succeeded"), "{text}");
}

#[test]
fn cli_ingest_import_and_build_are_on_record() {
    let dir = temp_dir("clistages");
    let config = write_config(&dir, "");
    let soda = SodaServer::start(DATASET, small_rows(16));
    let cli = |args: &[&str]| crimewatch(&dir, &soda.url(), &config).args(args).output().unwrap();
    for args in [&["ingest"][..], &["build"]] {
        let out = cli(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let export = dir.join("export.csv");
    std::fs::write(
        &export,
        "Report Number,Offense ID,Offense Start DateTime,Report DateTime,MCPP\n\
         2020-1,11,12/01/2020 06:35:48 PM,12/01/2020 06:40:00 PM,FREMONT\n\
         2020-2,12,12/02/2020 06:35:48 PM,01/02/2021 06:40:00 AM,BALLARD SOUTH\n",
    )
    .unwrap();
    let out = cli(&["import", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let junk = dir.join("junk.csv");
    std::fs::write(&junk, "hello\nworld\n").unwrap();
    assert!(!cli(&["import", junk.to_str().unwrap()]).status.success());

    let body = runs_json(&dir, &config);
    let runs = body["runs"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = runs
        .iter()
        .map(|r| (r["command"].as_str().unwrap(), r["trigger"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("import", "cli", "failed"),
            ("import", "cli", "succeeded"),
            ("build", "cli", "succeeded"),
            ("ingest", "cli", "succeeded")
        ],
        "newest first: {body:#}"
    );
    let (failed, import, build, ingest) = (&runs[0], &runs[1], &runs[2], &runs[3]);
    assert!(failed["error"].as_str().unwrap().contains("junk.csv"), "{failed:#}");
    assert_eq!((import["months_added"].as_u64(), import["rows_written"].as_u64()), (Some(2), Some(2)));
    assert!(build["published"] == true && build["tests_passed"].as_u64() > Some(0), "{build:#}");
    assert_eq!(build["months_added"], 0);
    assert_eq!((ingest["months_added"].as_u64(), ingest["rows_written"].as_u64()), (Some(3), Some(300)));
    assert_eq!(ingest["requests"].as_u64(), Some(soda.request_count() as u64), "{ingest:#}");
    assert!(runs.iter().all(|r| r["finished_at"].is_string()));
    // The table names each command too.
    let table = String::from_utf8_lossy(&cli(&["runs"]).stdout).to_string();
    for command in ["ingest", "build", "import"] {
        assert!(table.lines().skip(1).any(|l| l.contains(&format!(" {command} "))), "{command}: {table}");
    }
    assert!(RunLock::current_holder(&data_dir(&dir)).unwrap().is_none());
}
