//! Warehouse stage: builds the dbt-compatible project in `transform/` from the lake into a candidate DuckDB file,
//! runs the data tests, and publishes only a tested candidate.
//!
//! A [`build`] is four named steps. Compile ([`project`]): the project, compiled into the binary and read into
//! plain values, is rendered with minijinja and ordered by its refs. [`materialize`]: seeds and models run into
//! the candidate. [`data_tests`]: every test is rendered and run on it. [`publish`]: the file moves from candidate
//! to tested to published. `dbt build` on the same folder builds the same tables (the interop test compares them
//! row for row).

mod build;
mod config;
mod data_tests;
mod error;
mod materialize;
mod progress;
mod project;
mod publish;
mod sql;

pub use build::{build, BuildRequest, BuildSummary, FAULT_INJECTION_ENV};
pub use config::WarehouseConfig;
pub use data_tests::TestResult;
pub use error::{FailedTest, WarehouseError};
pub use project::Severity;
