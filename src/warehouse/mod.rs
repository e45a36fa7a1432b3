//! Warehouse stage: renders the dbt-compatible project in `transform/`, builds it into a candidate DuckDB file, runs the data tests, and publishes only a tested candidate.

mod config;
mod error;

pub use config::WarehouseConfig;
pub use error::WarehouseError;
