//! lake → warehouse.

use super::{BuildSummary, PipelineConfig, PipelineError, Progress};
use crate::warehouse::{self, BuildRequest, Severity};

/// Builds the warehouse from the lake into a candidate file, tests it, and publishes it only when every
/// error-severity data test passes. Blocking (DuckDB); call from `spawn_blocking` in async code.
pub fn build(config: &PipelineConfig, progress: Progress) -> Result<BuildSummary, PipelineError> {
    let request = BuildRequest {
        data_dir: config.data_dir.clone(),
        config: config.warehouse.clone(),
        show_progress: progress == Progress::Terminal,
    };
    let report = warehouse::build(&request)?;
    let warned: Vec<_> = report.tests.iter().filter(|t| !t.passed() && t.severity == Severity::Warn).collect();
    Ok(BuildSummary {
        models: report.models,
        seeds: report.seeds,
        tests_passed: report.tests.iter().filter(|t| t.passed()).count(),
        tests_warned: warned.len(),
        tests_failed: 0,
        lake_rows: report.lake_rows,
        fact_rows: report.fact_rows,
        excluded_rows: report.lake_rows.saturating_sub(report.fact_rows),
        seconds: report.seconds,
        published: true,
        warnings: warned
            .iter()
            .map(|t| {
                format!("{}: {} row(s) ({}); e.g. {}", t.name, t.failing_rows, t.checks, t.sample_rows.join(" | "))
            })
            .collect(),
        warehouse: report.warehouse,
        tests: report.tests,
    })
}
