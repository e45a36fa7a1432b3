//! Real local parts for crimewatch's tests and benchmarks: a SODA-compatible HTTP server ([`SodaServer`]), a
//! seeded SPD data generator ([`generate`]), the real sample pulls ([`samples`]) and SPD-style CSV exports
//! ([`export`]). A crate of its own so the product never compiles it, and without any crimewatch code (nor
//! DuckDB), so it stays an independent oracle: `cargo test -p soda-testkit` checks it on its own. The
//! `soda-server` binary serves the same data set to scripts.

mod dataset;
pub mod export;
pub mod generate;
mod http;
mod month;
pub mod samples;
mod server;
mod soql;
mod value;

pub use month::{BadMonth, Month};
pub use server::{Fault, FaultKind, RequestKind, RequestLog, SodaServer};

/// One row as SODA returns it: every value a JSON string, NULL fields omitted, no system fields.
pub type Row = serde_json::Map<String, serde_json::Value>;
