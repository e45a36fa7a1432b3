//! The test kit's own tests: the SODA-compatible server answers like Socrata (checked against counts computed
//! here from the rows), faults are observable on the wire with a raw client, revisions keep or move system
//! fields as documented, the generator is deterministic and SPD-shaped, and the `soda-server` binary serves the
//! same answers as a process.

mod access;
mod cache;
mod client;
mod counts;
mod expect;
mod export;
mod faults;
mod generator;
mod revisions;
mod soda_server_bin;
mod soql;

/// The data set id every test serves (SPD's real one).
pub const DATASET: &str = "tazs-3rd5";
