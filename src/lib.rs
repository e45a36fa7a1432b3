//! crimewatch: Seattle Police Department crime data, kept in step with data.seattle.gov.
//!
//! Data flows one way: [`source`] → [`lake`] → [`warehouse`] → [`web`]; [`pipeline`] wires the stages for one
//! run and [`schedule`] decides when runs happen and records them. The real local parts the tests and benchmarks
//! use (a SODA-compatible server, a seeded data generator) live in the `soda-testkit` crate, not in the product.

pub mod domain;
pub mod lake;
pub mod pipeline;
pub mod schedule;
pub mod settings;
pub mod source;
pub mod warehouse;
pub mod web;
