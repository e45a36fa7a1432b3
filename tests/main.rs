//! The one integration-test binary (each extra binary would link the bundled DuckDB again).

mod cli;
mod fixture_lake;
mod ingest;
mod layout;
mod numbers;
mod schedule;
mod tempdir;
mod warehouse;
mod web;
