//! `crimewatch build`: lake → warehouse, printing a summary, or the failed data tests with sample rows.

use crimewatch::domain::run::RunStatus;
use crimewatch::pipeline::PipelineError;
use crimewatch::runs::{RunFailure, Work};
use crimewatch::warehouse::BuildSummary;

use super::{Context, Outcome};

pub fn execute(ctx: &Context) -> Outcome {
    let started = super::begin_run(&ctx.settings, Work::Build, ctx.progress())?;
    let mut finished = super::finish_run(started)?;
    if let (Some(summary), RunStatus::Succeeded) = (finished.build.take(), finished.summary.status) {
        print_summary(ctx, &summary)?;
        return Ok(());
    }
    // Failed data tests (exit 4): `--json` adds them, with their sample rows, beside the error.
    let failed_tests = match &finished.failure {
        Some(RunFailure::Pipeline(PipelineError::Warehouse(err))) => err.failed_tests().map(<[_]>::to_vec),
        _ => None,
    };
    let failure = super::failure(finished);
    Err(match failed_tests {
        Some(failed) => failure.with_details(serde_json::json!({ "published": false, "failed_tests": failed })),
        None => failure,
    })
}

/// The summary table (or JSON) printed after a published build.
pub fn print_summary(ctx: &Context, s: &BuildSummary) -> anyhow::Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    println!("warehouse published: {}", s.warehouse.display());
    println!("  {:<22} {:>12}", "seeds", s.seeds);
    println!("  {:<22} {:>12}", "models", s.models);
    println!("  {:<22} {:>12}", "tests passed", s.tests_passed);
    println!("  {:<22} {:>12}", "tests warned", s.tests_warned);
    println!("  {:<22} {:>12}", "lake rows", s.lake_rows);
    println!("  {:<22} {:>12}", "fact rows", s.fact_rows);
    println!("  {:<22} {:>12}", "excluded rows", s.excluded_rows);
    println!("  {:<22} {:>12.2}", "seconds", s.seconds);
    for w in &s.warnings {
        println!("warning: {w}");
    }
    Ok(())
}
