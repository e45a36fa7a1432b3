//! Everything that can stop a publish, each naming the project, dataset and table it concerns and what to do.
//! None of them touches the DuckDB warehouse or the lake: the stage only reads those.

use std::fmt;
use std::path::PathBuf;

use crate::domain::FailureClass;

/// The BigQuery object an error concerns: `project`, `project.dataset` or `project.dataset.table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub project: String,
    pub dataset: Option<String>,
    pub table: Option<String>,
}

impl Target {
    pub fn project(project: &str) -> Target {
        Target { project: project.to_string(), dataset: None, table: None }
    }

    pub fn dataset(project: &str, dataset: &str) -> Target {
        Target { dataset: Some(dataset.to_string()), ..Target::project(project) }
    }

    pub fn table(project: &str, dataset: &str, table: &str) -> Target {
        Target { table: Some(table.to_string()), ..Target::dataset(project, dataset) }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "project {}", self.project)?;
        if let Some(d) = &self.dataset {
            write!(f, ", dataset {d}")?;
        }
        if let Some(t) = &self.table {
            write!(f, ", table {t}")?;
        }
        Ok(())
    }
}

/// A publish to BigQuery failed. The DuckDB warehouse and the lake are untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum BigQueryError {
    #[error(
        "no BigQuery project set: pass --bigquery-project PROJECT, set CRIMEWATCH_BIGQUERY_PROJECT, or add \
         `project = \"...\"` under [bigquery] in crimewatch.toml"
    )]
    NotConfigured,

    #[error(
        "no Google credentials for BigQuery ({message}); set GOOGLE_APPLICATION_CREDENTIALS to a service-account key \
         file, run `gcloud auth application-default login`, or run on Google Cloud with a service account \
         (the warehouse and the lake are unchanged)"
    )]
    Credentials { message: String },

    #[error(
        "BigQuery at {endpoint} cannot be reached ({target}): {message}; check the network, or \
         BIGQUERY_EMULATOR_HOST when using an emulator (the warehouse and the lake are unchanged)"
    )]
    Unreachable { endpoint: String, target: Target, message: String },

    #[error(
        "BigQuery denied {action} ({target}): {message}; the account needs roles/bigquery.dataEditor on the \
         datasets and roles/bigquery.jobUser on project {project} (the warehouse and the lake are unchanged)",
        project = target.project
    )]
    PermissionDenied { target: Target, action: String, message: String },

    #[error(
        "BigQuery quota or rate limit hit while trying to {action} ({target}): {message}; try again later \
         (the warehouse and the lake are unchanged)"
    )]
    Quota { target: Target, action: String, message: String },

    #[error("BigQuery answered HTTP {status} to {action} ({target}): {message}")]
    Api { target: Target, action: String, status: u16, message: String },

    /// `job` names the kind and id (`load job crimewatch_...`); `message` has the job's error and its error rows.
    #[error("BigQuery {job} failed ({target}): {message}")]
    JobFailed { target: Target, job: String, message: String },

    #[error("column {column} of {table} has DuckDB type {duckdb_type}, which crimewatch does not map to BigQuery")]
    UnsupportedType { table: String, column: String, duckdb_type: String },

    #[error("cannot read the published warehouse {path}: {message}")]
    Warehouse { path: PathBuf, message: String },

    #[error(
        "the lake changed since the published warehouse was built ({detail}); run `crimewatch build` (or `run`) \
         first, so BigQuery gets a lake and marts that belong together"
    )]
    LakeAheadOfWarehouse { detail: String },

    #[error("no published warehouse at {path}: run `crimewatch build` (or `run`) first")]
    NothingPublished { path: PathBuf },

    #[error("cannot {action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

impl BigQueryError {
    /// Whether trying again later may help: the endpoint was unreachable, a quota ran out, or the service had
    /// a 5xx; bad settings, credentials, permissions and failed loads fail the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            BigQueryError::Unreachable { .. } | BigQueryError::Quota { .. } => true,
            BigQueryError::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Missing settings or credentials are the user's to fix (exit 2); the rest is BigQuery's, the network's or
    /// the warehouse's (exit 1).
    pub fn class(&self) -> FailureClass {
        match self {
            BigQueryError::NotConfigured | BigQueryError::Credentials { .. } => FailureClass::Usage,
            _ => FailureClass::Other,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> BigQueryError {
        BigQueryError::Io { action, path: path.into(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_target_and_the_fix() {
        let denied = BigQueryError::PermissionDenied {
            target: Target::table("p", "crimewatch_marts", "dim_month"),
            action: "create a load job".into(),
            message: "Access Denied".into(),
        };
        let text = denied.to_string();
        for needle in ["project p", "dataset crimewatch_marts", "table dim_month", "roles/bigquery.dataEditor"] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        assert!(text.contains("roles/bigquery.jobUser on project p"), "{text}");
        assert!(!denied.is_transient());
        let failed = BigQueryError::JobFailed {
            target: Target::table("p", "d", "t"),
            job: "load job j1".into(),
            message: "bad; errors: row 3: x".into(),
        };
        assert!(
            failed.to_string().starts_with("BigQuery load job j1 failed (project p, dataset d, table t)"),
            "{failed}"
        );
        let down = BigQueryError::Unreachable {
            endpoint: "http://127.0.0.1:9".into(),
            target: Target::dataset("p", "d"),
            message: "connection refused".into(),
        };
        assert!(down.is_transient());
        assert!(down.to_string().contains("http://127.0.0.1:9"));
    }
}
