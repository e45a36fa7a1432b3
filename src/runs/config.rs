use std::time::Duration;

use crate::domain::DataDir;
use crate::pipeline::PipelineConfig;

/// What keeping runs needs: the pipeline a run runs, and how long a run waits for another run's lock
/// (`schedule.lock_wait_seconds`).
#[derive(Debug, Clone)]
pub struct RunsConfig {
    pub pipeline: PipelineConfig,
    pub lock_wait: Duration,
}

impl RunsConfig {
    /// Where the lock and the ledger live (beside the lake and the warehouse).
    pub fn data_dir(&self) -> &DataDir {
        &self.pipeline.data_dir
    }
}
