//! The contracts every stage shares, and nothing else: stages depend on `domain`, `domain` on no stage.
//!
//! [`month`] is the unit of change detection and of the API's ranges; [`row`] is one offense as the lake stores
//! it (the source → lake contract), and [`batch`] the same rows column by column (Arrow); [`fingerprint`] is what
//! the source says about a month, kept in the lake's manifest; [`category`] holds the marts' closed vocabularies
//! (offense category, axis, area level); [`data_dir`] owns every path in the data dir; [`setting`] is what every
//! stage's validated settings share; [`run`] is the one record of a run; [`failure`] classes every stage's errors
//! the same way (the command line's exit codes); [`bytes`] prints byte counts; [`terminal`] holds the progress
//! bars every stage draws.

pub mod batch;
pub mod bytes;
pub mod category;
pub mod data_dir;
pub mod failure;
pub mod fingerprint;
pub mod month;
pub mod row;
pub mod run;
pub mod setting;
pub mod terminal;

pub use bytes::Bytes;
pub use data_dir::DataDir;
pub use failure::FailureClass;
pub use fingerprint::{Fingerprint, SourceKind};
pub use month::{Month, MonthParseError};
pub use row::{CanonicalRow, Value};
pub use setting::{InvalidSetting, Secret};
