use std::path::PathBuf;

use crate::domain::FailureClass;

/// Errors of the lake stage. The month files already in the lake stay as they were when one of these is raised.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("cannot {action} {path}: {source}\n  check that the data dir is writable and the disk is not full")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },

    #[error("DuckDB could not {action}: {message}")]
    DuckDb { action: String, message: String },

    #[error("{path} is not a valid lake manifest: {message}\n  restore it, or move the lake folder away and run `crimewatch ingest` again to rebuild it")]
    Manifest { path: PathBuf, message: String },

    #[error("the lake in {path} mirrors dataset {lake_dataset}, not {dataset}\n  use another --data-dir for another dataset (or --dataset {lake_dataset})")]
    DatasetMismatch { path: PathBuf, lake_dataset: String, dataset: String },
}

impl LakeError {
    /// Never: a lake failure (disk, permissions, a damaged manifest) fails the same way until someone fixes it.
    pub fn is_transient(&self) -> bool {
        false
    }

    /// A lake that mirrors another dataset is the flags' fault; the rest is the machine's or the lake's.
    pub fn class(&self) -> FailureClass {
        match self {
            LakeError::DatasetMismatch { .. } => FailureClass::Usage,
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
}
