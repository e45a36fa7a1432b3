//! The test step of a build: render every data test (generic ones from the warehouse's own SQL, singular ones
//! from the project), run each on the candidate, and keep a few failing rows of each.

use std::sync::atomic::{AtomicUsize, Ordering};

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
    /// Groups its model's rows (`unique`, and the singular tests, which recount), where the others filter or
    /// join them: these take most of the tests' time, so they start first and no stream is left to run one alone
    /// at the end.
    pub groups_rows: bool,
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
        let groups_rows = matches!(t.kind, GenericKind::Unique);
        out.push(PlannedTest {
            name: t.name.clone(),
            checks,
            severity: t.severity,
            sql: template.render(sql_ctx)?,
            groups_rows,
        });
    }
    for t in &project.singular_tests {
        let r = render(ctx, &t.path, &project.macros, &t.sql, None)?;
        let severity = match &r.severity {
            Some(s) => Severity::parse(s, &t.path)?,
            None => Severity::Error,
        };
        out.push(PlannedTest { name: t.name.clone(), checks: t.path.clone(), severity, sql: r.sql, groups_rows: true });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// How many data tests run at once, each on a connection of its own, with DuckDB at one thread meanwhile. Most
/// tests are small queries, for which DuckDB's second worker costs more CPU (partitioned aggregates, merging)
/// than it saves wall time; two single-threaded streams keep both cores busy without that overhead (issue 16,
/// docs/benchmarks.md "Build, session 4").
const TEST_STREAMS: usize = 2;

/// Runs every test on connections to `conn`'s database, [`TEST_STREAMS`] at a time; the results in `tests`'
/// order. DuckDB is back at its default threads afterwards.
pub fn run_tests(
    conn: &duckdb::Connection,
    tests: &[PlannedTest],
    steps: &Steps,
) -> Result<Vec<TestResult>, WarehouseError> {
    let set_threads = |threads: Option<usize>| -> Result<(), WarehouseError> {
        let sql = sql::THREADS.render(context! { threads })?;
        conn.execute_batch(&sql).map_err(|e| WarehouseError::sql("the data tests' threads", e))
    };
    set_threads(Some(1))?;
    let results = run_streams(conn, tests, steps);
    set_threads(None)?;
    results
}

/// Each stream takes the next test not yet taken (those that group rows first), so a long test does not hold
/// up a queue behind it.
fn run_streams(
    conn: &duckdb::Connection,
    tests: &[PlannedTest],
    steps: &Steps,
) -> Result<Vec<TestResult>, WarehouseError> {
    let conns = (0..TEST_STREAMS)
        .map(|_| conn.try_clone().map_err(|e| WarehouseError::sql("a connection for the data tests", e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut order: Vec<usize> = (0..tests.len()).collect();
    order.sort_by_key(|&i| !tests[i].groups_rows);
    let next = AtomicUsize::new(0);
    let streams: Vec<Result<Vec<(usize, TestResult)>, WarehouseError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = conns
            .into_iter()
            .map(|c| {
                let (next, order) = (&next, &order);
                scope.spawn(move || {
                    let mut done = vec![];
                    loop {
                        let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else { return Ok(done) };
                        let t = &tests[i];
                        done.push((i, run_logged(&c, t)?));
                        steps.step(&t.name);
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut results = Vec::with_capacity(tests.len());
    for stream in streams {
        results.extend(stream?);
    }
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}

/// Runs one test and logs its outcome with its wall and CPU time.
fn run_logged(conn: &duckdb::Connection, t: &PlannedTest) -> Result<TestResult, WarehouseError> {
    let watch = Stopwatch::start_thread();
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
    Ok(result)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(name: &str, sql: &str, severity: Severity) -> PlannedTest {
        let groups_rows = sql.contains("group by");
        PlannedTest { name: name.into(), checks: format!("checks {name}"), severity, sql: sql.into(), groups_rows }
    }

    #[test]
    fn tests_run_side_by_side_report_in_plan_order_with_their_failures_and_restore_the_threads() {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        conn.execute_batch("create table t as select range as id, range % 7 as k from range(100000)").unwrap();
        let default_threads: i64 = conn.query_row("select current_setting('threads')", [], |r| r.get(0)).unwrap();
        // More tests than streams, failing ones among them, so every stream takes several and the order of the
        // results can only come from the plan.
        let mut tests = vec![];
        for i in 0..12 {
            let (sql, severity) = match i % 3 {
                0 => ("select id from t where id is null", Severity::Error),
                1 => ("select k, count(*) from t group by k having count(*) > 1", Severity::Error),
                _ => ("select id from t where id < 3", Severity::Warn),
            };
            tests.push(planned(&format!("test_{i:02}"), sql, severity));
        }
        let results = run_tests(&conn, &tests, &Steps::new(false, 12)).unwrap();
        let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
        let expected: Vec<String> = (0..12).map(|i| format!("test_{i:02}")).collect();
        assert_eq!(names, expected);
        let failing: Vec<u64> = results.iter().map(|r| r.failing_rows).collect();
        assert_eq!(failing, [0, 7, 3].repeat(4));
        let failures: Vec<String> = results.iter().filter_map(TestResult::failure).map(|f| f.name).collect();
        assert_eq!(failures, ["test_01", "test_04", "test_07", "test_10"]);
        assert_eq!(results[2].sample_rows, ["id=0", "id=1", "id=2"]);
        let threads: i64 = conn.query_row("select current_setting('threads')", [], |r| r.get(0)).unwrap();
        assert_eq!(threads, default_threads);
    }

    #[test]
    fn a_test_that_cannot_run_is_an_error_naming_it() {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let tests = [
            planned("fine", "select 1 where false", Severity::Error),
            planned("broken", "select * from no_such_table", Severity::Error),
        ];
        let err = run_tests(&conn, &tests, &Steps::new(false, 2)).unwrap_err().to_string();
        assert!(err.contains("broken") && err.contains("no_such_table"), "{err}");
    }
}
