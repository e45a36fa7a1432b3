//! `crimewatch run`: ingest then build (then publish to BigQuery when a project is set), as one locked run on
//! record in the ledger (trigger `cli`).

use crimewatch::domain::run::RunStatus;
use crimewatch::domain::Bytes;
use crimewatch::pipeline::IngestOptions;
use crimewatch::runs::{Finished, Work};

use super::{Context, IngestArgs, Outcome};

pub fn execute(ctx: &Context, args: &IngestArgs) -> Outcome {
    let opts = IngestOptions { since: args.since, until: args.until, full: args.full };
    let started = super::begin_run(&ctx.settings, Work::Run(opts), ctx.progress())?;
    let finished = super::finish_run(started)?;
    let report = json_report(&finished);
    if finished.summary.status == RunStatus::Succeeded {
        if ctx.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_report(&finished);
        }
        return Ok(());
    }
    if !ctx.json {
        print_report(&finished);
    }
    let (run_id, stopped) = (finished.summary.run_id.clone(), finished.summary.status == RunStatus::Abandoned);
    let failure = super::failure(finished);
    let failure = if stopped { failure } else { failure.context(format!("run {run_id} failed")) };
    // `--json`: the error object, with the run's id, status and stage summaries beside it.
    let mut details = report;
    if let Some(fields) = details.as_object_mut() {
        fields.remove("error");
    }
    Err(failure.with_details(details))
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

/// Both summaries, one screen, on stdout.
fn print_report(report: &Finished) {
    print!("{}", report_text(report));
}

/// Both summaries, one screen of text (`up` says its background first run's on stderr: its stdout is the
/// serving line only, and may be closed by then).
pub(crate) fn report_text(report: &Finished) -> String {
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    line(&format!("run {}: {}", report.summary.run_id, report.summary.status));
    if let Some(i) = &report.ingest {
        line(&format!(
            "  ingest  months added {}, changed {}, deleted {}, unchanged {}; rows {} (quarantined {}); {} requests, {}; {:.1} s",
            i.months_added.len(),
            i.months_changed.len(),
            i.months_deleted.len(),
            i.months_unchanged,
            i.rows_written,
            i.rows_quarantined,
            i.requests,
            Bytes(i.bytes),
            i.seconds
        ));
        if i.dataset_replaced {
            line("          the publisher replaced the whole dataset; every month that moved was fetched again");
        }
        if !i.new_columns.is_empty() {
            line(&format!("          new source columns kept as text in extra_columns: {}", i.new_columns.join(", ")));
        }
        for note in &i.notes {
            line(&format!("          note: {note}"));
        }
    }
    if let Some(b) = &report.build {
        line(&format!(
            "  build   {} models; data tests {} passed, {} warned, {} failed; {} fact rows; {}; {:.1} s",
            b.models,
            b.tests_passed,
            b.tests_warned,
            b.tests_failed,
            b.fact_rows,
            if b.published { format!("published {}", b.warehouse.display()) } else { "not published".to_string() },
            b.seconds
        ));
        for w in &b.warnings {
            line(&format!("          warning: {w}"));
        }
    }
    if let Some(p) = &report.bigquery {
        line(&format!("  bigquery {}", super::publish::one_line(p)));
    }
    if let Some(e) = &report.summary.error {
        line(&format!("  error   {e}"));
    }
    out
}
