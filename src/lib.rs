//! crimewatch: Seattle Police Department crime data, kept in step with data.seattle.gov.
//!
//! Data flows one way: [`source`] → [`lake`] → [`warehouse`] → [`web`], every stage speaking the contracts in
//! [`domain`]. [`pipeline`] wires the stages for one run, [`runs`] keeps runs one at a time and on record, and
//! [`schedule`] decides when they happen; when a project is set, [`bigquery`] copies the published warehouse to
//! BigQuery at the end of a run. [`settings`] validates the configuration once and hands each stage
//! its own part; docs/ARCHITECTURE.md shows which module may use which. The real local parts the tests and
//! benchmarks use (a SODA-compatible server, a seeded data generator) live in the `soda-testkit` crate, not in
//! the product.

pub mod bigquery;
pub mod domain;
pub mod lake;
pub mod pipeline;
pub mod runs;
pub mod schedule;
pub mod settings;
pub mod source;
pub mod warehouse;
pub mod web;
