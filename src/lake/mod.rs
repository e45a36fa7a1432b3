//! Lake stage: Hive-partitioned Parquet months under `DATA_DIR/lake/spd_crime/report_month=YYYY-MM/`, replaced atomically, with a manifest of per-month fingerprints.

mod config;
mod error;

pub use config::LakeConfig;
pub use error::LakeError;
