//! `crimewatch publish`: copy the published warehouse to BigQuery, as one locked run on record in the ledger
//! (trigger `cli`, command `publish`).

use crimewatch::bigquery::BigQueryError;
use crimewatch::domain::Bytes;
use crimewatch::pipeline::PublishSummary;
use crimewatch::runs::Work;

use super::{Context, Outcome};

pub fn execute(ctx: &Context) -> Outcome {
    if ctx.settings.bigquery.is_none() {
        // Said before a run is recorded: nothing was tried.
        return Err(BigQueryError::NotConfigured.into());
    }
    let started = super::begin_run(&ctx.settings, Work::Publish, ctx.progress())?;
    let mut finished = super::finish_run(started)?;
    let (Some(summary), None) = (finished.bigquery.take(), &finished.failure) else {
        return Err(super::failure(finished));
    };
    if ctx.json {
        let mut report = serde_json::to_value(&summary)?;
        report["run_id"] = serde_json::json!(finished.summary.run_id);
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("published to BigQuery: {}", one_line(&summary));
        for t in &summary.published {
            println!("  {:<40} {}", format!("{}.{}", t.dataset, t.table), t.loaded_from);
        }
    }
    Ok(())
}

/// The publish in one line, for `publish` and `run`.
pub(crate) fn one_line(s: &PublishSummary) -> String {
    format!(
        "project {}: {} table(s) loaded, {} unchanged; {} load, {} copy, {} query job(s); {} uploaded; {:.1} s",
        s.project,
        s.published.len(),
        s.unchanged.len(),
        s.load_jobs,
        s.copy_jobs,
        s.query_jobs,
        Bytes(s.bytes_uploaded),
        s.seconds
    )
}
