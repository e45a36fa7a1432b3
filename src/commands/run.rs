//! `crimewatch run`: ingest then build (then publish to BigQuery when a project is set), as one locked run on
//! record in the ledger (trigger `cli`).

use std::process::ExitCode;

use anyhow::Context as _;
use crimewatch::domain::run::RunStatus;
use crimewatch::pipeline::IngestOptions;
use crimewatch::runs::{Finished, Work};
use tokio::sync::watch;

use super::{Context, IngestArgs};

pub fn execute(ctx: &Context, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let opts = IngestOptions { since: args.since, until: args.until, full: args.full };
    let started = super::begin_run(&ctx.settings, Work::Run(opts), ctx.progress())?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let finished = runtime.block_on(async {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(stop_on_signals(stop_tx));
        started.execute(stop_rx).await
    });
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&json_report(&finished))?);
    } else {
        print_report(&finished);
    }
    let run = &finished.summary;
    match run.status {
        RunStatus::Succeeded => Ok(ExitCode::SUCCESS),
        RunStatus::Abandoned => Ok(ExitCode::from(130)),
        _ => anyhow::bail!(
            "run {} failed: {}",
            run.run_id,
            run.error.as_deref().unwrap_or("unknown error (see the log above)")
        ),
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

/// The run as `--json` prints it: its id and status, and its stages' summaries.
pub(crate) fn json_report(finished: &Finished) -> serde_json::Value {
    serde_json::json!({
        "run_id": finished.summary.run_id,
        "status": finished.summary.status,
        "ingest": finished.ingest,
        "build": finished.build,
        "bigquery": finished.bigquery,
        "error": finished.summary.error,
    })
}

/// The stages' summaries, one screen.
pub(crate) fn print_report(report: &Finished) {
    println!("run {}: {}", report.summary.run_id, report.summary.status);
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
    if let Some(p) = &report.bigquery {
        println!("  bigquery {}", super::publish::one_line(p));
    }
    if let Some(e) = &report.summary.error {
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
