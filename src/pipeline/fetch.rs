//! The fetch step of an ingest: download the planned months, `source.months_in_flight` at a time and each
//! month's pages one after another; every page is decoded into the lake's Arrow columns as it arrives (off the
//! async threads, so other months keep downloading meanwhile); a month whose row count matches its fingerprint is
//! encoded as Parquet and staged. Nothing in the lake changes here; a failure discards what was staged.
//!
//! Memory is bounded by design, not by the data: at most `months_in_flight` months are under way, each holding
//! one page body at a time (at most `page_size_rows` rows) plus its month's decoded columns (compact Arrow
//! arrays, a fraction of the JSON they came from), and a staged month keeps nothing in memory.

use std::sync::Arc;

use arrow_array::RecordBatch;
use futures_util::stream::{self, StreamExt};
use indicatif::ProgressBar;

use super::plan::{Fetch, Why};
use super::{PipelineError, Progress};
use crate::domain::{Fingerprint, Month};
use crate::lake::{encode_month, Lake, LakeError, QuarantineLine, StagedMonth, Stager};
use crate::source::{SodaClient, SourceConfig, SourceError, SourceSchema};

/// A month downloaded, verified and staged, with what the plan said about it.
pub struct Staged {
    pub month: StagedMonth,
    pub fingerprint: Fingerprint,
    pub why: Why,
}

/// What every month download shares.
#[derive(Clone)]
struct FetchContext {
    client: SodaClient,
    schema: Arc<SourceSchema>,
    stager: Stager,
    page_size: u32,
    months_bar: ProgressBar,
}

/// Downloads and stages every planned month; on the first failure, discards the staged ones and fails.
pub async fn fetch(
    client: &SodaClient,
    lake: &Lake,
    schema: &Arc<SourceSchema>,
    months: &[Fetch],
    source: &SourceConfig,
    progress: Progress,
) -> Result<Vec<Staged>, PipelineError> {
    let ctx = FetchContext {
        client: client.clone(),
        schema: Arc::clone(schema),
        stager: lake.stager(),
        page_size: source.page_size_rows,
        months_bar: progress.bar(months.len() as u64, "months"),
    };
    let fetches = stream::iter(months.iter().cloned())
        .map(|f| {
            let ctx = ctx.clone();
            async move {
                let month = fetch_month(&ctx, f.month, &f.fingerprint).await?;
                ctx.months_bar.inc(1);
                Ok::<_, PipelineError>(Staged { month, fingerprint: f.fingerprint, why: f.why })
            }
        })
        .buffer_unordered(source.months_in_flight as usize);
    let mut fetches = std::pin::pin!(fetches);
    let mut staged = Vec::new();
    let mut failure = None;
    while let Some(r) = fetches.next().await {
        match r {
            Ok(s) => staged.push(s),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    ctx.months_bar.finish_and_clear();
    match failure {
        Some(e) => {
            for s in staged {
                lake.discard(s.month);
            }
            Err(e)
        }
        None => Ok(staged),
    }
}

/// Downloads one report month, checks the row count against the fingerprint (once more on a mismatch), and
/// stages the month's file.
async fn fetch_month(ctx: &FetchContext, month: Month, fp: &Fingerprint) -> Result<StagedMonth, PipelineError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let got = download_month(ctx, month).await?;
        if got.rows == fp.count {
            let stager = ctx.stager.clone();
            let (rows, quarantined) = (got.rows, got.quarantine.len());
            let staged = blocking(move || {
                let file = encode_month(&got.batches)?;
                stager.stage(month, &file, &got.quarantine)
            })
            .await?;
            if quarantined > 0 {
                tracing::warn!(stage = "source", month = %month, rows = quarantined, error_type = "bad_row", "row(s) quarantined: they could not be read");
            }
            tracing::info!(stage = "source", month = %month, rows, "month fetched");
            return Ok(staged);
        }
        tracing::warn!(stage = "source", month = %month, rows = got.rows, expected = fp.count, error_type = "count_mismatch", "row count differs from the fingerprint");
        if attempt >= 2 {
            return Err(SourceError::CountMismatch { month, expected: fp.count, fetched: got.rows }.into());
        }
    }
}

/// One report month as downloaded: its decoded pages, the rows to quarantine, and how many rows the pages held.
#[derive(Default)]
struct Downloaded {
    batches: Vec<RecordBatch>,
    quarantine: Vec<QuarantineLine>,
    rows: u64,
}

/// Downloads one report month page by page (each page decoded as it arrives).
async fn download_month(ctx: &FetchContext, month: Month) -> Result<Downloaded, PipelineError> {
    let mut got = Downloaded::default();
    loop {
        let page = ctx.client.fetch_page(&ctx.schema, month, got.rows).await?;
        got.rows += page.rows;
        let rejected = page.rejected.into_iter().map(|r| QuarantineLine { reason: r.reason, line: None, row: r.row });
        got.quarantine.extend(rejected);
        if page.batch.num_rows() > 0 {
            got.batches.push(page.batch);
        }
        ctx.months_bar.set_message(format!("{month}: {} rows", got.rows));
        if page.rows < u64::from(ctx.page_size) {
            return Ok(got);
        }
    }
}

/// Runs blocking lake work (Parquet encoding, file writes) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, LakeError> + Send + 'static,
) -> Result<T, PipelineError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(PipelineError::from),
        Err(e) => Err(LakeError::Parquet { action: "run a blocking task".into(), message: e.to_string() }.into()),
    }
}
