//! The materialise step of a build: run the compiled seeds and models, in ref order, into the candidate file.

use std::collections::BTreeSet;
use std::path::PathBuf;

use minijinja::context;

use super::error::WarehouseError;
use super::progress::{Steps, Stopwatch};
use super::project::{CompiledNode, SeedFile, Step, Stored};
use super::publish::Candidate;
use super::{sql, WarehouseConfig};

/// What was built.
#[derive(Debug, Clone, Copy, Default)]
pub struct Built {
    pub seeds: usize,
    pub models: usize,
}

/// Sets up the candidate's connection (memory cap, spill folder, schemas), then builds every node, in order.
pub fn materialize(
    candidate: &Candidate,
    nodes: &[CompiledNode],
    config: &WarehouseConfig,
    steps: &Steps,
) -> Result<Built, WarehouseError> {
    let conn = candidate.conn();
    let session = sql::SESSION.render(context! {
        memory_limit_mb => config.memory_limit_mb,
        temp_directory => format!("{}.tmp", candidate.path().display()),
    })?;
    conn.execute_batch(&session).map_err(|e| WarehouseError::sql("session settings", e))?;
    let schemas: BTreeSet<&str> = nodes.iter().map(|n| n.schema.as_str()).collect();
    for schema in schemas {
        conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .map_err(|e| WarehouseError::sql(format!("schema {schema}"), e))?;
    }
    let mut built = Built::default();
    for node in nodes {
        let (name, rel) = (&node.name, &node.relation);
        let watch = Stopwatch::start();
        match &node.step {
            Step::Seed(seed) => {
                load_seed(candidate, seed, rel)?;
                built.seeds += 1;
            }
            Step::Model { path, sql, stored } => {
                let template = match stored {
                    Stored::Table => &sql::CREATE_TABLE,
                    Stored::View => &sql::CREATE_VIEW,
                };
                let sql = template.render(context! { relation => rel, sql })?;
                conn.execute_batch(&sql).map_err(|e| WarehouseError::sql(path, e))?;
                built.models += 1;
            }
        }
        let (seconds, cpu_seconds) = watch.seconds();
        // Rows of what is stored; a view's rows would cost a run of its query.
        let rows: Option<i64> = match &node.step {
            Step::Model { stored: Stored::View, .. } => None,
            _ => Some(
                conn.query_row(&format!("select count(*) from {rel}"), [], |r| r.get(0))
                    .map_err(|e| WarehouseError::sql(name, e))?,
            ),
        };
        tracing::info!(stage = "warehouse", node = %name, rows, seconds, cpu_seconds, "built");
        steps.step(name);
    }
    Ok(built)
}

/// Loads a seed's CSV (written next to the candidate for DuckDB to read, then removed) into `relation`.
fn load_seed(candidate: &Candidate, seed: &SeedFile, relation: &str) -> Result<(), WarehouseError> {
    let csv_path = PathBuf::from(format!("{}.seed.{}.csv", candidate.path().display(), seed.name));
    std::fs::write(&csv_path, &seed.csv).map_err(|e| WarehouseError::io("write", &csv_path, e))?;
    let sql = sql::CREATE_SEED.render(context! {
        relation => relation, path => csv_path.to_string_lossy(), columns => seed.columns,
    })?;
    let result = candidate.conn().execute_batch(&sql);
    let _ = std::fs::remove_file(&csv_path);
    result.map_err(|e| WarehouseError::sql(&seed.path, e))
}
