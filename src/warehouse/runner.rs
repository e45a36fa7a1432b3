//! One build: render the project, run seeds and models in ref order into a candidate file, run every data test
//! on it, and publish it only when no error-severity test failed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use minijinja::context;
use serde::Serialize;

use super::config::WarehouseConfig;
use super::error::{FailedTest, WarehouseError};
use super::project::{compile, render, GenericKind, Project, RenderContext, Severity, Step, Stored};
use super::publish::{Candidate, Published};
use crate::domain::DataDir;

/// Test-only fault injection: when this environment variable names a point of the build, the process kills
/// itself with SIGKILL there, so tests can check that a build dying mid-way leaves the published file intact.
/// Points: `kill-build-after-models`, `kill-build-before-publish`.
pub const FAULT_INJECTION_ENV: &str = "CRIMEWATCH_FAULT_INJECTION";

/// How many failing rows a report shows per test.
const SAMPLE_ROWS: usize = 5;

/// What to build from and where to publish.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Where the lake is read from and the warehouse published to.
    pub data_dir: DataDir,
    pub config: WarehouseConfig,
    /// Draw a progress bar on stderr.
    pub show_progress: bool,
}

/// How one data test came out.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub checks: String,
    pub severity: Severity,
    pub failing_rows: u64,
    pub sample_rows: Vec<String>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.failing_rows == 0
    }
}

/// A published build.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub seeds: usize,
    pub models: usize,
    pub tests: Vec<TestResult>,
    pub lake_rows: u64,
    pub fact_rows: u64,
    pub warehouse: PathBuf,
    pub seconds: f64,
}

/// Builds, tests and publishes the warehouse. Blocking.
pub fn build(req: &BuildRequest) -> Result<BuildReport, WarehouseError> {
    let started = Instant::now();
    let lake_dir = check_lake(&req.data_dir)?;
    let warehouse = req.data_dir.warehouse();
    check_quotable(&warehouse)?;
    let project = Project::embedded()?;
    tracing::info!(stage = "warehouse", project = %project.name, lake = %lake_dir.display(), "building");

    let mut vars = project.vars.clone();
    vars.insert("provisional_months".into(), req.config.provisional_months.into());
    let env_vars: BTreeMap<String, String> = [
        ("CRIMEWATCH_LAKE".to_string(), lake_dir.to_string_lossy().to_string()),
        ("CRIMEWATCH_WAREHOUSE".to_string(), warehouse.to_string_lossy().to_string()),
    ]
    .into_iter()
    .collect();
    let compiled = compile(&project, RenderContext::new(vars, env_vars, chrono::Utc::now()))?;
    let tests = plan_tests(&project, &compiled.context)?;

    let progress = Progress::new(req.show_progress, (compiled.nodes.len() + tests.len()) as u64);
    let candidate = Candidate::create(&warehouse, &req.config.storage_version)?;
    let conn = candidate.conn();
    let session = sql_template(
        "session.sql",
        include_str!("sql/session.sql"),
        context! {
            memory_limit_mb => req.config.memory_limit_mb,
            temp_directory => format!("{}.tmp", candidate.path().display()),
        },
    )?;
    conn.execute_batch(&session).map_err(|e| WarehouseError::sql("session settings", e))?;
    let schemas: BTreeSet<&str> = compiled.nodes.iter().map(|n| n.schema.as_str()).collect();
    for schema in schemas {
        conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .map_err(|e| WarehouseError::sql(format!("schema {schema}"), e))?;
    }

    let (mut seeds, mut models) = (0, 0);
    for node in &compiled.nodes {
        let (name, rel) = (&node.name, &node.relation);
        let node_started = Instant::now();
        match &node.step {
            Step::Seed(seed) => {
                let csv_path = PathBuf::from(format!("{}.seed.{}.csv", candidate.path().display(), seed.name));
                std::fs::write(&csv_path, &seed.csv).map_err(|e| WarehouseError::io("write", &csv_path, e))?;
                let sql = sql_template(
                    "create_seed.sql",
                    include_str!("sql/create_seed.sql"),
                    context! { relation => rel, path => csv_path.to_string_lossy(), columns => seed.columns },
                )?;
                let result = conn.execute_batch(&sql);
                let _ = std::fs::remove_file(&csv_path);
                result.map_err(|e| WarehouseError::sql(&seed.path, e))?;
                seeds += 1;
            }
            Step::Model { path, sql, stored } => {
                let (file, tpl) = match stored {
                    Stored::Table => ("create_table.sql", include_str!("sql/create_table.sql")),
                    Stored::View => ("create_view.sql", include_str!("sql/create_view.sql")),
                };
                let sql = sql_template(file, tpl, context! { relation => rel, sql })?;
                conn.execute_batch(&sql).map_err(|e| WarehouseError::sql(path, e))?;
                models += 1;
            }
        }
        let rows: i64 = conn
            .query_row(&format!("select count(*) from {rel}"), [], |r| r.get(0))
            .map_err(|e| WarehouseError::sql(name, e))?;
        tracing::info!(stage = "warehouse", node = %name, rows, ms = node_started.elapsed().as_millis() as u64, "built");
        progress.step(name);
    }
    fault_point("kill-build-after-models");

    let mut results = Vec::with_capacity(tests.len());
    for t in &tests {
        let result = run_test(conn, t)?;
        match (result.passed(), result.severity) {
            (true, _) => tracing::debug!(stage = "warehouse", test = %t.name, "pass"),
            (false, Severity::Warn) => {
                tracing::warn!(stage = "warehouse", test = %t.name, rows = result.failing_rows, "data test warning")
            }
            (false, Severity::Error) => {
                tracing::error!(stage = "warehouse", test = %t.name, rows = result.failing_rows, "data test failed")
            }
        }
        results.push(result);
        progress.step(&t.name);
    }
    progress.finish();

    let (lake_rows, fact_rows): (i64, i64) = conn
        .query_row("select lake_rows, fact_rows from \"marts\".\"meta_build\"", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| WarehouseError::sql("meta_build", e))?;
    let failures: Vec<FailedTest> = results
        .iter()
        .filter(|r| !r.passed() && r.severity == Severity::Error)
        .map(|r| FailedTest {
            name: r.name.clone(),
            checks: r.checks.clone(),
            failing_rows: r.failing_rows,
            sample_rows: r.sample_rows.clone(),
        })
        .collect();
    let tested = candidate.into_tested(failures)?;
    fault_point("kill-build-before-publish");
    let Published { path } = tested.publish()?;
    tracing::info!(stage = "warehouse", rows = fact_rows, path = %path.display(), "published");
    Ok(BuildReport {
        seeds,
        models,
        tests: results,
        lake_rows: u64::try_from(lake_rows).unwrap_or(0),
        fact_rows: u64::try_from(fact_rows).unwrap_or(0),
        warehouse: path,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A data test ready to run.
struct PlannedTest {
    name: String,
    checks: String,
    severity: Severity,
    sql: String,
}

fn plan_tests(project: &Project, ctx: &RenderContext) -> Result<Vec<PlannedTest>, WarehouseError> {
    let relations = ctx.relations.as_ref().expect("pass 2");
    let lookup = |model: &str, file: &str| {
        relations.get(model).cloned().ok_or_else(|| WarehouseError::Project {
            file: file.to_string(),
            message: format!("a test refers to {model}, which is neither a model nor a seed"),
        })
    };
    let mut out = vec![];
    for t in &project.generic_tests {
        let model = lookup(&t.model, &t.file)?;
        let column = t.column.sql();
        let (file, tpl, checks, sql_ctx) = match &t.kind {
            GenericKind::NotNull => (
                "not_null.sql",
                include_str!("sql/not_null.sql"),
                format!("not_null on {}.{}", t.model, t.column),
                context! { model, column },
            ),
            GenericKind::Unique => (
                "unique.sql",
                include_str!("sql/unique.sql"),
                format!("unique on {}.{}", t.model, t.column),
                context! { model, column },
            ),
            GenericKind::AcceptedValues { values, quote } => (
                "accepted_values.sql",
                include_str!("sql/accepted_values.sql"),
                format!("accepted_values on {}.{}: {}", t.model, t.column, values.join(", ")),
                context! { model, column, values, quote },
            ),
            GenericKind::Relationships { to_model, field } => (
                "relationships.sql",
                include_str!("sql/relationships.sql"),
                format!("relationships {}.{} → {}.{}", t.model, t.column, to_model, field),
                context! { model, column, to => lookup(to_model, &t.file)?, field => format!("\"{field}\"") },
            ),
        };
        out.push(PlannedTest {
            name: t.name.clone(),
            checks,
            severity: t.severity,
            sql: sql_template(file, tpl, sql_ctx)?,
        });
    }
    for t in &project.singular_tests {
        let r = render(ctx, &t.path, &project.macros, &t.sql, None)?;
        let severity = match &r.severity {
            Some(s) => Severity::parse(s, &t.path)?,
            None => Severity::Error,
        };
        out.push(PlannedTest { name: t.name.clone(), checks: t.path.clone(), severity, sql: r.sql });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn run_test(conn: &duckdb::Connection, t: &PlannedTest) -> Result<TestResult, WarehouseError> {
    let count_sql = sql_template("test_count.sql", include_str!("sql/test_count.sql"), context! { sql => t.sql })?;
    let failing: i64 = conn.query_row(&count_sql, [], |r| r.get(0)).map_err(|e| WarehouseError::sql(&t.name, e))?;
    let mut sample_rows = vec![];
    if failing > 0 {
        let sample_sql = sql_template(
            "test_sample.sql",
            include_str!("sql/test_sample.sql"),
            context! { sql => t.sql, limit => SAMPLE_ROWS },
        )?;
        let mut stmt = conn.prepare(&sample_sql).map_err(|e| WarehouseError::sql(&t.name, e))?;
        let mut rows = stmt.query([]).map_err(|e| WarehouseError::sql(&t.name, e))?;
        let names: Vec<String> = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        while let Some(row) = rows.next().map_err(|e| WarehouseError::sql(&t.name, e))? {
            let mut cells = vec![];
            for (i, name) in names.iter().enumerate() {
                let v: Option<String> = row.get(i).map_err(|e| WarehouseError::sql(&t.name, e))?;
                cells.push(format!("{name}={}", v.as_deref().unwrap_or("NULL")));
            }
            sample_rows.push(cells.join(", "));
        }
    }
    Ok(TestResult {
        name: t.name.clone(),
        checks: t.checks.clone(),
        severity: t.severity,
        failing_rows: u64::try_from(failing).unwrap_or(0),
        sample_rows,
    })
}

/// Renders one of the runner's own SQL files (src/warehouse/sql/).
fn sql_template(file: &str, template: &str, ctx: minijinja::Value) -> Result<String, WarehouseError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.render_named_str(file, template, ctx)
        .map_err(|e| WarehouseError::Render { file: format!("src/warehouse/sql/{file}"), message: e.to_string() })
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

/// A bar over seeds, models and tests, drawn only on a terminal.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(show: bool, steps: u64) -> Progress {
        if !show {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(steps);
        if let Ok(style) = indicatif::ProgressStyle::with_template("build {bar:30} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    fn step(&self, name: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(name.to_string());
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
