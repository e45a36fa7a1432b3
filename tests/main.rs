//! The one integration-test binary (each extra binary would link the bundled DuckDB again).

mod bigquery;
mod cli;
mod emulators;
mod fixture_lake;
mod ingest;
mod layout;
mod schedule;
mod tempdir;
mod warehouse;
mod web;
