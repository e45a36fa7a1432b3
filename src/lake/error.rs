use std::path::PathBuf;

use super::verify::DamageList;
use crate::domain::FailureClass;

/// Errors of the lake stage. The month files already in the lake stay as they were when one of these is raised.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("cannot {action} {path}: {source}\n  check that the data dir is writable and the disk is not full")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },

    #[error("DuckDB could not {action}: {message}")]
    DuckDb { action: String, message: String },

    #[error("could not {action}: {message}")]
    Parquet { action: String, message: String },

    #[error("{path} is not a valid lake manifest: {message}\n  the next `crimewatch ingest` rebuilds it from the month folders")]
    Manifest { path: PathBuf, message: String },

    /// Before a build: the manifest cannot be read.
    #[error("{path} is damaged ({message}), so nothing was built or published\n  run `crimewatch ingest`: it rebuilds the manifest from the month folders (no --full needed), then `crimewatch build`")]
    ManifestDamaged { path: PathBuf, message: String },

    /// Before a build: month files but no manifest (an interrupted first ingest).
    #[error("the lake has {months_on_disk} month file(s) but no {path} (an interrupted first ingest), so nothing was built or published\n  run `crimewatch ingest`: it adopts the months already on disk and fetches the rest, then `crimewatch build`")]
    NoManifest { path: PathBuf, months_on_disk: usize },

    /// Before a build: month files that do not match the manifest.
    #[error("the lake's files do not match its manifest, so nothing was built or published:{damage}\n  run `crimewatch ingest`: it fetches these months again (no --full needed), then `crimewatch build`")]
    Damaged { damage: DamageList },

    #[error("the lake in {path} mirrors dataset {lake_dataset}, not {dataset}\n  use another --data-dir for another dataset (or --dataset {lake_dataset})")]
    DatasetMismatch { path: PathBuf, lake_dataset: String, dataset: String },

    /// A lake manifest of a later format than this crimewatch reads.
    #[error("{path} was written by a newer crimewatch (manifest version {found}; this one reads version {supported}), so the lake was left as it is\n  run a crimewatch at least as new as the one that wrote it")]
    NewerManifest { path: String, found: u32, supported: u32 },

    /// A lake in a bucket could not be read or written; `hint` says what to set.
    #[error("cannot {action} {object}: {message}\n  {hint}")]
    Bucket { action: &'static str, object: String, message: String, hint: String, class: FailureClass },

    /// Another writer replaced the bucket lake's manifest between this run's read and its write.
    #[error("another writer replaced {object} while this run was committing (its manifest is of {updated_at}{run}), so this run's months are not in the lake; the manifest was not overwritten\n  run again: the next run starts from the other writer's lake (or keep one writer per lake: one data dir, one schedule)")]
    Conflict { object: String, updated_at: String, run: String },
}

impl LakeError {
    /// Only a lost race for a bucket lake's manifest: the next run starts from the winner's lake. Any other lake
    /// failure (disk, permissions, a damaged manifest) fails the same way until someone fixes it.
    pub fn is_transient(&self) -> bool {
        matches!(self, LakeError::Conflict { .. })
    }

    /// A lake that mirrors another dataset, a newer manifest, a missing bucket or missing credentials are the
    /// settings' fault; a lost race is `Busy`; the rest is the machine's or the lake's.
    pub fn class(&self) -> FailureClass {
        match self {
            LakeError::DatasetMismatch { .. } | LakeError::NewerManifest { .. } => FailureClass::Usage,
            LakeError::Bucket { class, .. } => *class,
            LakeError::Conflict { .. } => FailureClass::Busy,
            _ => FailureClass::Other,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LakeError {
        let path = path.into();
        move |source| LakeError::Io { action, path, source }
    }

    pub(crate) fn duckdb(action: impl Into<String>) -> impl FnOnce(duckdb::Error) -> LakeError {
        let action = action.into();
        move |e| LakeError::DuckDb { action, message: e.to_string() }
    }

    pub(crate) fn parquet(action: impl Into<String>) -> impl FnOnce(parquet::errors::ParquetError) -> LakeError {
        let action = action.into();
        move |e| LakeError::Parquet { action, message: e.to_string() }
    }

    pub(crate) fn arrow(action: impl Into<String>) -> impl FnOnce(arrow_schema::ArrowError) -> LakeError {
        Self::arrow_message(action)
    }

    pub(crate) fn arrow_message<E: std::fmt::Display>(action: impl Into<String>) -> impl FnOnce(E) -> LakeError {
        let action = action.into();
        move |e| LakeError::Parquet { action, message: e.to_string() }
    }
}
