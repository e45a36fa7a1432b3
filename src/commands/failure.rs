//! How a command that did not succeed ends: one documented exit code per class of failure (README.md "Exit
//! codes", `crimewatch --help`), the error and its causes on stderr, and with `--json` one JSON object on stdout:
//! `{"error": {"code", "exit_code", "message", "causes"}}` plus what the command adds (a run's report, the
//! failed data tests).
//!
//! The exit code comes from the error's type: each stage's error says its [`FailureClass`], found here by walking
//! the cause chain; nothing reads the message.

use std::process::ExitCode;

use crimewatch::bigquery::BigQueryError;
use crimewatch::domain::FailureClass;
use crimewatch::lake::LakeError;
use crimewatch::pipeline::PipelineError;
use crimewatch::runs::RunsError;
use crimewatch::settings::SettingsError;
use crimewatch::source::SourceError;
use crimewatch::warehouse::WarehouseError;
use serde_json::{json, Map, Value};

use crate::logging;

/// The documented exit codes besides 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 1: anything not below (the disk, the lake, DuckDB, a bug).
    Failed,
    /// 2: a bad flag, configuration value or input file.
    Usage,
    /// 3: the source could not be reached, refused the requests or answered unusably.
    Source,
    /// 4: data tests failed; nothing was published.
    DataTests,
    /// 5: another run holds the run lock.
    Busy,
    /// 130: stopped by Ctrl-C or SIGTERM; the run is on record as abandoned.
    Interrupted,
}

impl Exit {
    /// Every exit besides 0, in code order (the help and the README list them so).
    pub const ALL: [Exit; 6] =
        [Exit::Failed, Exit::Usage, Exit::Source, Exit::DataTests, Exit::Busy, Exit::Interrupted];

    pub fn code(self) -> u8 {
        match self {
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Source => 3,
            Exit::DataTests => 4,
            Exit::Busy => 5,
            Exit::Interrupted => 130,
        }
    }

    /// The `code` of the JSON error object.
    pub fn name(self) -> &'static str {
        match self {
            Exit::Failed => "failed",
            Exit::Usage => "usage",
            Exit::Source => "source",
            Exit::DataTests => "data_tests_failed",
            Exit::Busy => "lock_busy",
            Exit::Interrupted => "interrupted",
        }
    }

    /// What it means, for `--help`.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Failed => "failed: anything else (the disk, the lake, DuckDB, a bug)",
            Exit::Usage => "usage: a bad flag, configuration value or input file",
            Exit::Source => "source: the SODA host could not be reached, refused the requests or answered unusably",
            Exit::DataTests => "data tests failed: nothing was published",
            Exit::Busy => "another run holds the run lock (after waiting schedule.lock_wait_seconds)",
            Exit::Interrupted => "interrupted by Ctrl-C or SIGTERM: the run is on record as abandoned",
        }
    }

    fn of(class: FailureClass) -> Exit {
        match class {
            FailureClass::Usage => Exit::Usage,
            FailureClass::Source => Exit::Source,
            FailureClass::DataTests => Exit::DataTests,
            FailureClass::Busy => Exit::Busy,
            FailureClass::Stopped => Exit::Interrupted,
            FailureClass::Other => Exit::Failed,
        }
    }
}

/// Failures the command line finds itself, before or after the library's work.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{path} is not a file\n  give the path of the CSV downloaded with the data portal's Export button")]
    NotAFile { path: std::path::PathBuf },
    /// The run was stopped; `reason` is what the ledger says (`stopped by a shutdown during ingest; ...`).
    #[error("run {run_id} {reason}")]
    Interrupted { run_id: String, reason: String },
}

impl CommandError {
    fn exit(&self) -> Exit {
        match self {
            CommandError::NotAFile { .. } => Exit::Usage,
            CommandError::Interrupted { .. } => Exit::Interrupted,
        }
    }
}

/// A command's failure: the error, what `--json` prints beside it, and the exit when the command knows better
/// than the error's class (an import's source is the file it was given, so a source error there is the user's).
#[derive(Debug)]
pub struct Failure {
    error: anyhow::Error,
    details: Map<String, Value>,
    exit: Option<Exit>,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure { error: error.into(), details: Map::new(), exit: None }
    }
}

impl Failure {
    /// Adds `details` (a JSON object) beside the error object of `--json`.
    pub fn with_details(mut self, details: Value) -> Failure {
        if let Value::Object(map) = details {
            self.details.extend(map);
        }
        self
    }

    /// Exits with `exit` whatever the error's class says.
    pub fn exit_as(mut self, exit: Exit) -> Failure {
        self.exit = Some(exit);
        self
    }

    /// Puts `message` in front, as `anyhow::Context` does.
    pub fn context(mut self, message: impl std::fmt::Display + Send + Sync + 'static) -> Failure {
        self.error = self.error.context(message);
        self
    }

    pub fn exit(&self) -> Exit {
        self.exit.unwrap_or_else(|| classify(&self.error))
    }

    /// Says what failed (stderr; with `json` also one object on stdout) and returns the exit code.
    pub fn report(self, json: bool) -> ExitCode {
        let exit = self.exit();
        let message = self.error.to_string();
        let causes = causes(&self.error);
        logging::error(&message, &causes);
        if json {
            print_json(exit, &message, &causes, self.details);
        }
        ExitCode::from(exit.code())
    }
}

/// Prints the `--json` error object (with `details` beside it) on stdout.
pub fn print_json(exit: Exit, message: &str, causes: &[String], details: Map<String, Value>) {
    let mut body = Map::new();
    body.insert(
        "error".into(),
        json!({ "code": exit.name(), "exit_code": exit.code(), "message": message, "causes": causes }),
    );
    body.extend(details);
    println!("{}", serde_json::to_string_pretty(&Value::Object(body)).unwrap_or_default());
}

/// The causes below the top message, each once: a cause whose text an error above already said (a transparent
/// wrapper, or a message that quotes its `io::Error`) is left out.
fn causes(error: &anyhow::Error) -> Vec<String> {
    let mut said = error.to_string();
    let mut out = Vec::new();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !said.contains(&text) {
            said.push_str(&text);
            out.push(text);
        }
    }
    out
}

/// The exit of the first cause whose type has a class: the stages' errors, the settings', the command line's.
fn classify(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        let class = if let Some(e) = cause.downcast_ref::<CommandError>() {
            return e.exit();
        } else if let Some(e) = cause.downcast_ref::<PipelineError>() {
            e.class()
        } else if let Some(e) = cause.downcast_ref::<RunsError>() {
            e.class()
        } else if let Some(e) = cause.downcast_ref::<SettingsError>() {
            e.class()
        } else if let Some(e) = cause.downcast_ref::<SourceError>() {
            e.class()
        } else if let Some(e) = cause.downcast_ref::<LakeError>() {
            e.class()
        } else if let Some(e) = cause.downcast_ref::<WarehouseError>() {
            e.class()
        } else if let Some(e) = cause.downcast_ref::<BigQueryError>() {
            e.class()
        } else {
            continue;
        };
        return Exit::of(class);
    }
    Exit::Failed
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_class_of_the_first_typed_cause_decides_under_any_context() {
        let busy = RunsError::LockBusy { path: PathBuf::from("l"), holder: "pid 1".into(), waited_seconds: 0 };
        let failure = Failure::from(busy).context("ingest failed");
        assert_eq!(failure.exit(), Exit::Busy);
        let range = SourceError::InvalidRange { since: "2024-05".parse().unwrap(), until: "2024-01".parse().unwrap() };
        assert_eq!(Failure::from(PipelineError::from(range)).exit(), Exit::Usage);
        assert_eq!(Failure::from(anyhow::anyhow!("plain")).exit(), Exit::Failed);
        let not_a_file = CommandError::NotAFile { path: "x.csv".into() };
        assert_eq!(Failure::from(not_a_file).exit(), Exit::Usage);
        let gave_up = SourceError::GaveUp { url: "u".into(), attempts: 2, last: "connection failed".into() };
        assert_eq!(Failure::from(gave_up).exit_as(Exit::Usage).exit(), Exit::Usage, "the command knows better");
    }

    #[test]
    fn every_exit_has_its_own_code_and_name() {
        let codes: std::collections::BTreeSet<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        let names: std::collections::BTreeSet<&str> = Exit::ALL.iter().map(|e| e.name()).collect();
        assert_eq!((codes.len(), names.len()), (Exit::ALL.len(), Exit::ALL.len()));
        assert!(!codes.contains(&0));
    }
}
