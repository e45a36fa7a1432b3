//! BigQuery stage: copies the *published* (already tested) warehouse to BigQuery, so Looker Studio and other BI
//! tools read the same marts the dashboard reads.
//!
//! It depends on nothing but [`crate::domain`]: it opens the published DuckDB file itself, read-only, and exports
//! each table of its `marts` schema (and the lake's rows, as `spd_crime`) to Parquet ([`export`]). A content
//! checksum per table decides what changed since the last publish ([`plan`], pure); each changed table is loaded
//! by a Parquet load job into a temporary table and then copied over the real one in one step, `meta_build` last,
//! so a reader that sees a new `built_at` sees every new table ([`publish`]). The REST calls go through
//! [`client`] (Google credentials through `gcloud-auth`, or an emulator without auth).

mod client;
mod config;
mod error;
mod export;
mod plan;
mod publish;
mod schema;

pub use config::{BigQueryConfig, BigQueryOverrides, BigQuerySection, Endpoint};
pub use error::{BigQueryError, Target};
pub use publish::{publish, LakeLocation, PublishInput, PublishSummary, TablePublished};
pub use schema::UTC_INSTANT_COLUMNS;
