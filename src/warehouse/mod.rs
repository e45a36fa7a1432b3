//! Warehouse stage: renders the dbt-compatible project in `transform/`, builds it into a candidate DuckDB file,
//! runs the data tests, and publishes only a tested candidate.
//!
//! The project is compiled into the binary, read into plain values, rendered with minijinja and ordered by its
//! refs ([`project`], the compile step); [`runner`] executes seeds, models and tests, and
//! [`publish`] moves the file from candidate to tested to published. `dbt build` on the same folder builds the
//! same tables (the interop test compares them row for row).

mod config;
mod error;
mod project;
mod publish;
mod runner;

pub use config::WarehouseConfig;
pub use error::{FailedTest, WarehouseError};
pub use project::Severity;
pub use runner::{build, BuildReport, BuildRequest, TestResult, FAULT_INJECTION_ENV};
