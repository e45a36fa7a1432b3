//! `crimewatch build`: lake → warehouse, printing a summary, or the failed data tests with sample rows.

use std::process::ExitCode;

use crimewatch::pipeline::{self, BuildSummary, PipelineError, Progress};

use super::Context;

pub fn execute(ctx: &Context) -> anyhow::Result<ExitCode> {
    let progress = if ctx.json { Progress::Hidden } else { Progress::detect() };
    let _lock = super::take_run_lock(ctx, "build")?;
    report(ctx, pipeline::build(&ctx.settings.pipeline(), progress))
}

/// Prints a build's outcome: the summary, or the failed data tests (exit 1); other errors go up.
pub fn report(ctx: &Context, built: Result<BuildSummary, PipelineError>) -> anyhow::Result<ExitCode> {
    match built {
        Ok(summary) => {
            print_summary(ctx, &summary)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(PipelineError::Warehouse(err)) if err.failed_tests().is_some() => {
            let failed = err.failed_tests().unwrap_or_default();
            if ctx.json {
                let report =
                    serde_json::json!({ "published": false, "failed_tests": failed, "error": err.to_string() });
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            eprintln!("error: {err}");
            Ok(ExitCode::from(1))
        }
        Err(err) => Err(err.into()),
    }
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
