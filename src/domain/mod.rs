//! The contracts every stage shares, and nothing else: stages depend on `domain`, `domain` on no stage.
//!
//! [`month`] is the unit of change detection and of the API's ranges.

pub mod month;

pub use month::{Month, MonthParseError};
