//! `crimewatch build`: lake → warehouse, printing a summary, or the failed data tests with sample rows.

use std::process::ExitCode;

use crimewatch::pipeline::PipelineError;
use crimewatch::runs::{Finished, RunFailure, Work};
use crimewatch::warehouse::BuildSummary;

use super::Context;

pub fn execute(ctx: &Context) -> anyhow::Result<ExitCode> {
    let started = super::begin_run(&ctx.settings, Work::Build, ctx.progress())?;
    report(ctx, super::finish_run(started)?)
}

/// Prints a build's outcome: the summary, or the failed data tests (exit 1); other errors go up.
fn report(ctx: &Context, mut finished: Finished) -> anyhow::Result<ExitCode> {
    if let (Some(summary), None) = (finished.build.take(), &finished.failure) {
        print_summary(ctx, &summary)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(RunFailure::Pipeline(PipelineError::Warehouse(err))) = &finished.failure {
        if let Some(failed) = err.failed_tests() {
            if ctx.json {
                let report =
                    serde_json::json!({ "published": false, "failed_tests": failed, "error": err.to_string() });
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            eprintln!("error: {err}");
            return Ok(ExitCode::from(1));
        }
    }
    Err(super::failure(finished))
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
