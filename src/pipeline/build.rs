//! lake → warehouse: the lake's files are verified first, then the warehouse builds from them.

use std::time::Instant;

use super::{PipelineConfig, PipelineError, Progress};
use crate::lake;
use crate::warehouse::{self, BuildRequest, BuildSummary};

/// For a lake in a bucket, first brings its local copy in step with the bucket's manifest. Verifies every lake file against the manifest's checksums (a file that fails stops the build before anything
/// is built: nothing is published), then builds the warehouse from the lake into a candidate file, tests it, and
/// publishes it only when every error-severity data test passes. Blocking (DuckDB, hashing); call from
/// `spawn_blocking` in async code. The run lock keeps ingests out between the check and the read.
pub fn build(config: &PipelineConfig, progress: Progress) -> Result<BuildSummary, PipelineError> {
    let started = Instant::now();
    if let Some(b) = &config.lake.bucket {
        // The build reads the bucket's copy, in step with its manifest: only changed files are downloaded.
        super::bucket::block_on(super::bucket::pull(b, config))??;
    }
    let verified = lake::verify_lake(&config.data_dir)?;
    tracing::info!(
        stage = "lake",
        months = verified.months,
        bytes = verified.bytes,
        ms = started.elapsed().as_millis() as u64,
        "lake files verified"
    );
    let request = BuildRequest {
        data_dir: config.data_dir.clone(),
        config: config.warehouse.clone(),
        show_progress: progress == Progress::Terminal,
    };
    Ok(warehouse::build(&request)?)
}
