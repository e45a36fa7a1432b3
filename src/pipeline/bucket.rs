//! A run against a lake in a bucket: the local lake code works on the bucket's copy (`DATA_DIR/lake-cache`);
//! before it, the copy is brought in step with the bucket's manifest; after an ingest or import, what the run
//! committed there is uploaded and the bucket's manifest replaced conditionally. A lost race re-plans once from
//! the winner's lake, then fails naming the other writer.

use std::future::Future;

use super::{IngestSummary, PipelineConfig, PipelineError};
use crate::domain::Bytes;
use crate::lake::remote::{Bucket, Pulled};
use crate::lake::{BucketLake, LakeError};

/// Runs `work` (an ingest or import on the copy) and commits its result to the bucket.
pub(super) async fn committed<F, Fut>(
    config: &PipelineConfig,
    lake: &BucketLake,
    mut work: F,
) -> Result<IngestSummary, PipelineError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<IngestSummary, PipelineError>>,
{
    let bucket = Bucket::open(lake)?;
    let dir = &config.data_dir;
    let mut lost = None;
    loop {
        let pulled = bucket.pull(dir).await?;
        let mut summary = work().await?;
        match bucket.push(dir, &pulled).await {
            Ok(pushed) => {
                let deleted = bucket.collect_garbage(dir, &pulled, config.lake.gc_grace).await?;
                summary.notes.extend(pulled.notes);
                if let Some(LakeError::Conflict { updated_at, .. }) = lost {
                    summary.notes.insert(
                        0,
                        format!("another writer committed to {} first (its manifest of {updated_at}); this run re-planned from its lake", lake.url()),
                    );
                }
                if pushed.manifest_written {
                    summary.notes.push(format!(
                        "committed to {}: {} object(s) uploaded ({}), then the manifest",
                        lake.url(),
                        pushed.uploaded,
                        Bytes(pushed.uploaded_bytes)
                    ));
                }
                if deleted > 0 {
                    summary.notes.push(format!(
                        "deleted {deleted} object(s) no manifest has named for lake.gc_grace ({} s)",
                        config.lake.gc_grace.as_secs()
                    ));
                }
                return Ok(summary);
            }
            Err(e @ LakeError::Conflict { .. }) if lost.is_none() => {
                tracing::warn!(stage = "lake", bucket = %lake.url(), "{e}; re-planning once from the other writer's lake");
                lost = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Brings the copy in step with the bucket (before a build); returns what was downloaded.
pub(super) async fn pull(lake: &BucketLake, config: &PipelineConfig) -> Result<Pulled, PipelineError> {
    Ok(Bucket::open(lake)?.pull(&config.data_dir).await?)
}

/// Runs a future to its end from blocking code: on the runtime this blocking thread belongs to
/// (`spawn_blocking`), else on a runtime of its own.
pub(super) fn block_on<F: Future>(f: F) -> Result<F::Output, PipelineError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => Ok(handle.block_on(f)),
        Err(_) => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
                PipelineError::Lake(LakeError::Io { action: "start", path: "the async runtime".into(), source: e })
            })?;
            Ok(rt.block_on(f))
        }
    }
}
