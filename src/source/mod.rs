//! Source stage: the city's data in. Speaks SODA 2.x to a Socrata host (probe the schema, per-month fingerprints, paged month downloads with retries) and reads SPD CSV exports; both produce canonical rows for the lake.

mod config;
mod error;

pub use config::SourceConfig;
pub use error::SourceError;
