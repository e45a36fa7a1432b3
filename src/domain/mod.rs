//! The contracts every stage shares, and nothing else: stages depend on `domain`, `domain` on no stage.
//!
//! [`month`] is the unit of change detection and of the API's ranges; [`row`] is one offense as the lake stores
//! it (the source → lake contract); [`fingerprint`] is what the source says about a month, kept in the lake's
//! manifest; [`category`] holds the marts' closed vocabularies (offense category, axis, area level).

pub mod category;
pub mod fingerprint;
pub mod month;
pub mod row;

pub use fingerprint::{Fingerprint, SourceKind};
pub use month::{Month, MonthParseError};
pub use row::{CanonicalRow, Value};
