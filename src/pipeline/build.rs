//! lake → warehouse.

use super::{PipelineConfig, PipelineError, Progress};
use crate::warehouse::{self, BuildRequest, BuildSummary};

/// Builds the warehouse from the lake into a candidate file, tests it, and publishes it only when every
/// error-severity data test passes. Blocking (DuckDB); call from `spawn_blocking` in async code.
pub fn build(config: &PipelineConfig, progress: Progress) -> Result<BuildSummary, PipelineError> {
    let request = BuildRequest {
        data_dir: config.data_dir.clone(),
        config: config.warehouse.clone(),
        show_progress: progress == Progress::Terminal,
    };
    Ok(warehouse::build(&request)?)
}
