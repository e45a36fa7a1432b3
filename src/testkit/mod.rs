//! Real local parts for tests and benchmarks: a SODA-compatible HTTP server ([`SodaServer`]), a seeded SPD
//! data generator ([`generate`]), the real sample pulls ([`samples`]) and SPD-style CSV exports ([`export`]).
//! Nothing here is used by the product's commands.

mod dataset;
pub mod export;
mod fasthash;
pub mod generate;
mod http;
pub mod samples;
mod server;
mod soql;
mod value;

pub use server::{Fault, FaultKind, RequestKind, RequestLog, SodaServer};

/// One row as SODA returns it: every value a JSON string, NULL fields omitted, no system fields.
pub type Row = serde_json::Map<String, serde_json::Value>;
