//! source → lake.

use std::path::Path;

use super::{IngestOptions, IngestSummary, PipelineError, Progress};
use crate::settings::Settings;

/// Brings the lake in step with the source for the report months in `opts`.
pub async fn ingest(
    _settings: &Settings,
    _opts: &IngestOptions,
    _progress: Progress,
) -> Result<IngestSummary, PipelineError> {
    unimplemented!("ingest is being built")
}

/// Loads an SPD CSV export into the lake.
pub fn import(_settings: &Settings, _file: &Path, _progress: Progress) -> Result<IngestSummary, PipelineError> {
    unimplemented!("import is being built")
}
