//! `crimewatch run`: ingest then build, as one locked run on record in the ledger (trigger `cli`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use crimewatch::pipeline::{IngestOptions, Progress};
use crimewatch::schedule::{begin, RunReport, RunRequest, RunStatus, ScheduleError, StartedRun, Trigger};
use crimewatch::settings::Settings;
use tokio::sync::watch;

use super::{Context, IngestArgs};

pub fn execute(ctx: &Context, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let progress = if ctx.json { Progress::Hidden } else { Progress::detect() };
    let request = RunRequest {
        ingest: IngestOptions { since: args.since, until: args.until, full: args.full },
        ..RunRequest::once(Trigger::Cli, progress)
    };
    let started = begin_waiting(&ctx.settings, request)?;
    if let Some(stale) = started.stale_lock() {
        eprintln!("note: cleared a stale run lock left by a process that was killed ({stale})");
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(stop_on_signals(stop_tx));
        started.execute(stop_rx).await
    });
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&json_report(&report))?);
    } else {
        print_report(&report);
    }
    match report.status {
        RunStatus::Succeeded => Ok(ExitCode::SUCCESS),
        RunStatus::Abandoned => Ok(ExitCode::from(130)),
        _ => anyhow::bail!(
            "run {} failed: {}",
            report.run_id,
            report.error.as_deref().unwrap_or("unknown error (see the log above)")
        ),
    }
}

/// Takes the run lock; when another run holds it, says so and waits up to `schedule.lock_wait_seconds`.
pub(crate) fn begin_waiting(settings: &Settings, request: RunRequest) -> anyhow::Result<StartedRun> {
    match begin(settings, request.clone(), Duration::ZERO) {
        Ok(started) => Ok(started),
        Err(ScheduleError::LockBusy { holder, .. }) => {
            eprintln!(
                "another run ({holder}) holds the run lock; waiting up to {} s for it to finish...",
                settings.lock_wait.as_secs()
            );
            Ok(begin(settings, request, settings.lock_wait)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// First Ctrl-C/SIGTERM: stop cleanly (an ingest stops, a warehouse publish finishes). Second: quit now — safe
/// too, since every step on disk is a rename, and the ledger then shows the run as abandoned.
pub(crate) async fn stop_on_signals(stop: watch::Sender<bool>) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
        return;
    };
    let first = tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    };
    eprintln!("crimewatch: {first}: stopping (a warehouse publish in progress finishes first; Ctrl-C again quits now)");
    stop.send_replace(true);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    eprintln!("crimewatch: quitting now");
    std::process::exit(130);
}

/// The report as `--json` prints it.
pub(crate) fn json_report(report: &RunReport) -> serde_json::Value {
    serde_json::json!({
        "run_id": report.run_id,
        "status": report.status,
        "ingest": report.ingest,
        "build": report.build,
        "error": report.error,
    })
}

/// Both summaries, one screen.
pub(crate) fn print_report(report: &RunReport) {
    println!("run {}: {}", report.run_id, report.status);
    if let Some(i) = &report.ingest {
        println!(
            "  ingest  months added {}, changed {}, deleted {}, unchanged {}; rows {} (quarantined {}); {} requests, {}; {:.1} s",
            i.months_added.len(),
            i.months_changed.len(),
            i.months_deleted.len(),
            i.months_unchanged,
            i.rows_written,
            i.rows_quarantined,
            i.requests,
            human_bytes(i.bytes),
            i.seconds
        );
        if i.dataset_replaced {
            println!("          the publisher replaced the whole dataset; every month that moved was fetched again");
        }
        if !i.new_columns.is_empty() {
            println!("          new source columns kept as text in extra_columns: {}", i.new_columns.join(", "));
        }
        for note in &i.notes {
            println!("          note: {note}");
        }
    }
    if let Some(b) = &report.build {
        println!(
            "  build   {} models; data tests {} passed, {} warned, {} failed; {} fact rows; {}; {:.1} s",
            b.models,
            b.tests_passed,
            b.tests_warned,
            b.tests_failed,
            b.fact_rows,
            if b.published { format!("published {}", b.warehouse.display()) } else { "not published".to_string() },
            b.seconds
        );
        for w in &b.warnings {
            println!("          warning: {w}");
        }
    }
    if let Some(e) = &report.error {
        println!("  error   {e}");
    }
}

pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
