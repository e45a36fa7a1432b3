//! Lake stage: Hive-partitioned Parquet months under `DATA_DIR/lake/spd_crime/report_month=YYYY-MM/`, replaced
//! atomically, with a manifest of per-month fingerprints (`lake/_manifest.json`), replaced versions under
//! `lake/revisions/`, and unparseable rows in each month's `_quarantine.jsonl`.

mod config;
mod durable;
mod error;
pub mod fault;
pub mod manifest;
mod store;
pub mod writer;

pub use config::LakeConfig;
pub use error::LakeError;
pub use manifest::{Manifest, MonthEntry};
pub use store::{Committed, Lake, QuarantineLine, StagedMonth, Stager};
pub use writer::{encode_month, MonthFile, StagingTable};
