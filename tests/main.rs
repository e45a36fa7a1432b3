//! The one integration-test binary (each extra binary would link the bundled DuckDB again).

mod bad_rows;
mod bigquery;
mod cli;
mod emulators;
mod fixture_lake;
mod gcs_store;
mod hardening;
mod ingest;
mod lake_bucket;
mod lake_integrity;
mod layout;
mod numbers;
mod revisions;
mod schedule;
mod tempdir;
mod warehouse;
mod web;
