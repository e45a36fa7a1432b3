//! source → lake, in four named steps: probe (the source's columns and every report month's fingerprint, in
//! two requests) → [`plan`](super::plan) (pure: what to fetch and why, what to delete) → [`fetch`](super::fetch)
//! (download, verify and stage the planned months; the lake is untouched) → [`commit`](super::commit) (only when
//! every month downloaded and verified: swap them in one by one and drop the months the source no longer has).
//! A failed run therefore leaves the lake as it was. Months are mirrored wholesale: `offense_id` is not stable
//! across SPD's revisions, so rows are never merged by id.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::commit::{commit, CommitReport};
use super::fetch::fetch;
use super::plan::{plan, probe_range, Plan, PlanInput};
use super::{IngestOptions, IngestSummary, PipelineConfig, PipelineError, Progress};
use crate::domain::Month;
use crate::lake::{Lake, LakeError};
use crate::source::{Fingerprints, SodaClient, SourceConfig, SourceError, SourceSchema};

/// Brings the lake in step with the source for the report months in `opts` (a bucket lake through its copy).
pub async fn ingest(
    config: &PipelineConfig,
    opts: &IngestOptions,
    progress: Progress,
) -> Result<IngestSummary, PipelineError> {
    match &config.lake.bucket {
        None => ingest_folder(config, opts, progress).await,
        Some(b) => super::bucket::committed(config, b, || ingest_folder(config, opts, progress)).await,
    }
}

/// The ingest into the lake's folder.
async fn ingest_folder(
    config: &PipelineConfig,
    opts: &IngestOptions,
    progress: Progress,
) -> Result<IngestSummary, PipelineError> {
    let started = Instant::now();
    let current = Month::current_in_seattle(chrono::Utc::now());
    let since = opts.since.unwrap_or(config.source.default_since);
    let until = opts.until.unwrap_or(current);
    if since > until {
        return Err(SourceError::InvalidRange { since, until }.into());
    }
    let source = &config.source;
    // Opening the lake hashes every month file (~0.1 s of CPU for the 1.2M-row lake): done while the client is
    // made (its TLS set-up reads the system's CA bundle, twice: ~20–40 ms) and the source answers the probe, so
    // a run with nothing to do takes no longer than the two requests.
    let (opened, probed) = tokio::join!(open_lake(config), connect_and_probe(source, since, until));
    let mut lake = opened?;
    let (client, schema, mut fingerprints) = probed?;
    // Months the lake cannot vouch for are repaired whatever the range: their fingerprints are asked for too.
    let (probe_since, probe_until) = probe_range(lake.manifest(), since, until);
    if (probe_since, probe_until) != (since, until) {
        fingerprints = client.fingerprints(&schema, probe_since, probe_until).await?;
    }
    let plan = plan(PlanInput {
        manifest: lake.manifest(),
        source_fields: &schema.fields,
        fingerprints: &fingerprints,
        since,
        until,
        current,
        full: opts.full,
        recheck_recent_months: source.recheck_recent_months as usize,
    });
    let staged = fetch(&client, &lake, &schema, &plan.fetch, source, progress).await?;
    let fetched = staged.len();
    let committed = commit(&mut lake, staged, &plan, current, source, schema.fields.clone())?;
    let mut summary = summarize(&lake, &schema, &fingerprints, plan, committed);
    summary.source_rows = fingerprints.months.range(since..=until).map(|(_, f)| f.count).sum();
    summary.since = Some(since);
    summary.until = Some(until);
    summary.months_fetched = fetched;
    let traffic = client.traffic();
    summary.requests = traffic.requests.load(Ordering::Relaxed);
    summary.bytes = traffic.bytes.load(Ordering::Relaxed);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Opens (recovers, verifies) the lake on a blocking thread.
async fn open_lake(config: &PipelineConfig) -> Result<Lake, PipelineError> {
    let (dir, lake, source) = (config.data_dir.clone(), config.lake.clone(), config.source.clone());
    match tokio::task::spawn_blocking(move || Lake::open(&dir, &lake, &source.dataset, &source.socrata_url)).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(PipelineError::Lake(LakeError::Io {
            action: "open",
            path: config.data_dir.lake(),
            source: std::io::Error::other(e.to_string()),
        })),
    }
}

/// The client (made on a blocking thread), the source's columns (mapped onto the lake's) and every report
/// month's fingerprint in range.
async fn connect_and_probe(
    source: &SourceConfig,
    since: Month,
    until: Month,
) -> Result<(SodaClient, Arc<SourceSchema>, Fingerprints), PipelineError> {
    let config = source.clone();
    let client = match tokio::task::spawn_blocking(move || SodaClient::new(&config)).await {
        Ok(made) => made?,
        Err(e) => return Err(SourceError::Client(format!("could not make the HTTP client: {e}")).into()),
    };
    let schema = Arc::new(client.probe().await?);
    let fingerprints = client.fingerprints(&schema, since, until).await?;
    Ok((client, schema, fingerprints))
}

/// The summary of what the plan decided and the commit did, with the lake's totals after it.
fn summarize(
    lake: &Lake,
    schema: &SourceSchema,
    fingerprints: &Fingerprints,
    plan: Plan,
    done: CommitReport,
) -> IngestSummary {
    let mut notes = lake.recovered.clone();
    notes.extend(plan.notes);
    notes.extend(done.notes);
    if plan.dataset_replaced {
        let changed_content = done.added.len() + done.changed.len();
        notes.push(format!(
            "the publisher replaced the whole dataset (every month's :updated_at moved): all {} months were fetched again; {} had different content",
            plan.comparable, changed_content
        ));
    }
    IngestSummary {
        months_unchanged: plan.unchanged + done.same_content.len(),
        months_added: done.added,
        months_changed: done.changed,
        months_deleted: done.deleted,
        rows_written: done.rows_written,
        rows_quarantined: done.rows_quarantined,
        new_columns: schema.extras.clone(),
        dataset_replaced: plan.dataset_replaced,
        notes,
        months_same_content: done.same_content,
        months_repaired: done.repaired,
        partial_month: plan.partial_month,
        lake_rows: lake.manifest().total_rows(),
        lake_months: lake.manifest().months.len(),
        detection: fingerprints.aggregates.name().to_string(),
        ..IngestSummary::default()
    }
}
