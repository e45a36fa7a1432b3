//! The fetch step of an ingest: download the planned months (a few in flight at once, each page parsed as it
//! arrives and appended to a per-month DuckDB table), check each month's row count against its fingerprint, and
//! stage its Parquet file. Nothing in the lake changes here; a failure discards what was staged.

use std::sync::{Arc, Mutex};

use futures_util::stream::{self, StreamExt};
use indicatif::ProgressBar;

use super::plan::{Fetch, Why};
use super::{PipelineError, Progress};
use crate::domain::{CanonicalRow, Fingerprint, Month};
use crate::lake::{Lake, LakeError, QuarantineLine, StagedMonth, Stager, StagingTable};
use crate::source::soda::PageRows;
use crate::source::{SodaClient, SourceConfig, SourceError, SourceSchema};

/// A month downloaded, verified and staged, with what the plan said about it.
pub struct Staged {
    pub month: StagedMonth,
    pub fingerprint: Fingerprint,
    pub why: Why,
}

/// Emptied staging tables, kept for the next month.
type TablePool = Arc<Mutex<Vec<StagingTable>>>;

/// What every month download shares.
#[derive(Clone)]
struct FetchContext {
    client: SodaClient,
    schema: Arc<SourceSchema>,
    stager: Stager,
    page_size: u32,
    months_bar: ProgressBar,
    pool: TablePool,
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
        pool: Arc::default(),
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

/// Downloads one report month into a DuckDB table, checks the row count against the fingerprint (once more on
/// a mismatch), and stages the month's file.
async fn fetch_month(ctx: &FetchContext, month: Month, fp: &Fingerprint) -> Result<StagedMonth, PipelineError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (table, quarantine, fetched) = download_month(ctx, month).await?;
        if fetched == fp.count {
            let stager = ctx.stager.clone();
            let rows = table.rows();
            let pool = Arc::clone(&ctx.pool);
            let staged = blocking(move || {
                let mut table = table;
                let staged = stager.stage(month, &table, false, rows, &quarantine)?;
                // Reuse the in-memory database for the next month: opening one per month is measurable.
                table.clear()?;
                if let Ok(mut p) = pool.lock() {
                    p.push(table);
                }
                Ok(staged)
            })
            .await?;
            tracing::info!(stage = "source", month = %month, rows = fetched, "month fetched");
            return Ok(staged);
        }
        tracing::warn!(stage = "source", month = %month, rows = fetched, expected = fp.count, error_type = "count_mismatch", "row count differs from the fingerprint");
        if attempt >= 2 {
            return Err(SourceError::CountMismatch { month, expected: fp.count, fetched }.into());
        }
    }
}

/// Downloads one report month page by page into a (pooled) table: the table, the rows to quarantine, and how
/// many rows the pages held.
async fn download_month(
    ctx: &FetchContext,
    month: Month,
) -> Result<(StagingTable, Vec<QuarantineLine>, u64), PipelineError> {
    let mut table = match ctx.pool.lock().ok().and_then(|mut p| p.pop()) {
        Some(t) => t,
        None => blocking(StagingTable::new).await?,
    };
    let mut quarantine: Vec<QuarantineLine> = Vec::new();
    let mut fetched: u64 = 0;
    loop {
        let page: PageRows = ctx.client.fetch_page(&ctx.schema, month, fetched).await?;
        let n = page.len() as u64;
        fetched += n;
        let (t, rejected) = blocking(move || {
            let mut rows: Vec<CanonicalRow> = Vec::with_capacity(page.len());
            let mut rejected = Vec::new();
            for r in page {
                match r {
                    Ok(row) => rows.push(row),
                    Err(rej) => rejected.push(QuarantineLine { reason: rej.reason, line: None, row: rej.row }),
                }
            }
            table.append(&rows)?;
            Ok((table, rejected))
        })
        .await?;
        table = t;
        quarantine.extend(rejected);
        ctx.months_bar.set_message(format!("{month}: {fetched} rows"));
        if n < u64::from(ctx.page_size) {
            return Ok((table, quarantine, fetched));
        }
    }
}

/// Runs blocking lake work (DuckDB, file writes) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, LakeError> + Send + 'static,
) -> Result<T, PipelineError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(PipelineError::from),
        Err(e) => Err(LakeError::DuckDb { action: "run a blocking task".into(), message: e.to_string() }.into()),
    }
}
