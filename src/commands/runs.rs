//! `crimewatch runs`: the run ledger, newest first (a table, or with `--json` the `GET /api/runs` body).

use std::process::ExitCode;

use chrono::Utc;
use crimewatch::domain::run::RunSummary;
use crimewatch::runs::Ledger;
use crimewatch::web::RunsResponse;

use super::{Context, RunsArgs};
use crimewatch::domain::Bytes;

pub fn execute(ctx: &Context, args: &RunsArgs) -> anyhow::Result<ExitCode> {
    let settings = &ctx.settings;
    let ledger = Ledger::new(&settings.data_dir);
    let runs: Vec<RunSummary> = ledger.runs()?.into_iter().take(args.limit).collect();
    // The next fire time as this config reads it; it happens only while `serve`/`up` keeps the schedule.
    let cron = &settings.schedule.cron;
    let body = RunsResponse {
        next_run: cron.next_after(Utc::now()),
        schedule: cron.expression().to_string(),
        timezone: cron.timezone().name().to_string(),
        runs,
    };
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    if body.runs.is_empty() {
        println!("no runs recorded yet in {}", ledger.path().display());
    } else {
        print_table(&body.runs);
    }
    if let Some(next) = body.next_run {
        println!(
            "\nschedule `{}` ({}): next run {} (while `crimewatch serve` or `crimewatch up` is running)",
            body.schedule,
            body.timezone,
            next.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The run's publish to BigQuery: tables loaded and unchanged, `failed`, or `-` when it did not publish.
fn bigquery_cell(r: &RunSummary) -> String {
    match &r.bigquery {
        None => "-".to_string(),
        Some(b) if b.error.is_some() => "failed".to_string(),
        Some(b) => format!("{} loaded, {} same", b.tables_loaded, b.tables_skipped),
    }
}

fn print_table(runs: &[RunSummary]) {
    let header = [
        "RUN",
        "TRIGGER",
        "COMMAND",
        "STARTED (UTC)",
        "TOOK",
        "STATUS",
        "MONTHS +/~/-",
        "ROWS",
        "REQ",
        "BYTES",
        "TESTS ok/warn/fail",
        "BIGQUERY",
        "ERROR",
    ];
    let rows: Vec<[String; 13]> = runs
        .iter()
        .map(|r| {
            let took = r.finished_at.map_or_else(
                || "-".to_string(),
                |f| format!("{:.0} s", (f - r.started_at).num_milliseconds() as f64 / 1000.0),
            );
            let mut error = r.error.clone().unwrap_or_default().replace('\n', " ");
            if error.chars().count() > 60 {
                error = format!("{}...", error.chars().take(57).collect::<String>());
            }
            [
                r.run_id.clone(),
                r.trigger.to_string(),
                r.command.to_string(),
                r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                took,
                if r.will_retry { format!("{} (will retry)", r.status) } else { r.status.to_string() },
                format!("{}/{}/{}", r.months_added.len(), r.months_changed.len(), r.months_deleted.len()),
                r.rows_written.to_string(),
                r.requests.to_string(),
                Bytes(r.bytes).to_string(),
                format!("{}/{}/{}", r.tests_passed, r.tests_warned, r.tests_failed),
                bigquery_cell(r),
                error,
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}
