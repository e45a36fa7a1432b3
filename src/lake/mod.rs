//! Lake stage: Hive-partitioned Parquet months under `DATA_DIR/lake/spd_crime/report_month=YYYY-MM/`, replaced
//! atomically, with a manifest of per-month fingerprints and checksums (`lake/_manifest.json`), each month's own
//! record beside its file (`_month.json`), replaced versions under `lake/revisions/`, and unparseable rows in
//! each month's `_quarantine.jsonl`. Every file is verified against its SHA-256 before it is trusted: when the
//! lake is opened ([`Lake::open`]), when a month is committed, and before a build ([`verify_lake`]).
//!
//! The lake may also be in a bucket (`gs://`, `s3://`; [`remote`]): runs then work on a local copy of it, in the
//! same layout, and commit to the bucket with conditional writes.

mod checksum;
mod config;
mod durable;
mod error;
pub mod fault;
pub mod manifest;
mod recover;
pub mod remote;
mod store;
mod survey;
mod verify;
pub mod writer;

pub use checksum::FileDigest;
pub use config::{BucketLake, LakeConfig, LakeSection, LakeUrl, Scheme};
pub use error::LakeError;
pub use manifest::{Manifest, MonthEntry, MonthRecord};
pub use store::{Committed, Lake, QuarantineLine, StagedMonth, Stager};
pub use survey::{survey, ManifestState, Survey, SurveyedMonth};
pub use verify::{verify_lake, Damage, Fault, Verified};
pub use writer::{encode_month, MonthFile, StagingTable};
