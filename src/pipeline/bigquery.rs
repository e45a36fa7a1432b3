//! warehouse → BigQuery: points the BigQuery stage at the published warehouse and the lake it was built from.

use super::{PipelineConfig, PipelineError};
use crate::bigquery::{self, BigQueryError, LakeLocation, PublishInput, PublishSummary};

/// Copies the published warehouse (and the lake's rows, from `lake`) to BigQuery; loads only tables that
/// changed. Fails with [`BigQueryError::NotConfigured`] when no project is set.
pub async fn publish_bigquery(config: &PipelineConfig, lake: LakeLocation) -> Result<PublishSummary, PipelineError> {
    let bq = config.bigquery.as_ref().ok_or_else(|| PipelineError::BigQuery(Box::new(BigQueryError::NotConfigured)))?;
    let input = PublishInput { data_dir: config.data_dir.clone(), lake };
    bigquery::publish(bq, &input).await.map_err(|e| PipelineError::BigQuery(Box::new(e)))
}
