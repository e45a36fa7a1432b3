//! Source stage: the city's data in. Speaks SODA 2.x to a Socrata host (probe the schema, per-month
//! fingerprints, paged month downloads with retries) and reads SPD CSV exports; both produce [`CanonicalRow`](crate::domain::CanonicalRow)s
//! in the lake's column order.

mod config;
pub mod csv_export;
mod error;
pub mod fields;
pub mod row;
pub mod schema;
pub mod soda;
pub mod soql;

pub use config::{Endpoint, SourceConfig, SourceSection};
pub use error::SourceError;
pub use row::Rejected;
pub use schema::SourceSchema;
pub use soda::{Fingerprints, SodaClient};
