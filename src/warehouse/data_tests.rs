//! The test step of a build: render every data test (generic ones from the warehouse's own SQL, singular ones
//! from the project), run each on the candidate, and keep a few failing rows of each.

use minijinja::context;
use serde::Serialize;

use super::error::{FailedTest, WarehouseError};
use super::progress::{Steps, Stopwatch};
use super::project::{render, GenericKind, Project, RenderContext, Severity};
use super::sql;

/// How many failing rows a report shows per test.
const SAMPLE_ROWS: usize = 5;

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

    /// A test that stops the publish: error severity, and rows found.
    pub fn failure(&self) -> Option<FailedTest> {
        (!self.passed() && self.severity == Severity::Error).then(|| FailedTest {
            name: self.name.clone(),
            checks: self.checks.clone(),
            failing_rows: self.failing_rows,
            sample_rows: self.sample_rows.clone(),
        })
    }
}

/// A data test ready to run: the query whose rows are its failures.
pub struct PlannedTest {
    pub name: String,
    pub checks: String,
    pub severity: Severity,
    pub sql: String,
}

/// Renders every generic and singular test with the context the models were compiled with; sorted by name.
pub fn plan(project: &Project, ctx: &RenderContext) -> Result<Vec<PlannedTest>, WarehouseError> {
    let relations = ctx.relations.as_ref().expect("the models were compiled");
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
        let (template, checks, sql_ctx) = match &t.kind {
            GenericKind::NotNull => {
                (&sql::NOT_NULL, format!("not_null on {}.{}", t.model, t.column), context! { model, column })
            }
            GenericKind::Unique => {
                (&sql::UNIQUE, format!("unique on {}.{}", t.model, t.column), context! { model, column })
            }
            GenericKind::AcceptedValues { values, quote } => (
                &sql::ACCEPTED_VALUES,
                format!("accepted_values on {}.{}: {}", t.model, t.column, values.join(", ")),
                context! { model, column, values, quote },
            ),
            GenericKind::Relationships { to_model, field } => (
                &sql::RELATIONSHIPS,
                format!("relationships {}.{} → {}.{}", t.model, t.column, to_model, field),
                context! { model, column, to => lookup(to_model, &t.file)?, field => format!("\"{field}\"") },
            ),
        };
        out.push(PlannedTest { name: t.name.clone(), checks, severity: t.severity, sql: template.render(sql_ctx)? });
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

/// Runs every test, in order, on `conn`.
pub fn run_tests(
    conn: &duckdb::Connection,
    tests: &[PlannedTest],
    steps: &Steps,
) -> Result<Vec<TestResult>, WarehouseError> {
    let mut results = Vec::with_capacity(tests.len());
    for t in tests {
        let watch = Stopwatch::start();
        let result = run_test(conn, t)?;
        let (seconds, cpu_seconds) = watch.seconds();
        let (test, rows) = (&t.name, result.failing_rows);
        match (result.passed(), result.severity) {
            (true, _) => tracing::info!(stage = "warehouse", test, seconds, cpu_seconds, "pass"),
            (false, Severity::Warn) => {
                tracing::warn!(stage = "warehouse", test, rows, seconds, cpu_seconds, "data test warning")
            }
            (false, Severity::Error) => {
                tracing::error!(stage = "warehouse", test, rows, seconds, cpu_seconds, "data test failed")
            }
        }
        results.push(result);
        steps.step(&t.name);
    }
    Ok(results)
}

fn run_test(conn: &duckdb::Connection, t: &PlannedTest) -> Result<TestResult, WarehouseError> {
    let count_sql = sql::TEST_COUNT.render(context! { sql => t.sql })?;
    let failing: i64 = conn.query_row(&count_sql, [], |r| r.get(0)).map_err(|e| WarehouseError::sql(&t.name, e))?;
    let sample_rows = if failing > 0 { sample(conn, t)? } else { vec![] };
    Ok(TestResult {
        name: t.name.clone(),
        checks: t.checks.clone(),
        severity: t.severity,
        failing_rows: u64::try_from(failing).unwrap_or(0),
        sample_rows,
    })
}

/// A few of a test's failing rows, each as `column=value, ...`.
fn sample(conn: &duckdb::Connection, t: &PlannedTest) -> Result<Vec<String>, WarehouseError> {
    let sample_sql = sql::TEST_SAMPLE.render(context! { sql => t.sql, limit => SAMPLE_ROWS })?;
    let mut stmt = conn.prepare(&sample_sql).map_err(|e| WarehouseError::sql(&t.name, e))?;
    let mut rows = stmt.query([]).map_err(|e| WarehouseError::sql(&t.name, e))?;
    let names: Vec<String> = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
    let mut out = vec![];
    while let Some(row) = rows.next().map_err(|e| WarehouseError::sql(&t.name, e))? {
        let mut cells = vec![];
        for (i, name) in names.iter().enumerate() {
            let v: Option<String> = row.get(i).map_err(|e| WarehouseError::sql(&t.name, e))?;
            cells.push(format!("{name}={}", v.as_deref().unwrap_or("NULL")));
        }
        out.push(cells.join(", "));
    }
    Ok(out)
}
