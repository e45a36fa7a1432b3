//! source → lake.
//!
//! `ingest`: probe the schema, fetch every report month's fingerprint in one aggregate request, compare with the
//! manifest, download only the months that are new or differ (a few in flight at once, each page parsed as it
//! arrives and appended to a per-month DuckDB table), stage each month's Parquet file, and — only when every
//! month downloaded and verified — swap them into the lake one by one and drop the months the source no longer
//! has. A failed run therefore leaves the lake as it was. Months are mirrored wholesale: `offense_id` is not
//! stable across SPD's revisions, so rows are never merged by id.
//!
//! `import`: read an SPD CSV export into one DuckDB table, then replace each report month it covers.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};

use super::{IngestOptions, IngestSummary, PipelineConfig, PipelineError, Progress};
use crate::domain::data_dir::QUARANTINE_FILE;
use crate::domain::{CanonicalRow, Fingerprint, Month, SourceKind};
use crate::lake::{Committed, Lake, LakeError, QuarantineLine, StagedMonth, Stager, StagingTable};
use crate::source::csv_export::CsvExport;
use crate::source::soda::PageRows;
use crate::source::soql::AggregateLevel;
use crate::source::{SodaClient, SourceError, SourceSchema};

fn bar(progress: Progress, len: u64, what: &str) -> ProgressBar {
    match progress {
        Progress::Hidden => ProgressBar::hidden(),
        Progress::Terminal => {
            let b = ProgressBar::new(len);
            let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            b.set_style(style.progress_chars("=> "));
            b.set_prefix(what.to_string());
            b
        }
    }
}

/// Whether the stored fingerprint says the month may differ from the source. Only the parts both sides have
/// are compared, so a server that stops (or starts) aggregating `:updated_at` does not force a full re-fetch.
fn differs(stored: Option<&Fingerprint>, now: &Fingerprint) -> bool {
    let Some(s) = stored else { return true };
    let part = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x != y);
    s.count != now.count || part(&s.max_updated_at, &now.max_updated_at) || part(&s.content_sum, &now.content_sum)
}

/// Why a month is downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    New,
    Changed,
    Recheck,
    Forced,
}

/// Brings the lake in step with the source for the report months in `opts`.
pub async fn ingest(
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
    let client = SodaClient::new(source)?;
    let mut lake = Lake::open(&config.data_dir, &config.lake, &source.dataset, &source.socrata_url)?;
    let mut summary = IngestSummary { since: Some(since), until: Some(until), ..Default::default() };
    summary.notes.extend(lake.recovered.iter().cloned());

    let schema = Arc::new(client.probe().await?);
    summary.new_columns = schema.extras.clone();
    let fps = client.fingerprints(&schema, since, until).await?;
    summary.detection = match fps.level {
        AggregateLevel::Full => "full",
        AggregateLevel::Content => "content",
        AggregateLevel::CountOnly => "count",
    }
    .to_string();
    summary.source_rows = fps.months.values().map(|f| f.count).sum();
    if (since..=until).contains(&current) {
        summary.partial_month = Some(current);
    }

    // Decide what to fetch.
    let manifest = lake.manifest().clone();
    let schema_changed = !manifest.source_fields.is_empty()
        && manifest.source_fields != schema.fields
        && manifest.months.iter().any(|e| e.source_kind == SourceKind::Soda);
    if schema_changed {
        summary.notes.push(format!(
            "the source's columns changed since the last run (now: {}); every month in range was fetched again",
            schema.fields.join(", ")
        ));
    }
    let recent: Vec<Month> = if fps.level == AggregateLevel::Full {
        Vec::new()
    } else {
        let n = source.recheck_recent_months as usize;
        fps.months.keys().rev().take(n).copied().collect()
    };
    let (mut comparable, mut moved) = (0usize, 0usize);
    let mut plan: Vec<(Month, Fingerprint, Why)> = Vec::new();
    for (m, fp) in &fps.months {
        let stored = manifest.get(*m);
        if let Some(Some(old)) = stored.map(|e| e.fingerprint.as_ref()) {
            if let (Some(a), Some(b)) = (&old.max_updated_at, &fp.max_updated_at) {
                comparable += 1;
                if a != b {
                    moved += 1;
                }
            }
        }
        let why = match stored {
            None => Some(Why::New),
            Some(_) if opts.full => Some(Why::Forced),
            Some(e) if e.source_kind == SourceKind::Csv || schema_changed => Some(Why::Changed),
            Some(e) if differs(e.fingerprint.as_ref(), fp) => Some(Why::Changed),
            Some(_) if recent.contains(m) => Some(Why::Recheck),
            Some(_) => None,
        };
        match why {
            Some(w) => plan.push((*m, fp.clone(), w)),
            None => summary.months_unchanged += 1,
        }
    }
    if fps.level != AggregateLevel::Full {
        summary.notes.push(format!(
            "the server refused to aggregate :updated_at; months were compared by row count{} and the last {} were fetched again",
            if fps.level == AggregateLevel::Content { " and offense-id sum" } else { " only" },
            recent.len()
        ));
    }
    summary.dataset_replaced = comparable >= 2 && moved == comparable;
    let deleted: Vec<Month> = manifest
        .months
        .iter()
        .map(|e| e.month)
        .filter(|m| (since..=until).contains(m) && !fps.months.contains_key(m))
        .collect();

    // Fetch and stage (nothing in the lake changes yet).
    let page_size = source.page_size_rows;
    let months_bar = bar(progress, plan.len() as u64, "months");
    let stager = lake.stager();
    let pool: TablePool = Arc::default();
    let mut staged: Vec<(StagedMonth, Fingerprint, Why)> = Vec::new();
    let mut failure: Option<PipelineError> = None;
    {
        let fetches = stream::iter(plan.iter().cloned())
            .map(|(m, fp, why)| {
                let ctx = FetchContext {
                    client: client.clone(),
                    schema: Arc::clone(&schema),
                    stager: stager.clone(),
                    page_size,
                    months_bar: months_bar.clone(),
                    pool: Arc::clone(&pool),
                };
                async move {
                    let s = fetch_month(&ctx, m, &fp).await?;
                    ctx.months_bar.inc(1);
                    Ok::<_, PipelineError>((s, fp, why))
                }
            })
            .buffer_unordered(source.months_in_flight as usize);
        let mut fetches = std::pin::pin!(fetches);
        while let Some(r) = fetches.next().await {
            match r {
                Ok(s) => staged.push(s),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    months_bar.finish_and_clear();
    if let Some(e) = failure {
        for (s, _, _) in staged {
            lake.discard(s);
        }
        return Err(e);
    }

    // Commit: swap months in, in month order, then drop the deleted ones.
    staged.sort_by_key(|(s, _, _)| s.month);
    summary.months_fetched = staged.len();
    lake.set_source(&source.dataset, &source.socrata_url, schema.fields.clone());
    let mut changed_content = 0usize;
    let mut dirty = !staged.is_empty() || !deleted.is_empty();
    lake.defer_manifest(true);
    for (s, fp, why) in staged {
        let (m, rows, q) = (s.month, s.rows, s.quarantined);
        let outcome = lake.commit(s, Some(fp), m == current, SourceKind::Soda)?;
        if q > 0 {
            summary.notes.push(format!("{m}: {q} row(s) could not be parsed; see its {QUARANTINE_FILE}"));
        }
        match outcome {
            Committed::Added => summary.months_added.push(m),
            Committed::Replaced => summary.months_changed.push(m),
            Committed::Same => {
                summary.months_same_content.push(m);
                summary.months_unchanged += 1;
            }
        }
        if outcome != Committed::Same {
            changed_content += 1;
            summary.rows_written += rows;
            summary.rows_quarantined += q;
        }
        tracing::info!(stage = "lake", month = %m, rows, quarantined = q, why = ?why, outcome = ?outcome, "month committed");
    }
    for m in &deleted {
        lake.delete_month(*m)?;
        summary.months_deleted.push(*m);
    }
    // A month that stopped being the current one is complete now, even if nothing in it changed.
    let stale_partial: Vec<_> =
        lake.manifest().months.iter().filter(|e| e.partial != (e.month == current)).cloned().collect();
    for mut e in stale_partial {
        e.partial = e.month == current;
        lake.upsert_entry(e);
        dirty = true;
    }
    if dirty {
        lake.save_manifest()?;
    }
    lake.defer_manifest(false);
    if summary.dataset_replaced {
        summary.notes.push(format!(
            "the publisher replaced the whole dataset (every month's :updated_at moved): all {} months were fetched again; {} had different content",
            comparable, changed_content
        ));
    }
    let traffic = client.traffic();
    summary.requests = traffic.requests.load(Ordering::Relaxed);
    summary.bytes = traffic.bytes.load(Ordering::Relaxed);
    summary.lake_rows = lake.manifest().total_rows();
    summary.lake_months = lake.manifest().months.len();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Emptied staging tables, kept for the next month.
type TablePool = Arc<std::sync::Mutex<Vec<StagingTable>>>;

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

/// Downloads one report month page by page into a DuckDB table, checks the row count against the fingerprint
/// (once more on a mismatch), and stages the month's file.
async fn fetch_month(ctx: &FetchContext, month: Month, fp: &Fingerprint) -> Result<StagedMonth, PipelineError> {
    let FetchContext { client, schema, stager, page_size, months_bar, pool } = ctx;
    let page_size = *page_size;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut table = match pool.lock().ok().and_then(|mut p| p.pop()) {
            Some(t) => t,
            None => blocking(StagingTable::new).await?,
        };
        let mut quarantine: Vec<QuarantineLine> = Vec::new();
        let mut fetched: u64 = 0;
        let mut offset: u64 = 0;
        loop {
            let page: PageRows = client.fetch_page(schema, month, offset).await?;
            let n = page.len() as u64;
            fetched += n;
            offset += n;
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
            months_bar.set_message(format!("{month}: {fetched} rows"));
            if n < u64::from(page_size) {
                break;
            }
        }
        if fetched == fp.count {
            let stager = stager.clone();
            let rows = table.rows();
            let pool = Arc::clone(pool);
            let staged = blocking(move || {
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

/// Runs blocking lake work (DuckDB, file writes) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, LakeError> + Send + 'static,
) -> Result<T, PipelineError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(PipelineError::from),
        Err(e) => Err(LakeError::DuckDb { action: "run a blocking task".into(), message: e.to_string() }.into()),
    }
}

/// Loads an SPD CSV export into the lake: each report month the file covers replaces that month wholesale
/// (`source_kind = csv`); a later `ingest` fetches such months again from the source when they are in range.
pub fn import(config: &PipelineConfig, file: &Path, progress: Progress) -> Result<IngestSummary, PipelineError> {
    let started = Instant::now();
    let current = Month::current_in_seattle(chrono::Utc::now());
    let mut export = CsvExport::open(file)?;
    let source = &config.source;
    let mut lake = Lake::open(&config.data_dir, &config.lake, &source.dataset, &source.socrata_url)?;
    let mut summary = IngestSummary { detection: "csv".into(), ..Default::default() };
    summary.notes.extend(lake.recovered.iter().cloned());
    summary.new_columns = export.extra_headers();
    summary.bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);

    let stager = lake.stager();
    let mut table = StagingTable::new()?;
    let scratch = stager.scratch_dir("import")?;
    table.limit_memory(&scratch, 192)?;
    let rows_bar = bar(progress, 0, "rows");
    let mut quarantine: BTreeMap<Option<Month>, Vec<QuarantineLine>> = BTreeMap::new();
    let mut batch: Vec<CanonicalRow> = Vec::with_capacity(10_000);
    while let Some(r) = export.next_row() {
        let r = r?;
        summary.source_rows += 1;
        match r.row {
            Ok(row) => batch.push(row),
            Err(rej) => quarantine.entry(r.month).or_default().push(QuarantineLine {
                reason: rej.reason,
                line: Some(r.line),
                row: rej.row,
            }),
        }
        if batch.len() == 10_000 {
            table.append(&batch)?;
            batch.clear();
            rows_bar.set_position(summary.source_rows);
        }
    }
    table.append(&batch)?;
    drop(batch);
    rows_bar.finish_and_clear();
    if summary.source_rows == 0 {
        return Err(
            SourceError::CsvFormat { path: file.to_path_buf(), message: "the file has no data rows".into() }.into()
        );
    }

    let months = table.months()?;
    summary.since = months.first().map(|(m, _)| *m);
    summary.until = months.last().map(|(m, _)| *m);
    for (m, n) in &months {
        let q = quarantine.remove(&Some(*m)).unwrap_or_default();
        let staged = stager.stage(*m, &table, true, *n, &q)?;
        let fp = Fingerprint { count: n + q.len() as u64, max_updated_at: None, content_sum: None };
        let qn = q.len() as u64;
        match lake.commit(staged, Some(fp), *m == current, SourceKind::Csv)? {
            Committed::Added => summary.months_added.push(*m),
            Committed::Replaced => summary.months_changed.push(*m),
            Committed::Same => summary.months_same_content.push(*m),
        }
        summary.months_fetched += 1;
        summary.rows_written += n;
        summary.rows_quarantined += qn;
        if qn > 0 {
            summary.notes.push(format!("{m}: {qn} row(s) could not be used; see its {QUARANTINE_FILE}"));
        }
    }
    // Rejected rows whose month has no usable row, or whose report date is unreadable.
    let leftover: Vec<QuarantineLine> = quarantine.into_values().flatten().collect();
    if !leftover.is_empty() {
        let path = lake.data_dir().lake_import_quarantine();
        let mut text = String::new();
        for q in &leftover {
            text.push_str(&serde_json::to_string(q).unwrap_or_default());
            text.push('\n');
        }
        std::fs::write(&path, text).map_err(LakeError::io("write", &path))?;
        summary.rows_quarantined += leftover.len() as u64;
        summary.notes.push(format!(
            "{} row(s) have no usable report date or offense id in a month without other rows; see {}",
            leftover.len(),
            path.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    summary.lake_rows = lake.manifest().total_rows();
    summary.lake_months = lake.manifest().months.len();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
