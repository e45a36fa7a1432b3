//! One warehouse build, in four named steps: [`compile`] the project → [`materialize`] its seeds and models into
//! a candidate file → run the [`data_tests`] on it → [`publish`] it, only when no error-severity test failed.
//!
//! [`compile`]: super::project::compile
//! [`materialize`]: super::materialize
//! [`data_tests`]: super::data_tests
//! [`publish`]: super::publish

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::config::WarehouseConfig;
use super::data_tests::{self, run_tests, TestResult};
use super::error::WarehouseError;
use super::materialize::{materialize, Built};
use super::progress::Steps;
use super::project::{compile, Project, RenderContext, Severity};
use super::publish::{Candidate, Published};
use crate::domain::run::RunSummary;
use crate::domain::DataDir;

/// Test-only fault injection: when this environment variable names a point of the build, the process kills
/// itself with SIGKILL there, so tests can check that a build dying mid-way leaves the published file intact.
/// Points: `kill-build-after-models`, `kill-build-before-publish`.
pub const FAULT_INJECTION_ENV: &str = "CRIMEWATCH_FAULT_INJECTION";

/// What to build from and where to publish.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Where the lake is read from and the warehouse published to.
    pub data_dir: DataDir,
    pub config: WarehouseConfig,
    /// Draw a progress bar on stderr.
    pub show_progress: bool,
}

/// A published build (printed by `crimewatch build` as a table or, with `--json`, as JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildSummary {
    pub models: usize,
    pub seeds: usize,
    pub tests_passed: usize,
    pub tests_warned: usize,
    pub tests_failed: usize,
    /// Rows in the lake's month files.
    pub lake_rows: u64,
    pub fact_rows: u64,
    /// Lake rows not in the fact table (no offense_id, or an older version of an offense_id).
    pub excluded_rows: u64,
    pub seconds: f64,
    pub published: bool,
    pub warehouse: PathBuf,
    /// Warn-severity tests that found rows, one line each with the count and sample rows.
    pub warnings: Vec<String>,
    /// Every data test with its outcome.
    pub tests: Vec<TestResult>,
}

impl BuildSummary {
    /// Keeps what a run's record shows of this build.
    pub fn record(&self, run: &mut RunSummary) {
        run.tests_passed = self.tests_passed as u64;
        run.tests_warned = self.tests_warned as u64;
        run.tests_failed = self.tests_failed as u64;
        run.published = self.published;
    }
}

/// Builds, tests and publishes the warehouse. Blocking. A disk that fills up mid-way is reported as such
/// ([`WarehouseError::DiskFull`]), not as the SQL statement that happened to be running.
pub fn build(req: &BuildRequest) -> Result<BuildSummary, WarehouseError> {
    build_steps(req).map_err(|e| e.on_full_disk(&req.data_dir.warehouse()))
}

fn build_steps(req: &BuildRequest) -> Result<BuildSummary, WarehouseError> {
    let started = Instant::now();
    let lake_dir = check_lake(&req.data_dir)?;
    let warehouse = req.data_dir.warehouse();
    check_quotable(&warehouse)?;
    let project = Project::embedded()?;
    tracing::info!(stage = "warehouse", project = %project.name, lake = %lake_dir.display(), "building");
    let compiled = compile(&project, render_context(&project, &req.config, &lake_dir, &warehouse))?;
    let planned = data_tests::plan(&project, &compiled.context)?;

    let steps = Steps::new(req.show_progress, (compiled.nodes.len() + planned.len()) as u64);
    let candidate = Candidate::create(&warehouse, &req.config.storage_version)?;
    let built = materialize(&candidate, &compiled.nodes, &req.config, &steps)?;
    fault_point("kill-build-after-models");
    let tests = run_tests(candidate.conn(), &planned, &steps)?;
    steps.finish();

    let (lake_rows, fact_rows) = row_counts(candidate.conn())?;
    let tested = candidate.into_tested(tests.iter().filter_map(TestResult::failure).collect())?;
    fault_point("kill-build-before-publish");
    let Published { path } = tested.publish()?;
    tracing::info!(stage = "warehouse", rows = fact_rows, path = %path.display(), "published");
    Ok(summary(built, tests, (lake_rows, fact_rows), path, started))
}

/// The vars and `env_var()` values the project renders with: the lake to read and the file to build.
fn render_context(project: &Project, config: &WarehouseConfig, lake_dir: &Path, warehouse: &Path) -> RenderContext {
    let mut vars = project.vars.clone();
    vars.insert("provisional_months".into(), config.provisional_months.into());
    vars.insert("complete_share".into(), config.complete_share.into());
    let env_vars: BTreeMap<String, String> = [
        ("CRIMEWATCH_LAKE_DIR".to_string(), lake_dir.to_string_lossy().to_string()),
        ("CRIMEWATCH_WAREHOUSE".to_string(), warehouse.to_string_lossy().to_string()),
    ]
    .into_iter()
    .collect();
    RenderContext::new(vars, env_vars, chrono::Utc::now())
}

/// Rows in the lake and in the fact table, as the build's own `meta_build` counted them.
fn row_counts(conn: &duckdb::Connection) -> Result<(u64, u64), WarehouseError> {
    let (lake_rows, fact_rows): (i64, i64) = conn
        .query_row("select lake_rows, fact_rows from \"marts\".\"meta_build\"", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| WarehouseError::sql("meta_build", e))?;
    Ok((u64::try_from(lake_rows).unwrap_or(0), u64::try_from(fact_rows).unwrap_or(0)))
}

fn summary(
    built: Built,
    tests: Vec<TestResult>,
    (lake_rows, fact_rows): (u64, u64),
    warehouse: PathBuf,
    started: Instant,
) -> BuildSummary {
    let warned: Vec<&TestResult> = tests.iter().filter(|t| !t.passed() && t.severity == Severity::Warn).collect();
    BuildSummary {
        models: built.models,
        seeds: built.seeds,
        tests_passed: tests.iter().filter(|t| t.passed()).count(),
        tests_warned: warned.len(),
        tests_failed: 0,
        lake_rows,
        fact_rows,
        excluded_rows: lake_rows.saturating_sub(fact_rows),
        seconds: started.elapsed().as_secs_f64(),
        published: true,
        warehouse,
        warnings: warned
            .iter()
            .map(|t| {
                format!("{}: {} row(s) ({}); e.g. {}", t.name, t.failing_rows, t.checks, t.sample_rows.join(" | "))
            })
            .collect(),
        tests,
    }
}

/// The lake folder, absolute, after checking it holds a manifest and at least one month file.
fn check_lake(data_dir: &DataDir) -> Result<PathBuf, WarehouseError> {
    let lake = data_dir.lake();
    let missing = |reason: &str| WarehouseError::LakeMissing { lake: lake.clone(), reason: reason.to_string() };
    let (manifest, table) = (data_dir.lake_manifest(), data_dir.lake_table());
    if !manifest.is_file() {
        return Err(missing(&format!("it has no {}", file_name(&manifest))));
    }
    let months = std::fs::read_dir(&table).map_err(|_| missing(&format!("it has no {}/ folder", file_name(&table))))?;
    let has_file = months.flatten().any(|m| {
        std::fs::read_dir(m.path())
            .map(|files| files.flatten().any(|f| f.file_name().to_string_lossy().ends_with(".parquet")))
            .unwrap_or(false)
    });
    if !has_file {
        return Err(missing("it holds no month files"));
    }
    let abs = std::path::absolute(&lake).map_err(|e| WarehouseError::io("resolve", &lake, e))?;
    check_quotable(&abs)?;
    Ok(abs)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn check_quotable(path: &Path) -> Result<(), WarehouseError> {
    if path.to_string_lossy().contains('\'') {
        return Err(WarehouseError::UnquotablePath { path: path.to_path_buf() });
    }
    Ok(())
}

/// See [`FAULT_INJECTION_ENV`].
fn fault_point(point: &str) {
    if std::env::var(FAULT_INJECTION_ENV).is_ok_and(|v| v == point) {
        tracing::warn!(stage = "warehouse", point, "fault injection: killing this process");
        // SAFETY: raise only sends a signal to this process.
        unsafe {
            libc::raise(libc::SIGKILL);
        }
    }
}
